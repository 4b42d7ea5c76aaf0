"""The "Image story" tab: layout and wiring only; the work is labs.story.generator.

The image comes from a URL (fetched by labs.story.fetch, never by Gradio, which
rejects private hosts and downloads at build time), an upload, or an example.
Whichever the user set last wins: typing a URL clears the image, an upload or an
example clears the URL.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from labs.core.errors import LabsError
from labs.story.fetch import load_image
from labs.story.generator import LENGTHS, ImageStoryGenerator, StorySettings

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
DEFAULTS = StorySettings()

ABOUT = """### Image → caption → story
A [BLIP](https://huggingface.co/Salesforce/blip-image-captioning-base) caption of your picture seeds a
[TinyStories](https://huggingface.co/roneneldan/TinyStories-33M) story: *This is a story about {caption}. One day,* …
Paste an image URL, upload a picture or pick an example."""


def _stats(r: dict) -> str:
    parts = [f"**{r['word_count']} words**", f"caption {r['caption_seconds']:.1f} s"]
    if r["tokens"]:
        parts += [f"story {r['story_seconds']:.1f} s", f"{r['tokens_per_second']:.0f} tokens/s",
                  f"first token {r['first_token_seconds']:.2f} s"]
    parts.append(f"seed {r['seed']}")
    if r["load_seconds"] >= 0.5:
        parts.append(f"models loaded in {r['load_seconds']:.1f} s")
    if r["stage"] != "done":
        parts.insert(0, "generating…")
    return " · ".join(parts)


def tell_story(url, image, length, temperature, top_p, repetition_penalty, seed, num_beams):
    """Stream (image, caption, story, stats) while the story is written."""
    url = (url or "").strip()
    # Paths typed into a public page must not read the server's disk: URLs only.
    generator = ImageStoryGenerator(allow_paths=False)
    # Clear the last story first, so an error below is not shown beside stale results.
    yield gr.skip(), "", "", "fetching the image…" if url else "captioning…"
    try:
        if url:
            picture = load_image(url, generator.fetch_limits, allow_paths=False)
            yield picture, "", "", "captioning…"
        elif image is not None:
            picture = image
        else:
            raise LabsError("no image: paste an image URL, upload a picture or click an example")
        seed = None if seed is None or int(seed) < 0 else int(seed)
        stream = generator.stream_from_image(picture, length, temperature=float(temperature), top_p=float(top_p),
                                             repetition_penalty=float(repetition_penalty), seed=seed,
                                             num_beams=int(num_beams))
        for r in stream:
            yield gr.skip(), r["caption"], r["story"], _stats(r)  # gr.skip: the picture is not resent per token
    except LabsError as err:
        yield gr.skip(), gr.skip(), gr.skip(), ""
        raise gr.Error(str(err), duration=None) from None  # stays until closed: it says how to fix things


def build() -> None:
    gr.Markdown(ABOUT)
    with gr.Row():
        with gr.Column(scale=2):
            url = gr.Textbox(label="Image URL", placeholder="https://… (.jpg, .png, .webp)", max_lines=1)
            image = gr.Image(type="pil", label="…or upload an image", sources=["upload", "clipboard"], height=280)
            examples = sorted(EXAMPLES_DIR.glob("*.jpg"))
            if examples:
                ex = gr.Examples([[str(p)] for p in examples], inputs=[image], label="Examples",
                                 examples_per_page=8, api_visibility="private")
            length = gr.Radio(list(LENGTHS), value=DEFAULTS.length, label="Length",
                              info="token budgets aimed at ≈130 / 165 / 175 words")
            with gr.Accordion("Generation settings", open=False):
                temperature = gr.Slider(0.1, 1.5, value=DEFAULTS.temperature, step=0.05, label="Temperature")
                top_p = gr.Slider(0.1, 1.0, value=DEFAULTS.top_p, step=0.05, label="Top-p")
                repetition_penalty = gr.Slider(1.0, 2.0, value=DEFAULTS.repetition_penalty, step=0.05,
                                               label="Repetition penalty")
                seed = gr.Number(value=-1, precision=0, label="Seed", info="-1: a new random seed each time")
                num_beams = gr.Slider(1, 5, value=DEFAULTS.num_beams, step=1, label="Caption beams")
            with gr.Row():
                go = gr.Button("Tell me a story", variant="primary")
                stop = gr.Button("Stop", variant="stop")
        with gr.Column(scale=3):
            caption = gr.Textbox(label="Caption", interactive=False)
            story = gr.Textbox(label="Story", lines=14, max_lines=30, interactive=False, buttons=["copy"])
            stats = gr.Markdown("", elem_classes=["labs-note"], min_height=28)

    url.input(lambda: None, None, image, queue=False, api_visibility="private")
    image.upload(lambda: "", None, url, queue=False, api_visibility="private")
    if examples:
        ex.load_input_event.then(lambda: "", None, url, queue=False, api_visibility="private")
    inputs = [url, image, length, temperature, top_p, repetition_penalty, seed, num_beams]
    outputs = [image, caption, story, stats]
    # Progress on the stats line only: the default overlay would hide the story as it streams.
    event = go.click(tell_story, inputs, outputs, api_name="story", show_progress_on=[stats])
    submitted = url.submit(tell_story, inputs, outputs, api_visibility="private", show_progress_on=[stats])
    stop.click(None, None, None, cancels=[event, submitted])
