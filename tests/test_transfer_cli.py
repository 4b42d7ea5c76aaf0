"""`python -m labs transfer`: the dry run end to end, strategy parsing, the no-checkpoint exit, and every
constraint's one-line refusal (exit 2)."""

from __future__ import annotations

import csv
import re

import pytest

from labs.__main__ import main
from labs.core import params
from labs.transfer.cli import parse_strategies
from labs.transfer.config import TransferConfig
from transfer_fixtures import assert_one_format, constraint_cases


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
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    assert main(["transfer", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"no CIFAR-10 ResNet checkpoint in {tmp_path}" in err
    assert "`python -m labs reproduce --stage reference`" in err  # how the committed reference is made
    assert "`python -m labs train --recipe resnet77_cifar10_fast --out checkpoints/resnet77_cifar10`" in err


# The flag that sets each field; the two booleans are flags without a value, which cannot carry a bad one.
FLAG = {"strategies": "--strategies", "optimizers": "--optimizers", "checkpoint": "--checkpoint",
        **{f: "--" + f.replace("_", "-") for f in TransferConfig.CONSTRAINTS
           if f not in ("strategies", "optimizers", "checkpoint", "augment", "from_scratch")}}


def _cli_value(bad) -> str:
    return ",".join(bad) if isinstance(bad, tuple) else str(bad)


@pytest.mark.parametrize("field, bad", [(f, b) for f, b in constraint_cases(TransferConfig.CONSTRAINTS) if f in FLAG])
def test_every_constraint_exits_2_with_one_line(field, bad, capsys):
    assert main(["transfer", "--dry-run", FLAG[field], _cli_value(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: invalid {field.replace('_', ' ')}: expected ")
    shown = parse_strategies(_cli_value(bad)) if field == "strategies" else _cli_value(bad)  # what reaches build
    assert_one_format(err[0], field, shown)
    # the same sentence as the API's for the same raw value
    with pytest.raises(Exception) as api:
        params.build(TransferConfig, **{field: shown})
    assert err[0] == f"error: {api.value}"


def test_the_phase_rule_and_the_preset_exit_2_with_one_line(capsys):
    assert main(["transfer", "--dry-run", "--svm-train-subset", "50"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: invalid svm train subset: expected 0 (all) or at least one image per class (100), got 50"]
    assert main(["transfer", "--dry-run", "--preset", "huge"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: invalid preset: expected one of quick, full, got 'huge'"]


def test_parse_strategies():
    assert parse_strategies("all") == ("Freeze input only", "No freeze", "Freeze all early")
    assert parse_strategies("early, no-freeze,input") == ("Freeze all early", "No freeze", "Freeze input only")
    assert parse_strategies("middle") == ("middle",)  # left for the constraint to refuse:


def test_unknown_strategy_is_refused_by_the_constraint(capsys):
    assert main(["transfer", "--dry-run", "--strategies", "early,middle"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: invalid strategies: expected a non-empty selection from Freeze input only, No freeze, "
                   "Freeze all early, got ('Freeze all early', 'middle')")
