"""Checkpoint dropdowns label each name with what the model is worth (labs/core/ckpt_labels.py), without torch."""

import json
import subprocess
import sys
from pathlib import Path

from labs.core.ckpt_labels import describe, labelled

CLASSIFIER = {"model": "resnet", "dataset": "cifar10", "config": {"epochs": 80},
              "metrics": {"final_test_acc": 0.90624, "final_test_loss": 0.5}}


def _write(folder, name, meta):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(meta) if isinstance(meta, dict) else meta)


def test_describe_a_classifier_an_autoencoder_and_odd_metadata():
    assert describe(CLASSIFIER) == "90.6% on CIFAR-10 test · 80 epochs"
    assert describe({"dataset": "cifar10", "config": {"epochs": 1},
                     "metrics": {"final_test_loss": 0.03931}}) == "test MSE 0.0393 · 1 epoch"
    assert describe({"dataset": "nowhere", "metrics": {"final_test_acc": 0.5}}) == "50.0% on nowhere test"
    assert describe({"metrics": {"final_test_acc": float("nan")}, "config": {"epochs": 3}}) == ""
    assert describe({"metrics": "broken", "config": None}) == ""


def test_labelled_reads_the_first_folder_that_has_the_name(tmp_path):
    own, shared = tmp_path / "own", tmp_path / "shared"
    _write(shared, "ref", CLASSIFIER)
    _write(shared, "quick", {**CLASSIFIER, "config": {"epochs": 2}, "metrics": {"final_test_acc": 0.71}})
    _write(own, "quick", {**CLASSIFIER, "config": {"epochs": 1}, "metrics": {"final_test_acc": 0.4}})
    _write(shared, "broken", "{" * 5000)
    assert labelled(["quick", "ref", "broken", "absent"], [own, shared]) == [
        ("quick · 40.0% on CIFAR-10 test · 1 epoch", "quick"),  # the session's own shadows the shared one
        ("ref · 90.6% on CIFAR-10 test · 80 epochs", "ref"),
        ("broken", "broken"), ("absent", "absent")]


def test_labels_need_no_torch():
    code = ("import sys; from labs.core.ckpt_labels import labelled; labelled(['x'], ['checkpoints']); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
