"""The official data files, parsed without torchvision, and the npz cache's checks.

Parsers turn the files labs.core.download fetches into the cache's arrays: CIFAR-10/100's python
pickles (read with a restricted unpickler: numpy arrays, lists and bytes only), MNIST's idx .gz files
and SVHN's .mat files. `verify` checks an npz without loading its images: the zip's directory, each
array's .npy header (dtype, shape, size in the archive) and, against the catalogue, the counts per
split; deep=True also reads every member to check its CRC and the label range.

No torch here: the web page checks files before torch is imported.
"""

from __future__ import annotations

import gzip
import importlib
import io
import os
import pickle
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np

from labs.core.catalog import npz_path, spec

KEYS = ("x_train", "y_train", "x_test", "y_test")

_PICKLE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                   ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                   ("numpy", "ndarray"), ("numpy", "dtype"),
                   ("_codecs", "encode")}  # how Python 3's protocol 2 writes bytes (str -> bytes, no code)


class _NumpyOnly(pickle.Unpickler):
    """CIFAR's pickles hold dicts of numpy arrays, lists and bytes: nothing else may be built."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR file")
        if module == "_codecs":
            return importlib.import_module("_codecs").encode
        if module.endswith("multiarray"):
            try:
                return getattr(importlib.import_module("numpy._core.multiarray"), name)
            except ImportError:  # numpy 1.x
                return getattr(importlib.import_module("numpy.core.multiarray"), name)
        return getattr(np, name)


def _unpickle(data: bytes) -> dict:
    return _NumpyOnly(io.BytesIO(data), encoding="bytes").load()


def parse_cifar(name: str, files: list[Path]) -> dict:
    """cifar-10-python.tar.gz / cifar-100-python.tar.gz -> the cache's arrays (uint8 NHWC, int64 labels)."""
    cifar100 = name == "cifar100"
    folder = "cifar-100-python" if cifar100 else "cifar-10-batches-py"
    train = ["train"] if cifar100 else [f"data_batch_{i}" for i in range(1, 6)]
    test, meta = ("test", "meta") if cifar100 else ("test_batch", "batches.meta")
    label_key, names_key = (b"fine_labels", b"fine_label_names") if cifar100 else (b"labels", b"label_names")
    with tarfile.open(files[0], "r:gz") as tar:
        def read(member: str) -> dict:
            f = tar.extractfile(f"{folder}/{member}")
            if f is None:
                raise ValueError(f"{member} is not a file")
            return _unpickle(f.read())

        def split(members: list[str]):
            parts = [read(m) for m in members]
            x = np.concatenate([np.asarray(p[b"data"], dtype=np.uint8) for p in parts])
            y = np.concatenate([np.asarray(p[label_key], dtype=np.int64) for p in parts])
            return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), y

        x_train, y_train = split(train)
        x_test, y_test = split([test])
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in read(meta)[names_key]]
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, class_names=names)


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """One MNIST idx file (gzip): magic 0x0000 08 <ndim>, big-endian dimensions, then uint8 values."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 + 4 * ndim or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise ValueError(f"not an idx file of {ndim} dimensions")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(dims)):
        raise ValueError(f"idx file holds {values.size} values, its header says {dims}")
    return values.reshape(dims)


def parse_mnist(name: str, files: list[Path]) -> dict:
    """The four idx .gz files (train images, train labels, test images, test labels) -> cache arrays."""
    xtr, ytr, xte, yte = (read_idx(p, n) for p, n in zip(files, (3, 1, 3, 1)))
    return dict(x_train=xtr[..., None], y_train=ytr.astype(np.int64), x_test=xte[..., None],
                y_test=yte.astype(np.int64), class_names=[str(i) for i in range(10)])


def parse_svhn(name: str, files: list[Path]) -> dict:
    """train_32x32.mat, test_32x32.mat (X: 32x32x3xN, y: N x 1 with 10 for the digit 0) -> cache arrays."""
    from scipy.io import loadmat

    out = {}
    for split, path in zip(("train", "test"), files):
        m = loadmat(path)
        y = np.asarray(m["y"], dtype=np.int64).reshape(-1)
        out[f"x_{split}"] = np.ascontiguousarray(np.asarray(m["X"], dtype=np.uint8).transpose(3, 0, 1, 2))
        out[f"y_{split}"] = np.where(y == 10, 0, y)
    return dict(out, class_names=[str(i) for i in range(10)])


PARSERS = {"cifar10": parse_cifar, "cifar100": parse_cifar, "mnist": parse_mnist, "svhn": parse_svhn}


def write_npz(file, x_train, y_train, x_test, y_test, class_names) -> None:
    """The cache format (DESIGN.md): uint8 NHWC images, int64 labels, class names; `file` a path or binary file."""
    np.savez(file, x_train=np.asarray(x_train, dtype=np.uint8), y_train=np.asarray(y_train, dtype=np.int64),
             x_test=np.asarray(x_test, dtype=np.uint8), y_test=np.asarray(y_test, dtype=np.int64),
             class_names=np.array([str(n) for n in class_names]))


def _header(zf: zipfile.ZipFile, key: str):
    info = zf.getinfo(f"{key}.npy")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
        start = f.tell()
    if info.file_size != start + int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{key} holds {info.file_size - start:,} bytes, its header says {tuple(shape)}")
    return tuple(shape), dtype


def verify(name: str, path: Path | None = None, deep: bool = False, counts: bool = True) -> str:
    """'' when `path` (default: the cache file) is a sound npz of `name`, else what is wrong (a short phrase).

    Cheap by default (the zip directory and the .npy headers: a few kB read); counts=True compares the
    images per split with the catalogue; deep=True reads every byte (CRC) and checks the label range."""
    s = spec(name)
    path = Path(path or npz_path(name))
    c, h, w = s.image_shape
    try:
        with zipfile.ZipFile(path) as zf:
            present = set(zf.namelist())
            for key in KEYS:
                if f"{key}.npy" not in present:
                    return f"no {key} array"
            shapes = {}
            for key in KEYS:
                shapes[key], dtype = _header(zf, key)
                if key.startswith("x") and dtype != np.uint8:
                    return f"{key} is {dtype}, not uint8 images"
                if key.startswith("y") and dtype.kind not in "iu":
                    return f"{key} is {dtype}, not integer labels"
            for split in ("train", "test"):
                xs, ys = shapes[f"x_{split}"], shapes[f"y_{split}"]
                if xs[1:] not in ((h, w, c),) + (((h, w),) if c == 1 else ()):
                    return f"{split} images are {xs[1:]}, expected {(h, w, c)}"
                if len(ys) != 1 or ys[0] != xs[0]:
                    return f"{xs[0]:,} {split} images but {ys} labels"
                want = s.n_train if split == "train" else s.n_test
                if counts and want and xs[0] != want:
                    return f"{xs[0]:,} {split} images, expected {want:,}"
            if deep:
                bad = zf.testzip()
                if bad is not None:
                    return f"{bad.removesuffix('.npy')} fails its checksum"
                with np.load(path, allow_pickle=False) as z:
                    for key in ("y_train", "y_test"):
                        y = z[key]
                        if y.size and (y.min() < 0 or y.max() >= s.num_classes):
                            return f"{key} has labels outside 0..{s.num_classes - 1}"
    except FileNotFoundError:
        return "missing"
    except zipfile.BadZipFile:
        return "not a complete npz file (truncated or overwritten)"
    except (ValueError, OSError, EOFError, KeyError, zipfile.LargeZipFile) as err:
        return f"unreadable: {err}"
    return ""


def status(name: str, deep: bool = True) -> str:
    """'ready', 'missing' or 'damaged (what is wrong)': what `python -m labs data` prints per data set."""
    if spec(name).embedded:
        return "ready"
    if not npz_path(name).exists():
        return "missing"
    problem = verify(name, deep=deep)
    return f"damaged ({problem})" if problem else "ready"


_CHECKED: dict[tuple, str] = {}
_CHECK_LOCK = threading.Lock()


def check(name: str) -> str:
    """For the web page: '' when the cache file is structurally sound (cheap checks, no counts), 'missing',
    or what is wrong; the verdict is kept per (path, mtime, size), so a page view never re-reads a file."""
    if spec(name).embedded:
        return ""
    path = npz_path(name)
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _CHECK_LOCK:
        if key in _CHECKED:
            return _CHECKED[key]
    verdict = verify(name, path, counts=False)
    with _CHECK_LOCK:
        _CHECKED[key] = verdict
    return verdict
