"""The source network: 'train first' is the one quick recipe and saves what `python -m labs train` saves;
the listing finds CIFAR-10 ResNets in the checkpoint folder, the reference first."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from labs.__main__ import main
from labs.transfer.source import QUICK_RECIPE, load_source, source_checkpoints, train_quick_source
from transfer_fixtures import tiny_checkpoint

CHECKPOINT_FIELDS = {"model", "model_args", "code_version", "num_parameters", "dataset", "num_classes",
                     "normalization", "data", "config", "seed", "metrics", "curves", "device", "command"}


def test_train_first_saves_what_the_train_command_saves(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    recs = list(train_quick_source(dataset="digits", depth=(1, 1), n_train=128, n_test=64, epochs=1))
    assert recs[0]["kind"] == "start" and recs[-1]["kind"] == "saved"
    path = Path(recs[-1]["path"])
    assert path == tmp_path / "checkpoints" / f"{QUICK_RECIPE}.safetensors"
    ours = json.loads(path.with_suffix(".json").read_text())

    assert main(["train", "--dry-run", "--model", "resnet", "--depth", "1,1", "--widths", "16,32",
                 "--out", str(tmp_path / "by_cli")]) == 0
    theirs = json.loads((tmp_path / "by_cli.json").read_text())
    assert set(ours) == set(theirs) == CHECKPOINT_FIELDS
    assert set(ours["config"]) == set(theirs["config"]) and set(ours["data"]) == set(theirs["data"])
    # the quick recipe (labs.core.recipes), with the test's overrides
    assert ours["model_args"] == {"num_classes": 10, "in_channels": 1, "image_size": 8, "depth": [1, 1],
                                  "widths": [16, 32]}
    assert ours["data"] == {"n_train": 128, "n_test": 64} and ours["dataset"] == "digits"
    assert {k: ours["config"][k] for k in ("optimizer", "schedule", "lr", "augment", "epochs")} == \
        {"optimizer": "sgd", "schedule": "onecycle", "lr": 0.1, "augment": True, "epochs": 1}
    assert ours["command"].startswith("python -m labs train --model resnet --dataset digits --depth 1,1 "
                                      "--widths 16,32 --epochs 1")
    model, meta = load_source(path, (1, 8, 8))  # usable as a source network at once
    assert meta["metrics"]["final_test_acc"] == recs[-1]["metrics"]["final_test_acc"]


def test_a_stopped_training_saves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    stop = threading.Event()
    stop.set()
    recs = list(train_quick_source(stop=stop, dataset="digits", depth=(1, 1), n_train=128, n_test=64, epochs=1))
    assert recs[-1]["kind"] == "not_saved" and not list(tmp_path.iterdir())


def test_source_checkpoints_lists_cifar10_resnets_reference_first(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    assert source_checkpoints() == []
    for name in ("a_resnet", "resnet77_cifar10", "z_resnet"):
        tiny_checkpoint(tmp_path, name)
    tiny_checkpoint(tmp_path, "an_mlp", model="mlp", depth=3, width=8)
    assert [Path(p).stem for p in source_checkpoints()] == ["resnet77_cifar10", "a_resnet", "z_resnet"]
