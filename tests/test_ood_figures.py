"""The ODIN figure and table builders return the expected traces / columns for tiny inputs."""

import numpy as np
import pytest

from labs.core import metrics
from labs.ood import figures, tables
from labs.ood.protocol import evaluate

SID, SOOD = np.array([0.9, 0.8, 0.7, 0.4]), np.array([0.1, 0.75, 0.3])


def _row(detector, title, params, scores, seconds=0.5):
    n = len(scores) // 2
    return {"detector": detector, "title": title, "params": params,
            "setting": ", ".join(f"{k}={v:g}" for k, v in params.items()) or "-",
            "val": evaluate(scores, n, "val"), "test": evaluate(scores, n, "test"), "seconds": seconds}


def _rows():
    rng = np.random.default_rng(0)
    rows = []
    for T in (1.0, 10.0):
        for eps in (0.0, 0.002):
            rows.append(_row("odin", "ODIN", {"temperature": T, "epsilon": eps}, rng.random(8)))
    rows.append(_row("msp", "Max softmax", {}, rng.random(8)))
    return rows


def test_roc_figure_draws_one_curve_per_detector_and_chance():
    fig = figures.roc_figure({"ODIN": (SID, SOOD), "Max softmax": (SOOD, SID)})
    assert [t.name for t in fig.data] == [f"ODIN (AUROC {metrics.auroc(SID, SOOD):.3f})",
                                          f"Max softmax (AUROC {metrics.auroc(SOOD, SID):.3f})", "chance"]
    assert fig.data[0].x[0] == 0 and fig.data[0].x[-1] == 1 and fig.data[0].y[-1] == 1
    assert len(figures.roc_figure({}).data) == 0
    assert len(fig.layout.annotations) == 1  # only "TPR 95%": nothing coincides


def test_coinciding_roc_curves_are_said_to_coincide_and_drawn_dashed_on_top():
    same_ranks = (SID * 2 + 1, SOOD * 2 + 1)  # another score with the same order: the very same ROC curve
    curves = {"ODIN (T=1, ε=0)": (SID, SOOD), "Max softmax (T=1)": same_ranks, "Other": (SOOD, SID)}
    assert figures.coinciding(curves) == {"Max softmax (T=1)": "ODIN (T=1, ε=0)"}
    fig = figures.roc_figure(curves)
    assert fig.data[1].name.startswith("Max softmax (T=1) = ODIN (T=1, ε=0): identical curve")
    assert fig.data[1].line.dash == "dash" and fig.data[0].line.dash is None and fig.data[2].line.dash is None
    notes = [a.text for a in fig.layout.annotations]
    assert "Max softmax (T=1) and ODIN (T=1, ε=0) coincide: identical scores" in notes


def test_score_histograms_draw_id_and_ood_per_panel_and_the_threshold_label_stays_inside():
    fig = figures.score_histograms({"ODIN": (SID, SOOD), "Max softmax": (SID, SOOD)})
    assert [(t.name, t.xaxis) for t in fig.data] == [("ID", "x"), ("OOD", "x"), ("ID", "x2"), ("OOD", "x2")]
    assert [t.showlegend for t in fig.data] == [True, True, False, False]
    assert sum(fig.data[0].y) == pytest.approx(1.0) and sum(fig.data[1].y) == pytest.approx(1.0)  # shares per side
    assert fig.layout.shapes[0].x0 == metrics.threshold_at_tpr(SID, SOOD)
    thr = [a for a in fig.layout.annotations if a.text.startswith("95% TPR")]
    titles = [a for a in fig.layout.annotations if a.text.startswith("<b>")]
    assert len(thr) == 2 and len(titles) == 2
    # the threshold's label hangs from the top of its panel, inside it; the panel titles sit above the panels
    assert all(a.yref.endswith("domain") and a.y <= 1 and a.yanchor == "top" for a in thr)
    assert all(a.yref == "paper" and a.y >= figures.SUBPLOT_TITLE_Y > 1 for a in titles)
    high = figures.score_histograms({"x": (np.array([0.9, 0.92, 0.95, 1.0]), np.array([0.0, 0.1]))})
    label = next(a for a in high.layout.annotations if a.text.startswith("95% TPR"))
    assert label.xanchor == "right"  # a threshold far right: the label extends to its left, inside the plot
    assert len(figures.score_histograms({}).data) == 0


def test_auroc_heatmap_stars_its_choice_in_the_corner_and_keeps_every_value():
    rows = _rows()
    best = {"odin": rows[2], "msp": rows[4]}
    fig = figures.auroc_heatmap(rows, best)
    heat, star = fig.data
    assert heat.type == "heatmap" and list(fig.layout.yaxis.ticktext) == ["1", "10"]
    assert list(fig.layout.xaxis.ticktext) == ["0", "0.002"]
    assert heat.z[1][0] == rows[2]["val"]["AUROC"] and heat.z[0][1] == rows[1]["val"]["AUROC"]
    assert heat.text[1][0] == f"{rows[2]['val']['AUROC']:.3f}"  # the best cell keeps its value
    # the star sits in the chosen cell (x 0, y 1) but off its centre, where the value is written
    assert star.name == "best (validation)" and star.marker.size <= 14
    assert abs(star.x[0] - 0) >= 0.25 and abs(star.y[0] - 1) >= 0.25
    assert round(star.x[0]) == 0 and round(star.y[0]) == 1
    assert all(t.name and t.showlegend is not False for t in fig.data)  # every trace has a legend entry
    assert len(figures.auroc_heatmap(rows[4:]).data) == 0  # no two-axis detector: the hint


def test_a_partial_heatmap_says_running_or_stopped_and_shows_the_whole_grid():
    rows = _rows()[:3]
    space = {"temperature": (1.0, 10.0), "epsilon": (0.0, 0.002)}
    running = figures.auroc_heatmap(rows, {}, space=space, state="running")
    assert len(running.data) == 1 and "running: 3 of 4 settings" in running.layout.title.text
    stopped = figures.auroc_heatmap(rows, {}, space=space, state="stopped")
    assert "stopped after 3 of 4 settings" in stopped.layout.title.text and len(stopped.data) == 1  # no star
    assert any("no best chosen" in a.text for a in stopped.layout.annotations)
    assert stopped.data[0].z[1][1] is None and stopped.data[0].text[1][1] == ""  # the cell not computed: blank
    assert "settings" not in figures.auroc_heatmap(rows, {}, space=space).layout.title.text


def test_comparison_bars_one_named_bar_per_detector_labels_never_clipped():
    rows = [{"detector": "ODIN", "AUROC": 0.9}, {"detector": "Autoencoder", "AUROC": 0.995}]
    fig = figures.comparison_bars(rows)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == ["ODIN", "Autoencoder"] and [b.y[0] for b in bars] == [0.9, 0.995]
    assert all(b.cliponaxis is False and b.textposition == "outside" for b in bars)
    assert fig.layout.yaxis.range[1] >= 1.1  # room above a bar at 1.0 for its label
    assert fig.data[-1].name == "chance (0.5)" and all(t.name for t in fig.data)
    assert [t.showlegend for t in fig.data] == [False, False, None]  # the axis names the bars
    assert list(fig.layout.xaxis.ticktext) == ["ODIN", "Autoencoder"] and fig.layout.xaxis.tickangle == 0
    assert len(figures.comparison_bars([]).data) == 0
    # ODIN on both ε scales: two named bars, each full width (no grouping into thin slots)
    both = [{"detector": "ODIN", "setting": "T=1, ε=0.004, seed's ε scale", "AUROC": 0.95},
            {"detector": "ODIN", "setting": "T=1, ε=0.001, paper's ε scale (pixel units)", "AUROC": 0.94},
            {"detector": "Energy score", "setting": "T=1", "AUROC": 0.8},
            {"detector": "Energy score", "setting": "T=10", "AUROC": 0.7}]
    fig = figures.comparison_bars(both)
    assert [t.x[0] for t in fig.data if t.type == "bar"] == ["ODIN (seed's ε)", "ODIN (paper's ε)",
                                                             "Energy score (T=1)", "Energy score (T=10)"]
    assert fig.layout.barmode == "overlay" and fig.layout.xaxis.ticktext[0] == "ODIN<br>(seed's ε)"
def test_tables_use_short_columns_and_honest_times():
    table = tables.metrics_table({"ODIN": (SID, SOOD)})
    assert list(table.columns) == tables.METRIC_COLUMNS and len(tables.METRIC_COLUMNS) <= 7
    assert table.loc[0, "AUROC"] == round(metrics.auroc(SID, SOOD), 4) and "Det. err" in table and "thr@95" in table
    assert all(len(c) <= 10 for c in tables.METRIC_COLUMNS + tables.COMPARISON_COLUMNS + tables.GRID_COLUMNS)
    assert all(w in tables.METRIC_LEGEND for w in ("FPR95", "Det. err", "thr@95"))  # the short names explained
    rows = _rows()
    rows[0].update(wall=0.0, cached=True)
    rows[1].update(wall=1.234, cached=False)
    grid = tables.grid_table(rows)
    assert list(grid.columns) == tables.GRID_COLUMNS and list(grid["detector"]) == ["ODIN"] * 4 + ["Max softmax"]
    assert list(grid["setting"])[:2] == ["temperature=1, epsilon=0", "temperature=1, epsilon=0.002"]
    assert list(grid["time"])[:2] == ["cached", "1.23 s"]
    text = tables.best_text({"odin": rows[3], "msp": rows[4]},
                            [{"title": "Autoencoder", "reason": "no autoencoder checkpoint"}])
    assert text.startswith("**Best on the validation half**") and "ODIN: temperature=10, epsilon=0.002" in text
    assert "Max softmax" not in text and "Autoencoder: skipped (no autoencoder checkpoint)" in text
    stopped = tables.best_text({}, [], unfinished=["ODIN"])
    assert "ODIN: search stopped before its last setting, no setting chosen" in stopped
    comp = tables.comparison_table([{"detector": "ODIN", "setting": "T=1", "seconds": 1.23456, "relative cost": 2.0,
                                     **{k: 0.5 for k in metrics.OOD_METRICS}}])
    assert list(comp.columns) == tables.COMPARISON_COLUMNS and comp.loc[0, "cost"] == "2.0×"
    assert [tables.cost_text(c) for c in (3.382, 0.1, 0.0267, 0.043)] == ["3.4×", "0.1×", "0.027×", "0.043×"]
    assert comp.loc[0, "detector"] == "ODIN (T=1)" and comp.loc[0, "Det. err"] == 0.5


def test_grid_status_lines_say_running_stopped_or_finished_with_times():
    run = {"kind": "progress", "done": 5, "total": 12, "setting": "ODIN T=10, ε=0.002", "rows_done": 64,
           "rows_total": 200, "elapsed": 3.2, "remaining": 4.4}
    assert tables.grid_status(run) == ("running: 5 of 12 settings done · ODIN T=10, ε=0.002 64/200 images · "
                                       "3.2 s so far, about 4 s left")
    rows = [{"wall": 2.0}, {"wall": 1.0}]
    stop = {"kind": "grid", "stopped": True, "done": 2, "total": 12, "rows": rows, "wall": 3.5, "forward_wall": 0.5}
    assert tables.grid_status(stop).startswith("**Stopped after 2 of 12 settings** (total 3.50 s wall = clean "
                                               "forward pass 0.50 s + settings 3.00 s)")
    assert tables.grid_status({**stop, "stopped": False}).startswith("Finished: 2 of 12 settings, total 3.50 s")
    assert tables.grid_label("stopped", 7, 12).endswith("stopped after 7 of 12 settings")
    assert tables.comparison_label("stopped", 7, 12).endswith("not produced: the search stopped after 7 of 12 settings")


def test_running_status_lines_say_how_long_is_left():
    live = {"done": 64, "total": 200, "n_id": 100, "n_ood": 100, "ood_title": "Uniform noise", "seconds": 0.5,
            "how": "gradient + forward passes", "remaining": 12.0}
    assert tables.live_status(live).startswith("computing… 64/200 images (100 ID + 100 Uniform noise) · 0.50 s, "
                                               "about 12 s left")
    assert "time left: measuring…" in tables.live_status({**live, "remaining": None})
    assert "left" not in tables.live_status({**live, "done": 200})
    step = {"kind": "step", "step": 10, "total_steps": 40, "seconds": 5.0, "train_loss": 1.0}
    assert tables.training_status(step, "it").endswith("step 10/40, loss 1.0000 · about 15 s left")
    ev = {"kind": "eval", "step": 20, "total_steps": 40, "seconds": 10.0, "test_loss": 1.0, "test_acc": 0.5}
    assert tables.training_status(ev, "it").endswith("· about 10 s left")
    start = {"kind": "start", "parameters": 1000, "n_train": 256}
    assert tables.training_status(start, "it", "≈ 40 s, measured on this machine").endswith("measured on this machine")
    saved = {"kind": "saved", "path": "/x/resnet77_cifar10_quick.safetensors",
             "metrics": {"final_test_acc": 0.5, "seconds": 12}}
    assert tables.training_status(saved, "it") == "Saved `resnet77_cifar10_quick`: test accuracy 50.0% after 12 s."
