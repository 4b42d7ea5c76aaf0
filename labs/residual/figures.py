"""Lab 1's views -> plotly figures (tables in tables.py). Pure functions of a view, or of None for the empty page.

Finished, running and stopped runs look different: a stopped run's traces are faded and its legend entry says
"stopped at epoch e/E"; the accuracy-vs-depth chart shows finished runs only.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from labs.core import plots
from labs.residual.tables import (MLP_TABLE_COLUMNS, SWEEP_TABLE_COLUMNS, mlp_table, sweep_table,  # noqa: F401
                                  to_markdown)
from labs.residual.views import MLPView, RunsView, RunView, SweepView  # noqa: F401 (part of this module's API)

STOPPED_OPACITY = 0.35
START_HINT = "press the button to start"
STEP_HINT = "waiting for the first training step"
TEST_HINT = "waiting for the first test point"


def _runs(view: RunsView | None) -> list[RunView]:
    return list(view.runs.values()) if view else []


def _name(r: RunView) -> str:
    return f"{r.label} ({r.status})" if r.stopped else r.label


def _mark_stopped(fig: go.Figure, runs: list[RunView]) -> go.Figure:
    """Fade the traces of stopped runs (their legend names already say so) and always show the legend."""
    stopped = {_name(r) for r in runs if r.stopped}
    for trace in fig.data:
        if trace.name in stopped:
            trace.opacity = STOPPED_OPACITY
    fig.update_layout(showlegend=True)
    return fig


def _hint(view: RunsView | None, waiting: str) -> str:
    """What an empty plot says: press the button (nothing started) or what it waits for (training)."""
    return START_HINT if view is None or not view.started else waiting


def log_ticks(values) -> tuple[list[float], list[str]]:
    """Ticks spanning `values`, written out in full ('0.5', not a bare '5'): 1, 2, 5 per decade over up to two
    decades, 1 and 3 over three, 1 beyond (a live loss under the reference runs' spans four: 11 labels crowd)."""
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return [], []
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    mults = (1, 2, 5) if hi - lo <= 2 else (1, 3) if hi - lo == 3 else (1,)
    ticks = [m * 10.0 ** k for k in range(lo, hi + 1) for m in mults]
    ticks = [round(t, 12) for t in ticks if min(vals) / 2.5 <= t <= max(vals) * 2.5]
    return ticks, [f"{t:g}" for t in ticks]


def _readable(fig: go.Figure, legend_rows: int = 1) -> go.Figure:
    """Room for the title above and the legend below the axis titles, so no text overlaps."""
    fig.update_layout(margin=dict(l=65, r=15, t=50, b=75 + 18 * legend_rows),
                      legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"),
                      title=dict(y=0.97, yanchor="top"))
    fig.update_yaxes(automargin=True, title_standoff=8)
    fig.update_xaxes(automargin=True, title_standoff=6)
    return fig


def mlp_figures(view: MLPView | None):
    """(train loss vs epoch, test accuracy vs epoch, gradient-norm heatmap vs step)."""
    runs = _runs(view)
    loss_series = {_name(r): (r.step_epoch, r.train_loss) for r in runs if r.steps}
    if loss_series:
        loss = plots.curves(loss_series, "Training loss", "epoch", "train loss (log scale)", log_y=True)
        tickvals, ticktext = log_ticks(v for _, ys in loss_series.values() for v in ys)
        loss.update_yaxes(tickmode="array", tickvals=tickvals, ticktext=ticktext)
        _readable(_mark_stopped(loss, runs))
    else:
        loss = plots.empty_figure("Training loss", _hint(view, STEP_HINT))
    acc_series = {_name(r): (r.eval_epoch, r.test_acc) for r in runs if r.test_acc}
    acc = (_readable(_mark_stopped(plots.curves(acc_series, "Test accuracy", "epoch", "test accuracy",
                                                percent=True), runs))
           if acc_series else plots.empty_figure("Test accuracy", _hint(view, TEST_HINT)))
    title = "Gradient norm per layer (dark early layers = vanishing gradients)"
    grad_rows = {_name(r): (r.grad_steps, r.grad_norms) for r in runs if r.grad_steps}
    grads = (plots.grad_norm_heatmap(grad_rows, title) if grad_rows else
             plots.empty_figure(title, _hint(view, STEP_HINT)))
    return loss, acc, grads


def sweep_figures(view: SweepView | None):
    """(train loss vs epoch per run, test accuracy vs epoch per run, accuracy vs depth of finished runs)."""
    runs = _runs(view)
    dashed = [_name(r) for r in runs if r.model == "plain_cnn"]
    note = "PlainCNN dashed, stopped runs faded"
    loss_series = {_name(r): (r.step_epoch, r.train_loss) for r in runs if r.steps}
    acc_series = {_name(r): (r.eval_epoch, r.test_acc) for r in runs if r.test_acc}
    rows = max(1, math.ceil(len(runs) / 3))
    loss = (_readable(_mark_stopped(plots.curves(loss_series, f"Training loss per run ({note})", "epoch",
                                                 "train loss", dashed=dashed, height=320 + 18 * rows), runs), rows)
            if loss_series else plots.empty_figure("Training loss per run", _hint(view, STEP_HINT)))
    acc = (_readable(_mark_stopped(plots.curves(acc_series, f"Test accuracy per run ({note})", "epoch",
                                                "test accuracy", percent=True, dashed=dashed,
                                                height=320 + 18 * rows), runs), rows)
           if acc_series else plots.empty_figure("Test accuracy per run", _hint(view, TEST_HINT)))
    points: dict[str, tuple[list, list]] = {}
    for r in runs:
        if r.finished and r.test_acc:
            xs, ys = points.setdefault(r.info["architecture"], ([], []))
            xs.append(r.info["layers"])
            ys.append(r.test_acc[-1])
    depth = (_readable(plots.accuracy_vs_depth(points, "Test accuracy vs depth (finished runs only)")).update_layout(
        showlegend=True) if points else plots.empty_figure(
        "Test accuracy vs depth", START_HINT if view is None or not view.started
        else "fills in as runs finish (stopped runs are left out)"))
    return loss, acc, depth
