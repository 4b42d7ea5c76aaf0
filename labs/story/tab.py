"""The "Image story" tab: layout and wiring only; the work is labs.story.experiment.tell_story.

The image comes from a URL (fetched by labs.story.fetch, never by Gradio, which
rejects private hosts and downloads at build time), an upload, or an example.
Whichever the user set last wins: typing a URL clears the upload, an upload or an
example clears the URL. Uploads arrive as files (gr.File: Gradio stores them
untouched, within launch's max_file_size) and are decoded by labs.story.images
under the same checks as URLs; the picture shown is the checked, decoded one.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from labs import ui
from labs.core import public
from labs.story import figures, readiness
from labs.story.config import LENGTHS, StoryConfig
from labs.story.experiment import ImageStoryGenerator, tell_story
from labs.story.fetch import load_image
from labs.story.images import Upload

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
DEFAULTS = StoryConfig()
SCOPE = "story"
# Text is cheap to redraw: every token on a CPU (~30 tokens/s), at most ~30 redraws/s on a GPU.
REDRAW_SECONDS = 1 / 30
# What the file picker offers (labs.story.images.FORMATS decides what is decoded); Gradio refuses other names.
UPLOAD_TYPES = [".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"]

ABOUT = """### Image → caption → story
A [BLIP](https://huggingface.co/Salesforce/blip-image-captioning-base) caption of your picture seeds a
[TinyStories](https://huggingface.co/roneneldan/TinyStories-33M) story: *This is a story about {caption}. One day,* …
Paste an image URL, upload a picture or pick an example."""


def _render(r: dict):
    # gr.skip(): the checked picture is sent once, not again per token
    picture = r["image"] if r["kind"] == "image" else gr.skip()
    return picture, r["caption"], r["story"], figures.stats_markdown(r)


def _upload(path: str | None) -> Upload | None:
    return Upload(path, f"the upload {Path(path).name}") if path else None


@ui.handler
def show_upload(path: str | None):
    """The checked picture of a new upload or example (a bad file is refused at once), and an empty URL box."""
    if not path:  # cleared (also when a URL is typed): keep the URL
        return None, gr.skip()
    return load_image(_upload(path), allow_paths=False), ""


@ui.handler(duration=None)  # an error stays until closed: the story area is long
def tell(url, upload, length, temperature, top_p, repetition_penalty, seed, num_beams, request: gr.Request = None):
    """Stream (picture, caption, story, stats) while the story is written."""
    cfg = ui.config(StoryConfig, length=length, temperature=temperature, top_p=top_p,
                    repetition_penalty=repetition_penalty, seed=seed, num_beams=num_beams)
    public.check("story", story_tokens=LENGTHS[cfg.length], caption_beams=cfg.num_beams)
    # Paths typed into a public page must not read the server's disk: URLs only (uploads come as Upload).
    generator = ImageStoryGenerator(allow_paths=False)
    with ui.job(SCOPE, request) as stop:
        yield from ui.stream(tell_story((url or "").strip() or _upload(upload), cfg, stop, generator), _render,
                             urgent=lambda r: r["kind"] != "story", stop=stop, interval=REDRAW_SECONDS)


def build(tab: gr.Tab | None = None) -> None:
    """Lay out Lab 3 inside `tab` (every build() gets its gr.Tab; this one needs no event on opening it)."""
    gr.Markdown(ABOUT)
    # whether a story can start now, or downloads the models first, or cannot run here (offline, no cache)
    models_note = gr.Markdown(readiness.line(), elem_classes=["labs-note"], elem_id="story-models")
    ui.on_load(readiness.line, models_note)
    with gr.Row():
        with gr.Column(scale=2):
            url = gr.Textbox(label="Image URL", placeholder="https://… (.jpg, .png, .webp)", max_lines=1)
            upload = gr.File(label="…or upload an image", file_types=UPLOAD_TYPES, type="filepath", height=110)
            picture = gr.Image(type="pil", label="Picture", interactive=False, height=280)
            examples = sorted(EXAMPLES_DIR.glob("*.jpg"))
            if examples:
                gr.Examples([[str(p)] for p in examples], inputs=[upload], label="Examples",
                            examples_per_page=8, api_visibility="private")
            length = gr.Radio(list(LENGTHS), value=DEFAULTS.length, label="Length",
                              info="token budgets aimed at ≈130 / 165 / 175 words")
            with gr.Accordion("Generation settings", open=False):
                temperature = gr.Slider(0.1, 1.5, value=DEFAULTS.temperature, step=0.05, label="Temperature")
                top_p = gr.Slider(0.1, 1.0, value=DEFAULTS.top_p, step=0.05, label="Top-p")
                repetition_penalty = gr.Slider(1.0, 2.0, value=DEFAULTS.repetition_penalty, step=0.05,
                                               label="Repetition penalty")
                seed = gr.Number(value=DEFAULTS.seed, precision=0, label="Seed",
                                 info="-1: a new random seed each time")
                num_beams = gr.Slider(1, 5, value=DEFAULTS.num_beams, step=1, label="Caption beams")
            with gr.Row():
                go = gr.Button("Tell me a story", variant="primary")
                stop = gr.Button("Stop", variant="stop")
            gr.Markdown(public.caps_note("story"), visible=public.is_public(), elem_classes=["labs-note"])
        with gr.Column(scale=3):
            caption = gr.Textbox(label="Caption", interactive=False)
            text = gr.Textbox(label="Story", lines=14, max_lines=30, interactive=False, buttons=["copy"])
            stats = gr.Markdown("", elem_classes=["labs-note"], min_height=28)

    url.input(lambda: (None, None), None, [upload, picture], queue=False, api_visibility="private")
    upload.change(show_upload, upload, [picture, url], api_visibility="private")  # an upload, an example, a clear
    inputs = [url, upload, length, temperature, top_p, repetition_penalty, seed, num_beams]
    outputs = [picture, caption, text, stats]
    # Progress on the stats line only: the default overlay would hide the story as it streams.
    ui.heavy_event(go.click, SCOPE, tell, inputs, outputs, api_name="story", show_progress_on=[stats])
    ui.heavy_event(url.submit, SCOPE, tell, inputs, outputs, api_visibility="private", show_progress_on=[stats])
    ui.stop_button(stop, SCOPE, stats, api_name="story_stop")  # API clients can stop their own run
