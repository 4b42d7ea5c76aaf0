"""RESULTS.md's targets table and learning curves, judged from results files (labs/reproduce/targets.py)."""

import pytest

from labs.reproduce import report, targets


def _record(stage: str, table: list[dict], config: dict | None = None, runs: list | None = None,
            dry: bool = False) -> dict:
    return {"stage": stage, "table": table, "config": config or {}, "runs": runs or [], "dry_run": dry}


def _cnn(plain: list[tuple[float, float]], resnet: list[tuple[float, float]]) -> dict:
    rows = []
    for size, p, r in zip(("Small", "Medium", "Large"), plain, resnet):
        rows.append({"Architecture": "PlainCNN", "Size": size, "Final accuracy": p[0], "Final train loss": p[1]})
        rows.append({"Architecture": "ResNet", "Size": size, "Final accuracy": r[0], "Final train loss": r[1]})
    return _record("cnn", rows)


@pytest.mark.parametrize("acc, status, words", [
    (0.9131, "met", "91.31% (the goal 91.25% too)"),
    (0.9050, "met", "90.50% (0.75 points below the goal 91.25%)"),
    (0.8950, "not met", "89.50%, 0.50 points short (learning curve below)"),
])
def test_reference_target_says_how_far_from_90(acc, status, words):
    assert targets.reference(_record("reference", [{"Test accuracy": acc}])) == (status, words)


def test_cnn_targets_read_the_depth_trend_of_each_architecture():
    seed_like = _cnn(plain=[(0.80, 0.30), (0.75, 0.45), (0.70, 0.60)], resnet=[(0.80, 0.30), (0.82, 0.25),
                                                                                 (0.83, 0.22)])
    assert targets.resnet_large(seed_like) == ("met", "ResNet Large 83.00%")
    assert targets.plain_degrades(seed_like)[0] == "met"
    status, measured = targets.resnet_holds(seed_like)
    assert status == "met" and measured == ("accuracy 80.00% / 82.00% / 83.00%, final train loss "
                                            "0.300 / 0.250 / 0.220 (Small / Medium / Large)")
    # the preset this project once shipped: Medium above Large, and Large's loss above Small's
    contradicted = _cnn(plain=[(0.70, 0.60), (0.72, 0.55), (0.69, 0.65)], resnet=[(0.3985, 1.2), (0.43, 1.1),
                                                                                   (0.3975, 1.25)])
    assert targets.plain_degrades(contradicted)[0] == "not met"
    assert targets.resnet_holds(contradicted)[0] == "not met"
    assert targets.resnet_large(contradicted) == ("not met", "ResNet Large 39.75%")


def test_cnn_notes_give_the_gap_per_depth_and_the_steps_where_plain_degrades():
    from labs.reproduce.cnn_notes import cnn_notes

    # the full-scale run's shape: Small plain held back by capacity, degradation from Medium to Large only
    table = _cnn(plain=[(0.8199, 0.9265), (0.8343, 0.8532), (0.8199, 0.8774)],
                 resnet=[(0.8254, 0.9209), (0.8633, 0.7858), (0.8709, 0.7614)])["table"]
    notes = cnn_notes(table)
    assert "ResNet minus PlainCNN: +0.55 / +2.90 / +5.10 points of test accuracy, -0.006 / -0.067 / -0.116 of " \
           "final train loss (Small / Medium / Large)." in notes
    steps = [n for n in notes if n.startswith("From ")]
    assert steps == ["From Medium to Large PlainCNN gets worse (83.43% -> 81.99%, train loss 0.853 -> 0.877) "
                     "while ResNet gets better (86.33% -> 87.09%, 0.786 -> 0.761)."]
    # no step is named where ResNet degrades too
    worse = _cnn(plain=[(0.80, 0.30), (0.75, 0.45)], resnet=[(0.80, 0.30), (0.78, 0.35)])["table"]
    assert not [n for n in cnn_notes(worse) if n.startswith("From ")]


def test_cnn_notes_name_the_epochs_where_accuracy_falls_with_every_step_in_depth():
    from labs.reproduce.cnn_notes import cnn_notes

    table = _cnn(plain=[(0.82, 0.93), (0.83, 0.85), (0.82, 0.88)], resnet=[(0.83, 0.92), (0.86, 0.79), (0.87, 0.76)])
    accs = {"PlainCNN": [(0.35, 0.29, 0.28), (0.49, 0.47, 0.39), (0.60, 0.62, 0.64)],
            "ResNet": [(0.38, 0.46, 0.45), (0.56, 0.53, 0.46), (0.70, 0.72, 0.75)]}
    runs = [{"name": f"{arch} {size}", "final": {},
             "curves": [{"epoch": e + 1, "test_acc": accs[arch][e][i]} for e in range(3)]}
            for arch in accs for i, size in enumerate(("Small", "Medium", "Large"))]
    note = cnn_notes(table["table"], runs)[-1]
    assert note == ("Test accuracy falls at every step in depth (Small > Medium > Large) for PlainCNN after epochs "
                    "1, 2 of 3 (after epoch 2: 49.00% / 47.00% / 39.00%); for ResNet after epoch 2 of 3 (after "
                    "epoch 2: 56.00% / 53.00% / 46.00%).")
    for run in runs[:3]:  # PlainCNN never falls at every step: no such note
        run["curves"] = [{"epoch": 1, "test_acc": 0.5}]
    assert not cnn_notes(table["table"], runs)[-1].startswith("Test accuracy falls")
    assert cnn_notes(table["table"]) == cnn_notes(table["table"], [])  # without curves: the table's notes only


def test_transfer_targets_exclude_the_svm_and_from_scratch_rows():
    table = [{"Strategy": targets.SVM, "Optimizer": "LinearSVC", "Test Accuracy": 0.2176},
             {"Strategy": "No freeze", "Optimizer": "SGD", "Test Accuracy": 0.4950},
             {"Strategy": "Freeze input only", "Optimizer": "Adam", "Test Accuracy": 0.5100},
             {"Strategy": "From scratch", "Optimizer": "SGD", "Test Accuracy": 0.60}]
    record = _record("transfer", table)
    assert targets.transfer_best(record) == ("met", "Freeze input only with Adam: 51.00% (2.30 points below "
                                                    "the seed's)")
    assert targets.transfer_svm(record) == ("met", "21.76% (the seed's 18.50%)")
    table[2]["Test Accuracy"] = 0.4900
    status, measured = targets.transfer_best(record)
    assert status == "not met" and measured.startswith("No freeze with SGD: 49.50%, 3.80 points below")


def test_transfer_notes_compare_optimisers_strategies_scratch_and_svm_with_the_seed():
    from labs.reproduce.stages_more import transfer_notes
    from labs.transfer.config import SCRATCH, SEED_RESULTS

    seed_table = [{"Strategy": targets.SVM, "Test Accuracy": 0.185}] + SEED_RESULTS
    accs = {("Freeze input only", "Adam"): 0.57, ("Freeze input only", "SGD"): 0.605, ("No freeze", "Adam"): 0.571,
            ("No freeze", "SGD"): 0.59, ("Freeze all early", "Adam"): 0.55, ("Freeze all early", "SGD"): 0.58}
    table = ([{"Strategy": targets.SVM, "Optimizer": "LinearSVC", "Test Accuracy": 0.2071}]
             + [{"Strategy": s, "Optimizer": o, "Test Accuracy": a} for (s, o), a in accs.items()]
             + [{"Strategy": SCRATCH, "Optimizer": "Adam", "Test Accuracy": 0.40}])
    assert transfer_notes(table, seed_table) == [
        "Best fine-tuning row: Freeze input only with SGD, 60.50% (+7.20 points against the seed's best 53.30%).",
        "Best row per optimiser: SGD 60.50% (the seed's 50.64%), Adam 57.10% (the seed's 53.30%).",
        "Best row per freeze strategy: Freeze input only 60.50% (the seed's 53.30%), No freeze 59.00% (the seed's "
        "53.06%), Freeze all early 58.00% (the seed's 47.89%).",
        "The same ResNet from scratch, same budget: 40.00%, 20.50 points below the best fine-tuning row: what "
        "starting from the CIFAR-10 weights is worth here.",
        "The linear SVM on the frozen features: 20.71% (the seed's 18.50%), 39.79 points below the best "
        "fine-tuning row."]
    assert transfer_notes(table[:1], seed_table) == []  # the SVM alone: nothing to compare yet
    assert len(transfer_notes(table[:2], seed_table)) == 2  # one run: its row and the SVM, no per-key lines


def test_odin_target_needs_10k_per_side_and_both_scales():
    config = {"gaussian": {"images_per_side": 10_000}, "mnist": {"images_per_side": 10_000}}
    rows = [{"OOD set": s, "Detector": d, "Setting": f"{d} {k}"} for s in ("Gaussian", "MNIST")
            for d, k in (("ODIN", "seed"), ("ODIN", "paper"), ("Max softmax", ""))]
    assert targets.odin_full(_record("odin", rows, config)) == (
        "met", "2 OOD sets, 10,000 / 10,000 images per side; ODIN rows on both ε scales")
    one_scale = [r for r in rows if r["Setting"] != "ODIN paper"]
    assert targets.odin_full(_record("odin", one_scale, config))[0] == "not met"
    # one ODIN row at ε = 0 counts for both scales only where the run's grid searched the paper's scale too
    zero = [r for r in one_scale if r["OOD set"] != "MNIST" or r["Detector"] != "ODIN"] + [
        {"OOD set": "MNIST", "Detector": "ODIN", "Setting": "T=1, ε=0"}]
    grid = [{"setting": "T=1, ε=0"}, {"setting": "T=1, ε=0.001, seed's ε scale"}]
    runs = [{"name": "MNIST", "final": {"grid": grid}}]
    assert targets.odin_full(_record("odin", zero, config, runs))[0] == "not met"  # Gaussian: seed's scale only
    zero = [r for r in rows if r["OOD set"] != "MNIST"] + zero[-1:]
    assert targets.odin_full(_record("odin", zero, config, runs))[0] == "not met"  # MNIST: paper's not searched
    runs[0]["final"]["grid"].append({"setting": "T=1, ε=0.001, paper's ε scale (pixel units)"})
    assert targets.odin_full(_record("odin", zero, config, runs)) == (
        "met", "2 OOD sets, 10,000 / 10,000 images per side; ODIN rows on both ε scales (MNIST: ε = 0 chosen "
               "on both, one row)")
    config["mnist"]["images_per_side"] = 2_000
    assert targets.odin_full(_record("odin", rows, config))[0] == "not met"


def test_mlp_target_names_the_optimiser_that_shows_the_instability():
    table = [{"Model": "MLP-16", "Optimizer": "SGD", "Final test accuracy": 0.9, "Largest drop between "
              "evaluations": 0.01},
             {"Model": "ResidualMLP-16", "Optimizer": "SGD", "Final test accuracy": 0.97, "Largest drop between "
              "evaluations": 0.3}]
    assert targets.mlp_instability(_record("mlp", table))[0] == "not met"  # a residual fall does not count
    table[0]["Largest drop between evaluations"] = 0.3794
    status, measured = targets.mlp_instability(_record("mlp", table))
    assert status == "met" and measured == "SGD: ends at 90.00%, largest fall between evaluations 37.94 points"


def test_check_covers_every_target_and_says_what_is_missing():
    found = {"reference": _record("reference", [{"Test accuracy": 0.91}], dry=True)}
    rows = targets.check(found)
    assert [r["Stage"] for r in rows] == [stage for stage, _, _ in targets.TARGETS]
    ref = next(r for r in rows if r["Stage"] == "reference")
    assert ref["Status"] == "met (dry run)"
    assert {r["Status"] for r in rows if r["Stage"] != "reference"} == {"not produced yet"}


def test_per_epoch_keeps_the_last_evaluation_of_each_epoch_and_thins_long_runs():
    curves = [{"epoch": e / 2, "test_acc": e / 100} for e in range(1, 9)]  # two evaluations an epoch
    assert targets.per_epoch(curves) == [(1, 0.02), (2, 0.04), (3, 0.06), (4, 0.08)]
    long = [{"epoch": float(e), "test_acc": e / 100} for e in range(1, 81)]
    points = targets.per_epoch(long)
    assert [e for e, _ in points] == [1] + list(range(8, 81, 8))
    assert targets.per_epoch([{"epoch": 1.0, "test_acc": None}]) == []


def test_report_prints_the_targets_and_the_learning_curves():
    run = {"name": "ResNet[7,7]", "curves": [{"epoch": 1.0, "test_acc": 0.5}, {"epoch": 2.0, "test_acc": 0.8951}],
           "final": {}}
    record = dict(_record("reference", [{"Test accuracy": 0.8951}], runs=[run]), schema=1, title="t", seed=0,
                  seed_table=[], notes=[], command="c", hardware={"gpu": "x"}, compute_seconds=1.0, commit="x",
                  date="d", checkpoints=[])
    text = report.render({"reference": record})
    assert "| ResNet[7,7] reference classifier >= 90%" in text and "| not met | 89.51%, 0.49 points short" in text
    assert "- ResNet[7,7]: 1: 50.00% · 2: 89.51%" in text
