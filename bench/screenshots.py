"""Regenerate the README's screenshots: residual.png, transfer.png, story.png and odin.png, 1400 px wide, full page.

    python bench/screenshots.py [--out assets/screenshots] [--tiny-story] [--only residual transfer story odin]

One command: it launches the app (app.build_demo() with app.py's theme and CSS) on a free local port, drives
each tab in headless Chromium (Playwright with /usr/bin/chromium, as the browser tests) to a representative
state with small settings, and saves a full-page PNG per tab:
- residual: part A's default run (both MLPs on full MNIST, 2 epochs, about a minute on 2 cores) over the
  reference runs' curves; without MNIST, 3 epochs on the embedded digits;
- transfer: Phase 1 (an SVM on a 2,000-image CIFAR-100 subset) and Phase 2 (every freeze strategy with Adam,
  3 epochs on 5,000 images: the quick preset's budget) on the committed resnet77_cifar10; without the CIFAR
  data sets, the first view;
- story: the cat example with BLIP + TinyStories when they load (cached, or LABS_CAPTION_MODEL /
  LABS_STORY_MODEL), else tiny random test models (tests/story_fixtures.py);
- odin: T = 1000, eps = 0.0014 live, then a 4 x 3 grid search and the comparison of every detector, on the
  committed checkpoint against CIFAR-100; without the data, on a tiny untrained digits checkpoint.
Where a stand-in is used (tiny story models, a digits checkpoint, the first view only), a caption line at the top
of the image says so. An error toast or console error stops the command (exit 1): a broken page is never saved.
The hub is not contacted unless HF_HUB_OFFLINE=0 is exported; speeds the runs measure go to a temporary file.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TMP = Path(tempfile.mkdtemp(prefix="labs-shots-"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: offline fails at once
os.environ.setdefault("LABS_SPEED_FILE", str(TMP / "speed.json"))  # the developer's calibration stays untouched
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
NAMES = ["residual", "transfer", "story", "odin"]
WIDTH = 1400
LONG = 600_000  # ms: a run on a busy 2-core machine
ERROR_TOAST = "[data-testid=toast-body].error"
CAPTION = """text => { const d = document.createElement('div'); d.textContent = text;
    d.style.cssText = 'margin:8px 16px;padding:8px 12px;border-left:4px solid #f59e0b;background:#fffbeb;' +
        'font:14px sans-serif;color:#78350f';
    document.querySelector('.gradio-container').prepend(d); }"""


# ----------------------------------------------------------------------------- what this machine has

def real_data() -> bool:
    from labs.core.catalog import is_available
    from labs.core.checkpoints import checkpoint_dir

    return (all(is_available(n) for n in ("cifar10", "cifar100"))
            and (checkpoint_dir() / "resnet77_cifar10.safetensors").exists())


def story_models(tiny: bool) -> str:
    """Point LABS_CAPTION_MODEL / LABS_STORY_MODEL at models that load; returns the caption line ('' for real ones)."""
    if not tiny and os.environ.get("LABS_CAPTION_MODEL") and os.environ.get("LABS_STORY_MODEL"):
        return ""
    if not tiny:
        from labs.story.experiment import ImageStoryGenerator
        from labs.story.models import load_model

        gen = ImageStoryGenerator()
        try:  # cached (or downloadable with HF_HUB_OFFLINE=0); loaded once here, the app then reuses them
            load_model("caption", gen.caption_model)
            load_model("story", gen.story_model)
            return ""
        except Exception as err:  # noqa: BLE001 - any failure to load means: use the stand-ins
            print(f"story: the real models did not load ({str(err).splitlines()[0][:120]}); tiny random models",
                  file=sys.stderr)
    from story_fixtures import build_tiny_models

    caption_dir, story_dir = build_tiny_models(TMP / "story-models")
    os.environ["LABS_CAPTION_MODEL"], os.environ["LABS_STORY_MODEL"] = str(caption_dir), str(story_dir)
    return ("Screenshot taken with tiny random test models (the real BLIP and TinyStories-33M were not available): "
            "the caption and the story are noise; the layout, timings line and streaming are the real page's.")


def digits_checkpoint_dir() -> str:
    """A checkpoint folder: the committed checkpoints (linked, so every listed name stays valid) and a tiny
    untrained digits ResNet for ODIN on a machine without the CIFAR data sets."""
    import torch

    from labs.core.checkpoints import checkpoint_dir, save_checkpoint
    from labs.core.data import load_dataset
    from labs.core.models import build_model

    folder = TMP / "checkpoints"
    folder.mkdir()
    for f in checkpoint_dir().glob("*.*"):
        (folder / f.name).symlink_to(f.resolve())
    data = load_dataset("digits")
    args = {"depth": [1, 1], "widths": [8, 16], "num_classes": 10, "in_channels": 1, "image_size": 8}
    torch.manual_seed(0)
    save_checkpoint(folder / "digits_untrained", build_model("resnet", **args), "resnet", args, dataset="digits",
                    num_classes=10, normalization={"mean": list(data.mean), "std": list(data.std)})
    return str(folder)


# ----------------------------------------------------------------------------- page helpers

def wait_text(page, selector: str, pattern: str, timeout: float = LONG) -> str:
    page.wait_for_function("([sel, pat]) => new RegExp(pat).test(document.querySelector(sel)?.innerText || '')",
                           arg=[selector, pattern], timeout=timeout)
    return page.locator(selector).inner_text()


def set_box(box, value) -> None:
    box.fill(str(value))
    box.press("Enter")


def choose(page, dropdown, option: str) -> None:
    """Pick `option` by its value; checkpoint dropdowns label it 'name · 92.4% on CIFAR-10 test · 80 epochs'."""
    dropdown.click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(option)}( · .*)?$")).click()


def open_tab(page, url: str, name: str | None) -> None:
    page.goto(url)
    page.get_by_role("button", name="Train both").wait_for(timeout=60_000)  # the page is up
    if name:
        page.get_by_role("tab", name=name).click()


def save(page, out: Path, name: str, caption: str = "") -> Path:
    """Full-page PNG of the page as it stands, after checking it shows no error."""
    page.wait_for_timeout(800)  # the last redraw and plotly's transitions settle
    errors = page.locator(ERROR_TOAST).all_inner_texts()
    if errors or page.console_errors:
        raise SystemExit(f"{name}: the page shows an error, not saved: {errors or page.console_errors}")
    if caption:
        page.evaluate(CAPTION, caption)
    page.evaluate("window.scrollTo(0, 0)")
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ----------------------------------------------------------------------------- one function per tab

def residual(page, url: str) -> str:
    """Part A's default run (full MNIST, 2 epochs, ~1 min on 2 cores) over the reference curves; without MNIST,
    3 epochs on the embedded digits (drawn alone: the reference is MNIST's)."""
    from labs.core.catalog import is_available

    open_tab(page, url, None)
    mnist = is_available("mnist")
    if not mnist:
        choose(page, page.get_by_label("Data set", exact=True).filter(visible=True).first, "digits")
        set_box(page.get_by_label("Epochs", exact=True), 3)
    page.get_by_role("button", name="Train both").click()
    wait_text(page, "#lab1-mlp-status", "done in")
    return "" if mnist else "MNIST was not on the machine that took this screenshot: a run on the embedded digits."


def transfer(page, url: str, real: bool) -> str:
    open_tab(page, url, "Transfer learning")
    page.locator("#transfer-bars .legendtext").first.wait_for(timeout=60_000)
    if not real:
        return "The CIFAR-10/100 data sets were not on the machine that took this screenshot: the tab's first view."
    choose(page, page.locator("#transfer-checkpoint input"), "resnet77_cifar10")
    boxes = {label: page.get_by_label(label, exact=True) for label in ("train images (0 = all)", "test images (0 = all)")}
    set_box(boxes["train images (0 = all)"].first, 2000)  # Phase 1's boxes come first
    set_box(boxes["test images (0 = all)"].first, 1000)
    page.get_by_role("button", name="Extract features + fit SVM").click()
    wait_text(page, "#transfer-svm-status", r"^done: test accuracy")
    page.get_by_label("SGD", exact=True).uncheck()  # Adam (the seed's) x every freeze strategy
    for field, value in (("train", 5000), ("test", 2000), ("epochs", 3)):  # the tab's quick preset's budget
        set_box(page.locator(f"#transfer-ft-{field} input"), value)
    page.locator("#transfer-ft-run").click()
    wait_text(page, "#transfer-ft-status", r"^finished \d+ run")
    return ""


def story(page, url: str, caption: str) -> str:
    open_tab(page, url, "Image story")
    page.get_by_role("button", name="cat.jpg").click()  # an example: the checked picture appears
    page.locator("img[src*='/file=']").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Tell me a story").click()
    page.wait_for_function("""() => /\\d+ words[^·\\n]* · caption [\\d.]+ s/.test(document.body.innerText)
        && !document.body.innerText.includes('generating…')""", timeout=LONG)
    return caption


def odin(page, url: str, real: bool) -> str:
    open_tab(page, url, "ODIN")
    page.wait_for_function("() => !(document.getElementById('odin-roc')?.innerText || 'drawing the ROC')"
                           ".includes('drawing the ROC')", timeout=LONG)
    if real:
        choose(page, page.get_by_label("OOD set", exact=True), "CIFAR-100 test (near OOD)")
        note = ""
    else:
        choose(page, page.get_by_label("Classifier checkpoint", exact=True), "digits_untrained")
        note = ("The CIFAR data sets were not on the machine that took this screenshot: an untrained tiny digits "
                "ResNet against uniform noise stands in for the CIFAR-10 ResNet.")
    wait_text(page, "#odin-live-status", "^done")
    set_box(page.get_by_label("T", exact=True), 1000)
    set_box(page.get_by_label("ε", exact=True), 0.0014)
    wait_text(page, "#odin-live-status", r"^done .*gradient")
    page.get_by_label("Temperatures").fill("1,10,100,1000")
    page.get_by_label("Epsilons").fill("0,0.0014,0.003")
    page.get_by_role("button", name="Compare detectors").click()
    wait_text(page, "#odin-grid-status", "Finished")
    page.wait_for_function("() => (document.getElementById('odin-comparison')?.innerText || '').includes('ODIN')",
                           timeout=LONG)
    return note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "assets" / "screenshots"), help="folder for the four PNGs")
    parser.add_argument("--tiny-story", action="store_true", help="use the tiny random story models even if the "
                                                                  "real ones load")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=NAMES, help="regenerate these only")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install -y chromium)")

    real = real_data()
    story_caption = story_models(args.tiny_story) if "story" in args.only else ""
    if not real:
        os.environ["LABS_CHECKPOINT_DIR"] = digits_checkpoint_dir()

    import gradio as gr
    from playwright.sync_api import sync_playwright

    import app
    from labs import ui

    demo = app.build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                            theme=gr.themes.Soft(), css=app.CSS, max_file_size=ui.MAX_FILE_SIZE)
    app.warm_imports()
    shots = [("residual", lambda p: residual(p, url)), ("transfer", lambda p: transfer(p, url, real)),
             ("story", lambda p: story(p, url, story_caption)), ("odin", lambda p: odin(p, url, real))]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for name, drive in [(n, d) for n, d in shots if n in args.only]:
                t0 = time.perf_counter()
                context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
                page = context.new_page()
                page.console_errors = []
                page.on("console", lambda m, p=page: p.console_errors.append(m.text) if m.type == "error" else None)
                caption = drive(page)
                path = save(page, out, name, caption)
                context.close()
                stand_in = f" (stand-in: {re.sub(r':.*', '', caption)})" if caption else ""
                print(f"{path}  {time.perf_counter() - t0:.0f} s{stand_in}", flush=True)
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
