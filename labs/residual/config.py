"""Lab 1 knobs: one dataclass per experiment with commented defaults and its constraints, presets as plain
dicts, and the sweep's ETA (from the shared throughput model in labs.core.eta).

No torch here: the tab reads these to lay itself out before torch is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labs.core import eta, params
from labs.core.catalog import DATASETS
from labs.core.params import Boolean, Interval, Options, Subset

# The seed's sizes: blocks per stage of the two stages (widths 16, 32).
SIZES = {"Small": (2, 2), "Medium": (5, 5), "Large": (7, 7)}
ARCHITECTURES = {"PlainCNN": "plain_cnn", "ResNet": "resnet"}

MAX_MLP_DEPTH = 100  # labs.core.models.MAX_DEPTH (not imported: it would import torch)
SEED = Interval(int, 0, 2**32 - 1)
TRAIN = {  # the knobs both experiments hand to engine.TrainConfig, with its ranges
    "epochs": Interval(int, 1, 1000),
    "batch_size": Interval(int, 1, 65536),
    "lr": Interval(float, 0, 10, closed="right"),
    "train_subset": Interval(int, 0, None),
    "seed": SEED,
    "log_every": Interval(int, 1, 10**6),
}


@dataclass
class MLPCompareConfig(params.Checked):
    dataset: str = "mnist"      # "mnist" (real) or "digits" (embedded 8x8, offline); any registered data set works
    depth: int = 16             # linear layers per network
    width: int = 128            # hidden units
    epochs: int = 2             # full passes over the train split
    batch_size: int = 128
    lr: float = 2e-3            # Adam peak learning rate (OneCycle)
    train_subset: int = 0       # 0 = the whole train split
    seed: int = 0
    log_every: int = 20         # steps between live points / gradient-norm snapshots
    eval_every: int = 150       # steps between test-accuracy points (MNIST: ~3 per epoch); 0 = once per epoch

    CONSTRAINTS = {
        "dataset": Options(*DATASETS),
        "depth": Interval(int, 3, MAX_MLP_DEPTH),
        "width": Interval(int, 1, 4096),
        **TRAIN,
        "eval_every": Interval(int, 0, 10**9),
    }


@dataclass
class SweepConfig(params.Checked):
    dataset: str = "cifar10"
    architectures: tuple[str, ...] = ("PlainCNN", "ResNet")
    sizes: tuple[str, ...] = ("Small", "Medium", "Large")
    epochs: int = 4             # per run
    train_subset: int = 5000    # images per epoch (0 = all 50,000)
    test_subset: int = 2000     # first N test images (class balanced), 0 = all 10,000
    batch_size: int = 128
    lr: float = 0.1             # SGD-Nesterov peak learning rate (OneCycle), weight decay 5e-4
    label_smoothing: float = 0.0
    augment: bool = True        # random crop + flip (32x32 images only)
    seed: int = 0
    log_every: int = 10

    CONSTRAINTS = {
        "dataset": Options(*DATASETS),
        "architectures": Subset(tuple(ARCHITECTURES)),
        "sizes": Subset(tuple(SIZES)),
        **TRAIN,
        "test_subset": Interval(int, 0, None),
        "label_smoothing": Interval(float, 0, 1, closed="left"),
        "augment": Boolean(),
    }


# Named presets: plain dicts over the config fields.
MLP_PRESETS = {"quick": {}, "full": {"epochs": 10}}
SWEEP_PRESETS = {
    "quick": {},                                                   # ~3 min on 2 CPU cores
    "full": {"epochs": 30, "train_subset": 0, "test_subset": 0, "batch_size": 512, "lr": 0.4,
             "label_smoothing": 0.1},                              # the GPU reference schedule
}


def _apply(cls, preset: str, presets: dict, **overrides):
    if preset not in presets:
        params.fail("preset", "one of " + ", ".join(presets), preset)
    return params.build(cls, **{**presets[preset], **overrides})


def mlp_config(preset: str = "quick", **overrides) -> MLPCompareConfig:
    """A preset with raw overrides (form or CLI values), converted and checked."""
    return _apply(MLPCompareConfig, preset, MLP_PRESETS, **overrides)


def sweep_config(preset: str = "quick", **overrides) -> SweepConfig:
    """A preset with raw overrides (form or CLI values), converted and checked."""
    return _apply(SweepConfig, preset, SWEEP_PRESETS, **overrides)


def depth_in_layers(blocks: tuple[int, ...]) -> int:
    """Weight layers on the main path: stem conv + 2 convs per block + linear head."""
    return 2 + 2 * sum(blocks)


def estimate_sweep_seconds(cfg: SweepConfig, device: str = "cpu", n_train: int = 50_000, n_test: int = 10_000) -> float:
    """Rough wall time of a sweep: every run trains on the subset and evaluates once per epoch."""
    n_tr = cfg.train_subset or n_train
    n_te = cfg.test_subset or n_test
    total = 0.0
    for _ in cfg.architectures:
        for size in cfg.sizes:
            blocks = eta.resnet_blocks(SIZES[size])
            total += eta.train_seconds(blocks, n_tr * cfg.epochs, device)
            total += eta.infer_seconds(blocks, n_te * cfg.epochs, device)
    return total


def convergence_label(final_loss: float, best_loss: float) -> str:
    """The seed's 'Training convergence' column, made quantitative: final train loss vs the table's best."""
    if not math.isfinite(final_loss):
        return "diverged"
    ratio = final_loss / best_loss if best_loss > 0 else 1.0
    word = "best" if ratio <= 1.02 else "good" if ratio <= 1.15 else "slower" if ratio <= 1.4 else "poor"
    return f"{word} (train loss {final_loss:.3f})"
