"""Tables, status lines and notes of the ODIN lab, from the records of labs.ood.experiment.

Every table fits half the page at 1400 px: short column names, 3-4 decimals; what the short names mean is in
the *_LEGEND notes the tab shows under each table. Every running status line says how long is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labs.core import eta, metrics

SHORT = {"FPR@95": "FPR95", "Detection error": "Det. err", "threshold@95": "thr@95"}  # full name -> column name
METRIC_COLUMNS = ["detector", "AUROC", "FPR95", "AUPR-in", "AUPR-out", "Det. err", "thr@95"]
GRID_COLUMNS = ["detector", "setting", "val AUROC", "val FPR95", "test AUROC", "test FPR95", "time"]
COMPARISON_COLUMNS = ["detector", "AUROC", "FPR95", "AUPR-in", "AUPR-out", "Det. err", "cost"]

METRIC_LEGEND = ("ID = positive. **FPR95**: share of OOD images kept at the threshold that keeps 95% of ID. "
                 "**Det. err**: min over thresholds of ½(1−TPR) + ½FPR. **thr@95**: that 95%-TPR threshold. "
                 "AUPR-in / -out: average precision with ID / OOD as positive.")
GRID_LEGEND = ("**val** = validation half (it picks), **test** = test half (it reports). **time**: seconds this "
               "setting took now (*cached*: computed before, nothing to do); they add up to the total below.")
COMPARISON_LEGEND = ("Each detector at its setting chosen on the validation half, measured on the test half. "
                     "**cost**: its measured compute time over all images ÷ one clean forward pass (the logit-only "
                     "detectors share that pass: 1×).")


def left(seconds: float | None) -> str:
    return eta.format_left(seconds)


def metrics_table(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """One row per detector: metrics.ood_summary of (ID scores, OOD scores), ID = positive."""
    out = []
    for name, (sid, sood) in curves.items():
        m = metrics.ood_summary(sid, sood)
        out.append({"detector": name, **{SHORT.get(k, k): round(m[k], 4) for k in metrics.OOD_METRICS},
                    "thr@95": float(f"{m['threshold@95']:.4g}")})
    return pd.DataFrame(out, columns=METRIC_COLUMNS)


def live_status(rec: dict) -> str:
    """'computing… 64/200 images (100 ID + 100 Uniform noise) · 0.31 s, about 2 s left · gradient + forward passes'."""
    running = rec["done"] < rec["total"]
    timing = f"{rec['seconds']:.2f} s" + (f", {left(rec.get('remaining'))}" if running else "")
    return (f"{'computing…' if running else 'done'} {rec['done']:,}/{rec['total']:,} images ({rec['n_id']:,} ID + "
            f"{rec['n_ood']:,} {rec['ood_title']}) · {timing} · {rec['how']}")


def grid_table(rows: Sequence[dict]) -> pd.DataFrame:
    """One row per searched setting (protocol.grid_search rows); time = what the setting took now, or 'cached'."""
    return pd.DataFrame([{"detector": r["title"], "setting": r["setting"], "val AUROC": round(r["val"]["AUROC"], 4),
                          "val FPR95": round(r["val"]["FPR@95"], 4), "test AUROC": round(r["test"]["AUROC"], 4),
                          "test FPR95": round(r["test"]["FPR@95"], 4),
                          "time": "cached" if r.get("cached") else f"{r.get('wall', r['seconds']):.2f} s"}
                         for r in rows], columns=GRID_COLUMNS)


def grid_status(rec: dict | None) -> str:
    """The search's status line from its latest record (protocol.grid_search kinds "progress", "setting", "grid";
    None: before the first setting)."""
    if rec is None:
        return f"running: clean forward pass · {left(None)}"
    n = f"{rec['done']} of {rec['total']} settings"
    if rec["kind"] == "grid":
        cells = sum(r["wall"] for r in rec["rows"])
        timing = (f"total {rec['wall']:.2f} s wall = clean forward pass {rec['forward_wall']:.2f} s + settings "
                  f"{cells:.2f} s")
        if rec["stopped"]:
            return f"**Stopped after {n}** ({timing}); the settings not computed are blank, nothing was chosen " \
                   f"for a detector whose search did not finish."
        return f"Finished: {n}, {timing}."
    doing = f" · {rec['setting']} {rec['rows_done']:,}/{rec['rows_total']:,} images" if rec["kind"] == "progress" else ""
    return f"running: {n} done{doing} · {rec['elapsed']:.1f} s so far, {left(rec['remaining'])}"


def grid_label(state: str, done: int, total: int) -> str:
    """The grid table's label: what it holds and whether the search runs, stopped or finished."""
    head = "Grid: validation and test halves"
    if state == "running":
        return f"{head} · running: {done} of {total} settings"
    if state == "stopped":
        return f"{head} · stopped after {done} of {total} settings"
    return f"{head} · all {total} settings" if total else head


def best_text(best: dict[str, dict], skipped: Sequence[dict] = (), unfinished: Sequence[str] = ()) -> str:
    """Markdown: each searched detector's chosen setting (validation half, among all its settings) and its
    test-half result; `unfinished` names the detectors whose search was stopped: no choice for them."""
    lines = []
    for row in best.values():
        if row["params"]:
            lines.append(f"- **{row['title']}: {row['setting']}** (val AUROC {row['val']['AUROC']:.4f}) → **test "
                         f"AUROC {row['test']['AUROC']:.4f}, FPR@95 {row['test']['FPR@95']:.4f}**")
    lines += [f"- {title}: search stopped before its last setting, no setting chosen" for title in unfinished]
    if not lines:
        return ""
    first = next(iter(best.values()))["test"] if best else None
    size = f" ({first['n_id']} + {first['n_ood']} images)" if first else ""
    head = (f"**Best on the validation half** (among all of a detector's settings), reported on the test "
            f"half{size}:")
    notes_ = [f"- {s['title']}: skipped ({s['reason']})" for s in skipped]
    return "\n".join([head, *lines, *notes_])


def comparison_table(rows: Sequence[dict]) -> pd.DataFrame:
    """protocol.comparison rows, rounded, the setting next to the detector's name, without the score vectors."""
    return pd.DataFrame([{"detector": r["detector"] + (f" ({r['setting']})" if r["setting"] != "-" else ""),
                          **{SHORT.get(k, k): round(r[k], 4) for k in metrics.OOD_METRICS},
                          "cost": cost_text(r["relative cost"])} for r in rows], columns=COMPARISON_COLUMNS)


def cost_text(ratio: float) -> str:
    """2.0× at or above 0.1; two significant digits below (the autoencoder's 0.027×, not 0.0×)."""
    return f"{ratio:.1f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def comparison_label(state: str, done: int = 0, total: int = 0) -> str:
    head = "Comparison (test half)"
    if state == "running":
        return f"{head} · waiting for the search ({done} of {total} settings)"
    if state == "stopped":
        return f"{head} · not produced: the search stopped after {done} of {total} settings"
    return head


def autoencoder_note(path: Path | None, name: str) -> str:
    """Which autoencoder the comparison uses, if any."""
    if path is not None:
        return f"Autoencoder: `{Path(path).name}` (used by **Compare detectors**)."
    return f"No autoencoder yet (`{name}`): the comparison will omit it until you train one."


def training_status(rec: dict, what: str, estimate: str = "") -> str:
    """One line per record of labs.core.recipes.train_and_save; running lines say how long is left (from the
    run's own steps; before the first step, `estimate`: the throughput model's figure)."""
    if rec["kind"] == "start":
        return f"{what}: {rec['parameters']:,} parameters, {rec['n_train']:,} train images… {estimate}".rstrip()
    if rec["kind"] in ("step", "eval"):
        total = rec.get("total_steps")
        rest = left(eta.seconds_left(rec["seconds"], rec["step"], total) if total else None)
        if rec["kind"] == "step":
            return f"training {what}… step {rec['step']}/{total}, loss {rec['train_loss']:.4f} · {rest}"
        acc = f", test accuracy {rec['test_acc']:.1%}" if "test_acc" in rec else ""
        return f"training {what}… test loss {rec['test_loss']:.4f}{acc} · {rest}"
    if rec["kind"] == "saved":
        m = rec["metrics"]
        result = (f"test accuracy {m['final_test_acc']:.1%}" if "final_test_acc" in m
                  else f"test MSE {m['final_test_loss']:.4f}")
        return f"Saved `{Path(rec['path']).stem}`: {result} after {m['seconds']:.0f} s."
    if rec["kind"] == "not_saved":
        return f"{what}: {rec['reason']}"
    return f"training {what}…"
