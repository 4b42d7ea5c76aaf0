"""The out-of-distribution image sets, as uint8 NHWC tensors shaped like the in-distribution images.

Every set is defined in PIXEL space, before normalisation, and quantised to uint8
exactly like a real image (v in [0, 1] -> round(255 v)); the classifier's
normalisation is applied afterwards, the same way as to CIFAR-10.

- gaussian: each value of every pixel i.i.d. N(mean 0.5, std 1.0), clipped to [0, 1]
  (the ODIN paper's definition; about 31% of values clip to 0 and 31% to 1).
- uniform:  each value of every pixel i.i.d. U[0, 1] (the ODIN paper's definition).
  Both are drawn from torch.Generator seeded with 0 (gaussian) / 1 (uniform): the
  same n gives the same images every time, so cached scores stay valid.
- cifar100: CIFAR-100 test images (near OOD: same camera statistics, other classes).
- mnist:    MNIST test digits zero-padded 28 -> 32 and repeated to 3 channels (far OOD).
- svhn:     SVHN test house numbers (torchvision's download; not offline).
- coco:     ood_coco32.npz in the data dir: 101 COCO photos resized to 32x32, then
            1,010 random 32x32 crops of them (ODIN's "resize" and "crop" construction).
A set is taken as its first n images.

No torch at import: the tab lists the sets when the page is built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labs.core.catalog import data_dir, is_available, visitor_message
from labs.core.errors import LabsError

if TYPE_CHECKING:
    import torch

COCO_FILE = "ood_coco32.npz"
NOISE_SIZE = 10000  # the noise sets are as large as the CIFAR test set (as in the ODIN paper)


def _noise(kind: str, n: int, shape: tuple[int, int, int]) -> torch.Tensor:
    import torch

    c, h, w = shape
    g = torch.Generator().manual_seed(0 if kind == "gaussian" else 1)
    if kind == "gaussian":
        v = (0.5 + torch.randn((n, h, w, c), generator=g)).clamp_(0.0, 1.0)
    else:
        v = torch.rand((n, h, w, c), generator=g)
    return (v * 255.0).round_().to(torch.uint8)


def _check_rgb32(name: str, shape) -> None:
    if tuple(shape) != (3, 32, 32):
        raise LabsError(f"the {name} OOD set is 32x32 RGB; the classifier takes {tuple(shape)} inputs "
                        f"(use gaussian or uniform noise, which match any shape)")


def _cifar100(n, shape, download):
    from labs.core.data import load_dataset

    _check_rgb32("cifar100", shape)
    return load_dataset("cifar100", download=download).x_test[:n]


def _svhn(n, shape, download):
    from labs.core.data import load_dataset

    _check_rgb32("svhn", shape)
    return load_dataset("svhn", download=download).x_test[:n]


def _mnist(n, shape, download):
    import torch

    from labs.core.data import load_dataset

    _check_rgb32("mnist", shape)
    x = load_dataset("mnist", download=download).x_test[:n]  # (n, 28, 28, 1)
    x = torch.nn.functional.pad(x, (0, 0, 2, 2, 2, 2))       # zero borders: 28 -> 32 in H and W
    return x.repeat(1, 1, 1, 3)


_COCO: dict[str, torch.Tensor] = {}  # path -> images: a new LABS_DATA_DIR is a new entry
_COCO_LOCK = threading.Lock()


def _coco(n, shape, download):
    import numpy as np
    import torch

    _check_rgb32("coco", shape)
    path = data_dir() / COCO_FILE
    with _COCO_LOCK:
        if str(path) not in _COCO:
            if not path.exists():
                err = LabsError(coco_message())
                err.visitor = "The COCO-32 OOD set is not on this server; choose another OOD set."  # the page's words
                raise err
            try:
                with np.load(path, allow_pickle=False) as z:
                    x = np.concatenate([z["x_test"], z["x_test_crop"]])
            except Exception as err:  # corrupt zip, missing array
                raise LabsError(f"{path} cannot be read ({type(err).__name__}: {err}); "
                                f"re-run ../shared/data/unpack.py") from None
            _COCO[str(path)] = torch.from_numpy(np.ascontiguousarray(x, dtype=np.uint8))
        return _COCO[str(path)][:n]


def coco_message() -> str:
    path = data_dir() / COCO_FILE
    return "" if path.exists() else (f"the COCO-32 OOD set is not on this machine: {path} is missing "
                                     f"(developers: export LABS_DATA_DIR=$(python ../shared/data/unpack.py))")


@dataclass(frozen=True)
class OODSet:
    title: str
    definition: str                                   # shown in the tab's notes
    size: Callable[[], int]                           # images available
    load: Callable[[int, tuple, bool], torch.Tensor]  # (n, (C,H,W), download) -> uint8 (n, H, W, C)
    missing: Callable[[], str]                        # '' when loadable offline, else what is missing + fix


def _real(name: str, test_size: int) -> dict:
    return dict(size=lambda: test_size, missing=lambda: visitor_message(name) if not is_available(name) else "")


OOD_SETS: dict[str, OODSet] = {
    "gaussian": OODSet("Gaussian noise", "every value i.i.d. N(0.5, 1) in [0,1] pixel units, clipped to [0, 1], "
                       "then round(255 v)", lambda: NOISE_SIZE, lambda n, s, d: _noise("gaussian", n, s), lambda: ""),
    "uniform": OODSet("Uniform noise", "every value i.i.d. U[0, 1] in pixel units, then round(255 v)",
                      lambda: NOISE_SIZE, lambda n, s, d: _noise("uniform", n, s), lambda: ""),
    "cifar100": OODSet("CIFAR-100 test (near OOD)", "CIFAR-100 test images (100 other classes, same source)",
                       load=_cifar100, **_real("cifar100", 10000)),
    "mnist": OODSet("MNIST test, padded to 32x32 RGB (far OOD)", "MNIST test digits zero-padded 2 px per side "
                    "and repeated to 3 channels", load=_mnist, **_real("mnist", 10000)),
    "svhn": OODSet("SVHN test (far OOD)", "SVHN test house numbers (torchvision download, online only)",
                   load=_svhn, **_real("svhn", 26032)),
    "coco": OODSet("COCO-32 photos + crops", "101 COCO photos resized to 32x32, then 1,010 random 32x32 crops",
                   lambda: 1111, _coco, coco_message),
}


def get_ood_set(name: str) -> OODSet:
    if name not in OOD_SETS:
        raise LabsError(f"unknown OOD set {name!r}; choose one of: {', '.join(OOD_SETS)}")
    return OOD_SETS[name]


def load_ood(name: str, n: int, shape: tuple[int, int, int], download: bool = False) -> torch.Tensor:
    """The first n images of OOD set `name`, uint8 (n, H, W, C); LabsError for a bad n or a missing set."""
    spec = get_ood_set(name)
    if not isinstance(n, int) or n < 1:
        raise LabsError(f"the number of OOD images must be a positive whole number, got {n!r}")
    if n > spec.size():
        raise LabsError(f"{spec.title} has {spec.size():,} images; ask for at most {spec.size():,} per side")
    x = spec.load(n, tuple(shape), download)
    if len(x) == 0:
        raise LabsError(f"the OOD set {spec.title} is empty; pick another one")
    if len(x) < n:
        raise LabsError(f"{spec.title} has only {len(x):,} images; ask for at most {len(x):,} per side")
    return x
