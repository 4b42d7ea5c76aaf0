"""The "ODIN" tab: layout and wiring only, through labs/ui.py. The work is labs.ood.experiment (imported on
first use: the page is built without torch).

Live view: releasing a slider (or typing T / ε + Enter) recomputes from the caches (ε = 0: no
forward pass) or streams ODIN batch by batch; a newer request from the same session stops
the older stream at its next batch. First draw: when the page loads (or, given the tab, when
it is opened), the checkpoint list is read and the default view drawn.
"""

from __future__ import annotations

import math
from pathlib import Path

import gradio as gr

from labs import ui
from labs.core.eta import format_seconds
from labs.ood import figures, notes, tables
from labs.ood.config import (AutoencoderConfig, GridConfig, LiveConfig, QuickClassifierConfig, autoencoder_seconds,
                             quick_classifier_seconds)
from labs.ood.detectors import DETECTORS, LIVE_EXTRAS
from labs.ood.oodsets import OOD_SETS

# Stop scopes: the live view; grid search, comparison and the autoencoder's training (one Stop); the classifier's.
LIVE, GRID, TRAIN = "odin_live", "odin_grid", "odin_train"
EPS_SLIDER_MAX = 0.01  # the slider's range; the ε box takes any value the config allows
SKIP4 = (gr.skip(),) * 4

ABOUT = """### ODIN: out-of-distribution detection
Can a classifier tell that an image is not one of its own kind? **ODIN** sharpens the max-softmax score with a
temperature **T** and a small input perturbation **ε**. Move the sliders (release to update), run the grid search
(validation half picks, test half reports) and compare every detector: """ + ", ".join(
    d.title for d in DETECTORS.values()) + "."


def t_from_log(log_t: float) -> float:
    return float(f"{10 ** float(log_t):.3g}")


def log_from_t(t):
    return gr.skip() if t is None or t <= 0 else min(3.0, max(0.0, round(math.log10(t), 1)))


def eps_to_slider(eps):
    return eps if eps is not None and 0 <= eps <= EPS_SLIDER_MAX else gr.skip()


def _live_outputs(rec: dict):
    curves = rec["curves"]
    return (figures.roc_figure(curves, note=f"{rec['done']:,} images"), tables.metrics_table(curves),
            figures.score_histograms(dict(list(curves.items())[:2])), tables.live_status(rec))


def _live(cfg: LiveConfig, request: gr.Request | None):
    from labs.ood import experiment as ex

    with ui.job(LIVE, request, supersede=True) as stop:  # a superseded stream draws nothing more: the newer one
        yield from ui.stream(ex.live(cfg, stop), lambda rec: SKIP4 if stop.is_set() else _live_outputs(rec), stop=stop)


@ui.handler
def live(checkpoint, ood_set, images_per_side, temperature, epsilon, extras, request: gr.Request = None):
    """Stream (ROC, metrics table, histograms, status) for ODIN at (T, ε) against the baselines."""
    yield from _live(ui.config(LiveConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                               temperature=temperature, epsilon=epsilon, extras=extras), request)


@ui.handler
def draw(checkpoint, ood_set, images_per_side, temperature, epsilon, extras, request: gr.Request = None):
    """The live view, quiet (no error pop-up) while there is no checkpoint or no data."""
    from labs.ood import experiment as ex

    if ex.availability(checkpoint):
        yield SKIP4  # a generator that yields nothing would blank the outputs
        return
    yield from _live(ui.config(LiveConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                               temperature=temperature, epsilon=epsilon, extras=extras), request)


@ui.handler
def refresh():
    """(checkpoint list, missing-things message, train row visibility, autoencoder note)."""
    from labs.ood import experiment as ex

    choices, msg = ex.checkpoint_choices(), ex.availability()
    return (gr.update(choices=choices, value=ex.default_checkpoint()), gr.update(value=msg, visible=bool(msg)),
            gr.update(visible=not choices),
            tables.autoencoder_note(ex.default_autoencoder(), f"{ex.AUTOENCODER_RECIPE}.safetensors"))


def _protocol(cfg: GridConfig, request: gr.Request | None, compare: bool):
    from labs.ood import experiment as ex

    view = {"rows": [], "best": {}, "skipped": [], "last": None, "state": "running", "done": 0, "total": 0}

    def fold(rec):
        if rec["kind"] == "setting":
            view["rows"].append(rec["row"])
        elif rec["kind"] == "skipped":
            view["skipped"].append(rec)
        elif rec["kind"] == "grid":
            view["best"], view["state"] = rec["best"], "stopped" if rec["stopped"] else "done"
        if rec["kind"] in ("progress", "setting", "grid"):
            view["last"], view["done"], view["total"] = rec, rec["done"], rec["total"]

    def render(rec):
        state, done, total = view["state"], view["done"], view["total"]
        unfinished = (list(dict.fromkeys(r["title"] for r in view["rows"] if r["detector"] not in view["best"]))
                      if state == "stopped" else [])
        status = tables.grid_status(view["last"])
        best = tables.best_text(view["best"], view["skipped"], unfinished)
        out = (figures.auroc_heatmap(view["rows"], view["best"], space=cfg.space(), state=state),
               gr.update(value=tables.grid_table(view["rows"]), label=tables.grid_label(state, done, total)),
               "\n\n".join(t for t in (status, best) if t))
        if not compare:
            return out
        if rec["kind"] == "comparison":
            return (*out, gr.update(value=tables.comparison_table(rec["rows"]), label=tables.comparison_label("done")),
                    figures.comparison_bars(rec["rows"]), rec["reading"])
        if state == "done":  # the comparison record follows at once
            return (*out, gr.skip(), gr.skip(), gr.skip())
        return (*out, gr.update(value=tables.comparison_table([]), label=tables.comparison_label(state, done, total)),
                figures.comparison_bars([]), gr.skip())

    with ui.job(GRID, request) as stop:
        yield from ui.stream(ex.run(cfg, stop, compare=compare), render, fold=fold, stop=stop,
                             urgent=lambda rec: rec["kind"] not in ("setting", "progress"))


@ui.handler
def grid(checkpoint, ood_set, images_per_side, temperatures, epsilons, request: gr.Request = None):
    """Stream the search of every detector: (heatmap, grid table, chosen settings)."""
    yield from _protocol(ui.config(GridConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                                   temperatures=temperatures, epsilons=epsilons), request, compare=False)


@ui.handler
def compare(checkpoint, ood_set, images_per_side, temperatures, epsilons, request: gr.Request = None):
    """The search (cached settings are instant), then every detector on the test half, and a reading."""
    yield from _protocol(ui.config(GridConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                                   temperatures=temperatures, epsilons=epsilons), request, compare=True)


def estimate_text(seconds: float) -> str:
    """'≈ 40 s, measured on this machine' or '≈ 40 s on 2 CPU cores, reference speed (not measured here yet)'."""
    from labs.core import eta

    how = "measured on this machine" if eta.calibrated() else "on 2 CPU cores, reference speed (not measured here yet)"
    return f"≈ {format_seconds(seconds)}, {how}"


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
    """Train the quick classifier (the one recipe) into the checkpoint folder: (message, checkpoint list, row)."""
    from labs.ood import experiment as ex

    cfg = ui.config(QuickClassifierConfig, train_images=train_images, epochs=epochs)

    def render(rec):
        text = tables.training_status(rec, "the quick classifier", estimate_text(quick_classifier_seconds(cfg)))
        if rec["kind"] != "saved":
            return text, gr.skip(), gr.skip()
        return text, gr.update(choices=ex.checkpoint_choices(), value=Path(rec["path"]).stem), gr.update(visible=False)

    yield from _training(TRAIN, request, lambda stop: ex.train_classifier(cfg, stop), render)


@ui.handler
def train_autoencoder(request: gr.Request = None):
    """Train the autoencoder (its recipe) into the checkpoint folder: its status line."""
    from labs.ood import experiment as ex

    def render(rec):
        text = tables.training_status(rec, "the autoencoder", estimate_text(autoencoder_seconds(AutoencoderConfig())))
        return f"{tables.autoencoder_note(Path(rec['path']), '')} {text}" if rec["kind"] == "saved" else text

    yield from _training(GRID, request, lambda stop: ex.train_autoencoder(AutoencoderConfig(), stop), render)


def build(tab: gr.Tab | None = None) -> dict[str, gr.components.Component]:
    """Lay out and wire the tab; returns its components by name. The first draw runs when `tab` is
    selected if the caller passes its gr.Tab, else when the page loads."""
    live0, grid0, quick0 = LiveConfig(), GridConfig(), QuickClassifierConfig()
    gr.Markdown(ABOUT)
    message = gr.Markdown("", visible=False)
    with gr.Row(visible=False) as train_row:
        train_n = gr.Number(quick0.train_images, precision=0, label="Train images")
        train_epochs = gr.Number(quick0.epochs, precision=0, label="Epochs")
        train_btn = gr.Button(f"Train a quick CIFAR-10 classifier ({estimate_text(quick_classifier_seconds(quick0))})",
                              variant="primary")
        train_stop = gr.Button("Stop", variant="stop")
    with gr.Row():
        ckpt = gr.Dropdown([], value=None, label="Classifier checkpoint", allow_custom_value=True, scale=3,
                           info="in-distribution set: the first n test images of its own data set")
        refresh_btn = gr.Button("↻", scale=0, min_width=40)
        ood = gr.Dropdown([(s.title, k) for k, s in OOD_SETS.items()], value=live0.ood_set, label="OOD set",
                          allow_custom_value=True, scale=3)
        n = gr.Number(live0.images_per_side, precision=0, label="Images per side", scale=1)
    with gr.Row():
        log_t = gr.Slider(0, 3, value=0, step=0.1, label="Temperature: log10 T (0 → T=1, 3 → T=1000)", scale=3)
        temp = gr.Number(live0.temperature, label="T", info="type a value + Enter, or use the slider", scale=1)
        eps_slider = gr.Slider(0, EPS_SLIDER_MAX, value=live0.epsilon, step=0.0005, scale=3,
                               label="ε (pixel units; step on input = ε/std)")
        eps = gr.Number(live0.epsilon, label="ε", info="type a value + Enter, or use the slider", scale=1)
        extras = gr.Dropdown([(DETECTORS[k].title, k) for k in LIVE_EXTRAS], value=list(live0.extras),
                             multiselect=True, allow_custom_value=True, label="Also plot", scale=2)
    with gr.Row():
        roc = gr.Plot(figures.roc_figure({}), label="ROC", elem_id="odin-roc")
        with gr.Column():
            table = gr.Dataframe(tables.metrics_table({}), interactive=False, elem_id="odin-metrics", wrap=True,
                                 column_widths=["25%"] + ["12.5%"] * 6,
                                 label="Metrics (all n images per side)")
            gr.Markdown(tables.METRIC_LEGEND, elem_classes=["labs-note"])
            status = gr.Markdown("", elem_classes=["labs-note"], min_height=28, elem_id="odin-live-status")
    hist = gr.Plot(figures.score_histograms({}), label="Score histograms")

    with gr.Accordion("Grid search and comparison (validation half picks, test half reports)", open=True):
        with gr.Row():
            temps = gr.Textbox(",".join(f"{t:g}" for t in grid0.temperatures), label="Temperatures", scale=2)
            epss = gr.Textbox(",".join(f"{e:g}" for e in grid0.epsilons), label="Epsilons (pixel units)", scale=2)
            grid_btn = gr.Button("Grid search", variant="primary", scale=1)
            comp_btn = gr.Button("Compare detectors", scale=1)
            grid_stop = gr.Button("Stop", variant="stop", scale=0, min_width=70)
        with gr.Row():
            heat = gr.Plot(figures.auroc_heatmap([]), label="Grid heatmap", elem_id="odin-heatmap")
            with gr.Column():
                grid_table = gr.Dataframe(tables.grid_table([]), interactive=False, max_height=300, wrap=True,
                                          elem_id="odin-grid", label=tables.grid_label("done", 0, 0),
                                          column_widths=["17%", "19%"] + ["13%"] * 4 + ["12%"])
                gr.Markdown(tables.GRID_LEGEND, elem_classes=["labs-note"])
                stop_note = gr.Markdown("", elem_classes=["labs-note"], elem_id="odin-grid-stop")  # Stop's reply: its own
                best_md = gr.Markdown("", elem_classes=["labs-note"], min_height=28, elem_id="odin-grid-status")
        with gr.Row():
            with gr.Column():
                comp_table = gr.Dataframe(tables.comparison_table([]), label=tables.comparison_label("done"),
                                          interactive=False, elem_id="odin-comparison", wrap=True,
                                          column_widths=["28%"] + ["12%"] * 6)
                gr.Markdown(tables.COMPARISON_LEGEND, elem_classes=["labs-note"])
            comp_bars = gr.Plot(figures.comparison_bars([]), label="AUROC by detector")
        with gr.Row():
            ae_status = gr.Markdown("", elem_classes=["labs-note"])
            ae_btn = gr.Button(f"Train the autoencoder ({estimate_text(autoencoder_seconds(AutoencoderConfig()))})",
                               scale=0, min_width=320)
    with gr.Accordion("Notes: conventions, OOD set definitions, what the numbers mean", open=False):
        gr.Markdown(notes.conventions())
        reading = gr.Markdown("")

    form = [ckpt, ood, n, temp, eps, extras]
    live_out = [roc, table, hist, status]
    listing = [ckpt, message, train_row, ae_status]
    live_kw = dict(fn=live, inputs=form, outputs=live_out, show_progress_on=[status], trigger_mode="multiple",
                   concurrency_limit=4, concurrency_id=LIVE)
    draw_kw = dict(fn=draw, inputs=form, outputs=live_out, show_progress_on=[status], concurrency_limit=4,
                   concurrency_id=LIVE, api_visibility="private")
    # The sliders set T / ε, then the live view follows; the public endpoint takes T and ε themselves.
    log_t.release(t_from_log, log_t, temp, queue=False, api_visibility="private").then(**live_kw,
                                                                                       api_visibility="private")
    eps_slider.release(lambda v: v, eps_slider, eps, queue=False, api_visibility="private").then(
        **live_kw, api_visibility="private")
    temp.submit(log_from_t, temp, log_t, queue=False, api_visibility="private")
    eps.submit(eps_to_slider, eps, eps_slider, queue=False, api_visibility="private")
    gr.on([ood.change, n.submit, extras.change, ckpt.input, temp.submit, eps.submit], **live_kw, api_name="odin_live")
    gr.on([tab.select] if tab is not None else None, refresh, None, listing, api_visibility="private").then(**draw_kw)
    refresh_btn.click(refresh, None, listing, api_name="odin_refresh").then(**draw_kw)

    setup = [ckpt, ood, n, temps, epss]
    grid_btn.click(grid, setup, [heat, grid_table, best_md], api_name="odin_grid", show_progress_on=[best_md])
    comp_btn.click(compare, setup, [heat, grid_table, best_md, comp_table, comp_bars, reading],
                   api_name="odin_compare", show_progress_on=[best_md])
    ae_btn.click(train_autoencoder, None, ae_status, api_name="odin_train_autoencoder", show_progress_on=[ae_status])
    ui.stop_button(grid_stop, GRID, stop_note)  # not the status: a late reply would hide "Stopped after …"
    gr.on([grid_btn.click, comp_btn.click], lambda: "", None, stop_note, queue=False, api_visibility="private")
    train_btn.click(train_classifier, [train_n, train_epochs], [message, ckpt, train_row],
                    api_name="odin_train_classifier", show_progress_on=[message]).success(**draw_kw)
    ui.stop_button(train_stop, TRAIN, message)
    return {"checkpoint": ckpt, "ood_set": ood, "images_per_side": n, "temperature": temp, "epsilon": eps,
            "extras": extras, "roc": roc, "metrics": table, "histograms": hist, "status": status, "heatmap": heat,
            "grid_table": grid_table, "best": best_md, "comparison": comp_table, "reading": reading,
            "train_status": message, "ae_status": ae_status}
