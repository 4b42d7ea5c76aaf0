"""Lab 1's records -> per-run curves -> plotly figures and pandas tables.

`MLPView` / `SweepView` fold the experiment's records (labs.residual.experiment) into
one `RunView` per run with `.add(rec)`; the builders below are pure functions of a view
(or None, for the empty page).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from labs.core import plots
from labs.residual.config import convergence_label

MLP_TABLE_COLUMNS = ["Model", "Layers", "Parameters", "Final test acc", "Best test acc", "Final train loss",
                     "Grad norm layer 1 / last", "Time (s)", "Status"]
SWEEP_TABLE_COLUMNS = ["Architecture", "Size", "Depth", "Final accuracy", "Training convergence", "Parameters",
                       "Time (s)", "Status"]


@dataclass
class RunView:
    """Everything measured for one run, appended as its fit records arrive."""

    label: str
    model: str
    params: int
    info: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    step_epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    eval_epoch: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    eval_train_loss: list = field(default_factory=list)
    grad_steps: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    end: dict = field(default_factory=dict)

    def add(self, rec: dict) -> None:
        if rec["kind"] == "step":
            self.steps.append(rec["step"])
            self.step_epoch.append(rec["epoch"])
            self.train_loss.append(rec["train_loss"])
            if "grad_norms" in rec:
                self.grad_steps.append(rec["step"])
                self.grad_norms.append(rec["grad_norms"]["values"])
        elif rec["kind"] == "eval":
            self.eval_epoch.append(rec["epoch"])
            self.test_acc.append(rec["test_acc"])
            self.eval_train_loss.append(rec["train_loss"])
        elif rec["kind"] == "end":
            self.end = {k: v for k, v in rec.items() if k not in ("history", "run")}

    @property
    def finished(self) -> bool:
        return bool(self.end)

    @property
    def status(self) -> str:
        if not self.finished:
            return "running" if self.steps else "queued"
        return "stopped" if self.end.get("stopped") else "done"


class RunsView:
    """An experiment's records folded into one RunView per run; subclasses word the status line."""

    def __init__(self):
        self.runs: dict[str, RunView] = {}
        self.last_start: dict = {}
        self.done: dict = {}

    def add(self, rec: dict) -> None:
        if rec["kind"] == "start":
            self.runs[rec["run"]] = RunView(rec["run"], rec["model"], rec["params"], dict(rec["info"]))
            self.last_start = rec
        elif rec["kind"] == "done":
            self.done = rec
        else:
            self.runs[rec["run"]].add(rec)

    @property
    def stopped(self) -> bool:
        return bool(self.done.get("stopped"))


class MLPView(RunsView):
    """The records of run_mlp_comparison; `status` is the line above the plots."""

    @property
    def status(self) -> str:
        if self.done:
            return ("stopped: the curves and table keep what was measured" if self.stopped else
                    f"done in {self.done['seconds']:.1f} s")
        s = self.last_start
        return (f"training {' and '.join(self.runs)} on {s['dataset']} ({s['n_train']:,} images, {s['epochs']} epochs)"
                if s else "")


class SweepView(RunsView):
    """The records of run_sweep; `status` is the line above the plots."""

    @property
    def status(self) -> str:
        if self.done:
            return ("stopped: finished runs are kept in the table" if self.stopped else
                    f"done: {len(self.runs)} runs in {self.done['seconds']:.0f} s")
        s = self.last_start
        return (f"run {s['index']}/{s['of']}: {s['run']} {s['info']['blocks']} on {s['n_train']:,} {s['dataset']} "
                f"images" if s else "")


def _pct(x) -> str:
    return f"{x:.2%}" if x is not None and math.isfinite(x) else "-"


def _runs(view: RunsView | None) -> list[RunView]:
    return list(view.runs.values()) if view else []


def mlp_figures(view: MLPView | None):
    """(train loss vs step, test accuracy vs epoch, gradient-norm heatmap)."""
    runs = _runs(view)
    loss = plots.curves({r.label: (r.steps, r.train_loss) for r in runs}, "Training loss", "step",
                        "cross-entropy (mean over the last steps)", log_y=True)
    acc = plots.curves({r.label: (r.eval_epoch, r.test_acc) for r in runs}, "Test accuracy", "epoch",
                       "accuracy", percent=True)
    grads = plots.grad_norm_heatmap({r.label: (r.grad_steps, r.grad_norms) for r in runs},
                                    "Gradient norm per layer (dark early layers = vanishing gradients)")
    return loss, acc, grads


def mlp_table(view: MLPView | None) -> pd.DataFrame:
    rows = []
    for r in _runs(view):
        ratio = "-"
        if r.grad_norms:
            first, last = r.grad_norms[-1][0], r.grad_norms[-1][-1]
            ratio = f"{first / last:.2e}" if last > 0 else "-"
        rows.append({"Model": r.label, "Layers": r.info.get("depth"), "Parameters": f"{r.params:,}",
                     "Final test acc": _pct(r.test_acc[-1] if r.test_acc else None),
                     "Best test acc": _pct(max(r.test_acc) if r.test_acc else None),
                     "Final train loss": f"{r.eval_train_loss[-1]:.4f}" if r.eval_train_loss else "-",
                     "Grad norm layer 1 / last": ratio,
                     "Time (s)": f"{r.end.get('seconds', 0):.1f}" if r.finished else "-", "Status": r.status})
    return pd.DataFrame(rows, columns=MLP_TABLE_COLUMNS)


def sweep_figures(view: SweepView | None):
    """(train loss vs epoch per run, test accuracy vs epoch per run, accuracy vs depth)."""
    runs = _runs(view)
    dashed = [r.label for r in runs if r.model == "plain_cnn"]
    loss = plots.curves({r.label: (r.step_epoch, r.train_loss) for r in runs},
                        "Training loss per run (PlainCNN dashed)", "epoch", "cross-entropy", dashed=dashed)
    acc = plots.curves({r.label: (r.eval_epoch, r.test_acc) for r in runs}, "Test accuracy per run (PlainCNN dashed)",
                       "epoch", "accuracy", percent=True, dashed=dashed)
    points: dict[str, tuple[list, list]] = {}
    for r in runs:
        if r.test_acc and r.finished:
            xs, ys = points.setdefault(r.info["architecture"], ([], []))
            xs.append(r.info["layers"])
            ys.append(r.test_acc[-1])
    depth = plots.accuracy_vs_depth(points) if points else plots.empty_figure("Test accuracy vs depth",
                                                                               "fills in as runs finish")
    return loss, acc, depth


def sweep_table(view: SweepView | None) -> pd.DataFrame:
    runs = _runs(view)
    best = min((r.eval_train_loss[-1] for r in runs if r.eval_train_loss), default=float("nan"))
    rows = []
    for r in runs:
        rows.append({"Architecture": r.info["architecture"], "Size": r.info["size"],
                     "Depth": f"{r.info['blocks']} ({r.info['layers']} layers)",
                     "Final accuracy": _pct(r.test_acc[-1] if r.test_acc else None),
                     "Training convergence": convergence_label(r.eval_train_loss[-1], best) if r.eval_train_loss else "-",
                     "Parameters": f"{r.params:,}",
                     "Time (s)": f"{r.end.get('seconds', 0):.0f}" if r.finished else "-", "Status": r.status})
    return pd.DataFrame(rows, columns=SWEEP_TABLE_COLUMNS)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub markdown table without the tabulate dependency."""
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in df.itertuples(index=False))
