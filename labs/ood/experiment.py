"""ODIN experiments: score caches per (checkpoint, images, n) and streaming ODIN.

Caching (why the sliders feel live):
- Each SIDE (the ID images, or one OOD set's images) is cached per (checkpoint, set, n):
  the ID side's work is shared by every OOD set, so switching OOD sets computes one side.
- Clean logits are computed once per side; max softmax at any T, ODIN with epsilon = 0,
  energy and max logit are then a softmax away (no forward pass).
- ODIN with epsilon > 0 needs sign(grad) of the cross-entropy at T: cached per T, so a
  new epsilon at a known T costs one forward pass, not forward + backward + forward.
- Every finished (T, epsilon) score vector is kept: revisiting a pair is instant.
- Scores are computed in batches that take images from both sides, so a partial result
  is a fair sample of both and the ROC refines as batches finish.

The evaluation protocol (validation/test halves, grid search, comparison) is labs.ood.protocol.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from labs.core.data import load_dataset, to_model_input
from labs.core.errors import LabsError
from labs.ood.detectors import DETECTORS, check_params, gradient_sign, perturbed_msp
from labs.ood.oodsets import get_ood_set, load_ood

FIRST_BATCH = 32    # per side: the first streamed update comes after 64 images
BATCH = 128         # per side afterwards
MAX_SIDES = 12
MAX_SIGN_TEMPERATURES = 4


@dataclass
class Side:
    """One set of images (ID or OOD) under one checkpoint, and everything computed on it."""

    x: torch.Tensor                 # uint8 (n, H, W, C)
    logits: torch.Tensor | None = None
    forward_seconds: float = 0.0
    signs: OrderedDict = field(default_factory=OrderedDict)   # T -> [int8 NCHW signs, bool done, seconds]
    odin: dict = field(default_factory=dict)                  # (T, eps) -> [scores, NaN = not yet, seconds]
    extra: dict = field(default_factory=dict)                 # baseline and autoencoder scores
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def n(self) -> int:
        return len(self.x)


@dataclass
class Experiment:
    """ID side + OOD side for one (checkpoint, OOD set, n). Rows 0..n_id-1 of every score
    vector are ID images, the rest OOD images."""

    key: tuple
    model: torch.nn.Module
    meta: dict
    sides: tuple[Side, Side]
    mean: tuple
    std: tuple

    @property
    def n_id(self) -> int:
        return self.sides[0].n

    @property
    def n(self) -> int:
        return self.sides[0].n + self.sides[1].n

    @property
    def forward_seconds(self) -> float:
        """One clean forward pass over all images: the unit of the cost column."""
        return self.sides[0].forward_seconds + self.sides[1].forward_seconds

    def inputs(self, side: Side, idx, normalization: dict | None = None) -> torch.Tensor:
        """Normalised float NCHW images (the classifier's normalisation unless another is given)."""
        device = next(self.model.parameters()).device  # a model moved to CUDA gets its inputs there
        mean, std = (normalization["mean"], normalization["std"]) if normalization else (self.mean, self.std)
        x = to_model_input(side.x[idx].to(device), mean, std)
        return x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x  # faster convs on CPU

    def split(self, scores, half: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """(ID scores, OOD scores) for 'all', 'val' (first halves) or 'test' (second halves)."""
        s = np.asarray(scores, dtype=np.float64)
        sid, sood = s[:self.n_id], s[self.n_id:]
        if half == "all":
            return sid, sood
        h_id, h_ood = len(sid) // 2, len(sood) // 2
        return (sid[:h_id], sood[:h_ood]) if half == "val" else (sid[h_id:], sood[h_ood:])


_SIDES: OrderedDict = OrderedDict()
_MODELS: dict = {}
_LOCK = threading.Lock()


def load_classifier(path: str | Path, dataset: str | None = "cifar10"):
    """(model, meta) of a classifier checkpoint; LabsError if it is not one for `dataset`."""
    from labs.core.checkpoints import load_checkpoint

    model, meta = load_checkpoint(path)
    if dataset and meta.get("dataset") != dataset:
        raise LabsError(f"{Path(path).name} was trained on {meta.get('dataset')!r}, not {dataset!r}: pick a "
                        f"{dataset} classifier (in-distribution images must be the ones it was trained on)")
    return model, meta


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


def get_experiment(checkpoint: str | Path, ood: str, n: int, dataset: str | None = "cifar10",
                   download: bool = False) -> Experiment:
    """The ID and OOD sides (cached; the first call loads data and weights, no forward pass yet)."""
    weights = Path(checkpoint).with_suffix(".safetensors")
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise LabsError(f"images per side must be a whole number >= 2 (one per validation/test half), got {n!r}")
    get_ood_set(ood)
    stamp = weights.stat().st_mtime_ns if weights.exists() else 0
    wkey = (str(weights.resolve()), stamp)
    with _LOCK:
        loaded = _MODELS.get(wkey)
    if loaded is None or (dataset and loaded[1].get("dataset") != dataset):
        model, meta = load_classifier(weights, dataset)
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
    x_ood = load_ood(ood, n, data.image_shape, download=download)
    id_side = _side(wkey + ("id", meta["dataset"], n), lambda: data.x_test[:n])
    ood_side = _side(wkey + ("ood", ood, n), lambda: x_ood)
    norm = meta.get("normalization") or {"mean": data.mean, "std": data.std}
    return Experiment(wkey + (ood, n), model, meta, (id_side, ood_side), tuple(norm["mean"]), tuple(norm["std"]))


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


def _entries(side: Side, temperature: float, epsilon: float) -> tuple[list, list]:
    with side.lock:
        if (temperature, epsilon) not in side.odin:
            side.odin[(temperature, epsilon)] = [np.full(side.n, np.nan, dtype=np.float32), 0.0]
        if temperature not in side.signs:
            _, h, w, c = side.x.shape  # signs are NCHW like the model's inputs
            side.signs[temperature] = [torch.zeros((side.n, c, h, w), dtype=torch.int8),
                                       torch.zeros(side.n, dtype=torch.bool), 0.0]
            while len(side.signs) > MAX_SIGN_TEMPERATURES:
                side.signs.popitem(last=False)
        side.signs.move_to_end(temperature)
        return side.odin[(temperature, epsilon)], side.signs[temperature]


def _odin_rows(exp: Experiment, side: Side, rows: slice, temperature: float, epsilon: float, entry, sign) -> None:
    """Fill entry's scores for `rows` (gradient signs first, if this T has none for them)."""
    if rows.stop <= rows.start or np.isfinite(entry[0][rows]).all():
        return
    x = exp.inputs(side, rows)
    t0 = time.perf_counter()
    if not bool(sign[1][rows].all()):
        sign[0][rows] = gradient_sign(exp.model, x, temperature).cpu()
        sign[1][rows] = True
        sign[2] += time.perf_counter() - t0
    t1 = time.perf_counter()
    entry[0][rows] = perturbed_msp(exp.model, x, sign[0][rows], temperature, epsilon, exp.std).cpu().numpy()
    entry[1] += time.perf_counter() - t1


def odin_stream(exp: Experiment, temperature: float, epsilon: float,
                stop: threading.Event | None = None) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (scores with NaN for rows not done yet, rows done) as batches finish; the last yield is complete.

    epsilon = 0 (any T) comes from the cached logits in one yield. An interrupted run keeps
    what it computed: asking again resumes.
    """
    check_params(temperature, epsilon)
    temperature, epsilon = float(temperature), float(epsilon)
    if epsilon == 0:
        yield baseline_scores(exp, "msp", temperature), exp.n
        return
    id_side, ood_side = exp.sides
    (e_id, s_id), (e_ood, s_ood) = (_entries(s, temperature, epsilon) for s in exp.sides)

    def current():
        scores = np.concatenate([e_id[0], e_ood[0]])
        return scores, int(np.isfinite(scores).sum())

    scores, done = current()
    if done == exp.n:
        yield scores, done
        return
    for rows_id, rows_ood in _batches(id_side.n, ood_side.n):
        if np.isfinite(e_id[0][rows_id]).all() and np.isfinite(e_ood[0][rows_ood]).all():
            continue
        if stop is not None and stop.is_set():
            return
        _odin_rows(exp, id_side, rows_id, temperature, epsilon, e_id, s_id)
        _odin_rows(exp, ood_side, rows_ood, temperature, epsilon, e_ood, s_ood)
        yield current()


def odin_scores(exp: Experiment, temperature: float, epsilon: float) -> np.ndarray:
    """The complete ODIN score vector (runs the stream to its end)."""
    scores = None
    for scores, _ in odin_stream(exp, temperature, epsilon):
        pass
    return scores


def odin_seconds(exp: Experiment, temperature: float, epsilon: float) -> float:
    """Measured seconds for ODIN over all images: gradient signs at T + the perturbed forward pass."""
    if float(epsilon) == 0:
        return exp.forward_seconds
    key = (float(temperature), float(epsilon))
    return sum(s.signs[key[0]][2] + s.odin[key][1] for s in exp.sides)


def baseline_scores(exp: Experiment, name: str, temperature: float = 1.0) -> np.ndarray:
    """Scores of a logit-only detector (msp, energy, max_logit) from the cached logits."""
    det = DETECTORS[name]
    if det.from_logits is None:
        raise LabsError(f"{det.title} needs more than the logits")
    key = (name, float(temperature))
    for side in exp.sides:
        if key not in side.extra:
            side.extra[key] = det.from_logits(_side_logits(exp, side), temperature).numpy()
    return np.concatenate([s.extra[key] for s in exp.sides])


def autoencoder_scores(exp: Experiment, autoencoder, tag: str) -> tuple[np.ndarray, float]:
    """(reconstruction scores, seconds), cached per side under `tag` (the autoencoder's path and mtime)."""
    from labs.ood.autoencoder import reconstruction_score

    for side in exp.sides:
        if tag not in side.extra:
            t0 = time.perf_counter()
            norm = getattr(autoencoder, "normalization", None)
            out = [reconstruction_score(autoencoder, exp.inputs(side, slice(i, i + 512), norm)).cpu()
                   for i in range(0, side.n, 512)]
            side.extra[tag] = (torch.cat(out).numpy(), time.perf_counter() - t0)
    return (np.concatenate([s.extra[tag][0] for s in exp.sides]), sum(s.extra[tag][1] for s in exp.sides))
