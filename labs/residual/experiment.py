"""Lab 1: does the skip connection let depth help instead of hurt?

Part A trains a 16-layer MLP and a 16-layer ResidualMLP side by side (their fit
generators interleaved step group by step group, so both curves grow together).
Part B trains PlainCNN and ResNet at the seed's sizes on CIFAR-10, one run after
another. Both are generators of `LabState` snapshots that the tab draws, the CLI
prints and the tests assert on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

from labs.core.data import load_dataset
from labs.core.engine import TrainConfig, fit, seed_everything
from labs.core.models import MODEL_TITLES, build_model, count_parameters
from labs.residual.config import ARCHITECTURES, SIZES, MLPCompareConfig, SweepConfig, check_sweep, depth_in_layers

@dataclass
class RunLog:
    """Everything measured for one run, appended as fit's records arrive."""

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
        else:
            self.end = {k: v for k, v in rec.items() if k != "history"}

    @property
    def finished(self) -> bool:
        return bool(self.end)


@dataclass
class LabState:
    runs: dict[str, RunLog] = field(default_factory=dict)
    status: str = ""
    done: bool = False
    stopped: bool = False
    config: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


def run_mlp_comparison(cfg: MLPCompareConfig, stop: threading.Event | None = None):
    """Train MLP-depth and ResidualMLP-depth on the same data, interleaved; yields LabState."""
    data = load_dataset(cfg.dataset)
    if cfg.train_subset:
        data = data.subset(cfg.train_subset, None, seed=cfg.seed)
    c, h, _ = data.image_shape
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="adam", weight_decay=0.0,
                       schedule="onecycle", seed=cfg.seed, log_every=cfg.log_every, grad_norms=True,
                       eval_every=cfg.eval_every)
    state = LabState(config={"kind": "mlp", **asdict(cfg)})
    gens = {}
    for name in ("mlp", "residual_mlp"):
        seed_everything(cfg.seed)  # same initial draw for both: they differ only by the skip
        model = build_model(name, depth=cfg.depth, width=cfg.width, num_classes=data.num_classes, in_channels=c,
                            image_size=h)
        label = f"{MODEL_TITLES[name]}-{cfg.depth}"
        state.runs[label] = RunLog(label, name, count_parameters(model), {"depth": cfg.depth, "width": cfg.width})
        gens[label] = fit(model, data, tcfg, stop=stop)
    state.status = f"training {' and '.join(state.runs)} on {cfg.dataset} ({len(data.y_train):,} images, " \
                   f"{cfg.epochs} epochs)"
    yield state
    active = dict(gens)
    while active:  # round-robin: one record from each run in turn
        for label in list(active):
            rec = next(active[label], None)
            if rec is None:
                del active[label]
                continue
            state.runs[label].add(rec)
            if rec["kind"] == "end":
                del active[label]
            yield state
    state.stopped = any(r.end.get("stopped") for r in state.runs.values())
    state.done = True
    state.status = ("stopped: the curves and table keep what was measured" if state.stopped else
                    f"done in {time.perf_counter() - state.started:.1f} s")
    yield state


def run_sweep(cfg: SweepConfig, stop: threading.Event | None = None, device=None):
    """PlainCNN and ResNet at each size, one after another; yields LabState after every record."""
    check_sweep(cfg)
    data = load_dataset(cfg.dataset).subset(cfg.train_subset or None, cfg.test_subset or None, seed=cfg.seed)
    c, h, _ = data.image_shape
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="sgd", weight_decay=5e-4,
                       schedule="onecycle", label_smoothing=cfg.label_smoothing, augment=cfg.augment and h >= 32,
                       seed=cfg.seed, log_every=cfg.log_every, grad_norms=False)
    state = LabState(config={"kind": "sweep", **asdict(cfg)})
    plan = [(a, s) for s in SIZES for a in ARCHITECTURES if a in cfg.architectures and s in cfg.sizes]
    for i, (arch, size) in enumerate(plan, start=1):
        if stop is not None and stop.is_set():
            break
        seed_everything(cfg.seed)
        model = build_model(ARCHITECTURES[arch], depth=SIZES[size], widths=(16, 32), num_classes=data.num_classes,
                            in_channels=c, image_size=h)
        label = f"{arch} {size}"
        log = RunLog(label, ARCHITECTURES[arch], count_parameters(model),
                     {"architecture": arch, "size": size, "blocks": list(SIZES[size]),
                      "layers": depth_in_layers(SIZES[size])})
        state.runs[label] = log
        state.status = f"run {i}/{len(plan)}: {label} {list(SIZES[size])} on {len(data.y_train):,} {cfg.dataset} images"
        yield state
        for rec in fit(model, data, tcfg, stop=stop, device=device):
            log.add(rec)
            yield state
        if log.end.get("stopped"):
            break
    state.stopped = stop is not None and stop.is_set()
    state.done = True
    state.status = ("stopped: finished runs are kept in the table" if state.stopped else
                    f"done: {len(plan)} runs in {time.perf_counter() - state.started:.0f} s")
    yield state
