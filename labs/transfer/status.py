"""Status lines of the transfer tab's three jobs, each with the time remaining while it runs.

Time remaining comes from the job's own records (a step's seconds / step x the steps left, the measured
evaluation time x the evaluations left), and from labs.core.eta for what has not started yet (the
caller passes that estimate). No torch here.
"""

from __future__ import annotations

import math

from labs.core import eta
from labs.transfer.figures import LiveCurves, epoch_text


def left(seconds: float | None) -> str:
    """' · about 2 min left' ('' when unknown)."""
    if seconds is None or math.isnan(seconds):
        return ""
    return f" · {eta.format_left(seconds)}"


def _eval_seconds(step: dict, n_test: int, measured: float | None) -> float:
    """One evaluation: measured if seen, else n_test at the step's speed x inference's speed-up."""
    if measured is not None:
        return measured
    return n_test / (max(step.get("images_per_s", 0), 1e-9) * eta.INFER_SPEEDUP)


def finetune_left(live: LiveCurves, per_run_estimate: float) -> float:
    """Seconds left in the fine-tuning grid: the current run from its steps, the runs after it at the
    measured length of a finished run (else the current run's projected length, else `per_run_estimate`)."""
    started = [s for s in live.state.values()]
    current = max(started, key=lambda s: s["index"]) if started else None
    index = current["index"] if current else 0
    finished = [r["Time (s)"] for r in live.rows]
    run_s = sum(finished) / len(finished) if finished else per_run_estimate
    if current is None or current["status"] != "running":
        return (len(live.runs) - index - (1 if current else 0)) * run_s
    step = live.last_step
    if step is None or not step.get("step"):
        return (len(live.runs) - index) * run_s
    per_step = step["seconds"] / step["step"]
    eval_s = _eval_seconds(step, live.n_test, live.eval_seconds)
    current_left = per_step * (step["total_steps"] - step["step"]) + (current["epochs"] - live.evals_in_run) * eval_s
    if not finished:
        run_s = per_step * step["total_steps"] + current["epochs"] * eval_s
    return current_left + (len(live.runs) - index - 1) * run_s


def finetune_status(rec: dict, live: LiveCurves, per_run_estimate: float) -> str:
    """The fine-tuning status line for record `rec` (already folded into `live`)."""
    kind = rec["kind"]
    if kind == "done":
        kept = f"stopped: {len(live.rows)} finished run(s) kept" if rec["stopped"] else \
            f"finished {len(live.rows)} run(s)"
        stopped = live.unfinished("stopped")
        return kept + ("; " + "; ".join(f"{k} {live.status_text(k)}" for k in stopped) if stopped else "")
    remaining = left(finetune_left(live, per_run_estimate))
    if kind == "start":
        return f"{len(rec['runs'])} run(s) on {rec['n_train']:,} train / {rec['n_test']:,} test images…{remaining}"
    n = f"{rec['run_index'] + 1}/{rec['runs']}"
    if kind == "run":
        return f"run {n}: **{rec['run']}** starting…{remaining}"
    if kind == "row":
        return f"finished {rec['run']} (run {n}){remaining}"
    if kind == "stopped":
        return f"run {n}: **{rec['run']}** stopped at epoch {epoch_text(rec['epoch'], rec['epochs'])}"
    epochs = live.state.get(rec["run"], {}).get("epochs", 0)
    return (f"run {n}: **{rec['run']}** · epoch {epoch_text(rec['epoch'], epochs)} · "
            f"{rec['seconds']:.0f} s{remaining}")


def svm_status(rec: dict, estimate: float) -> str:
    """Phase 1's status line; `estimate`: eta's seconds for the whole phase (shown until measured)."""
    kind = rec["kind"]
    if kind == "start":
        return f"extracting features of {rec['n_train']:,} + {rec['n_test']:,} images…{left(estimate)}"
    if kind == "progress":
        done, total = rec["images_done"], rec["images_total"]
        remaining = rec["seconds"] / max(done, 1) * (total - done) + rec["fit_estimate"]
        return f"{rec['stage']}: {rec['done']:,} / {rec['total']:,}{left(remaining)}"
    if kind == "fitting":
        spent = rec.get("fit_seconds", 0.0)
        return (f"fitting LinearSVC on {rec['n_train']:,} x {rec['feature_dim']} features…"
                + (f" {spent:.0f} s" if spent >= 1 else "") + left(max(rec["estimate"] - spent, 0.0)))
    if rec["stopped"]:
        return "stopped: nothing was fitted"
    return f"done: test accuracy {rec['test_acc']:.1%} (LinearSVC fit {rec['fit_seconds']:.1f} s)"


class SourceProgress:
    """Status lines of 'Train a CIFAR-10 ResNet first' (train_and_save's records) with the time remaining."""

    def __init__(self, epochs: int, estimate: float):
        self.epochs, self.estimate = epochs, estimate
        self.n_test, self.evals, self.eval_seconds = 0, 0, None

    def __call__(self, rec: dict) -> str | None:
        kind = rec["kind"]
        if kind == "start":
            self.n_test = rec["n_test"]
            return (f"training {rec['model']} ({rec['parameters']:,} parameters) on {rec['n_train']:,} "
                    f"{rec['dataset']} images…{left(self.estimate)}")
        if kind == "step":
            eval_s = _eval_seconds(rec, self.n_test, self.eval_seconds)
            remaining = (eta.seconds_left(rec["seconds"], rec["step"], rec["total_steps"])
                         + (self.epochs - self.evals) * eval_s)
            return (f"training the CIFAR-10 ResNet: step {rec['step']}/{rec['total_steps']} · loss "
                    f"{rec['train_loss']:.3f} · {rec['images_per_s']:.0f} img/s{left(remaining)}")
        if kind == "eval":
            self.evals += 1
            self.eval_seconds = rec.get("eval_seconds", self.eval_seconds)
            return f"epoch {rec['epoch']:.0f}: CIFAR-10 test accuracy {rec['test_acc']:.1%}"
        return None
