"""Tiny source checkpoints for the transfer tests: ResNet[1,1] (widths 16, 32) on 8x8 grey digits."""

from __future__ import annotations

from pathlib import Path

from labs.core.checkpoints import save_checkpoint
from labs.core.data import load_dataset
from labs.core.engine import seed_everything
from labs.core.models import build_model


def tiny_checkpoint(folder: Path, name: str = "resnet11_digits", model: str = "resnet", **args) -> Path:
    """An untrained net saved like `python -m labs train` saves one (random features are enough here)."""
    data = load_dataset("digits")
    margs = {"num_classes": 10, "in_channels": 1, "image_size": 8}
    if model == "resnet":
        margs |= {"depth": [1, 1], "widths": [16, 32]}
    margs |= args
    seed_everything(0)
    net = build_model(model, **margs)
    return save_checkpoint(folder / name, net, model, margs, dataset="cifar10", num_classes=10,
                           normalization={"mean": list(data.mean), "std": list(data.std)},
                           metrics={}, curves=[])
