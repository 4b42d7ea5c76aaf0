"""What labs.ood.scores caches: one Side per set of images, an Experiment per (checkpoint, OOD set, n)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from labs.core.data import to_model_input


@dataclass
class Side:
    """One set of images (ID or OOD) under one checkpoint, and everything computed on it."""

    x: torch.Tensor                 # uint8 (n, H, W, C)
    logits: torch.Tensor | None = None
    forward_seconds: float = 0.0
    signs: OrderedDict = field(default_factory=OrderedDict)   # T -> [int8 NCHW signs, bool done]
    sign_seconds: dict = field(default_factory=dict)          # T -> seconds spent on its signs (kept after eviction)
    scores: dict = field(default_factory=dict)                # (detector, setting) -> [scores, NaN = not yet, seconds]
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def n(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Autoencoder:
    """A loaded autoencoder, the normalisation its inputs need, and a tag that keys its cached scores."""

    model: torch.nn.Module
    normalization: dict          # {"mean": [...], "std": [...]} it was trained with
    tag: str                     # path and modification time: a retrained file is a new entry


@dataclass
class Experiment:
    """ID side + OOD side for one (checkpoint, OOD set, n)."""

    key: tuple
    model: torch.nn.Module
    meta: dict
    sides: tuple[Side, Side]
    mean: tuple
    std: tuple

    @property
    def n_id(self) -> int:
        return self.sides[0].n

    @property
    def n(self) -> int:
        return self.sides[0].n + self.sides[1].n

    @property
    def forward_seconds(self) -> float:
        """One clean forward pass over all images: the unit of the cost column."""
        return self.sides[0].forward_seconds + self.sides[1].forward_seconds

    def inputs(self, side: Side, idx, net: torch.nn.Module | None = None,
               normalization: dict | None = None) -> torch.Tensor:
        """Normalised float NCHW images on `net`'s device (default: the classifier and its normalisation)."""
        device = next((net or self.model).parameters()).device
        mean, std = (normalization["mean"], normalization["std"]) if normalization else (self.mean, self.std)
        x = to_model_input(side.x[idx].to(device), mean, std)
        return x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x  # faster convs on CPU
