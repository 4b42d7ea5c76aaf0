"""The "ODIN" tab: layout and wiring only; the work is labs.ood.experiment (scores, caches, protocol).

Live view: releasing a slider recomputes from the caches (eps = 0: no forward pass) or
streams ODIN batch by batch; a newer request from the same browser session makes the
older stream stop at its next batch. First draw: when the tab is opened.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from labs.ood import figures, notes
from labs.ood import tab_handlers as h
from labs.ood.oodsets import OOD_SETS

ABOUT = """### ODIN: out-of-distribution detection
Can a CIFAR-10 classifier tell that an image is not a CIFAR-10 image? **ODIN** sharpens the max-softmax score with a
temperature **T** and a small input perturbation **ε**. Move the sliders (release to update), run the grid search
(validation half picks, test half reports) and compare with max softmax, energy, max logit and an autoencoder."""


def build() -> None:
    gr.Markdown(ABOUT)
    message = gr.Markdown(h.availability(), visible=bool(h.availability()))
    with gr.Row(visible=h.needs_classifier()) as train_row:
        train_n = gr.Number(5000, precision=0, label="Train images", minimum=256, maximum=50000)
        train_epochs = gr.Number(2, precision=0, label="Epochs", minimum=1, maximum=50)
        train_btn = gr.Button("Train a quick CIFAR-10 classifier", variant="primary")
        train_stop = gr.Button("Stop", variant="stop")
    with gr.Row():
        ckpt = gr.Dropdown(h.checkpoint_choices(), value=h.default_checkpoint(), label="Classifier checkpoint",
                           allow_custom_value=True, scale=3)
        refresh = gr.Button("↻", scale=0, min_width=40)
        gr.Textbox("CIFAR-10 test (first n images)", label="In-distribution set", interactive=False, scale=2)
        ood = gr.Dropdown([(s.title, k) for k, s in OOD_SETS.items()], value="uniform", label="OOD set", scale=3)
        n = gr.Number(h.DEFAULT_N, precision=0, label="Images per side", minimum=2, maximum=10000, scale=1)
    with gr.Row():
        log_t = gr.Slider(0, 3, value=0, step=0.1, label="Temperature: log10 T (0 → T=1, 3 → T=1000)", scale=3)
        temp = gr.Number(1.0, label="T", info="type a value + Enter, or use the slider", scale=1, minimum=0)
        eps = gr.Slider(0, 0.01, value=0.0, step=0.0005, label="ε (pixel units; step on input = ε/std)", scale=3)
        extras = gr.CheckboxGroup([("Energy", "energy"), ("Max logit", "max_logit")], value=[],
                                  label="Also plot", scale=2)
    with gr.Row():
        roc = gr.Plot(figures.roc_figure({}), label="ROC")
        with gr.Column():
            table = gr.Dataframe(pd.DataFrame(columns=h.METRIC_COLUMNS), interactive=False,
                                 label="Metrics (all n images per side; ID = positive)")
            status = gr.Markdown("", elem_classes=["labs-note"], min_height=28)
    hist = gr.Plot(figures.score_histograms({}), label="Score histograms")

    with gr.Accordion("Grid search and comparison (validation half picks, test half reports)", open=True):
        with gr.Row():
            temps = gr.Textbox("1,10,100", label="Temperatures", scale=2)
            epss = gr.Textbox("0,0.001,0.002,0.004", label="Epsilons (pixel units)", scale=2)
            grid_btn = gr.Button("Grid search", variant="primary", scale=1)
            comp_btn = gr.Button("Compare detectors", scale=1)
            grid_stop = gr.Button("Stop", variant="stop", scale=0, min_width=70)
        with gr.Row():
            heat = gr.Plot(figures.auroc_heatmap([], [], {}), label="Grid heatmap")
            with gr.Column():
                grid_table = gr.Dataframe(pd.DataFrame(columns=h.GRID_COLUMNS), interactive=False, max_height=300,
                                          label="Grid: validation and test halves")
                best_md = gr.Markdown("", elem_classes=["labs-note"], min_height=28)
        with gr.Row():
            comp_table = gr.Dataframe(pd.DataFrame(columns=h.COMPARISON_COLUMNS), label="Comparison (test half)",
                                      interactive=False)
            comp_bars = gr.Plot(figures.comparison_bars([]), label="AUROC by detector")
        with gr.Row():
            ae_status = gr.Markdown(h.autoencoder_status(), elem_classes=["labs-note"])
            ae_btn = gr.Button("Train the autoencoder (≈ 2-4 CPU minutes)", scale=0, min_width=320)
    with gr.Accordion("Notes: conventions, OOD set definitions, what the numbers mean", open=False):
        gr.Markdown(notes.conventions())
        reading = gr.Markdown("")

    setup = [ckpt, ood, n]
    live_out = [roc, table, hist, status]
    live_kw = dict(fn=h.live, inputs=setup + [temp, eps, extras], outputs=live_out, show_progress_on=[status],
                   trigger_mode="multiple", concurrency_limit=4, concurrency_id="odin_live")
    # The slider sets T, then the live view follows; the public endpoint takes T itself.
    log_t.release(h.t_from_log, log_t, temp, queue=False, api_visibility="private").then(
        **live_kw, api_visibility="private")
    temp.submit(h.log_from_t, temp, log_t, queue=False, api_visibility="private")
    gr.on([eps.release, ood.change, n.submit, extras.change, ckpt.change, temp.submit], **live_kw, api_name="odin_live")
    tab = gr.context.Context.block  # build() runs inside `with gr.Tab(...)`: draw when the tab is opened
    if isinstance(tab, gr.Tab):
        tab.select(h.first_draw, setup + [temp, eps, extras], live_out, show_progress_on=[status],
                   api_visibility="private")
    refresh.click(h.refresh, None, [ckpt, message, train_row], api_name="odin_refresh")

    grid_ev = grid_btn.click(h.grid, setup + [temps, epss], [heat, grid_table, best_md], api_name="odin_grid",
                             show_progress_on=[best_md])
    comp_ev = comp_btn.click(h.compare, setup + [temps, epss], [heat, grid_table, best_md, comp_table, comp_bars,
                             reading], api_name="odin_compare", show_progress_on=[best_md])
    ae_ev = ae_btn.click(h.train_autoencoder, None, ae_status, api_name="odin_train_autoencoder",
                         show_progress_on=[ae_status])
    grid_stop.click(None, None, None, cancels=[grid_ev, comp_ev, ae_ev])
    train_ev = train_btn.click(h.train_classifier, [train_n, train_epochs], [message, ckpt, train_row],
                               api_name="odin_train_classifier", show_progress_on=[message])
    train_stop.click(None, None, None, cancels=[train_ev])
