"""Frozen by construction: no order of predict / fit / train() calls moves a frozen BatchNorm."""

import itertools

import pytest
import torch

from labs.core.data import load_dataset
from labs.core.engine import TrainConfig, fit, predict, run_to_end, seed_everything
from labs.core.freeze import FrozenBatchNorm2d, freeze
from labs.core.models import ResNet, count_parameters

torch.set_num_threads(1)


def _frozen_state(model):
    return {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("stem", "stages.0"))}


@pytest.mark.parametrize("order", list(itertools.permutations(["predict", "fit", "train_eval"])))
def test_frozen_statistics_are_bit_identical_after_any_call_order(order):
    data = load_dataset("digits").subset(128, 64)
    seed_everything(0)
    model = ResNet(depth=(1, 1), widths=(8, 16), in_channels=1, image_size=8)
    run_to_end(fit(model, data, TrainConfig(epochs=1, batch_size=32, grad_norms=False)))  # non-trivial statistics
    freeze(model, ("stem", "stages.0"))
    before = _frozen_state(model)
    for call in order + ("predict",):
        if call == "predict":
            predict(model, data.x_test, data.mean, data.std)
        elif call == "fit":
            run_to_end(fit(model, data, TrainConfig(epochs=1, batch_size=32, grad_norms=False, seed=1)))
        else:
            model.train()
            model(torch.randn(4, 1, 8, 8))
            model.eval()
    after = _frozen_state(model)
    assert before.keys() == after.keys() and len(before) > 0
    for k in before:
        assert torch.equal(before[k], after[k]), f"{k} moved"
    assert not torch.equal(model.state_dict()["stages.1.0.bn1.running_mean"],
                           torch.zeros_like(model.state_dict()["stages.1.0.bn1.running_mean"]))


def test_freezing_keeps_state_dict_keys_and_parameter_counts():
    model = ResNet(depth=(7, 7), widths=(16, 32), num_classes=100)
    keys = set(model.state_dict())
    freeze(model, ("stem",))
    assert set(model.state_dict()) == keys
    assert count_parameters(model) == 162_644
    assert count_parameters(model, trainable_only=True) == 162_180
    assert isinstance(model.stem[1], FrozenBatchNorm2d)


def test_frozen_batchnorm_computes_what_eval_batchnorm_computed():
    bn = torch.nn.BatchNorm2d(4)
    bn.train()
    bn(torch.randn(16, 4, 5, 5) * 3 + 1)
    bn.eval()
    x = torch.randn(2, 4, 5, 5)
    frozen = FrozenBatchNorm2d(bn)
    frozen.train()
    assert torch.allclose(frozen(x), bn(x), atol=1e-6)
