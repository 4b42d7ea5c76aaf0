"""Views of the transfer lab's fine-tuning: LiveCurves folds run_finetune's records (curves, the state of every
run: running, finished, stopped) and draws the live curves; comparison_bars draws finished runs next to the
seed's. Tables and the notes next to them are labs/transfer/tables.py. No torch here."""

from __future__ import annotations

import plotly.graph_objects as go

from labs.core.plots import PALETTE, _layout, curves, empty_figure
from labs.transfer.config import SEED_LABEL, SEED_RESULTS, budget_label, run_label

LOSS_TITLE = "Train loss"
ACC_TITLE = "Test accuracy (after each epoch)"
SEED_COLOR = "#c7c7c7"   # the seed's bars: light grey, hatched, grey labels: a reference, not a result
SEED_PATTERN = "/"
REF_COLOR = "#2ca02c"    # the reference run's bars (results/transfer.json)
# Legends go below the plot, anchored by their top at LEGEND_Y (paper units) with room reserved in the bottom
# margin, so the x-axis title (just under the tick labels) and the legend never overlap.
LEGEND_Y = -0.3
CURVE_HEIGHT, CURVE_MARGIN_B = 400, 130
BARS_HEIGHT, BARS_MARGIN_B = 420, 110


def epoch_text(epoch: float, epochs: int) -> str:
    """'2/3', '1.4/3': epochs done out of the run's epochs."""
    done = f"{epoch:.0f}" if abs(epoch - round(epoch)) < 0.05 else f"{epoch:.1f}"
    return f"{done}/{epochs}"


class LiveCurves:
    """Folds run_finetune's records: the train-loss and test-accuracy series of every run, the finished rows,
    and the state of every run started so far (label -> dict with "status" running | finished | stopped)."""

    def __init__(self):
        self.loss: dict[str, tuple[list, list]] = {}
        self.acc: dict[str, tuple[list, list]] = {}
        self.rows: list[dict] = []
        self.state: dict[str, dict] = {}
        self.runs: list[str] = []
        self.n_train = self.n_test = 0
        self.last_step: dict | None = None     # the current run's last "step" record
        self.evals_in_run = 0                  # "eval" records of the current run
        self.eval_seconds: float | None = None

    def add(self, rec: dict) -> None:
        kind = rec["kind"]
        if kind == "start":
            self.runs, self.n_train, self.n_test = list(rec["runs"]), rec["n_train"], rec["n_test"]
        elif kind == "run":
            self.state[rec["run"]] = {"status": "running", "index": rec["run_index"], "strategy": rec["strategy"],
                                      "optimizer": rec["optimizer"], "trainable": rec["trainable"],
                                      "epochs": rec["epochs"], "epoch": 0.0, "seconds": 0.0}
            self.last_step, self.evals_in_run = None, 0
        elif kind == "step":
            xs, ys = self.loss.setdefault(rec["run"], ([], []))
            xs.append(rec["epoch"]); ys.append(rec["train_loss"])
            self.last_step = rec
            self._update(rec["run"], epoch=rec["epoch"], seconds=rec["seconds"])
        elif kind == "eval":
            xs, ys = self.acc.setdefault(rec["run"], ([], []))
            xs.append(rec["epoch"]); ys.append(rec["test_acc"])
            self.evals_in_run += 1
            self.eval_seconds = rec.get("eval_seconds", self.eval_seconds)
            self._update(rec["run"], seconds=rec["seconds"])
        elif kind == "row":
            self.rows.append(rec["row"])
            self._update(rec["run"], status="finished", seconds=rec["row"]["Time (s)"])
        elif kind == "stopped":
            self._update(rec["run"], status="stopped", epoch=rec["epoch"], seconds=rec["seconds"])

    def _update(self, run: str, **values) -> None:
        if run in self.state:
            self.state[run].update(values)

    def status_text(self, run: str) -> str:
        """'finished', 'running (epoch 1.4/3)' or 'stopped at epoch 1.4/3'."""
        s = self.state.get(run)
        if s is None or s["status"] == "finished":
            return "finished"
        where = epoch_text(s["epoch"], s["epochs"])
        return f"running (epoch {where})" if s["status"] == "running" else f"stopped at epoch {where}"

    def unfinished(self, status: str | None = None) -> list[str]:
        """Labels of the runs started and not finished (only those with `status` when given)."""
        return [k for k, s in self.state.items() if s["status"] != "finished" and status in (None, s["status"])]

    def table_rows(self) -> list[dict]:
        """The finished rows with Status "finished", then a row per running or stopped run: Status says where it
        is, Test Accuracy is None (a mid-run number is not a final accuracy)."""
        rows = [{**r, "Status": "finished"} for r in self.rows]
        for run in self.unfinished():
            s = self.state[run]
            rows.append({"Strategy": s["strategy"], "Optimizer": s["optimizer"], "Test Accuracy": None,
                         "Trainable Params": s["trainable"], "Time (s)": s["seconds"], "Status": self.status_text(run)})
        return rows

    def _names(self, series: dict) -> dict:
        return {(k if self.status_text(k) == "finished" else f"{k} ({self.status_text(k)})"): v
                for k, v in series.items()}

    def figures(self) -> tuple[go.Figure, go.Figure]:
        """(loss, accuracy): one trace per run; running and stopped runs are dashed and say so in the legend."""
        dashed = [f"{k} ({self.status_text(k)})" for k in self.unfinished()]
        loss = curves(self._names(self.loss), LOSS_TITLE, "epoch", "cross-entropy", dashed=dashed) if self.loss \
            else empty_figure(LOSS_TITLE, "press Run fine-tuning")
        acc = curves(self._names(self.acc), ACC_TITLE, "epoch", "test accuracy", percent=True, dashed=dashed) \
            if self.acc else empty_figure(ACC_TITLE, "one point per epoch (after the first epoch)")
        if self.acc:
            acc.update_traces(mode="lines+markers")
            acc.update_yaxes(rangemode="tozero")
        for fig in (loss, acc):
            _legend_below(fig, CURVE_HEIGHT, CURVE_MARGIN_B)
        return loss, acc


def _legend_below(fig: go.Figure, height: int, margin_b: int) -> go.Figure:
    fig.update_layout(height=height, margin=dict(b=margin_b), showlegend=True,
                      legend=dict(orientation="h", x=0, xanchor="left", y=LEGEND_Y, yanchor="top"))
    fig.update_xaxes(title_standoff=6)
    return fig


def comparison_bars(rows: list[dict], reference: tuple[str, list[dict]] | None = None) -> go.Figure:
    """Finished runs' test accuracies (best first) next to the seed's, per (optimiser / strategy).

    Only finished rows belong here (a stopped run has no final accuracy). Before any run the seed's bars
    are drawn alone, labelled as the seed's. The legend names the budget of each: ours "ours: 5,000 images x
    3 epochs" (from the rows), the seed's SEED_LABEL; the seed's bars are light grey and hatched.
    `reference` = (legend label, rows of results/transfer.json): a third series, the reference run's bars."""
    seed = {(r["Strategy"], r["Optimizer"]): r["Test Accuracy"] for r in SEED_RESULTS}
    seed_style = dict(name=SEED_LABEL, marker=dict(color=SEED_COLOR, pattern=dict(shape=SEED_PATTERN, fgcolor="#888")),
                      textposition="outside", textfont=dict(color="#777", size=11))
    ref = {(r["Strategy"], r["Optimizer"]): r["Test Accuracy"] for r in (reference[1] if reference else [])}
    if not rows:
        keys = list(seed) + [k for k in ref if k not in seed]
        labels = [_tick(s, o) for s, o in keys]
        fig = go.Figure(go.Bar(x=labels, y=[seed.get(k) for k in keys],
                               text=[f"{seed[k]:.1%}" if k in seed else "" for k in keys], **seed_style))
        title = "The seed's test accuracy (full CIFAR-100): run Phase 2 to draw yours next to it"
        if ref:
            title = "The seed's and the reference run's test accuracy: run Phase 2 to draw yours next to them"
    else:
        rows = sorted(rows, key=lambda r: -r["Test Accuracy"])
        keys = [(r["Strategy"], r["Optimizer"]) for r in rows]
        labels = [_tick(s, o) for s, o in keys]
        ours = [r["Test Accuracy"] for r in rows]
        budget = _budget(rows)
        fig = go.Figure([
            go.Bar(x=labels, y=ours, name=budget, marker_color=PALETTE[0], text=[f"{v:.1%}" for v in ours],
                   textposition="outside", textfont=dict(size=11)),
            go.Bar(x=labels, y=[seed.get(k) for k in keys], text=[f"{seed[k]:.1%}" if k in seed else "" for k in keys],
                   **seed_style)])
        title = f"Test accuracy, {budget.removeprefix('ours: ')} (ours) vs the seed's full budget"
    if ref:
        fig.add_trace(go.Bar(x=labels, y=[ref.get(k) for k in keys], name=reference[0], marker_color=REF_COLOR,
                             text=[f"{ref[k]:.1%}" if k in ref else "" for k in keys], textposition="outside",
                             textfont=dict(size=11)))
    fig.update_layout(barmode="group")
    _layout(fig, title, "", "test accuracy", height=BARS_HEIGHT)
    _legend_below(fig, BARS_HEIGHT, BARS_MARGIN_B)
    # room above the highest bar for its label (a 95% bar's label must not be clipped), ticks at most 100%
    top = max([0.6] + [r["Test Accuracy"] for r in rows] + list(ref.values()))
    fig.update_yaxes(tickformat=".0%", range=[0, top * 1.15], tickvals=[i / 10 for i in range(11) if i / 10 <= top])
    fig.update_xaxes(tickangle=0)
    return fig


def _budget(rows: list[dict]) -> str:
    """'ours: 5,000 images x 3 epochs' from the rows (the same for every run of one grid)."""
    r = rows[0]
    if "n_train" in r and "epochs" in r:
        return budget_label(r["n_train"], r["epochs"])
    return "ours"


def _tick(strategy: str, optimizer: str) -> str:
    return run_label(strategy, optimizer).replace(" / ", "<br>")  # two short lines instead of slanted text
