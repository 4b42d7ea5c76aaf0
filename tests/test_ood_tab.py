"""The ODIN tab's endpoints through gradio_client, on a tiny digits checkpoint (no real data needed)."""

import pytest
from gradio_client import Client

from labs.ood import experiment as ex
from labs.ood import protocol
from labs.ood import tab_handlers
from test_ood_experiment import make_digits_checkpoint


@pytest.fixture
def client(app_url, tmp_path, monkeypatch):
    make_digits_checkpoint(tmp_path, "tiny_digits")
    monkeypatch.setattr(tab_handlers, "CHECKPOINT_FOLDER", tmp_path)
    monkeypatch.setattr(tab_handlers, "ID_DATASET", "digits")
    ex.clear_cache()
    return Client(app_url, verbose=False)


def _rows(frame):
    return [dict(zip(frame["headers"], r)) for r in frame["data"]]


def test_live_grid_compare_and_bad_input(client, tmp_path):
    job = client.submit("tiny_digits", "gaussian", 100, 10.0, 0.002, ["energy"], api_name="/odin_live")
    outputs = job.outputs() if job.result() else []
    assert len(outputs) >= 2  # streamed: the first partial update, then the full one
    roc, table, hist, status = outputs[-1]
    rows = _rows(table)
    assert [r["detector"] for r in rows] == ["ODIN (T=10, ε=0.002)", "Max softmax (T=1)", "Energy score"]
    assert status.startswith("done 200/200") and rows[0]["images"] == "100+100"
    exp = ex.get_experiment(tmp_path / "tiny_digits.safetensors", "gaussian", 100, dataset="digits")
    expected = protocol.evaluate(exp, ex.odin_scores(exp, 10.0, 0.002))["AUROC"]
    assert rows[0]["AUROC"] == pytest.approx(expected, abs=1e-4)
    assert "0.002" in _rows(outputs[0][1])[0]["detector"] and outputs[0][3].startswith("computing")

    with pytest.raises(Exception, match="temperature T must be"):
        client.predict("tiny_digits", "gaussian", 100, 0.0, 0.0, [], api_name="/odin_live")
    with pytest.raises(Exception, match="at most 360"):
        client.predict("tiny_digits", "gaussian", 5000, 1.0, 0.0, [], api_name="/odin_live")
    with pytest.raises(Exception, match="not a path"):
        client.predict("../tiny_digits", "gaussian", 10, 1.0, 0.0, [], api_name="/odin_live")

    heat, grid, best = client.predict("tiny_digits", "gaussian", 100, "1,10", "0,0.002", api_name="/odin_grid")
    assert len(grid["data"]) == 4 and "Best on the validation half" in best and "test half" in best
    out = client.predict("tiny_digits", "gaussian", 100, "1,10", "0,0.002", api_name="/odin_compare")
    comp = _rows(out[3])
    assert [r["detector"] for r in comp] == ["ODIN", "Max softmax", "Energy score", "Max logit"]
    assert "Measured now" in out[5] and f"{comp[1]['AUROC']:.3f}" in out[5]
    with pytest.raises(Exception, match="comma-separated"):
        client.predict("tiny_digits", "gaussian", 100, "1,abc", "0", api_name="/odin_grid")


def test_refresh_lists_checkpoints(client):
    dropdown, message = client.predict(api_name="/odin_refresh")[:2]
    assert dropdown["value"] == "tiny_digits" and dropdown["choices"] == [["tiny_digits", "tiny_digits"]]
    assert message["value"] == "" and message["visible"] is False  # data (digits) + a checkpoint: nothing missing


def test_train_quick_classifier_and_missing_data_message(client, tmp_path, monkeypatch):
    message, dropdown = client.predict(256, 1, api_name="/odin_train_classifier")[:2]
    assert message.startswith("Saved `quick_resnet77_digits`") and dropdown["value"] == "quick_resnet77_digits"
    assert (tmp_path / "quick_resnet77_digits.json").exists()
    with pytest.raises(Exception, match="minimum value 256"):
        client.predict(10, 1, api_name="/odin_train_classifier")
    monkeypatch.setattr(tab_handlers, "ID_DATASET", "svhn")  # never on this machine: the data message shows
    assert "svhn.npz is missing" in tab_handlers.availability()
