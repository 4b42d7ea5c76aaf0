"""The tabs' data gate through a launched page and gradio_client, against the local server of test_download."""

from __future__ import annotations

import types

import gradio as gr
import pytest
from gradio_client import Client

from conftest import needs_browser, serve_tab
from labs import datagate
from test_download import served  # noqa: F401 (fixture)


def _module(names, calls):
    """A tab with a gate and one control the gate's callback refreshes (as a real tab wires it)."""
    def build(tab):
        note = gr.Markdown("before", elem_id="note")
        gate = datagate.Gate(names, tab, api_name="download_data")
        gate.then(lambda: calls.append("ready") or "data ready", None, note)
        gr.Button("read").click(lambda: "".join(calls), None, note, api_name="read_note")
    return types.SimpleNamespace(build=build)


def test_gate_text_and_label(served):
    assert datagate.needed(["cifar10", "digits"]) == ["cifar10"]
    assert datagate.button_label(["cifar10"]) == "Download CIFAR-10 (163 MB)"
    assert datagate.gate_text(["cifar10"]).startswith("**CIFAR-10** (163 MB download) is not on this server yet.")
    assert "/" not in datagate.gate_text(["cifar10"])


def test_the_gate_downloads_through_the_api(served):
    server, data, *_ = served
    calls = []
    with serve_tab(_module(["cifar10"], calls)) as url:
        client = Client(url, verbose=False)
        server.release.clear()  # the server holds the file: the page shows the download running
        job = client.submit(api_name="/download_data")
        first = next(iter(job))[0]
        assert first.startswith(("Waiting to download CIFAR-10", "Downloading CIFAR-10: 0 kB of ")), first
        server.release.set()
        assert job.result()[0] == "CIFAR-10: ready."
        assert (data / "cifar10.npz").exists() and server.hits == {"cifar-10-python.tar.gz": 1}
        again = client.predict(api_name="/download_data")  # nothing left to download: no second fetch
        assert again[0] == "" and server.hits == {"cifar-10-python.tar.gz": 1}


def test_two_visitors_share_one_download_and_a_failure_is_one_sentence(served):
    server, data, *_ = served
    server.release.clear()
    with serve_tab(_module(["cifar10"], [])) as url:
        a, b = Client(url, verbose=False), Client(url, verbose=False)
        job_a = a.submit(api_name="/download_data")
        assert server.requested.wait(60)
        job_b = b.submit(api_name="/download_data")
        assert next(iter(job_b))[0] == "Downloading CIFAR-10: 0 kB of 110 kB (0%)"  # b sees a's download
        server.release.set()
        assert job_a.result()[0] == job_b.result()[0] == "CIFAR-10: ready."
        assert server.hits == {"cifar-10-python.tar.gz": 1}
    (data / "cifar10.npz").unlink()
    server.drop.add("cifar-10-python.tar.gz")
    with serve_tab(_module(["cifar10"], [])) as url:
        with pytest.raises(Exception) as err:
            Client(url, verbose=False).predict(api_name="/download_data")
        msg = str(err.value)
        assert "Could not download CIFAR-10: the connection was lost after " in msg and str(data) not in msg
        assert "upstream" not in msg.lower()
    assert sorted(p.name for p in data.iterdir() if p.suffix in (".part", ".npz")) == []


def test_on_a_space_the_first_page_load_starts_the_download(served, monkeypatch):
    server, data, *_ = served
    monkeypatch.setenv("SPACE_ID", "someone/labs")
    gate = datagate.Gate.__new__(datagate.Gate)  # its load handler, called as the page load calls it
    gate.names, gate.built_missing = ["cifar10"], True
    assert list(gate.auto())[-1][0] == "CIFAR-10: ready."
    assert (data / "cifar10.npz").exists() and server.hits == {"cifar-10-python.tar.gz": 1}
    monkeypatch.delenv("SPACE_ID")
    (data / "cifar10.npz").unlink()
    assert list(gate.auto())[-1][-2] is False and not (data / "cifar10.npz").exists()  # locally: only on a click


def test_data_that_arrived_after_the_page_was_laid_out_runs_the_callbacks_once(served):
    server, data, *_ = served
    gate = datagate.Gate.__new__(datagate.Gate)
    gate.names, gate.built_missing = ["cifar10"], True
    assert list(gate.auto(False))[-1][-2] is False  # not there yet, and no Space: nothing happens
    assert list(datagate.Gate.fetch(gate))[-1][-2:] == (True, True)  # another visitor's click downloads it
    flag, seen = list(gate.auto(False))[-1][-2:]  # this visitor's page load: the callbacks run, once
    assert flag is True and seen is True
    assert list(gate.auto(True))[-1][-2] is False  # the next tab select of that session: they do not run again
    gate.built_missing = False  # a page laid out with the data: its defaults already select it
    assert list(gate.auto(False))[-1][-2] is False
    assert server.hits == {"cifar-10-python.tar.gz": 1}


@needs_browser
def test_in_the_page_the_button_downloads_hides_the_gate_and_runs_the_tab_callback(served, page):
    server, data, *_ = served
    calls = []
    with serve_tab(_module(["cifar10"], calls)) as url:
        page.goto(url)
        button = page.get_by_role("button", name="Download CIFAR-10 (163 MB)")
        button.wait_for()
        assert page.get_by_text("is not on this server yet").is_visible()
        button.click()
        page.locator("#note").get_by_text("data ready").wait_for(timeout=60000)
        assert not button.is_visible() and calls == ["ready"]
        assert server.hits == {"cifar-10-python.tar.gz": 1} and page.console_errors == []


@needs_browser
def test_lab1_b_offers_cifar10_and_selects_it_once_downloaded(served, page):
    server, data, *_ = served
    from labs.residual import tab as residual_tab

    with serve_tab(residual_tab) as url:
        page.goto(url)
        page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
        button = page.get_by_role("button", name="Download CIFAR-10 (163 MB)")
        button.wait_for()
        line = page.get_by_text("CIFAR-10 (163 MB download) is not on this server yet. Download once; every visitor")
        assert line.is_visible() and str(data) not in page.content()
        button.click()
        page.get_by_text("CIFAR-10: ready.", exact=True).wait_for(timeout=60000)  # the data note, redrawn
        assert not button.is_visible() and server.hits == {"cifar-10-python.tar.gz": 1}
        assert page.console_errors == []
        # a later visitor: the page was laid out while CIFAR-10 was missing (digits selected); its load selects it
        page.reload()
        page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
        page.get_by_text("Train images (0 = all 50,000)").wait_for(timeout=30000)
        assert not button.is_visible() and page.console_errors == []
