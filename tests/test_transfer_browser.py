"""The Transfer learning tab in Chromium at 1400x1000 (tab alone, tiny checkpoint, digits): the seed's bars are
labelled as the seed's before any run, running status lines say the time left, a stopped fine-tuning run is
marked stopped (table) and left out of the chart (note), and no table scrolls horizontally."""

from __future__ import annotations

import re

import pytest

from conftest import needs_browser
from labs.transfer.config import SEED_LABEL
from transfer_fixtures import bars_legend, tiny_checkpoint, transfer_app, transfer_sources  # noqa: F401

pytestmark = needs_browser

TABLES = ["#transfer-results-table", "#transfer-seed-table"]
SHOTS = "/tmp/transfer-browser"  # screenshots, to look at when a plot or table changes


@pytest.fixture
def tab_page(page, transfer_app, tmp_path, monkeypatch):
    """The tab with a tiny source checkpoint listed (the app runs in this process)."""
    folder = tmp_path / "ckpt"
    tiny_checkpoint(folder, "resnet77_cifar10")
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(folder))
    page.goto(transfer_app)
    page.locator("#transfer-bars .legendtext").first.wait_for(timeout=60_000)
    return page


def overflow(page, selector: str) -> list[tuple[int, int]]:
    """(scrollWidth, clientWidth) of the dataframe's scroll containers that scroll horizontally."""
    return page.evaluate("""sel => {
        const root = document.querySelector(sel);
        if (!root) return [[-1, -1]];
        return [...root.querySelectorAll('.table-wrap, table, div')]
            .filter(e => getComputedStyle(e).overflowX !== 'visible' || e.matches('.table-wrap'))
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => [e.scrollWidth, e.clientWidth]);
    }""", selector)


def wait_text(page, selector: str, text: str, timeout: float) -> None:
    page.wait_for_function("([sel, text]) => (document.querySelector(sel)?.innerText || '').includes(text)",
                           arg=[selector, text], timeout=timeout)


def legend(page, plot: str) -> list[str]:
    return page.locator(f"{plot} .legendtext").all_text_contents()


def test_before_any_run_the_seed_bars_are_named_and_tables_fit(tab_page):
    page = tab_page
    assert SEED_LABEL in legend(page, "#transfer-bars")
    assert "Why these numbers are lower than the seed's" in page.locator("#transfer-results-note").inner_text()
    from labs.transfer import reference

    if reference.load()[0] is None:  # no reference run yet: the table under the chart is the seed's, once
        assert not page.locator("#transfer-seed-accordion").is_visible()
        assert "Until then, the seed's table" in page.locator("#transfer-reference-note").inner_text()
        tables = ["#transfer-results-table", "#transfer-reference-table"]
    else:  # the reference run's table, and the seed's in the accordion
        page.locator("#transfer-seed-accordion").get_by_text("The seed's table").click()
        tables = TABLES
    page.locator(f"{tables[1]} table").first.wait_for(state="visible")
    page.screenshot(path=f"{SHOTS}-before.png", full_page=True)
    for sel in tables:
        assert overflow(page, sel) == [], sel
    assert page.console_errors == []


def test_running_status_says_time_left_and_a_stopped_run_is_marked_stopped(tab_page):
    page = tab_page
    page.locator("#transfer-dataset input").click()
    page.get_by_role("option", name="digits", exact=True).click()
    for field, value in (("train", "0"), ("test", "128"), ("epochs", "6")):
        box = page.locator(f"#transfer-ft-{field} input")
        box.fill(value)
        box.press("Tab")
    page.locator("#transfer-ft-run").click()
    status = page.locator("#transfer-ft-status")
    # a running status line: which run, where in it, and the time left
    status.get_by_text(re.compile(r"run 1/6: .* · epoch .* left")).wait_for(timeout=60_000)
    assert re.search(r"· (about \d+ (s|min)|less than 1 s) left", status.inner_text())
    assert "running (epoch" in page.locator("#transfer-results-table").inner_text()
    status.get_by_text(re.compile(r"run 2/6: .* · epoch")).wait_for(timeout=90_000)  # run 1 finished, 2 runs
    # the live redraws keep the layout moving (Playwright waits for a stable button): click it in the page
    page.evaluate("document.querySelector('#transfer-ft-stop').click()")
    wait_text(page, "#transfer-results-table", "stopped at epoch", 60_000)
    wait_text(page, "#transfer-ft-status", "stopped", 30_000)  # Stop's reply is the run's own last line
    wait_text(page, "#transfer-results-note", "Not in the chart", 10_000)
    table = page.locator("#transfer-results-table").inner_text()
    assert "finished" in table and re.search(r"stopped at epoch [\d.]+/6", table)
    assert "running (epoch" not in table
    note = page.locator("#transfer-results-note").inner_text()
    assert re.search(r"Not in the chart .*: [^,]+, stopped at epoch [\d.]+/6", note)
    assert legend(page, "#transfer-bars") == bars_legend("ours: 1,437 images x 6 epochs")
    wait_text(page, "#transfer-loss-plot", "stopped at epoch", 30_000)  # Plotly redraws after the table
    loss_legend = legend(page, "#transfer-loss-plot")
    assert sum("stopped at epoch" in name for name in loss_legend) == 1
    page.screenshot(path=f"{SHOTS}-stopped.png", full_page=True)
    assert overflow(page, "#transfer-results-table") == []
    assert page.console_errors == []
