"""The one throughput model behind every estimated time on the page and in the CLI. No torch here.

Unit: one "block-image" = one ResNet basic block (two 3x3 convs at width 16-32) on one
32x32 image, forward + backward. ResNet[7,7] is 15 of them (14 blocks + stem and head).
Reference figures (bench/train_throughput.py): ResNet[7,7] trains at ~600 img/s on
2 idle CPU cores with native bf16 and ~40,000 img/s on one H200; inference (no
backward, large batches) runs ~3x faster per image than training. Machines differ
(an AVX2-only CPU trains in fp32 at a quarter of that), so every finished run may
`observe` its measured speed: it is kept in <data dir>/speed.json and later
estimates use the median of this machine's last runs. Before the first run, a few
seconds' speed test (labs.core.speedtest, run by app.py once per machine) stands in.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import threading

RESNET77_BLOCKS = 15
TRAIN_IMAGES_PER_S = {"cpu": 600, "cuda": 40_000}   # ResNet[7,7], training
INFER_SPEEDUP = 3.0                                  # inference images/s over training images/s


_LOCK = threading.Lock()
KEEP = 5  # observations kept per kind and device: the estimate is their median


def speed_file():
    """$LABS_SPEED_FILE, else speed.json in the data folder."""
    from pathlib import Path

    from labs.core.catalog import data_dir

    return Path(os.environ["LABS_SPEED_FILE"]) if os.environ.get("LABS_SPEED_FILE") else data_dir() / "speed.json"


def _observations() -> dict[str, list[float]]:
    try:
        data = json.loads(speed_file().read_text())
        return {k: [float(v) for v in vals] for k, vals in data.items() if isinstance(vals, list)}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _key(kind: str, device) -> str:
    return f"{kind}:{'cuda' if str(device).startswith('cuda') else 'cpu'}"


_UNRECORDED = 0  # > 0 inside `unrecorded()`


@contextlib.contextmanager
def unrecorded():
    """Runs inside keep no speed: `python -m labs reproduce`'s hours-long background runs, resumed across
    sessions at a low priority beside other work, measure how busy the machine was, not what a run on the
    page takes (its 10-epoch MLP stage, starved by a test suite, recorded 142 units/s against 2,300-3,700 for
    the same pair run from the page or the CLI on an idle machine)."""
    global _UNRECORDED
    _UNRECORDED += 1
    try:
        yield
    finally:
        _UNRECORDED -= 1


def observe_rate(kind: str, units: float, seconds: float, device: str = "cpu") -> None:
    """Keep the speed (units of work per second) a finished run of `kind` measured on this machine. Labs whose
    work this module's unit does not describe (Lab 1's MLPs: multiply-adds) keep their own kinds here.
    Runs shorter than 2 s say little and are ignored, and so are runs inside `unrecorded()`."""
    if seconds < 2 or units <= 0 or _UNRECORDED:
        return
    key = _key(kind, device)
    with _LOCK:
        obs = _observations()
        obs[key] = (obs.get(key, []) + [units / seconds])[-KEEP:]
        _write(obs)


def _write(obs: dict[str, list[float]]) -> None:
    path = speed_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(obs))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs calibration


def measured_rate(kind: str, device: str = "cpu") -> float | None:
    """The median of this machine's last KEEP speeds of `kind`, or None before the first."""
    vals = _observations().get(_key(kind, device))
    return statistics.median(vals) if vals else None


BLOCKS = "resnet-block-images"  # this module's own kind: one ResNet basic block on one 32x32 image


def observe(blocks: float, images: float, seconds: float, device: str = "cpu") -> None:
    """Keep the speed of a finished training run of a `blocks`-block ResNet/PlainCNN on 32x32 images."""
    if blocks > 0 and images > 0:
        observe_rate(BLOCKS, blocks * images, seconds, device)


PROBE = "resnet-block-images-probe"  # a few seconds' speed test of the same unit (labs.core.speedtest)


def observe_probe(rate: float, device: str = "cpu") -> None:
    """Keep a speed test's block-images per second (one value: a new test replaces the last)."""
    if rate > 0:
        key = _key(PROBE, device)
        with _LOCK:
            obs = _observations()
            obs[key] = [float(rate)]
            _write(obs)


def calibrated(device: str = "cpu") -> bool:
    """Whether estimates on `device` come from this machine's own measured runs."""
    return measured_rate(BLOCKS, device) is not None


def basis(device: str = "cpu") -> str:
    """Where `device`'s speed comes from: "measured" (finished runs here), "speed test" (labs.core.speedtest on
    this machine) or "reference" (eta's reference figure)."""
    if calibrated(device):
        return "measured"
    return "speed test" if measured_rate(PROBE, device) is not None else "reference"


BASIS_TEXT = {"measured": "measured on this machine",
              "speed test": "from a speed test on this machine",
              "reference": "reference speed, not calibrated yet"}


def basis_text(device: str = "cpu") -> str:
    """The one wording of where an estimate's speed comes from (every tab and CLI)."""
    return BASIS_TEXT[basis(device)]


def block_rate(device: str = "cpu") -> float:
    """Block-images per second in training: the median this machine measured, else its speed test, else the
    reference figure."""
    return measured_rate(BLOCKS, device) or measured_rate(PROBE, device) \
        or TRAIN_IMAGES_PER_S["cuda" if str(device).startswith("cuda") else "cpu"] * RESNET77_BLOCKS


def train_seconds(blocks: float, images: float, device: str = "cpu") -> float:
    """Seconds to train `images` image-steps through a network of `blocks` block-equivalents."""
    return blocks * images / block_rate(device)


def infer_seconds(blocks: float, images: float, device: str = "cpu") -> float:
    """Seconds to run `images` forward passes (evaluation, feature extraction)."""
    return blocks * images / (block_rate(device) * INFER_SPEEDUP)


def resnet_blocks(depth) -> int:
    """Block-equivalents of a ResNet/PlainCNN with `depth` blocks per stage (stem + head count as one)."""
    return sum(depth) + 1


def format_seconds(seconds: float) -> str:
    """'40 s', '12 min', '1.6 h' (anything under a second is '1 s': an estimate never says '0 s')."""
    if seconds > 5400:
        return f"{seconds / 3600:.1f} h"
    if seconds > 90:
        return f"{seconds / 60:.0f} min"
    return f"{max(seconds, 1):.0f} s"


def count(n: int, noun: str) -> str:
    """'1 epoch', '3 epochs', '10,000 images'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def seconds_left(seconds: float, step: int, total: int) -> float:
    """Seconds left of a run that took `seconds` for `step` of its `total` steps, at the pace so far (nan before
    the first step). fit's "step" records carry all three."""
    return seconds / step * max(total - step, 0) if step > 0 else float("nan")


def recent_seconds_left(points: list[tuple[float, float]], total: float, window: int = 5) -> float:
    """Seconds left of a long run from its (progress, seconds) points, e.g. (epoch, seconds) of its evaluations:
    at the pace of its last `window` points, not of its whole life (a run resumed across sessions went as fast
    as each machine was idle or busy then); the pace so far while it has fewer than two points."""
    if not points:
        return float("nan")
    recent = points[-window:]
    (p0, s0), (p1, s1) = recent[0], recent[-1]
    if p1 > p0:
        return (s1 - s0) / (p1 - p0) * max(total - p1, 0)
    return seconds_left(s1, p1, total)


def format_left(seconds: float | None) -> str:
    """The one wording of time left in every running status: 'about 12 s left', 'less than 1 s left', or
    'time left: measuring…' while no speed is known yet."""
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")):
        return "time left: measuring…"
    return "less than 1 s left" if seconds < 1 else f"about {format_seconds(seconds)} left"
