"""Views of the transfer lab: live fine-tuning curves (one trace per run), the comparison bars,
the results table (a DataFrame) and the Phase 1 summary (markdown). No torch here."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from labs.core.plots import PALETTE, _layout, curves, empty_figure
from labs.transfer.config import COLUMNS, SEED_RESULTS, SEED_SVM_ACC, run_label

LOSS_TITLE = "Train loss"
ACC_TITLE = "Test accuracy (after each epoch)"


class LiveCurves:
    """Folds run_finetune's records: the train-loss and test-accuracy series of every run, and the rows."""

    def __init__(self):
        self.loss: dict[str, tuple[list, list]] = {}
        self.acc: dict[str, tuple[list, list]] = {}
        self.rows: list[dict] = []

    def add(self, rec: dict) -> None:
        if rec["kind"] == "step":
            xs, ys = self.loss.setdefault(rec["run"], ([], []))
            xs.append(rec["epoch"]); ys.append(rec["train_loss"])
        elif rec["kind"] == "eval":
            xs, ys = self.acc.setdefault(rec["run"], ([], []))
            xs.append(rec["epoch"]); ys.append(rec["test_acc"])
        elif rec["kind"] == "row":
            self.rows.append(rec["row"])

    def figures(self) -> tuple[go.Figure, go.Figure]:
        loss = curves(self.loss, LOSS_TITLE, "epoch", "cross-entropy") if self.loss else \
            empty_figure(LOSS_TITLE, "press Run fine-tuning")
        acc = curves(self.acc, ACC_TITLE, "epoch", "test accuracy", percent=True) \
            if self.acc else empty_figure(ACC_TITLE, "one point per epoch")
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


def results_table(rows: list[dict], percent: bool = True) -> pd.DataFrame:
    """The seed's columns, best first; Test Accuracy as '53.30%' strings when percent, else fractions."""
    df = pd.DataFrame([{k: r[k] for k in COLUMNS if k in r} for r in rows], columns=COLUMNS)
    df = df.sort_values("Test Accuracy", ascending=False, kind="stable").reset_index(drop=True)
    if percent:  # display strings: '53.30%', '162,644'
        df["Test Accuracy"] = [f"{v:.2%}" for v in df["Test Accuracy"]]
        df["Trainable Params"] = [f"{int(v):,}" for v in df["Trainable Params"]]
    df["Time (s)"] = [round(float(v), 1) if v == v else v for v in df["Time (s)"]]
    return df


def markdown_table(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in rec) + " |")
    return "\n".join(lines)


def svm_summary(r: dict) -> str:
    """Phase 1's result (run_svm's "done" record) next to the seed's and chance, as a markdown table."""
    return (f"| | test accuracy |\n|---|---|\n| **this run** (C={r['c']:g}, {r['n_train']:,} train / "
            f"{r['n_test']:,} test) | **{r['test_acc']:.2%}** |\n| seed (full CIFAR-100) | {SEED_SVM_ACC:.1%} |\n"
            f"| chance | {r['chance']:.1%} |\n\nFeature extraction {r['extract_seconds']:.1f} s · LinearSVC fit "
            f"{r['fit_seconds']:.1f} s · {r['feature_dim']} standardised features · train accuracy "
            f"{r['train_acc']:.1%}")
