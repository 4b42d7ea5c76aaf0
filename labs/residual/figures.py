"""LabState -> plotly figures and pandas tables for Lab 1 (pure functions)."""

from __future__ import annotations

import math

import pandas as pd

from labs.core import plots
from labs.residual.config import convergence_label

MLP_TABLE_COLUMNS = ["Model", "Layers", "Parameters", "Final test acc", "Best test acc", "Final train loss",
                     "Grad norm layer 1 / last", "Time (s)", "Status"]
SWEEP_TABLE_COLUMNS = ["Architecture", "Size", "Depth", "Final accuracy", "Training convergence", "Parameters",
                       "Time (s)", "Status"]


def _pct(x) -> str:
    return f"{x:.2%}" if x is not None and math.isfinite(x) else "-"


def _status(run) -> str:
    if not run.finished:
        return "running" if run.steps else "queued"
    return "stopped" if run.end.get("stopped") else "done"


def mlp_figures(state):
    """(train loss vs step, test accuracy vs epoch, gradient-norm heatmap)."""
    runs = state.runs.values() if state else []
    loss = plots.curves({r.label: (r.steps, r.train_loss) for r in runs}, "Training loss", "step",
                        "cross-entropy (mean over the last steps)", log_y=True)
    acc = plots.curves({r.label: (r.eval_epoch, r.test_acc) for r in runs}, "Test accuracy", "epoch",
                       "accuracy", percent=True)
    grads = plots.grad_norm_heatmap({r.label: (r.grad_steps, r.grad_norms) for r in runs},
                                    "Gradient norm per layer (dark early layers = vanishing gradients)")
    return loss, acc, grads


def mlp_table(state) -> pd.DataFrame:
    rows = []
    for r in (state.runs.values() if state else []):
        ratio = "-"
        if r.grad_norms:
            first, last = r.grad_norms[-1][0], r.grad_norms[-1][-1]
            ratio = f"{first / last:.2e}" if last > 0 else "-"
        rows.append({"Model": r.label, "Layers": r.info.get("depth"), "Parameters": f"{r.params:,}",
                     "Final test acc": _pct(r.test_acc[-1] if r.test_acc else None),
                     "Best test acc": _pct(max(r.test_acc) if r.test_acc else None),
                     "Final train loss": f"{r.eval_train_loss[-1]:.4f}" if r.eval_train_loss else "-",
                     "Grad norm layer 1 / last": ratio,
                     "Time (s)": f"{r.end.get('seconds', 0):.1f}" if r.finished else "-", "Status": _status(r)})
    return pd.DataFrame(rows, columns=MLP_TABLE_COLUMNS)


def sweep_figures(state):
    """(train loss vs epoch per run, test accuracy vs epoch per run, accuracy vs depth)."""
    runs = list(state.runs.values()) if state else []
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


def sweep_table(state) -> pd.DataFrame:
    runs = list(state.runs.values()) if state else []
    finished = [r for r in runs if r.eval_train_loss]
    best = min((r.eval_train_loss[-1] for r in finished), default=float("nan"))
    rows = []
    for r in runs:
        rows.append({"Architecture": r.info["architecture"], "Size": r.info["size"],
                     "Depth": f"{r.info['blocks']} ({r.info['layers']} layers)",
                     "Final accuracy": _pct(r.test_acc[-1] if r.test_acc else None),
                     "Training convergence": convergence_label(r.eval_train_loss[-1], best) if r.eval_train_loss else "-",
                     "Parameters": f"{r.params:,}",
                     "Time (s)": f"{r.end.get('seconds', 0):.0f}" if r.finished else "-", "Status": _status(r)})
    return pd.DataFrame(rows, columns=SWEEP_TABLE_COLUMNS)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub markdown table without the tabulate dependency."""
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in df.itertuples(index=False))
