"""Lab 1's generators on the embedded digits: plain dicts in the documented order."""

import json
import threading

import pytest

from labs.core import eta
from labs.residual import timing
from labs.residual.config import mlp_config, sweep_config
from labs.residual.experiment import run_mlp_comparison, run_sweep


@pytest.fixture(autouse=True)
def speed_cache(tmp_path, monkeypatch):
    """Measured speeds go to a scratch data folder, never to this machine's real one."""
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    return tmp_path


def test_mlp_comparison_yields_plain_tagged_records():
    records = list(run_mlp_comparison(mlp_config(dataset="digits", depth=4, width=16, epochs=2, batch_size=64,
                                                 train_subset=512, log_every=2, eval_every=0)))
    json.dumps(records)  # plain data all the way down
    starts = records[:2]
    assert [s["kind"] for s in starts] == ["start", "start"]
    assert [(s["run"], s["model"], s["index"], s["of"]) for s in starts] == [("MLP-4", "mlp", 1, 2),
                                                                            ("ResidualMLP-4", "residual_mlp", 2, 2)]
    assert starts[0]["params"] == starts[1]["params"] and starts[0]["n_train"] == 512
    assert starts[0]["n_test"] == 360 and starts[0]["num_classes"] == 10 and starts[0]["device"] in ("cpu", "cuda")
    assert records[-1]["kind"] == "done" and records[-1]["stopped"] is False and records[-1]["seconds"] > 0
    body = records[2:-1]
    assert {r["kind"] for r in body} == {"step", "eval", "end"} and all(r["run"] in ("MLP-4", "ResidualMLP-4")
                                                                        for r in body)
    # interleaved: the two runs alternate record by record while both are active
    assert [r["run"] for r in body[:4]] == ["MLP-4", "ResidualMLP-4"] * 2
    for run in ("MLP-4", "ResidualMLP-4"):
        evals = [r for r in body if r["run"] == run and r["kind"] == "eval"]
        assert [e["epoch"] for e in evals] == [1, 2]
        assert [r["kind"] for r in body if r["run"] == run][-1] == "end"
        assert all("grad_norms" in r for r in body if r["run"] == run and r["kind"] == "step")


def test_sweep_runs_in_order_and_a_stop_ends_it_after_the_current_run():
    cfg = sweep_config(dataset="digits", architectures="PlainCNN,ResNet", sizes="Small", epochs=1, train_subset=256,
                       test_subset=64, batch_size=64)
    records = list(run_sweep(cfg, device="cpu"))
    starts = [r for r in records if r["kind"] == "start"]
    assert [(s["run"], s["index"], s["of"], s["info"]["layers"]) for s in starts] == [("PlainCNN Small", 1, 2, 10),
                                                                                     ("ResNet Small", 2, 2, 10)]
    assert records[-1]["kind"] == "done" and not records[-1]["stopped"]
    assert starts[0]["plan"] == [{"run": "PlainCNN Small", "blocks": 5}, {"run": "ResNet Small", "blocks": 5}]
    assert [r["run"] for r in records if r["kind"] == "end"] == ["PlainCNN Small", "ResNet Small"]

    stop = threading.Event()
    seen = []
    for rec in run_sweep(cfg, stop=stop, device="cpu"):
        seen.append(rec)
        if rec["kind"] == "step":
            stop.set()
    assert [r["kind"] for r in seen if r["kind"] in ("start", "end", "done")] == ["start", "end", "done"]
    assert seen[-2]["stopped"] is True and seen[-1]["stopped"] is True


def test_finished_runs_calibrate_the_estimates_and_stopped_ones_do_not(monkeypatch):
    calls = []  # what the runs hand to the shared speed store (labs.core.eta), in its units
    monkeypatch.setattr(eta, "observe_rate", lambda kind, units, seconds, device="cpu":
                        calls.append((kind, units, seconds > 0, device)))
    cfg = sweep_config(dataset="digits", architectures="ResNet", sizes="Small", epochs=1, train_subset=128,
                       test_subset=32, batch_size=64)
    stop = threading.Event()
    for rec in run_sweep(cfg, stop=stop, device="cpu"):
        if rec["kind"] == "step":
            stop.set()
    assert calls == []  # a stopped run says nothing about speed
    list(run_sweep(cfg, device="cpu"))
    assert calls == [("cnn-digits", 5 * 128, True, "cpu")]  # ResNet[2,2] = 5 blocks, 2 steps x 64 images

    calls.clear()  # 32x32 images: the shared model's own kind
    monkeypatch.setattr(timing, "is_eta_unit", lambda name: True)
    list(run_sweep(cfg, device="cpu"))
    assert calls == [(eta.BLOCKS, 5 * 128, True, "cpu")]

    calls.clear()
    list(run_mlp_comparison(mlp_config(dataset="digits", depth=4, width=16, epochs=1, batch_size=64,
                                       train_subset=256)))
    assert [(kind, units) for kind, units, _, _ in calls] == [("mlp-digits", timing.mlp_units("digits", 4, 16, 256))]


def test_a_measured_speed_replaces_the_reference_one():
    assert timing.measured_rate("mlp-digits") is None and timing.mlp_seconds("digits", 4, 16, 256)[1] is False
    timing.observe("mlp-digits", units=1000.0, seconds=10.0)
    assert timing.measured_rate("mlp-digits") == 100.0
    seconds, measured = timing.mlp_seconds("digits", 4, 16, 256)
    assert measured and seconds == timing.mlp_units("digits", 4, 16, 256) / 100.0