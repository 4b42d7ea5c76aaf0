"""The source networks' names as the page is built, read without torch (labs.transfer.source lists them with
full checks when the page loads). The dropdown takes names from its list only: its first list is this one."""

from __future__ import annotations

from pathlib import Path

from labs.core.ckpt_labels import checkpoint_folder, read_meta

REFERENCE_NAME = "resnet77_cifar10"  # listed first (labs.transfer.source.REFERENCE_NAME)


def initial_names(folder: str | Path | None = None) -> list[str]:
    """Names of the checkpoints in `folder` (default: the checkpoint folder) whose JSON says a ResNet trained on
    CIFAR-10; unreadable or odd files are left out (the full listing explains nothing more to a visitor)."""
    folder = checkpoint_folder() if folder is None else folder
    names = []
    for weights in sorted(Path(folder).glob("*.safetensors")) if Path(folder).is_dir() else []:
        meta = read_meta(weights.with_suffix(".json"))
        if isinstance(meta, dict) and meta.get("model") == "resnet" and meta.get("dataset") == "cifar10":
            names.append(weights.stem)
    return sorted(names, key=lambda n: (n != REFERENCE_NAME, n))
