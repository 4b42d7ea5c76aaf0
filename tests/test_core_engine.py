import math
import threading

import pytest
import torch

from labs.core.data import load_dataset
from labs.core.engine import TrainConfig, fit, run_to_end, seed_everything
from labs.core.errors import LabsError
from labs.core.models import build_model

torch.set_num_threads(1)


def _mlp(name="residual_mlp", depth=4):
    seed_everything(0)
    return build_model(name, depth=depth, width=32, in_channels=1, image_size=8)


def test_fit_lowers_the_loss_and_reports_every_field():
    data = load_dataset("digits").subset(512, 200)
    records = list(fit(_mlp(), data, TrainConfig(epochs=3, batch_size=32, lr=3e-3, optimizer="adam", log_every=5)))
    steps = [r for r in records if r["kind"] == "step"]
    evals = [r for r in records if r["kind"] == "eval"]
    end = records[-1]
    assert end["kind"] == "end" and not end["stopped"] and end["steps"] == 3 * (512 // 32)
    assert {"epoch", "step", "train_loss", "train_acc", "lr", "seconds", "images_per_s", "grad_norms"} <= set(steps[0])
    assert len(steps[0]["grad_norms"]["values"]) == 4  # one per linear layer, input side first
    assert [e["epoch"] for e in evals] == [1, 2, 3]
    assert steps[-1]["train_loss"] < 0.5 * steps[0]["train_loss"]
    assert evals[-1]["test_acc"] > 0.6  # chance is 0.1
    assert end["final_test_acc"] == evals[-1]["test_acc"] and len(end["history"]) == 3


def test_stop_event_ends_the_run_within_one_step_and_keeps_what_was_measured():
    data = load_dataset("digits")
    stop = threading.Event()
    seen = []
    for rec in fit(_mlp(), data, TrainConfig(epochs=50, batch_size=16, log_every=1), stop=stop):
        seen.append(rec)
        if rec["kind"] == "step" and rec["step"] == 3:
            stop.set()
    end = seen[-1]
    assert end["kind"] == "end" and end["stopped"] and end["steps"] == 3
    assert [r["step"] for r in seen if r["kind"] == "step"] == [1, 2, 3]


def test_same_seed_same_run():
    data = load_dataset("digits").subset(256, 64)
    cfg = TrainConfig(epochs=1, batch_size=32, augment=False, log_every=1)
    a = [r["train_loss"] for r in fit(_mlp(), data, cfg) if r["kind"] == "step"]
    b = [r["train_loss"] for r in fit(_mlp(), data, cfg) if r["kind"] == "step"]
    assert a == b


def test_residual_mlp16_beats_mlp16_on_digits():
    data = load_dataset("digits")
    cfg = TrainConfig(epochs=8, batch_size=64, lr=2e-3, optimizer="adam", weight_decay=0, grad_norms=False)
    acc = {name: run_to_end(fit(_mlp(name, 16), data, cfg))["final_test_acc"] for name in ("mlp", "residual_mlp")}
    assert acc["residual_mlp"] > 0.9
    assert acc["residual_mlp"] > acc["mlp"] + 0.1


def test_vanishing_gradients_are_measured_in_the_plain_mlp():
    data = load_dataset("digits").subset(256, 64)
    cfg = TrainConfig(epochs=1, batch_size=64, max_steps=1)
    norms = {name: next(r for r in fit(_mlp(name, 16), data, cfg) if r["kind"] == "step")["grad_norms"]["values"]
             for name in ("mlp", "residual_mlp")}
    plain_ratio = norms["mlp"][0] / norms["mlp"][-1]
    res_ratio = norms["residual_mlp"][0] / norms["residual_mlp"][-1]
    assert plain_ratio < 1e-3 < res_ratio  # the first layer of the plain MLP gets almost no gradient


def test_conv_net_trains_with_augmentation_on_one_batch():
    data = load_dataset("digits").subset(128, 64)
    seed_everything(0)
    model = build_model("resnet", depth=(1, 1), widths=(8, 16), in_channels=1, image_size=8)
    end = run_to_end(fit(model, data, TrainConfig(epochs=2, batch_size=32, augment=True, lr=0.05)))
    assert end["steps"] == 8 and math.isfinite(end["final_train_loss"])


@pytest.mark.parametrize("bad, match", [
    ({"epochs": -1}, "epochs"), ({"epochs": 0}, "epochs"), ({"lr": 0.0}, "learning rate"),
    ({"lr": float("nan")}, "learning rate"), ({"batch_size": 10_000}, "larger than the training set"),
    ({"optimizer": "lbfgs"}, "optimizer"),
])
def test_bad_hyperparameters_raise_one_clear_error(bad, match):
    data = load_dataset("digits")
    with pytest.raises(LabsError, match=match):
        next(fit(_mlp(), data, TrainConfig(**bad)))


def test_divergence_is_reported_not_hidden():
    data = load_dataset("digits").subset(256, 64)
    with pytest.raises(LabsError, match="diverged.*lower the learning rate"):
        run_to_end(fit(_mlp("residual_mlp", 8), data, TrainConfig(epochs=5, batch_size=32, lr=10.0, momentum=0.99,
                                                           schedule="constant", grad_norms=False)))
