"""The protocol iterates DETECTORS: every registered detector is searched on the validation halves, reported on the
test halves and compared; a detector added to the registry appears in the grid, the comparison and the CLI."""

import csv
import json
import threading

import numpy as np
import pytest
import torch

from labs.__main__ import main
from labs.core import params
from labs.ood import experiment as ex
from labs.ood import scores as sc
from labs.ood.config import AutoencoderConfig, GridConfig
from labs.ood.detectors import DETECTORS, Detector
from labs.ood.protocol import best_of, evaluate, grid_search, search_space, settings
from test_ood_experiment import make_cifar_checkpoint, make_digits_checkpoint, write_tiny_cifar10

GRID = {"temperatures": "1,10", "epsilons": "0,0.002"}


@pytest.fixture(scope="module")
def cifar_run(tmp_path_factory):
    """Tiny random CIFAR-10, an untrained tiny classifier, the autoencoder trained by its recipe, one protocol run."""
    folder = tmp_path_factory.mktemp("odin_cifar")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABS_DATA_DIR", str(folder))
        mp.setenv("LABS_CHECKPOINT_DIR", str(folder))
        torch.set_num_threads(1)
        write_tiny_cifar10(folder)
        make_cifar_checkpoint(folder)
        trained = list(ex.train_autoencoder(params.build(AutoencoderConfig, train_images=128, epochs=1)))
        cfg = params.build(GridConfig, checkpoint="tiny_cifar", ood_set="gaussian", images_per_side=32, **GRID)
        yield folder, trained, list(ex.run(cfg))


def test_the_autoencoder_is_trained_by_its_recipe_and_found_by_the_protocol(cifar_run):
    folder, trained, recs = cifar_run
    assert trained[0]["kind"] == "start" and trained[0]["model"] == "conv_autoencoder"
    assert trained[-1]["kind"] == "saved" and "final_test_loss" in trained[-1]["metrics"]
    meta = json.loads((folder / "autoencoder_cifar10.json").read_text())
    assert meta["model"] == "conv_autoencoder" and meta["config"]["objective"] == "reconstruction"
    assert meta["data"] == {"n_train": 128, "n_test": 64} and meta["command"].startswith("python -m labs train")
    assert recs[0]["kind"] == "start" and recs[0]["autoencoder"].endswith("autoencoder_cifar10.safetensors")
    assert not [r for r in recs if r["kind"] == "skipped"]


@pytest.mark.parametrize("name", list(DETECTORS))
def test_every_detector_gets_through_the_protocol(name, cifar_run):
    _, _, recs = cifar_run
    space = search_space(name, {"temperature": (1.0, 10.0), "epsilon": (0.0, 0.002)})
    rows = [r["row"] for r in recs if r["kind"] == "setting" and r["row"]["detector"] == name]
    assert [r["params"] for r in rows] == settings(space)
    assert len(rows) == int(np.prod([len(v) for v in space.values()]))
    for r in rows:
        assert r["val"]["n_id"] == r["test"]["n_id"] == 16 and 0 <= r["val"]["AUROC"] <= 1 and r["seconds"] >= 0
    best = next(r for r in recs if r["kind"] == "grid")["best"][name]
    assert best == {**best_of(rows), "scores": best["scores"]}
    comp = next(r for r in recs if r["kind"] == "comparison")
    row = next(c for c in comp["rows"] if c["name"] == name)
    assert row["AUROC"] == best["test"]["AUROC"] and row["relative cost"] > 0
    assert row["scores"].shape == (64,) and np.isfinite(row["scores"]).all()
    assert DETECTORS[name].title in comp["reading"]


def test_costs_are_measured_against_one_clean_forward_pass(cifar_run):
    _, _, recs = cifar_run
    rows = [r["row"] for r in recs if r["kind"] == "setting"]
    forward = next(r["seconds"] for r in rows if r["detector"] == "msp")
    assert all(r["seconds"] == forward for r in rows if DETECTORS[r["detector"]].from_logits is not None)
    perturbed = [r["seconds"] for r in rows if r["detector"] == "odin" and r["params"]["epsilon"] > 0]
    assert sum(perturbed) / len(perturbed) > forward  # a backward pass and a second forward on average (each one
    # alone is milliseconds here, and a busy machine once made one of them faster than the timed clean forward)
    comp = next(r for r in recs if r["kind"] == "comparison")["rows"]
    assert next(c for c in comp if c["name"] == "msp")["relative cost"] == pytest.approx(1.0)


def test_the_choice_is_made_on_the_validation_half_and_reported_on_the_test_half():
    n, half = 40, 20
    perfect = np.r_[np.ones(n), np.zeros(n)]
    a = perfect.copy(); a[half:n] = 0; a[n + half:] = 1             # perfect on validation, inverted on test
    b = perfect.copy(); b[:half] = 0.2; b[n:n + half] = 0.8         # the opposite
    rows = [{"name": k, "val": evaluate(s, n, "val"), "test": evaluate(s, n, "test")} for k, s in (("a", a), ("b", b))]
    best = best_of(rows)
    assert best["name"] == "a" and best["val"]["AUROC"] == 1.0 and best["test"]["AUROC"] == 0.0
    assert best["test"]["n_id"] == half and best["test"]["n_ood"] == half
    tie = [{"name": "x", "val": {"AUROC": 0.9, "FPR@95": 0.2}}, {"name": "y", "val": {"AUROC": 0.9, "FPR@95": 0.1}},
           {"name": "z", "val": {"AUROC": 0.9, "FPR@95": 0.1}}]
    assert best_of(tie)["name"] == "y"  # ties: lower validation FPR@95, then the earlier setting


def test_a_stopped_search_says_so(tmp_path):
    sc.clear_cache()
    exp = sc.get_experiment(make_digits_checkpoint(tmp_path), "uniform", 40)
    stop = threading.Event()
    recs = []
    for rec in grid_search(exp, {"temperature": (1.0, 2.0), "epsilon": (0.001,)}, stop):
        recs.append(rec)
        if rec["kind"] == "setting":
            stop.set()
    assert [r["kind"] for r in recs if r["kind"] != "progress"] == ["skipped", "setting", "grid"]
    assert recs[-1]["stopped"] and (recs[-1]["done"], recs[-1]["total"]) == (1, 6) and recs[-1]["best"] == {}


def test_each_setting_shows_the_time_it_took_now_and_they_add_up_to_the_wall_time(tmp_path):
    """Honest timing: a row's wall is its own time in this run (cached rows say so), the rows plus the clean
    forward pass add up to the search's wall time; running records say how long is left."""
    sc.clear_cache()
    exp = sc.get_experiment(make_digits_checkpoint(tmp_path), "uniform", 100)
    grid = {"temperature": (1.0, 2.0), "epsilon": (0.0, 0.001, 0.002)}
    first = list(grid_search(exp, grid))
    end = first[-1]
    assert sum(r["wall"] for r in end["rows"]) + end["forward_wall"] == pytest.approx(end["wall"], abs=0.01)
    odin = [r for r in end["rows"] if r["detector"] == "odin"]
    assert [r["cached"] for r in odin] == [False] * 6
    progress = [r for r in first if r["kind"] == "progress"]
    assert progress and all(r["remaining"] >= 0 and r["rows_done"] < r["rows_total"] for r in progress)
    assert all(r["remaining"] >= 0 for r in first if r["kind"] == "setting")
    assert next(r for r in first if r["kind"] == "setting")["remaining"] > 0  # eps > 0 settings still to come
    again = list(grid_search(exp, grid))[-1]
    assert all(r["cached"] for r in again["rows"]) and again["forward_wall"] < end["wall"]
    assert not [r for r in list(grid_search(exp, grid)) if r["kind"] == "progress"]  # nothing computed: no batches


def test_a_grid_wider_than_the_sign_cache_runs_again_from_the_caches(tmp_path):
    sc.clear_cache()
    exp = sc.get_experiment(make_digits_checkpoint(tmp_path), "uniform", 40)
    grid = {"temperature": tuple(float(t) for t in range(1, sc.MAX_SIGN_TEMPERATURES + 3)), "epsilon": (0.001,)}
    first = [r["row"] for r in grid_search(exp, grid) if r["kind"] == "setting"]
    calls = []
    exp.model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    again = [r["row"] for r in grid_search(exp, grid) if r["kind"] == "setting"]
    assert calls == [] and [r["seconds"] for r in again] == [r["seconds"] for r in first]  # evicted signs: no crash
    assert [r["val"] for r in again] == [r["val"] for r in first]


def _contrast(net, inputs, std=None, scale=1.0):
    """A toy detector that needs no network: the pixel spread of an image (digits: dark page, bright strokes)."""
    return scale * inputs.float().flatten(1).std(1)


def test_a_registered_detector_appears_in_the_grid_the_comparison_and_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(DETECTORS, "flat", Detector("Contrast", "classifier", _contrast, {"scale": (1.0, 3.0)}))
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    make_digits_checkpoint(tmp_path, "tiny_digits")
    cfg = params.build(GridConfig, checkpoint="tiny_digits", ood_set="uniform", images_per_side=40, **GRID)
    recs = list(ex.run(cfg))
    toy = [r["row"] for r in recs if r["kind"] == "setting" and r["row"]["detector"] == "flat"]
    assert [r["setting"] for r in toy] == ["scale=1", "scale=3"]
    comp = next(r for r in recs if r["kind"] == "comparison")["rows"]
    assert comp[-1]["detector"] == "Contrast" and comp[-1]["AUROC"] > 0.9  # digits spread wider than uniform noise
    out = tmp_path / "out"
    assert main(["odin", "--dry-run", "--out", str(out), "--ood", "uniform", "--temperatures", "1",
                 "--epsilons", "0"]) == 0
    assert "Contrast" in capsys.readouterr().out
    grid = list(csv.DictReader(open(out / "grid.csv")))
    assert [float(r["scale"]) for r in grid if r["detector"] == "Contrast"] == [1.0, 3.0]
    assert "Contrast" in [r["detector"] for r in csv.DictReader(open(out / "comparison.csv"))]


def test_a_search_can_be_limited_to_some_detectors(tmp_path):
    """The reference stage's second epsilon scale searches ODIN alone: only the named detectors run and are
    chosen; one not registered is a clear error, not an empty search."""
    sc.clear_cache()
    exp = sc.get_experiment(make_digits_checkpoint(tmp_path), "uniform", 40)
    grid = {"temperature": (1.0, 2.0), "epsilon": (0.0, 0.001)}
    recs = list(grid_search(exp, grid, detectors=("odin", "msp")))
    rows = recs[-1]["rows"]
    order = [k for k in DETECTORS if k in ("odin", "msp")]  # DETECTORS' order, every setting of each
    assert [r["detector"] for r in rows] == [k for k in order for _ in range(4 if k == "odin" else 1)]
    assert set(recs[-1]["best"]) == {"msp", "odin"} and not [r for r in recs if r["kind"] == "skipped"]
    everything = list(grid_search(exp, grid))[-1]["rows"]
    odin = [r["val"] for r in rows if r["detector"] == "odin"]
    assert [r["val"] for r in everything if r["detector"] == "odin"] == odin  # the same rows as in a full search
    with pytest.raises(params.LabsError, match="unknown detector"):
        list(grid_search(exp, grid, detectors=("odin", "nope")))
