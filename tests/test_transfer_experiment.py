"""Phase 1 and Phase 2 on tiny data (digits, ResNet[1,1]), and every bad input's message."""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
import pytest

import labs.core.engine as engine
from labs.core.errors import LabsError
from labs.transfer.experiment import (SCRATCH, TransferConfig, eta_seconds, markdown_table, preset, results_table,
                                      run_finetune, run_svm, svm_on_features, validate)
from labs.transfer.source import load_source, train_source
from transfer_fixtures import tiny_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(tiny_checkpoint(tmp_path_factory.mktemp("src")))


def tiny(ckpt, **kw):
    base = dict(checkpoint=ckpt, dataset="digits", epochs=1, batch_size=32, train_subset=128, test_subset=128,
                svm_train_subset=600, svm_test_subset=300, log_every=2)
    return replace(TransferConfig(), **{**base, **kw})


def test_linear_svm_beats_chance_on_synthetic_blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 8))
    y = np.arange(400) % 4
    x = centres[y] + rng.normal(0, 1, (400, 8))
    res = svm_on_features(x[:300], y[:300], x[300:], y[300:], c=1.0)
    assert res["test_acc"] >= 0.9  # chance is 0.25
    with pytest.raises(LabsError, match="C must be a number > 0"):
        svm_on_features(x[:300], y[:300], x[300:], y[300:], c=0)


def test_svm_phase_on_frozen_random_features_beats_chance(ckpt):
    recs = list(run_svm(tiny(ckpt)))
    res = recs[-1]
    assert res["kind"] == "svm" and res["feature_dim"] == 32 and (res["n_train"], res["n_test"]) == (600, 300)
    assert res["chance"] == pytest.approx(0.1)
    assert res["test_acc"] > 0.5  # 10 digit classes: chance 10%
    assert any(r["kind"] == "progress" for r in recs)


def test_finetune_grid_rows_and_checkpoint_normalisation(ckpt, monkeypatch):
    seen = []
    real_fit = engine.fit

    def spy(model, data, cfg, **kw):
        seen.append((data.mean, cfg.optimizer, cfg.lr))
        return real_fit(model, data, cfg, **kw)

    monkeypatch.setattr(engine, "fit", spy)
    cfg = tiny(ckpt, from_scratch=True, adam_lr=2e-3, sgd_lr=0.05)
    recs = list(run_finetune(cfg))
    rows = recs[-1]["rows"]
    assert recs[-1]["kind"] == "done" and not recs[-1]["stopped"]
    assert [(r["Strategy"], r["Optimizer"]) for r in rows][:2] == [("Freeze input only", "Adam"),
                                                                   ("Freeze input only", "SGD")]
    assert len(rows) == 7 and rows[-1]["Strategy"] == SCRATCH
    counts = {r["Strategy"]: r["Trainable Params"] for r in rows}
    assert counts["No freeze"] - counts["Freeze input only"] == 9 * 16 + 32  # 3x3 grey stem conv + BN affine
    assert all(0 <= r["Test Accuracy"] <= 1 for r in rows)
    _, meta = load_source(ckpt)
    assert seen[0][0] == tuple(meta["normalization"]["mean"])  # transferred nets: the source's statistics
    assert [(o, lr) for _, o, lr in seen[:2]] == [("adam", 2e-3), ("sgd", 0.05)]
    assert {r["run"] for r in recs if r["kind"] == "eval"} >= {"Adam / No freeze", "SGD / Freeze all early"}
    table = results_table(rows)
    assert list(table.columns) == ["Strategy", "Optimizer", "Test Accuracy", "Trainable Params", "Time (s)"]
    accs = [float(a.rstrip("%")) for a in table["Test Accuracy"]]
    assert accs == sorted(accs, reverse=True)
    assert markdown_table(table).count("\n") == 8


def test_stop_keeps_finished_rows(ckpt):
    stop = threading.Event()
    recs = []
    for rec in run_finetune(tiny(ckpt, optimizers=("adam",)), stop=stop):
        recs.append(rec)
        if rec["kind"] == "row":
            stop.set()
    assert recs[-1]["stopped"] and len(recs[-1]["rows"]) == 1


@pytest.mark.parametrize("change, message", [
    (dict(strategies=()), "select at least one freeze strategy"),
    (dict(optimizers=()), "select at least one optimiser"),
    (dict(adam_lr=0.0), "Adam learning rate must be a number > 0"),
    (dict(sgd_lr=math.nan), "SGD learning rate must be a number > 0"),
    (dict(epochs=0), "epochs must be a whole number >= 1"),
    (dict(strategies=("Freeze everything",)), "unknown freeze strategy"),
])
def test_bad_finetune_settings(ckpt, change, message):
    with pytest.raises(LabsError, match=message):
        next(run_finetune(tiny(ckpt, **change)))


def test_bad_svm_c(ckpt):
    with pytest.raises(LabsError, match="C must be a number > 0"):
        next(run_svm(tiny(ckpt, svm_c=0)))


def test_bad_checkpoints(tmp_path, ckpt):
    mlp = tiny_checkpoint(tmp_path, "mlp_digits", model="mlp", depth=3, width=8)
    with pytest.raises(LabsError, match="is a mlp checkpoint; transfer needs a ResNet"):
        next(run_finetune(tiny(str(mlp))))
    wide = tiny_checkpoint(tmp_path, "wide", widths=[8, 16])
    with pytest.raises(LabsError, match=r"has widths \[8, 16\]; the seed's network has widths \[16, 32\]"):
        next(run_svm(tiny(str(wide))))
    with pytest.raises(LabsError, match="no CIFAR-10 ResNet checkpoint"):
        next(run_finetune(tiny("")))
    with pytest.raises(LabsError, match="takes 1x8x8 images but the target data are 3x32x32"):
        load_source(ckpt, (3, 32, 32))


def test_missing_cifar100_gives_the_availability_message(tmp_path, monkeypatch, ckpt):
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    with pytest.raises(LabsError, match=r"CIFAR-100 is not on this machine: .*cifar100.npz is missing"):
        next(run_finetune(tiny(ckpt, dataset="cifar100")))


def test_presets_and_eta():
    quick, full = preset("quick"), preset("full")
    assert full.train_subset == 0 and full.epochs > quick.epochs
    e_quick, e_full = eta_seconds(quick), eta_seconds(full)
    assert e_quick["runs"] == 6 and e_quick["n_train"] == quick.train_subset
    assert e_quick["finetune"] < 600 < e_full["finetune"]  # "a few minutes" vs hours on a CPU
    validate(quick)
    with pytest.raises(LabsError, match="unknown preset"):
        preset("huge")


def test_train_source_saves_what_the_train_command_saves(tmp_path):
    recs = list(train_source(tmp_path / "src", dataset="digits", n_train=128, n_test=64, epochs=1, depth=(1, 1)))
    assert recs[-1]["kind"] == "saved"
    model, meta = load_source(recs[-1]["path"], (1, 8, 8))
    assert meta["dataset"] == "digits" and meta["model_args"]["widths"] == [16, 32]
    for key in ("normalization", "data", "config", "seed", "metrics", "curves", "device", "command"):
        assert key in meta
    assert meta["command"].startswith("python -m labs train --model resnet --dataset digits --depth 1,1")
