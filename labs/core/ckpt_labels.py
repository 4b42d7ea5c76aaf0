"""What a checkpoint dropdown shows: each name with what the model is worth, read from its JSON without torch.

"resnet77_cifar10 · 90.6% on CIFAR-10 test · 80 epochs" tells a visitor which of two classifiers is the
reference and which the 2-epoch quick one; the dropdown's value stays the name (the page and the API pick by
name only). A JSON that cannot be read leaves the bare name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from labs.core.catalog import DATASETS

MAX_JSON_BYTES = 16 * 2**20


def checkpoint_folder() -> Path:
    """labs.core.checkpoints.checkpoint_dir(), without importing torch: $LABS_CHECKPOINT_DIR, else checkpoints/."""
    env = os.environ.get("LABS_CHECKPOINT_DIR")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "checkpoints"


def describe(meta: dict) -> str:
    """'90.6% on CIFAR-10 test · 80 epochs' (a classifier) or 'test MSE 0.0123 · 10 epochs' (an autoencoder);
    '' when the metadata says neither."""
    metrics = meta.get("metrics") if isinstance(meta.get("metrics"), dict) else {}
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    spec = DATASETS.get(meta.get("dataset"))
    parts = []
    acc, loss = metrics.get("final_test_acc"), metrics.get("final_test_loss")
    if isinstance(acc, (int, float)) and acc == acc:
        parts.append(f"{acc:.1%} on {spec.title if spec else meta.get('dataset', '?')} test")
    elif isinstance(loss, (int, float)) and loss == loss:
        parts.append(f"test MSE {loss:.4f}")
    epochs = config.get("epochs")
    if parts and isinstance(epochs, int) and epochs > 0:
        parts.append(f"{epochs} epoch{'s' if epochs != 1 else ''}")
    return " · ".join(parts)


def read_meta(info: Path) -> dict | None:
    """A checkpoint's JSON as a dict, without torch; None when it is missing, too large, unreadable or not an
    object (the listings leave such a checkpoint out, the labels show its bare name)."""
    try:
        meta = json.loads(info.read_text()) if info.stat().st_size < MAX_JSON_BYTES else None
    except (OSError, ValueError, RecursionError):
        return None
    return meta if isinstance(meta, dict) else None


def _meta(name: str, folders) -> dict:
    for folder in folders:
        info = Path(folder) / f"{name}.json"
        if info.is_file():
            return read_meta(info) or {}
    return {}


def labelled(names: list[str], folders) -> list[tuple[str, str]]:
    """(label, name) dropdown choices: each name in the first of `folders` that has it (a session's own model
    shadows a committed one of the same name, as the loaders do)."""
    out = []
    for name in names:
        about = describe(_meta(name, folders))
        out.append((f"{name} · {about}" if about else name, name))
    return out
