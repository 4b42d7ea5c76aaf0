"""The "ODIN" tab: layout and wiring only, through labs/ui.py. The work is labs.ood.experiment (imported on
first use: the page is built without torch).

Live view: releasing a slider (or typing T / ε + Enter) recomputes from the caches (ε = 0: no
forward pass) or streams ODIN batch by batch; a newer request from the same session stops
the older stream at its next batch. First draw: when the page loads (or, given the tab, when
it is opened), the checkpoint list is read and the default view drawn.
"""

from __future__ import annotations

import math

import gradio as gr

from labs import datagate, ui
from labs.core import public
from labs.core.ckpt_labels import labelled
from labs.ood import figures, names, notes, reference, tables
from labs.ood.config import (FIRST_VIEW_IMAGES, AutoencoderConfig, GridConfig, LiveConfig, QuickClassifierConfig,
                             autoencoder_seconds, quick_classifier_seconds)
from labs.ood.training import GRID, TRAIN, estimate_text, train_autoencoder, train_classifier
from labs.ood.detectors import DETECTORS, EPS_SCALES, LIVE_EXTRAS
from labs.ood.oodsets import OOD_SETS

LIVE = "odin_live"  # the live view's stop scope (the others: labs.ood.training)
EPS_SLIDER_MAX = 0.01  # the slider's range; the ε box takes any value the config allows
SKIP4 = (gr.skip(),) * 4
OPENING = "drawing the ROC of the selected checkpoint and OOD set…"  # until the first view arrives (tab.select)
NOTHING_YET = "nothing to draw yet: the note above says what is missing"

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

    public.check("odin_live", images_per_side=cfg.images_per_side)
    with ui.job(LIVE, request, supersede=True) as stop:  # a superseded stream draws nothing more: the newer one
        yield from ui.stream(ex.live(cfg, stop, session=ui.session(request)),
                             lambda rec: SKIP4 if stop.is_set() else _live_outputs(rec), stop=stop)


@ui.handler
def live(checkpoint, ood_set, images_per_side, temperature, epsilon, extras, eps_scale="seed",
         request: gr.Request = None):
    """Stream (ROC, metrics table, histograms, status) for ODIN at (T, ε) against the baselines."""
    yield from _live(ui.config(LiveConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                               temperature=temperature, epsilon=epsilon, extras=extras, eps_scale=eps_scale), request)


@ui.handler
def draw(checkpoint, ood_set, images_per_side, temperature, epsilon, extras, eps_scale="seed",
         request: gr.Request = None):
    """The live view, quiet (no error pop-up) while there is no checkpoint or no data."""
    from labs.ood import experiment as ex

    if not ex.own_folder(checkpoint, ui.session(request)) and ex.availability(checkpoint):
        yield (figures.roc_figure({}, note=NOTHING_YET), *SKIP4[1:])  # the message above says what is missing
        return
    yield from _live(ui.config(LiveConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                               temperature=temperature, epsilon=epsilon, extras=extras, eps_scale=eps_scale), request)


@ui.handler
def refresh(request: gr.Request = None):
    """(checkpoint list, missing-things message, train row visibility, autoencoder note, autoencoder button
    visibility: only while the comparison has none); a session's own models (public mode) are listed to it first."""
    from labs.core.checkpoints import folders
    from labs.ood import experiment as ex

    session = ui.session(request)
    choices = ex.session_choices(session)
    msg = "" if choices and not ex.checkpoint_choices() else ex.availability()
    return (gr.update(choices=labelled(choices, folders(session)), value=ex.session_default(session)),
            gr.update(value=msg, visible=bool(msg)), gr.update(visible=not choices),
            tables.autoencoder_note(ae := ex.session_autoencoder(session), f"{ex.AUTOENCODER_RECIPE}.safetensors"),
            gr.update(visible=ae is None))


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

    public.check("odin_grid", grid_pairs=len(cfg.temperatures) * len(cfg.epsilons), images_per_side=cfg.images_per_side)
    with ui.job(GRID, request) as stop:
        yield from ui.stream(ex.run(cfg, stop, compare=compare, session=ui.session(request)), render, fold=fold,
                             stop=stop, urgent=lambda rec: rec["kind"] not in ("setting", "progress"))


@ui.handler
def grid(checkpoint, ood_set, images_per_side, temperatures, epsilons, eps_scale="seed", request: gr.Request = None):
    """Stream the search of every detector: (heatmap, grid table, chosen settings)."""
    yield from _protocol(ui.config(GridConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                                   temperatures=temperatures, epsilons=epsilons, eps_scale=eps_scale), request,
                         compare=False)


@ui.handler
def compare(checkpoint, ood_set, images_per_side, temperatures, epsilons, eps_scale="seed",
            request: gr.Request = None):
    """The search (cached settings are instant), then every detector on the test half, and a reading."""
    yield from _protocol(ui.config(GridConfig, checkpoint=checkpoint, ood_set=ood_set, images_per_side=images_per_side,
                                   temperatures=temperatures, epsilons=epsilons, eps_scale=eps_scale), request,
                         compare=True)


def build(tab: gr.Tab | None = None) -> dict[str, gr.components.Component]:
    """Lay out and wire the tab; returns its components by name. The first draw runs when `tab` is
    selected if the caller passes its gr.Tab, else when the page loads."""
    live0, grid0, quick0 = LiveConfig(), GridConfig(), QuickClassifierConfig()
    gr.Markdown(ABOUT)
    message = gr.Markdown("", visible=False)
    gates = [datagate.Gate(["cifar10"], tab, api_name="odin_download"),  # the classifiers' data; the OOD sets
             datagate.Gate(["cifar100", "mnist", "svhn"], tab, api_name="odin_download_ood")]
    with gr.Row(visible=False) as train_row:
        train_n = gr.Number(quick0.train_images, precision=0, label="Train images")
        train_epochs = gr.Number(quick0.epochs, precision=0, label="Epochs")
        train_label = lambda: (f"Train a quick CIFAR-10 classifier "  # noqa: E731
                               f"({estimate_text(quick_classifier_seconds(quick0))})")
        train_btn = gr.Button(train_label(), variant="primary")
        ui.on_load(train_label, train_btn)
        train_stop = gr.Button("Stop", variant="stop")
        gr.Markdown(public.caps_note("odin_classifier"), visible=public.is_public(), elem_classes=["labs-note"])
    with gr.Row():
        first = names.initial_names()  # by name, without torch; the page's first draw lists them for the session
        ckpt = gr.Dropdown(labelled(first, [names.folder()]), value=names.initial_default(first),
                           label="Classifier checkpoint", scale=3, info="in-distribution set: the first n test images of its own data set")
        refresh_btn = gr.Button("↻", scale=0, min_width=40)
        ood = gr.Dropdown([(s.title, k) for k, s in OOD_SETS.items()], value=live0.ood_set, label="OOD set",
                          allow_custom_value=True, scale=3)
        n = gr.Number(FIRST_VIEW_IMAGES, precision=0, label="Images per side", scale=1,
                      info="start small: the first view is drawn as the tab opens")
    ref_record, ref_line = reference.load()  # results/odin.json: the reference run's grid and comparison
    # the first live view: ODIN at the setting the reference run chose for this checkpoint and OOD set, if any
    start = {"temperature": live0.temperature, "epsilon": live0.epsilon, "eps_scale": live0.eps_scale,
             **reference.initial_setting(ref_record, live0.ood_set, ckpt.value)}
    with gr.Row():
        log_t = gr.Slider(0, 3, value=log_from_t(start["temperature"]), step=0.1,
                          label="Temperature: log10 T (0 → T=1, 3 → T=1000)", scale=3)
        temp = gr.Number(start["temperature"], label="T", info="type a value + Enter, or use the slider", scale=1)
        eps_slider = gr.Slider(0, EPS_SLIDER_MAX, value=start["epsilon"], step=0.0005, scale=3,
                               label="ε (on the scale chosen below)")
        eps = gr.Number(start["epsilon"], label="ε", info="type a value + Enter, or use the slider", scale=1)
        extras = gr.Dropdown([(DETECTORS[k].title, k) for k in LIVE_EXTRAS], value=list(live0.extras),
                             multiselect=True, allow_custom_value=True, label="Also plot", scale=2)
    with gr.Row():
        eps_scale = gr.Radio([(EPS_SCALES[k], k) for k in EPS_SCALES], value=start["eps_scale"], label="ε scale",
                             elem_id="odin-eps-scale", info="the seed's 0.004 is the paper's ~0.001 (CIFAR std ~0.25)")
    with gr.Row():
        roc = gr.Plot(figures.roc_figure({}, note=OPENING), label="ROC", elem_id="odin-roc")
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
            epss = gr.Textbox(",".join(f"{e:g}" for e in grid0.epsilons), label="Epsilons", scale=2)
            grid_btn = gr.Button("Grid search", variant="primary", scale=1)
            comp_btn = gr.Button("Compare detectors", scale=1)
            grid_stop = gr.Button("Stop", variant="stop", scale=0, min_width=70)
        gr.Markdown(public.caps_note("odin_grid"), visible=public.is_public(), elem_classes=["labs-note"])
        with gr.Row():
            ref_heat, ref_comp, ref_bars = reference.view(ref_record, ref_line, live0.ood_set)
            heat = gr.Plot(ref_heat, label="Grid heatmap", elem_id="odin-heatmap")
            with gr.Column():
                grid_table = gr.Dataframe(tables.grid_table([]), interactive=False, max_height=300, wrap=True,
                                          elem_id="odin-grid", label=tables.grid_label("done", 0, 0),
                                          column_widths=["17%", "19%"] + ["13%"] * 4 + ["12%"])
                gr.Markdown(tables.GRID_LEGEND, elem_classes=["labs-note"])
                best_md = gr.Markdown("", elem_classes=["labs-note"], min_height=28, elem_id="odin-grid-status")
        with gr.Row():
            with gr.Column():
                comp_table = gr.Dataframe(ref_comp["value"], label=ref_comp["label"],
                                          interactive=False, elem_id="odin-comparison", wrap=True,
                                          column_widths=["28%"] + ["12%"] * 6)
                gr.Markdown(tables.COMPARISON_LEGEND, elem_classes=["labs-note"])
            comp_bars = gr.Plot(ref_bars, label="AUROC by detector")
        with gr.Row():
            ae_status = gr.Markdown("", elem_classes=["labs-note"])
            ae_label = lambda: (f"Train the autoencoder "  # noqa: E731
                                f"({estimate_text(autoencoder_seconds(AutoencoderConfig()))})")
            with gr.Column(scale=0, min_width=320, visible=False) as ae_box:  # shown while there is none
                ae_btn = gr.Button(ae_label())
            ui.on_load(ae_label, ae_btn)
    with gr.Accordion("Notes: conventions, OOD set definitions, what the numbers mean", open=False):
        gr.Markdown(notes.conventions())
        reading = gr.Markdown("")

    form = [ckpt, ood, n, temp, eps, extras, eps_scale]
    live_out = [roc, table, hist, status]
    listing = [ckpt, message, train_row, ae_status, ae_box]
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
    gr.on([ood.change, n.submit, extras.change, ckpt.input, temp.submit, eps.submit, eps_scale.change], **live_kw,
          api_name="odin_live")
    ood.change(reference.on_ood, ood, [heat, comp_table, comp_bars], queue=False, api_visibility="private")
    gr.on([tab.select] if tab is not None else None, refresh, None, listing, api_visibility="private").then(**draw_kw)
    refresh_btn.click(refresh, None, listing, api_name="odin_refresh").then(**draw_kw)
    for gate in gates:  # a finished download: list and draw again, no reload
        gate.then(refresh, None, listing).then(**draw_kw)

    setup = [ckpt, ood, n, temps, epss, eps_scale]
    ui.heavy_event(grid_btn.click, GRID, grid, setup, [heat, grid_table, best_md], api_name="odin_grid",
                   show_progress_on=[best_md])
    ui.heavy_event(comp_btn.click, GRID, compare, setup, [heat, grid_table, best_md, comp_table, comp_bars, reading],
                   api_name="odin_compare", show_progress_on=[best_md])
    ui.heavy_event(ae_btn.click, GRID, train_autoencoder, None, [ae_status, ae_box],
                   api_name="odin_train_autoencoder", show_progress_on=[ae_status])
    ui.stop_button(grid_stop, GRID, [best_md, ae_status])  # the reply goes to the line the stopped job wrote
    ui.heavy_event(train_btn.click, TRAIN, train_classifier, [train_n, train_epochs], [message, ckpt, train_row],
                   api_name="odin_train_classifier", show_progress_on=[message]).success(**draw_kw)
    ui.stop_button(train_stop, TRAIN, message)
    return {"checkpoint": ckpt, "ood_set": ood, "images_per_side": n, "temperature": temp, "epsilon": eps,
            "extras": extras, "roc": roc, "metrics": table, "histograms": hist, "status": status, "heatmap": heat,
            "grid_table": grid_table, "best": best_md, "comparison": comp_table, "reading": reading,
            "train_status": message, "ae_status": ae_status}
