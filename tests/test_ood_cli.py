"""`python -m labs odin --dry-run` end to end, the autoencoder through the CLI, the `ood` alias, one-line errors."""

import csv
import json

from labs.__main__ import build_parser, main
from labs.ood.cli import odin_command
from test_ood_experiment import make_cifar_checkpoint, write_tiny_cifar10

DETECTOR_TITLES = ["ODIN", "Max softmax", "Energy score", "Max logit"]


def test_dry_run_writes_grid_comparison_and_roc(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))  # no autoencoder for digits there
    out = tmp_path / "out"
    assert main(["odin", "--dry-run", "--out", str(out), "--temperatures", "1,10", "--epsilons", "0,0.002"]) == 0
    text = capsys.readouterr().out
    assert "best on the validation half: ODIN T=" in text and "best on the validation half: Energy score T=" in text
    assert "(autoencoder row skipped: no autoencoder for digits" in text  # the autoencoder needs 32x32 images
    grid = list(csv.DictReader(open(out / "grid.csv")))
    odin = [(float(r["temperature"]), float(r["epsilon"])) for r in grid if r["detector"] == "ODIN"]
    assert odin == [(1, 0), (1, 0.002), (10, 0), (10, 0.002)]
    assert [float(r["temperature"]) for r in grid if r["detector"] == "Energy score"] == [1, 10]
    assert all(0 <= float(r["val_AUROC"]) <= 1 and float(r["test_n_id"]) == 32 for r in grid)
    comp = list(csv.DictReader(open(out / "comparison.csv")))
    assert [r["detector"] for r in comp] == DETECTOR_TITLES
    assert float(comp[1]["relative cost"]) == 1.0
    html = (out / "roc_gaussian.html").read_text()
    assert "plotly" in html.lower() and len(html) > 1_000_000  # plotly.js embedded: opens offline


def test_the_autoencoder_is_trained_by_its_recipe_and_compared(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    write_tiny_cifar10(tmp_path)
    model = make_cifar_checkpoint(tmp_path)
    out = tmp_path / "out"
    assert main(["odin", "--model_path", str(model), "--n", "32", "--train-autoencoder", "--ae-images", "128",
                 "--ae-epochs", "1", "--temperatures", "1", "--epsilons", "0,0.002", "--out", str(out)]) == 0
    assert "Saved `autoencoder_cifar10`" in capsys.readouterr().out
    assert json.loads((tmp_path / "autoencoder_cifar10.json").read_text())["data"] == {"n_train": 128, "n_test": 64}
    comp = list(csv.DictReader(open(out / "comparison.csv")))
    assert [r["detector"] for r in comp] == DETECTOR_TITLES + ["Autoencoder"]
    assert 0 <= float(comp[-1]["AUROC"]) <= 1


def test_alias_and_bad_input(tmp_path, capsys):
    assert build_parser().parse_args(["ood", "--dry-run"]).func is odin_command
    assert main(["odin", "--dry-run", "--temperatures", "0,1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: invalid temperatures: expected 1 to 64 comma-separated numbers")
    assert main(["odin", "--model_path", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing" in err and len(err.strip().splitlines()) == 1
    assert main(["odin", "--dry-run", "--train-autoencoder"]) == 2  # the recipe trains on cifar10, not digits
    assert "trains on cifar10" in capsys.readouterr().err
    assert main(["odin", "--dry-run", "--detectors", "odin,nope", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: invalid detectors: expected comma-separated names from odin")


def test_the_search_can_be_limited_to_some_detectors(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["odin", "--dry-run", "--detectors", "odin", "--temperatures", "1", "--epsilons", "0,0.002",
                 "--out", str(out)]) == 0
    assert {r["detector"] for r in csv.DictReader(open(out / "grid.csv"))} == {"ODIN"}
    assert [r["detector"] for r in csv.DictReader(open(out / "comparison.csv"))] == ["ODIN"]
    assert "row skipped" not in capsys.readouterr().out  # a detector left out is not "skipped"
