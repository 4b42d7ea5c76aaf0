"""Event handlers of the ODIN tab: turn experiment results into figures and tables, LabsError into gr.Error.

Every handler validates its input and raises gr.Error on a LabsError: Gradio then keeps
the previous outputs, so a bad value never blanks the plots.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from labs.core import metrics
from labs.core.data import availability_message
from labs.core.errors import LabsError
from labs.ood import experiment as ex
from labs.ood import figures, notes, protocol
from labs.ood.detectors import DETECTORS, check_params
from labs.ood.oodsets import OOD_SETS

ID_DATASET = "cifar10"    # the tab's in-distribution set (the tests point it at the embedded digits)
CHECKPOINT_FOLDER = None  # None: labs.core.checkpoints.CHECKPOINT_DIR (the tests point it at a temp folder)
DEFAULT_N = 1000
_LATEST: dict[str, object] = {}   # browser session -> token of its newest live request
_LOCK = threading.Lock()


def _folder() -> Path:
    from labs.core.checkpoints import CHECKPOINT_DIR
    return Path(CHECKPOINT_FOLDER or CHECKPOINT_DIR)


def checkpoint_choices() -> list[str]:
    from labs.core.checkpoints import list_checkpoints
    if not _folder().exists():
        return []
    return [p.stem for p in list_checkpoints(_folder(), dataset=ID_DATASET)]


def default_checkpoint() -> str | None:
    names = checkpoint_choices()
    return next((c for c in names if c.startswith("resnet77")), names[0] if names else None)


def needs_classifier() -> bool:
    return not checkpoint_choices()


def availability() -> str:
    """'' when the tab can run, else what is missing and how to fix it."""
    missing = availability_message(ID_DATASET)
    if missing:
        return f"**{missing}**"
    if needs_classifier():
        return (f"**No CIFAR-10 classifier in `{_folder()}` yet.** Train a quick one below (a few CPU minutes at the "
                f"default budget; the reference model comes from `python -m labs train --model resnet --dataset "
                f"cifar10 --depth 7,7 --widths 16,32 --epochs 10 --out checkpoints/resnet77_cifar10`).")
    return ""


def _checkpoint_path(name) -> Path:
    if not name:
        raise LabsError("no classifier selected: train a quick CIFAR-10 classifier above, or run "
                        "`python -m labs train --model resnet --dataset cifar10`")
    name = str(name)
    if "/" in name or "\\" in name or name.startswith("."):
        raise LabsError(f"pick a checkpoint from the list (a name in {_folder()}), not a path: {name!r}")
    path = (_folder() / name).with_suffix(".safetensors")
    if not path.exists():
        raise LabsError(f"checkpoint {path} is missing; press ↻ to refresh the list or train one")
    return path


def _experiment(ckpt, ood, n) -> ex.Experiment:
    if n is None or not float(n).is_integer():
        raise LabsError(f"images per side must be a whole number, got {n!r}")
    return ex.get_experiment(_checkpoint_path(ckpt), ood, int(n), dataset=ID_DATASET, download=ood == "svhn")


def _metrics_frame(rows: dict[str, tuple]) -> pd.DataFrame:
    out = []
    for name, (sid, sood) in rows.items():
        m = metrics.ood_summary(sid, sood)
        out.append({"detector": name, **{k: round(m[k], 4) for k in metrics.OOD_METRICS},
                    "threshold@95": float(f"{m['threshold@95']:.5g}"), "images": f"{len(sid)}+{len(sood)}"})
    return pd.DataFrame(out)


METRIC_COLUMNS = ["detector", "AUROC", "FPR@95", "AUPR-in", "AUPR-out", "Detection error", "threshold@95", "images"]
GRID_COLUMNS = ["T", "ε", "val AUROC", "val FPR@95", "test AUROC", "test FPR@95", "seconds"]
COMPARISON_COLUMNS = ["detector", "setting", "AUROC", "FPR@95", "AUPR-in", "AUPR-out", "Detection error", "seconds",
                      "cost (x forward)"]


def t_from_log(log_t: float) -> float:
    return float(f"{10 ** float(log_t):.3g}")


def log_from_t(t):
    return gr.skip() if t is None or t <= 0 else min(3.0, max(0.0, round(math.log10(t), 1)))


def live(ckpt, ood, n, temperature, epsilon, extras=(), request: gr.Request | None = None):
    """Stream (ROC, metrics table, histograms, status) for ODIN at (T, eps) vs the baselines."""
    session = getattr(request, "session_hash", None) or "api"
    token = object()
    with _LOCK:
        if len(_LATEST) > 10000:  # one entry per browser session: forget old ones now and then
            _LATEST.clear()
        _LATEST[session] = token
    try:
        temperature, epsilon = float(temperature if temperature is not None else "nan"), float(epsilon or 0.0)
        check_params(temperature, epsilon)
        extras = [e for e in (extras or []) if e in DETECTORS and DETECTORS[e].from_logits]
        t0 = time.perf_counter()
        exp = _experiment(ckpt, ood, n)
        cached = all(side.logits is not None for side in exp.sides)
        base = {"Max softmax (T=1)": ex.baseline_scores(exp, "msp")}
        base.update({DETECTORS[e].title: ex.baseline_scores(exp, e) for e in extras})
        odin_name = f"ODIN (T={temperature:g}, ε={epsilon:g})"
        for scores, done in ex.odin_stream(exp, temperature, epsilon):
            if _LATEST.get(session) is not token:
                return  # a newer request from this session took over
            keep = np.isfinite(scores)  # while streaming, compare every detector on the same rows
            kid, kood = keep[:exp.n_id], keep[exp.n_id:]
            rows = {name: (s[:exp.n_id][kid], s[exp.n_id:][kood]) for name, s in [(odin_name, scores), *base.items()]}
            secs = time.perf_counter() - t0
            state = "done" if done == exp.n else "computing…"
            how = ("gradient + forward passes" if epsilon else
                   "from cached logits" if cached else "clean forward pass (cached from now on)")
            status = (f"{state} {done:,}/{exp.n:,} images ({exp.n_id:,} ID + {exp.n - exp.n_id:,} "
                      f"{OOD_SETS[ood].title}) · {secs:.2f} s {how}")
            yield (figures.roc_figure(rows, note=f"{done:,} images"), _metrics_frame(rows),
                   figures.score_histograms({k: rows[k] for k in list(rows)[:2]}), status)
    except LabsError as err:
        raise gr.Error(str(err)) from None


def first_draw(ckpt, ood, n, temperature, epsilon, extras, request: gr.Request | None = None):
    """The tab's first view; quiet (no error pop-up) while there is no checkpoint or data."""
    if availability():
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip()  # a generator that yields nothing would blank them
        return
    yield from live(ckpt, ood, n, temperature, epsilon, extras, request)


def refresh():
    msg = availability()
    return (gr.update(choices=checkpoint_choices(), value=default_checkpoint()),
            gr.update(value=msg, visible=bool(msg)), gr.update(visible=needs_classifier()))


def _grid_outputs(temps, epss, rows, best):
    values = {(r["T"], r["epsilon"]): r["val"]["AUROC"] for r in rows}
    frame = pd.DataFrame([{"T": r["T"], "ε": r["epsilon"], "val AUROC": round(r["val"]["AUROC"], 4),
                           "val FPR@95": round(r["val"]["FPR@95"], 4), "test AUROC": round(r["test"]["AUROC"], 4),
                           "test FPR@95": round(r["test"]["FPR@95"], 4), "seconds": round(r["seconds"], 2)}
                          for r in rows])
    text = ""
    if best is not None:
        text = (f"**Best on the validation half: T = {best['T']:g}, ε = {best['epsilon']:g}** (val AUROC "
                f"{best['val']['AUROC']:.4f}) → **test half: AUROC {best['test']['AUROC']:.4f}, FPR@95 "
                f"{best['test']['FPR@95']:.4f}** ({best['test']['n_id']} + {best['test']['n_ood']} images)")
    return figures.auroc_heatmap(temps, epss, values, (best["T"], best["epsilon"]) if best else None), frame, text


def _run_grid(exp, temps, epss, progress):
    rows, best = [], None
    for rec in protocol.grid_search(exp, temps, epss):
        if rec["kind"] == "pair":
            rows.append(rec["row"])
            progress(rec["done"] / rec["total"], desc=f"T={rec['row']['T']:g}, ε={rec['row']['epsilon']:g}")
            yield rows, None
        else:
            best = rec["best"]
    yield rows, best


def _grid_setup(ckpt, ood, n, temperatures, epsilons, progress):
    """Parse the grid, open the experiment and make sure its clean logits are cached."""
    temps, epss = protocol.parse_grid(temperatures, "temperatures"), protocol.parse_grid(epsilons, "epsilons")
    exp = _experiment(ckpt, ood, n)
    progress(0, desc="clean forward pass")
    ex.clean_logits(exp)
    return exp, temps, epss


def grid(ckpt, ood, n, temperatures, epsilons, progress=gr.Progress()):
    """Stream the grid search: (heatmap, table, best-pair text)."""
    try:
        exp, temps, epss = _grid_setup(ckpt, ood, n, temperatures, epsilons, progress)
        for rows, best in _run_grid(exp, temps, epss, progress):
            yield _grid_outputs(temps, epss, rows, best)
    except LabsError as err:
        raise gr.Error(str(err)) from None


def compare(ckpt, ood, n, temperatures, epsilons, progress=gr.Progress()):
    """Grid search (cached pairs are instant), then every detector on the test half."""
    try:
        exp, temps, epss = _grid_setup(ckpt, ood, n, temperatures, epsilons, progress)
        rows, best = [], None
        for rows, best in _run_grid(exp, temps, epss, progress):
            yield (*_grid_outputs(temps, epss, rows, best), gr.skip(), gr.skip(), gr.skip())
        ae, tag = _autoencoder()
        progress(1.0, desc="baselines" + (" + autoencoder" if ae is not None else ""))
        comp = protocol.comparison(exp, (best["T"], best["epsilon"]), ae, tag)
        frame = pd.DataFrame([{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "scores"}
                              for r in comp]).rename(columns={"relative cost": "cost (x forward)"})
        text = notes.interpret(comp, OOD_SETS[ood].title, best["test"]["n_id"], (best["T"], best["epsilon"]))
        yield (*_grid_outputs(temps, epss, rows, best), frame, figures.comparison_bars(comp), text)
    except LabsError as err:
        raise gr.Error(str(err)) from None


def _autoencoder_path() -> Path:
    return (_folder() / f"autoencoder_{ID_DATASET}").with_suffix(".safetensors")


def _autoencoder():
    from labs.ood.autoencoder import load_autoencoder
    path = _autoencoder_path()
    if not path.exists():
        return None, ""
    model, meta = load_autoencoder(path)
    return model, f"{path}:{path.stat().st_mtime_ns}"


def autoencoder_status() -> str:
    path = _autoencoder_path()
    if path.exists():
        return f"Autoencoder: `{path.name}` (used by **Compare detectors**)."
    return f"No autoencoder yet (`{path.name}`): the comparison will omit it until you train one."


def train_autoencoder(progress=gr.Progress()):
    """Train the convolutional autoencoder on CIFAR-10 train images and save it next to the classifiers."""
    from labs.core.data import load_dataset
    from labs.ood.autoencoder import AutoencoderConfig, ConvAutoencoder, save_autoencoder
    from labs.ood.autoencoder import train_autoencoder as train

    try:
        data = load_dataset(ID_DATASET)
        margs = {"in_channels": data.image_shape[0], "widths": [32, 64], "code": 12}
        model, config, end = ConvAutoencoder(**margs), AutoencoderConfig(), {}
        for rec in train(model, data, config):
            if rec["kind"] == "step":
                progress(rec["step"] / rec["total_steps"], desc=f"autoencoder MSE {rec['train_mse']:.4f}")
                yield f"training… step {rec['step']}/{rec['total_steps']}, MSE {rec['train_mse']:.4f}"
            end = rec
        save_autoencoder(_autoencoder_path(), model, margs, dataset=ID_DATASET,
                         normalization={"mean": list(data.mean), "std": list(data.std)},
                         metrics={k: end[k] for k in ("test_mse", "steps", "seconds")}, config=end["config"])
        yield f"{autoencoder_status()} Test MSE {end['test_mse']:.4f}, trained in {end['seconds']:.0f} s."
    except LabsError as err:
        raise gr.Error(str(err)) from None


def train_classifier(n_train, epochs, progress=gr.Progress()):
    """Train ResNet[7,7] on a CIFAR-10 subset with labs.core.engine.fit and save it into the checkpoint folder."""
    from labs.core.checkpoints import save_checkpoint
    from labs.core.data import load_dataset
    from labs.core.engine import TrainConfig, fit, seed_everything
    from labs.core.models import build_model

    try:
        if n_train is None or epochs is None or not 256 <= int(n_train) <= 50000 or not 1 <= int(epochs) <= 50:
            raise LabsError("train images must be 256-50,000 and epochs 1-50")
        data = load_dataset(ID_DATASET).subset(int(n_train), 1000, seed=0)
        c, s, _ = data.image_shape
        margs = {"depth": [7, 7], "widths": [16, 32], "num_classes": data.num_classes, "in_channels": c,
                 "image_size": s}
        seed_everything(0)
        model, end = build_model("resnet", **margs), {}
        config = TrainConfig(epochs=int(epochs), batch_size=128, lr=0.1, grad_norms=False, log_every=5)
        for rec in fit(model, data, config):
            if rec["kind"] == "step":
                progress(rec["step"] / rec["total_steps"], desc=f"loss {rec['train_loss']:.3f}")
                yield f"training… step {rec['step']}/{rec['total_steps']}, loss {rec['train_loss']:.3f}", \
                    gr.skip(), gr.skip()
            end = rec
        name = f"quick_resnet77_{ID_DATASET}"
        save_checkpoint(_folder() / name, model, "resnet", margs, dataset=ID_DATASET,
                        num_classes=data.num_classes, normalization={"mean": list(data.mean), "std": list(data.std)},
                        config=end["config"], metrics={k: end[k] for k in ("final_test_acc", "steps", "seconds")},
                        curves=end["history"])
        yield (f"Saved `{name}`: test accuracy {end['final_test_acc']:.1%} after {end['seconds']:.0f} s.",
               gr.update(choices=checkpoint_choices(), value=name), gr.update(visible=False))
    except LabsError as err:
        raise gr.Error(str(err)) from None
