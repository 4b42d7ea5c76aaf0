import time

import pytest
from gradio_client import Client


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_build_demo_has_the_lab1_tab_and_endpoints():
    from app import build_demo

    demo = build_demo()
    names = {d.get("api_name") for d in demo.config["dependencies"]}
    assert {"train_mlp", "train_sweep", "stop_mlp", "stop_sweep"} <= names


def test_mlp_endpoint_streams_figures_and_a_table(client):
    job = client.submit("digits", 8, 32, 1, 0.003, 64, 512, 0, api_name="/train_mlp")
    outputs = list(job)
    loss, acc, grads, table, status = outputs[-1]
    assert len(outputs) >= 2  # streamed, not one final answer
    assert loss["type"] == "plotly" and acc["type"] == "plotly" and grads["type"] == "plotly"
    assert [row[0] for row in table["data"]] == ["MLP-8", "ResidualMLP-8"]
    assert all(row[-1] == "done" for row in table["data"]) and status.startswith("done")


def test_sweep_endpoint_returns_the_seed_table(client):
    job = client.submit("digits", ["PlainCNN", "ResNet"], ["Small"], 1, 256, 64, 64, 0.05, True, 0,
                        api_name="/train_sweep")
    *_, (loss, acc, depth, table, status) = list(job)
    assert table["headers"][:5] == ["Architecture", "Size", "Depth", "Final accuracy", "Training convergence"]
    assert [r[:3] for r in table["data"]] == [["PlainCNN", "Small", "[2, 2] (10 layers)"],
                                               ["ResNet", "Small", "[2, 2] (10 layers)"]]
    assert depth["type"] == "plotly" and status.startswith("done")


def test_stop_keeps_the_curves_and_table(client):
    job = client.submit("digits", 16, 64, 200, 0.002, 16, 0, 0, api_name="/train_mlp")
    t0 = time.time()
    while len(job.outputs()) < 3 and time.time() - t0 < 60:
        time.sleep(0.2)
    client.predict(api_name="/stop_mlp")
    outputs = list(job)
    *_, table, status = outputs[-1]
    assert status.startswith("stopped")
    assert all(row[-1] == "stopped" for row in table["data"])


def test_bad_input_is_a_clear_error_not_a_traceback(client):
    with pytest.raises(Exception, match="epochs must be a whole number from 1 to 1000"):
        client.predict("digits", 16, 32, -1, 0.003, 64, 0, 0, api_name="/train_mlp")
