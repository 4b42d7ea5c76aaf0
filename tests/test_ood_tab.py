"""The ODIN tab through gradio_client on a small app holding only this tab, on tiny checkpoints (no real data):
live / grid / compare / refresh / training endpoints, every form constraint in the one message format, the
per-session supersede of the live view, and a page built without torch."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from conftest import serve_tab
from gradio_client import Client

from labs.core import params
from labs.ood import protocol, tab
from labs.ood import scores as sc
from labs.ood.config import GridConfig, LiveConfig, QuickClassifierConfig
from param_cases import bad_values
from test_ood_experiment import make_digits_checkpoint, write_tiny_cifar10

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def app_url():
    with serve_tab(tab) as url:
        yield url


@pytest.fixture
def client(app_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    make_digits_checkpoint(tmp_path, "tiny_digits")
    sc.clear_cache()
    client = Client(app_url, verbose=False)
    client.predict(api_name="/odin_refresh")  # as the page's first draw does: the session's list holds tiny_digits
    return client


def _rows(frame):
    frame = frame.get("value", frame) if frame.get("__type__") == "update" else frame  # a table sent with its label
    return [dict(zip(frame["headers"], r)) for r in frame["data"]]


def test_live_grid_and_compare(client, tmp_path):
    job = client.submit("tiny_digits", "gaussian", 100, 10.0, 0.002, ["energy"], api_name="/odin_live")
    outputs = job.outputs() if job.result() else []
    assert len(outputs) >= 2  # streamed: the first partial update, then the full one
    roc, table, hist, status = outputs[-1]
    rows = _rows(table)
    assert [r["detector"] for r in rows] == ["ODIN (T=10, ε=0.002, seed's ε scale)", "Max softmax (T=1)", "Energy score"]
    assert status.startswith("done 200/200 images (100 ID + 100")
    exp = sc.get_experiment(tmp_path / "tiny_digits.safetensors", "gaussian", 100)
    expected = protocol.evaluate(list(sc.odin_stream(exp, 10.0, 0.002))[-1][0], exp.n_id)["AUROC"]
    assert rows[0]["AUROC"] == pytest.approx(expected, abs=1e-4)
    assert "0.002" in _rows(outputs[0][1])[0]["detector"] and outputs[0][3].startswith("computing")
    assert "time left: measuring" in outputs[0][3]  # the first batch: no speed measured yet

    heat, grid, best = client.predict("tiny_digits", "gaussian", 100, "1,10", "0,0.002", api_name="/odin_grid")
    detectors = [r["detector"] for r in _rows(grid)]
    assert detectors.count("ODIN") == 4 and detectors.count("Energy score") == 2 and "Max logit" in detectors
    assert "Best on the validation half" in best and "test half" in best and "ODIN: T=" in best
    assert best.startswith("Finished: 8 of 8 settings, total ") and grid["label"].endswith("all 8 settings")
    assert all(t == "cached" or t.endswith(" s") for t in (r["time"] for r in _rows(grid)))
    assert "skipped (no autoencoder for digits" in best
    out = client.predict("tiny_digits", "gaussian", 100, "1,10", "0,0.002", api_name="/odin_compare")
    comp = _rows(out[3])
    assert [r["detector"].split(" (")[0] for r in comp] == ["ODIN", "Max softmax", "Energy score", "Max logit"]
    assert "Measured now" in out[5] and f"{comp[1]['AUROC']:.3f}" in out[5]
    with pytest.raises(Exception, match=r"Value: nope is not in the list of choices: \['tiny_digits'\]"):
        client.predict("nope", "gaussian", 100, 1.0, 0.0, [], api_name="/odin_live")  # names from the list only
    with pytest.raises(Exception, match="at most 360"):
        client.predict("tiny_digits", "gaussian", 5000, 1.0, 0.0, [], api_name="/odin_live")


def test_refresh_lists_checkpoints(client):
    dropdown, message, ae_note = client.predict(api_name="/odin_refresh")  # (+ the train row: layout, not data)
    assert dropdown["value"] == "tiny_digits" and dropdown["choices"] == [["tiny_digits", "tiny_digits"]]
    assert message["value"] == "" and message["visible"] is False  # data (digits) + a checkpoint: nothing missing
    assert "No autoencoder yet" in ae_note


def test_train_the_quick_classifier_and_the_autoencoder_with_their_recipes(app_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    write_tiny_cifar10(tmp_path, n_train=300)
    client = Client(app_url, verbose=False)
    dropdown, message, _ = client.predict(api_name="/odin_refresh")
    assert "No classifier" in message["value"] and message["visible"] is True and dropdown["choices"] == []
    message, dropdown = client.predict(256, 1, api_name="/odin_train_classifier")
    assert message.startswith("Saved `resnet77_cifar10_quick`") and dropdown["value"] == "resnet77_cifar10_quick"
    assert (tmp_path / "ckpt" / "resnet77_cifar10_quick.json").exists()
    note = client.predict(api_name="/odin_train_autoencoder")
    assert "Autoencoder: `autoencoder_cifar10.safetensors`" in note and "Saved `autoencoder_cifar10`" in note
    before = (tmp_path / "ckpt" / "autoencoder_cifar10.safetensors").read_bytes()
    with pytest.raises(Exception, match="already in .* training here would overwrite it"):  # the page keeps it
        client.predict(api_name="/odin_train_autoencoder")
    assert (tmp_path / "ckpt" / "autoencoder_cifar10.safetensors").read_bytes() == before


# one bad value per constraint the tab's forms reach: (endpoint, field, constraint, form values)
LIVE_FORM = {"checkpoint": "tiny_digits", "ood_set": "gaussian", "images_per_side": 10, "temperature": 1.0,
             "epsilon": 0.0, "extras": []}
GRID_FORM = {"checkpoint": "tiny_digits", "ood_set": "gaussian", "images_per_side": 10, "temperatures": "1",
             "epsilons": "0"}
TRAIN_FORM = {"train_images": 256, "epochs": 1}
ENDPOINTS = [("/odin_live", LiveConfig, LIVE_FORM), ("/odin_grid", GridConfig, GRID_FORM),
             ("/odin_train_classifier", QuickClassifierConfig, TRAIN_FORM)]
BAD = {"checkpoint": "../tiny_digits", "temperatures": "0,1", "epsilons": "0.5,2"}
CASES = [(api, name, cls.CONSTRAINTS[name], BAD.get(name) or bad_values(cls.CONSTRAINTS[name])[0], form)
         for api, cls, form in ENDPOINTS for name in form]


@pytest.mark.parametrize("api,name,constraint,bad,form", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_every_form_constraint_reaches_the_page_in_the_one_format(client, api, name, constraint, bad, form):
    values = {**form, name: list(bad) if isinstance(bad, tuple) else bad}
    with pytest.raises(Exception) as err:
        client.predict(*values.values(), api_name=api)
    if name == "checkpoint":  # the dropdown takes names from its list only (Gradio refuses the others first)
        assert f"Value: {bad} is not in the list of choices: ['tiny_digits']" in str(err.value)
    else:
        assert params.message(name, constraint, bad).split(", got")[0] in str(err.value)
    assert "upstream Gradio app has raised an exception" not in str(err.value)


def test_the_grid_size_rule_reaches_the_page(client):
    with pytest.raises(Exception, match=r"invalid grid: expected at most 64 \(temperature, epsilon\) pairs, got 72"):
        client.predict("tiny_digits", "gaussian", 10, "1,2,3,4,5,6,7,8,9", "0,.001,.002,.003,.004,.005,.006,.007",
                       api_name="/odin_grid")


def test_a_newer_live_request_of_the_same_session_supersedes_the_older(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    make_digits_checkpoint(tmp_path, "tiny_digits")
    sc.clear_cache()
    me = SimpleNamespace(session_hash="me")
    older = tab.live("tiny_digits", "gaussian", 300, 2.0, 0.001, [], request=me)
    assert next(older)[3].startswith("computing")
    newer = list(tab.live("tiny_digits", "gaussian", 300, 3.0, 0.001, [], request=me))
    assert newer[-1][3].startswith("done 600/600")
    assert all(out == tab.SKIP4 for out in older)  # the older stream draws nothing more


def test_first_draw_on_page_load_or_on_tab_select():
    with gr.Blocks() as demo:
        tab.build()
    with gr.Blocks() as demo2:
        with gr.Tab("ODIN") as odin:
            tab.build(odin)
    events = lambda d: [t[1] for dep in d.config["dependencies"] for t in dep["targets"]]  # noqa: E731
    # the page-load events that draw (not the buttons' estimates, worked out again at every load: no drawing)
    loads = lambda d: [dep for dep in d.config["dependencies"] if any(t[1] == "load" for t in dep["targets"])  # noqa: E731
                       and not all(isinstance(d.blocks[o], gr.Button) for o in dep["outputs"])]
    assert loads(demo) and "select" not in events(demo)
    assert "select" in events(demo2) and not loads(demo2)


def test_building_the_tab_imports_no_torch():
    code = ("import sys, gradio as gr\nfrom labs.ood import tab\nwith gr.Blocks():\n    tab.build()\n"
            "heavy = [m for m in ('torch', 'sklearn') if m in sys.modules]\nprint(heavy)\nsys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr[-500:]
