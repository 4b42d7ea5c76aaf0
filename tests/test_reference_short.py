"""Lab 1 B's second reference (the cnn_short stage, 5 epochs): its table and notes in the tab, and which
reference a live sweep is drawn over, and its points on the accuracy-vs-depth plot."""

from labs.reproduce import results
from test_reference_views import records


def test_lab1_short_schedule_table_says_where_its_curves_are(tmp_path, monkeypatch):
    """Lab 1 B's second table (the cnn_short stage): its label and rows, no claim that the plots draw it (they
    draw the 15-epoch stage's curves); without the file, the command that produces it and the seed's table."""
    from labs.residual import reference

    monkeypatch.setenv("LABS_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    record, line = reference.load("cnn_short")
    text, table = reference.view("cnn_short", record, line)
    assert text.startswith("Reference run not produced yet: `python -m labs reproduce --stage cnn_short`")
    assert table.to_dict("records")[0]["Final accuracy"] == "78.00%"
    short = {**records()["cnn"], "stage": "cnn_short", "config": {**records()["cnn"]["config"], "epochs": 5}}
    results.write(short, tmp_path)
    text, table = reference.view("cnn_short", *reference.load("cnn_short"))
    assert "reference run (full data: 50,000 CIFAR-10 images, 5 epochs" in text and "plots draw" not in text
    assert "Its curves are in the results file" in text and "81.00%" in table.to_string()
    assert "plots draw its curves" in reference.view("cnn", records()["cnn"])[0]
    # a live sweep is drawn over the reference with its number of epochs: the Short preset over cnn_short
    assert reference.for_sweep(5)["stage"] == "cnn_short" and reference.for_sweep(3) is None  # no cnn file here
    results.write(records()["cnn"], tmp_path)
    assert reference.for_sweep(3)["stage"] == "cnn" and reference.for_sweep(5)["stage"] == "cnn_short"


def test_lab1_depth_plot_adds_the_short_schedule_points():
    """The first view's accuracy-vs-depth plot: the cnn stage's points and the cnn_short stage's (hollow), each
    named by its epochs, both labels in the title; without cnn_short, the cnn stage's alone, as before."""
    from labs.residual import reference

    record = records()["cnn"]
    short = {**record, "stage": "cnn_short", "config": {**record["config"], "epochs": 5}}
    both = reference.depth_figure(record, short, "Test accuracy vs depth")
    assert [d.name for d in both.data] == ["reference, 30 epochs: PlainCNN", "reference, 30 epochs: ResNet",
                                           "reference, 5 epochs: PlainCNN", "reference, 5 epochs: ResNet"]
    assert [d.marker.symbol for d in both.data] == [None, None, "circle-open", "circle-open"]
    assert "30 epochs" in both.layout.title.text and "hollow: reference run (full data: 50,000 CIFAR-10 images, 5" \
        in both.layout.title.text.replace("<br>", " ")
    assert [d.name for d in reference.depth_figure(record, None, "t").data] == ["reference: PlainCNN",
                                                                                 "reference: ResNet"]
