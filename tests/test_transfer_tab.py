"""The Transfer learning tab's endpoints through gradio_client, on a tiny checkpoint and digits."""

from __future__ import annotations

import json
import time

import pytest
from gradio_client import Client

from transfer_fixtures import tiny_checkpoint


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(tiny_checkpoint(tmp_path_factory.mktemp("tab")))


def finetune_args(ckpt, **kw):
    args = dict(checkpoint=ckpt, dataset="digits", strategies=["Freeze input only", "No freeze", "Freeze all early"],
                optimizers=["adam"], adam_lr=0.002, sgd_lr=0.03, epochs=1, train_subset=128, test_subset=64,
                augment=False, from_scratch=False)
    return {**args, **kw}


def test_finetune_endpoint_streams_curves_and_table(client, ckpt):
    job = client.submit(*finetune_args(ckpt).values(), api_name="/transfer_finetune")
    outputs = list(job)
    status, loss, acc, table, bars = outputs[-1]
    assert status == "finished 3 run(s)"
    assert table["headers"] == ["Strategy", "Optimizer", "Test Accuracy", "Trainable Params", "Time (s)"]
    assert sorted(r[3] for r in table["data"]) == ["14,858", "19,818", "19,994"]
    assert {r[1] for r in table["data"]} == {"Adam"}
    names = {t["name"] for t in json.loads(acc["plot"])["data"]}
    assert names == {"Adam / Freeze input only", "Adam / No freeze", "Adam / Freeze all early"}
    assert len(outputs) >= 4  # streamed: at least one update per finished run


def test_svm_endpoint(client, ckpt):
    status, md = client.predict(ckpt, "digits", 600, 300, 1.0, api_name="/transfer_svm")
    assert status == "done"
    acc = float(md.split("**")[3].rstrip("%"))
    assert acc > 50  # chance 10%
    assert "18.5%" in md and "Feature extraction" in md


@pytest.mark.parametrize("change, message", [
    (dict(strategies=[]), "select at least one freeze strategy"),
    (dict(optimizers=[]), "select at least one optimiser"),
    (dict(adam_lr=0), "Adam learning rate must be a number > 0"),
])
def test_finetune_bad_input(client, ckpt, change, message):
    with pytest.raises(Exception, match=message):
        client.predict(*finetune_args(ckpt, **change).values(), api_name="/transfer_finetune")


def test_bad_checkpoints_and_c(client, ckpt, tmp_path):
    mlp = str(tiny_checkpoint(tmp_path, "mlp", model="mlp", depth=3, width=8))
    with pytest.raises(Exception, match="is a mlp checkpoint; transfer needs a ResNet"):
        client.predict(*finetune_args(mlp).values(), api_name="/transfer_finetune")
    wide = str(tiny_checkpoint(tmp_path, "wide", widths=[16, 64]))
    with pytest.raises(Exception, match=r"has widths \[16, 64\]"):
        client.predict(wide, "digits", 600, 300, 1.0, api_name="/transfer_svm")
    with pytest.raises(Exception, match="C must be a number > 0"):
        client.predict(ckpt, "digits", 600, 300, 0, api_name="/transfer_svm")


def test_stop_keeps_finished_rows(client, ckpt):
    job = client.submit(*finetune_args(ckpt, optimizers=["adam", "sgd"], epochs=3, train_subset=0).values(),
                        api_name="/transfer_finetune")
    deadline = time.time() + 60
    while not any("finished" in (o[0] or "") for o in job.outputs()) and time.time() < deadline:
        time.sleep(0.05)
    client.predict(api_name="/transfer_stop")
    status, _, _, table, _ = job.result(timeout=60)
    assert status.startswith("stopped: ")
    kept = int(status.split()[1])
    assert 1 <= kept < 6 and len(table["data"]) == kept
