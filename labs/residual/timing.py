"""Lab 1's time estimates and time remaining. No torch here (the tab words its notes before torch is imported).

- Part B's conv nets on 32x32 images use the shared model (labs.core.eta): one ResNet block on one 32x32 image is
  its unit, and experiment.py calls `eta.observe` when such a run finishes, so estimates follow this machine.
- What eta's unit does not describe is kept in eta's file under Lab 1's own kinds: Part A's MLPs
  (cost in million multiply-adds per image, both models, evaluation included, per data set) and conv nets on smaller images
  (the 8x8 digits, where per-step overhead, not arithmetic, sets the speed). Until a finished run has measured
  them, the reference figures below stand in and the page says "not calibrated yet".
"""

from __future__ import annotations


from labs.core import eta
from labs.core.catalog import DATASETS

# Million multiply-add-images per second, both MLPs of Part A together, evaluation included:
# MLP-16 x 128 on MNIST (0.33 M MACs per image) trained 2 x 2 epochs x 60,000 images in ~24 s on 2 idle cores.
MLP_REF_RATE = {"cpu": 3300.0, "cuda": 10_000.0}

# Images per split, for the texts (the tab must not load a data set to word a label).
TRAIN_SIZES = {"digits": 1437, "mnist": 60_000, "cifar10": 50_000, "cifar100": 50_000, "svhn": 73_257}
TEST_SIZES = {"digits": 360, "mnist": 10_000, "cifar10": 10_000, "cifar100": 10_000, "svhn": 26_032}


def _dev(device) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def observe(kind: str, units: float, seconds: float, device: str = "cpu") -> None:
    """Keep a finished run's speed (units per second) for `kind` ("mlp-mnist", "cnn-digits", ...) on this machine."""
    eta.observe_rate(kind, units, seconds, device)


def measured_rate(kind: str, device: str = "cpu") -> float | None:
    return eta.measured_rate(kind, device)


# ---- Part A: the two MLPs ----

def mlp_macs(dataset: str, depth: int, width: int) -> float:
    """Million multiply-adds per image of one MLP: input projection, depth-2 hidden layers, head."""
    c, h, w = DATASETS[dataset].image_shape
    return (c * h * w * width + (depth - 2) * width * width + width * DATASETS[dataset].num_classes) / 1e6


def mlp_units(dataset: str, depth: int, width: int, images: float) -> float:
    """Cost of training both MLPs on `images` image-steps each (million multiply-add-images)."""
    return 2 * mlp_macs(dataset, depth, width) * images


def mlp_seconds(dataset: str, depth: int, width: int, images: float, device: str = "cpu") -> tuple[float, bool]:
    """(estimated seconds of Part A, whether the speed was measured on this machine)."""
    rate = measured_rate(f"mlp-{dataset}", device)  # per data set: small inputs are overhead-bound
    return mlp_units(dataset, depth, width, images) / (rate or MLP_REF_RATE[_dev(device)]), rate is not None


# ---- Part B: one conv run ----

def is_eta_unit(dataset: str) -> bool:
    """32x32 images: the shared model's unit (labs.core.eta) describes them."""
    return DATASETS[dataset].image_shape[1:] == (32, 32)


# Small images are overhead-bound: ResNet[2,2] trained 8x8 digits ~3.4x faster than 32x32 CIFAR-10 images
# on 2 CPU cores (not the 16x their pixel counts suggest). Used only until a run on them has been measured.
SMALL_IMAGE_FLOOR = 0.3


def _pixels(dataset: str) -> int:
    return DATASETS[dataset].image_shape[1] * DATASETS[dataset].image_shape[2]


def conv_run_seconds(blocks: float, dataset: str, n_train: int, n_test: int, epochs: int,
                     device: str = "cpu") -> float:
    """One PlainCNN/ResNet run with `blocks` block-equivalents (eta.resnet_blocks), evaluated once per epoch."""
    if is_eta_unit(dataset) or measured_rate(f"cnn-{dataset}", device) is None:
        scale = 1.0 if is_eta_unit(dataset) else max(SMALL_IMAGE_FLOOR, _pixels(dataset) / 1024)
        return (eta.train_seconds(blocks * scale, n_train * epochs, device)
                + eta.infer_seconds(blocks * scale, n_test * epochs, device))
    return blocks * n_train * epochs / measured_rate(f"cnn-{dataset}", device)


def conv_basis(dataset: str, device: str = "cpu") -> str:
    """Where Part B's speed on `dataset` comes from (eta.basis's words; small images have no speed test)."""
    if is_eta_unit(dataset):
        return eta.basis(device)
    return "measured" if measured_rate(f"cnn-{dataset}", device) is not None else "reference"


def tag(basis: str | bool) -> str:
    """eta's wording for a basis ("measured", "speed test", "reference"; True / False: measured or not)."""
    if isinstance(basis, bool):
        basis = "measured" if basis else "reference"
    return eta.BASIS_TEXT[basis]


remaining = eta.seconds_left  # seconds left of a run at its pace so far (its evaluations included)
