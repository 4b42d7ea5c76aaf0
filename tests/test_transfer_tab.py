"""The Transfer learning tab's endpoints through gradio_client, on a tiny checkpoint and digits: streaming,
stop, and every constraint the tab's inputs can reach refused with the one-format message."""

from __future__ import annotations

import json
import time

import pytest
from gradio_client import Client

from conftest import needs_real_data
from labs.transfer.config import SOURCE_CONSTRAINTS, TransferConfig
from transfer_fixtures import (assert_one_format, bars_legend, constraint_cases, tiny_checkpoint,  # noqa: F401
                               transfer_app, transfer_sources)


@pytest.fixture(scope="module")
def client(transfer_app):
    return Client(transfer_app, verbose=False)


@pytest.fixture(scope="module")
def ckpt(transfer_sources):
    return "resnet11_digits"  # the page picks sources by name (transfer_fixtures.SOURCES)


def finetune_args(ckpt, **kw):
    args = dict(checkpoint=ckpt, dataset="digits", strategies=["Freeze input only", "No freeze", "Freeze all early"],
                optimizers=["adam"], adam_lr=0.002, sgd_lr=0.03, epochs=1, train_subset=128, test_subset=64,
                augment=False, from_scratch=False)
    return {**args, **kw}


def svm_args(ckpt, **kw):
    return {**dict(checkpoint=ckpt, dataset="digits", svm_train_subset=600, svm_test_subset=300, svm_c=1.0), **kw}


def test_finetune_endpoint_streams_curves_and_table(client, ckpt):
    job = client.submit(*finetune_args(ckpt).values(), api_name="/transfer_finetune")
    outputs = list(job)
    status, loss, acc, table, bars, note = outputs[-1]
    assert status == "finished 3 run(s)"
    assert table["headers"] == ["Strategy", "Optimizer", "Test Accuracy", "Trainable Params", "Time (s)", "Status"]
    assert {r[5] for r in table["data"]} == {"finished"}
    assert sorted(r[3] for r in table["data"]) == ["14,858", "19,818", "19,994"]
    assert {r[1] for r in table["data"]} == {"Adam"}
    names = {t["name"] for t in json.loads(acc["plot"])["data"]}
    assert names == {"Adam / Freeze input only", "Adam / No freeze", "Adam / Freeze all early"}
    assert [t["name"] for t in json.loads(bars["plot"])["data"]] == bars_legend("ours: 128 images x 1 epoch")
    assert "128 images x 1 epoch (64 test images), 3 run(s)" in note and "Why these numbers" in note
    assert any("left" in (o[0] or "") for o in outputs)  # running status lines say the time remaining
    assert len(outputs) >= 4  # streamed: at least one update per finished run


def test_svm_endpoint(client, ckpt):
    status, md = client.predict(*svm_args(ckpt).values(), api_name="/transfer_svm")
    assert status.startswith("done: test accuracy ")
    acc = float(md.split("**")[3].rstrip("%"))
    assert acc > 50  # chance 10%
    assert "18.5%" in md and "Feature extraction" in md


# Where each TransferConfig field enters the tab: (endpoint, argument builder). Fields the tab does not
# expose (batch size, weight decay, seed, amp, threads, log every) are covered through the API and the CLI.
ENTRY = {**{f: ("/transfer_svm", svm_args) for f in ("svm_train_subset", "svm_test_subset", "svm_c")},
         **{f: ("/transfer_finetune", finetune_args) for f in ("strategies", "optimizers", "adam_lr",
                                                             "sgd_lr", "epochs", "train_subset", "test_subset",
                                                             "augment", "from_scratch")}}
INTS = {f for f, c in TransferConfig.CONSTRAINTS.items() if getattr(c, "type", None) is int}


def _reachable(field, bad) -> bool:
    """A value the tab's component hands to the handler: a whole-number Number field only carries numbers,
    a CheckboxGroup only its choices (the empty selection is the bad one)."""
    if field in ("strategies", "optimizers"):
        return False
    return not (field in INTS and isinstance(bad, str))


CASES = [(f, b) for f, b in constraint_cases(TransferConfig.CONSTRAINTS) if f in ENTRY and _reachable(f, b)]
CASES += [("strategies", []), ("optimizers", [])]


@pytest.mark.parametrize("field, bad", CASES)
def test_every_reachable_constraint_is_a_gr_error_in_one_format(client, ckpt, field, bad):
    endpoint, args = ENTRY[field]
    with pytest.raises(Exception) as err:
        client.predict(*args(ckpt, **{field: bad}).values(), api_name=endpoint)
    text = str(err.value)
    assert "upstream Gradio app has raised an exception" not in text
    assert_one_format(text, field, bad)


@pytest.mark.parametrize("field, bad", [(f, b) for f, b in constraint_cases(SOURCE_CONSTRAINTS)
                                        if not isinstance(b, str)])
def test_train_first_refuses_bad_values_in_one_format(client, field, bad):
    args = {"train_images": 128, "epochs": 1, field: bad}
    with pytest.raises(Exception) as err:
        client.predict(*args.values(), api_name="/transfer_train_source")
    assert "upstream Gradio app has raised an exception" not in str(err.value)
    assert_one_format(str(err.value), field, bad)


def test_an_unknown_dataset_is_refused_by_the_dropdown(client, ckpt):
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict(*svm_args(ckpt, dataset="imagenet").values(), api_name="/transfer_svm")


def test_bad_checkpoints_and_the_phase_rule(client, ckpt):
    with pytest.raises(Exception, match="not in the list of choices"):  # an MLP is not a source: never listed
        client.predict(*finetune_args("mlp").values(), api_name="/transfer_finetune")
    with pytest.raises(Exception, match=r"has widths \[16, 64\]"):
        client.predict(*svm_args("wide").values(), api_name="/transfer_svm")
    with pytest.raises(Exception, match=r"invalid svm train subset: expected 0 \(all\) or at least one image per "
                                        r"class \(10\), got 5"):
        client.predict(*svm_args(ckpt, svm_train_subset=5).values(), api_name="/transfer_svm")


def test_stop_keeps_finished_rows(client, ckpt):
    job = client.submit(*finetune_args(ckpt, optimizers=["adam", "sgd"], epochs=3, train_subset=0).values(),
                        api_name="/transfer_finetune")
    deadline = time.time() + 60
    while not any("finished" in (o[0] or "") for o in job.outputs()) and time.time() < deadline:
        time.sleep(0.05)
    client.predict(api_name="/transfer_stop")
    status, _, _, table, bars, _ = job.result(timeout=60)
    assert status.startswith("stopped: ")
    kept = int(status.split()[1])
    finished = [r for r in table["data"] if r[5] == "finished"]
    assert 1 <= kept < 6 and len(finished) == kept
    assert all(r[5].startswith("stopped at epoch ") and r[2] == "—" for r in table["data"] if r[5] != "finished")
    assert len(json.loads(bars["plot"])["data"][0]["x"]) == kept  # only finished runs are drawn


def test_stop_in_another_session_does_not_stop_this_one(client, transfer_app, ckpt):
    job = client.submit(*finetune_args(ckpt, optimizers=["adam"]).values(), api_name="/transfer_finetune")
    other = Client(transfer_app, verbose=False)
    while not job.outputs() and not job.done():
        time.sleep(0.05)
    assert other.predict(api_name="/transfer_stop") == "nothing is running"
    assert job.result(timeout=60)[0] == "finished 3 run(s)"


@pytest.mark.slow  # ResNet[7,7]: one step on 128 CIFAR-10 images, then 2,000 test images
@needs_real_data
def test_train_first_endpoint_saves_a_listed_quick_checkpoint(client, tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))  # the app runs in this process
    outputs = list(client.submit(128, 1, api_name="/transfer_train_source"))
    status, choice = outputs[-1]
    path = tmp_path / "resnet77_cifar10_quick.safetensors"
    assert status.startswith("saved resnet77_cifar10_quick (CIFAR-10 test accuracy ")  # a name, not a path
    assert choice["value"] == path.stem and [c[1] for c in choice["choices"]] == [path.stem]  # listed, selected
    acc = status.split("CIFAR-10 test accuracy ")[1].split(")")[0]  # labelled with what it is worth
    assert choice["choices"][0][0] == f"{path.stem} · {acc} on CIFAR-10 test · 1 epoch"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["data"] == {"n_train": 128, "n_test": 2000} and meta["model_args"]["depth"] == [7, 7]
    assert meta["command"].startswith("python -m labs train --model resnet --dataset cifar10 --depth 7,7")


def test_page_load_lists_the_sources_and_the_quick_recipe(tmp_path, monkeypatch):
    import gradio as gr

    from labs.core.recipes import recipe
    from labs.transfer import tab
    from labs.transfer.tab import on_load

    with gr.Blocks() as demo:
        tab.build()
    on_page_load = [f for f in demo.fns.values() if getattr(f.fn, "__wrapped__", None) is on_load]
    assert len(on_page_load) == 1 and [t[1] for t in on_page_load[0].targets] == ["load"]
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    dropdown, accordion, note, n_train, epochs = on_load()
    assert dropdown["choices"] == [] and dropdown["value"] is None and accordion["open"] is True
    assert note.startswith("no CIFAR-10 ResNet checkpoint yet: press 'Train a CIFAR-10 ResNet first'")
    assert str(tmp_path) not in note  # the page names no server folder
    quick = recipe("resnet77_cifar10_quick")
    assert (n_train, epochs) == (quick["n_train"], quick["train"].epochs)
    tiny_checkpoint(tmp_path, "resnet77_cifar10")
    dropdown, accordion, note, _, _ = on_load()
    # (label, name); a checkpoint whose JSON records no metrics is labelled with its bare name
    assert dropdown["choices"] == [("resnet77_cifar10", "resnet77_cifar10")] and dropdown["value"] == "resnet77_cifar10"
    assert accordion["open"] is False


def test_the_eta_follows_a_finished_run_and_every_page_load():
    """A run that ended (fine-tuning, or training the source) has measured this machine: the ETA is worked out
    again right after it, and at every page load, from eta's file."""
    import gradio as gr

    from labs.transfer import tab

    with gr.Blocks() as page:
        tab.build()
    deps = page.config["dependencies"]
    eta_id = next(d["outputs"][0] for d in deps if page.fns[d["id"]].fn is tab.eta_text)
    for api in ("transfer_finetune", "transfer_train_source"):
        run = next(d for d in deps if d.get("api_name") == api)
        after = [d for d in deps if d["trigger_after"] == run["id"]]
        assert [(page.fns[d["id"]].fn, d["outputs"]) for d in after] == [(tab.eta_text, [eta_id])], api
    on_load = [d for d in deps if d["targets"] and d["targets"][0][1] == "load" and d["outputs"] == [eta_id]]
    assert len(on_load) == 1 and page.fns[on_load[0]["id"]].fn() == page.blocks[eta_id].value
