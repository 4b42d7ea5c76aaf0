"""The classifier checkpoints' names as the page is built, read without torch (labs.ood.experiment lists them
with full checks when the page loads or the tab opens, a visitor's own models first). The dropdown takes names
from its list only: its first list is this one."""

from __future__ import annotations

from pathlib import Path

from labs.core.ckpt_labels import checkpoint_folder, read_meta

CLASSIFIER_MODELS = ("mlp", "residual_mlp", "plain_cnn", "resnet")  # labs.core.models.CLASSIFIERS, without torch


folder = checkpoint_folder  # labs.core.checkpoints.checkpoint_dir(), without importing torch


def initial_names(where: str | Path | None = None) -> list[str]:
    """Names of the classifiers in `where` (default: the checkpoint folder) whose JSON names a classifier model,
    in file order as labs.ood.experiment.checkpoint_choices lists them; unreadable or odd files are left out."""
    where = Path(where) if where else folder()
    names = []
    for weights in sorted(where.glob("*.safetensors")) if where.is_dir() else []:
        meta = read_meta(weights.with_suffix(".json"))
        if isinstance(meta, dict) and meta.get("model") in CLASSIFIER_MODELS:
            names.append(weights.stem)
    return names


def initial_default(names: list[str]) -> str | None:
    """As labs.ood.experiment.default_checkpoint: the first resnet77*, else the first name."""
    return next((n for n in names if n.startswith("resnet77")), names[0] if names else None)
