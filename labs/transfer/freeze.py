"""Freeze strategies: which named submodules of a ResNet stop learning when it is fine-tuned.

Convention (read by labs.core.engine.train_mode): freezing a submodule sets
`requires_grad = False` on its parameters AND `labs_frozen = True` on it and every
module inside it, BatchNorm included. `train_mode` keeps `labs_frozen` modules in
eval mode, so a frozen BatchNorm normalises with the running mean/variance it
learnt on CIFAR-10 and never updates them: "frozen" means the layer computes
exactly what it computed before fine-tuning, not just that its weights stand still.

Strategies are data over module names (as timm's `freeze(module, submodules)`);
FREEZE_STRATEGIES maps the seed's names to functions(model) -> model.
"""

from __future__ import annotations

from functools import partial

from torch import nn

from labs.core.errors import LabsError

FROZEN_ATTR = "labs_frozen"

# strategy -> submodules of labs.core.models.ResNet to freeze (`stem` = 3x3 conv + BN + ReLU,
# `stages.0` = the first stage of basic blocks). Trainable parameters of ResNet[7,7]
# widths (16, 32) with a 100-class head, as in the seed's table:
FROZEN_MODULES: dict[str, tuple[str, ...]] = {
    "Freeze input only": ("stem",),               # 162,180
    "No freeze": (),                              # 162,644
    "Freeze all early": ("stem", "stages.0"),     # 129,188
}


def freeze(model: nn.Module, submodules: tuple[str, ...] | list[str]) -> nn.Module:
    """Freeze the named submodules in place (parameters and BatchNorm statistics); returns model."""
    for name in submodules:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            raise LabsError(f"the model has no submodule {name!r} to freeze (a freeze strategy expects a "
                            f"labs ResNet with `stem` and `stages`)") from None
        for p in module.parameters():
            p.requires_grad_(False)
        for m in module.modules():
            setattr(m, FROZEN_ATTR, True)
        module.eval()
    return model


def is_frozen(module: nn.Module) -> bool:
    return bool(getattr(module, FROZEN_ATTR, False))


FREEZE_STRATEGIES = {name: partial(freeze, submodules=mods) for name, mods in FROZEN_MODULES.items()}

STRATEGY_NAMES = list(FREEZE_STRATEGIES)


def apply_strategy(model: nn.Module, name: str) -> nn.Module:
    if name not in FREEZE_STRATEGIES:
        raise LabsError(f"unknown freeze strategy {name!r}; choose from: {', '.join(FREEZE_STRATEGIES)}")
    return FREEZE_STRATEGIES[name](model)
