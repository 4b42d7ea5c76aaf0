"""Data sets as whole uint8 tensors, normalised and augmented in batched tensor ops.

Layout convention: images are uint8 NHWC on disk and in memory (that is how the
npz cache stores them); `to_model_input` turns a batch into float NCHW,
normalised with the train split's per-channel mean/std (in [0,1] pixel units).

Cache: `<data dir>/<name>.npz` with x_train, y_train, x_test, y_test (uint8 NHWC,
int64 labels) and optional class_names. The data dir is $LABS_DATA_DIR, else
$XDG_CACHE_HOME/labs-data (default ~/.cache/labs-data). A missing npz is built
once from the official files (labs.core.download: torchvision's URLs and md5s, our own
parsers) when asked to download; otherwise a DataMissing error names the file, the
folder and the fix (and carries a one-sentence version for the web page).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from labs.core.catalog import (DATASETS, DataMissing, DatasetSpec, availability_message,  # noqa: F401 (re-exported)
                               data_dir, is_available, npz_path, spec)
from labs.core.datafiles import write_npz
from labs.core.errors import LabsError


@dataclass
class Dataset:
    """A whole data set in memory. x_*: uint8 (N, H, W, C); y_*: int64 (N,)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str]
    mean: tuple[float, ...] = field(default=())  # per channel, [0,1] units, train split
    std: tuple[float, ...] = field(default=())

    def __post_init__(self):
        if not self.mean:
            self.mean, self.std = channel_stats(self.x_train)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one model input."""
        _, h, w, c = self.x_train.shape
        return (c, h, w)

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> "Dataset":
        """The first n_test test images (CIFAR's test prefixes are class balanced) and a
        seeded random n_train train images; mean/std stay those of the full train split."""
        xtr, ytr = self.x_train, self.y_train
        if n_train is not None and n_train < len(ytr):
            g = torch.Generator().manual_seed(seed)
            idx = torch.randperm(len(ytr), generator=g)[:n_train].to(ytr.device)
            xtr, ytr = xtr[idx], ytr[idx]
        xte, yte = self.x_test, self.y_test
        if n_test is not None and n_test < len(yte):
            xte, yte = xte[:n_test], yte[:n_test]
        return Dataset(self.name, xtr, ytr, xte, yte, self.class_names, self.mean, self.std)

    def to(self, device: torch.device | str) -> "Dataset":
        return Dataset(self.name, self.x_train.to(device), self.y_train.to(device), self.x_test.to(device),
                       self.y_test.to(device), self.class_names, self.mean, self.std)


def channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 NHWC images, in [0,1] units (float64 sums)."""
    # A 256-bin histogram per channel gives the exact moments without a float copy of the data.
    flat = x.reshape(-1, x.shape[-1]).cpu()
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(flat.shape[1]):
        counts = torch.bincount(flat[:, c].long(), minlength=256).double()
        n = counts.sum()
        m = (counts * values).sum() / n
        var = (counts * (values - m) ** 2).sum() / (n - 1)
        means.append(float(m)); stds.append(float(var.sqrt()))
    return tuple(means), tuple(stds)


def to_model_input(x: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (N,H,W,C) -> normalised float (N,C,H,W), on x's device."""
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    m = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - m) / s


def augment(x: torch.Tensor, pad: int = 4, flip: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop with zero padding + horizontal flip on a uint8 NHWC batch, all in tensor ops.

    Each image gets its own offset (dy, dx) in [0, 2*pad]: we pad once, then gather
    rows and columns with per-image index grids instead of looping over images.
    """
    n, h, w, c = x.shape
    dev = x.device
    if pad > 0:
        xp = torch.nn.functional.pad(x, (0, 0, pad, pad, pad, pad))  # pads W and H of NHWC
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
        rows = (dy[:, None] + torch.arange(h, device=dev)[None, :])  # (n, h)
        cols = (dx[:, None] + torch.arange(w, device=dev)[None, :])  # (n, w)
        bidx = torch.arange(n, device=dev)[:, None, None]
        x = xp[bidx, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(dev)
        x = torch.where(mask[:, None, None, None], x.flip(2), x)
    return x


_CACHE: dict[str, Dataset] = {}
_LOCK = threading.Lock()


def load_dataset(name: str, device: torch.device | str | None = None, download: bool = False) -> Dataset:
    """The whole data set, cached in-process. download=True fetches a missing npz (labs.core.download)."""
    spec(name)
    key = name if name == "digits" else str(npz_path(name))  # a new LABS_DATA_DIR is a new entry
    with _LOCK:
        if key not in _CACHE:
            if name == "digits":
                _CACHE[key] = _load_digits()
            else:
                path = npz_path(name)
                if not path.exists():
                    if not download:
                        raise DataMissing(name)
                    download_to_npz(name)
                _CACHE[key] = load_npz(path, name)
    ds = _CACHE[key]
    return ds.to(device) if device is not None and str(device) != "cpu" else ds


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def load_npz(path: Path, name: str | None = None) -> Dataset:
    """Read the npz cache format; a corrupt or malformed file raises a LabsError that says how to rebuild it."""
    name = name or Path(path).stem
    fix = f"delete {path} and rebuild it (`python -m labs data {name}` while online)"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
            names = [str(s) for s in z["class_names"]] if "class_names" in z.files else None
    except KeyError as err:
        raise _damaged(name, f"{path} lacks the array {err}; {fix}") from None
    except Exception as err:  # zipfile.BadZipFile, ValueError, OSError, EOFError...
        raise _damaged(name, f"{path} cannot be read ({type(err).__name__}: {err}); {fix}") from None
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    if x_train.ndim == 3:  # (N, H, W) grey -> NHWC
        x_train, x_test = x_train[..., None], x_test[..., None]
    if x_train.dtype != np.uint8 or x_train.ndim != 4 or len(x_train) != len(arrays["y_train"]):
        raise _damaged(name, f"{path} is malformed (expected uint8 NHWC images with one label each); {fix}")
    y_train = torch.from_numpy(arrays["y_train"].astype(np.int64))
    y_test = torch.from_numpy(arrays["y_test"].astype(np.int64))
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    names = names or [str(i) for i in range(n_classes)]
    return Dataset(name, torch.from_numpy(np.ascontiguousarray(x_train)), y_train,
                   torch.from_numpy(np.ascontiguousarray(x_test)), y_test, names)


def _damaged(name: str, message: str) -> LabsError:
    """The developer's message (paths, the fix) with the page's sentence as .visitor (see labs.ui.handler)."""
    err = LabsError(message)
    title = DATASETS[name].title if name in DATASETS else name
    err.visitor = f"{title} on this server is damaged; download it again (the data note above offers it)."
    return err


def save_npz(ds: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    with open(tmp, "wb") as f:
        write_npz(f, ds.x_train.cpu().numpy(), ds.y_train.cpu().numpy(), ds.x_test.cpu().numpy(),
                  ds.y_test.cpu().numpy(), ds.class_names)
    os.replace(tmp, path)


def _load_digits() -> Dataset:
    """scikit-learn's 1,797 8x8 digits (values 0-16 scaled to 0-255); a fixed 1,437 / 360 split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.clip(d.images * (255.0 / 16.0), 0, 255).round().astype(np.uint8)[..., None]
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(y))
    x, y = x[perm], y[perm]
    n = 1437
    return Dataset("digits", torch.from_numpy(x[:n]), torch.from_numpy(y[:n]), torch.from_numpy(x[n:]),
                   torch.from_numpy(y[n:]), [str(i) for i in range(10)])


def download_to_npz(name: str, on_progress=None) -> Path:
    """Download the official files and convert them once to the npz cache (labs.core.download.ensure)."""
    from labs.core.download import ensure

    return ensure(name, on_progress)
