"""`python -m labs transfer`: the dry run end to end, strategy parsing, and the no-checkpoint exit."""

from __future__ import annotations

import csv
import re

import pytest

import labs.transfer.source as source
from labs.__main__ import main
from labs.core.errors import LabsError
from labs.transfer.cli import parse_strategies


def test_dry_run_end_to_end(capsys):
    assert main(["transfer", "--dry-run", "--svm", "--optimizers", "adam"]) == 0
    out = capsys.readouterr().out
    assert "| Strategy | Optimizer | Test Accuracy | Trainable Params | Time (s) |" in out
    assert re.search(r"Phase 1: LinearSVC \(C=1.0\) on 32-d frozen features, 256 train / 128 test: "
                     r"test accuracy \d+\.\d\d%", out)
    path = re.search(r"wrote (\S+finetune\.csv)", out).group(1)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["Strategy"] for r in rows) == ["Freeze all early", "Freeze input only", "No freeze"]
    assert {int(r["Trainable Params"]) for r in rows} == {19_818, 19_994, 14_858}  # ResNet[1,1], grey 8x8, 10 classes
    assert all(0 <= float(r["Test Accuracy"]) <= 1 for r in rows)
    with open(path.replace("finetune.csv", "svm.csv")) as f:
        assert float(next(csv.DictReader(f))["test_acc"]) > 0.3  # 10 classes


def test_no_checkpoint_says_how_to_train_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(source, "CHECKPOINT_DIR", tmp_path)
    assert main(["transfer", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "python -m labs train --model resnet --dataset cifar10" in err


def test_bad_cli_input_exits_2(capsys):
    assert main(["transfer", "--dry-run", "--optimizers", "adam", "--adam-lr", "0"]) == 2
    assert "Adam learning rate must be a number > 0" in capsys.readouterr().err
    assert main(["transfer", "--dry-run", "--svm-only", "--svm-c", "0"]) == 2
    assert "C must be a number > 0" in capsys.readouterr().err


def test_parse_strategies():
    assert parse_strategies("all") == ("Freeze input only", "No freeze", "Freeze all early")
    assert parse_strategies("early, no-freeze,input") == ("Freeze all early", "No freeze", "Freeze input only")
    with pytest.raises(LabsError, match="unknown strategy 'middle'"):
        parse_strategies("middle")
