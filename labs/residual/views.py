"""Lab 1's records folded into one RunView per run, and the status lines (with time remaining) above the plots.

`MLPView` / `SweepView` take the experiment's records (labs.residual.experiment) with `.add(rec)`; the figure and
table builders (figures.py, tables.py) are pure functions of a view. A run is "finished" only when it ran to
its last step; a stopped run keeps what it measured but is never shown as finished.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labs.core import eta
from labs.residual import timing


def _epoch(e: float) -> str:
    return f"{round(e, 1):g}"


def left(seconds: float) -> str:
    return eta.format_left(seconds)


@dataclass
class RunView:
    """Everything measured for one run, appended as its fit records arrive."""

    label: str
    model: str
    params: int
    info: dict = field(default_factory=dict)
    start: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    step_epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    eval_epoch: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    eval_train_loss: list = field(default_factory=list)
    grad_steps: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    last_step: dict = field(default_factory=dict)
    end: dict = field(default_factory=dict)

    def add(self, rec: dict) -> None:
        if rec["kind"] == "step":
            self.steps.append(rec["step"])
            self.step_epoch.append(rec["epoch"])
            self.train_loss.append(rec["train_loss"])
            self.last_step = rec
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
    def ended(self) -> bool:
        return bool(self.end)

    @property
    def stopped(self) -> bool:
        return self.ended and bool(self.end.get("stopped"))

    @property
    def finished(self) -> bool:
        """Ran to its last step: only then are its final numbers final."""
        return self.ended and not self.stopped

    @property
    def epochs(self) -> int:
        return self.start.get("epochs", 0)

    @property
    def epoch_reached(self) -> float:
        return self.step_epoch[-1] if self.step_epoch else 0.0

    @property
    def status(self) -> str:
        """'finished', 'stopped at epoch 2/4', 'running, epoch 1.5/4' or 'starting'."""
        if self.finished:
            return "finished"
        where = f"epoch {_epoch(self.epoch_reached)}/{self.epochs}"
        if self.stopped:
            return f"stopped at {where}"
        return f"running, {where}" if self.steps else "starting"

    @property
    def seconds_left(self) -> float:
        """From this run's own records: its pace so far times the steps still to do (nan before a step)."""
        if self.ended:
            return 0.0
        s = self.last_step
        return timing.remaining(s["seconds"], s["step"], s["total_steps"]) if s else float("nan")


class RunsView:
    """An experiment's records folded into one RunView per run; subclasses word the status line."""

    def __init__(self):
        self.runs: dict[str, RunView] = {}
        self.last_start: dict = {}
        self.done: dict = {}

    def add(self, rec: dict) -> None:
        if rec["kind"] == "start":
            self.runs[rec["run"]] = RunView(rec["run"], rec["model"], rec["params"], dict(rec["info"]), dict(rec))
            self.last_start = rec
        elif rec["kind"] == "done":
            self.done = rec
        else:
            self.runs[rec["run"]].add(rec)

    @property
    def stopped(self) -> bool:
        return bool(self.done.get("stopped"))

    @property
    def started(self) -> bool:
        return bool(self.runs)


class MLPView(RunsView):
    """The records of run_mlp_comparison; `status` is the line above the plots."""

    def seconds_left(self) -> float:
        runs = list(self.runs.values())
        if runs and not any(r.steps for r in runs):  # nothing measured yet: the estimate for the whole pair
            s = self.last_start
            return timing.mlp_seconds(s["dataset"], s["info"]["depth"], s["info"]["width"],
                                      s["n_train"] * s["epochs"], s.get("device", "cpu"))[0]
        return max((r.seconds_left for r in runs), default=float("nan"))  # interleaved: the slower one decides

    @property
    def status(self) -> str:
        if self.done:
            if self.stopped:
                return (f"stopped after {self.done['seconds']:.1f} s: the curves and the table keep what was "
                        f"measured; final numbers are left empty")
            return f"done in {self.done['seconds']:.1f} s (both runs, interleaved)"
        s = self.last_start
        if not s:
            return ""
        e = max((r.epoch_reached for r in self.runs.values()), default=0)
        d = s["info"]["depth"]
        return (f"training MLP-{d} and ResidualMLP-{d} on {s['dataset']} ({s['n_train']:,} images), epoch "
                f"{_epoch(e)}/{s['epochs']}: {left(self.seconds_left())}")


class SweepView(RunsView):
    """The records of run_sweep; `status` is the line above the plots."""

    def _pending_seconds(self) -> float:
        """Runs of the plan not started yet: at this sweep's measured pace, else the estimate (timing)."""
        s = self.last_start
        pending = [p for p in s.get("plan", []) if p["run"] not in self.runs]
        blocks = {p["run"]: p["blocks"] for p in s.get("plan", [])}
        done_units = sum(blocks.get(r.label, 1) * r.start["n_train"] * r.epoch_reached for r in self.runs.values())
        done_secs = sum(r.last_step.get("seconds", 0) for r in self.runs.values())
        if done_units > 0 and done_secs > 0:
            return sum(p["blocks"] * s["n_train"] * s["epochs"] for p in pending) * done_secs / done_units
        return sum(timing.conv_run_seconds(p["blocks"], s["dataset"], s["n_train"], s["n_test"], s["epochs"],
                                           s.get("device", "cpu")) for p in pending)

    def current_left(self) -> float:
        """The running run: from its own records, or its estimate before its first step."""
        s = self.last_start
        if not s:
            return float("nan")
        left_s = self.runs[s["run"]].seconds_left
        if math.isfinite(left_s):
            return left_s
        blocks = next((p["blocks"] for p in s.get("plan", []) if p["run"] == s["run"]), 1)
        return timing.conv_run_seconds(blocks, s["dataset"], s["n_train"], s["n_test"], s["epochs"],
                                       s.get("device", "cpu"))

    def seconds_left(self) -> float:
        return self.current_left() + self._pending_seconds()

    @property
    def status(self) -> str:
        s = self.last_start
        if self.done:
            if self.stopped and s:
                return (f"stopped during run {s['index']}/{s['of']} ({s['run']}) after {self.done['seconds']:.0f} s: "
                        f"it is marked stopped, its final accuracy is left empty and the depth chart leaves it out")
            if self.stopped:
                return "stopped before the first run"
            return f"done: {len(self.runs)} runs in {self.done['seconds']:.0f} s"
        if not s:
            return ""
        run = self.runs[s["run"]]
        total = self.seconds_left()
        rest = f", {left(total)} in all" if s["index"] < s["of"] else ""
        return (f"run {s['index']}/{s['of']}: {s['run']} {s['info']['blocks']} on {s['n_train']:,} {s['dataset']} "
                f"images, {run.status}: {left(self.current_left())}{rest}")
