"""The ODIN tab's two trainings (the quick classifier, the autoencoder) as page handlers, and the estimate text
their buttons show. Split from labs/ood/tab.py (layout and wiring there); models trained here go to the
checkpoint folder, or in public mode to the session's own folder."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from labs import ui
from labs.core import public
from labs.core.errors import LabsError
from labs.core.ckpt_labels import labelled
from labs.core.eta import format_seconds
from labs.ood import tables
from labs.ood.config import AutoencoderConfig, QuickClassifierConfig, autoencoder_seconds, quick_classifier_seconds

# Stop scopes: grid search, comparison and the autoencoder's training share one Stop; the classifier has its own.
GRID, TRAIN = "odin_grid", "odin_train"


def estimate_text(seconds: float) -> str:
    """'≈ 40 s, measured on this machine' (eta.basis_text's words for where the speed comes from)."""
    from labs.core import eta

    return f"≈ {format_seconds(seconds)}, {eta.basis_text()}"


def _training(scope: str, request: gr.Request | None, train, render):
    """Stream `train(stop)` (a train_and_save generator) through `render`, under this session's stop flag."""
    total = {}  # eval records carry no total_steps: the latest step's, so every line says how long is left

    def with_total(rec):
        total.update({k: rec[k] for k in ("total_steps",) if k in rec})
        return render({**total, **rec})

    with ui.job(scope, request) as stop:
        yield from ui.stream(train(stop), with_total, stop=stop, urgent=lambda rec: rec["kind"] != "step")


@ui.handler
def train_classifier(train_images, epochs, request: gr.Request = None):
    """Train the quick classifier (the one recipe) into the checkpoint folder (public mode: the session's own):
    (message, checkpoint list, row)."""
    from labs.core.checkpoints import folders, save_dir
    from labs.ood import experiment as ex

    cfg = ui.config(QuickClassifierConfig, train_images=train_images, epochs=epochs)
    public.check("odin_classifier", train_seconds=quick_classifier_seconds(cfg))
    session = ui.session(request)
    out = save_dir(session) / ex.QUICK_RECIPE

    def render(rec):
        text = tables.training_status(rec, "the quick classifier", estimate_text(quick_classifier_seconds(cfg)))
        if rec["kind"] != "saved":
            return text, gr.skip(), gr.skip()
        return (text, gr.update(choices=labelled(ex.session_choices(session), folders(session)),
                                value=Path(rec["path"]).stem),
                gr.update(visible=False))

    yield from _training(TRAIN, request, lambda stop: ex.train_classifier(cfg, stop, out), render)


@ui.handler
def train_autoencoder(request: gr.Request = None):
    """Train the autoencoder (its recipe) into the checkpoint folder (public mode: the session's own): its status."""
    from labs.core.checkpoints import save_dir
    from labs.ood import experiment as ex

    public.check("odin_autoencoder", train_seconds=autoencoder_seconds(AutoencoderConfig()))
    out = save_dir(ui.session(request)) / ex.AUTOENCODER_RECIPE
    if out.with_suffix(".safetensors").exists():  # the page never replaces a model (the reference one, say)
        where = "this session's folder" if public.is_public() else out.parent
        raise LabsError(f"`{out.name}` is already in {where} and Compare detectors uses it: training here "
                        f"would overwrite it. To train a new one, move its two files ({out.name}.safetensors, "
                        f".json) away, or run `python -m labs train --recipe {ex.AUTOENCODER_RECIPE} --out "
                        f"<another path>`")

    def render(rec):
        text = tables.training_status(rec, "the autoencoder", estimate_text(autoencoder_seconds(AutoencoderConfig())))
        if rec["kind"] != "saved":
            return text, gr.skip()
        return f"{tables.autoencoder_note(Path(rec['path']), '')} {text}", gr.update(visible=False)

    yield from _training(GRID, request, lambda stop: ex.train_autoencoder(AutoencoderConfig(), stop, out), render)
