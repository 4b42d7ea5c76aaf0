"""Where the official data files are (the URLs and md5s torchvision uses) and how downloads are worded.

SOURCES maps a data set to its files; $LABS_DATA_MIRROR, a base URL serving the same file names,
replaces every URL (tests monkeypatch SOURCES or set the mirror). No torch here.
"""

from __future__ import annotations

import errno
import os
import socket
import urllib.error
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    filename: str
    md5: str
    size: int                # bytes (the total shown before the server answers)
    urls: tuple[str, ...]    # tried in order


_MNIST = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_SVHN = "http://ufldl.stanford.edu/housenumbers/"
SOURCES: dict[str, tuple[Source, ...]] = {
    "cifar10": (Source("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170498071,
                       ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)),),
    "cifar100": (Source("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", 169001437,
                        ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",)),),
    "mnist": tuple(Source(f, md5, size, tuple(m + f for m in _MNIST)) for f, md5, size in (
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28881),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1648877),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4542))),
    "svhn": (Source("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373", 182040794, (_SVHN + "train_32x32.mat",)),
             Source("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3", 64275384, (_SVHN + "test_32x32.mat",))),
}


def downloadable(name: str) -> bool:
    return name in SOURCES


def urls(src: Source) -> tuple[str, ...]:
    mirror = os.environ.get("LABS_DATA_MIRROR", "").strip()
    return (mirror.rstrip("/") + "/" + src.filename,) if mirror else src.urls



def size_text(n: float) -> str:
    """Bytes as people read them: '163 MB', '4.2 MB', '31 kB'."""
    mb = n / (1 << 20)
    return f"{mb:,.0f} MB" if mb >= 10 else f"{mb:.1f} MB" if mb >= 1 else f"{n / 1024:,.0f} kB"


def describe(p: dict, title: str) -> str:
    """One line for a progress dict: 'Downloading CIFAR-10: 40 MB of 163 MB (25%)'."""
    if p["state"] == "downloading":
        pct = f" ({p['done'] / p['total']:.0%})" if p["total"] else ""
        return f"Downloading {title}: {size_text(p['done'])} of {size_text(p['total'])}{pct}"
    if p["state"] == "converting":
        return f"Converting {title} to this app's format…"
    if p["state"] == "queued":
        return f"Waiting to download {title}…"
    if p["state"] == "failed":
        return p["message"]
    return f"{title} is ready." if p["state"] == "ready" else f"{title} is not downloaded yet."


class Failure(Exception):
    """A failed download, already worded (the part after 'Could not download X: ')."""


def sentence(title: str, err: BaseException, done: int, total: int) -> str:
    reason = getattr(err, "reason", None)
    if isinstance(err, Failure):
        why = str(err)
    elif isinstance(err, urllib.error.HTTPError):
        why = f"the download server answered HTTP {err.code}"
    elif isinstance(err, (socket.timeout, TimeoutError)) or isinstance(reason, (socket.timeout, TimeoutError)):
        why = "the download server did not answer in time"
    elif isinstance(reason, ConnectionRefusedError):
        why = "the download server refused the connection"
    elif isinstance(err, urllib.error.URLError):
        why = "no internet connection from this server"
    elif isinstance(err, (ConnectionError, EOFError)) or "IncompleteRead" in type(err).__name__:
        why = f"the connection was lost after {size_text(done)} of {size_text(total)}; try again"
    elif isinstance(err, OSError) and err.errno == errno.ENOSPC:
        why = "not enough free disk space on this server"
    elif isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        why = "this server cannot write its data folder"
    elif isinstance(err, OSError):
        why = f"a network or disk error ({type(err).__name__})"
    else:
        why = "the downloaded files are not in the expected format"
    return f"Could not download {title}: {why}."
