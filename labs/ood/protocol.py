"""The evaluation protocol: validation/test halves, every detector's search, the comparison table.

The ODIN paper's protocol, applied to every detector in DETECTORS: each side's first half
is the VALIDATION half, the second half the TEST half (the CIFAR test sets are
class-interleaved, so both halves are class balanced). Each detector's space (its own, or
the grid the user typed for hyperparameters of the same name) is searched on the
validation halves; the chosen setting is reported on the test halves, with its measured
cost relative to one clean forward pass. The live slider view uses all n images per side.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import numpy as np

from labs.core import metrics
from labs.core.errors import LabsError
from labs.ood.detectors import DETECTORS, odin_score, setting_text
from labs.ood.scores import (Autoencoder, Experiment, clean_logits, has_signs, is_cached, scores_seconds,
                              scores_stream)


def split(scores, n_id: int, half: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """(ID scores, OOD scores) for 'all', 'val' (first half of each side) or 'test' (second halves)."""
    s = np.asarray(scores, dtype=np.float64)
    sid, sood = s[:n_id], s[n_id:]
    if half == "all":
        return sid, sood
    h_id, h_ood = len(sid) // 2, len(sood) // 2
    return (sid[:h_id], sood[:h_ood]) if half == "val" else (sid[h_id:], sood[h_ood:])


def evaluate(scores, n_id: int, half: str = "all") -> dict:
    """metrics.ood_summary on the rows computed so far (NaN = not yet) of one half."""
    sid, sood = split(scores, n_id, half)
    sid, sood = sid[np.isfinite(sid)], sood[np.isfinite(sood)]
    if not len(sid) or not len(sood):
        raise LabsError("no scores yet on one side: wait for the first batch")
    return {**metrics.ood_summary(sid, sood), "n_id": len(sid), "n_ood": len(sood)}


def search_space(name: str, grid: dict | None = None) -> dict[str, tuple]:
    """A detector's space, with the user's values for the hyperparameters `grid` names."""
    grid = grid or {}
    return {h: tuple(grid.get(h, values)) for h, values in DETECTORS[name].space.items()}


def settings(space: dict[str, tuple]) -> list[dict]:
    """Every combination, in the order the space lists them ({} -> one empty setting)."""
    return [dict(zip(space, combo)) for combo in itertools.product(*space.values())]


def run_to_end(stream: Iterator[tuple[np.ndarray, int]]) -> np.ndarray | None:
    """The complete score vector of a scores stream, or None if it stopped early."""
    scores = None
    for scores, _ in stream:
        pass
    return scores if scores is not None and np.isfinite(scores).all() else None


# Cost of a setting in clean forward passes over all images (the unit the measured speed calibrates):
# gradient signs at a new T = forward + backward (~3), the perturbed pass = 1, a logit-only detector = 0.
SIGN_UNITS, PASS_UNITS = 3.0, 1.0


def _plan_units(exp: Experiment, plan: list[tuple[str, dict]], autoencoder: Autoencoder | None) -> list[float]:
    """Estimated cost of each planned setting, in clean forward passes (0 for a cached one)."""
    units, signs = [], set()
    for name, params in plan:
        det = DETECTORS[name]
        if is_cached(exp, name, params, autoencoder) or det.from_logits is not None:
            units.append(0.0)
        elif det.score is odin_score:
            T, eps = float(params["temperature"]), float(params["epsilon"])
            new_t = eps > 0 and T not in signs and not has_signs(exp, T)
            signs.add(T) if eps > 0 else None
            units.append(0.0 if eps == 0 else PASS_UNITS + (SIGN_UNITS if new_t else 0.0))
        else:
            units.append(PASS_UNITS)
    return units


def best_of(rows: list[dict]) -> dict:
    """The row with the highest validation AUROC (ties: lower validation FPR@95, then the earlier row)."""
    return max(rows, key=lambda r: (r["val"]["AUROC"], -r["val"]["FPR@95"], -rows.index(r)))


def grid_search(exp: Experiment, grid: dict | None = None, stop: threading.Event | None = None,
                autoencoder: Autoencoder | None = None, skip_reason: str = "no autoencoder checkpoint",
                detectors: tuple[str, ...] | None = None) -> Iterator[dict]:
    """Search every detector in DETECTORS (or only those `detectors` names, in DETECTORS' order). Yields

        {"kind": "skipped", "detector", "title", "reason"}   a detector that cannot run here
        {"kind": "progress", "done", "total", "rows_done", "rows_total", "elapsed", "remaining"}   per batch of a
                                                       setting being computed (remaining: estimated seconds)
        {"kind": "setting", "done", "total", "row", "elapsed", "remaining"}   per finished setting (row: detector,
                                                       title, params, setting, val, test, seconds = the detector's
                                                       measured cost over all images, wall = seconds this setting took
                                                       now, cached = nothing had to be computed)
        {"kind": "grid", "stopped", "done", "total", "rows", "best", "wall", "forward_wall"}   at the end; best:
                                                       detector -> its chosen row, with "scores" (only detectors
                                                       whose every setting was computed); wall = the search's seconds
                                                       = forward_wall (the clean pass now) + the rows' walls
    """
    t_start = time.perf_counter()
    clean_logits(exp)  # the cost unit, and what every logit-only detector reads
    mark = time.perf_counter()
    forward_wall = mark - t_start
    unknown = set(detectors or ()) - set(DETECTORS)
    if unknown:
        raise LabsError(f"unknown detector(s) {', '.join(sorted(unknown))}: choose among {', '.join(DETECTORS)}")
    wanted = [k for k in DETECTORS if detectors is None or k in detectors]
    names = [k for k in wanted if DETECTORS[k].network != "autoencoder" or autoencoder is not None]
    for name in wanted:
        if name not in names:
            yield {"kind": "skipped", "detector": name, "title": DETECTORS[name].title, "reason": skip_reason}
    plan = [(name, s) for name in names for s in settings(search_space(name, grid))]
    units = _plan_units(exp, plan, autoencoder)
    spent = {"units": 0.0, "seconds": 0.0}  # measured on the settings computed so far: seconds per unit

    def per_unit() -> float:
        if spent["units"] > 0:
            return spent["seconds"] / spent["units"]
        return max(exp.forward_seconds, 1e-3)

    rows, best, mine, kept = [], {}, [], {}
    for i, (name, params) in enumerate(plan):
        cached = is_cached(exp, name, params, autoencoder)
        scores, t_cell = None, time.perf_counter()
        for scores, done_rows in scores_stream(exp, name, params, stop, autoencoder):
            if done_rows < exp.n:  # a batch of a setting being computed: its own speed says how long it still takes
                took = time.perf_counter() - t_cell
                left = took / max(done_rows, 1) * (exp.n - done_rows) + sum(units[i + 1:]) * per_unit()
                yield {"kind": "progress", "done": len(rows), "total": len(plan), "rows_done": done_rows,
                       "rows_total": exp.n, "setting": f"{DETECTORS[name].title} {setting_text(params)}",
                       "elapsed": time.perf_counter() - t_start, "remaining": left}
        if scores is None or not np.isfinite(scores).all():
            yield {"kind": "grid", "stopped": True, "done": len(rows), "total": len(plan), "rows": rows,
                   "best": best, "wall": time.perf_counter() - t_start, "forward_wall": forward_wall}
            return
        row = {"detector": name, "title": DETECTORS[name].title, "params": params, "setting": setting_text(params),
               "val": evaluate(scores, exp.n_id, "val"), "test": evaluate(scores, exp.n_id, "test"),
               "seconds": scores_seconds(exp, name, params, autoencoder), "cached": cached}
        now = time.perf_counter()
        row["wall"], mark = now - mark, now  # from the end of the previous setting: the rows add up to the wall time
        if units[i] > 0:
            spent["units"] += units[i]
            spent["seconds"] += row["wall"]
        rows.append(row)
        mine.append(row)
        kept[id(row)] = scores
        yield {"kind": "setting", "done": len(rows), "total": len(plan), "row": row, "elapsed": now - t_start,
               "remaining": sum(units[i + 1:]) * per_unit()}
        if i + 1 == len(plan) or plan[i + 1][0] != name:  # the detector's last setting: choose on validation
            chosen = best_of(mine)
            best[name] = {**chosen, "scores": kept[id(chosen)]}
            mine, kept = [], {}
    yield {"kind": "grid", "stopped": False, "done": len(rows), "total": len(plan), "rows": rows, "best": best,
           "wall": time.perf_counter() - t_start, "forward_wall": forward_wall}


def comparison(exp: Experiment, best: dict[str, dict]) -> list[dict]:
    """The seed's table: every detector at its chosen setting on the TEST halves, cost relative to one
    clean forward pass."""
    unit = max(exp.forward_seconds, 1e-9)
    out = []
    for name, row in best.items():
        out.append({"name": name, "detector": row["title"], "params": row["params"], "setting": row["setting"],
                    **{k: row["test"][k] for k in metrics.OOD_METRICS}, "seconds": row["seconds"],
                    "relative cost": row["seconds"] / unit, "scores": row["scores"]})
    return out
