"""Every tab shows the reference runs (results/*.json of `python -m labs reproduce`) from the first view (issue 10
point 3, issue 9 point 3): the builders on small records that pass results.validate, the line and the seed's
table when a file is missing, the live run drawn over the reference, ODIN's checkpoint list by name without
torch (the first view in a real browser: test_reference_browser.py)."""

from __future__ import annotations

import inspect
import json

import pytest

from labs.core import reference as core_ref
from labs.reproduce import results

HW = {"device": "cpu", "cpu": "AMD EPYC 7763", "cores": 2, "threads": 2, "torch": "2.x"}
HW_TEXT = "2-core AMD EPYC 7763 CPU (2 threads)"


def _record(stage: str, config: dict, runs: list, table: list, seed_table: list | None = None) -> dict:
    return {"schema": results.SCHEMA_VERSION, "stage": stage, "title": stage, "config": config, "seed": 0,
            "runs": runs, "table": table, "seed_table": seed_table or [], "notes": [f"{stage} note."],
            "command": f"python -m labs reproduce --stage {stage}", "hardware": HW, "compute_seconds": 1.0,
            "commit": "abc", "date": "2025-01-01 00:00 UTC", "dry_run": False, "checkpoints": []}


def _curve(accs):
    return [{"epoch": i + 1, "step": 10 * (i + 1), "seconds": float(i), "test_acc": a, "test_loss": 1.0,
             "train_loss": 2.3 / (i + 1) ** 2} for i, a in enumerate(accs)]


def records() -> dict[str, dict]:
    mlp_cfg = {"dataset": "mnist", "epochs": 20, "train_subset": 0}
    mlp = _record("mlp", {"sgd": mlp_cfg, "adam": mlp_cfg},
                  [{"name": f"{m}, {o}", "curves": _curve([0.5, 0.9, 0.97]), "final": {}}
                   for o in ("SGD", "Adam") for m in ("MLP-16", "ResidualMLP-16")],
                  [{"Model": m, "Optimizer": o, "Final test accuracy": 0.97, "Epochs": 20}
                   for o in ("SGD", "Adam") for m in ("MLP-16", "ResidualMLP-16")])
    cnn = _record("cnn", {"dataset": "cifar10", "epochs": 30, "train_subset": 0, "test_subset": 0},
                  [{"name": f"{a} {s}", "curves": _curve([0.4, 0.7, 0.8]), "final": {}}
                   for s in ("Small", "Medium", "Large") for a in ("PlainCNN", "ResNet")],
                  [{"Architecture": a, "Size": s, "Final accuracy": 0.81, "Final train loss": 0.2, "Parameters": 1000,
                    "Seconds": 60.0} for s in ("Small", "Medium", "Large") for a in ("PlainCNN", "ResNet")])
    ft = [{"Strategy": s, "Optimizer": o, "Test Accuracy": 0.5, "Trainable Params": 162180, "Time (s)": 100.0}
          for s in ("Freeze input only", "No freeze", "Freeze all early") for o in ("Adam", "SGD")]
    transfer = _record("transfer", {"dataset": "cifar100", "epochs": 15, "train_subset": 0},
                       [], [{"Strategy": "Linear SVM on frozen features", "Optimizer": "LinearSVC (C=1)",
                             "Test Accuracy": 0.21, "Trainable Params": 3300, "Time (s)": 50.0}] + ft
                       + [{"Strategy": "From scratch (no transfer)", "Optimizer": "Adam", "Test Accuracy": 0.31,
                           "Trainable Params": 162644, "Time (s)": 90.0}])
    grid = [{"detector": "ODIN", "setting": f"T={t:g}, ε={e:g}", "val_auroc": 0.5 + t / 4000 + e * 10,
             "test_auroc": 0.6} for t in (1, 1000) for e in (0, 0.002)]
    metric = {"AUROC": 0.77, "FPR@95": 0.5, "AUPR-in": 0.7, "AUPR-out": 0.7, "Detection error": 0.2,
              "Relative cost": 3.0}
    odin = _record("odin", {"uniform": {"checkpoint": "resnet77_cifar10", "images_per_side": 10_000}},
                   [{"name": "Uniform noise", "curves": [], "final": {"grid": grid}}],
                   [{"OOD set": "Uniform noise", "Detector": "ODIN", "Setting": "T=1000, ε=0.002", **metric},
                    {"OOD set": "Uniform noise", "Detector": "Max softmax", "Setting": "-", **metric}])
    return {"mlp": mlp, "cnn": cnn, "transfer": transfer, "odin": odin}


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("results")
    for record in records().values():
        results.write(record, folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABS_RESULTS_DIR", str(folder))
        yield folder


@pytest.fixture
def no_results(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))  # nor a stage in progress (.state/<stage>/)
    return tmp_path


# ------------------------------------------------------------------ Lab 1

def test_lab1_label_table_and_curves(results_dir):
    from labs.residual import reference

    for stage, data, epochs, acc in (("mlp", "full data: 60,000 MNIST images", 20, "97.00%"),
                                     ("cnn", "full data: 50,000 CIFAR-10 images", 30, "81.00%")):
        record, line = reference.load(stage)
        assert line == ""
        assert reference.label(record) == f"reference run ({data}, {epochs} epochs, {HW_TEXT})"
        text, table = reference.view(stage, record)
        assert f"reference run ({data}, {epochs} epochs" in text and f"{stage} note." in text
        assert len(table) == len(record["table"]) and acc in table.to_string()
        fig = reference.first_figure(record, "Test accuracy")
        assert f"reference run ({data}, {epochs} epochs," in fig.layout.title.text.replace("<br>", " ")
        assert len(fig.data) == len(record["runs"])
        assert [d.name for d in fig.data][0].startswith("reference: ")
    assert "78.00%" in reference.view("cnn", records()["cnn"])[0]  # the seed's figure next to the reference


def test_lab1_live_curves_draw_over_thin_grey_reference_ones(results_dir):
    from labs.core import plots
    from labs.residual import reference

    record = reference.load("cnn")[0]
    live = plots.curves({"ResNet Small": ([1], [0.3])}, "Test accuracy per run", "epoch", "test accuracy")
    live_loss = plots.curves({"ResNet Small": ([1], [1.5])}, "Training loss per run", "epoch", "train loss")
    loss, acc, third = reference.with_reference((live_loss, live, "depth"), record)
    assert third == "depth" and [d.name for d in loss.data][-1] == "ResNet Small" and len(loss.data) == 7
    assert [d.name for d in acc.data] == [f"reference: {r['name']}" for r in record["runs"]] + ["ResNet Small"]
    under = acc.data[0]
    assert under.line.color in reference.GREYS and under.line.width < 2 and under.line.dash in ("dot", "dash")
    waiting = reference.overlay(plots.empty_figure("Test accuracy", "waiting for the first test point"), record)
    assert len(waiting.data) == 6 and "waiting for the first test point" in waiting.layout.title.text
    assert reference.overlay(live, None) is live
    (data,) = reference.datasets(record["config"])  # a run on another data set is not drawn over this reference
    assert len(reference.with_reference((live_loss, live, "depth"), record, data)[1].data) == len(acc.data)
    other = reference.with_reference((live_loss, live, "depth"), record, "svhn" if data != "svhn" else "digits")
    assert [d.name for d in other[1].data] == ["ResNet Small"] and [d.name for d in other[0].data] == ["ResNet Small"]
    assert reference.datasets({"sgd": {"dataset": "mnist"}, "adam": {"dataset": "mnist", "lr": 1}}) == {"mnist"}


def test_lab1_loss_plots_draw_the_reference_training_loss_too(results_dir):
    """The seed's phenomena are in the training loss as much as in test accuracy: the loss plot shows the
    reference runs' per-epoch train loss from the first view, and keeps them (grey) under a live run."""
    from labs.core import plots
    from labs.residual import reference

    record = reference.load("mlp")[0]
    losses = [[c["train_loss"] for c in r["curves"]] for r in record["runs"]]
    fig = reference.first_figure(record, "Training loss", stage="mlp", metric="train_loss", log_y=True)
    assert [list(d.y) for d in fig.data] == losses and fig.layout.yaxis.title.text == "train loss"
    assert fig.layout.yaxis.type == "log" and min(fig.layout.yaxis.tickvals) <= 2.5 * min(min(v) for v in losses)
    assert "reference run (full data" in fig.layout.title.text.replace("<br>", " ")
    live = plots.curves({"MLP-16": ([0.5, 1.0], [50.0, 40.0])}, "Training loss", "epoch", "train loss", log_y=True)
    loss, acc, _ = reference.with_reference((live, plots.empty_figure("Test accuracy"), None), record, log_loss=True)
    assert [d.name for d in loss.data] == [f"reference: {r['name']}" for r in record["runs"]] + ["MLP-16"]
    assert loss.data[0].line.color in reference.GREYS and loss.layout.yaxis.type == "log"
    ticks = list(loss.layout.yaxis.tickvals)  # labels the live curve (40-50) and the reference ones below it
    assert max(ticks) >= 40 and min(ticks) <= 2.5 * min(min(v) for v in losses)
    assert len(acc.data) == len(record["runs"])  # the accuracy plot still gets its own curves
    cnn = reference.first_figure(reference.load("cnn")[0], "Training loss per run", metric="train_loss")
    assert cnn.layout.yaxis.type != "log" and len(cnn.data) == len(reference.load("cnn")[0]["runs"])
    assert reference.first_figure(None, "Training loss", "line", metric="train_loss").layout.annotations[0].text \
        == "press the button to start"  # without a file the loss plot just waits (the accuracy plot says why)


def test_lab1_depth_plot_draws_the_reference_table_against_depth(results_dir):
    """Lab 1 B's accuracy-vs-depth plot: the reference table's final accuracy per architecture at 10/22/30
    layers from the first view, grey under a live run's finished points."""
    from labs.core import plots
    from labs.residual import reference

    record = reference.load("cnn")[0]
    fig = reference.first_figure(record, "Test accuracy vs depth", stage="cnn", metric="depth")
    assert [d.name for d in fig.data] == ["reference: PlainCNN", "reference: ResNet"]
    assert [list(d.x) for d in fig.data] == [[10, 22, 30]] * 2 and list(fig.data[0].y) == [0.81] * 3
    assert fig.layout.xaxis.title.text == "depth (weight layers)" and fig.layout.yaxis.tickformatstops
    live = plots.accuracy_vs_depth({"ResNet": ([10], [0.5])})
    empty = plots.empty_figure("Test accuracy per run")
    _, _, depth = reference.with_reference((empty, empty, live), record, depth=True)
    assert [d.name for d in depth.data] == ["reference: PlainCNN", "reference: ResNet", "ResNet"]
    assert depth.data[0].line.color in reference.GREYS
    assert reference.with_reference((empty, empty, live), record)[2] is live  # Part A's third plot: untouched
    assert reference.first_figure(None, "Test accuracy vs depth", metric="depth").layout.annotations[0].text == \
        "press the button to start"


def test_lab1_without_a_file_shows_the_seed_table_and_the_command(no_results):
    from labs.reproduce import stages
    from labs.residual import reference

    record, line = reference.load("cnn")
    assert record is None and line == "Reference run not produced yet: `python -m labs reproduce --stage cnn`"
    text, table = reference.view("cnn", record, line)
    assert text.startswith(line) and "the seed's table" in text
    assert table.to_dict("records")[0]["Final accuracy"] == "78.00%"
    assert "76-78%" in table.to_dict("records")[0]["Note"]
    fig = reference.first_figure(record, "Test accuracy per run", line)
    assert "python -m labs reproduce --stage cnn" in fig.layout.annotations[0].text
    for stage in ("mlp", "cnn"):  # the same rows as the reproduction writes into seed_table
        for row in reference.SEED_TABLES[stage]:
            assert all(str(v) in inspect.getsource(getattr(stages, stage)) for v in row.values()), row


def test_an_unreadable_file_is_one_line_not_a_crash(no_results):
    from labs.residual import reference

    (no_results / "mlp.json").write_text(json.dumps({"schema": 1}))
    record, line = reference.load("mlp")
    assert record is None and line.startswith("Reference run not readable: mlp.json: missing field")
    assert core_ref.load("cnn") == (None, core_ref.missing_line("cnn"))


# ------------------------------------------------------------------ transfer

def test_transfer_table_and_third_series_of_bars(results_dir):
    from labs.transfer import reference
    from labs.transfer.figures import comparison_bars

    record, _ = reference.load()
    name = f"reference run (full data: 50,000 CIFAR-100 images, 15 epochs, {HW_TEXT})"
    text, table = reference.view(record)
    assert name in text and list(table["Strategy"])[-2:] == ["From scratch (no transfer)",
                                                              "Linear SVM on frozen features"]  # best first
    assert len(table) == 8 and table["Test Accuracy"][0] == "50.00%"
    first = comparison_bars([], reference.bars(record))
    assert [t.name for t in first.data] == ["seed (full CIFAR-100, many epochs)", name]
    assert len(first.data[1].x) == 7 and first.data[1].y[-1] == pytest.approx(0.31)  # + the from-scratch bar
    live = [{"Strategy": "No freeze", "Optimizer": "Adam", "Test Accuracy": 0.2, "n_train": 500, "epochs": 1}]
    fig = comparison_bars(live, reference.bars(record))
    assert [t.name for t in fig.data] == ["ours: 500 images x 1 epoch", "seed (full CIFAR-100, many epochs)", name]
    assert list(fig.data[2].y) == [0.5]


def test_transfer_without_a_file_shows_the_seed_table(no_results):
    from labs.transfer import reference
    from labs.transfer.figures import comparison_bars

    record, line = reference.load()
    text, table = reference.view(record, line)
    assert text.startswith("Reference run not produced yet: `python -m labs reproduce --stage transfer`")
    assert table.to_dict("records")[0]["Test Accuracy"] == "18.50%" and len(table) == 7
    assert len(comparison_bars([], reference.bars(record)).data) == 1  # the seed's bars alone


# ------------------------------------------------------------------ ODIN

def test_odin_heatmap_and_comparison_of_the_selected_set(results_dir):
    from labs.ood import reference

    record, line = reference.load()
    heat, comp, bars = reference.view(record, line, "uniform")
    assert "reference run (10,000 + 10,000 images, checkpoint resnet77_cifar10" in heat.layout.title.text.replace(
        "<br>", " ")
    assert [d.name for d in bars.data] == ["ODIN", "Max softmax", "chance (0.5)"]
    assert HW_TEXT in comp["label"] and list(comp["value"]["detector"]) == ["ODIN (T=1000, ε=0.002)", "Max softmax"]
    z = heat.data[0].z
    assert z[1][1] == pytest.approx(0.5 + 0.25 + 0.02)  # T=1000 (row), ε=0.002 (column)
    assert heat.data[1].name == "best (validation)" and (heat.data[1].x[0], heat.data[1].y[0]) == (1.3, 1.3)
    heat, comp, bars = reference.view(record, line, "gaussian")
    assert "no Gaussian noise (it covers: Uniform noise)" in heat.layout.annotations[0].text
    # the live view starts at ODIN's chosen setting, for the reference's own checkpoint only
    assert reference.initial_setting(record, "uniform", "resnet77_cifar10") == {"temperature": 1000.0,
                                                                               "epsilon": 0.002}
    assert reference.initial_setting(record, "uniform", "tiny_digits") == {}
    assert reference.initial_setting(record, "gaussian", "resnet77_cifar10") == {}
    assert reference.initial_setting(None, "uniform", "resnet77_cifar10") == {}
    assert reference.parse_setting("T=10, ε=0.002, seed's ε scale") == {"eps_scale": "seed", "temperature": 10.0,
                                                                       "epsilon": 0.002}
    assert reference.parse_setting("T=1, ε=0.004, paper's ε scale (pixel units)") == {
        "eps_scale": "paper", "temperature": 1.0, "epsilon": 0.004}
    assert reference.parse_setting("T=1000, ε=0") == {"temperature": 1000.0, "epsilon": 0.0}


def test_odin_on_both_epsilon_scales_shows_the_seeds_heatmap_and_both_rows(results_dir):
    from labs.ood import reference
    from labs.reproduce import results

    record = results.read("odin", results_dir)
    paper = [{"detector": "ODIN", "setting": f"T={t:g}, ε=0.002, paper's ε scale (pixel units)",
              "val_auroc": 0.9, "test_auroc": 0.9} for t in (1, 1000)]
    seed = [{**g, "setting": g["setting"] + (", seed's ε scale" if not g["setting"].endswith("ε=0") else "")}
            for g in record["runs"][0]["final"]["grid"]]
    record["runs"][0]["final"]["grid"] = seed + paper
    first = record["table"][0]
    record["table"][:1] = [{**first, "Setting": "T=1000, ε=0.002, seed's ε scale"},
                           {**first, "Setting": "T=1, ε=0.002, paper's ε scale (pixel units)", "AUROC": 0.91}]
    heat, comp, bars = reference.view(record, "", "uniform")
    assert 0.9 not in [v for row in heat.data[0].z for v in row]  # the heatmap is the seed's scale
    assert heat.data[0].z[1][1] == pytest.approx(0.5 + 0.25 + 0.02)
    assert list(comp["value"]["detector"]) == ["ODIN (T=1000, ε=0.002, seed's ε scale)",
                                               "ODIN (T=1, ε=0.002, paper's ε scale (pixel units))", "Max softmax"]
    assert (heat.data[1].x[0], heat.data[1].y[0]) == (1.3, 1.3)  # the seed-scale ODIN setting is marked best


def test_odin_without_a_file_says_how_to_produce_it(no_results):
    from labs.ood import reference

    heat, comp, bars = reference.on_ood("uniform")
    assert "python -m labs reproduce --stage odin" in heat.layout.annotations[0].text
    assert len(comp["value"]) == 0


def test_odin_checkpoint_names_at_build_without_torch(tmp_path):
    from labs.core.models import CLASSIFIERS
    from labs.ood import names
    from test_ood_experiment import make_digits_checkpoint

    assert names.CLASSIFIER_MODELS == CLASSIFIERS
    make_digits_checkpoint(tmp_path, "b_digits")
    (tmp_path / "a_broken.safetensors").write_bytes(b"x")
    (tmp_path / "a_broken.json").write_text("{")
    found = names.initial_names(tmp_path)
    assert found == ["b_digits"] and names.initial_default(found) == "b_digits"
    assert names.initial_default(["a", "resnet77_cifar10"]) == "resnet77_cifar10"
