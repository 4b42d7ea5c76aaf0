"""Lab 1's views and figure/table builders on a tiny hand-written record stream."""

import pytest

from labs.residual import figures


def _start(run, model, info, index, of, params=1000):
    return {"kind": "start", "run": run, "model": model, "params": params, "info": info, "dataset": "digits",
            "n_train": 1437, "epochs": 2, "index": index, "of": of}


def _step(run, step, epoch, loss, norms=None):
    rec = {"kind": "step", "run": run, "step": step, "epoch": epoch, "train_loss": loss, "train_acc": 0.5}
    if norms is not None:
        rec["grad_norms"] = {"names": ["a", "b", "c"], "values": norms}
    return rec


def _eval(run, epoch, acc, loss):
    return {"kind": "eval", "run": run, "epoch": epoch, "step": 10, "test_acc": acc, "test_loss": 1.0,
            "train_loss": loss}


def _end(run, stopped=False, seconds=1.25):
    return {"kind": "end", "run": run, "stopped": stopped, "steps": 20, "seconds": seconds, "history": [{"x": 1}]}


MLP_RECORDS = [
    _start("MLP-3", "mlp", {"depth": 3, "width": 8}, 1, 2), _start("ResidualMLP-3", "residual_mlp",
                                                                  {"depth": 3, "width": 8}, 2, 2),
    _step("MLP-3", 1, 0.1, 2.3, [1e-4, 1e-2, 1.0]), _step("ResidualMLP-3", 1, 0.1, 2.2, [0.5, 0.6, 1.0]),
    _eval("MLP-3", 1.0, 0.30, 2.0), _eval("ResidualMLP-3", 1.0, 0.60, 1.0),
    _step("MLP-3", 11, 1.1, 1.9, [1e-4, 1e-2, 2.0]), _step("ResidualMLP-3", 11, 1.1, 0.8, [0.5, 0.6, 2.0]),
    _eval("MLP-3", 2.0, 0.40, 1.8), _eval("ResidualMLP-3", 2.0, 0.70, 0.7),
    _end("MLP-3"), _end("ResidualMLP-3"), {"kind": "done", "stopped": False, "seconds": 2.5},
]

SWEEP_RECORDS = [
    _start("PlainCNN Small", "plain_cnn", {"architecture": "PlainCNN", "size": "Small", "blocks": [2, 2],
                                           "layers": 10}, 1, 3),
    _step("PlainCNN Small", 1, 0.5, 2.3), _eval("PlainCNN Small", 1.0, 0.20, 2.0),
    _step("PlainCNN Small", 2, 1.5, 2.0), _eval("PlainCNN Small", 2.0, 0.25, 1.2), _end("PlainCNN Small"),
    _start("ResNet Small", "resnet", {"architecture": "ResNet", "size": "Small", "blocks": [2, 2], "layers": 10},
           2, 3),
    _step("ResNet Small", 1, 0.5, 2.1), _eval("ResNet Small", 1.0, 0.50, 1.0),
    _step("ResNet Small", 2, 1.5, 1.1), _eval("ResNet Small", 2.0, 0.55, 1.0), _end("ResNet Small"),
    _start("PlainCNN Medium", "plain_cnn", {"architecture": "PlainCNN", "size": "Medium", "blocks": [5, 5],
                                            "layers": 22}, 3, 3),
    _step("PlainCNN Medium", 1, 0.5, 2.3),
]


def fold(view, records):
    for rec in records:
        view.add(rec)
    return view


def test_mlp_view_and_figures():
    view = fold(figures.MLPView(), MLP_RECORDS[:2])
    assert view.status == "training MLP-3 and ResidualMLP-3 on digits (1,437 images, 2 epochs)"
    fold(view, MLP_RECORDS[2:])
    run = view.runs["MLP-3"]
    assert run.steps == [1, 11] and run.train_loss == [2.3, 1.9] and run.test_acc == [0.30, 0.40]
    assert run.end == {"kind": "end", "stopped": False, "steps": 20, "seconds": 1.25}  # no history, no run tag
    assert view.status == "done in 2.5 s" and not view.stopped

    loss, acc, grads = figures.mlp_figures(view)
    assert [t.name for t in loss.data] == ["MLP-3", "ResidualMLP-3"]
    assert list(loss.data[1].x) == [1, 11] and list(loss.data[1].y) == [2.2, 0.8]
    assert loss.layout.yaxis.type == "log"
    assert [t.name for t in acc.data] == ["MLP-3", "ResidualMLP-3"]
    assert list(acc.data[0].x) == [1.0, 2.0] and list(acc.data[0].y) == [0.30, 0.40]
    assert [t.type for t in grads.data] == ["heatmap", "heatmap"]
    assert [v for row in grads.data[0].z for v in row] == pytest.approx([-4, -4, -2, -2, 0, 0.30103], abs=1e-4)


def test_mlp_table():
    df = figures.mlp_table(fold(figures.MLPView(), MLP_RECORDS))
    assert list(df.columns) == figures.MLP_TABLE_COLUMNS
    assert df.to_dict("records")[0] == {
        "Model": "MLP-3", "Layers": 3, "Parameters": "1,000", "Final test acc": "40.00%", "Best test acc": "40.00%",
        "Final train loss": "1.8000", "Grad norm layer 1 / last": "5.00e-05", "Time (s)": "1.2", "Status": "done"}
    assert df["Final test acc"].tolist() == ["40.00%", "70.00%"]


def test_sweep_view_figures_and_table_while_running():
    view = fold(figures.SweepView(), SWEEP_RECORDS)
    assert view.status == "run 3/3: PlainCNN Medium [5, 5] on 1,437 digits images"
    loss, acc, depth = figures.sweep_figures(view)
    names = ["PlainCNN Small", "ResNet Small", "PlainCNN Medium"]
    assert [t.name for t in loss.data] == names
    assert [t.line.dash for t in loss.data] == ["dash", None, "dash"]  # PlainCNN dashed
    assert list(loss.data[0].x) == [0.5, 1.5] and list(loss.data[0].y) == [2.3, 2.0]
    assert [t.name for t in acc.data] == names and list(acc.data[1].y) == [0.50, 0.55]
    # accuracy vs depth: one line per architecture, finished runs only
    assert [(t.name, list(t.x), list(t.y)) for t in depth.data] == [("PlainCNN", [10], [0.25]),
                                                                    ("ResNet", [10], [0.55])]
    df = figures.sweep_table(view)
    assert list(df.columns) == figures.SWEEP_TABLE_COLUMNS
    assert df["Depth"].tolist() == ["[2, 2] (10 layers)", "[2, 2] (10 layers)", "[5, 5] (22 layers)"]
    assert df["Final accuracy"].tolist() == ["25.00%", "55.00%", "-"]
    assert df["Training convergence"].tolist() == ["slower (train loss 1.200)", "best (train loss 1.000)", "-"]
    assert df["Status"].tolist() == ["done", "done", "running"]
    assert df["Time (s)"].tolist() == ["1", "1", "-"]


def test_sweep_view_when_stopped_and_done():
    view = fold(figures.SweepView(), SWEEP_RECORDS[:6] + [{"kind": "done", "stopped": True, "seconds": 3}])
    assert view.stopped and view.status == "stopped: finished runs are kept in the table"
    done = fold(figures.SweepView(), SWEEP_RECORDS[:12] + [{"kind": "done", "stopped": False, "seconds": 3.4}])
    assert done.status == "done: 2 runs in 3 s"


def test_builders_draw_empty_figures_and_tables_before_any_record():
    for figs in (figures.mlp_figures(None), figures.sweep_figures(None)):
        assert [len(f.data) for f in figs] == [0, 0, 0]
    assert figures.mlp_table(None).empty and list(figures.mlp_table(None).columns) == figures.MLP_TABLE_COLUMNS
    assert figures.sweep_table(None).empty and list(figures.sweep_table(None).columns) == figures.SWEEP_TABLE_COLUMNS
    assert figures.MLPView().status == "" and figures.SweepView().status == ""


def test_markdown_table():
    md = figures.to_markdown(figures.sweep_table(fold(figures.SweepView(), SWEEP_RECORDS[:6])))
    assert md.splitlines()[0] == "| " + " | ".join(figures.SWEEP_TABLE_COLUMNS) + " |"
    assert md.splitlines()[2].startswith("| PlainCNN | Small | [2, 2] (10 layers) | 25.00% |")
