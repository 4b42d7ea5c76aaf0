"""Lab 1 tab: layout and wiring only. The work is in labs.residual.experiment (imported on first use)."""

from __future__ import annotations

import gradio as gr

from labs import ui
from labs.core import eta, plots
from labs.core.catalog import DATASETS, availability_message, is_available
from labs.core.errors import LabsError
from labs.residual import figures
from labs.residual.config import (ARCHITECTURES, MLP_PRESETS, SIZES, MLPCompareConfig, SweepConfig,
                                  estimate_sweep_seconds, sweep_config)

INTRO = """### ResNet replication: is depth a gift or a burden?
He et al. (2016) found that a deeper *plain* network can train **worse** than a shallower one (the degradation
problem) and that skip connections, `out = out + shortcut(x)`, fix it. **A** trains a 16-layer MLP and the same
MLP with skips side by side; the gradient-norm map shows why the plain one struggles: the gradient reaching
its first layers is orders of magnitude smaller. **B** repeats the seed's CIFAR-10 table: PlainCNN vs ResNet
at Small [2,2], Medium [5,5], Large [7,7] blocks per stage (widths 16, 32)."""

SCOPE = "residual"  # both parts share one stop scope: a session's Stop ends its Lab 1 run


def data_note(name: str) -> str:
    msg = availability_message(name)
    return f"⚠️ {msg} Choose **digits** to run offline." if msg else f"{DATASETS[name].title}: ready."


@ui.handler
def train_mlp(dataset, depth, width, epochs, lr, batch_size, train_subset, seed, request: gr.Request = None):
    cfg = ui.config(MLPCompareConfig, dataset=dataset, depth=depth, width=width, epochs=epochs, lr=lr,
                    batch_size=batch_size, train_subset=train_subset, seed=seed)
    from labs.residual.experiment import run_mlp_comparison

    view = figures.MLPView()
    with ui.job(SCOPE, request) as stop:
        yield from ui.stream(run_mlp_comparison(cfg, stop),
                             lambda _: (*figures.mlp_figures(view), figures.mlp_table(view), view.status),
                             fold=view.add, stop=stop)


@ui.handler
def train_sweep(dataset, archs, sizes, epochs, train_subset, test_subset, batch_size, lr, augment, seed,
                request: gr.Request = None):
    cfg = ui.config(SweepConfig, dataset=dataset, architectures=archs, sizes=sizes, epochs=epochs,
                    train_subset=train_subset, test_subset=test_subset, batch_size=batch_size, lr=lr,
                    augment=augment, seed=seed)
    from labs.residual.experiment import run_sweep

    view = figures.SweepView()
    with ui.job(SCOPE, request) as stop:
        yield from ui.stream(run_sweep(cfg, stop),
                             lambda _: (*figures.sweep_figures(view), figures.sweep_table(view), view.status),
                             fold=view.add, stop=stop)


def sweep_eta(archs, sizes, epochs, train_subset, test_subset) -> str:
    try:
        cfg = ui.config(SweepConfig, architectures=archs, sizes=sizes, epochs=epochs, train_subset=train_subset,
                        test_subset=test_subset)
    except LabsError as err:  # shown in place of the estimate while the form is incomplete
        return f"⚠️ {err}"
    cpu = eta.format_seconds(estimate_sweep_seconds(cfg, "cpu"))
    gpu = eta.format_seconds(estimate_sweep_seconds(cfg, "cuda"))
    runs = len(cfg.architectures) * len(cfg.sizes)
    n = cfg.train_subset or 50_000
    return (f"**{runs} runs x {cfg.epochs} epochs x {n:,} images.** Estimated time: **{cpu} on a 2-core CPU**, "
            f"{gpu} on one H200 GPU.")


def apply_preset(preset):
    c = sweep_config(preset)
    return c.epochs, c.train_subset, c.test_subset, c.batch_size, c.lr


def build(tab: gr.Tab | None = None) -> None:
    """Lay out Lab 1 inside `tab` (every build() gets its gr.Tab; this one draws everything at build time)."""
    gr.Markdown(INTRO)
    default_mlp = "mnist" if is_available("mnist") else "digits"
    default_cnn = "cifar10" if is_available("cifar10") else "digits"
    with gr.Tabs():
        with gr.Tab("A. MLP vs ResidualMLP"):
            m = MLPCompareConfig(dataset=default_mlp)
            with gr.Row():
                mlp_data = gr.Dropdown(["mnist", "digits"], value=default_mlp, label="Data set")
                depth = gr.Slider(3, 64, value=m.depth, step=1, label="Layers (linear)")
                width = gr.Slider(16, 512, value=m.width, step=16, label="Width")
                mlp_epochs = gr.Number(value=m.epochs, precision=0, label="Epochs")
            with gr.Accordion("Optimiser and data", open=False):
                with gr.Row():
                    mlp_lr = gr.Number(value=m.lr, label="Adam peak learning rate (OneCycle)")
                    mlp_bs = gr.Number(value=m.batch_size, precision=0, label="Batch size")
                    mlp_subset = gr.Number(value=m.train_subset, precision=0, label="Train images (0 = all)")
                    mlp_seed = gr.Number(value=m.seed, precision=0, label="Seed")
            mlp_note = gr.Markdown(data_note(default_mlp), elem_classes="labs-note")
            gr.Markdown(f"Defaults: full MNIST, {m.epochs} epochs, about 15 s on an idle 2-core CPU. "
                        f"Preset *full*: {MLP_PRESETS['full']['epochs']} epochs.", elem_classes="labs-note")
            with gr.Row():
                mlp_go = gr.Button("Train both", variant="primary")
                mlp_stop = gr.Button("Stop", variant="stop")
            mlp_status = gr.Markdown("")
            with gr.Row():
                mlp_loss = gr.Plot(plots.empty_figure("Training loss"), label="Training loss", show_label=False)
                mlp_acc = gr.Plot(plots.empty_figure("Test accuracy"), label="Test accuracy", show_label=False)
            mlp_grad = gr.Plot(plots.empty_figure("Gradient norm per layer"), label="Gradient norms", show_label=False)
            mlp_table = gr.Dataframe(figures.mlp_table(None), label="Summary", interactive=False)
            mlp_data.change(data_note, mlp_data, mlp_note)
            mlp_go.click(train_mlp, [mlp_data, depth, width, mlp_epochs, mlp_lr, mlp_bs, mlp_subset, mlp_seed],
                         [mlp_loss, mlp_acc, mlp_grad, mlp_table, mlp_status], api_name="train_mlp",
                         show_progress_on=[mlp_status], concurrency_id="train", concurrency_limit=1)
            ui.stop_button(mlp_stop, SCOPE, mlp_status, api_name="stop_mlp")

        with gr.Tab("B. PlainCNN vs ResNet"):
            s = sweep_config("quick", dataset=default_cnn)
            with gr.Row():
                cnn_data = gr.Dropdown(["cifar10", "digits"], value=default_cnn, label="Data set")
                archs = gr.CheckboxGroup(list(ARCHITECTURES), value=list(s.architectures), label="Architectures")
                sizes = gr.CheckboxGroup(list(SIZES), value=list(s.sizes),
                                         label="Sizes (blocks per stage: Small [2,2], Medium [5,5], Large [7,7])")
            with gr.Row():
                preset = gr.Radio([("Quick (2-core CPU)", "quick"), ("Full size (GPU reference)", "full")],
                                  value="quick", label="Preset")
                epochs = gr.Number(value=s.epochs, precision=0, label="Epochs per run")
                n_train = gr.Number(value=s.train_subset, precision=0, label="Train images (0 = all 50,000)")
                n_test = gr.Number(value=s.test_subset, precision=0, label="Test images (0 = all 10,000)")
            with gr.Accordion("Optimiser", open=False):
                with gr.Row():
                    batch = gr.Number(value=s.batch_size, precision=0, label="Batch size")
                    lr = gr.Number(value=s.lr, label="SGD-Nesterov peak learning rate (OneCycle, weight decay 5e-4)")
                    augment = gr.Checkbox(value=s.augment, label="Random crop + flip")
                    seed = gr.Number(value=s.seed, precision=0, label="Seed")
            cnn_note = gr.Markdown(data_note(default_cnn), elem_classes="labs-note")
            eta = gr.Markdown(sweep_eta(s.architectures, s.sizes, s.epochs, s.train_subset, s.test_subset))
            with gr.Row():
                cnn_go = gr.Button("Train selected runs", variant="primary")
                cnn_stop = gr.Button("Stop", variant="stop")
            cnn_status = gr.Markdown("")
            with gr.Row():
                cnn_loss = gr.Plot(plots.empty_figure("Training loss per run"), label="Training loss", show_label=False)
                cnn_acc = gr.Plot(plots.empty_figure("Test accuracy per run"), label="Test accuracy", show_label=False)
            with gr.Row():
                cnn_depth = gr.Plot(plots.empty_figure("Test accuracy vs depth"), label="Accuracy vs depth", show_label=False)
                cnn_table = gr.Dataframe(figures.sweep_table(None), label="Results (the seed's table)",
                                         interactive=False)
            cnn_data.change(data_note, cnn_data, cnn_note)
            preset.change(apply_preset, preset, [epochs, n_train, n_test, batch, lr])
            for comp in (archs, sizes, epochs, n_train, n_test):
                comp.change(sweep_eta, [archs, sizes, epochs, n_train, n_test], eta, queue=False)
            cnn_go.click(train_sweep, [cnn_data, archs, sizes, epochs, n_train, n_test, batch, lr, augment, seed],
                         [cnn_loss, cnn_acc, cnn_depth, cnn_table, cnn_status], api_name="train_sweep",
                         show_progress_on=[cnn_status], concurrency_id="train", concurrency_limit=1)
            ui.stop_button(cnn_stop, SCOPE, cnn_status, api_name="stop_sweep")
