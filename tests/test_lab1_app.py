"""Lab 1's tab driven through gradio_client: streaming, the seed's table, per-session Stop, and the
one-format message for every constraint the form can break."""

import time

import pytest

from conftest import serve_tab
from gradio_client import Client

from labs.residual import tab
from labs.residual.config import MLPCompareConfig, SweepConfig

# Form order of the two endpoints, with values that run in seconds on digits.
MLP_FORM = {"dataset": "digits", "depth": 8, "width": 32, "epochs": 1, "lr": 0.003, "batch_size": 64,
            "train_subset": 512, "seed": 0, "optimizer": "adam"}
SWEEP_FORM = {"dataset": "digits", "architectures": ["PlainCNN", "ResNet"], "sizes": ["Small"], "epochs": 1,
              "train_subset": 256, "test_subset": 64, "batch_size": 64, "lr": 0.05, "augment": True, "seed": 0,
              "label_smoothing": 0.0}
# Per constraint, a value the form component lets through (sliders check their own range, dropdowns and
# checkbox groups their choices, integer Numbers round) that the constraint refuses.
MLP_BAD = {"dataset": None, "depth": 3.5, "width": 20.5, "epochs": -1, "lr": -0.1, "batch_size": 0,
           "train_subset": -1, "seed": -1, "optimizer": None}
SWEEP_BAD = {"dataset": None, "architectures": [], "sizes": [], "epochs": 0, "train_subset": -1, "test_subset": -1,
             "batch_size": 0, "lr": -1.0, "augment": "maybe", "seed": 2**32, "label_smoothing": 1.0}
NOT_ON_THE_FORM = {MLPCompareConfig: {"log_every", "eval_every"}, SweepConfig: {"log_every"}}
CASES = [(MLPCompareConfig, "/train_mlp", MLP_FORM, n, v) for n, v in MLP_BAD.items()] + \
        [(SweepConfig, "/train_sweep", SWEEP_FORM, n, v) for n, v in SWEEP_BAD.items()]


@pytest.fixture(autouse=True)
def scratch_speeds(tmp_path, monkeypatch):
    """Runs here measure their speed into a scratch data folder, never into this machine's real one."""
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))


@pytest.fixture(scope="module")
def lab1_url():
    with serve_tab(tab) as url:
        yield url


@pytest.fixture(scope="module")
def client(lab1_url):
    return Client(lab1_url, verbose=False)


def test_build_demo_has_the_lab1_tab_and_endpoints():
    from app import build_demo

    demo = build_demo()
    names = {d.get("api_name") for d in demo.config["dependencies"]}
    assert {"train_mlp", "train_sweep", "stop_mlp", "stop_sweep"} <= names


def test_the_tab_imports_no_torch_at_page_build():
    import subprocess
    import sys

    code = ("import sys, gradio as gr\nfrom labs.residual import tab\nwith gr.Blocks():\n    tab.build()\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_the_eta_line_and_the_preset_buttons():
    from labs.core import eta
    from labs.residual import timing
    from labs.residual.config import estimate_sweep_seconds, sweep_config

    cfg = sweep_config(architectures=("ResNet",), sizes=("Large",))
    cpu, gpu = (eta.format_seconds(estimate_sweep_seconds(cfg, d)) for d in ("cpu", "cuda"))
    cal = [timing.tag(timing.conv_basis("cifar10", d)) for d in ("cpu", "cuda")]
    assert (cfg.epochs, cfg.train_subset, cfg.test_subset) == (3, 10_000, 2000)  # the quick preset
    assert tab.sweep_eta("cifar10", ["ResNet"], ["Large"], 3, 10_000, 2000) == (
        f"**1 run x 3 epochs x 10,000 CIFAR-10 train images.** Estimated time: **{cpu} on this machine's CPU** "
        f"({cal[0]}), {gpu} on one H200 GPU ({cal[1]}).")
    assert tab.sweep_eta("cifar10", [], ["Small"], 4, 5000, 2000) == (
        "⚠️ invalid architectures: expected a non-empty selection from PlainCNN, ResNet, got []")
    # the reference runs' schedules (reproduce --stage cnn, --stage cnn_short), label smoothing included
    assert tab.apply_preset("full") == (15, 0, 0, 256, 0.2, 0.1)
    assert tab.apply_preset("short") == (5, 0, 0, 256, 0.2, 0.1)


def test_the_texts_follow_the_data_set(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))  # nothing measured here yet
    note, subset, est = tab.mlp_data_changed("digits", 16, 128, 2, 0)
    assert subset["label"] == "Train images (0 = all 1,437)"
    assert est.startswith("full digits: 1,437 train images, 2 epochs") and "not calibrated yet" in est
    assert "MNIST" not in est and "60,000" in tab.mlp_note("mnist", 16, 128, 2, 0)
    _, n_train, n_test, table, line = tab.sweep_data_changed("digits", ["ResNet"], ["Small"], 4, 0, 0)
    assert n_train["label"] == "Train images (0 = all 1,437)" and n_test["label"] == "Test images (0 = all 360)"
    assert table["label"] == "Results (digits, not comparable to the seed's CIFAR-10 table)"
    assert "x 1,437 digits train images" in line and "not calibrated yet" in line
    assert tab.sweep_data_changed("cifar10", ["ResNet"], ["Small"], 4, 0, 0)[3]["label"] == "Results (the seed's table)"


def test_mlp_endpoint_streams_figures_and_a_table(client):
    job = client.submit(*MLP_FORM.values(), api_name="/train_mlp")
    outputs = list(job)
    loss, acc, grads, table, status = outputs[-1]
    assert len(outputs) >= 2  # streamed, not one final answer
    assert loss["type"] == "plotly" and acc["type"] == "plotly" and grads["type"] == "plotly"
    assert [row[0] for row in table["data"]] == ["MLP-8", "ResidualMLP-8"]
    assert all(row[-1] == "finished" for row in table["data"]) and status.startswith("done")


def test_sweep_endpoint_returns_the_seed_table(client):
    job = client.submit(*SWEEP_FORM.values(), api_name="/train_sweep")
    *_, (loss, acc, depth, table, status) = list(job)
    assert table["headers"][:4] == ["Run", "Depth", "Final accuracy", "Training convergence"]
    assert [r[:2] for r in table["data"]] == [["PlainCNN Small", "[2, 2], 10 layers"],
                                               ["ResNet Small", "[2, 2], 10 layers"]]
    assert depth["type"] == "plotly" and status.startswith("done: 2 runs in")


def test_every_constraint_is_covered_by_a_bad_form_value():
    assert set(MLP_BAD) | NOT_ON_THE_FORM[MLPCompareConfig] == set(MLPCompareConfig.CONSTRAINTS)
    assert set(SWEEP_BAD) | NOT_ON_THE_FORM[SweepConfig] == set(SweepConfig.CONSTRAINTS)
    assert list(MLP_BAD) == list(MLP_FORM) and list(SWEEP_BAD) == list(SWEEP_FORM)


@pytest.mark.parametrize("cls, api, form, name, value", CASES, ids=[f"{c[1][1:]}.{c[3]}" for c in CASES])
def test_a_bad_form_value_is_a_clear_error_not_a_traceback(client, cls, api, form, name, value):
    constraint = cls.CONSTRAINTS[name]
    with pytest.raises(Exception) as err:
        client.predict(*{**form, name: value}.values(), api_name=api)
    text = str(err.value)
    assert f"invalid {name.replace('_', ' ')}: expected {constraint.describe()}, got {value!r}" in text
    assert "upstream" not in text.lower()


def _wait_for_output(job, n=1, timeout=120):
    t0 = time.time()
    while len(job.outputs()) < n and not job.done() and time.time() - t0 < timeout:
        time.sleep(0.1)


def test_stop_keeps_the_curves_and_table(client):
    job = client.submit("digits", 16, 64, 200, 0.002, 16, 0, 0, api_name="/train_mlp")
    _wait_for_output(job, 3)
    said = client.predict(api_name="/stop_mlp")  # waits for the run to end: its own last status line
    *_, table, status = list(job)[-1]
    assert status.startswith("stopped") and said == status
    assert all(row[-1].startswith("stopped at epoch ") for row in table["data"])
    assert [row[2] for row in table["data"]] == ["", ""]  # no "final" test accuracy for a stopped run
    # and the flag is forgotten (the reply keeps this session's last sweep line, if it ran one, before it)
    assert "nothing is running" in client.predict(api_name="/stop_sweep")


def test_one_sessions_stop_does_not_stop_another_sessions_run(lab1_url):
    a, b = Client(lab1_url, verbose=False), Client(lab1_url, verbose=False)
    job_b = b.submit("digits", 8, 32, 3, 0.003, 64, 0, 0, api_name="/train_mlp")
    _wait_for_output(job_b)
    assert a.predict(api_name="/stop_mlp") == "nothing is running"  # A's Stop while B trains...
    assert not job_b.done()
    job_a = a.submit("digits", 8, 32, 200, 0.003, 64, 0, 0, api_name="/train_mlp")  # runs beside B or after it
    _, acc, _, table, status = list(job_b)[-1]  # ...leaves B's run whole
    assert status.startswith("done") and [row[-1] for row in table["data"]] == ["finished", "finished"]
    live = [t for t in _traces(acc) if not t.get("name", "").startswith("reference")]  # not the reference run's
    assert [trace["x"][-1] for trace in live] == [3, 3]

    _wait_for_output(job_a)  # A's own run, and A's Stop ends it
    said = a.predict(api_name="/stop_mlp")
    *_, table_a, status_a = list(job_a)[-1]
    assert said == status_a and status_a.startswith("stopped")
    assert all(row[-1].startswith("stopped") for row in table_a["data"])


def _traces(plot) -> list[dict]:
    import json

    return json.loads(plot["plot"])["data"]
