"""Resumable training: inside `with resume.into(folder):` every `engine.fit` keeps its state per epoch.

Long reproductions run for hours on a CPU and no process may outlive a working
session, so a run must pick up where the last one stopped. The labs' generators
(run_sweep, run_finetune, ...) need no change for that: `fit` asks `resume.active()`
for a folder and, when there is one, keys a state file on what makes the run this
run (config, data set and sizes, model shapes and initial weights, device type):

- after every finished epoch it writes the whole training state (weights, optimiser,
  schedule, EMA, the shuffling generator, history, elapsed seconds), atomically, and
  inside an epoch every MID_EPOCH_SECONDS too (then also the epoch's order, the step
  reached in it and its loss so far), so a killed process loses minutes, not an epoch;
- a rerun of the same run restores it and continues where it stopped, drawing the
  same shuffles and augmentations it would have drawn (bit-identical weights and test
  curves on the same machine and threads);
- a finished run keeps its final state and `end` record, so a rerun replays it at once.

State files are torch.save dicts of tensors and plain values, read back with
weights_only=True (no pickled code runs).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

_FOLDER: contextvars.ContextVar[Path | None] = contextvars.ContextVar("labs_resume_folder", default=None)
_IGNORED = ("threads", "log_every")  # settings that do not change what a run computes
MID_EPOCH_SECONDS = 120.0  # a state inside an epoch at most this often (a 50,000-image CPU epoch takes minutes)


@contextlib.contextmanager
def into(folder: str | Path):
    """Make every fit inside the block resumable, with its state under `folder`."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    token = _FOLDER.set(path)
    try:
        yield path
    finally:
        _FOLDER.reset(token)


def active() -> Path | None:
    return _FOLDER.get()


def run_key(model: nn.Module, data, config, device: torch.device) -> str:
    """A name for this run: the same model, initial weights, data and settings give the same key. Only
    settings that differ from TrainConfig's defaults count, so a new setting (with a default that keeps
    today's behaviour) does not orphan the states of runs in progress."""
    default = type(config)()
    changed = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
               if f.name not in _IGNORED and getattr(config, f.name) != getattr(default, f.name)}
    with torch.no_grad():
        shapes = [(n, list(p.shape), round(float(p.double().sum()), 6)) for n, p in model.state_dict().items()
                  if p.is_floating_point()]
    ident = {"config": changed, "model": type(model).__name__,
             "weights": shapes, "data": [data.name, len(data.y_train), len(data.y_test), list(data.mean)],
             "device": device.type}
    frozen = _frozen(model)
    if frozen:  # fine-tuning the same weights with some frozen is another run (absent when none: older keys hold)
        ident["frozen"] = frozen
    return hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _frozen(model: nn.Module) -> list[str]:
    """The weights that will not learn: parameters with requires_grad=False, and weights and biases that are
    buffers (a FrozenBatchNorm2d's, labs.core.freeze)."""
    params = dict(model.named_parameters())
    return [n for n in model.state_dict() if (n in params and not params[n].requires_grad)
            or (n not in params and n.rsplit(".", 1)[-1] in ("weight", "bias"))]


def state_path(key: str) -> Path | None:
    folder = active()
    return folder / f"fit-{key}.pt" if folder is not None else None


def snapshot(parts: dict, **values) -> dict:
    """A training state: each part's state_dict (a part that is None: {}) and the plain values."""
    return {**{k: p.state_dict() if p is not None else {} for k, p in parts.items()}, **values}


def restore(saved: dict, parts: dict) -> None:
    """Load each part (model, optimiser, ...) from a `snapshot`; parts that are None are skipped."""
    for k, p in parts.items():
        if p is not None:
            p.load_state_dict(saved[k])


def save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: Path, mmap: bool = False) -> dict | None:
    """The saved state, or None when there is none or it cannot be read (then the run starts over).
    mmap: tensors stay on disk until read (for code that reads a few numbers, e.g. `reproduce --status`)."""
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception:  # a damaged or foreign file: train from the start and overwrite it
        return None
