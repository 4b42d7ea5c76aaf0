"""Each tab's main action in the real app, driven in Chromium at 1400x1000 with tiny settings (issue 9, point 9):
every tab opens, the MLP pair trains on digits, a tiny sweep fills its table and depth chart, a transfer SVM
fits on a subset, ODIN's sliders redraw the ROC and a 2 x 2 grid fills the heatmap, the tiny test models
caption and tell a story from an uploaded PNG, and public mode refuses an over-budget request in the page.
Every test: no error toast (unless it is the point), no console error, no "upstream" wording."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import needs_browser, needs_real_data, serve_tab
from browser_tables import table_rows
from story_fixtures import build_tiny_models, one_thread  # noqa: F401 (autouse)

pytestmark = needs_browser

SHOTS = Path(os.environ.get("MAIN_ACTIONS_SHOTS", "/tmp/main-actions-shots"))
ERROR_TOAST = "[data-testid=toast-body].error"
# (layout title, number of traces) of every plotly figure shown on the page now
PLOTS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(e => e.offsetParent !== null)
    .map(e => [String((e.layout?.title?.text ?? e.layout?.title) || ''), (e._fullData || []).length])"""
# the trace names of one plot (by the id of its gr.Plot)
TRACE_NAMES = """id => [...(document.querySelector(`#${id} .js-plotly-plot`)?._fullData || [])].map(t => t.name || '')"""
@pytest.fixture(autouse=True)
def last_view(page, request):
    """Each test's page as it was left, pass or fail, in $MAIN_ACTIONS_SHOTS (default /tmp/main-actions-shots)."""
    yield
    if not page.is_closed():
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)


def traces(page, title_start: str) -> int:
    found = [n for title, n in page.evaluate(PLOTS) if title.startswith(title_start)]
    assert len(found) == 1, (title_start, page.evaluate(PLOTS))
    return found[0]


def wait_text(page, selector: str, needle: str, timeout: float = 60_000) -> str:
    page.wait_for_function("([sel, needle]) => (document.querySelector(sel)?.innerText || '').includes(needle)",
                           arg=[selector, needle], timeout=timeout)
    return page.locator(selector).inner_text()


def set_number(page, label: str, value) -> None:
    """Type into the visible number box `label` (hidden sub-tabs may hold boxes of the same label)."""
    box = page.get_by_label(label, exact=True).filter(visible=True).first
    box.fill(str(value))
    box.press("Enter")


def choose(page, dropdown, option: str) -> None:
    """Pick the option whose value is `option`: checkpoint options read 'NAME · what it is worth'."""
    dropdown.click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(option)}( · .*)?$")).click()


def textbox(page, label: str) -> str:
    """The value of the text box labelled `label` (Gradio wraps the box in its label with other buttons)."""
    return page.evaluate("""label => [...document.querySelectorAll('[data-testid=textbox]')]
        .find(e => e.closest('label')?.innerText.trim() === label)?.value""", label)


def assert_clean(page) -> None:
    """No error toast, no console error, and no generic 'upstream' wording anywhere in the page."""
    toasts = page.locator(ERROR_TOAST).all_inner_texts()
    assert toasts == [], toasts
    assert page.console_errors == []
    assert "upstream" not in page.locator("body").inner_text().lower()


def test_every_tab_opens_and_draws_its_first_view_without_an_error(app_url, page):
    page.goto(app_url)
    page.get_by_role("button", name="Train both").wait_for(timeout=30_000)
    page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
    page.get_by_role("button", name="Train selected runs").wait_for(state="visible")
    page.get_by_role("tab", name="Transfer learning").click()
    page.get_by_role("button", name="Extract features + fit SVM").wait_for(state="visible", timeout=20_000)
    page.locator("#transfer-bars .legendtext").first.wait_for(timeout=60_000)  # the seed's bars
    page.get_by_role("tab", name="Image story").click()
    page.get_by_role("button", name="Tell me a story").wait_for(state="visible", timeout=20_000)
    page.get_by_role("tab", name="ODIN").click()
    # the first view: the ROC of the preselected checkpoint and OOD set, or (no data here) what is missing
    page.wait_for_function("""() => { const t = document.getElementById('odin-roc')?.innerText || '';
        return t.length > 0 && !t.includes('drawing the ROC'); }""", timeout=60_000)
    if "nothing to draw yet" not in page.locator("#odin-roc").inner_text():
        wait_text(page, "#odin-live-status", "done", 60_000)
        assert len(page.evaluate(TRACE_NAMES, "odin-roc")) >= 2  # ODIN and the max-softmax baseline
    assert_clean(page)


def test_part_a_trains_the_mlp_pair_on_digits_and_fills_plots_and_table(app_url, page):
    page.goto(app_url)
    page.get_by_role("button", name="Train both").wait_for(timeout=30_000)
    choose(page, page.get_by_label("Data set", exact=True).first, "digits")
    set_number(page, "number input for Layers (linear)", 4)
    set_number(page, "number input for Width", 32)
    set_number(page, "Epochs", 1)
    page.get_by_text("Optimiser and data").click()
    set_number(page, "Train images (0 = all 1,437)", 256)
    page.get_by_role("button", name="Train both").click()
    status = wait_text(page, "#lab1-mlp-status", "done in", 60_000)
    assert "both runs" in status
    assert traces(page, "Training loss") >= 2 and traces(page, "Test accuracy") >= 2
    assert traces(page, "Gradient norm per layer") >= 1
    rows = table_rows(page, "lab1-mlp-table", skip_blank=True)
    assert [r[0] for r in rows] == ["MLP-4", "ResidualMLP-4"], rows
    assert all(re.fullmatch(r"\d+(\.\d+)?%", r[2]) for r in rows), rows  # final test accuracy of each
    assert_clean(page)


def test_part_b_tiny_sweep_fills_the_table_and_the_depth_chart(app_url, page):
    page.goto(app_url)
    page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
    page.get_by_role("button", name="Train selected runs").wait_for(state="visible", timeout=30_000)
    choose(page, page.get_by_label("Data set", exact=True).filter(visible=True).first, "digits")
    for size in ("Medium", "Large"):
        page.get_by_label(size, exact=True).uncheck()
    set_number(page, "Epochs per run", 1)
    set_number(page, "Train images (0 = all 1,437)", 128)
    set_number(page, "Test images (0 = all 360)", 64)
    page.get_by_role("button", name="Train selected runs").click()
    status = wait_text(page, "#lab1-sweep-status", "done: 2 runs", 90_000)
    assert "runs in" in status
    rows = table_rows(page, "lab1-sweep-table", skip_blank=True)
    assert sorted(r[0] for r in rows) == ["PlainCNN Small", "ResNet Small"], rows
    assert traces(page, "Test accuracy vs depth") >= 2  # one point per architecture
    assert traces(page, "Training loss per run") >= 2
    assert_clean(page)


@needs_real_data
def test_transfer_svm_on_a_subset_of_cifar100_reports_its_accuracy(app_url, page):
    page.goto(app_url)
    page.get_by_role("tab", name="Transfer learning").click()
    go = page.get_by_role("button", name="Extract features + fit SVM")
    go.wait_for(state="visible", timeout=20_000)
    choose(page, page.locator("#transfer-checkpoint input"), "resnet77_cifar10")
    set_number(page, "train images (0 = all)", 400)  # the first: Phase 1's
    set_number(page, "test images (0 = all)", 200)
    go.click()
    summary = wait_text(page, "body", "this run (C=", 90_000)
    m = re.search(r"this run \(C=[^,]+, 400 train / 200 test\)\s+(\d+\.\d\d)%", summary)
    assert m, summary[-2000:]
    assert 1.0 <= float(m[1]) <= 100.0  # above chance (1%) is not guaranteed on 400 images: a real number
    assert "LinearSVC fit" in summary
    assert_clean(page)


@pytest.fixture
def tiny_odin(tmp_path, monkeypatch):
    """A checkpoint folder with the committed checkpoints (linked) and a tiny untrained digits ResNet: ODIN runs
    without the real data sets. The app reads the folder per request (it runs in this process)."""
    from test_ood_experiment import make_digits_checkpoint

    from labs.core.checkpoints import checkpoint_dir
    from labs.ood import scores

    for f in Path(checkpoint_dir()).glob("*.*"):  # the names the page already lists stay valid
        (tmp_path / f.name).symlink_to(f.resolve())
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    make_digits_checkpoint(tmp_path, "main_actions_digits")
    scores.clear_cache()
    yield "main_actions_digits"
    scores.clear_cache()


def _slide(page, label: str, fraction: float) -> None:
    """Click the range slider whose label starts with `label` at `fraction` of its width: a real pointer press
    and release."""
    track = page.get_by_label(re.compile("^range slider for " + re.escape(label)))
    box = track.bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


def _roc_after(page, before: list[str]) -> list[str]:
    page.wait_for_function("""([before]) => {
        const names = [...(document.querySelector('#odin-roc .js-plotly-plot')?._fullData || [])].map(t => t.name);
        return names.length > 0 && JSON.stringify(names) !== JSON.stringify(before)
            && (document.getElementById('odin-live-status')?.innerText || '').startsWith('done'); }""",
                           arg=[before], timeout=60_000)
    return page.evaluate(TRACE_NAMES, "odin-roc")


def test_odin_sliders_redraw_the_roc_and_a_2x2_grid_fills_heatmap_and_table(app_url, page, tiny_odin):
    page.goto(app_url)
    page.get_by_role("tab", name="ODIN").click()
    page.wait_for_function("() => !(document.getElementById('odin-roc')?.innerText || 'drawing the ROC')"
                           ".includes('drawing the ROC')", timeout=60_000)  # the first view, on the default
    choose(page, page.get_by_label("Classifier checkpoint"), tiny_odin)
    box = page.get_by_role("spinbutton", name="Images per side")
    box.fill("60")
    box.press("Enter")
    page.wait_for_function("() => /^done 120\\/120 images \\(60 ID/.test(document.getElementById('odin-live-status')"
                           "?.innerText || '')", timeout=60_000)
    start = page.evaluate(TRACE_NAMES, "odin-roc")
    odin = [n for n in start if n.startswith("ODIN")]
    assert odin and "T=1," in odin[0], start
    _slide(page, "Temperature", 0.8)  # log10 T ≈ 2.4
    after_t = _roc_after(page, start)
    t = float(page.get_by_label("T", exact=True).input_value())
    assert t > 10, t
    assert any(n.startswith("ODIN") and "T=1," not in n for n in after_t), after_t
    _slide(page, "ε", 0.5)  # a stream of gradient + forward passes
    after_eps = _roc_after(page, after_t)
    assert float(page.get_by_label("ε", exact=True).input_value()) > 0
    assert "gradient" in page.locator("#odin-live-status").inner_text()
    assert after_eps != after_t
    page.get_by_label("Temperatures").fill("1,10")
    page.get_by_label("Epsilons").fill("0,0.002")
    page.get_by_role("button", name="Grid search", exact=True).click()
    # this grid's heatmap (not a reference one shown before): T on one axis, eps on the other, 2 x 2 cells
    page.wait_for_function("""() => { const p = document.querySelector('#odin-heatmap .js-plotly-plot');
        return p && (p._fullData || []).some(t => t.type === 'heatmap')
            && JSON.stringify(p.layout.xaxis.ticktext) === '["0","0.002"]'
            && JSON.stringify(p.layout.yaxis.ticktext) === '["1","10"]'; }""", timeout=90_000)
    final = wait_text(page, "#odin-grid-status", "Finished", 30_000)
    assert re.search(r"Finished: (\d+) of \1 settings", final), final
    rows = table_rows(page, "odin-grid", skip_blank=True)
    assert len(rows) >= 4, rows  # ODIN's 2 x 2 settings at least
    assert_clean(page)


@pytest.fixture(scope="module")
def tiny_story_models(tmp_path_factory):
    return build_tiny_models(tmp_path_factory.mktemp("story-models"))


def test_story_from_an_uploaded_png_with_the_tiny_models(app_url, page, tiny_story_models, tmp_path, monkeypatch):
    from PIL import Image

    caption_dir, story_dir = tiny_story_models
    monkeypatch.setenv("LABS_CAPTION_MODEL", str(caption_dir))  # read by the handler: the app runs in this process
    monkeypatch.setenv("LABS_STORY_MODEL", str(story_dir))
    png = tmp_path / "red-square.png"
    Image.new("RGB", (48, 40), (200, 30, 30)).save(png)
    page.goto(app_url)
    page.get_by_role("tab", name="Image story").click()
    page.get_by_role("button", name="Tell me a story").wait_for(state="visible", timeout=20_000)
    with page.expect_file_chooser() as chooser:  # as a visitor does: click the drop zone, pick the file
        page.get_by_text("Click to Upload").click()
    chooser.value.set_files(str(png))
    page.locator("img[src*='/file=']").first.wait_for(timeout=60_000)  # the upload, checked and shown
    page.get_by_role("button", name="Tell me a story").click()
    page.wait_for_function("""() => /\\d+ words[^·\\n]* · caption [\\d.]+ s · story [\\d.]+ s/.test(document.body.innerText)
        && !document.body.innerText.includes('generating…')""", timeout=60_000)
    caption, story = textbox(page, "Caption"), textbox(page, "Story")
    assert caption.strip() and story.startswith(f"This is a story about {caption}. One day,"), (caption, story)
    assert len(story.split()) > len(caption.split()) + 5  # the story goes on past its prompt
    assert_clean(page)


@pytest.fixture
def public_lab1(tmp_path, monkeypatch):
    """Lab 1's tab alone in public mode, on a fresh machine (no data sets: an empty data folder)."""
    from labs.residual import tab

    monkeypatch.setenv("LABS_PUBLIC", "1")
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABS_SESSION_DIR", str(tmp_path / "sessions"))
    with serve_tab(tab) as url:
        yield url


def test_public_mode_refuses_an_over_budget_sweep_in_the_page_with_its_cap(public_lab1, page):
    page.goto(public_lab1)
    page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
    go = page.get_by_role("button", name="Train selected runs")
    go.wait_for(state="visible", timeout=30_000)
    note = page.get_by_text("🔒 Public mode: at most 10 min of estimated training time per request").last
    assert note.is_visible()
    assert "python -m labs sweep resnet" in note.inner_text()
    choose(page, page.get_by_label("Data set", exact=True).filter(visible=True).first, "cifar10")
    page.get_by_label("Full size (all data, 15 epochs)").check()
    page.wait_for_function("() => (document.getElementById('lab1-sweep-estimate')?.innerText || '')"
                           ".includes('50,000 CIFAR-10 train images')", timeout=20_000)
    go.click()
    toast = page.locator(ERROR_TOAST)
    toast.first.wait_for(timeout=30_000)
    said = toast.first.inner_text()
    assert "public mode allows at most 10 min of estimated training time per request" in said, said
    assert "python -m labs sweep resnet" in said and "duplicate this Space onto a GPU" in said
    assert "upstream" not in said.lower()
    assert "run 1/" not in page.locator("#lab1-sweep-status").inner_text()  # nothing started
    assert page.console_errors == []
