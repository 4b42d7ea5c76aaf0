"""The "Transfer learning" tab: layout and wiring only; the work is labs.transfer.experiment.

Stop: each browser session has a threading.Event that the Stop buttons set; the
running phase checks it between training steps / feature chunks and ends with the
rows it finished, so finished results stay on screen.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import gradio as gr

from labs.core.data import DATASETS, availability_message
from labs.core.errors import LabsError
from labs.transfer.experiment import (OPTIMIZERS, PRESETS, SEED_RESULTS, SEED_SVM_ACC, TransferConfig, eta_seconds,
                                      preset, results_table, run_finetune, run_svm, validate)
from labs.transfer.figures import LiveCurves, comparison_bars
from labs.transfer.freeze import FREEZE_STRATEGIES
from labs.transfer.source import no_checkpoint_message, source_checkpoints, train_source

ABOUT = """### Transfer learning: a CIFAR-10 ResNet reused on CIFAR-100
The source network is a ResNet[7,7] (widths 16, 32) trained on CIFAR-10. **Phase 1** keeps it frozen and fits a
linear SVM on its 32 pooled features; **Phase 2** gives it a new 100-class head and fine-tunes it with parts frozen.
CIFAR-100 images are normalised with the *CIFAR-10* mean/std stored in the checkpoint: the features expect them."""

BN_NOTE = """**Frozen means frozen, BatchNorm included.** A frozen stem or stage keeps its weights *and* its BatchNorm
running mean/variance from CIFAR-10 (those layers stay in eval mode while the rest trains); otherwise the
statistics would drift to CIFAR-100 and the "frozen" layers would compute something new.
Trainable parameters with a 100-class head: freeze input only (stem) 162,180 · no freeze 162,644 ·
freeze all early (stem + stage 1) 129,188."""

_STOPS: dict[str, threading.Event] = {}
DEFAULT = preset("quick")


def _stop_event(request: gr.Request | None, fresh: bool) -> threading.Event:
    key = getattr(request, "session_hash", None) or "local"
    if fresh or key not in _STOPS:
        _STOPS[key] = threading.Event()
    return _STOPS[key]


def stop(request: gr.Request = None) -> str:
    _stop_event(request, fresh=False).set()
    return "stopping after the current step…"


def _int(name: str, value) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LabsError(f"{name} must be a whole number >= 0 (0 = all), got {value!r}")
    return value


def _float(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LabsError(f"{name} must be a number, got {value!r}") from None


def _config(checkpoint, dataset, strategies=(), optimizers=(), adam_lr=DEFAULT.adam_lr, sgd_lr=DEFAULT.sgd_lr,
            epochs=DEFAULT.epochs, train_subset=DEFAULT.train_subset, test_subset=DEFAULT.test_subset,
            augment=False, from_scratch=False, svm_train=DEFAULT.svm_train_subset,
            svm_test=DEFAULT.svm_test_subset, svm_c=DEFAULT.svm_c) -> TransferConfig:
    return TransferConfig(
        checkpoint=str(checkpoint or "").strip(), dataset=dataset or "cifar100", strategies=tuple(strategies or ()),
        optimizers=tuple(optimizers or ()), adam_lr=_float("Adam learning rate", adam_lr),
        sgd_lr=_float("SGD learning rate", sgd_lr), epochs=_int("epochs", epochs),
        train_subset=_int("train images", train_subset), test_subset=_int("test images", test_subset),
        augment=bool(augment), from_scratch=bool(from_scratch), svm_train_subset=_int("SVM train images", svm_train),
        svm_test_subset=_int("SVM test images", svm_test), svm_c=_float("C", svm_c))


def eta_text(strategies, optimizers, epochs, train_subset, test_subset, from_scratch, svm_train, svm_test) -> str:
    try:
        cfg = _config("", "cifar100", strategies, optimizers, epochs=epochs, train_subset=train_subset,
                      test_subset=test_subset, from_scratch=from_scratch, svm_train=svm_train, svm_test=svm_test)
    except LabsError:
        return "ETA: —"
    e = eta_seconds(cfg)
    return (f"**ETA** (idle 2-core CPU; a shared CPU is slower): Phase 1 ~{e['svm'] / 60:.1f} min · Phase 2 "
            f"~{e['finetune'] / 60:.1f} min for {e['runs']} runs x {cfg.epochs} epochs on {e['n_train']:,} train / "
            f"{e['n_test']:,} test images")


def apply_preset(name):
    p = PRESETS[name]
    return p["train_subset"], p["test_subset"], p["epochs"], p["augment"], p["svm_train_subset"], p["svm_test_subset"]


def svm_phase(checkpoint, dataset, svm_train, svm_test, svm_c, request: gr.Request = None):
    """Phase 1: yields (status, result markdown)."""
    try:
        cfg = _config(checkpoint, dataset, svm_train=svm_train, svm_test=svm_test, svm_c=svm_c)
        validate(cfg, "svm")
        for rec in run_svm(cfg, stop=_stop_event(request, fresh=True)):
            if rec["kind"] == "progress":
                yield f"{rec['stage']}: {rec['done']:,} / {rec['total']:,}", gr.skip()
            else:
                yield "done", svm_markdown(rec)
    except LabsError as err:
        raise gr.Error(str(err)) from None


def svm_markdown(r: dict) -> str:
    return (f"| | test accuracy |\n|---|---|\n| **this run** (C={r['c']:g}, {r['n_train']:,} train / "
            f"{r['n_test']:,} test) | **{r['test_acc']:.2%}** |\n| seed (full CIFAR-100) | {SEED_SVM_ACC:.1%} |\n"
            f"| chance | {r['chance']:.1%} |\n\nFeature extraction {r['extract_seconds']:.1f} s · LinearSVC fit "
            f"{r['fit_seconds']:.1f} s · {r['feature_dim']} standardised features · train accuracy "
            f"{r['train_acc']:.1%}")


def finetune_phase(checkpoint, dataset, strategies, optimizers, adam_lr, sgd_lr, epochs, train_subset, test_subset,
                   augment, from_scratch, request: gr.Request = None):
    """Phase 2: yields (status, loss plot, accuracy plot, table, bars); the plots have one trace per run."""
    try:
        cfg = _config(checkpoint, dataset, strategies, optimizers, adam_lr, sgd_lr, epochs, train_subset,
                      test_subset, augment, from_scratch)
        validate(cfg)
        live, rows, last = LiveCurves(), [], 0.0
        for rec in run_finetune(cfg, stop=_stop_event(request, fresh=True)):
            live.add(rec)
            if rec["kind"] == "step" and time.perf_counter() - last < 0.5:
                continue  # at most two plot redraws a second while steps stream
            last = time.perf_counter()
            if rec["kind"] in ("row", "done"):
                rows = rec["rows"] if rec["kind"] == "done" else rows + [rec["row"]]
                status = (f"stopped: {len(rows)} finished run(s) kept" if rec.get("stopped")
                          else f"finished {len(rows)} run(s)") if rec["kind"] == "done" else f"finished {rec['run']}"
                yield (status, *live.figures(), results_table(rows), comparison_bars(rows))
            else:
                status = (f"run {rec['run_index'] + 1}/{rec['runs']}: **{rec['run']}** · epoch {rec['epoch']:.2f} · "
                          f"step {rec['step']} · {rec['seconds']:.0f} s")
                yield (status, *live.figures(), gr.skip(), gr.skip())
    except LabsError as err:
        raise gr.Error(str(err)) from None


def train_source_phase(n_train, epochs, request: gr.Request = None):
    """Train the source network like `python -m labs train`; yields (status, checkpoint dropdown update)."""
    try:
        n_train, epochs = _int("CIFAR-10 train images", n_train), _int("epochs", epochs)
        for rec in train_source(n_train=n_train, epochs=max(epochs, 1), stop=_stop_event(request, fresh=True)):
            if rec["kind"] == "step":
                yield (f"training the CIFAR-10 ResNet: step {rec['step']}/{rec['total_steps']} · loss "
                       f"{rec['train_loss']:.3f} · {rec['images_per_s']:.0f} img/s"), gr.skip()
            elif rec["kind"] == "saved":
                yield (f"saved {rec['path']} (CIFAR-10 test accuracy {rec['test_acc']:.1%}); selected above",
                       gr.update(choices=source_checkpoints(), value=rec["path"]))
    except LabsError as err:
        raise gr.Error(str(err)) from None


def refresh_checkpoints(current):
    found = source_checkpoints()
    return gr.update(choices=found, value=current or (found[0] if found else None))


def build() -> None:
    found = source_checkpoints()
    gr.Markdown(ABOUT)
    with gr.Row():
        checkpoint = gr.Dropdown(found, value=found[0] if found else None, allow_custom_value=True, scale=4,
                                 label="Source network: CIFAR-10 ResNet checkpoint", info="pick one or type a path")
        refresh = gr.Button("↻", scale=0, min_width=40)
        dataset = gr.Dropdown(list(DATASETS), value="cifar100", label="Target data set", scale=1,
                              info="the seed's is CIFAR-100")
    with gr.Accordion("Train a CIFAR-10 ResNet first", open=not found):
        gr.Markdown(no_checkpoint_message() if not found else "A source network is ready; train another here if "
                    "you like (saved to checkpoints/ with the train command's metadata).")
        with gr.Row():
            src_n = gr.Number(10000, precision=0, label="CIFAR-10 train images", minimum=0)
            src_epochs = gr.Number(3, precision=0, label="CIFAR-10 epochs", minimum=1)
            src_btn = gr.Button("Train a CIFAR-10 ResNet first", variant="secondary")
            src_stop = gr.Button("Stop", variant="stop")
        src_status = gr.Markdown("", elem_classes=["labs-note"])
    missing = availability_message("cifar100")
    gr.Markdown(f"⚠️ {missing}", visible=bool(missing))
    with gr.Row():
        preset_radio = gr.Radio(list(PRESETS), value="quick", label="Preset",
                                info="quick: minutes on a CPU · full: all data, 15 epochs (hours on a CPU)")
        eta = gr.Markdown(eta_text(list(FREEZE_STRATEGIES), list(OPTIMIZERS), DEFAULT.epochs, DEFAULT.train_subset,
                                   DEFAULT.test_subset, False, DEFAULT.svm_train_subset, DEFAULT.svm_test_subset),
                          elem_classes=["labs-note"])

    gr.Markdown("#### Phase 1: linear SVM on the frozen network's features")
    with gr.Row():
        svm_train = gr.Number(DEFAULT.svm_train_subset, precision=0, label="train images (0 = all)", minimum=0)
        svm_test = gr.Number(DEFAULT.svm_test_subset, precision=0, label="test images (0 = all)", minimum=0)
        svm_c = gr.Number(DEFAULT.svm_c, label="C (> 0)")
        svm_btn = gr.Button("Extract features + fit SVM", variant="primary")
        svm_stop = gr.Button("Stop", variant="stop")
    svm_status = gr.Markdown("", elem_classes=["labs-note"])
    svm_out = gr.Markdown(f"Seed: **{SEED_SVM_ACC:.1%}** test accuracy on full CIFAR-100.")

    gr.Markdown("#### Phase 2: fine-tuning, freeze strategy x optimiser")
    gr.Markdown(BN_NOTE, elem_classes=["labs-note"])
    with gr.Row():
        strategies = gr.CheckboxGroup(list(FREEZE_STRATEGIES), value=list(FREEZE_STRATEGIES), label="Freeze strategies")
        optimizers = gr.CheckboxGroup([(v, k) for k, v in OPTIMIZERS.items()], value=list(OPTIMIZERS),
                                      label="Optimisers", info="Adam = AdamW; SGD = Nesterov, momentum 0.9")
    with gr.Row():
        adam_lr = gr.Number(DEFAULT.adam_lr, label="Adam peak lr")
        sgd_lr = gr.Number(DEFAULT.sgd_lr, label="SGD peak lr")
        epochs = gr.Number(DEFAULT.epochs, precision=0, label="epochs", minimum=1)
        train_subset = gr.Number(DEFAULT.train_subset, precision=0, label="train images (0 = all)", minimum=0)
        test_subset = gr.Number(DEFAULT.test_subset, precision=0, label="test images (0 = all)", minimum=0)
    with gr.Row():
        augment = gr.Checkbox(DEFAULT.augment, label="augment (crop + flip)")
        from_scratch = gr.Checkbox(False, label="add a from-scratch ResNet (same budget)")
        run_btn = gr.Button("Run fine-tuning", variant="primary")
        run_stop = gr.Button("Stop", variant="stop")
    status = gr.Markdown("", elem_classes=["labs-note"], min_height=28)
    with gr.Row():
        loss_plot = gr.Plot(LiveCurves().figures()[0], show_label=False)
        acc_plot = gr.Plot(LiveCurves().figures()[1], show_label=False)
    table = gr.Dataframe(results_table([]), label="This run (best first)", interactive=False)
    bars = gr.Plot(comparison_bars([]), show_label=False)
    with gr.Accordion("The seed's table (full CIFAR-100)", open=False):
        gr.Dataframe(results_table(SEED_RESULTS).drop(columns=["Time (s)"]), interactive=False)

    sizes = [train_subset, test_subset, epochs, augment, svm_train, svm_test]
    eta_inputs = [strategies, optimizers, epochs, train_subset, test_subset, from_scratch, svm_train, svm_test]
    preset_radio.change(apply_preset, preset_radio, sizes, api_visibility="private", queue=False).then(
        eta_text, eta_inputs, eta, api_visibility="private", queue=False)
    for comp in eta_inputs:
        comp.change(eta_text, eta_inputs, eta, api_visibility="private", queue=False)
    refresh.click(refresh_checkpoints, checkpoint, checkpoint, api_visibility="private", queue=False)

    svm_btn.click(svm_phase, [checkpoint, dataset, svm_train, svm_test, svm_c], [svm_status, svm_out],
                  api_name="transfer_svm", show_progress_on=[svm_status])
    run_btn.click(finetune_phase, [checkpoint, dataset, strategies, optimizers, adam_lr, sgd_lr, epochs,
                                   train_subset, test_subset, augment, from_scratch],
                  [status, loss_plot, acc_plot, table, bars], api_name="transfer_finetune", show_progress_on=[status])
    src_btn.click(train_source_phase, [src_n, src_epochs], [src_status, checkpoint], api_name="transfer_train_source",
                  show_progress_on=[src_status])
    for btn, out in ((run_stop, status), (svm_stop, svm_status), (src_stop, src_status)):
        btn.click(stop, None, out, api_name="transfer_stop" if btn is run_stop else None,
                  api_visibility="public" if btn is run_stop else "private", queue=False)
