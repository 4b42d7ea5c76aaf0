"""Every tab's first view in a real browser (issue 10 point 3): on the small reference records of
test_reference_views.py, the reference trace or table is there without a click, and no console error."""

from __future__ import annotations

from conftest import needs_browser, serve_tab
from test_reference_views import results_dir  # noqa: F401 (the module-scoped results folder fixture)


def _open(page, url):
    page.goto(url)
    page.wait_for_selector(".gradio-container", timeout=60_000)


def _wait_text(page, elem_id: str, text: str) -> str:
    """The element's text once it holds `text` (plots draw after the page)."""
    page.wait_for_function("([id, t]) => (document.getElementById(id)?.innerText || '').includes(t)",
                           arg=[elem_id, text], timeout=30_000)
    return page.inner_text(f"#{elem_id}")


@needs_browser
def test_lab1_first_view_in_the_browser(results_dir, page):
    from labs.residual import tab

    with serve_tab(tab) as url:
        _open(page, url)
        page.wait_for_selector("#lab1-mlp-reference-note", timeout=60_000)
        assert "reference run (full data: 60,000 MNIST images, 20 epochs" in page.inner_text(
            "#lab1-mlp-reference-note")
        assert "reference run" in _wait_text(page, "lab1-mlp-acc", "reference: MLP-16, SGD")
        assert "ResidualMLP-16" in page.inner_text("#lab1-mlp-reference")
        page.get_by_role("tab", name="B. PlainCNN vs ResNet").click()
        page.wait_for_selector("#lab1-sweep-reference", timeout=30_000)
        assert "reference: PlainCNN Small" in _wait_text(page, "lab1-sweep-acc", "reference: ResNet Large")
        assert "81.00%" in page.inner_text("#lab1-sweep-reference")
    assert page.console_errors == []


@needs_browser
def test_transfer_first_view_in_the_browser(results_dir, page):
    from labs.transfer import tab

    with serve_tab(tab) as url:
        _open(page, url)
        page.wait_for_selector("#transfer-reference-table", timeout=60_000)
        assert "15 epochs" in page.inner_text("#transfer-reference-note")
        assert "Linear SVM on frozen features" in page.inner_text("#transfer-reference-table")
        assert "50.0%" in _wait_text(page, "transfer-bars", "reference run")
    assert page.console_errors == []


@needs_browser
def test_odin_first_view_in_the_browser(results_dir, page):
    from labs.ood import tab

    with serve_tab(tab) as url:
        _open(page, url)
        assert "0.770" in _wait_text(page, "odin-heatmap", "reference run")  # the T=1000, ε=0.002 cell
        assert "ODIN (T=1000, ε=0.002)" in page.inner_text("#odin-comparison")
        # the first live view is ODIN at that chosen setting, against max softmax
        assert page.get_by_role("spinbutton", name="T", exact=True).input_value() == "1000"
        assert page.get_by_role("spinbutton", name="ε", exact=True).input_value() == "0.002"
        assert "reference run (10,000 + 10,000 images" in page.inner_text("#odin-comparison")
        # the committed autoencoder is the comparison's: no button offers to train (and overwrite) it
        page.get_by_text("Autoencoder: autoencoder_cifar10.safetensors (used by").wait_for(timeout=30_000)
        assert page.get_by_role("button", name="Train the autoencoder").count() == 0 or \
            not page.get_by_role("button", name="Train the autoencoder").is_visible()
    assert page.console_errors == []
