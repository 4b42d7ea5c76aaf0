"""The evaluation protocol: validation/test halves, the (T, epsilon) grid search, the comparison table.

The ODIN paper's protocol: each side's first half is the VALIDATION half, the second half
the TEST half (the CIFAR test sets are class-interleaved, so both halves are class
balanced). The grid search picks (T, epsilon) by validation AUROC and reports the test
half; the comparison table reports every detector on the test half, with its measured
cost relative to one clean forward pass. The live slider view uses all n images per side.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np

from labs.core import metrics
from labs.core.errors import LabsError
from labs.ood.detectors import check_params
from labs.ood.experiment import (Experiment, autoencoder_scores, baseline_scores, clean_logits, odin_scores,
                                 odin_seconds, odin_stream)

SEED_GRID = {"temperatures": (1.0, 10.0, 100.0), "epsilons": (0.0, 0.001, 0.002, 0.004)}  # the seed's grid


def evaluate(exp: Experiment, scores: np.ndarray, half: str = "all") -> dict:
    """metrics.ood_summary on the rows computed so far ('all', 'val' or 'test' halves)."""
    sid, sood = exp.split(scores, half)
    sid, sood = sid[np.isfinite(sid)], sood[np.isfinite(sood)]
    if not len(sid) or not len(sood):
        raise LabsError("no scores yet on one side: wait for the first batch")
    return {**metrics.ood_summary(sid, sood), "n_id": len(sid), "n_ood": len(sood)}


def parse_grid(text: str | Sequence, what: str) -> tuple[float, ...]:
    """'1,10,100' -> (1.0, 10.0, 100.0); each value checked like the sliders'."""
    items = [t for t in (text.replace(";", ",").split(",") if isinstance(text, str) else text) if str(t).strip()]
    try:
        values = tuple(dict.fromkeys(float(t) for t in items))
    except ValueError:
        raise LabsError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise LabsError(f"give at least one value for {what}")
    for v in values:
        check_params(v, 0.0) if what == "temperatures" else check_params(1.0, v)
    return values


def grid_search(exp: Experiment, temperatures: Sequence[float], epsilons: Sequence[float],
                stop: threading.Event | None = None) -> Iterator[dict]:
    """Yield {"kind": "pair", ...} per finished (T, eps) then {"kind": "end", ...}.

    The best pair maximises AUROC on the VALIDATION halves (ties: lower validation FPR@95,
    then grid order); its reported metrics come from the TEST halves.
    """
    rows, total = [], len(temperatures) * len(epsilons)
    for T in temperatures:
        for eps in epsilons:
            scores = None
            for scores, done in odin_stream(exp, T, eps, stop):
                pass
            if scores is None or not np.isfinite(scores).all():
                yield {"kind": "end", "stopped": True, "rows": rows, "best": None}
                return
            val, test = evaluate(exp, scores, "val"), evaluate(exp, scores, "test")
            rows.append({"T": T, "epsilon": eps, "val": val, "test": test, "seconds": odin_seconds(exp, T, eps)})
            yield {"kind": "pair", "done": len(rows), "total": total, "row": rows[-1]}
    best = max(rows, key=lambda r: (r["val"]["AUROC"], -r["val"]["FPR@95"], -rows.index(r)))
    yield {"kind": "end", "stopped": False, "rows": rows, "best": best}


def comparison(exp: Experiment, best: tuple[float, float], autoencoder=None, autoencoder_tag: str = "") -> list[dict]:
    """The seed's table: every detector on the TEST halves, with cost relative to one forward pass."""
    clean_logits(exp)
    unit = max(exp.forward_seconds, 1e-9)
    T, eps = best
    entries = [("ODIN", f"T={T:g}, eps={eps:g}", odin_scores(exp, T, eps), odin_seconds(exp, T, eps)),
               ("Max softmax", "T=1, eps=0", baseline_scores(exp, "msp"), exp.forward_seconds),
               ("Energy score", "T=1", baseline_scores(exp, "energy"), exp.forward_seconds),
               ("Max logit", "-", baseline_scores(exp, "max_logit"), exp.forward_seconds)]
    if autoencoder is not None:
        s, sec = autoencoder_scores(exp, autoencoder, autoencoder_tag)
        entries.append(("Autoencoder", "reconstruction MSE", s, sec))
    rows = []
    for name, setting, scores, seconds in entries:
        m = evaluate(exp, scores, "test")
        rows.append({"detector": name, "setting": setting, **{k: m[k] for k in metrics.OOD_METRICS},
                     "seconds": seconds, "relative cost": seconds / unit, "scores": scores})
    return rows
