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
    ({"epochs": -1}, "invalid epochs: expected a whole number in \\[1, 1000\\], got -1"),
    ({"epochs": 0}, "invalid epochs"), ({"lr": 0.0}, "invalid lr: expected a number in \\(0, 10\\]"),
    ({"lr": float("nan")}, "invalid lr"), ({"optimizer": "lbfgs"}, "invalid optimizer: expected one of sgd, adam"),
])
def test_bad_hyperparameters_raise_one_clear_error(bad, match):
    with pytest.raises(LabsError, match=match):
        TrainConfig(**bad)


def test_a_batch_larger_than_the_training_set_is_refused():
    data = load_dataset("digits").subset(100, 10)
    with pytest.raises(LabsError, match="invalid batch size: expected at most the training set's 100 images"):
        next(fit(_mlp(), data, TrainConfig(batch_size=128)))


def test_onecycle_schedule_warms_up_peaks_and_decays():
    data = load_dataset("digits").subset(640, 64)
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.2, log_every=1, grad_norms=False)  # 40 steps, warm-up 10
    lrs = [r["lr"] for r in fit(_mlp(), data, cfg) if r["kind"] == "step"]
    assert len(lrs) == 40
    peak = lrs.index(max(lrs))
    assert peak == 10 and lrs[peak] == pytest.approx(0.2)
    assert lrs[0] == pytest.approx(0.02)  # starts at lr/10
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))  # rises
    assert all(a > b for a, b in zip(lrs[peak:], lrs[peak + 1:]))   # then falls
    assert lrs[-1] < 0.02 * 0.2  # ends near lr/1000


def test_eval_every_adds_test_points_inside_epochs():
    data = load_dataset("digits").subset(320, 64)
    cfg = TrainConfig(epochs=2, batch_size=32, eval_every=4, grad_norms=False)  # 10 steps per epoch
    evals = [r["step"] for r in fit(_mlp(), data, cfg) if r["kind"] == "eval"]
    assert evals == [4, 8, 10, 12, 16, 20]


def test_label_smoothing_is_the_loss_of_the_first_step():
    data = load_dataset("digits").subset(256, 64)
    for smoothing in (0.0, 0.3):
        cfg = TrainConfig(epochs=1, batch_size=64, label_smoothing=smoothing, amp="off", max_steps=1, log_every=1)
        first = next(r for r in fit(_mlp(), data, cfg) if r["kind"] == "step")
        idx = torch.randperm(256, generator=torch.Generator().manual_seed(0))[:64]  # the engine's first batch
        from labs.core.data import to_model_input
        logits = _mlp()(to_model_input(data.x_train[idx], data.mean, data.std))
        expected = torch.nn.functional.cross_entropy(logits, data.y_train[idx], label_smoothing=smoothing)
        assert first["train_loss"] == pytest.approx(float(expected.detach()), rel=1e-5)


def test_bf16_or_fp32_is_chosen_as_documented():
    from labs.core.inference import autocast_for
    from labs.core.hardware import cpu_has_bf16

    conv = build_model("resnet", depth=(1, 1), widths=(8, 16), in_channels=1, image_size=8)
    mlp = _mlp()
    a, b = torch.randn(8, 8), torch.randn(8, 8)
    cpu = torch.device("cpu")

    def dtype(model, amp):
        with autocast_for(model, cpu, amp):
            return (a @ b).dtype

    assert dtype(conv, "off") == torch.float32
    assert dtype(conv, "bf16") == torch.bfloat16
    assert dtype(mlp, "auto") == torch.float32  # no conv: bf16 would not pay on the CPU
    assert dtype(conv, "auto") == (torch.bfloat16 if cpu_has_bf16() else torch.float32)


def test_reconstruction_objective_trains_the_autoencoder():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (256, 32, 32, 3), dtype=torch.uint8, generator=g)
    x[:, :16] = 0  # structure the autoencoder can learn
    from labs.core.data import Dataset
    data = Dataset("toy", x, torch.zeros(256, dtype=torch.long), x[:64].clone(), torch.zeros(64, dtype=torch.long),
                   ["a"])
    seed_everything(0)
    model = build_model("conv_autoencoder")
    records = list(fit(model, data, TrainConfig(epochs=3, batch_size=32, lr=3e-3, optimizer="adam", weight_decay=0,
                                               objective="reconstruction", log_every=1, grad_norms=False)))
    steps = [r for r in records if r["kind"] == "step"]
    end = records[-1]
    assert "train_acc" not in steps[0] and "final_test_acc" not in end
    assert steps[-1]["train_loss"] < 0.7 * steps[0]["train_loss"]
    assert end["final_test_loss"] == records[-2]["test_loss"] and math.isfinite(end["final_test_loss"])


def test_divergence_is_reported_not_hidden():
    data = load_dataset("digits").subset(256, 64)
    with pytest.raises(LabsError, match="diverged.*lower the learning rate"):
        run_to_end(fit(_mlp("residual_mlp", 8), data, TrainConfig(epochs=5, batch_size=32, lr=10.0, momentum=0.99,
                                                           schedule="constant", grad_norms=False)))


def test_ema_weights_are_what_is_evaluated_and_kept():
    from labs.core.engine import evaluate
    data = load_dataset("digits").subset(256, 128)

    def run(ema):
        model = _mlp()
        end = run_to_end(fit(model, data, TrainConfig(epochs=4, batch_size=32, lr=3e-3, optimizer="adam", ema=ema,
                                                      grad_norms=False)))
        return model, end

    averaged, end = run(0.8)
    _, acc = evaluate(averaged, data.x_test, data.y_test, data.mean, data.std)
    assert acc == pytest.approx(end["final_test_acc"])  # the model now holds the averaged weights
    assert end["final_test_acc"] > 0.3  # chance is 0.1
    raw, _ = run(0.0)
    nearly_raw, _ = run(1e-12)  # an average that forgets at once is the raw weights
    assert torch.allclose(nearly_raw.head.weight, raw.head.weight, atol=1e-6)
    assert not torch.allclose(averaged.head.weight, raw.head.weight, atol=1e-3)


def test_flip_averages_an_image_and_its_mirror():
    from labs.core.engine import predict
    data = load_dataset("digits").subset(64, 32)
    model = _mlp()
    both = predict(model, data.x_test, data.mean, data.std, flip=True)
    a = predict(model, data.x_test, data.mean, data.std)
    b = predict(model, data.x_test.flip(2), data.mean, data.std)  # NHWC: dim 2 is the width
    assert torch.allclose(both, 0.5 * (a + b), atol=1e-6)
