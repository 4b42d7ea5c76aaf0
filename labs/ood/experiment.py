"""ODIN experiments as generators of plain dicts: the live view, the protocol run, the two trainings.

The tab draws these records, the CLI prints them, the tests assert on them. The classifier
is a checkpoint in the checkpoint folder (labs.core.checkpoints.checkpoint_dir()); the
in-distribution images are its own data set's test images (its JSON's "dataset").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from labs.core import eta, public
from labs.core.catalog import DATASETS, visitor_message
from labs.core.checkpoints import checkpoint_dir, list_checkpoints, load_checkpoint, read_metadata
from labs.core.errors import LabsError
from labs.core.models import CLASSIFIERS, objective_of
from labs.core.recipes import REFERENCE_HINT, recipe, train_and_save
from labs.ood import notes, protocol
from labs.ood.config import AUTOENCODER_BLOCKS, AutoencoderConfig, GridConfig, LiveConfig, QuickClassifierConfig, ViewConfig
from labs.ood.detectors import BASELINE, DETECTORS, LIVE_DETECTOR, defaults, setting_text
from labs.ood.oodsets import OOD_SETS
from labs.ood.scores import Autoencoder, Experiment, get_experiment, logit_scores, scores_stream

QUICK_RECIPE = "resnet77_cifar10_quick"   # the quick classifier: saved under this name, trained by this recipe
AUTOENCODER_RECIPE = "autoencoder_cifar10"


# ------------------------------------------------------------- checkpoints

def checkpoint_choices(folder: str | Path | None = None) -> list[str]:
    """Names of the classifier checkpoints in the folder."""
    folder = Path(folder or checkpoint_dir())
    return [p.stem for p in list_checkpoints(folder, model=CLASSIFIERS)] if folder.exists() else []


def default_checkpoint(folder: str | Path | None = None) -> str | None:
    names = checkpoint_choices(folder)
    return next((c for c in names if c.startswith("resnet77")), names[0] if names else None)


def checkpoint_path(name: str, folder: str | Path | None = None) -> Path:
    if not name:
        raise LabsError(f"no classifier selected: train a quick CIFAR-10 classifier above, or run "
                        f"`python -m labs train --recipe {QUICK_RECIPE}`")
    path = Path(folder or checkpoint_dir()) / f"{name}.safetensors"
    if not path.exists():
        raise LabsError(f"checkpoint {name[:60]!r} is missing from the checkpoint folder: refresh the list (↻) "
                        f"or train one")
    return path


def availability(checkpoint: str | None = None) -> str:
    """'' when the view can run on `checkpoint` (default: the default one), else what is missing and the fix."""
    names = checkpoint_choices()
    if not names:
        quick = recipe(QUICK_RECIPE)["dataset"]
        missing = visitor_message(quick)
        return (f"**No classifier in the checkpoint folder yet.** Train a quick one below (the recipe "
                f"`{QUICK_RECIPE}`; the reference model comes from {REFERENCE_HINT})."
                + (f" **{missing}**" if missing else ""))
    name = checkpoint if checkpoint in names else default_checkpoint()
    missing = visitor_message(read_metadata(checkpoint_path(name))["dataset"])
    return f"**{missing}** Download it above." if missing else ""


def open_experiment(cfg: ViewConfig, folder: str | Path | None = None, download: bool | None = None) -> Experiment:
    """The cached ID and OOD sides for a config (SVHN is downloaded when missing unless download=False)."""
    download = cfg.ood_set == "svhn" if download is None else download
    return get_experiment(checkpoint_path(cfg.checkpoint, folder), cfg.ood_set, cfg.images_per_side, download)


def autoencoder_path(dataset: str, folder: str | Path | None = None) -> Path | None:
    """The autoencoder for `dataset` in the folder: autoencoder_<dataset> if present, else any trained on it."""
    folder = Path(folder or checkpoint_dir())
    preferred = folder / f"autoencoder_{dataset}.safetensors"
    if preferred.exists():
        return preferred
    found = list_checkpoints(folder, dataset=dataset, model="conv_autoencoder") if folder.exists() else []
    return found[0] if found else None


def default_autoencoder() -> Path | None:
    """The autoencoder the tab's button trains, if it is in the checkpoint folder."""
    return autoencoder_path(recipe(AUTOENCODER_RECIPE)["dataset"])


def load_autoencoder(path: str | Path, dataset: str) -> Autoencoder:
    """An autoencoder checkpoint (any JSON load_checkpoint reads) for images of `dataset`."""
    path = Path(path).with_suffix(".safetensors")
    model, meta = load_checkpoint(path)
    if objective_of(meta["model"]) != "reconstruction":
        raise LabsError(f"{path.name} is a {meta['model']}, not an autoencoder")
    if meta.get("dataset") != dataset or not meta.get("normalization"):
        raise LabsError(f"{path.name} was trained on {meta.get('dataset')!r}, not {dataset!r}")
    return Autoencoder(model, meta["normalization"], f"{path}:{path.stat().st_mtime_ns}")


# ------------------------------------------------------------- a visitor's own models (public mode)

def own_folder(name: str | None, session: str | None) -> Path | None:
    """The session's own folder (labs.core.public, public mode) if `name` is one of its models, else None: the
    checkpoint folder. A session's model shadows a committed one of the same name for that session only."""
    own = public.session_dir(session)
    return own if name and own is not None and (own / f"{name}.safetensors").exists() else None


def session_choices(session: str | None) -> list[str]:
    """The classifiers a session may pick: its own (public mode) first, then the checkpoint folder's."""
    own = public.session_dir(session)
    mine = checkpoint_choices(own) if own is not None else []
    return mine + [c for c in checkpoint_choices() if c not in mine]


def session_default(session: str | None) -> str | None:
    """The session's own quick classifier if it trained one, else the checkpoint folder's default."""
    return QUICK_RECIPE if own_folder(QUICK_RECIPE, session) else default_checkpoint()


def session_autoencoder(session: str | None, dataset: str | None = None) -> Path | None:
    """The autoencoder for `dataset` (default: the recipe's) the session trained, else the checkpoint folder's."""
    dataset = dataset or recipe(AUTOENCODER_RECIPE)["dataset"]
    own = public.session_dir(session)
    return (autoencoder_path(dataset, own) if own is not None else None) or autoencoder_path(dataset)


# ------------------------------------------------------------- the live view

def live(cfg: LiveConfig, stop: threading.Event | None = None, folder: str | Path | None = None,
         session: str | None = None) -> Iterator[dict]:
    """ODIN at (T, eps) against max softmax (and cfg.extras) on all n images per side, batch by batch:
    {"kind": "live", "curves": {label: (ID scores, OOD scores)}, "done", "total", "seconds", "remaining" (estimated
    from this stream's speed since its first batch; None until a second batch), ...}. While ODIN
    streams, every curve uses the same rows; the last record is complete unless `stop` was set."""
    t0 = time.perf_counter()
    exp = open_experiment(cfg, folder or own_folder(cfg.checkpoint, session))
    cached = all(side.logits is not None for side in exp.sides)
    others = {f"{DETECTORS[BASELINE].title} (T=1)": logit_scores(exp, BASELINE, defaults(BASELINE))}
    others.update({DETECTORS[e].title: logit_scores(exp, e, defaults(e)) for e in cfg.extras})
    params = {"temperature": cfg.temperature, "epsilon": cfg.epsilon, "eps_scale": cfg.eps_scale}
    label = f"{DETECTORS[LIVE_DETECTOR].title} ({setting_text(params)})"
    how = ("gradient + forward passes" if cfg.epsilon else
           "from cached logits" if cached else "clean forward pass (cached from now on)")
    n_id, first = exp.n_id, None  # (rows, time) of the first batch: the stream's own speed from there on
    for scores, done in scores_stream(exp, LIVE_DETECTOR, params, stop):
        now = time.perf_counter()
        first = first or (done, now)
        remaining = (now - first[1]) / (done - first[0]) * (exp.n - done) if done > first[0] else None
        keep = np.isfinite(scores)
        kid, kood = keep[:n_id], keep[n_id:]
        curves = {name: (s[:n_id][kid], s[n_id:][kood]) for name, s in [(label, scores), *others.items()]}
        yield {"kind": "live", "curves": curves, "done": done, "total": exp.n, "n_id": n_id, "n_ood": exp.n - n_id,
               "ood_title": OOD_SETS[cfg.ood_set].title, "seconds": now - t0, "remaining": remaining,
               "how": how}


# ------------------------------------------------------------- the protocol

def run(cfg: GridConfig, stop: threading.Event | None = None, folder: str | Path | None = None,
        compare: bool = True, autoencoder: str | Path | None = None, download: bool | None = None,
        session: str | None = None, detectors: tuple[str, ...] | None = None) -> Iterator[dict]:
    """Grid -> comparison -> reading: {"kind": "start"}, protocol.grid_search's records, then (compare=True,
    not stopped) {"kind": "comparison", "rows", "reading"}. The autoencoder is `autoencoder` (a path) or
    the one for the classifier's data set in the checkpoint folder; without one its row is skipped.
    `detectors`: only these detectors (names of DETECTORS; None: every one)."""
    exp = open_experiment(cfg, folder or own_folder(cfg.checkpoint, session), download)
    dataset = exp.meta["dataset"]
    ae, reason = None, ""
    path = Path(autoencoder) if autoencoder else session_autoencoder(session, dataset)
    if path is None:
        reason = (f"no autoencoder for {dataset} in the checkpoint folder "
                  f"(train one: `python -m labs odin --train-autoencoder`)")
    elif not path.with_suffix(".safetensors").exists():
        reason = f"no autoencoder at {path} (add --train-autoencoder)"
    else:
        ae = load_autoencoder(path, dataset)
    ood_title = OOD_SETS[cfg.ood_set].title
    yield {"kind": "start", "checkpoint": cfg.checkpoint, "dataset": dataset, "ood_set": cfg.ood_set,
           "ood_title": ood_title, "n": cfg.images_per_side, "autoencoder": str(path) if ae else None}
    end: dict = {}
    for rec in protocol.grid_search(exp, cfg.space(), stop, ae, reason, detectors):
        if rec["kind"] == "grid":
            end = rec
        yield rec
    if end.get("stopped") or not compare:
        return
    rows = protocol.comparison(exp, end["best"])
    n_test = next(iter(end["best"].values()))["test"]["n_id"]
    id_title = DATASETS[dataset].title if dataset in DATASETS else dataset
    yield {"kind": "comparison", "rows": rows, "reading": notes.interpret(rows, id_title, ood_title, n_test)}


# ------------------------------------------------------------- the two trainings (the one recipe each)

def _observed(records: Iterator[dict], blocks: float, epochs: int) -> Iterator[dict]:
    """Pass a train_and_save stream through; when it saves (a finished run), keep its measured training speed
    (labs.core.eta.observe: training seconds = fit's seconds less its evaluations) for later estimates."""
    n_train, evals, device = 0, 0.0, "cpu"
    for rec in records:
        if rec["kind"] == "start":
            n_train = rec["n_train"]
        elif rec["kind"] == "eval":
            evals += rec.get("eval_seconds", 0.0)
        elif rec["kind"] == "end":
            device = rec.get("device", device)
        elif rec["kind"] == "saved":
            eta.observe(blocks, n_train * epochs, rec["metrics"]["seconds"] - evals, device)
        yield rec


def train_classifier(cfg: QuickClassifierConfig, stop: threading.Event | None = None,
                     out: str | Path | None = None) -> Iterator[dict]:
    """Train the quick CIFAR-10 classifier (recipe "resnet77_cifar10_quick") into `out` (default: the checkpoint
    folder): labs.core.recipes.train_and_save's records ("start", fit's records, "saved" | "not_saved")."""
    args = recipe(QUICK_RECIPE, epochs=cfg.epochs, n_train=cfg.train_images)
    records = train_and_save(**args, out=out or checkpoint_dir() / QUICK_RECIPE, stop=stop)
    yield from _observed(records, eta.resnet_blocks((7, 7)), cfg.epochs)


def train_autoencoder(cfg: AutoencoderConfig, stop: threading.Event | None = None,
                      out: str | Path | None = None) -> Iterator[dict]:
    """Train the autoencoder (recipe "autoencoder_cifar10") into `out` (default: the checkpoint folder)."""
    args = recipe(AUTOENCODER_RECIPE, epochs=cfg.epochs, n_train=cfg.train_images)
    records = train_and_save(**args, out=out or checkpoint_dir() / AUTOENCODER_RECIPE, stop=stop)
    yield from _observed(records, AUTOENCODER_BLOCKS, cfg.epochs)
