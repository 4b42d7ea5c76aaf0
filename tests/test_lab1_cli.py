import json
import subprocess
import sys
from pathlib import Path

import pytest

from labs.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def test_train_dry_run_writes_a_loadable_checkpoint(tmp_path, capsys):
    out = tmp_path / "net"
    assert main(["train", "--model", "resnet", "--dry-run", "--out", str(out)]) == 0
    meta = json.loads((tmp_path / "net.json").read_text())
    assert meta["model"] == "resnet" and meta["dataset"] == "digits" and meta["metrics"]["steps"] == 3
    assert "final test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("which, rows", [("resnet", 6), ("mlp", 2)])
def test_sweep_dry_run_writes_csv_and_markdown(tmp_path, monkeypatch, which, rows):
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))  # measured speeds go to a scratch folder (digits is embedded)
    assert main(["sweep", which, "--dry-run", "--out", str(tmp_path)]) == 0
    csv = (tmp_path / f"sweep_{which}.csv").read_text().strip().splitlines()
    assert len(csv) == rows + 1
    md = (tmp_path / f"sweep_{which}.md").read_text()
    assert md.startswith("| ") and md.count("\n") == rows + 2


def test_data_command_lists_every_data_set(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "mnist", "cifar10", "cifar100", "svhn"):
        assert name in out


@pytest.mark.parametrize("argv, words", [
    (["train", "--dataset", "imagenet"], "unknown data set 'imagenet'"),
    (["train", "--model", "vgg", "--dataset", "digits"], "unknown model 'vgg'"),
    (["train", "--model", "mlp", "--dataset", "digits", "--depth", "500"], "from 3 to 100"),
    (["train", "--model", "resnet", "--dataset", "digits", "--depth", "0,2"], "from 1 to 100"),
    (["train", "--dataset", "digits", "--epochs", "-1"], "epochs"),
    (["train", "--dataset", "digits", "--lr", "nan"], "invalid lr: expected a number in (0, 10], got nan"),
    (["train", "--dataset", "digits", "--batch-size", "5000"], "at most the training set's 1437 images"),
    (["sweep", "resnet", "--sizes", "huge", "--dry-run"], "invalid sizes: expected a non-empty selection from"),
    (["sweep", "resnet", "--dataset", "digits", "--train-subset", "32", "--test-subset", "32", "--sizes", "small",
      "--archs", "ResNet"], "invalid batch size: expected at most the training set's 32 images, got 128"),
])
def test_bad_input_exits_2_with_one_line(argv, words, capsys):
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]


def test_the_process_exit_status_is_2():
    proc = subprocess.run([sys.executable, "-m", "labs", "train", "--dataset", "imagenet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown data set 'imagenet'")
