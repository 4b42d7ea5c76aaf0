"""The transfer lab's figure, table and status builders on tiny input: traces, names, states, legends, time left."""

from __future__ import annotations

import pytest

from labs.transfer.config import SEED_LABEL, SEED_RESULTS
from labs.transfer.figures import LEGEND_Y, SEED_PATTERN, LiveCurves, comparison_bars, epoch_text
from labs.transfer.status import SourceProgress, finetune_left, finetune_status, left, svm_status
from labs.transfer.tables import BUDGET_NOTE, NOT_FINAL, results_note, results_table, svm_summary


def _rec(kind, run, epoch, **values):
    return {"kind": kind, "run": run, "epoch": epoch, **values}


def _run(label, index, strategy="No freeze", optimizer="Adam", epochs=3):
    return {"kind": "run", "run": label, "run_index": index, "runs": 3, "strategy": strategy, "optimizer": optimizer,
            "trainable": 100 + index, "epochs": epochs}


def _row(strategy, optimizer, acc, seconds=30.0):
    return {"Strategy": strategy, "Optimizer": optimizer, "Test Accuracy": acc, "Trainable Params": 10,
            "Time (s)": seconds, "epochs": 3, "n_train": 5000, "n_test": 2000}


def _grid() -> LiveCurves:
    """Run 1 finished, run 2 stopped at epoch 1.5/3, run 3 running at epoch 0.5 (10 of 30 steps)."""
    live = LiveCurves()
    live.add({"kind": "start", "runs": ["Adam / No freeze", "SGD / No freeze", "Adam / Freeze all early"],
              "n_train": 5000, "n_test": 2000})
    live.add(_run("Adam / No freeze", 0))
    live.add(_rec("step", "Adam / No freeze", 1.0, step=10, total_steps=30, seconds=9.0, train_loss=2.0,
                  images_per_s=500))
    live.add(_rec("eval", "Adam / No freeze", 1.0, test_acc=0.3, seconds=10.0, eval_seconds=1.0))
    live.add({"kind": "row", "run": "Adam / No freeze", "row": _row("No freeze", "Adam", 0.3)})
    live.add(_run("SGD / No freeze", 1, optimizer="SGD"))
    live.add(_rec("step", "SGD / No freeze", 1.5, step=15, total_steps=30, seconds=14.0, train_loss=2.1,
                  images_per_s=500))
    live.add({"kind": "stopped", "run": "SGD / No freeze", "run_index": 1, "runs": 3, "epoch": 1.5, "epochs": 3,
              "seconds": 14.5})
    live.add(_run("Adam / Freeze all early", 2, strategy="Freeze all early"))
    live.add(_rec("step", "Adam / Freeze all early", 0.5, step=10, total_steps=30, seconds=8.0, train_loss=2.3,
                  images_per_s=500))
    return live


def test_live_curves_draw_one_trace_per_run():
    live = LiveCurves()
    loss, acc = live.figures()
    assert len(loss.data) == 0 and len(acc.data) == 0  # empty figures with a hint
    assert "press Run fine-tuning" in loss.layout.annotations[0].text
    for rec in [_rec("step", "Adam / No freeze", 0.5, train_loss=2.0, seconds=1), _rec("step", "Adam / No freeze",
                1.0, train_loss=1.5, seconds=2), _rec("eval", "Adam / No freeze", 1.0, test_acc=0.3, seconds=2),
                _rec("step", "SGD / No freeze", 0.5, train_loss=2.2, seconds=1), {"kind": "start", "runs": [],
                                                                                  "n_train": 1, "n_test": 1}]:
        live.add(rec)
    loss, acc = live.figures()
    assert [t.name for t in loss.data] == ["Adam / No freeze", "SGD / No freeze"]
    assert list(loss.data[0].y) == [2.0, 1.5] and list(loss.data[0].x) == [0.5, 1.0]
    assert [t.name for t in acc.data] == ["Adam / No freeze"] and list(acc.data[0].y) == [0.3]
    assert acc.data[0].mode == "lines+markers"
    live.add({"kind": "row", "row": _row("No freeze", "Adam", 0.3), "run": "Adam / No freeze"})
    assert live.rows == [_row("No freeze", "Adam", 0.3)]


def test_running_and_stopped_runs_say_so_in_the_legend_and_are_dashed():
    live = _grid()
    assert live.status_text("Adam / No freeze") == "finished"
    assert live.status_text("SGD / No freeze") == "stopped at epoch 1.5/3"
    assert live.status_text("Adam / Freeze all early") == "running (epoch 0.5/3)"
    loss, _ = live.figures()
    styles = {t.name: t.line.dash for t in loss.data}
    assert styles == {"Adam / No freeze": None, "SGD / No freeze (stopped at epoch 1.5/3)": "dash",
                      "Adam / Freeze all early (running (epoch 0.5/3))": "dash"}
    assert all(t.showlegend is not False for t in loss.data) and loss.layout.showlegend is True
    assert epoch_text(2.0, 4) == "2/4" and epoch_text(1.96, 4) == "2/4" and epoch_text(1.4, 4) == "1.4/4"


def test_the_table_fills_final_accuracy_only_for_finished_runs():
    df = results_table(_grid().table_rows(), status=True)
    assert list(df.columns) == ["Strategy", "Optimizer", "Test Accuracy", "Trainable Params", "Time (s)", "Status"]
    assert df.values.tolist() == [["No freeze", "Adam", "30.00%", "10", "30.0", "finished"],
                                  ["No freeze", "SGD", NOT_FINAL, "101", "14.5", "stopped at epoch 1.5/3"],
                                  ["Freeze all early", "Adam", NOT_FINAL, "102", "8.0", "running (epoch 0.5/3)"]]


def test_bars_hold_finished_runs_only_and_name_both_budgets():
    live = _grid()
    fig = comparison_bars(live.rows)
    assert [t.name for t in fig.data] == ["ours: 5,000 images x 3 epochs", SEED_LABEL]
    assert list(fig.data[0].x) == ["Adam<br>No freeze"]  # the stopped and the running run are not drawn
    assert "5,000 images x 3 epochs" in fig.layout.title.text
    note = results_note(live)
    assert "**Not in the chart** (stopped before the end, no final accuracy): SGD / No freeze, stopped at epoch " \
           "1.5/3." in note
    assert "Running: Adam / Freeze all early, running (epoch 0.5/3)" in note
    assert "5,000 images x 3 epochs (2,000 test images), 3 run(s)" in note and note.endswith(BUDGET_NOTE)


def test_before_any_run_the_seed_bars_are_labelled_and_distinct():
    empty = comparison_bars([])
    assert [t.name for t in empty.data] == [SEED_LABEL] and len(empty.data[0].x) == len(SEED_RESULTS)
    assert empty.layout.showlegend is True  # plotly hides the legend of a lone trace unless told
    assert empty.data[0].marker.pattern.shape == SEED_PATTERN and "seed" in empty.layout.title.text.lower()
    assert "below" in results_note() and "SVM" in results_note()


def test_comparison_bars_this_run_next_to_the_seed():
    rows = [_row("No freeze", "Adam", 0.2), _row("Freeze all early", "SGD", 0.4),
            _row("From scratch (no transfer)", "SGD", 0.1)]
    fig = comparison_bars(rows)
    assert list(fig.data[0].y) == [0.4, 0.2, 0.1]  # best first
    assert list(fig.data[0].x) == ["SGD<br>Freeze all early", "Adam<br>No freeze", "SGD<br>From scratch (no transfer)"]
    assert list(fig.data[1].y) == [0.4789, 0.5306, None]  # the seed has no from-scratch row
    assert fig.data[1].marker.pattern.shape == SEED_PATTERN and fig.data[0].marker.pattern.shape is None
    assert fig.layout.barmode == "group"
    high = comparison_bars([_row("No freeze", "Adam", 0.953)])  # the label above a 95% bar is not clipped
    assert high.layout.yaxis.range[1] >= 0.953 * 1.15 and max(high.layout.yaxis.tickvals) <= 1.0


@pytest.mark.parametrize("fig", [comparison_bars([]), comparison_bars([_row("No freeze", "Adam", 0.2)]),
                                 *_grid().figures()], ids=["seed", "bars", "loss", "acc"])
def test_legends_sit_below_the_axis_title_with_room_reserved(fig):
    legend, margin = fig.layout.legend, fig.layout.margin
    assert (legend.orientation, legend.yanchor) == ("h", "top") and legend.y == LEGEND_Y
    plot_h = fig.layout.height - margin.t - margin.b
    # the legend's top lies >= 60 px under the plot: tick labels and the x-axis title fit above it
    assert -legend.y * plot_h >= 60 and margin.b >= 100
    assert fig.layout.title.y is None or fig.layout.title.y > 0.9  # the title stays at the top
    # percent labels: with the decimals their step needs (curves), or whole at fixed 10-point ticks (bars)
    assert fig.layout.yaxis.tickformatstops or fig.layout.yaxis.tickformat in (None, ".0%")


def test_results_table_and_svm_summary():
    rows = [{"Strategy": "No freeze", "Optimizer": "Adam", "Test Accuracy": 0.25, "Trainable Params": 162644,
             "Time (s)": 3.14159, "lr": 0.1},
            {"Strategy": "Freeze all early", "Optimizer": "SGD", "Test Accuracy": 0.5, "Trainable Params": 129188,
             "Time (s)": 2.0}]
    df = results_table(rows)
    assert list(df.columns) == ["Strategy", "Optimizer", "Test Accuracy", "Trainable Params", "Time (s)"]
    assert df.values.tolist() == [["Freeze all early", "SGD", "50.00%", "129,188", "2.0"],
                                  ["No freeze", "Adam", "25.00%", "162,644", "3.1"]]
    assert results_table([{**rows[0], "Time (s)": 5043.124}])["Time (s)"].tolist() == ["5,043.1"]
    assert results_table(rows, percent=False)["Time (s)"].tolist() == [2.0, 3.1]
    assert results_table(rows, percent=False)["Test Accuracy"].tolist() == [0.5, 0.25]
    assert results_table(rows, status=True)["Status"].tolist() == ["finished", "finished"]
    md = svm_summary({"c": 1.0, "n_train": 600, "n_test": 300, "test_acc": 0.6123, "chance": 0.1,
                      "extract_seconds": 1.0, "fit_seconds": 2.0, "feature_dim": 32, "train_acc": 0.9})
    assert "**61.23%**" in md and "18.5%" in md and "32 standardised features" in md


def test_time_left_from_the_runs_own_records():
    live = _grid()
    # run 3 of 3: 8 s for 10 steps -> 20 steps x 0.8 s + 3 evals x 1 s (measured) = 19 s; no run after it
    assert finetune_left(live, per_run_estimate=999) == pytest.approx(19)
    status = finetune_status(_rec("step", "Adam / Freeze all early", 0.5, run_index=2, runs=3, seconds=8.0), live, 999)
    assert status == "run 3/3: **Adam / Freeze all early** · epoch 0.5/3 · 8 s · about 19 s left"
    fresh = LiveCurves()
    fresh.add({"kind": "start", "runs": ["a", "b"], "n_train": 10, "n_test": 10})
    assert finetune_left(fresh, per_run_estimate=60) == 120  # nothing measured yet: eta's estimate per run
    assert "about 2 min left" in finetune_status({"kind": "start", "runs": ["a", "b"], "n_train": 10, "n_test": 10},
                                            fresh, 60)
    assert left(None) == "" and left(float("nan")) == ""


def test_svm_and_source_status_lines_show_what_is_left():
    progress = {"kind": "progress", "stage": "features (train)", "done": 2500, "total": 10000, "images_done": 2500,
                "images_total": 12000, "seconds": 5.0, "fit_estimate": 0.5}
    assert svm_status(progress, 99) == "features (train): 2,500 / 10,000 · about 20 s left"  # 9,500 x 2 ms + 0.5 s
    fitting = {"kind": "fitting", "n_train": 10000, "feature_dim": 32, "seconds": 24.0, "estimate": 0.5}
    assert svm_status(fitting, 99) == "fitting LinearSVC on 10,000 x 32 features… · less than 1 s left"
    done = {"kind": "done", "stopped": False, "test_acc": 0.207, "fit_seconds": 3.1}
    assert svm_status(done, 99) == "done: test accuracy 20.7% (LinearSVC fit 3.1 s)"
    src = SourceProgress(epochs=2, estimate=300)
    assert src({"kind": "start", "model": "resnet", "parameters": 5, "n_train": 100, "dataset": "cifar10",
                "n_test": 1000}).endswith("· about 5 min left")
    line = src({"kind": "step", "step": 10, "total_steps": 40, "seconds": 10.0, "train_loss": 2.0,
                "images_per_s": 100})
    assert line.endswith("· about 37 s left")  # 30 steps x 1 s + 2 evals x 1,000 / (100 x 3) img/s
