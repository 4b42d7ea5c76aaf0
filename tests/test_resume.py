"""A stopped run resumed inside resume.into() ends exactly where an uninterrupted run ends."""

import threading

import torch

from labs.core import resume
from labs.core.data import load_dataset
from labs.core.engine import TrainConfig, fit, run_to_end, seed_everything
from labs.core.models import build_model

CFG = TrainConfig(epochs=3, batch_size=64, lr=0.05, ema=0.9, augment=True, log_every=5, grad_norms=False,
                  threads=1)


def _model():
    seed_everything(0)
    return build_model("resnet", depth=[1, 1], widths=[8, 16], num_classes=10, in_channels=1, image_size=8)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_stopped_run_resumes_to_the_same_weights_and_curves(tmp_path):
    data = load_dataset("digits")
    straight = _model()
    end_straight = run_to_end(fit(straight, data, CFG))

    with resume.into(tmp_path):
        stop = threading.Event()
        first = _model()
        records = []
        for rec in fit(first, data, CFG, stop=stop):
            records.append(rec)
            if rec["kind"] == "eval" and rec["epoch"] == 1:
                stop.set()  # stopped after the first epoch
        assert records[-1]["stopped"] and len(records[-1]["history"]) == 1
        assert len(list(tmp_path.glob("fit-*.pt"))) == 1

        again = _model()
        end = run_to_end(fit(again, data, CFG))
        assert end["resumed_from_epoch"] == 1 and not end["stopped"]
        assert [h["test_acc"] for h in end["history"]] == [h["test_acc"] for h in end_straight["history"]]
        assert end["steps"] == end_straight["steps"]
        for k, v in _weights(straight).items():
            assert torch.equal(v, again.state_dict()[k]), k

        replay = _model()  # finished: replayed from its final state without training
        recs = list(fit(replay, data, CFG))
        assert [r["kind"] for r in recs] == ["eval"] * 3 + ["end"]
        assert recs[-1]["resumed_from_epoch"] == CFG.epochs
        for k, v in _weights(straight).items():
            assert torch.equal(v, replay.state_dict()[k]), k


def test_other_settings_are_another_run(tmp_path):
    data = load_dataset("digits")
    with resume.into(tmp_path):
        run_to_end(fit(_model(), data, TrainConfig(epochs=1, batch_size=64, threads=1, grad_norms=False)))
        end = run_to_end(fit(_model(), data, TrainConfig(epochs=1, batch_size=64, lr=0.01, threads=1,
                                                          grad_norms=False)))
    assert "resumed_from_epoch" not in end
    assert len(list(tmp_path.glob("fit-*.pt"))) == 2


def test_the_same_weights_with_other_parts_frozen_are_another_run(tmp_path):
    """The transfer stage fine-tunes one source network three ways: each freeze strategy is its own run (the key
    once ignored what was frozen, and a rerun replayed the first strategy's finished state for the others)."""
    from labs.core.freeze import freeze

    data = load_dataset("digits")
    cfg = TrainConfig(epochs=1, batch_size=64, threads=1, grad_norms=False)
    keys = [resume.run_key(m, data, cfg, torch.device("cpu"))
            for m in (_model(), freeze(_model(), ("stem",)), freeze(_model(), ("stem", "stages.0")))]
    assert len(set(keys)) == 3
    assert keys[0] == resume.run_key(_model(), data, cfg, torch.device("cpu"))  # nothing frozen: the key as before
    with resume.into(tmp_path):
        run_to_end(fit(_model(), data, cfg))
        end = run_to_end(fit(freeze(_model(), ("stem",)), data, cfg))
    assert "resumed_from_epoch" not in end and len(list(tmp_path.glob("fit-*.pt"))) == 2


def test_a_damaged_state_file_starts_over(tmp_path):
    data = load_dataset("digits")
    cfg = TrainConfig(epochs=1, batch_size=64, threads=1, grad_norms=False)
    with resume.into(tmp_path):
        run_to_end(fit(_model(), data, cfg))
        (state,) = tmp_path.glob("fit-*.pt")
        state.write_bytes(b"not a torch file")
        end = run_to_end(fit(_model(), data, cfg))
    assert "resumed_from_epoch" not in end and end["steps"] > 0


def test_without_the_block_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_to_end(fit(_model(), load_dataset("digits"), TrainConfig(epochs=1, batch_size=64, threads=1)))
    assert resume.active() is None and not list(tmp_path.rglob("*.pt"))


def test_a_run_killed_inside_an_epoch_resumes_from_its_last_mid_epoch_state(tmp_path, monkeypatch):
    """States inside an epoch (every resume.MID_EPOCH_SECONDS; here every step): a process killed mid-epoch loses
    only the steps since, and the resumed run still ends on the uninterrupted run's weights and test curve."""
    monkeypatch.setattr(resume, "MID_EPOCH_SECONDS", 0.0)
    data = load_dataset("digits")
    straight = _model()
    end_straight = run_to_end(fit(straight, data, CFG))
    with resume.into(tmp_path):
        stop = threading.Event()
        for rec in fit(_model(), data, CFG, stop=stop):
            if rec["kind"] == "step" and rec["step"] == 30:  # epoch 2 of 3, 8 steps into it (22 per epoch)
                stop.set()
        (path,) = tmp_path.glob("fit-*.pt")
        saved = resume.load(path)
        assert (saved["epoch"], saved["i"], saved["step"]) == (1, 8, 30) and len(saved["history"]) == 1
        again = _model()
        end = run_to_end(fit(again, data, CFG))
    assert end["resumed_from_epoch"] == 1 and end["steps"] == end_straight["steps"]
    assert [(h["test_acc"], h["train_loss"]) for h in end["history"]] == [
        (h["test_acc"], h["train_loss"]) for h in end_straight["history"]]
    for k, v in _weights(straight).items():
        assert torch.equal(v, again.state_dict()[k]), k
