"""The one throughput model behind every estimated time on the page and in the CLI. No torch here.

Unit: one "block-image" = one ResNet basic block (two 3x3 convs at width 16-32) on one
32x32 image, forward + backward. ResNet[7,7] is 15 of them (14 blocks + stem and head).
Measured with bench/train_throughput.py: ResNet[7,7] trains at ~600 img/s on
2 idle CPU cores with bf16 autocast and ~40,000 img/s on one H200; inference (no
backward, large batches) runs ~3x faster per image than training.
"""

from __future__ import annotations

RESNET77_BLOCKS = 15
TRAIN_IMAGES_PER_S = {"cpu": 600, "cuda": 40_000}   # ResNet[7,7], training
INFER_SPEEDUP = 3.0                                  # inference images/s over training images/s


def block_rate(device: str = "cpu") -> float:
    """Block-images per second in training."""
    return TRAIN_IMAGES_PER_S["cuda" if device == "cuda" else "cpu"] * RESNET77_BLOCKS


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
    """'40 s', '12 min', '1.6 h'."""
    if seconds > 5400:
        return f"{seconds / 3600:.1f} h"
    if seconds > 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
