"""Figures of the transfer lab: live fine-tuning curves (one trace per run) and the comparison bars."""

from __future__ import annotations

import plotly.graph_objects as go

from labs.core.plots import PALETTE, _layout, curves, empty_figure
from labs.transfer.experiment import SEED_RESULTS, run_label


class LiveCurves:
    """Accumulates fit records tagged with "run" and draws the shared train-loss and test-accuracy plots."""

    def __init__(self):
        self.loss: dict[str, tuple[list, list]] = {}
        self.acc: dict[str, tuple[list, list]] = {}

    def add(self, rec: dict) -> None:
        run = rec.get("run")
        if run is None:
            return
        if rec["kind"] == "step":
            xs, ys = self.loss.setdefault(run, ([], []))
            xs.append(rec["epoch"]); ys.append(rec["train_loss"])
        elif rec["kind"] == "eval":
            xs, ys = self.acc.setdefault(run, ([], []))
            xs.append(rec["epoch"]); ys.append(rec["test_acc"])

    def figures(self) -> tuple[go.Figure, go.Figure]:
        loss = curves(self.loss, "Train loss", "epoch", "cross-entropy") if self.loss else \
            empty_figure("Train loss", "press Run fine-tuning")
        acc = curves(self.acc, "Test accuracy (after each epoch)", "epoch", "test accuracy", percent=True) \
            if self.acc else empty_figure("Test accuracy (after each epoch)", "one point per epoch")
        if self.acc:
            acc.update_traces(mode="lines+markers")
            acc.update_yaxes(rangemode="tozero")
        return loss, acc


def comparison_bars(rows: list[dict], title: str = "Test accuracy: this run vs the seed") -> go.Figure:
    """Grouped bars per (optimiser / strategy): this run's rows next to the seed's numbers."""
    seed = {(r["Strategy"], r["Optimizer"]): r["Test Accuracy"] for r in SEED_RESULTS}
    if not rows:
        labels = [_tick(s, o) for s, o in seed]
        fig = go.Figure(go.Bar(x=labels, y=list(seed.values()), name="seed", marker_color="#bbbbbb",
                               text=[f"{v:.1%}" for v in seed.values()], textposition="outside"))
    else:
        rows = sorted(rows, key=lambda r: -r["Test Accuracy"])
        keys = [(r["Strategy"], r["Optimizer"]) for r in rows]
        labels = [_tick(s, o) for s, o in keys]
        ours = [r["Test Accuracy"] for r in rows]
        fig = go.Figure([
            go.Bar(x=labels, y=ours, name="this run", marker_color=PALETTE[0],
                   text=[f"{v:.1%}" for v in ours], textposition="outside"),
            go.Bar(x=labels, y=[seed.get(k) for k in keys], name="seed (full CIFAR-100)", marker_color="#bbbbbb",
                   text=[f"{seed[k]:.1%}" if k in seed else "" for k in keys], textposition="outside")])
        fig.update_layout(barmode="group")
    _layout(fig, title, "", "test accuracy", height=360)
    top = max([0.6] + [r["Test Accuracy"] for r in rows])
    fig.update_yaxes(tickformat=".0%", range=[0, min(1.0, top * 1.2)])
    fig.update_xaxes(tickangle=0)
    return fig



def _tick(strategy: str, optimizer: str) -> str:
    return run_label(strategy, optimizer).replace(" / ", "<br>")  # two short lines instead of slanted text
