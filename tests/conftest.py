"""Shared fixtures: offline, no analytics, and one launched app per session."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
# Runs in tests must not calibrate the estimates of the developer's machine (labs.core.eta keeps measured speeds).
os.environ["LABS_SPEED_FILE"] = os.path.join(tempfile.mkdtemp(prefix="labs-test-"), "speed.json")
os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ["LABS_SPEED_PROBE"] = "0"  # app.py's speed test (labs.core.speedtest) only where a test asks for it

import pytest  # noqa: E402

def real_data_dir() -> Path | None:
    """The data folder ($LABS_DATA_DIR, else the default cache) if the real sets are unpacked there."""
    from labs.core.catalog import data_dir

    d = data_dir()
    return d if all((d / f"{n}.npz").exists() for n in ("mnist", "cifar10", "cifar100")) else None


needs_real_data = pytest.mark.skipif(
    real_data_dir() is None,
    reason="real data sets not unpacked: export LABS_DATA_DIR=$(python ../shared/data/unpack.py)",
)


@pytest.fixture(autouse=True)
def own_speed_file(tmp_path_factory, monkeypatch):
    """Each test starts uncalibrated: speeds a run measured (labs.core.eta) stay in that test's own file."""
    monkeypatch.setenv("LABS_SPEED_FILE", str(tmp_path_factory.mktemp("speed") / "speed.json"))


@contextlib.contextmanager
def _launched(demo):
    """`demo` served on a free local port as app.py launches it; yields its URL, closes it after."""
    from labs.ui import MAX_FILE_SIZE

    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True,
                            max_file_size=MAX_FILE_SIZE)
    try:
        yield url
    finally:
        demo.close()


@contextlib.contextmanager
def serve_tab(module):
    """One lab's tab alone in a launched gr.Blocks, queued as app.py queues; yields its URL."""
    import gradio as gr

    with gr.Blocks() as demo:
        with gr.Tab("lab") as tab:
            module.build(tab)
    demo.queue(default_concurrency_limit=2)
    with _launched(demo) as url:
        yield url


@contextlib.contextmanager
def serve_app(**env):
    """The full dashboard built and launched as app.py launches it, with the environment variables given (a value
    of None removes one) set while it is built and served; yields its URL."""
    from app import build_demo

    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.delenv(name, raising=False) if value is None else mp.setenv(name, str(value))
        with _launched(build_demo()) as url:
            yield url


@pytest.fixture(scope="session")
def app_url():
    """The full dashboard launched on a free local port; yields its URL."""
    with serve_app() as url:
        yield url


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _browser_missing() -> str:
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)"
    return ""


needs_browser = pytest.mark.skipif(bool(_browser_missing()), reason=_browser_missing() or "browser present")


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (one per test session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh 1400x1000 page that records console errors in page.console_errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda msg: pg.console_errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
