"""A few seconds' speed test of this machine, so that estimates are right before any run has finished here.

Estimated times (labs.core.eta) come from this machine's finished runs once there is one; before that, from a
reference figure that can be 4x off (an AVX2-only CPU trains in fp32 at about a quarter of the speed of a CPU
with native bf16). `ensure()` closes that gap once per machine: it trains ResNet[7,7] with the real engine
(labs.core.engine.fit: the same batching, channels_last and autocast choice as every run) for a few steps on
random CIFAR-sized images, and keeps the median step's block-images per second in eta's file (kind eta.PROBE).
A finished run's own measurement replaces it (eta prefers those). `python app.py` calls it once the page is
served; LABS_SPEED_PROBE=0 turns it off (the tests do).
"""

from __future__ import annotations

import os
import statistics
import time

from labs.core import eta

ENV = "LABS_SPEED_PROBE"
WARMUP, STEPS = 2, 6  # about 5 s on 2 AVX2 cores, well under a second on a GPU
BATCH = {"cpu": 64, "cuda": 512}  # a GPU is launch-bound at small batches: its runs use 512


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def probe(device: str = "cpu", steps: int = STEPS, warmup: int = WARMUP, batch_size: int | None = None,
          depth: tuple[int, int] = (7, 7)) -> float:
    """Block-images per second that a ResNet with `depth` blocks per stage trains at on `device`, measured now
    over `steps` engine steps after `warmup` (eta's unit: ResNet[7,7] is eta.resnet_blocks((7, 7)) blocks)."""
    import torch

    from labs.core.data import Dataset
    from labs.core.engine import fit
    from labs.core.models import build_model
    from labs.core.train_config import TrainConfig

    batch_size = batch_size or BATCH["cuda" if str(device).startswith("cuda") else "cpu"]
    g = torch.Generator().manual_seed(0)
    n = batch_size * (warmup + steps)
    x = torch.randint(0, 256, (n, 32, 32, 3), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    data = Dataset("speed-test", x, y, x[:batch_size], y[:batch_size], [str(i) for i in range(10)])
    cfg = TrainConfig(epochs=1, batch_size=batch_size, lr=0.05, augment=True, grad_norms=False, log_every=1,
                      max_steps=warmup + steps, schedule="constant", threads=torch.get_num_threads())
    at = {}
    for rec in fit(build_model("resnet", depth=depth), data, cfg, device=device):
        if rec["kind"] == "step":
            at[rec["step"]] = rec["seconds"]  # fit's own clock, synchronised with the device every step
    # the median step: one step slowed by another process does not set the estimate of every later run
    step_seconds = statistics.median(at[i + 1] - at[i] for i in range(warmup, warmup + steps))
    return eta.resnet_blocks(depth) * batch_size / max(step_seconds, 1e-9)


def ensure(devices: tuple[str, ...] | None = None) -> dict[str, float]:
    """Probe each device (default: the CPU, and CUDA when present) that has neither a finished run's speed nor an
    earlier probe in eta's file; returns {device: block-images/s} of the probes run now. Never raises: a failed
    probe leaves the reference figure in place."""
    if not enabled():
        return {}
    if devices is None:
        from labs.core.devices import available_devices

        devices = tuple(d for d in available_devices() if d in ("cpu", "cuda"))
    done = {}
    for device in devices:
        if eta.basis(device) != "reference":
            continue
        try:
            t0 = time.perf_counter()
            rate = probe(device)
            eta.observe_probe(rate, device)
            done[device] = rate
            print(f"speed test ({device}): ResNet[7,7] trains at {rate / eta.RESNET77_BLOCKS:,.0f} images/s here "
                  f"(measured in {time.perf_counter() - t0:.1f} s; estimates use it until a run finishes)", flush=True)
        except Exception as err:  # noqa: BLE001 - the estimate keeps its reference figure, the app keeps running
            print(f"speed test ({device}) failed, estimates keep the reference speed: {type(err).__name__}: {err}",
                  flush=True)
    return done
