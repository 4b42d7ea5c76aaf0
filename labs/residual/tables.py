"""Lab 1's views -> pandas tables (and markdown for the CLI).

Final numbers (final accuracy, final train loss, convergence) are filled only for finished runs; the Status
column says "finished", "running, epoch 1.5/4" or "stopped at epoch 2/4". Columns are few and short so the
tables fit a 1400 px window without scrolling; the definitions are in the tab's notes.
"""

from __future__ import annotations

import math

import pandas as pd

from labs.residual.config import convergence_label
from labs.residual.views import MLPView, RunsView, RunView, SweepView

GRAD_RATIO = "Grad ratio at step 1"
MLP_TABLE_COLUMNS = ["Model", "Parameters", "Final test acc", "Best test acc", "Final train loss", GRAD_RATIO,
                     "Status"]
SWEEP_TABLE_COLUMNS = ["Run", "Depth", "Final accuracy", "Training convergence", "Parameters", "Time", "Status"]
MLP_TABLE_NOTE = (f"**{GRAD_RATIO}**: gradient norm of the first layer divided by that of the last, at the first "
                  "training step: far below 1 means the gradient vanishes on its way to the input. "
                  "**Final** numbers are filled once a run has finished (not when it was stopped); **Best test "
                  "acc** is the best test point measured so far.")


def _pct(x) -> str:
    return f"{x:.2%}" if x is not None and math.isfinite(x) else ""


def _runs(view: RunsView | None) -> list[RunView]:
    return list(view.runs.values()) if view else []


def early_grad_ratio(r: RunView) -> float | None:
    """First-layer / last-layer gradient norm at the first logged step (step 1), or None."""
    if not r.grad_norms:
        return None
    first, last = r.grad_norms[0][0], r.grad_norms[0][-1]
    return first / last if last > 0 else None


def mlp_table(view: MLPView | None) -> pd.DataFrame:
    rows = []
    for r in _runs(view):
        ratio = early_grad_ratio(r)
        rows.append({"Model": r.label, "Parameters": f"{r.params:,}",
                     "Final test acc": _pct(r.test_acc[-1]) if r.finished and r.test_acc else "",
                     "Best test acc": _pct(max(r.test_acc)) if r.test_acc else "",
                     "Final train loss": f"{r.eval_train_loss[-1]:.4f}" if r.finished and r.eval_train_loss else "",
                     GRAD_RATIO: f"{ratio:.2g}" if ratio is not None else "",
                     "Status": r.status})
    return pd.DataFrame(rows, columns=MLP_TABLE_COLUMNS)


def sweep_table(view: SweepView | None) -> pd.DataFrame:
    rows = []
    for r in _runs(view):
        fin = r.finished
        conv = ""
        if fin and r.eval_train_loss:
            conv = convergence_label(r.eval_train_loss[-1], r.start.get("num_classes", 10),
                                     r.start.get("label_smoothing", 0.0))
        rows.append({"Run": r.label, "Depth": f"{r.info['blocks']}, {r.info['layers']} layers",
                     "Final accuracy": _pct(r.test_acc[-1]) if fin and r.test_acc else "",
                     "Training convergence": conv, "Parameters": f"{r.params:,}",
                     "Time": f"{r.end['seconds']:.0f} s" if r.ended else "", "Status": r.status})
    return pd.DataFrame(rows, columns=SWEEP_TABLE_COLUMNS)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub markdown table without the tabulate dependency (empty cells as '-')."""
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) if str(v) != "" else "-" for v in row) + " |\n"
                          for row in df.itertuples(index=False))
