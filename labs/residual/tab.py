"""Lab 1 tab: layout and wiring only. The work is in labs.residual.experiment (imported on first use)."""

from __future__ import annotations

import gradio as gr

from labs import datagate, ui
from labs.core import eta, plots, public
from labs.core.catalog import DATASETS, is_available, visitor_message
from labs.core.errors import LabsError
from labs.residual import figures, reference, timing
from labs.residual.config import (ARCHITECTURES, CONVERGENCE_NOTE, MLP_LR, MLP_PRESETS, SIZES, SWEEP_PRESETS,
                                  MLPCompareConfig, SweepConfig, estimate_sweep_seconds, split_sizes,
                                  sweep_config)
from labs.residual.tables import MLP_TABLE_NOTE

INTRO = """### ResNet replication: is depth a gift or a burden?
He et al. (2016) found that a deeper *plain* network can train **worse** than a shallower one (the degradation
problem) and that skip connections, `out = out + shortcut(x)`, fix it. **A** trains a 16-layer MLP and the same
MLP with skips side by side; the gradient-norm map shows why the plain one struggles: the gradient reaching
its first layers is orders of magnitude smaller. **B** repeats the seed's CIFAR-10 table: PlainCNN vs ResNet
at Small [2,2], Medium [5,5], Large [7,7] blocks per stage (widths 16, 32)."""

SCOPE = "residual"  # both parts share one stop scope: a session's Stop ends its Lab 1 run


def data_note(name: str) -> str:
    msg = visitor_message(name)
    if msg:
        return f"⚠️ {msg} Download it above, or choose **digits** to run offline."
    return f"{DATASETS[name].title}: ready."


@ui.handler
def train_mlp(dataset, depth, width, epochs, lr, batch_size, train_subset, seed, optimizer="adam",
              request: gr.Request = None):
    cfg = ui.config(MLPCompareConfig, dataset=dataset, depth=depth, width=width, epochs=epochs, lr=lr,
                    batch_size=batch_size, train_subset=train_subset, seed=seed, optimizer=optimizer)
    n = min(cfg.train_subset or timing.TRAIN_SIZES[cfg.dataset], timing.TRAIN_SIZES[cfg.dataset])
    public.check("mlp", train_seconds=timing.mlp_seconds(cfg.dataset, cfg.depth, cfg.width, n * cfg.epochs)[0])
    from labs.residual.experiment import run_mlp_comparison

    view, ref = figures.MLPView(), reference.load("mlp")[0]  # the reference curves stay under the live ones
    with ui.job(SCOPE, request) as stop:
        def render(_):
            figs = reference.with_reference(figures.mlp_figures(view), ref, cfg.dataset, log_loss=True)
            return (*figs, figures.mlp_table(view), view.status)

        yield from ui.stream(run_mlp_comparison(cfg, stop), render, fold=view.add, stop=stop)


@ui.handler
def train_sweep(dataset, archs, sizes, epochs, train_subset, test_subset, batch_size, lr, augment, seed,
                label_smoothing=0.0, request: gr.Request = None):
    cfg = ui.config(SweepConfig, dataset=dataset, architectures=archs, sizes=sizes, epochs=epochs,
                    train_subset=train_subset, test_subset=test_subset, batch_size=batch_size, lr=lr,
                    augment=augment, seed=seed, label_smoothing=label_smoothing)
    public.check("sweep", train_seconds=estimate_sweep_seconds(cfg, "cpu"))
    from labs.residual.experiment import run_sweep

    view, ref = figures.SweepView(), reference.for_sweep(cfg.epochs)
    with ui.job(SCOPE, request) as stop:
        yield from ui.stream(run_sweep(cfg, stop),
                             lambda _: (*reference.with_reference(figures.sweep_figures(view), ref, cfg.dataset, depth=True),
                                        figures.sweep_table(view), view.status),
                             fold=view.add, stop=stop)


def data_name(name: str) -> str:
    return "digits" if name == "digits" else DATASETS[name].title


def mlp_note(dataset, depth, width, epochs, train_subset) -> str:
    """Part A's estimate for the form as it stands (labs.residual.timing), worded for the chosen data set."""
    try:
        cfg = ui.config(MLPCompareConfig, dataset=dataset, depth=depth, width=width, epochs=epochs,
                        train_subset=train_subset)
    except LabsError as err:
        return f"⚠️ {err}"
    n_all = timing.TRAIN_SIZES[cfg.dataset]
    n = min(cfg.train_subset or n_all, n_all)
    seconds, measured = timing.mlp_seconds(cfg.dataset, cfg.depth, cfg.width, n * cfg.epochs, "cpu")
    what = f"full {data_name(cfg.dataset)}" if n == n_all else data_name(cfg.dataset)
    return (f"{what}: {n:,} train images, {eta.count(cfg.epochs, 'epoch')}, both models: "
            f"about **{eta.format_seconds(seconds)}** on this machine's CPU ({timing.tag(measured)}). "
            f"Preset *full*: {MLP_PRESETS['full']['epochs']} epochs.")


def mlp_data_changed(dataset, depth, width, epochs, train_subset):
    return (data_note(dataset), gr.update(label=f"Train images (0 = all {timing.TRAIN_SIZES[dataset]:,})"),
            mlp_note(dataset, depth, width, epochs, train_subset))


def sweep_eta(dataset, archs, sizes, epochs, train_subset, test_subset) -> str:
    try:
        cfg = ui.config(SweepConfig, dataset=dataset, architectures=archs, sizes=sizes, epochs=epochs,
                        train_subset=train_subset, test_subset=test_subset)
    except LabsError as err:  # shown in place of the estimate while the form is incomplete
        return f"⚠️ {err}"
    cpu = eta.format_seconds(estimate_sweep_seconds(cfg, "cpu"))
    gpu = eta.format_seconds(estimate_sweep_seconds(cfg, "cuda"))
    runs = len(cfg.architectures) * len(cfg.sizes)
    n, _ = split_sizes(cfg)
    return (f"**{eta.count(runs, 'run')} x {eta.count(cfg.epochs, 'epoch')} x {n:,} {data_name(cfg.dataset)} "
            f"train images.** Estimated time: "
            f"**{cpu} on this machine's CPU** ({timing.tag(timing.conv_basis(cfg.dataset, 'cpu'))}), {gpu} on "
            f"one H200 GPU ({timing.tag(timing.conv_basis(cfg.dataset, 'cuda'))}).")


def table_title(dataset: str) -> str:
    return ("Results (the seed's table)" if dataset == "cifar10" else
            f"Results ({data_name(dataset)}, not comparable to the seed's CIFAR-10 table)")


def sweep_data_changed(dataset, archs, sizes, epochs, train_subset, test_subset):
    return (data_note(dataset), gr.update(label=f"Train images (0 = all {timing.TRAIN_SIZES[dataset]:,})"),
            gr.update(label=f"Test images (0 = all {timing.TEST_SIZES[dataset]:,})"),
            gr.update(label=table_title(dataset)), sweep_eta(dataset, archs, sizes, epochs, train_subset, test_subset))


def apply_preset(preset):
    c = sweep_config(preset)
    return c.epochs, c.train_subset, c.test_subset, c.batch_size, c.lr, c.label_smoothing


def default_data(name: str) -> str:
    """The data set a form starts on: `name` when it is here, else the embedded digits."""
    return name if is_available(name) else "digits"


def run_panel(caps: str, go_label: str, elem: str, titles: tuple[str, str], ref: dict | None, ref_line: str,
              stage: str) -> tuple:
    """Part A's or B's caps note, Train / Stop, status line, and loss / accuracy plots (the reference run's curves
    in both plots until a run draws over them): (go, stop, status, loss, accuracy)."""
    gr.Markdown(public.caps_note(caps), visible=public.is_public(), elem_classes="labs-note")
    with gr.Row():
        go = gr.Button(go_label, variant="primary")
        stop = gr.Button("Stop", variant="stop", elem_id=f"{elem}-stop")
    status = gr.Markdown("", elem_id=f"{elem}-status")
    with gr.Row():
        loss = gr.Plot(reference.first_figure(ref, titles[0], ref_line, stage, "train_loss", log_y=stage == "mlp"),
                       label="Training loss", show_label=False, elem_id=f"{elem}-loss")
        acc = gr.Plot(reference.first_figure(ref, titles[1], ref_line, stage), label="Test accuracy",
                      show_label=False, elem_id=f"{elem}-acc")
    return go, stop, status, loss, acc


def build(tab: gr.Tab | None = None) -> None:
    """Lay out Lab 1 inside `tab` (every build() gets its gr.Tab; this one draws everything at build time)."""
    gr.Markdown(INTRO)
    default_mlp, default_cnn = default_data("mnist"), default_data("cifar10")
    (mlp_ref, mlp_line), (cnn_ref, cnn_line) = reference.load("mlp"), reference.load("cnn")  # results/*.json
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
                    mlp_opt = gr.Radio([("Adam", "adam"), ("SGD (Nesterov)", "sgd")], value=m.optimizer,
                                       label="Optimiser", elem_id="lab1-mlp-optimizer",
                                       info="with SGD the plain MLP-16 does not learn at all")
                    mlp_lr = gr.Number(value=m.lr, label="Peak learning rate (OneCycle)")
                    mlp_bs = gr.Number(value=m.batch_size, precision=0, label="Batch size")
                    mlp_subset = gr.Number(value=m.train_subset, precision=0,
                                           label=f"Train images (0 = all {timing.TRAIN_SIZES[default_mlp]:,})")
                    mlp_seed = gr.Number(value=m.seed, precision=0, label="Seed")
            mlp_gate = datagate.Gate(["mnist"], tab, api_name="residual_download_mnist", on_load=True)
            mlp_data_md = gr.Markdown(data_note(default_mlp), elem_classes="labs-note")
            mlp_first = lambda: mlp_note(default_data("mnist"), m.depth, m.width, m.epochs,  # noqa: E731
                                         m.train_subset)
            mlp_est = gr.Markdown(mlp_first(), elem_classes="labs-note", elem_id="lab1-mlp-estimate")
            ui.on_load(mlp_first, mlp_est)
            mlp_go, mlp_stop, mlp_status, mlp_loss, mlp_acc = run_panel(
                "mlp", "Train both", "lab1-mlp", ("Training loss", "Test accuracy"), mlp_ref, mlp_line, "mlp")
            mlp_grad = gr.Plot(plots.empty_figure("Gradient norm per layer"), label="Gradient norms", show_label=False)
            mlp_table = gr.Dataframe(figures.mlp_table(None), label="Summary", interactive=False,
                                     elem_id="lab1-mlp-table")
            gr.Markdown(MLP_TABLE_NOTE, elem_classes="labs-note")
            mlp_ref_text, mlp_ref_table = reference.view("mlp", mlp_ref, mlp_line)
            gr.Markdown(mlp_ref_text, elem_classes="labs-note", elem_id="lab1-mlp-reference-note")
            gr.Dataframe(mlp_ref_table, interactive=False, show_label=False, elem_id="lab1-mlp-reference")
            mlp_form = [mlp_data, depth, width, mlp_epochs, mlp_subset]
            mlp_data.change(mlp_data_changed, mlp_form, [mlp_data_md, mlp_subset, mlp_est], queue=False)
            mlp_gate.then(lambda: "mnist", None, mlp_data, queue=False)
            for comp in mlp_form[1:]:
                comp.change(mlp_note, mlp_form, mlp_est, queue=False)
            mlp_opt.change(lambda o: MLP_LR.get(o, m.lr), mlp_opt, mlp_lr, queue=False)  # each optimiser's own default
            ui.heavy_event(mlp_go.click, SCOPE, train_mlp,
                           [mlp_data, depth, width, mlp_epochs, mlp_lr, mlp_bs, mlp_subset, mlp_seed, mlp_opt],
                           [mlp_loss, mlp_acc, mlp_grad, mlp_table, mlp_status], api_name="train_mlp",
                           show_progress_on=[mlp_status]
                           ).then(mlp_note, mlp_form, mlp_est, queue=False)  # a finished run calibrates the estimate
            ui.stop_button(mlp_stop, SCOPE, mlp_status, api_name="stop_mlp")

        with gr.Tab("B. PlainCNN vs ResNet"):
            s = sweep_config("quick", dataset=default_cnn)
            with gr.Row():
                cnn_data = gr.Dropdown(["cifar10", "digits"], value=default_cnn, label="Data set")
                archs = gr.CheckboxGroup(list(ARCHITECTURES), value=list(s.architectures), label="Architectures")
                sizes = gr.CheckboxGroup(list(SIZES), value=list(s.sizes),
                                         label="Sizes (blocks per stage: Small [2,2], Medium [5,5], Large [7,7])")
            with gr.Row():
                preset = gr.Radio([("Quick (2-core CPU)", "quick"),
                                   (f"Short (all data, {SWEEP_PRESETS['short']['epochs']} epochs)", "short"),
                                   (f"Full size (all data, {SWEEP_PRESETS['full']['epochs']} epochs)", "full")],
                                  value="quick", label="Preset")
                epochs = gr.Number(value=s.epochs, precision=0, label="Epochs per run")
                n_train = gr.Number(value=s.train_subset, precision=0,
                                    label=f"Train images (0 = all {timing.TRAIN_SIZES[default_cnn]:,})")
                n_test = gr.Number(value=s.test_subset, precision=0,
                                   label=f"Test images (0 = all {timing.TEST_SIZES[default_cnn]:,})")
            with gr.Accordion("Optimiser", open=False):
                with gr.Row():
                    batch = gr.Number(value=s.batch_size, precision=0, label="Batch size")
                    lr = gr.Number(value=s.lr, label="SGD-Nesterov peak learning rate (OneCycle, weight decay 5e-4)")
                    smoothing = gr.Number(value=s.label_smoothing, label="Label smoothing (0 to <1)")
                    augment = gr.Checkbox(value=s.augment, label="Random crop + flip")
                    seed = gr.Number(value=s.seed, precision=0, label="Seed")
            cnn_gate = datagate.Gate(["cifar10"], tab, api_name="residual_download", on_load=True)
            cnn_note = gr.Markdown(data_note(default_cnn), elem_classes="labs-note")
            cnn_first = lambda: sweep_eta(default_data("cifar10"), s.architectures, s.sizes, s.epochs,  # noqa: E731
                                          s.train_subset, s.test_subset)
            eta_md = gr.Markdown(cnn_first(), elem_id="lab1-sweep-estimate")
            ui.on_load(cnn_first, eta_md)
            cnn_go, cnn_stop, cnn_status, cnn_loss, cnn_acc = run_panel(
                "sweep", "Train selected runs", "lab1-sweep", ("Training loss per run", "Test accuracy per run"),
                cnn_ref, cnn_line, "cnn")
            short_ref, short_line = reference.load("cnn_short")
            cnn_depth = gr.Plot(reference.depth_figure(cnn_ref, short_ref, "Test accuracy vs depth", cnn_line),
                                label="Accuracy vs depth", show_label=False, elem_id="lab1-sweep-depth")
            cnn_table = gr.Dataframe(figures.sweep_table(None), label=table_title(default_cnn), interactive=False,
                                     elem_id="lab1-sweep-table")
            gr.Markdown(CONVERGENCE_NOTE, elem_classes="labs-note")
            cnn_ref_text, cnn_ref_table = reference.view("cnn", cnn_ref, cnn_line)
            gr.Markdown(cnn_ref_text, elem_classes="labs-note", elem_id="lab1-sweep-reference-note")
            gr.Dataframe(cnn_ref_table, interactive=False, show_label=False, elem_id="lab1-sweep-reference")
            short_text, short_table = reference.view("cnn_short", short_ref, short_line)
            with gr.Accordion(f"The same six runs at the short schedule ({SWEEP_PRESETS['short']['epochs']} epochs, "
                              f"the fewest that reach the seed's 78%)", open=False):
                gr.Markdown(short_text, elem_classes="labs-note", elem_id="lab1-short-reference-note")
                gr.Dataframe(short_table, interactive=False, show_label=False, elem_id="lab1-short-reference")
            sweep_form = [cnn_data, archs, sizes, epochs, n_train, n_test]
            cnn_data.change(sweep_data_changed, sweep_form, [cnn_note, n_train, n_test, cnn_table, eta_md], queue=False)
            cnn_gate.then(lambda: "cifar10", None, cnn_data, queue=False)  # downloaded: select it (.change redraws)
            preset.change(apply_preset, preset, [epochs, n_train, n_test, batch, lr, smoothing])
            for comp in sweep_form[1:]:
                comp.change(sweep_eta, sweep_form, eta_md, queue=False)
            ui.heavy_event(cnn_go.click, SCOPE, train_sweep,
                           [cnn_data, archs, sizes, epochs, n_train, n_test, batch, lr, augment, seed, smoothing],
                           [cnn_loss, cnn_acc, cnn_depth, cnn_table, cnn_status], api_name="train_sweep",
                           show_progress_on=[cnn_status]
                           ).then(sweep_eta, sweep_form, eta_md, queue=False)  # a finished run calibrates the estimate
            ui.stop_button(cnn_stop, SCOPE, cnn_status, api_name="stop_sweep")
