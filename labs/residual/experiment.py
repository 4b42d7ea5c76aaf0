"""Lab 1: does the skip connection let depth help instead of hurt?

Part A trains a 16-layer MLP and a 16-layer ResidualMLP side by side (their fit
generators interleaved record by record, so both curves grow together). Part B
trains PlainCNN and ResNet at the seed's sizes, one run after another. Both are
generators of plain dicts that the tab draws, the CLI prints and the tests assert on:

- {"kind": "start", "run": label, "model", "params", "info", "dataset", "n_train", "n_test", "num_classes",
  "epochs", "device", "index", "of"} once per run, before its first fit record ("index" of "of" runs; Part A
  starts both at once); Part B's also carry "label_smoothing" and "plan" (every run of the sweep, in order, as
  {"run", "blocks"}: what is still to come, for the time remaining);
- every record of engine.fit ("step", "eval", "end"), with "run": label added;
- {"kind": "done", "stopped", "seconds"} last.

A run that finishes (not stopped) keeps its measured speed for later estimates (labs.residual.timing).
"""

from __future__ import annotations

import threading
import time

from labs.core import eta
from labs.core.data import load_dataset
from labs.core.engine import TrainConfig, fit, pick_device, seed_everything
from labs.core.models import MODEL_TITLES, build_model, count_parameters
from labs.residual import timing
from labs.residual.config import ARCHITECTURES, SIZES, MLPCompareConfig, SweepConfig, depth_in_layers


def _start(label: str, model_name: str, model, info: dict, cfg, data, device, index: int, of: int) -> dict:
    return {"kind": "start", "run": label, "model": model_name, "params": count_parameters(model), "info": info,
            "dataset": cfg.dataset, "n_train": len(data.y_train), "n_test": len(data.y_test),
            "num_classes": data.num_classes, "epochs": cfg.epochs, "device": str(pick_device(device)),
            "index": index, "of": of}


def _train_seconds(end: dict) -> float:
    """A run's wall time without its evaluations."""
    return end["seconds"] - sum(h.get("eval_seconds", 0) for h in end.get("history", []))


def run_mlp_comparison(cfg: MLPCompareConfig, stop: threading.Event | None = None, device=None):
    """Train MLP-depth and ResidualMLP-depth on the same data, interleaved (see the module docstring)."""
    t0 = time.perf_counter()
    data = load_dataset(cfg.dataset)
    if cfg.train_subset:
        data = data.subset(cfg.train_subset, None, seed=cfg.seed)
    c, h, _ = data.image_shape
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer=cfg.optimizer, weight_decay=0.0,
                       schedule="onecycle", seed=cfg.seed, log_every=cfg.log_every, grad_norms=True,
                       eval_every=cfg.eval_every)
    names = ("mlp", "residual_mlp")
    gens, starts = {}, []
    for i, name in enumerate(names, start=1):
        seed_everything(cfg.seed)  # same initial draw for both: they differ only by the skip
        model = build_model(name, depth=cfg.depth, width=cfg.width, num_classes=data.num_classes, in_channels=c,
                            image_size=h)
        label = f"{MODEL_TITLES[name]}-{cfg.depth}"
        starts.append(_start(label, name, model, {"depth": cfg.depth, "width": cfg.width}, cfg, data, device,
                             i, len(names)))
        gens[label] = fit(model, data, tcfg, stop=stop, device=device)
    yield from starts
    stopped, steps = False, []
    active = dict(gens)
    while active:  # round-robin: one record from each run in turn
        for label in list(active):
            rec = next(active[label], None)
            if rec is None:
                del active[label]
                continue
            yield {**rec, "run": label}
            if rec["kind"] == "end":
                stopped = stopped or rec["stopped"]
                steps.append(rec["steps"])
                del active[label]
    seconds = time.perf_counter() - t0
    if not stopped:  # both ran to the end: keep the pair's speed (evaluation included) for Part A's estimate
        units = timing.mlp_units(cfg.dataset, cfg.depth, cfg.width, max(steps) * cfg.batch_size)
        timing.observe(f"mlp-{cfg.dataset}", units, seconds, starts[0]["device"])
    yield {"kind": "done", "stopped": stopped, "seconds": round(seconds, 3)}


def run_sweep(cfg: SweepConfig, stop: threading.Event | None = None, device=None):
    """PlainCNN and ResNet at each selected size, one after another (see the module docstring)."""
    t0 = time.perf_counter()
    data = load_dataset(cfg.dataset).subset(cfg.train_subset or None, cfg.test_subset or None, seed=cfg.seed)
    c, h, _ = data.image_shape
    tcfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="sgd", weight_decay=5e-4,
                       schedule="onecycle", label_smoothing=cfg.label_smoothing, augment=cfg.augment and h >= 32,
                       seed=cfg.seed, log_every=cfg.log_every, grad_norms=False)
    plan = [(a, s) for s in SIZES for a in ARCHITECTURES if a in cfg.architectures and s in cfg.sizes]
    plan_info = [{"run": f"{a} {s}", "blocks": eta.resnet_blocks(SIZES[s])} for a, s in plan]
    for i, (arch, size) in enumerate(plan, start=1):
        if stop is not None and stop.is_set():
            break
        seed_everything(cfg.seed)
        model = build_model(ARCHITECTURES[arch], depth=SIZES[size], widths=(16, 32), num_classes=data.num_classes,
                            in_channels=c, image_size=h)
        label = f"{arch} {size}"
        info = {"architecture": arch, "size": size, "blocks": list(SIZES[size]),
                "layers": depth_in_layers(SIZES[size])}
        yield {**_start(label, ARCHITECTURES[arch], model, info, cfg, data, device, i, len(plan)),
               "label_smoothing": cfg.label_smoothing, "plan": plan_info}
        end = {}
        for rec in fit(model, data, tcfg, stop=stop, device=device):
            end = rec
            yield {**rec, "run": label}
        if end.get("stopped"):
            break
        if end:  # finished: this machine's speed calibrates later estimates
            blocks, images = eta.resnet_blocks(SIZES[size]), end["steps"] * cfg.batch_size
            if timing.is_eta_unit(cfg.dataset):
                eta.observe(blocks, images, _train_seconds(end), end["device"])
            else:
                timing.observe(f"cnn-{cfg.dataset}", blocks * images, end["seconds"], end["device"])
    yield {"kind": "done", "stopped": stop is not None and stop.is_set(),
           "seconds": round(time.perf_counter() - t0, 3)}
