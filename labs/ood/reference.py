"""ODIN's reference run (results/odin.json from `python -m labs reproduce --stage odin`) as the tab shows it on
first view, for the OOD set selected: the grid heatmap (validation-half AUROC per T x ε) and the comparison
table (test half), labelled "reference run (10,000 + 10,000 images, <checkpoint>, <hardware>)". Without the file
(or without that OOD set in it): the line saying how to produce it. No torch here.
"""

from __future__ import annotations

import re

import gradio as gr

from labs.core import metrics, reference
from labs.core.plots import empty_figure
from labs.ood import figures, tables
from labs.ood.detectors import DETECTORS, EPS_SCALE_TAGS, SYMBOLS
from labs.ood.oodsets import OOD_SETS

TITLE = "Validation-half AUROC"
BY_TITLE = {d.title: k for k, d in DETECTORS.items()}
BY_SYMBOL = {sym: h for h, pair in SYMBOLS.items() for sym in pair}
SCALE_BY_TAG = {tag: scale for scale, tag in EPS_SCALE_TAGS.items()}


def load() -> tuple[dict | None, str]:
    return reference.load("odin")


def parse_setting(text: str) -> dict:
    """'T=10, ε=0.002, seed's ε scale' -> {'temperature': 10.0, 'epsilon': 0.002, 'eps_scale': 'seed'}
    (labs.ood.detectors.setting_text, inverted; no scale part where ε = 0)."""
    params: dict = {}
    if text in ("", "-"):
        return params
    for part in text.split(", "):
        if part in SCALE_BY_TAG:
            params["eps_scale"] = SCALE_BY_TAG[part]
            continue
        key, _, value = part.partition("=")
        number = re.match(r"\s*[-+0-9.eE]+", value)
        if number:
            params[BY_SYMBOL.get(key.strip(), key.strip())] = float(number.group())
    return params


def _one_scale(rows: list[dict], scale: str | None) -> list[dict]:
    """The rows of one ε scale (`scale`: the chosen setting's, else the seed's; untagged rows, ε = 0, are on every
    scale), their params without the scale: the heatmap's two axes are T and ε."""
    kept = [r for r in rows if r["params"].get("eps_scale") in (None, scale or "seed")]
    return [{**r, "params": {k: v for k, v in r["params"].items() if k != "eps_scale"}} for r in kept]


def label(record: dict, ood: str) -> str:
    cfg = record["config"][ood]
    n = cfg["images_per_side"]
    return reference.label(record, f"{n:,} + {n:,} images, checkpoint {cfg['checkpoint']}")


def _run(record: dict, ood: str) -> dict | None:
    title = OOD_SETS[ood].title if ood in OOD_SETS else ood
    return next((r for r in record["runs"] if r["name"] == title), None) if ood in record["config"] else None


def grid_rows(record: dict, ood: str) -> tuple[list[dict], dict[str, dict]]:
    """(rows as figures.auroc_heatmap reads them, the chosen setting per detector from the comparison table)."""
    run = _run(record, ood)
    if run is None:
        return [], {}
    rows = [{"detector": BY_TITLE.get(g["detector"], g["detector"]), "title": g["detector"],
             "params": parse_setting(g["setting"]), "setting": g["setting"], "val": {"AUROC": g["val_auroc"]},
             "test": {"AUROC": g["test_auroc"]}} for g in run["final"].get("grid", [])]
    chosen: dict[str, dict] = {}
    for r in comparison_rows(record, ood):  # a detector's first row: ODIN's on the seed's ε scale, then the paper's
        chosen.setdefault(BY_TITLE.get(r["detector"], r["detector"]), parse_setting(r["setting"]))
    rows = _one_scale(rows, chosen.get("odin", {}).get("eps_scale"))
    best = {k: {"params": {h: v for h, v in p.items() if h != "eps_scale"}} for k, p in chosen.items()}
    best = {k: b for k, b in best.items() if any(r["detector"] == k and r["params"] == b["params"] for r in rows)}
    return rows, best


def comparison_rows(record: dict, ood: str) -> list[dict]:
    """The comparison table's rows of one OOD set, as tables.comparison_table reads them."""
    title = OOD_SETS[ood].title if ood in OOD_SETS else ood
    return [{"detector": r["Detector"], "setting": r["Setting"], **{k: r[k] for k in metrics.OOD_METRICS},
             "relative cost": r["Relative cost"]} for r in record["table"] if r["OOD set"] == title]


def initial_setting(record: dict | None, ood: str, checkpoint: str | None) -> dict:
    """ODIN's setting the reference run chose for `ood` on the seed's ε scale (its comparison table's first ODIN
    row: {'temperature', 'epsilon'[, 'eps_scale']}), where `checkpoint` is the reference run's; else {} (the
    live view's own defaults). The tab's first live view starts there: ODIN as the lab tuned it, the star of
    the heatmap beside it, not T=1, ε=0, where ODIN is max softmax."""
    if record is None or _run(record, ood) is None or record["config"][ood].get("checkpoint") != checkpoint:
        return {}
    odin = DETECTORS["odin"].title
    row = next((r for r in comparison_rows(record, ood) if r["detector"] == odin), None)
    return parse_setting(row["setting"]) if row is not None else {}


def why_not(record: dict | None, line: str, ood: str) -> str:
    if record is None:
        return (line or reference.missing_line("odin")).replace("`", "")
    covered = ", ".join(OOD_SETS[k].title if k in OOD_SETS else k for k in record["config"])
    return f"the reference run has no {OOD_SETS[ood].title if ood in OOD_SETS else ood} (it covers: {covered})"


def view(record: dict | None, line: str, ood: str):
    """(heatmap figure, comparison table update, comparison bars) of the reference run for `ood`, or what says why
    there is none."""
    rows, best = grid_rows(record, ood) if record is not None else ([], {})
    if rows:
        text, top = reference.title("", label(record, ood), 60)
        heat = figures.auroc_heatmap(rows, best, title=f"{text.removeprefix('<br>')}<br>{TITLE}", height=330 + top)
        heat.update_layout(title=dict(font=dict(size=12)), margin=dict(t=top + 17))
        comp = comparison_rows(record, ood)
        return heat, gr.update(value=tables.comparison_table(comp),
                               label=f"{tables.comparison_label('done')} · {label(record, ood)}"), \
            figures.comparison_bars(comp, title="Test-half AUROC by detector (reference run)")
    hint = why_not(record, line, ood)
    return (empty_figure(TITLE, f"{hint}; press Grid search", 330),
            gr.update(value=tables.comparison_table([]), label=f"{tables.comparison_label('done')} · {hint}"),
            figures.comparison_bars([]))


def on_ood(ood):
    """The reference view for a newly selected OOD set (the file is read again: a finished reproduction shows)."""
    record, line = load()
    return view(record, line, ood)
