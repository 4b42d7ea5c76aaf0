"""Every committed checkpoint loads, matches its JSON, and (with the real data) evaluates as its JSON says."""

import json
from pathlib import Path

import pytest
from conftest import needs_real_data

from labs.core.checkpoints import load_checkpoint
from labs.core.data import load_dataset
from labs.core.inference import evaluate
from labs.core.models import count_parameters

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(p.with_suffix("") for p in (ROOT / "checkpoints").glob("*.json"))


def test_there_are_committed_checkpoints():
    assert {p.name for p in COMMITTED} >= {"resnet77_cifar10", "autoencoder_cifar10"}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_checkpoint_loads_and_matches_its_json(path):
    meta = json.loads(path.with_suffix(".json").read_text())
    model, loaded = load_checkpoint(path)
    assert loaded["model"] == meta["model"] and loaded["dataset"] == meta["dataset"]
    assert count_parameters(model) == meta["num_parameters"]
    assert meta["command"].startswith("python -m labs ")
    assert " /" not in meta["command"]  # relative paths: a committed file names no developer's folder
    assert len(meta["curves"]) == meta["config"]["epochs"]
    assert meta["metrics"]["check"]["images"] == 2000
    assert path.with_suffix(".safetensors").stat().st_size < 5 * 2**20


@needs_real_data
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_checkpoint_evaluates_as_its_json_claims(path):
    model, meta = load_checkpoint(path)
    check, cfg = meta["metrics"]["check"], meta["config"]
    data = load_dataset(meta["dataset"])
    n = check["images"]
    loss, acc = evaluate(model, data.x_test[:n], data.y_test[:n], meta["normalization"]["mean"],
                         meta["normalization"]["std"], amp=cfg.get("amp", "auto"),
                         objective=cfg.get("objective", "classification"), flip=check["flip"])
    if "test_acc" in check:
        assert abs(acc - check["test_acc"]) <= 0.005, (acc, check)
        assert abs(check["test_acc"] - meta["metrics"]["final_test_acc"]) < 0.03  # the subset tracks the full set
    else:
        assert loss == pytest.approx(check["test_loss"], rel=0.02)
