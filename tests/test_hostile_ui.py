"""The page through gradio_client and Chromium (issue 9, points 3, 6, 8): no server path in /config or in what
the transfer tab says, sources picked by name only (any other value refused, nothing outside the checkpoint
folder read), ODIN's T = 1e-300 refused in the one format, and ODIN's first view draws the ROC of the preselected
checkpoint and OOD set as the tab opens."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client

from conftest import needs_browser, serve_app
from test_ood_experiment import make_digits_checkpoint
from transfer_fixtures import tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The checkpoint folder: a tiny digits classifier for ODIN (listed first) and a tiny transfer source."""
    f = tmp_path_factory.mktemp("hostile_ui")
    make_digits_checkpoint(f, "a_tiny_digits")
    tiny_checkpoint(f, "resnet11_digits")
    return f


@pytest.fixture(scope="module")
def app(folder):
    """The whole dashboard, built and served with `folder` as its checkpoint folder."""
    from labs.ood import scores

    scores.clear_cache()
    with serve_app(LABS_CHECKPOINT_DIR=folder) as url:
        yield url


@pytest.fixture(scope="module")
def client(app):
    return Client(app, verbose=False)


def test_config_shows_no_server_path(app, folder):
    text = urllib.request.urlopen(app.rstrip("/") + "/config", timeout=30).read().decode()
    assert '"resnet11_digits"' in text  # the transfer tab lists its sources by name at build
    for path in (str(ROOT), "/root", str(folder)):
        assert path not in text, path


def _svm(client, checkpoint):
    return client.predict(checkpoint, "digits", 200, 100, 1.0, api_name="/transfer_svm")


@pytest.mark.parametrize("value", ["../../../etc/passwd", "/etc/hostname", "resnet11_digits.safetensors", "x" * 5000])
def test_a_source_that_is_not_a_listed_name_is_refused_unread(client, folder, value, monkeypatch):
    from labs.core import checkpoints
    from labs.transfer import source

    read = []
    for module in (checkpoints, source):
        real = module.read_metadata
        monkeypatch.setattr(module, "read_metadata", lambda p, real=real: read.append(str(p)) or real(p))
    with pytest.raises(Exception) as err:
        _svm(client, value)
    text = str(err.value)
    assert "upstream Gradio app has raised an exception" not in text
    assert "is not in the list of choices: ['resnet11_digits']" in text
    assert all(p.startswith(str(folder)) for p in read), read


def test_the_full_path_of_a_listed_checkpoint_is_refused_too(client, folder):
    with pytest.raises(Exception, match="is not in the list of choices"):
        _svm(client, str(folder / "resnet11_digits.safetensors"))


def test_a_listed_name_runs_and_the_result_names_no_path(client, folder):
    status, md = _svm(client, "resnet11_digits")
    assert status.startswith("done: test accuracy ")
    assert str(folder) not in status + md and str(ROOT) not in status + md


def test_the_handler_refuses_a_name_it_does_not_list(folder):
    """Behind the dropdown: source_by_name takes listed names only, with one sentence naming the list."""
    from labs.core.errors import LabsError
    from labs.transfer.source import source_by_name

    assert source_by_name("resnet11_digits", [folder]) == str(folder / "resnet11_digits.safetensors")
    for bad in ("../resnet11_digits", str(folder / "resnet11_digits"), "a_tiny_digits"):  # ODIN's: not a source
        with pytest.raises(LabsError, match=r"^invalid checkpoint: expected a name from the list \(resnet11_digits\)"):
            source_by_name(bad, [folder])
    with pytest.raises(LabsError, match="no CIFAR-10 ResNet checkpoint yet"):
        source_by_name("", [folder])


def test_odin_temperature_1e_minus_300_is_refused_in_one_format(client):
    with pytest.raises(Exception) as err:
        client.predict("a_tiny_digits", "uniform", 50, 1e-300, 0.0, [], api_name="/odin_live")
    assert "invalid temperature: expected a number in [0.001, 10000], got 1e-300" in str(err.value)


@needs_browser
def test_odin_first_view_draws_the_preselected_roc(app, page):
    page.goto(app)
    page.get_by_role("tab", name="ODIN").click()
    page.wait_for_function("() => (document.getElementById('odin-live-status')?.innerText || '').includes('done')",
                           timeout=120_000)
    roc = page.locator("#odin-roc").inner_text()
    assert "AUROC" in roc and "pick a checkpoint" not in roc
    assert "done 400/400" in page.locator("#odin-live-status").inner_text()  # 200 per side: the quick first view
    assert page.get_by_label("Classifier checkpoint").input_value() == "a_tiny_digits"
    assert page.console_errors == []
