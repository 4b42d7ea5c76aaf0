"""Where and how a run computes: the devices this machine has, torch's CPU threads, the seed."""

from __future__ import annotations

import os

import torch

from labs.core.errors import LabsError


def available_devices() -> list[str]:
    """The devices this machine can train on: "cpu", and "cuda" (+ "cuda:N") when a CUDA GPU is usable."""
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return ["cpu"] + (["cuda"] + [f"cuda:{i}" for i in range(n)] if n else [])


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """torch.device for "cpu", "cuda" or "cuda:N" (None, "" or "auto": cuda when present, else cpu); a device
    this machine does not have is a LabsError naming the ones it has."""
    if isinstance(device, str):
        device = device.strip().lower()
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    have = available_devices()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise LabsError(f"invalid device: expected one of {', '.join(have)}, got {str(device)[:40]!r}")
    if dev.type == "cuda" and (str(dev) not in have and not (dev.index is None and "cuda" in have)):
        why = "no CUDA GPU is usable on this machine" if len(have) == 1 else f"this machine has {len(have) - 2} GPU(s)"
        raise LabsError(f"invalid device: expected one of {', '.join(have)} ({why}), got {str(device)[:40]!r}")
    return dev


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def set_threads(threads: int = 0) -> None:
    """torch's CPU threads: `threads`, 0 = all cores; checked against TrainConfig's range (a LabsError)."""
    from labs.core import params
    from labs.core.train_config import TrainConfig

    threads = params.check_value("threads", TrainConfig.CONSTRAINTS["threads"], threads)
    torch.set_num_threads(threads or os.cpu_count() or 1)
