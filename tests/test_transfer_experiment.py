"""Phase 1 and Phase 2 on tiny data (digits, ResNet[1,1]): the records, the rows, stop, bad checkpoints."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import labs.core.engine as engine
from labs.core import params
from labs.core.data import load_dataset
from labs.core.errors import LabsError
from labs.core.freeze import FrozenBatchNorm2d
from labs.transfer import experiment
from labs.transfer.config import SCRATCH, TransferConfig
from labs.transfer.experiment import prepare_model, run_finetune, run_svm, svm_on_features
from labs.transfer.source import load_source
from labs.transfer.tables import markdown_table, results_table
from transfer_fixtures import tiny_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(tiny_checkpoint(tmp_path_factory.mktemp("src")))


def tiny(ckpt, **kw):
    base = dict(checkpoint=ckpt, dataset="digits", epochs=1, batch_size=32, train_subset=128, test_subset=128,
                svm_train_subset=600, svm_test_subset=300, log_every=2)
    return params.build(TransferConfig, **{**base, **kw})


def test_linear_svm_beats_chance_on_synthetic_blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 8))
    y = np.arange(400) % 4
    x = centres[y] + rng.normal(0, 1, (400, 8))
    res = svm_on_features(x[:300], y[:300], x[300:], y[300:], c=1.0)
    assert res["test_acc"] >= 0.9  # chance is 0.25
    with pytest.raises(LabsError, match=r"^invalid svm c: expected a number in \[1e-06, 10000\], got 0$"):
        svm_on_features(x[:300], y[:300], x[300:], y[300:], c=0)


def test_svm_phase_on_frozen_random_features_beats_chance(ckpt):
    recs = list(run_svm(tiny(ckpt)))
    assert recs[0]["kind"] == "start" and (recs[0]["n_train"], recs[0]["n_test"]) == (600, 300)
    res = recs[-1]
    assert res["kind"] == "done" and not res["stopped"]
    assert res["feature_dim"] == 32 and (res["n_train"], res["n_test"]) == (600, 300)
    assert res["chance"] == pytest.approx(0.1)
    assert res["test_acc"] > 0.5  # 10 digit classes: chance 10%
    # chunks of 500 images: Stop is checked between them
    assert [r["done"] for r in recs if r["kind"] == "progress" and r["stage"] == "features (train)"] == [500, 600]
    progress = [r for r in recs if r["kind"] == "progress"]
    assert [(r["images_done"], r["images_total"]) for r in progress] == [(500, 900), (600, 900), (900, 900)]
    assert all(r["seconds"] >= 0 and r["fit_estimate"] > 0 for r in progress)
    fitting = recs[-2]  # the last step says what it fits, not "0 / 1"
    assert fitting["kind"] == "fitting" and (fitting["n_train"], fitting["feature_dim"]) == (600, 32)


def test_svm_phase_stops_between_chunks(ckpt):
    stop = threading.Event()
    recs = []
    for rec in run_svm(tiny(ckpt), stop=stop, chunk=100):
        recs.append(rec)
        if rec["kind"] == "progress" and rec["done"] == 200:
            stop.set()
    assert recs[-1] == {"kind": "done", "stopped": True}
    assert [r["done"] for r in recs if r["kind"] == "progress"] == [100, 200]


def test_finetune_grid_rows_and_checkpoint_normalisation(ckpt, monkeypatch):
    seen = []
    real_fit = engine.fit

    def spy(model, data, cfg, **kw):
        seen.append((data.mean, cfg.optimizer, cfg.lr))
        return real_fit(model, data, cfg, **kw)

    monkeypatch.setattr(engine, "fit", spy)
    cfg = tiny(ckpt, from_scratch=True, adam_lr=2e-3, sgd_lr=0.05)
    recs = list(run_finetune(cfg))
    assert recs[0]["kind"] == "start" and len(recs[0]["runs"]) == 7 and recs[0]["runs"][0] == "Adam / Freeze input only"
    assert {r["kind"] for r in recs} == {"start", "run", "step", "eval", "row", "done"}
    assert all("run" in r for r in recs if r["kind"] in ("run", "step", "eval", "row"))
    starts = [r for r in recs if r["kind"] == "run"]
    assert [r["run_index"] for r in starts] == list(range(7)) and starts[0]["epochs"] == cfg.epochs
    assert [r["trainable"] for r in starts] == [r["Trainable Params"] for r in recs[-1]["rows"]]
    rows = recs[-1]["rows"]
    assert recs[-1]["kind"] == "done" and not recs[-1]["stopped"]
    assert [r["row"] for r in recs if r["kind"] == "row"] == rows
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


def test_fine_tuning_keeps_frozen_batchnorm_statistics(ckpt):
    """The frozen stem's BatchNorm keeps the source's running statistics through a whole fine-tuning run."""
    cfg = tiny(ckpt, strategies=("Freeze input only",), optimizers=("sgd",), epochs=2)
    model = prepare_model(cfg, "Freeze input only", 10, (1, 8, 8))
    assert isinstance(model.stem[1], FrozenBatchNorm2d)
    source, _ = load_source(ckpt)
    before = {k: v.clone() for k, v in source.state_dict().items() if k.startswith("stem.")}
    data = load_dataset("digits").subset(128, 64)
    end = engine.run_to_end(engine.fit(model, data, engine.TrainConfig(epochs=2, batch_size=32, lr=0.1,
                                                                       grad_norms=False), device="cpu"))
    assert end["steps"] == 8
    after = model.state_dict()
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert not torch.equal(after["stages.0.0.bn1.running_mean"],
                                  source.state_dict()["stages.0.0.bn1.running_mean"])


def test_stop_keeps_finished_rows(ckpt):
    stop = threading.Event()
    recs = []
    for rec in run_finetune(tiny(ckpt, optimizers=("adam",)), stop=stop):
        recs.append(rec)
        if rec["kind"] == "row":
            stop.set()
    assert recs[-1]["stopped"] and len(recs[-1]["rows"]) == 1


def test_a_run_stopped_mid_way_says_where_and_adds_no_row(ckpt, monkeypatch):
    observed = []
    monkeypatch.setattr(experiment, "observe_fit", lambda end, *a: observed.append(end))
    stop = threading.Event()
    recs = []
    for rec in run_finetune(tiny(ckpt, optimizers=("adam",), epochs=3), stop=stop):
        recs.append(rec)
        if rec["kind"] == "step" and rec["run_index"] == 1 and rec["epoch"] > 1:
            stop.set()
    stopped = [r for r in recs if r["kind"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["run"] == "Adam / No freeze" and stopped[0]["run_index"] == 1
    assert 1 < stopped[0]["epoch"] < 3 and stopped[0]["epochs"] == 3 and stopped[0]["seconds"] > 0
    assert recs[-1]["stopped"] and [r["Strategy"] for r in recs[-1]["rows"]] == ["Freeze input only"]
    assert [e["stopped"] for e in observed] == [False]  # only the finished run is offered to the ETA


def test_observe_fit_counts_block_images_of_32x32_only(monkeypatch):
    observed = []
    monkeypatch.setattr(experiment.eta, "observe", lambda *a: observed.append(a))
    end = {"stopped": False, "seconds": 10.0, "config": {"epochs": 2}, "history": [{}, {}], "device": "cpu"}
    experiment.observe_fit(end, (7, 7), (3, 32, 32), 1000, 300)
    assert observed == [(15, 2000 + 600 / 3, 10.0, "cpu")]
    experiment.observe_fit(end, (1, 1), (1, 8, 8), 1000, 300)  # digits: overhead-bound, says nothing of CIFAR
    experiment.observe_fit({**end, "stopped": True}, (7, 7), (3, 32, 32), 1000, 300)
    assert len(observed) == 1


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
        next(run_finetune(tiny(ckpt, dataset="cifar100", svm_train_subset=0)))
