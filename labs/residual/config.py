"""Lab 1 knobs: one dataclass per experiment with commented defaults and its constraints, presets as plain
dicts, and the sweep's ETA (from the shared throughput model in labs.core.eta).

No torch here: the tab reads these to lay itself out before torch is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labs.core import eta, params
from labs.residual import timing
from labs.core.catalog import DATASETS
from labs.core.params import Boolean, Interval, Options, Subset

# The seed's sizes: blocks per stage of the two stages (widths 16, 32).
SIZES = {"Small": (2, 2), "Medium": (5, 5), "Large": (7, 7)}
ARCHITECTURES = {"PlainCNN": "plain_cnn", "ResNet": "resnet"}

MLP_LR = {"adam": 2e-3, "sgd": 0.05}  # Part A's peak learning rate per optimiser (OneCycle)
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
    optimizer: str = "adam"     # "adam" (Adam, no weight decay) | "sgd" (Nesterov momentum 0.9)
    lr: float = 2e-3            # peak learning rate (OneCycle): MLP_LR holds each optimiser's default
    train_subset: int = 0       # 0 = the whole train split
    seed: int = 0
    log_every: int = 20         # steps between live points / gradient-norm snapshots
    eval_every: int = 150       # steps between test-accuracy points (MNIST: ~3 per epoch); 0 = once per epoch

    CONSTRAINTS = {
        "dataset": Options(*DATASETS),
        "depth": Interval(int, 3, MAX_MLP_DEPTH),
        "width": Interval(int, 1, 4096),
        "optimizer": Options(*MLP_LR),
        **TRAIN,
        "eval_every": Interval(int, 0, 10**9),
    }


@dataclass
class SweepConfig(params.Checked):
    dataset: str = "cifar10"
    architectures: tuple[str, ...] = ("PlainCNN", "ResNet")
    sizes: tuple[str, ...] = ("Small", "Medium", "Large")
    epochs: int = 3             # per run
    train_subset: int = 10000   # images per epoch (0 = all 50,000)
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
    # 10,000 images x 3 epochs: 2.3-3.4 min measured on 2 cores with native bf16 (eta's reference speed says ~4),
    # 14.6 min on an AVX2-only 2-core CPU (README, `python -m labs sweep resnet`)
    "quick": {},
    # all 50,000 images, one schedule for the six runs: `python -m labs reproduce --stage cnn` (results/cnn.json)
    "full": {"epochs": 15, "train_subset": 0, "test_subset": 0, "batch_size": 256, "lr": 0.2,
             "label_smoothing": 0.1},
}
# the full preset's schedule cut to the fewest epochs at which ResNet Large still reaches the seed's 78% (4 gave
# 75.91%): `python -m labs reproduce --stage cnn_short` (results/cnn_short.json)
SWEEP_PRESETS["short"] = {**SWEEP_PRESETS["full"], "epochs": 5}


def _apply(cls, preset: str, presets: dict, **overrides):
    if preset not in presets:
        params.fail("preset", "one of " + ", ".join(presets), preset)
    return params.build(cls, **{**presets[preset], **overrides})


def mlp_config(preset: str = "quick", **overrides) -> MLPCompareConfig:
    """A preset with raw overrides (form or CLI values), converted and checked; an optimiser given without
    a learning rate gets that optimiser's default (MLP_LR)."""
    opt = str(overrides.get("optimizer", "")).strip().lower()
    if opt in MLP_LR and overrides.get("lr") is None:
        overrides = {**overrides, "optimizer": opt, "lr": MLP_LR[opt]}
    return _apply(MLPCompareConfig, preset, MLP_PRESETS, **overrides)


def sweep_config(preset: str = "quick", **overrides) -> SweepConfig:
    """A preset with raw overrides (form or CLI values), converted and checked."""
    return _apply(SweepConfig, preset, SWEEP_PRESETS, **overrides)


def depth_in_layers(blocks: tuple[int, ...]) -> int:
    """Weight layers on the main path: stem conv + 2 convs per block + linear head."""
    return 2 + 2 * sum(blocks)


def estimate_sweep_seconds(cfg: SweepConfig, device: str = "cpu") -> float:
    """Rough wall time of a sweep: every run trains on the subset and evaluates once per epoch (labs.residual.timing)."""
    n_tr, n_te = split_sizes(cfg)
    return sum(timing.conv_run_seconds(eta.resnet_blocks(SIZES[size]), cfg.dataset, n_tr, n_te, cfg.epochs, device)
               for _ in cfg.architectures for size in cfg.sizes)


def split_sizes(cfg) -> tuple[int, int]:
    """(train, test) images a sweep uses: the subsets, capped by the data set's splits."""
    n_tr, n_te = timing.TRAIN_SIZES.get(cfg.dataset, 50_000), timing.TEST_SIZES.get(cfg.dataset, 10_000)
    return min(cfg.train_subset or n_tr, n_tr), min(getattr(cfg, "test_subset", 0) or n_te, n_te)


# "Training convergence": the final train loss placed between the best a model can reach and chance, so
# the word depends on this run alone. 0 = the floor (0, or the entropy of the smoothed targets under label
# smoothing), 1 = ln(num_classes), the loss of a uniform guess.
CONVERGENCE_WORDS = ((0.10, "good"), (0.30, "fair"), (0.80, "poor"), (float("inf"), "near chance"))
CONVERGENCE_NOTE = ("**Training convergence** is the run's final train loss as a fraction of the way from the "
                    "lowest reachable loss (0, or the entropy of the smoothed targets with label smoothing) to "
                    "ln(number of classes), the loss of a uniform guess: **good** <= 0.10, **fair** <= 0.30, "
                    "**poor** <= 0.80, else **near chance**. It depends on the run alone, so it never changes when "
                    "another run finishes; it is shown for finished runs only.")


def loss_floor(num_classes: int, label_smoothing: float = 0.0) -> float:
    """The lowest cross-entropy reachable with smoothed targets: their entropy."""
    if label_smoothing <= 0:
        return 0.0
    hi = 1 - label_smoothing + label_smoothing / num_classes
    lo = label_smoothing / num_classes
    return -(hi * math.log(hi) + (num_classes - 1) * lo * math.log(lo))


def convergence_fraction(final_loss: float, num_classes: int, label_smoothing: float = 0.0) -> float:
    floor = loss_floor(num_classes, label_smoothing)
    return (final_loss - floor) / (math.log(num_classes) - floor)


def convergence_label(final_loss: float, num_classes: int, label_smoothing: float = 0.0) -> str:
    """'good (0.06)': the word for convergence_fraction (see CONVERGENCE_NOTE) and the fraction itself."""
    if not math.isfinite(final_loss):
        return "diverged"
    f = convergence_fraction(final_loss, num_classes, label_smoothing)
    word = next(w for limit, w in CONVERGENCE_WORDS if f <= limit)
    return f"{word} ({max(f, 0):.2f})"
