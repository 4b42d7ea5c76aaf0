"""The ODIN figure and table builders return the expected traces / columns for tiny inputs."""

import numpy as np
import pytest

from labs.core import metrics
from labs.ood import figures
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


def test_score_histograms_draw_id_and_ood_per_panel():
    fig = figures.score_histograms({"ODIN": (SID, SOOD), "Max softmax": (SID, SOOD)})
    assert [(t.name, t.xaxis) for t in fig.data] == [("ID", "x"), ("OOD", "x"), ("ID", "x2"), ("OOD", "x2")]
    assert [t.showlegend for t in fig.data] == [True, True, False, False]
    assert sum(fig.data[0].y) == pytest.approx(1.0) and sum(fig.data[1].y) == pytest.approx(1.0)  # shares per side
    assert fig.layout.shapes[0].x0 == metrics.threshold_at_tpr(SID, SOOD)
    assert len(figures.score_histograms({}).data) == 0


def test_auroc_heatmap_shows_the_two_axis_detector_and_stars_its_choice():
    rows = _rows()
    best = {"odin": rows[2], "msp": rows[4]}
    fig = figures.auroc_heatmap(rows, best)
    heat, star = fig.data
    assert heat.type == "heatmap" and list(heat.y) == ["1", "10"] and list(heat.x) == ["0", "0.002"]
    assert heat.z[1][0] == rows[2]["val"]["AUROC"] and heat.z[0][1] == rows[1]["val"]["AUROC"]
    assert star.name == "best (validation)" and list(star.y) == ["10"] and list(star.x) == ["0"]
    assert len(figures.auroc_heatmap(rows[:3]).data) == 1  # partial grid, nothing chosen yet: no star
    assert len(figures.auroc_heatmap(rows[4:]).data) == 0  # no two-axis detector: the hint


def test_comparison_bars_one_bar_per_detector():
    rows = [{"detector": "ODIN", "AUROC": 0.9}, {"detector": "Max softmax", "AUROC": 0.6}]
    fig = figures.comparison_bars(rows)
    assert len(fig.data) == 1 and list(fig.data[0].x) == ["ODIN", "Max softmax"] and list(fig.data[0].y) == [0.9, 0.6]
    assert len(figures.comparison_bars([]).data) == 0


def test_tables_and_status_lines():
    table = figures.metrics_table({"ODIN": (SID, SOOD)})
    assert list(table.columns) == figures.METRIC_COLUMNS and table.loc[0, "images"] == "4+3"
    assert table.loc[0, "AUROC"] == round(metrics.auroc(SID, SOOD), 4)
    rows = _rows()
    grid = figures.grid_table(rows)
    assert list(grid.columns) == figures.GRID_COLUMNS and list(grid["detector"]) == ["ODIN"] * 4 + ["Max softmax"]
    assert list(grid["setting"])[:2] == ["temperature=1, epsilon=0", "temperature=1, epsilon=0.002"]
    text = figures.best_text({"odin": rows[3], "msp": rows[4]},
                             [{"title": "Autoencoder", "reason": "no autoencoder checkpoint"}])
    assert text.startswith("**Best on the validation half**") and "ODIN: temperature=10, epsilon=0.002" in text
    assert "Max softmax" not in text and "Autoencoder: skipped (no autoencoder checkpoint)" in text
    comp = figures.comparison_table([{"detector": "ODIN", "setting": "T=1", "seconds": 1.23456, "relative cost": 2.0,
                                      **{k: 0.5 for k in metrics.OOD_METRICS}}])
    assert list(comp.columns) == figures.COMPARISON_COLUMNS and comp.loc[0, "cost (x forward)"] == 2.0
    live = {"done": 64, "total": 200, "n_id": 100, "n_ood": 100, "ood_title": "Uniform noise", "seconds": 0.5,
            "how": "gradient + forward passes"}
    assert figures.live_status(live).startswith("computing… 64/200 images (100 ID + 100 Uniform noise)")
    saved = {"kind": "saved", "path": "/x/resnet77_cifar10_quick.safetensors",
             "metrics": {"final_test_acc": 0.5, "seconds": 12}}
    assert figures.training_status(saved, "it") == "Saved `resnet77_cifar10_quick`: test accuracy 50.0% after 12 s."
