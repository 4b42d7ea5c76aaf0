"""How far a model's first load has got, as one status line everyone waiting for it can read.

huggingface_hub reports a download through the `tqdm_class` that transformers'
`from_pretrained(..., tqdm_class=...)` hands down to `hf_hub_download`: one bar per
file, created with its `total` size and advanced by `update(bytes)` (Xet downloads
use the same bar when the class has `update_transfer`). `LoadProgress.bar_class()`
is such a class that feeds the shared counters instead of drawing on a terminal.
"""

from __future__ import annotations

import threading

# hub id -> (name shown to users, download size in bytes): what a first use fetches
KNOWN_MODELS = {
    "Salesforce/blip-image-captioning-base": ("BLIP captioning model", 990_000_000),
    "roneneldan/TinyStories-33M": ("TinyStories-33M story model", None),  # size: read from the hub as it comes
}


def known(label: str, model_id: str) -> tuple[str, int | None]:
    """(name shown to users, download size or None) of a model: KNOWN_MODELS', else '<label> <id>'."""
    return KNOWN_MODELS.get(model_id, (f"{label} {model_id}", None))


def megabytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


class LoadProgress:
    """Counters of one model load (thread-safe); `line()` words them."""

    def __init__(self, label: str, model_id: str):
        self.name, self.size = known(label, model_id)
        self.label = label
        self.downloading = False      # set once the cache had no copy and the network is being asked
        self.done = self.total = 0    # bytes fetched, bytes announced by the bars so far
        self._lock = threading.Lock()

    def add_total(self, n: float | None) -> None:
        with self._lock:
            self.total += int(n or 0)

    def advance(self, n: float | None) -> None:
        with self._lock:
            self.done += int(n or 0)

    def line(self) -> str:
        with self._lock:
            done, total = self.done, self.total
        size = self.size or total
        if not (self.downloading or done):
            return f"loading the {self.label}…"
        what = f"downloading {self.name}" + (f" ({megabytes(size)})" if size else "")
        if not done:
            return f"{what}…"
        if size:
            return f"{what}: {min(99, 100 * done // max(size, total))}%"
        return f"{what}: {megabytes(done)} so far"

    def bar_class(self) -> type:
        """A tqdm stand-in for from_pretrained(tqdm_class=...): each instance is one file's bar."""
        progress = self

        class Bar:
            def __init__(self, *args, total=None, initial=0, desc="", unit="it", **kwargs):
                # Byte bars only, and not the network-side "Downloading bytes" twin of a Xet/snapshot bar
                # (its bytes are the file bytes again); snapshot_download's count of files is in "it".
                self.counted = unit == "B" and "downloading bytes" not in str(desc).lower()
                self.n, self._total = 0, 0
                self.total = total
                self.update(initial)

            @property
            def total(self):
                return self._total

            @total.setter
            def total(self, value):  # snapshot_download grows its bar's total as each file starts
                if self.counted:
                    progress.add_total((value or 0) - (self._total or 0))
                self._total = value

            def update(self, n=1):
                self.n += n or 0
                if self.counted:
                    progress.advance(n)

            def update_transfer(self, n=1):  # network bytes of a Xet download: update() counts the file's bytes
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def __getattr__(self, name):  # close, refresh, set_description, reset, ...: nothing to draw
                return lambda *args, **kwargs: None

        return Bar
