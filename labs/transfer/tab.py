"""The "Transfer learning" tab: layout and wiring only; the work is labs.transfer.experiment (imported on first use).

Stop: the three Stop buttons stop this session's running phase (scope "transfer"); it ends at its
next step or feature chunk with the rows it finished, so finished results stay on screen.
The source checkpoints are listed when the page loads (listing reads them with torch).
"""

from __future__ import annotations

import functools

from pathlib import Path

import gradio as gr

from labs import datagate, ui
from labs.core import eta, public
from labs.core.catalog import DATASETS
from labs.core.ckpt_labels import checkpoint_folder, labelled
from labs.core.errors import LabsError
from labs.transfer.config import (OPTIMIZERS, PRESETS, SEED_RESULTS, SEED_SVM_ACC, SOURCE_BLOCKS, TransferConfig,
                                  eta_seconds, preset, source_overrides, subset_sizes)
from labs.transfer.figures import LiveCurves, comparison_bars
from labs.transfer.freeze import FREEZE_STRATEGIES
from labs.transfer import reference
from labs.transfer.names import initial_names
from labs.transfer.status import SourceProgress, finetune_status, svm_status
from labs.transfer.tables import results_note, results_table, svm_summary

SCOPE = "transfer"

ABOUT = """### Transfer learning: a CIFAR-10 ResNet reused on CIFAR-100
The source network is a ResNet[7,7] (widths 16, 32) trained on CIFAR-10. **Phase 1** keeps it frozen and fits a
linear SVM on its 32 pooled features; **Phase 2** gives it a new 100-class head and fine-tunes it with parts frozen.
CIFAR-100 images are normalised with the *CIFAR-10* mean/std stored in the checkpoint: the features expect them."""

BN_NOTE = """**Frozen means frozen, BatchNorm included.** A frozen stem or stage keeps its weights *and* its BatchNorm
running mean/variance from CIFAR-10: its BatchNorm layers are replaced by frozen ones that always normalise with
the CIFAR-10 statistics, so they cannot drift to CIFAR-100 and the "frozen" layers compute what they computed before.
Trainable parameters with a 100-class head: freeze input only (stem) 162,180 · no freeze 162,644 ·
freeze all early (stem + stage 1) 129,188."""

DEFAULT = preset("quick")


def listing(request: gr.Request | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """(names, (label, name) pairs) of the source checkpoints this session may pick: its own (public mode), then
    the checkpoint folder's, each label with its CIFAR-10 accuracy and epochs (labs.core.ckpt_labels); the
    session's folders are resolved once. The page shows and takes names only, never a path."""
    from labs.core.checkpoints import folders
    from labs.transfer.source import source_names

    where = folders(ui.session(request))
    found = source_names(where)
    return found, labelled(found, where)


def source_path(name, request: gr.Request | None = None) -> str:
    """The file behind a listed name; any other name is refused before a file is touched."""
    from labs.core.checkpoints import folders
    from labs.transfer.source import source_by_name

    return source_by_name(name, folders(ui.session(request)))


def sizes(dataset: str) -> dict:
    """The data set's split sizes, for estimates of '0 = all'."""
    spec = DATASETS[dataset]
    return {"n_train": spec.n_train or 50_000, "n_test": spec.n_test or 10_000}


def on_load(request: gr.Request = None):
    """The source checkpoints on disk now, and the quick recipe's defaults for 'train first'."""
    from labs.core.recipes import recipe
    from labs.transfer.source import QUICK_RECIPE, no_checkpoint_message

    found, labels = listing(request)
    quick = recipe(QUICK_RECIPE)
    where = "kept for this session only" if public.is_public() else "saved to the checkpoint folder"
    note = no_checkpoint_message() if not found else ("A source network is ready; train another here if you like "
                                                      f"({where} with the train command's metadata).")
    return (gr.update(choices=labels, value=found[0] if found else None), gr.update(open=not found),
            note, quick["n_train"], quick["train"].epochs)


def refresh_checkpoints(current, request: gr.Request = None):
    found, labels = listing(request)
    return gr.update(choices=labels,
                     value=current if current in found else (found[0] if found else None))


def eta_text(strategies, optimizers, epochs, train_subset, test_subset, from_scratch, svm_train, svm_test) -> str:
    try:
        cfg = ui.config(TransferConfig, strategies=strategies, optimizers=optimizers, epochs=epochs,
                        train_subset=train_subset, test_subset=test_subset, from_scratch=from_scratch,
                        svm_train_subset=svm_train, svm_test_subset=svm_test)
    except LabsError as err:  # shown in place of the estimate while the form is incomplete
        return f"ETA: ⚠️ {err}"
    e = eta_seconds(cfg)
    return (f"**ETA** ({eta.basis_text('cpu')}; a busy CPU is slower): Phase 1 ~{eta.format_seconds(e['svm'])} · "
            f"Phase 2 ~{eta.format_seconds(e['finetune'])} for {eta.count(e['runs'], 'run')} x "
            f"{eta.count(cfg.epochs, 'epoch')} on "
            f"{e['n_train']:,} train / {e['n_test']:,} test images")


def apply_preset(name):
    p = PRESETS[name]
    return p["train_subset"], p["test_subset"], p["epochs"], p["augment"], p["svm_train_subset"], p["svm_test_subset"]


@ui.handler
def svm_phase(checkpoint, dataset, svm_train, svm_test, svm_c, request: gr.Request = None):
    """Phase 1: yields (status, result markdown)."""
    cfg = ui.config(TransferConfig, checkpoint=source_path(checkpoint, request), dataset=dataset,
                    svm_train_subset=svm_train,
                    svm_test_subset=svm_test, svm_c=svm_c)
    from labs.transfer.experiment import run_svm

    estimate = eta_seconds(cfg, **sizes(cfg.dataset))["svm"]
    public.check("transfer_svm", svm_images=sum(subset_sizes(cfg, **sizes(cfg.dataset), svm=True)),
                 train_seconds=estimate)

    def render(rec):
        done = rec["kind"] == "done" and not rec["stopped"]
        return svm_status(rec, estimate), (svm_summary(rec) if done else gr.skip())

    with ui.job(SCOPE, request) as stop:
        yield from ui.stream(run_svm(cfg, stop=stop), render, stop=stop)


@ui.handler
def finetune_phase(checkpoint, dataset, strategies, optimizers, adam_lr, sgd_lr, epochs, train_subset, test_subset,
                   augment, from_scratch, request: gr.Request = None):
    """Phase 2: yields (status, loss plot, accuracy plot, table, bars, note); the plots have one trace per run,
    the table a row per run started (finished, running or stopped), the bars the finished runs only."""
    cfg = ui.config(TransferConfig, checkpoint=source_path(checkpoint, request), dataset=dataset,
                    strategies=strategies,
                    optimizers=optimizers, adam_lr=adam_lr, sgd_lr=sgd_lr, epochs=epochs, train_subset=train_subset,
                    test_subset=test_subset, augment=augment, from_scratch=from_scratch)
    from labs.transfer.experiment import run_finetune

    live, ref = LiveCurves(), reference.bars(reference.load()[0])  # the reference run's bars stay in the chart
    e = eta_seconds(cfg, **sizes(cfg.dataset))
    public.check("transfer_finetune", train_seconds=e["finetune"])
    per_run = e["finetune"] / max(e["runs"], 1)

    def render(rec):
        status = finetune_status(rec, live, per_run)
        table = results_table(live.table_rows(), status=True)
        if rec["kind"] in ("start", "run", "row", "stopped", "done"):
            return (status, *live.figures(), table, comparison_bars(live.rows, ref), results_note(live))
        return (status, *live.figures(), table, gr.skip(), gr.skip())

    with ui.job(SCOPE, request) as stop:
        yield from ui.stream(run_finetune(cfg, stop=stop), render, fold=live.add, stop=stop,
                             urgent=lambda rec: rec["kind"] in ("start", "run", "eval", "row", "stopped", "done"))


@ui.handler
def train_source_phase(n_train, epochs, request: gr.Request = None):
    """'Train a CIFAR-10 ResNet first' (the quick recipe); yields (status, checkpoint dropdown update)."""
    overrides = source_overrides(n_train, epochs)
    from labs.core.recipes import recipe
    from labs.core.checkpoints import save_dir
    from labs.transfer.source import QUICK_RECIPE, train_quick_source

    r = recipe(QUICK_RECIPE, **overrides)
    n = r["n_train"] or 50_000
    estimate = r["train"].epochs * (eta.train_seconds(SOURCE_BLOCKS, n) + eta.infer_seconds(SOURCE_BLOCKS, r["n_test"]))
    public.check("transfer_source", train_seconds=estimate)
    out = save_dir(ui.session(request)) / QUICK_RECIPE  # public mode: the session's own folder
    progress = SourceProgress(r["train"].epochs, estimate)

    def render(rec):
        kind = rec["kind"]
        line = progress(rec)
        if line is not None:
            return line, gr.skip()
        if kind == "saved":
            name = Path(rec["path"]).stem  # the page shows names, never server paths
            return (f"saved {name} (CIFAR-10 test accuracy {rec['metrics']['final_test_acc']:.1%}); "
                    f"selected above", gr.update(choices=listing(request)[1], value=name))
        if kind == "not_saved":
            return rec["reason"], gr.skip()
        return gr.skip(), gr.skip()

    with ui.job(SCOPE, request) as stop:
        yield from ui.stream(train_quick_source(stop=stop, out=out, **overrides), render, stop=stop,
                             urgent=lambda rec: rec["kind"] in ("start", "eval", "saved", "not_saved"))


def build(tab: gr.Tab | None = None) -> None:
    """Lay out Lab 2 inside `tab` (every build() gets its gr.Tab; this one lists checkpoints on page load)."""
    gr.Markdown(ABOUT)
    with gr.Row():
        first = initial_names()  # names only (the page shows no path); the page's load re-lists them for the session
        checkpoint = gr.Dropdown(labelled(first, [checkpoint_folder()]), value=first[0] if first else None, scale=4,
                                 elem_id="transfer-checkpoint",
                                 label="Source network: CIFAR-10 ResNet checkpoint",
                                 info="pick one by name (↻ lists new ones)")
        refresh = gr.Button("↻", scale=0, min_width=40)
        dataset = gr.Dropdown(list(DATASETS), value="cifar100", label="Target data set", scale=1, elem_id="transfer-dataset",
                              info="the seed's is CIFAR-100")
    with gr.Accordion("Train a CIFAR-10 ResNet first", open=False) as train_first:
        src_note = gr.Markdown("")
        with gr.Row():
            src_n = gr.Number(None, precision=0, label="CIFAR-10 train images (0 = all)")
            src_epochs = gr.Number(None, precision=0, label="CIFAR-10 epochs")
            src_btn = gr.Button("Train a CIFAR-10 ResNet first", variant="secondary")
            src_stop = gr.Button("Stop", variant="stop")
        src_status = gr.Markdown("", elem_classes=["labs-note"])
        gr.Markdown(public.caps_note("transfer_source"), visible=public.is_public(), elem_classes=["labs-note"])
    datagate.Gate(["cifar10", "cifar100"], tab, api_name="transfer_download")  # what "train first" and both phases read
    with gr.Row():
        preset_radio = gr.Radio(list(PRESETS), value="quick", label="Preset",
                                info="quick: minutes on a CPU · full: all data, 15 epochs (hours on a CPU)")
        default_eta = functools.partial(eta_text, DEFAULT.strategies, DEFAULT.optimizers, DEFAULT.epochs,
                                        DEFAULT.train_subset, DEFAULT.test_subset, DEFAULT.from_scratch,
                                        DEFAULT.svm_train_subset, DEFAULT.svm_test_subset)
        eta_md = gr.Markdown(default_eta(), elem_classes=["labs-note"])
        ui.on_load(default_eta, eta_md)

    gr.Markdown("#### Phase 1: linear SVM on the frozen network's features")
    with gr.Row():
        svm_train = gr.Number(DEFAULT.svm_train_subset, precision=0, label="train images (0 = all)")
        svm_test = gr.Number(DEFAULT.svm_test_subset, precision=0, label="test images (0 = all)")
        svm_c = gr.Number(DEFAULT.svm_c, label="C (1e-6 to 1e4)")
        svm_btn = gr.Button("Extract features + fit SVM", variant="primary")
        svm_stop = gr.Button("Stop", variant="stop")
    gr.Markdown(public.caps_note("transfer_svm"), visible=public.is_public(), elem_classes=["labs-note"])
    svm_status = gr.Markdown("", elem_classes=["labs-note"], elem_id="transfer-svm-status")
    svm_out = gr.Markdown(f"Seed: **{SEED_SVM_ACC:.1%}** test accuracy on full CIFAR-100.")

    gr.Markdown("#### Phase 2: fine-tuning, freeze strategy x optimiser")
    gr.Markdown(BN_NOTE, elem_classes=["labs-note"])
    with gr.Row():
        strategies = gr.CheckboxGroup(list(FREEZE_STRATEGIES), value=list(DEFAULT.strategies),
                                      label="Freeze strategies")
        optimizers = gr.CheckboxGroup([(v, k) for k, v in OPTIMIZERS.items()], value=list(DEFAULT.optimizers),
                                      label="Optimisers", info="Adam as in the seed; SGD = Nesterov, momentum 0.9")
    with gr.Row():
        adam_lr = gr.Number(DEFAULT.adam_lr, label="Adam peak lr")
        sgd_lr = gr.Number(DEFAULT.sgd_lr, label="SGD peak lr")
        epochs = gr.Number(DEFAULT.epochs, precision=0, label="epochs", elem_id="transfer-ft-epochs")
        train_subset = gr.Number(DEFAULT.train_subset, precision=0, label="train images (0 = all)",
                                 elem_id="transfer-ft-train")
        test_subset = gr.Number(DEFAULT.test_subset, precision=0, label="test images (0 = all)",
                                elem_id="transfer-ft-test")
    with gr.Row():
        augment = gr.Checkbox(DEFAULT.augment, label="augment (crop + flip)")
        from_scratch = gr.Checkbox(DEFAULT.from_scratch, label="add a from-scratch ResNet (same budget)")
        run_btn = gr.Button("Run fine-tuning", variant="primary", elem_id="transfer-ft-run")
        run_stop = gr.Button("Stop", variant="stop", elem_id="transfer-ft-stop")
    gr.Markdown(public.caps_note("transfer_finetune"), visible=public.is_public(), elem_classes=["labs-note"])
    status = gr.Markdown("", elem_classes=["labs-note"], min_height=28, elem_id="transfer-ft-status")
    empty_loss, empty_acc = LiveCurves().figures()
    with gr.Row():
        loss_plot = gr.Plot(empty_loss, show_label=False, elem_id="transfer-loss-plot")
        acc_plot = gr.Plot(empty_acc, show_label=False, elem_id="transfer-acc-plot")
    table = gr.Dataframe(results_table([], status=True), label=("This grid (finished runs best first, then "
                                                                  "running or stopped ones)"), interactive=False, elem_id="transfer-results-table")
    ref_record, ref_line = reference.load()  # results/transfer.json, or the line saying how to produce it
    bars = gr.Plot(comparison_bars([], reference.bars(ref_record)), show_label=False, elem_id="transfer-bars")
    note = gr.Markdown(results_note(), elem_classes=["labs-note"], elem_id="transfer-results-note")
    ref_text, ref_table = reference.view(ref_record, ref_line)
    gr.Markdown(ref_text, elem_classes=["labs-note"], elem_id="transfer-reference-note")
    gr.Dataframe(ref_table, interactive=False, show_label=False, elem_id="transfer-reference-table")
    with gr.Accordion("The seed's table (full CIFAR-100)", open=False, elem_id="transfer-seed-accordion",
                      visible=ref_record is not None):  # without a reference the table above is the seed's
        gr.Dataframe(results_table(SEED_RESULTS).drop(columns=["Time (s)"]), interactive=False,
                     elem_id="transfer-seed-table")

    gr.on(None, ui.handler(on_load), None, [checkpoint, train_first, src_note, src_n, src_epochs],
          api_visibility="private", queue=False)
    sizes = [train_subset, test_subset, epochs, augment, svm_train, svm_test]
    eta_inputs = [strategies, optimizers, epochs, train_subset, test_subset, from_scratch, svm_train, svm_test]
    preset_radio.change(apply_preset, preset_radio, sizes, api_visibility="private", queue=False).then(
        eta_text, eta_inputs, eta_md, api_visibility="private", queue=False)
    for comp in eta_inputs:
        comp.change(eta_text, eta_inputs, eta_md, api_visibility="private", queue=False)
    refresh.click(ui.handler(refresh_checkpoints), checkpoint, checkpoint, api_visibility="private", queue=False)

    ui.heavy_event(svm_btn.click, SCOPE, svm_phase, [checkpoint, dataset, svm_train, svm_test, svm_c],
                   [svm_status, svm_out], api_name="transfer_svm", show_progress_on=[svm_status])
    ui.heavy_event(run_btn.click, SCOPE, finetune_phase, [checkpoint, dataset, strategies, optimizers, adam_lr,
                                                          sgd_lr, epochs, train_subset, test_subset, augment,
                                                          from_scratch],
                   [status, loss_plot, acc_plot, table, bars, note], api_name="transfer_finetune",
                   show_progress_on=[status]).then(  # a finished run measured this machine: the ETA follows
        eta_text, eta_inputs, eta_md, api_visibility="private", queue=False)
    ui.heavy_event(src_btn.click, SCOPE, train_source_phase, [src_n, src_epochs], [src_status, checkpoint],
                   api_name="transfer_train_source", show_progress_on=[src_status]).then(
        eta_text, eta_inputs, eta_md, api_visibility="private", queue=False)
    ui.stop_button(run_stop, SCOPE, status, api_name="transfer_stop")
    ui.stop_button(svm_stop, SCOPE, svm_status)
    ui.stop_button(src_stop, SCOPE, src_status)
