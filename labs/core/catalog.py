"""The data-set catalogue: names, shapes, where the npz cache lives, what is missing.

Kept free of torch so the dashboard can describe data sets before torch is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from labs.core.errors import LabsError


def data_dir() -> Path:
    """$LABS_DATA_DIR, else $XDG_CACHE_HOME/labs-data (default ~/.cache/labs-data)."""
    if os.environ.get("LABS_DATA_DIR"):
        return Path(os.environ["LABS_DATA_DIR"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "labs-data"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    description: str
    image_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int
    embedded: bool = False  # ships with a package: always available offline
    n_train: int = 0        # images per split, as the official files have them (checked by `python -m labs data`)
    n_test: int = 0
    download_mb: int = 0    # size of the official files (MiB) that labs.core.download fetches; 0 = not downloadable


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec("digits", "Digits 8x8 (scikit-learn)", "1,797 real 8x8 handwritten digits that ship "
                          "with scikit-learn: always available offline", (1, 8, 8), 10, embedded=True,
                          n_train=1437, n_test=360),
    "mnist": DatasetSpec("mnist", "MNIST", "70,000 28x28 handwritten digits", (1, 28, 28), 10,
                         n_train=60000, n_test=10000, download_mb=11),
    "cifar10": DatasetSpec("cifar10", "CIFAR-10", "60,000 32x32 colour images, 10 classes", (3, 32, 32), 10,
                           n_train=50000, n_test=10000, download_mb=163),
    "cifar100": DatasetSpec("cifar100", "CIFAR-100", "60,000 32x32 colour images, 100 classes", (3, 32, 32), 100,
                            n_train=50000, n_test=10000, download_mb=161),
    "svhn": DatasetSpec("svhn", "SVHN", "99,289 32x32 house-number digits (train + test)", (3, 32, 32), 10,
                        n_train=73257, n_test=26032, download_mb=235),
}


def spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise LabsError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def npz_path(name: str) -> Path:
    return data_dir() / f"{name}.npz"


def is_available(name: str) -> bool:
    return spec(name).embedded or npz_path(name).exists()


def availability_message(name: str) -> str:
    """For developers (CLI): '' when `name` loads without a download, else the missing file, the folder and the fix."""
    if is_available(name):
        return ""
    return (f"{DATASETS[name].title} is not on this machine: {npz_path(name)} is missing. "
            f"Run `python -m labs data {name}` while online to download it, or point LABS_DATA_DIR at a "
            f"folder holding {name}.npz.")


def download_label(name: str) -> str:
    """'CIFAR-10 (163 MB download)' or just the title when the set cannot be downloaded."""
    s = spec(name)
    return f"{s.title} ({s.download_mb} MB download)" if s.download_mb else s.title


def visitor_message(name: str) -> str:
    """For the web page: '' when available, else one sentence without server paths or developer hints."""
    if is_available(name):
        return ""
    return f"{download_label(name)} is not on this server yet."


class DataMissing(LabsError):
    """A data set is not on this machine. str(): the developer message (CLI); .visitor: the web page's sentence."""

    def __init__(self, name: str):
        super().__init__(availability_message(name) or f"{spec(name).title} is not on this machine.")
        self.name = name
        self.visitor = visitor_message(name) or f"{download_label(name)} is not on this server yet."
