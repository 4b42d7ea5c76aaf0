"""The ODIN tab alone in Chromium at 1400x1000 on a tiny digits checkpoint: what the page says is true and
readable (issue 12): a stopped search says so, no table scrolls sideways, coinciding ROC curves are said to
coincide, running statuses say how long is left."""

import re

import pytest

from conftest import needs_browser, serve_tab
from labs.ood import scores as sc
from labs.ood import tab
from test_ood_experiment import make_digits_checkpoint

pytestmark = needs_browser

TABLES = ("odin-metrics", "odin-grid", "odin-comparison")
OVERFLOW = """(id) => [...document.querySelectorAll(`#${id} .virtual-table-viewport, #${id} .table-wrap, #${id} table`)]
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => `${e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""
# every text a component shows, recorded as it changes (a fast run may show a line only for a moment)
WATCH = """(id) => { const el = document.getElementById(id); window.seen = window.seen || {}; window.seen[id] = [];
    new MutationObserver(() => window.seen[id].push(el.innerText)).observe(el, {subtree: true, childList: true,
    characterData: true}); }"""


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odin_browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABS_CHECKPOINT_DIR", str(folder))
        make_digits_checkpoint(folder, "tiny_digits")
        sc.clear_cache()
        with serve_tab(tab) as u:
            yield u


def _open(page, url, n):
    page.goto(url)
    box = page.get_by_role("spinbutton", name="Images per side")
    box.fill(str(n))
    box.press("Enter")  # the live view at T=1, ε=0 on the default checkpoint
    page.get_by_role("button", name="↻").click()


def _text(page, elem_id):
    return page.locator(f"#{elem_id}").inner_text()


def _label(page, elem_id):
    return page.locator(f"#{elem_id}").get_attribute("aria-label") or page.locator(f"#{elem_id}").inner_text()


def test_live_view_at_t1_eps0_says_the_curves_coincide_and_tables_fit(page, url):
    _open(page, url, 100)
    page.wait_for_function("() => document.getElementById('odin-live-status').innerText.includes('done 200/200')",
                           timeout=120_000)
    # plotly draws after the status line arrives: wait for the drawn figure, not just the status
    page.wait_for_function("() => document.getElementById('odin-roc').innerText.includes('coincide')", timeout=30_000)
    roc = _text(page, "odin-roc")
    assert "coincide: identical scores" in roc and "identical curve" in roc
    for table in TABLES:
        assert page.evaluate(OVERFLOW, table) == [], table
    header = _text(page, "odin-metrics")
    assert "Det. err" in header and "thr@95" in header
    assert page.console_errors == []


def test_grid_and_comparison_fit_and_running_statuses_say_how_long_is_left(page, url):
    _open(page, url, 100)
    page.wait_for_function("() => document.getElementById('odin-live-status').innerText.includes('done')",
                           timeout=120_000)
    page.evaluate(WATCH, "odin-live-status")
    page.evaluate(WATCH, "odin-grid-status")
    page.get_by_role("spinbutton", name="ε", exact=True).fill("0.003")
    page.get_by_role("spinbutton", name="ε", exact=True).press("Enter")  # a stream: gradient + forward passes
    page.wait_for_function("() => document.getElementById('odin-live-status').innerText.includes('done 200/200')",
                           timeout=120_000)
    page.get_by_label("Temperatures").fill("1,5")
    page.get_by_label("Epsilons").fill("0,0.001")
    page.get_by_role("button", name="Compare detectors").click()
    page.wait_for_function("() => document.getElementById('odin-grid-status').innerText.includes('Finished')",
                           timeout=120_000)
    seen = page.evaluate("() => window.seen")
    running = [t for t in seen["odin-live-status"] if "computing" in t]
    assert running and all(re.search(r"about \d+ s left|less than 1 s left|time left: measuring", t) for t in running)
    grid_running = [t for t in seen["odin-grid-status"] if "running" in t]
    assert grid_running and all(re.search(r"left|measuring", t) for t in grid_running)
    final = _text(page, "odin-grid-status")
    assert re.search(r"Finished: \d+ of \d+ settings, total [\d.]+ s wall", final)
    page.wait_for_function("() => document.getElementById('odin-comparison').innerText.includes('Max softmax')",
                           timeout=30_000)
    for table in TABLES:
        assert page.evaluate(OVERFLOW, table) == [], table
    assert "cost" in _text(page, "odin-comparison") and "time" in _text(page, "odin-grid")


def test_a_stopped_search_says_stopped_in_the_page(page, url, monkeypatch):
    import time

    from labs.ood import protocol

    # >= 0.15 s a setting, so the search is still running when Stop lands: on the tiny checkpoint its 74 settings
    # took ~5 s, and a busy machine (CI) sometimes delivered the click after the search had finished
    def slower(*args, **kwargs):
        for out in stream(*args, **kwargs):
            time.sleep(0.15)
            yield out

    stream = protocol.scores_stream
    monkeypatch.setattr(protocol, "scores_stream", slower)  # the app runs in this process
    _open(page, url, 200)
    page.get_by_label("Temperatures").fill("1,2,3,4,5,6,7,8")  # 64 settings
    page.get_by_label("Epsilons").fill("0.001,0.002,0.003,0.004,0.005,0.006,0.007,0.008")
    page.get_by_role("button", name="Compare detectors").click()
    page.wait_for_function("() => /running: [1-9]\\d* of \\d+ settings/.test("
                           "document.getElementById('odin-grid-status').innerText)", timeout=120_000)
    page.get_by_role("button", name="Stop", exact=True).last.click()
    page.wait_for_function("() => document.getElementById('odin-grid-status').innerText.includes('Stopped after')",
                           timeout=120_000)
    status = _text(page, "odin-grid-status")
    m = re.search(r"Stopped after (\d+) of (\d+) settings", status)
    assert m and int(m[1]) < int(m[2]) and "no setting chosen" in status
    said = f"stopped after {m[1]} of {m[2]} settings"
    assert said in page.locator("#odin-grid").inner_text()  # the table's label
    assert "stopped after" in _text(page, "odin-heatmap") and "no best chosen" in _text(page, "odin-heatmap")
    assert "not produced" in page.locator("#odin-comparison").inner_text()
