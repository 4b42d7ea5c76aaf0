"""Detector scores on (ID images, OOD images), cached per (checkpoint, set, n), streamed batch by batch.

Caching (why the sliders feel live):
- Each SIDE (the ID images, or one OOD set's images) is cached per (checkpoint, set, n):
  the ID side's work is shared by every OOD set, so switching OOD sets computes one side.
- Clean logits are computed once per side; every detector that needs only the logits
  (max softmax, energy, max logit, ODIN with epsilon = 0) is then a softmax away.
- ODIN with epsilon > 0 needs sign(grad) of the cross-entropy at T: cached per T, so a
  new epsilon at a known T costs one forward pass, not forward + backward + forward.
- Every finished score vector is kept: revisiting a setting is instant.
- Scores are computed in batches that take images from both sides, so a partial result
  is a fair sample of both and the ROC refines as batches finish.

Rows 0..n_id-1 of every score vector are ID images, the rest OOD images.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from labs.core.checkpoints import load_checkpoint
from labs.core.data import load_dataset
from labs.core.errors import LabsError
from labs.core.models import CLASSIFIERS
from labs.ood.detectors import DETECTORS, gradient_sign, odin_score, perturbed_msp
from labs.ood.sides import Autoencoder, Experiment, Side  # noqa: F401 (Autoencoder: part of this API)
from labs.ood.oodsets import load_ood

FIRST_BATCH = 32    # per side: the first streamed update comes after 64 images
BATCH = 128         # per side afterwards
MAX_SIDES = 12
MAX_SIGN_TEMPERATURES = 4


_SIDES: OrderedDict = OrderedDict()
_MODELS: dict = {}
_LOCK = threading.Lock()


def _side(key: tuple, make) -> Side:
    with _LOCK:
        if key in _SIDES:
            _SIDES.move_to_end(key)
            return _SIDES[key]
    side = Side(make())
    with _LOCK:
        side = _SIDES.setdefault(key, side)
        while len(_SIDES) > MAX_SIDES:
            _SIDES.popitem(last=False)
    return side


def get_experiment(checkpoint: str | Path, ood_set: str, n: int, download: bool = False) -> Experiment:
    """The ID and OOD sides (cached; the first call loads data and weights, no forward pass yet).
    The in-distribution images are the first n test images of the checkpoint's own data set."""
    weights = Path(checkpoint).with_suffix(".safetensors")
    stamp = weights.stat().st_mtime_ns if weights.exists() else 0
    wkey = (str(weights.resolve()), stamp)
    with _LOCK:
        loaded = _MODELS.get(wkey)
    if loaded is None:
        model, meta = load_checkpoint(weights)
        if meta["model"] not in CLASSIFIERS:
            raise LabsError(f"{weights.name} is a {meta['model']}, not a classifier; pick a classifier checkpoint")
        model.to(memory_format=torch.channels_last)
        with _LOCK:
            _MODELS.clear()  # one checkpoint at a time; the sides keep their results
            loaded = _MODELS[wkey] = (model, meta)
    model, meta = loaded
    data = load_dataset(meta["dataset"], download=download)
    classes = getattr(model.head, "out_features", None) if hasattr(model, "head") else None
    if classes is not None and classes != data.num_classes:
        raise LabsError(f"{weights.name} has {classes} outputs but {meta['dataset']} has {data.num_classes} "
                        f"classes; pick a checkpoint trained on it")
    if n > len(data.x_test):
        raise LabsError(f"the {meta['dataset']} test set has {len(data.x_test):,} images; "
                        f"ask for at most {len(data.x_test):,} per side")
    x_ood = load_ood(ood_set, n, data.image_shape, download=download)
    id_side = _side(wkey + ("id", meta["dataset"], n), lambda: data.x_test[:n])
    ood_side = _side(wkey + ("ood", ood_set, n), lambda: x_ood)
    norm = meta.get("normalization") or {"mean": data.mean, "std": data.std}
    return Experiment(wkey + (ood_set, n), model, meta, (id_side, ood_side), tuple(norm["mean"]), tuple(norm["std"]))


def clear_cache() -> None:
    with _LOCK:
        _SIDES.clear()
        _MODELS.clear()


def _side_logits(exp: Experiment, side: Side) -> torch.Tensor:
    with side.lock:
        if side.logits is None:
            t0 = time.perf_counter()
            out = []
            with torch.no_grad():
                exp.model.eval()
                for i in range(0, side.n, 512):
                    out.append(exp.model(exp.inputs(side, slice(i, i + 512))).float().cpu())
            side.logits = torch.cat(out)
            side.forward_seconds = time.perf_counter() - t0
    return side.logits


def clean_logits(exp: Experiment) -> torch.Tensor:
    """(N, K) float32 logits of the unperturbed images, computed once per side (fp32, like ODIN's passes)."""
    return torch.cat([_side_logits(exp, s) for s in exp.sides])


def _batches(n_id: int, n_ood: int) -> list[tuple[slice, slice]]:
    """(ID rows, OOD rows) per batch, taking the next images from BOTH sides; the first batch is small."""
    out, a, size = [], 0, FIRST_BATCH
    while a < max(n_id, n_ood):
        out.append((slice(min(a, n_id), min(a + size, n_id)), slice(min(a, n_ood), min(a + size, n_ood))))
        a, size = a + size, BATCH
    return out


def _entry(side: Side, key: tuple) -> list:
    with side.lock:
        if key not in side.scores:
            side.scores[key] = [np.full(side.n, np.nan, dtype=np.float32), 0.0]
        return side.scores[key]


def _signs(side: Side, temperature: float) -> list:
    with side.lock:
        if temperature not in side.signs:
            _, h, w, c = side.x.shape  # signs are NCHW like the model's inputs
            side.signs[temperature] = [torch.zeros((side.n, c, h, w), dtype=torch.int8),
                                       torch.zeros(side.n, dtype=torch.bool)]
            side.sign_seconds[temperature] = 0.0
            while len(side.signs) > MAX_SIGN_TEMPERATURES:
                side.signs.popitem(last=False)
        side.signs.move_to_end(temperature)
        return side.signs[temperature]


def _stream(exp: Experiment, entries: tuple[list, list], fill, stop: threading.Event | None):
    """Yield (scores so far, rows done) after each batch that `fill(side, rows, entry)` completes."""
    def current():
        scores = np.concatenate([entries[0][0], entries[1][0]])
        return scores, int(np.isfinite(scores).sum())

    scores, done = current()
    if done == exp.n:
        yield scores, done
        return
    for rows_pair in _batches(exp.sides[0].n, exp.sides[1].n):
        if all(np.isfinite(e[0][rows]).all() for e, rows in zip(entries, rows_pair)):
            continue
        if stop is not None and stop.is_set():
            return
        for side, rows, entry in zip(exp.sides, rows_pair, entries):
            if rows.stop > rows.start and not np.isfinite(entry[0][rows]).all():
                fill(side, rows, entry)
        yield current()


def odin_stream(exp: Experiment, temperature: float, epsilon: float, stop: threading.Event | None = None,
                scale: str = "seed") -> Iterator[tuple[np.ndarray, int]]:
    """Yield (scores with NaN for rows not done yet, rows done) as batches finish; the last yield is complete.

    epsilon = 0 (any T) comes from the cached logits in one yield. An interrupted run keeps
    what it computed: asking again resumes.
    """
    temperature, epsilon = float(temperature), float(epsilon)
    if epsilon == 0:  # ODIN without the perturbation is max softmax at T
        yield logit_scores(exp, "msp", {"temperature": temperature}), exp.n
        return

    def fill(side, rows, entry):
        x, sign = exp.inputs(side, rows), _signs(side, temperature)  # only when rows are missing
        t0 = time.perf_counter()
        if not bool(sign[1][rows].all()):
            sign[0][rows] = gradient_sign(exp.model, x, temperature).cpu()
            sign[1][rows] = True
            side.sign_seconds[temperature] += time.perf_counter() - t0
        t1 = time.perf_counter()
        step_std = exp.std if scale == "paper" else None  # seed's scale: epsilon on the normalised input itself
        entry[0][rows] = perturbed_msp(exp.model, x, sign[0][rows], temperature, epsilon, step_std).cpu().numpy()
        entry[1] += time.perf_counter() - t1

    key = ("odin", temperature, epsilon, scale)
    yield from _stream(exp, tuple(_entry(s, key) for s in exp.sides), fill, stop)


def logit_scores(exp: Experiment, name: str, params: dict) -> np.ndarray:
    """Scores of a detector that needs only the clean logits, from the cached logits."""
    det = DETECTORS[name]
    key = (name, *sorted(params.items()))
    for side in exp.sides:
        with side.lock:
            done = key in side.scores
        if not done:
            scores = det.from_logits(_side_logits(exp, side), **params).numpy()
            with side.lock:
                side.scores[key] = [scores, 0.0]
    return np.concatenate([s.scores[key][0] for s in exp.sides])


def scores_stream(exp: Experiment, name: str, params: dict, stop: threading.Event | None = None,
                  autoencoder: Autoencoder | None = None) -> Iterator[tuple[np.ndarray, int]]:
    """Any registered detector at `params`: (scores so far with NaN for rows not done, rows done)."""
    det = DETECTORS[name]
    if det.score is odin_score:  # ODIN's own caches: gradient signs per T
        yield from odin_stream(exp, params["temperature"], params["epsilon"], stop, params.get("eps_scale", "seed"))
        return
    if det.from_logits is not None:
        yield logit_scores(exp, name, params), exp.n
        return
    if det.network == "autoencoder":
        if autoencoder is None:
            raise LabsError(f"{det.title} needs an autoencoder checkpoint")
        net, norm, key = autoencoder.model, autoencoder.normalization, (name, autoencoder.tag)
    else:
        net, norm, key = exp.model, None, (name, *sorted(params.items()))
    std = norm["std"] if norm else exp.std

    def fill(side, rows, entry):
        t0 = time.perf_counter()
        x = exp.inputs(side, rows, net, norm)
        entry[0][rows] = det.score(net, x, std=std, **params).float().cpu().numpy()
        entry[1] += time.perf_counter() - t0

    yield from _stream(exp, tuple(_entry(s, key) for s in exp.sides), fill, stop)


def score_key(name: str, params: dict, autoencoder: Autoencoder | None = None) -> tuple:
    """Where a detector's scores at `params` are cached on each side."""
    det = DETECTORS[name]
    if det.score is odin_score:
        T, eps = float(params["temperature"]), float(params["epsilon"])
        return ("odin", T, eps, params.get("eps_scale", "seed")) if eps else ("msp", ("temperature", T))
    return (name, autoencoder.tag) if det.network == "autoencoder" else (name, *sorted(params.items()))


def is_cached(exp: Experiment, name: str, params: dict, autoencoder: Autoencoder | None = None) -> bool:
    """Whether every score of this setting is already computed (asking again costs nothing)."""
    key = score_key(name, params, autoencoder)
    for side in exp.sides:
        with side.lock:
            if key not in side.scores or not np.isfinite(side.scores[key][0]).all():
                return False
    return True


def has_signs(exp: Experiment, temperature: float) -> bool:
    """Whether ODIN's gradient signs at T are cached on both sides."""
    return all(float(temperature) in s.signs and bool(s.signs[float(temperature)][1].all()) for s in exp.sides)


def scores_seconds(exp: Experiment, name: str, params: dict, autoencoder: Autoencoder | None = None) -> float:
    """Measured seconds of a detector over all images (a logit-only detector costs the clean forward pass)."""
    det = DETECTORS[name]
    if det.from_logits is not None or (det.score is odin_score and float(params["epsilon"]) == 0):
        return exp.forward_seconds
    if det.score is odin_score:
        T = float(params["temperature"])
        return sum(s.sign_seconds[T] + s.scores[score_key(name, params)][1] for s in exp.sides)
    key = (name, autoencoder.tag) if det.network == "autoencoder" else (name, *sorted(params.items()))
    return sum(s.scores[key][1] for s in exp.sides)

