"""Inference with the engine's conventions: batched, autocast where it pays, uint8 NHWC in, float32 out.

`fit` evaluates through these, and the labs call `predict` for logits and features,
so training and evaluation normalise and cast exactly alike.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from labs.core.data import to_model_input
from labs.core.hardware import cpu_has_bf16


def autocast_for(model: nn.Module, device: torch.device, amp: str = "auto"):
    """The autocast context training and evaluation use."""
    if amp == "off":
        return nullcontext()
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    if device.type == "cuda" or amp == "bf16" or (has_conv and cpu_has_bf16()):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, mean, std, batch_size: int = 1024,
            device: torch.device | None = None, amp: str = "auto", features: bool = False,
            flip: bool = False) -> torch.Tensor:
    """Logits (or model.features) for uint8 NHWC images, in batches; float32 on the CPU.
    flip=True averages the outputs of each image and its mirror image (test-time augmentation)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    with autocast_for(model, device, amp):
        for i in range(0, len(x), batch_size):
            xb = to_model_input(x[i:i + batch_size].to(device, non_blocking=True), mean, std)
            if xb.ndim == 4 and device.type == "cuda":
                xb = xb.contiguous(memory_format=torch.channels_last)
            fn = model.features if features else model
            yb = fn(xb).float()
            if flip:
                yb = 0.5 * (yb + fn(xb.flip(3)).float())  # NCHW: dim 3 is the width, a left-right mirror
            out.append(yb.cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mean, std, batch_size: int = 1024,
             amp: str = "auto", objective: str = "classification", flip: bool = False) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on uint8 NHWC images; for "reconstruction" (mean squared error
    to the normalised input, nan)."""
    if objective == "reconstruction":
        device = next(model.parameters()).device
        total = 0.0
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                xb = to_model_input(x[i:i + batch_size].to(device), mean, std)
                total += float((model(xb).float() - xb).pow(2).mean(dim=(1, 2, 3)).sum())
        return total / max(len(x), 1), float("nan")
    logits = predict(model, x, mean, std, batch_size, amp=amp, flip=flip)
    y = y.cpu()
    return float(nn.functional.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())
