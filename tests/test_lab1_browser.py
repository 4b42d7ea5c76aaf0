"""Lab 1's tab in Chromium at 1400x1000 (issue 12): stopped runs are marked stopped, running status lines
give the time left, the texts follow the data set (here digits is the only one on the machine), and no table
scrolls sideways. Tiny digits runs only, each stopped early."""

import os
from pathlib import Path

import pytest

from browser_tables import table_rows
from conftest import needs_browser, serve_tab
from labs.residual import tab

pytestmark = needs_browser
SHOTS = Path(os.environ.get("LAB1_SHOTS", "/tmp/lab1-shots"))


@pytest.fixture(scope="module")
def lab1_url(tmp_path_factory):
    """The tab alone, on a machine where only the embedded digits exist (an empty data folder)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABS_DATA_DIR", str(tmp_path_factory.mktemp("lab1-data")))
        with serve_tab(tab) as url:
            yield url


def _text(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def _wait_text(page, elem_id: str, needle: str, timeout: float = 120_000) -> str:
    page.wait_for_function(
        "([id, needle]) => (document.getElementById(id)?.innerText || '').includes(needle)",
        arg=[elem_id, needle], timeout=timeout)
    return _text(page, elem_id)


def _overflows(page, elem_id: str) -> list[str]:
    """The scroll containers of the table `elem_id` that are wider than their box (there must be some)."""
    found = page.evaluate("""id => {
        const root = document.getElementById(id);
        const boxes = [root, ...root.querySelectorAll('*')].filter(
            el => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX));
        return [boxes.length, boxes.filter(el => el.scrollWidth > el.clientWidth + 1)
            .map(el => `${el.tagName}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`)];
    }""", elem_id)
    assert found[0] > 0, f"no scroll container found in #{elem_id}"
    return found[1]


def _set_number(page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


def _open_part_b(page, url):
    page.goto(url)
    page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
    page.get_by_role("button", name="Train selected runs").wait_for(state="visible", timeout=30_000)


def test_digits_only_texts_name_digits_and_follow_the_selection(lab1_url, page):
    page.goto(lab1_url)
    est = _wait_text(page, "lab1-mlp-estimate", "digits")
    assert "1,437 train images" in est and "MNIST" not in est and "not calibrated yet" in est
    page.get_by_text("Optimiser and data").click()
    page.get_by_label("Train images (0 = all 1,437)").wait_for(timeout=10_000)
    page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
    line = _wait_text(page, "lab1-sweep-estimate", "digits train images")
    assert "not calibrated yet" in line
    assert page.get_by_text("Results (digits, not comparable to the seed's CIFAR-10 table)").count() == 1
    assert page.get_by_label("Test images (0 = all 360)").count() == 1
    assert page.get_by_label("Train images (0 = all 50,000)").count() == 0
    # choosing CIFAR-10 (missing here) rewords everything for it, and digits again back
    page.get_by_label("Data set").nth(1).click()
    page.get_by_role("option", name="cifar10").click()
    _wait_text(page, "lab1-sweep-estimate", "CIFAR-10 train images")
    assert page.get_by_text("Results (the seed's table)").count() == 1
    assert page.get_by_label("Train images (0 = all 50,000)").count() == 1
    page.get_by_label("Data set").nth(1).click()
    page.get_by_role("option", name="digits").click()
    _wait_text(page, "lab1-sweep-estimate", "digits train images")
    assert page.get_by_text("Results (digits, not comparable to the seed's CIFAR-10 table)").count() == 1
    assert page.get_by_label("Train images (0 = all 50,000)").count() == 0
    assert page.console_errors == []


def test_a_stopped_sweep_marks_its_run_stopped_and_leaves_final_accuracy_empty(lab1_url, page):
    _open_part_b(page, lab1_url)
    page.get_by_label("Small", exact=True).wait_for()
    for size in ("Medium", "Large"):
        page.get_by_label(size, exact=True).uncheck()
    _set_number(page, "Epochs per run", 40)
    _set_number(page, "Train images (0 = all 1,437)", 256)
    _set_number(page, "Test images (0 = all 360)", 64)
    page.get_by_role("button", name="Train selected runs").click()
    status = _wait_text(page, "lab1-sweep-status", "running, epoch")
    assert "left" in status  # the running status line gives the time remaining
    page.locator("#lab1-sweep-stop").click()
    status = _wait_text(page, "lab1-sweep-status", "stopped during run 1/2")
    page.locator("#lab1-sweep-table").scroll_into_view_if_needed()
    rows = table_rows(page, "lab1-sweep-table")
    assert len(rows) == 1, rows
    run, depth, final, convergence, params, seconds, state = rows[0]
    assert run == "PlainCNN Small" and state.startswith("stopped at epoch ") and state.endswith("/40")
    assert final == "" and convergence == ""
    assert _overflows(page, "lab1-sweep-table") == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "lab1-b-stopped.png"), full_page=True)
    assert page.console_errors == []


def test_part_a_running_status_gives_time_left_and_its_table_fits(lab1_url, page):
    page.goto(lab1_url)
    page.get_by_role("button", name="Train both").wait_for()
    _set_number(page, "Epochs", 30)
    page.get_by_role("button", name="Train both").click()
    status = _wait_text(page, "lab1-mlp-status", "left")
    assert "training MLP-16 and ResidualMLP-16 on digits" in status
    page.wait_for_function("() => document.getElementById('lab1-mlp-table').textContent.includes('running, epoch')",
                           timeout=60_000)
    page.locator("#lab1-mlp-stop").click()
    _wait_text(page, "lab1-mlp-status", "stopped after")
    page.locator("#lab1-mlp-table").scroll_into_view_if_needed()
    rows = table_rows(page, "lab1-mlp-table")
    assert [r[0] for r in rows] == ["MLP-16", "ResidualMLP-16"]
    assert all(r[-1].startswith("stopped at epoch") and r[2] == "" for r in rows), rows
    assert _overflows(page, "lab1-mlp-table") == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "lab1-a-stopped.png"), full_page=True)
    assert page.console_errors == []
