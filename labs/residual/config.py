"""Lab 1 knobs: one dataclass per experiment with commented defaults, presets as plain dicts.

No torch here: the tab reads these to lay itself out before torch is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labs.core.errors import LabsError

# The seed's sizes: blocks per stage of the two stages (widths 16, 32).
SIZES = {"Small": (2, 2), "Medium": (5, 5), "Large": (7, 7)}
ARCHITECTURES = {"PlainCNN": "plain_cnn", "ResNet": "resnet"}


@dataclass
class MLPCompareConfig:
    dataset: str = "mnist"      # "mnist" (real) or "digits" (embedded 8x8, offline)
    depth: int = 16             # linear layers per network
    width: int = 128            # hidden units
    epochs: int = 2             # full passes over the train split
    batch_size: int = 128
    lr: float = 2e-3            # Adam peak learning rate (OneCycle)
    train_subset: int = 0       # 0 = the whole train split
    seed: int = 0
    log_every: int = 20         # steps between live points / gradient-norm snapshots
    eval_every: int = 150       # steps between test-accuracy points (MNIST: ~3 per epoch)


@dataclass
class SweepConfig:
    dataset: str = "cifar10"
    architectures: tuple[str, ...] = ("PlainCNN", "ResNet")
    sizes: tuple[str, ...] = ("Small", "Medium", "Large")
    epochs: int = 4             # per run
    train_subset: int = 5000    # images per epoch (0 = all 50,000)
    test_subset: int = 2000     # first N test images (class balanced), 0 = all 10,000
    batch_size: int = 128
    lr: float = 0.1             # SGD-Nesterov peak learning rate (OneCycle), weight decay 5e-4
    label_smoothing: float = 0.0
    augment: bool = True        # random crop + flip
    seed: int = 0
    log_every: int = 10


# Named presets: plain dicts over the config fields.
MLP_PRESETS = {"quick": {}, "full": {"epochs": 10}}
SWEEP_PRESETS = {
    "quick": {},                                                   # ~3 min on 2 CPU cores
    "full": {"epochs": 30, "train_subset": 0, "test_subset": 0, "batch_size": 512, "lr": 0.4,
             "label_smoothing": 0.1},                              # the GPU reference schedule
}

# Throughput model for ETAs: image-blocks per second (one ResNet basic block on one image).
# Measured: ResNet[7,7] (15 block-equivalents incl. stem) trains at ~600 img/s on 2 CPU cores
# with bf16 autocast and ~40,000 img/s on one H200 (STACK-NOTES).
BLOCKS_PER_SECOND = {"cpu": 600 * 15, "cuda": 40_000 * 15}


def _apply(cls, preset: str, presets: dict, **overrides):
    return cls(**{**presets.get(preset, {}), **overrides}) if preset else cls(**overrides)


def mlp_config(preset: str = "quick", **overrides) -> MLPCompareConfig:
    return _apply(MLPCompareConfig, preset, MLP_PRESETS, **overrides)


def sweep_config(preset: str = "quick", **overrides) -> SweepConfig:
    return _apply(SweepConfig, preset, SWEEP_PRESETS, **overrides)


def depth_in_layers(blocks: tuple[int, ...]) -> int:
    """Weight layers on the main path: stem conv + 2 convs per block + linear head."""
    return 2 + 2 * sum(blocks)


def check_sweep(cfg: SweepConfig) -> None:
    unknown = [a for a in cfg.architectures if a not in ARCHITECTURES] + [s for s in cfg.sizes if s not in SIZES]
    if unknown:
        raise LabsError(f"unknown architecture or size {unknown}; choose from {list(ARCHITECTURES)} and {list(SIZES)}")
    if not cfg.architectures or not cfg.sizes:
        raise LabsError("select at least one architecture and one size")


def estimate_sweep_seconds(cfg: SweepConfig, device: str = "cpu", n_train: int = 50_000, n_test: int = 10_000) -> float:
    """Rough wall time of a sweep from the throughput model (images x blocks / rate)."""
    check_sweep(cfg)
    n_tr = cfg.train_subset or n_train
    n_te = cfg.test_subset or n_test
    rate = BLOCKS_PER_SECOND["cuda" if device == "cuda" else "cpu"]
    total = 0.0
    for _ in cfg.architectures:
        for size in cfg.sizes:
            blocks = sum(SIZES[size]) + 1
            total += blocks * (n_tr * cfg.epochs + n_te * cfg.epochs / 3) / rate  # eval ~3x cheaper per image
    return total


def convergence_label(final_loss: float, best_loss: float) -> str:
    """The seed's 'Training convergence' column, made quantitative: final train loss vs the table's best."""
    if not math.isfinite(final_loss):
        return "diverged"
    ratio = final_loss / best_loss if best_loss > 0 else 1.0
    word = "best" if ratio <= 1.02 else "good" if ratio <= 1.15 else "slower" if ratio <= 1.4 else "poor"
    return f"{word} (train loss {final_loss:.3f})"
