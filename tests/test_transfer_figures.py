"""The transfer lab's figure builders on tiny input: the expected traces, names and counts."""

from __future__ import annotations

from labs.transfer.config import SEED_RESULTS
from labs.transfer.figures import LiveCurves, comparison_bars, results_table, svm_summary


def _rec(kind, run, epoch, **values):
    return {"kind": kind, "run": run, "epoch": epoch, **values}


def test_live_curves_draw_one_trace_per_run():
    live = LiveCurves()
    loss, acc = live.figures()
    assert len(loss.data) == 0 and len(acc.data) == 0  # empty figures with a hint
    assert "press Run fine-tuning" in loss.layout.annotations[0].text
    for rec in [_rec("step", "Adam / No freeze", 0.5, train_loss=2.0), _rec("step", "Adam / No freeze", 1.0,
                train_loss=1.5), _rec("eval", "Adam / No freeze", 1.0, test_acc=0.3),
                _rec("step", "SGD / No freeze", 0.5, train_loss=2.2), {"kind": "start", "runs": []}]:
        live.add(rec)
    loss, acc = live.figures()
    assert [t.name for t in loss.data] == ["Adam / No freeze", "SGD / No freeze"]
    assert list(loss.data[0].y) == [2.0, 1.5] and list(loss.data[0].x) == [0.5, 1.0]
    assert [t.name for t in acc.data] == ["Adam / No freeze"] and list(acc.data[0].y) == [0.3]
    assert acc.data[0].mode == "lines+markers"
    row = {"Strategy": "No freeze", "Optimizer": "Adam", "Test Accuracy": 0.3, "Trainable Params": 10,
           "Time (s)": 1.0}
    live.add({"kind": "row", "row": row, "run": "Adam / No freeze"})
    assert live.rows == [row]


def test_comparison_bars_this_run_next_to_the_seed():
    empty = comparison_bars([])
    assert [t.name for t in empty.data] == ["seed"] and len(empty.data[0].x) == len(SEED_RESULTS)
    rows = [{"Strategy": "No freeze", "Optimizer": "Adam", "Test Accuracy": 0.2},
            {"Strategy": "Freeze all early", "Optimizer": "SGD", "Test Accuracy": 0.4},
            {"Strategy": "From scratch (no transfer)", "Optimizer": "SGD", "Test Accuracy": 0.1}]
    fig = comparison_bars(rows)
    assert [t.name for t in fig.data] == ["this run", "seed (full CIFAR-100)"]
    assert list(fig.data[0].y) == [0.4, 0.2, 0.1]  # best first
    assert list(fig.data[0].x) == ["SGD<br>Freeze all early", "Adam<br>No freeze", "SGD<br>From scratch (no transfer)"]
    assert list(fig.data[1].y) == [0.4789, 0.5306, None]  # the seed has no from-scratch row
    assert fig.layout.barmode == "group"


def test_results_table_and_svm_summary():
    rows = [{"Strategy": "No freeze", "Optimizer": "Adam", "Test Accuracy": 0.25, "Trainable Params": 162644,
             "Time (s)": 3.14159, "lr": 0.1},
            {"Strategy": "Freeze all early", "Optimizer": "SGD", "Test Accuracy": 0.5, "Trainable Params": 129188,
             "Time (s)": 2.0}]
    df = results_table(rows)
    assert list(df.columns) == ["Strategy", "Optimizer", "Test Accuracy", "Trainable Params", "Time (s)"]
    assert df.values.tolist() == [["Freeze all early", "SGD", "50.00%", "129,188", 2.0],
                                  ["No freeze", "Adam", "25.00%", "162,644", 3.1]]
    assert results_table(rows, percent=False)["Test Accuracy"].tolist() == [0.5, 0.25]
    md = svm_summary({"c": 1.0, "n_train": 600, "n_test": 300, "test_acc": 0.6123, "chance": 0.1,
                      "extract_seconds": 1.0, "fit_seconds": 2.0, "feature_dim": 32, "train_acc": 0.9})
    assert "**61.23%**" in md and "18.5%" in md and "32 standardised features" in md
