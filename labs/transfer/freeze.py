"""Freeze strategies: which named submodules of a ResNet stop learning when it is fine-tuned.

Strategies are data over module names (as timm's `freeze(module, submodules)`);
labs.core.freeze does the freezing by construction: parameters get
requires_grad=False and every BatchNorm inside is replaced by a FrozenBatchNorm2d,
so a frozen layer computes exactly what it computed on CIFAR-10, in any call order.
No torch at import: the config and the tab read the strategy names before torch is loaded.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from labs.core.errors import LabsError

if TYPE_CHECKING:
    from torch import nn

# strategy -> submodules of labs.core.models.ResNet to freeze (`stem` = 3x3 conv + BN + ReLU,
# `stages.0` = the first stage of basic blocks). Trainable parameters of ResNet[7,7]
# widths (16, 32) with a 100-class head, as in the seed's table:
FROZEN_MODULES: dict[str, tuple[str, ...]] = {
    "Freeze input only": ("stem",),               # 162,180
    "No freeze": (),                              # 162,644
    "Freeze all early": ("stem", "stages.0"),     # 129,188
}


def _freeze(model: nn.Module, submodules: tuple[str, ...]) -> nn.Module:
    from labs.core.freeze import freeze  # torch: imported when a model is frozen

    return freeze(model, submodules)


FREEZE_STRATEGIES = {name: partial(_freeze, submodules=mods) for name, mods in FROZEN_MODULES.items()}


def apply_strategy(model: nn.Module, name: str) -> nn.Module:
    if name not in FREEZE_STRATEGIES:
        raise LabsError(f"unknown freeze strategy {name!r}; choose from: {', '.join(FREEZE_STRATEGIES)}")
    return FREEZE_STRATEGIES[name](model)
