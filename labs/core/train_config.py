"""TrainConfig: every knob of the one training loop, with its constraints. No torch here, so configs of
the labs (read when the page is built) can reuse these constraints instead of repeating them."""

from __future__ import annotations

from dataclasses import dataclass

from labs.core.params import Boolean, Checked, Interval, Options, fail

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("onecycle", "cosine", "constant")
OBJECTIVES = ("classification", "reconstruction")


@dataclass
class TrainConfig(Checked):
    epochs: int = 1               # passes over the train split
    batch_size: int = 128         # images per step
    lr: float = 0.05              # peak learning rate (OneCycle) or constant rate
    optimizer: str = "sgd"        # "sgd" (Nesterov momentum) | "adam" (torch.optim.Adam, as in the seed)
    momentum: float = 0.9         # SGD only
    weight_decay: float = 5e-4    # L2 penalty (both optimisers)
    schedule: str = "onecycle"    # "onecycle" (warm-up 25% then cosine down) | "cosine" | "constant"
    label_smoothing: float = 0.0  # cross-entropy smoothing (classification only)
    augment: bool = False         # random crop (4-px zero padding) + horizontal flip
    ema: float = 0.0              # decay of an exponential moving average of the weights (and BN statistics),
                                  # evaluated and kept at the end instead of the raw weights; 0 = off
    tta_flip: bool = False        # evaluate on each test image and its mirror (mean of the two logits)
    objective: str = "classification"  # "classification" (cross-entropy) | "reconstruction" (MSE to the input)
    seed: int = 0                 # shuffling, augmentation (and model init via seed_everything)
    log_every: int = 10           # steps between "step" records (the first step is always reported)
    eval_every: int = 0           # steps between test evaluations; 0 = at the end of every epoch
    grad_norms: bool = True       # per-layer gradient norms in "step" records
    amp: str = "auto"             # "auto": bf16 on CUDA and on CPUs with native bf16 (conv nets); "bf16"; "off"
    compile: bool = False         # torch.compile the model (pays off only for long GPU runs)
    max_steps: int = 0            # stop after this many steps (0 = no limit); for smoke tests
    threads: int = 0              # CPU threads; 0 = all cores

    CONSTRAINTS = {
        "epochs": Interval(int, 1, 1000),
        "batch_size": Interval(int, 1, 65536),
        "lr": Interval(float, 0, 10, closed="right"),
        "optimizer": Options(*OPTIMIZERS),
        "momentum": Interval(float, 0, 1, closed="left"),
        "weight_decay": Interval(float, 0, 1, closed="left"),
        "schedule": Options(*SCHEDULES),
        "label_smoothing": Interval(float, 0, 1, closed="left"),
        "augment": Boolean(),
        "ema": Interval(float, 0, 1, closed="left"),
        "tta_flip": Boolean(),
        "objective": Options(*OBJECTIVES),
        "seed": Interval(int, 0, 2**32 - 1),
        "log_every": Interval(int, 1, 10**6),
        "eval_every": Interval(int, 0, 10**9),
        "grad_norms": Boolean(),
        "amp": Options("auto", "bf16", "off"),
        "compile": Boolean(),
        "max_steps": Interval(int, 0, 10**9),
        "threads": Interval(int, 0, 1024),
    }


def check_fits(config: TrainConfig, n_train: int) -> None:
    """The one rule that needs the data: a step needs a full batch."""
    if config.batch_size > n_train:
        fail("batch_size", f"at most the training set's {n_train} images", config.batch_size)
