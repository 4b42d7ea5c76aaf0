"""`python -m labs odin --dry-run` end to end, the `ood` alias, and one-line errors."""

import csv

from labs.__main__ import build_parser, main
from labs.ood.cli import odin_command


def test_dry_run_writes_grid_comparison_and_roc(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["odin", "--dry-run", "--out", str(out), "--temperatures", "1,10", "--epsilons", "0,0.002"]) == 0
    text = capsys.readouterr().out
    assert "best on the validation half: T=" in text and "Autoencoder" in text
    grid = list(csv.DictReader(open(out / "grid.csv")))
    assert [(float(r["T"]), float(r["epsilon"])) for r in grid] == [(1, 0), (1, 0.002), (10, 0), (10, 0.002)]
    assert all(0 <= float(r["val_AUROC"]) <= 1 and float(r["test_n_id"]) == 32 for r in grid)
    comp = list(csv.DictReader(open(out / "comparison.csv")))
    assert [r["detector"] for r in comp] == ["ODIN", "Max softmax", "Energy score", "Max logit", "Autoencoder"]
    assert float(comp[1]["relative cost"]) == 1.0
    html = (out / "roc_gaussian.html").read_text()
    assert "plotly" in html.lower() and len(html) > 1_000_000  # plotly.js embedded: opens offline


def test_alias_and_bad_input(tmp_path, capsys):
    assert build_parser().parse_args(["ood", "--dry-run"]).func is odin_command
    assert main(["odin", "--dry-run", "--temperatures", "0,1", "--out", str(tmp_path)]) == 2
    assert "temperature T must be" in capsys.readouterr().err
    assert main(["odin", "--model_path", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing" in err and len(err.strip().splitlines()) == 1
