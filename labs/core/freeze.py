"""Freezing submodules by construction (as timm's `freeze(..., include_bn_running_stats=True)`).

Freezing a submodule sets `requires_grad = False` on its parameters AND replaces
every BatchNorm2d inside it by a FrozenBatchNorm2d, which has no training mode:
it always normalises with the running mean/variance it was given. So no order of
`model.train()`, `model.eval()`, `engine.predict` and `engine.fit` calls can move
its statistics: "frozen" means the layer computes exactly what it computed before.
"""

from __future__ import annotations

import torch
from torch import nn

from labs.core.errors import LabsError


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d in permanent eval mode. Same state-dict keys as nn.BatchNorm2d (so checkpoints load
    either way); weight and bias stay Parameters (requires_grad False) so parameter counts do not change."""

    def __init__(self, bn: nn.BatchNorm2d):
        super().__init__()
        self.eps = bn.eps
        self.weight = nn.Parameter(bn.weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(bn.bias.detach().clone(), requires_grad=False)
        self.register_buffer("running_mean", bn.running_mean.detach().clone())
        self.register_buffer("running_var", bn.running_var.detach().clone())
        self.register_buffer("num_batches_tracked", bn.num_batches_tracked.detach().clone())

    def forward(self, x):
        return nn.functional.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                        training=False, momentum=0.0, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


def _replace_bn(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, FrozenBatchNorm2d(child).to(child.weight.device))
        else:
            _replace_bn(child)


@torch.no_grad()
def freeze(model: nn.Module, submodules: tuple[str, ...] | list[str]) -> nn.Module:
    """Freeze the named submodules of `model` in place (weights and BatchNorm statistics); returns model."""
    for name in submodules:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            raise LabsError(f"the model has no submodule {name!r} to freeze (expected one of: "
                            f"{', '.join(n for n, _ in model.named_children())})") from None
        if isinstance(module, nn.BatchNorm2d):
            parent, _, leaf = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, leaf, FrozenBatchNorm2d(module))
            continue
        for p in module.parameters():
            p.requires_grad_(False)
        _replace_bn(module)
    return model
