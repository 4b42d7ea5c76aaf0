"""Lab 2 experiments: CIFAR-10 features reused on CIFAR-100.

Phase 1 (`run_svm`): the frozen CIFAR-10 ResNet's pooled features (N, 32) for the
CIFAR-100 images, standardised, then scikit-learn's LinearSVC (seed: 18.5%).
Phase 2 (`run_finetune`): for every (freeze strategy x optimiser), load the
checkpoint, put a 100-class head on it, freeze, fine-tune with labs.core.engine.fit.

Normalisation convention: the transferred network's first layer learnt on inputs
normalised with CIFAR-10's mean/std, so CIFAR-100 images are normalised with the
mean/std stored in the checkpoint's JSON (not CIFAR-100's own, which differ by
~0.01-0.02). The optional from-scratch reference uses the target's own statistics.

Both phases are generators of plain dicts, first {"kind": "start"}, last {"kind": "done"},
so the CLI, the tab and the tests consume one code path.
"""

from __future__ import annotations

import time
from dataclasses import replace

from labs.core import eta
from labs.core.data import DataMissing, is_available, load_dataset
from labs.transfer.config import (OPTIMIZERS, SCRATCH, SVM_FIT_IMAGES_PER_S, TransferConfig, run_label,
                                  subset_sizes)
from labs.transfer.freeze import apply_strategy
from labs.transfer.source import load_source
from labs.transfer.svm import fit_svm, svm_on_features  # noqa: F401 (svm_on_features: part of this module's API)


def target_data(cfg: TransferConfig, svm: bool = False):
    """The target data set, cut to the phase's subset sizes (seeded)."""
    if not is_available(cfg.dataset):
        raise DataMissing(cfg.dataset)  # the page shows its visitor wording, the CLI the developer one
    full = load_dataset(cfg.dataset)
    tr, te = subset_sizes(cfg, len(full.y_train), len(full.y_test), svm)
    return full.subset(tr, te, seed=cfg.seed)


# ------------------------------------------------------------------ Phase 1

def observe_fit(end: dict, depth, image_shape, n_train: int, n_test: int) -> None:
    """Keep a finished (not stopped) training run's measured speed in labs.core.eta, so later estimates on
    this machine are calibrated; evaluations count at inference speed. `end` is fit's "end" record.
    Only 32x32 images (eta's unit, CIFAR's size): small images (digits, 8x8) are dominated by per-step
    overheads and would calibrate CIFAR estimates 100x too slow."""
    if end.get("stopped") or not end.get("seconds") or tuple(image_shape[1:]) != (32, 32):
        return
    epochs = end.get("config", {}).get("epochs", 1)
    evals = len(end.get("history", ())) or epochs
    images = n_train * epochs + n_test * evals / eta.INFER_SPEEDUP
    eta.observe(eta.resnet_blocks(depth), images, end["seconds"], end.get("device", "cpu"))


def run_svm(cfg: TransferConfig, stop=None, chunk: int = 500):
    """Phase 1. Yields {"kind": "start", ...}, {"kind": "progress", "stage", "done", "total", "images_done",
    "images_total", "seconds", "fit_estimate"} per chunk of feature extraction, {"kind": "fitting", "n_train",
    "feature_dim", "seconds", "estimate", "fit_seconds"} before and (about every 0.2 s) during the SVM fit, and
    finally {"kind": "done", "stopped", ...results} (no results when stopped). The fit runs in a worker process
    (labs.transfer.svm) that Stop kills; a chunk of 500 images keeps feature extraction's checks frequent."""
    import torch

    from labs.core.engine import predict, set_threads

    set_threads(cfg.threads)
    data = target_data(cfg, svm=True)
    model, meta = load_source(cfg.checkpoint, data.image_shape)
    mean, std = meta["normalization"]["mean"], meta["normalization"]["std"]
    yield {"kind": "start", "checkpoint": cfg.checkpoint, "dataset": cfg.dataset, "n_train": len(data.y_train),
           "n_test": len(data.y_test)}
    t0 = time.perf_counter()
    feats = {}
    images_total, images_done = len(data.y_train) + len(data.y_test), 0
    fit_estimate = len(data.y_train) / SVM_FIT_IMAGES_PER_S
    for split, x in (("train", data.x_train), ("test", data.x_test)):
        parts = []
        for i in range(0, len(x), chunk):
            if stop is not None and stop.is_set():
                yield {"kind": "done", "stopped": True}
                return
            parts.append(predict(model, x[i:i + chunk], mean, std, features=True))  # (chunk, 32) pooled features
            images_done += len(parts[-1])
            yield {"kind": "progress", "stage": f"features ({split})", "done": min(i + chunk, len(x)),
                   "total": len(x), "images_done": images_done, "images_total": images_total,
                   "seconds": time.perf_counter() - t0, "fit_estimate": fit_estimate}
        feats[split] = torch.cat(parts).numpy()
    extract_s = time.perf_counter() - t0
    fitting = {"kind": "fitting", "n_train": len(data.y_train), "feature_dim": int(feats["train"].shape[1]),
               "estimate": fit_estimate}
    yield {**fitting, "seconds": extract_s, "fit_seconds": 0.0}
    res = {}
    for rec in fit_svm(feats["train"], data.y_train.numpy(), feats["test"], data.y_test.numpy(), cfg.svm_c, stop):
        if rec["kind"] == "fitting":
            yield {**fitting, "seconds": time.perf_counter() - t0, "fit_seconds": rec["seconds"]}
        else:
            res = rec
    if res.get("stopped"):
        yield {"kind": "done", "stopped": True}
        return
    res = {k: v for k, v in res.items() if k not in ("kind", "stopped")}
    yield {"kind": "done", "stopped": False, **res, "extract_seconds": extract_s, "n_train": len(data.y_train),
           "n_test": len(data.y_test), "feature_dim": int(feats["train"].shape[1]), "c": cfg.svm_c,
           "chance": 1 / data.num_classes, "checkpoint": cfg.checkpoint}


# ------------------------------------------------------------------ Phase 2

def plan(cfg: TransferConfig) -> list[tuple[str, str]]:
    """(strategy, optimiser) per run, in the order they run; the from-scratch row uses the first optimiser."""
    runs = [(s, o) for s in cfg.strategies for o in cfg.optimizers]
    return runs + ([(SCRATCH, cfg.optimizers[0])] if cfg.from_scratch else [])


def prepare_model(cfg: TransferConfig, strategy: str, num_classes: int, image_shape):
    """A fresh copy of the source network with a new head, frozen per strategy (or a new ResNet for SCRATCH)."""
    from labs.core.devices import seed_everything
    from labs.core.models import build_model

    source, meta = load_source(cfg.checkpoint, image_shape)
    seed_everything(cfg.seed)  # the same new head for every run
    if strategy == SCRATCH:
        return build_model("resnet", **{**meta["model_args"], "num_classes": num_classes})
    source.replace_head(num_classes)
    return apply_strategy(source, strategy)


def run_finetune(cfg: TransferConfig, stop=None, device=None):
    """Phase 2. Yields {"kind": "start", "runs": [labels], ...}; per run {"kind": "run", "strategy", "optimizer",
    "trainable", "epochs"} as it starts, fit's "step"/"eval" records, then {"kind": "row", "row"} when it finished
    or {"kind": "stopped", "epoch", "epochs", "seconds", ...} when Stop ended it (a stopped run adds no row);
    all tagged with "run" (the label), "run_index" and "runs" (the count). Last: {"kind": "done", "rows",
    "stopped"}. A finished run's measured speed calibrates labs.core.eta."""
    from labs.core.engine import TrainConfig, fit
    from labs.core.models import count_parameters

    data = target_data(cfg)
    _, meta = load_source(cfg.checkpoint, data.image_shape)  # fail before the first run, not in it
    norm = meta["normalization"]
    transfer_data = replace(data, mean=tuple(norm["mean"]), std=tuple(norm["std"]))
    runs = plan(cfg)
    yield {"kind": "start", "runs": [run_label(s, o) for s, o in runs], "checkpoint": cfg.checkpoint,
           "dataset": cfg.dataset, "n_train": len(data.y_train), "n_test": len(data.y_test)}
    rows = []
    for i, (strategy, opt) in enumerate(runs):
        if stop is not None and stop.is_set():
            break
        model = prepare_model(cfg, strategy, data.num_classes, data.image_shape)
        label = run_label(strategy, opt)
        train_cfg = TrainConfig(epochs=cfg.epochs, batch_size=min(cfg.batch_size, len(data.y_train)),
                                lr=getattr(cfg, f"{opt}_lr"), optimizer=opt, weight_decay=cfg.weight_decay,
                                schedule="onecycle", augment=cfg.augment, seed=cfg.seed, log_every=cfg.log_every,
                                grad_norms=False, amp=cfg.amp, threads=cfg.threads)
        tag = {"run": label, "run_index": i, "runs": len(runs)}
        trainable = count_parameters(model, trainable_only=True)
        yield {"kind": "run", **tag, "strategy": strategy, "optimizer": OPTIMIZERS[opt], "trainable": trainable,
               "epochs": cfg.epochs}
        end, epoch = {}, 0.0
        for rec in fit(model, data if strategy == SCRATCH else transfer_data, train_cfg, stop=stop, device=device):
            if rec["kind"] == "end":
                end = rec
            else:
                epoch = rec.get("epoch", epoch)
                yield {**rec, **tag}
        if end.get("stopped"):
            yield {"kind": "stopped", **tag, "strategy": strategy, "optimizer": OPTIMIZERS[opt],
                   "trainable": trainable, "epoch": epoch, "epochs": cfg.epochs, "seconds": end["seconds"]}
            break
        observe_fit(end, meta["model_args"].get("depth", (7, 7)), data.image_shape, len(data.y_train), len(data.y_test))
        row = {"Strategy": strategy, "Optimizer": OPTIMIZERS[opt], "Test Accuracy": end["final_test_acc"],
               "Trainable Params": trainable, "Time (s)": end["seconds"],
               "lr": train_cfg.lr, "epochs": cfg.epochs, "n_train": len(data.y_train), "n_test": len(data.y_test)}
        rows.append(row)
        yield {"kind": "row", "row": row, **tag}
    yield {"kind": "done", "rows": rows, "stopped": len(rows) < len(runs)}
