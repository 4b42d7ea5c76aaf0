"""Freeze strategies: exact trainable counts, and one real optimiser step leaves frozen layers bit-identical."""

from __future__ import annotations

import pytest
import torch

from labs.core.data import Dataset
from labs.core.engine import TrainConfig, fit, run_to_end, seed_everything
from labs.core.errors import LabsError
from labs.core.models import MLP, ResNet, count_parameters
from labs.core.freeze import FrozenBatchNorm2d
from labs.transfer.freeze import FREEZE_STRATEGIES, FROZEN_MODULES, apply_strategy

# The seed's table: ResNet[7,7], widths (16, 32), 100-class head.
SEED_TRAINABLE = {"Freeze input only": 162_180, "No freeze": 162_644, "Freeze all early": 129_188}


def test_registry_matches_the_seed():
    assert set(FREEZE_STRATEGIES) == set(SEED_TRAINABLE)


@pytest.mark.parametrize("name", list(FREEZE_STRATEGIES))
def test_trainable_parameter_counts(name):
    model = ResNet(depth=(7, 7), widths=(16, 32), num_classes=10)
    model.replace_head(100)
    apply_strategy(model, name)
    assert count_parameters(model) == 162_644
    assert count_parameters(model, trainable_only=True) == SEED_TRAINABLE[name]


def _tiny_data(n=64, classes=5):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 8, 8, 3), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % classes
    return Dataset("tiny", x, y, x[:16], y[:16], [str(i) for i in range(classes)])


def _frozen_names(model, name):
    prefixes = tuple(m + "." for m in FROZEN_MODULES[name])
    return {k for k in model.state_dict() if k.startswith(prefixes)}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(FREEZE_STRATEGIES))
def test_one_step_changes_only_unfrozen_weights_and_bn_stats(name, optimizer):
    seed_everything(0)
    model = ResNet(depth=(2, 1), widths=(16, 32), num_classes=10, image_size=8)
    model.replace_head(5)
    apply_strategy(model, name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frozen = _frozen_names(model, name)
    assert len(frozen) == sum(1 for k in before if k.startswith(tuple(m + "." for m in FROZEN_MODULES[name])))
    cfg = TrainConfig(epochs=1, batch_size=32, lr=0.1, optimizer=optimizer, max_steps=1, grad_norms=False, amp="off")
    end = run_to_end(fit(model, _tiny_data(), cfg, device="cpu"))
    assert end["steps"] == 1
    after = model.state_dict()
    for k, v in before.items():
        if k in frozen:  # weights, BN affine, running_mean/var and num_batches_tracked
            assert torch.equal(after[k], v), f"{k} moved although {name} froze it"
        elif k.endswith(("weight", "bias", "running_mean", "running_var")):
            assert not torch.equal(after[k], v), f"{k} did not move under {name}"
    bn_counts = [k for k in frozen if k.endswith("num_batches_tracked")]
    assert all(int(after[k]) == 0 for k in bn_counts)
    assert int(after["head.weight"].ne(before["head.weight"]).sum()) > 0


def test_every_batchnorm_inside_a_frozen_block_is_replaced():
    model = ResNet(depth=(1, 1), widths=(16, 32))
    apply_strategy(model, "Freeze all early")
    frozen = {n for n, m in model.named_modules() if isinstance(m, FrozenBatchNorm2d)}
    assert {"stem.1", "stages.0.0.bn1", "stages.0.0.bn2", "stages.0.0.shortcut.1"} == frozen
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for n, m in model.named_modules()
                   if n.startswith(("stem", "stages.0")))


def test_a_model_without_the_named_modules_is_refused():
    with pytest.raises(LabsError, match="no submodule 'stem'"):
        apply_strategy(MLP(depth=3, width=8, in_channels=1, image_size=4), "Freeze input only")
    with pytest.raises(LabsError, match="unknown freeze strategy"):
        apply_strategy(ResNet(depth=(1, 1)), "Freeze everything")
