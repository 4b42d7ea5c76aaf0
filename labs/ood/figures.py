"""Plotly figures and tables of the ODIN lab: ROC curves, score histograms, the grid heatmap, comparison bars,
the metrics / grid / comparison tables and the status lines, from the records of labs.ood.experiment.

Pure data -> figure; every builder returns a figure with a hint when it has nothing to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from labs.core import metrics
from labs.core.plots import PALETTE, _layout, bars, empty_figure

_ = go.Figure()  # build one figure at import: plotly's lazy imports must not race in worker threads


_AXIS = dict(gridcolor="#EBF0F8", linecolor="#EBF0F8", zerolinecolor="#EBF0F8", automargin=True)


def _base_layout(title: str, height: int, **extra) -> dict:
    # Built as one dict: plotly's incremental update_* calls cost ~0.1 s per figure, a live view cannot pay that.
    # No named template either (assigning one deep-copies it): plotly_white's look, spelled out.
    for key in [k for k in extra if k.startswith(("xaxis", "yaxis"))]:
        extra[key] = {**_AXIS, **extra[key]}
    return dict(title=dict(text=title, x=0.02, font=dict(size=15)), height=height, plot_bgcolor="white",
                paper_bgcolor="white", margin=dict(l=55, r=15, t=60, b=45), legend=dict(orientation="h", y=-0.22),
                **extra)


def roc_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC (ID = positive)",
               note: str = "", height: int = 380) -> go.Figure:
    """curves[name] = (ID scores, OOD scores); legend shows AUROC; the 95% TPR level is marked."""
    if not curves:
        return empty_figure(title, "pick a checkpoint and an OOD set", height)
    data = []
    for i, (name, (sid, sood)) in enumerate(curves.items()):
        fpr, tpr, _ = metrics.roc_curve(sid, sood)
        area = float(np.trapezoid(tpr, fpr))
        if len(fpr) > 1500:  # thin to ~1500 points: the plot stays light, the curve looks the same
            keep = np.unique(np.r_[np.linspace(0, len(fpr) - 1, 1500).astype(int), len(fpr) - 1])
            fpr, tpr = fpr[keep], tpr[keep]
        data.append(dict(type="scatter", x=fpr, y=tpr, mode="lines", name=f"{name} (AUROC {area:.3f})",
                         line=dict(color=PALETTE[i % len(PALETTE)], width=2)))
    data.append(dict(type="scatter", x=[0, 1], y=[0, 1], mode="lines", name="chance", hoverinfo="skip",
                     line=dict(color="#bbb", dash="dot")))
    layout = _base_layout(title + (f" · {note}" if note else ""), height,
                          xaxis=dict(title=dict(text="FPR (OOD kept as ID)"), range=[0, 1]),
                          yaxis=dict(title=dict(text="TPR (ID kept)"), range=[0, 1.02]),
                          shapes=[dict(type="line", xref="paper", x0=0, x1=1, y0=0.95, y1=0.95,
                                       line=dict(color="#777", dash="dash"))],
                          annotations=[dict(text="TPR 95%", xref="paper", x=1, y=0.95, yanchor="top",
                                            xanchor="right", showarrow=False, font=dict(size=11, color="#555"))])
    return go.Figure(dict(data=data, layout=layout))


def score_histograms(panels: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "Scores: ID vs OOD",
                     height: int = 330) -> go.Figure:
    """One panel per detector: ID and OOD score histograms (40 bins, share of each side) and
    the 95%-TPR threshold."""
    if not panels:
        return empty_figure(title, "no scores yet", height)
    data, shapes, notes_, layout_axes = [], [], [], {}
    k, gap = len(panels), 0.08
    width = (1 - gap * (k - 1)) / k
    for c, (name, (sid, sood)) in enumerate(panels.items()):
        ax = "" if c == 0 else str(c + 1)
        lo, hi = float(min(sid.min(), sood.min())), float(max(sid.max(), sood.max()))
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
        centers, step = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        for label, s, color in (("ID", sid, PALETTE[0]), ("OOD", sood, PALETTE[1])):
            counts = np.histogram(s, edges)[0] / max(len(s), 1)
            data.append(dict(type="bar", x=centers, y=counts, width=step, name=label, marker=dict(color=color),
                             opacity=0.6, legendgroup=label, showlegend=c == 0, xaxis=f"x{ax}", yaxis=f"y{ax}"))
        thr = metrics.threshold_at_tpr(sid, sood)
        shapes.append(dict(type="line", xref=f"x{ax}", yref=f"y{ax} domain", x0=thr, x1=thr, y0=0, y1=1,
                           line=dict(color="#333", dash="dash")))
        notes_.append(dict(text=f"95% TPR: {thr:.4g}", xref=f"x{ax}", yref=f"y{ax} domain", x=thr, y=1,
                           showarrow=False, yanchor="bottom", font=dict(size=11)))
        x0 = c * (width + gap)
        notes_.append(dict(text=f"<b>{name}</b>", xref="paper", yref="paper", x=x0 + width / 2, y=1.13,
                           showarrow=False, font=dict(size=12)))
        layout_axes[f"xaxis{ax}"] = dict(domain=[x0, x0 + width], title=dict(text="score (higher = more ID)"),
                                         anchor=f"y{ax}")
        layout_axes[f"yaxis{ax}"] = dict(anchor=f"x{ax}", title=dict(text="share of images" if c == 0 else ""))
    layout = _base_layout(title, height, barmode="overlay", bargap=0, shapes=shapes, annotations=notes_,
                          **layout_axes)
    layout["margin"]["t"] = 75
    return go.Figure(dict(data=data, layout=layout))


def auroc_heatmap(rows: Sequence[dict], best: dict[str, dict] | None = None,
                  title: str = "Validation-half AUROC over the grid", height: int = 330) -> go.Figure:
    """Validation AUROC of the first detector with a two-hyperparameter space (ODIN: T x epsilon), from
    grid rows (protocol.grid_search); missing pairs blank; its chosen row in `best` gets a star."""
    mine = [r for r in rows if len(r["params"]) == 2]
    mine = [r for r in mine if r["detector"] == mine[0]["detector"]] if mine else []
    if not mine:
        return empty_figure(title, "press Grid search", height)
    y_name, x_name = list(mine[0]["params"])
    ys = list(dict.fromkeys(r["params"][y_name] for r in mine))
    xs = list(dict.fromkeys(r["params"][x_name] for r in mine))
    values = {(r["params"][y_name], r["params"][x_name]): r["val"]["AUROC"] for r in mine}
    z = [[values.get((y, x)) for x in xs] for y in ys]
    text = [[("" if v is None else f"{v:.3f}") for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=[f"{x:g}" for x in xs], y=[f"{y:g}" for y in ys], text=text,
                               texttemplate="%{text}", colorscale="Viridis", colorbar=dict(title="AUROC"),
                               hovertemplate=f"{y_name}=%{{y}}, {x_name}=%{{x}}: %{{z:.4f}}<extra></extra>"))
    chosen = (best or {}).get(mine[0]["detector"])
    if chosen is not None:
        fig.add_trace(go.Scatter(x=[f"{chosen['params'][x_name]:g}"], y=[f"{chosen['params'][y_name]:g}"],
                                 mode="markers", name="best (validation)",
                                 marker=dict(symbol="star", size=22, color="white",
                                             line=dict(color="black", width=1.5))))
    _layout(fig, f"{title}: {mine[0]['title']}", x_name, y_name, height)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def comparison_bars(rows: Sequence[dict], title: str = "Test-half AUROC by detector", height: int = 330) -> go.Figure:
    """AUROC per detector (from protocol.comparison rows); dashed line at chance."""
    fig = bars([f"{r['detector']}" for r in rows], [r["AUROC"] for r in rows], title, "AUROC",
               colors=[PALETTE[i % len(PALETTE)] for i in range(len(rows))], reference=("chance", 0.5),
               height=height)
    if rows:
        fig.update_yaxes(range=[0, 1.08])
    return fig


# ------------------------------------------------------------- tables and status lines

METRIC_COLUMNS = ["detector", "AUROC", "FPR@95", "AUPR-in", "AUPR-out", "Detection error", "threshold@95", "images"]
GRID_COLUMNS = ["detector", "setting", "val AUROC", "val FPR@95", "test AUROC", "test FPR@95", "seconds"]
COMPARISON_COLUMNS = ["detector", "setting", "AUROC", "FPR@95", "AUPR-in", "AUPR-out", "Detection error", "seconds",
                      "cost (x forward)"]


def metrics_table(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """One row per detector: metrics.ood_summary of (ID scores, OOD scores), ID = positive."""
    out = []
    for name, (sid, sood) in curves.items():
        m = metrics.ood_summary(sid, sood)
        out.append({"detector": name, **{k: round(m[k], 4) for k in metrics.OOD_METRICS},
                    "threshold@95": float(f"{m['threshold@95']:.5g}"), "images": f"{len(sid)}+{len(sood)}"})
    return pd.DataFrame(out, columns=METRIC_COLUMNS)


def live_status(rec: dict) -> str:
    """'computing… 64/200 images (100 ID + 100 Uniform noise) · 0.31 s gradient + forward passes'."""
    state = "done" if rec["done"] == rec["total"] else "computing…"
    return (f"{state} {rec['done']:,}/{rec['total']:,} images ({rec['n_id']:,} ID + {rec['n_ood']:,} "
            f"{rec['ood_title']}) · {rec['seconds']:.2f} s {rec['how']}")


def grid_table(rows: Sequence[dict]) -> pd.DataFrame:
    """One row per searched setting (protocol.grid_search rows)."""
    return pd.DataFrame([{"detector": r["title"], "setting": r["setting"], "val AUROC": round(r["val"]["AUROC"], 4),
                          "val FPR@95": round(r["val"]["FPR@95"], 4), "test AUROC": round(r["test"]["AUROC"], 4),
                          "test FPR@95": round(r["test"]["FPR@95"], 4), "seconds": round(r["seconds"], 2)}
                         for r in rows], columns=GRID_COLUMNS)


def best_text(best: dict[str, dict], skipped: Sequence[dict] = ()) -> str:
    """Markdown: each searched detector's chosen setting (validation half) and its test-half result."""
    lines = []
    for row in best.values():
        if row["params"]:
            lines.append(f"- **{row['title']}: {row['setting']}** (val AUROC {row['val']['AUROC']:.4f}) → **test "
                         f"AUROC {row['test']['AUROC']:.4f}, FPR@95 {row['test']['FPR@95']:.4f}**")
    if not lines:
        return ""
    first = next(iter(best.values()))["test"]
    head = f"**Best on the validation half**, reported on the test half ({first['n_id']} + {first['n_ood']} images):"
    notes_ = [f"- {s['title']}: skipped ({s['reason']})" for s in skipped]
    return "\n".join([head, *lines, *notes_])


def comparison_table(rows: Sequence[dict]) -> pd.DataFrame:
    """protocol.comparison rows, rounded, without the score vectors."""
    return pd.DataFrame([{"detector": r["detector"], "setting": r["setting"],
                          **{k: round(r[k], 4) for k in metrics.OOD_METRICS}, "seconds": round(r["seconds"], 4),
                          "cost (x forward)": round(r["relative cost"], 4)} for r in rows], columns=COMPARISON_COLUMNS)


def autoencoder_note(path: Path | None, name: str) -> str:
    """Which autoencoder the comparison uses, if any."""
    if path is not None:
        return f"Autoencoder: `{Path(path).name}` (used by **Compare detectors**)."
    return f"No autoencoder yet (`{name}`): the comparison will omit it until you train one."


def training_status(rec: dict, what: str) -> str:
    """One line per record of labs.core.recipes.train_and_save."""
    if rec["kind"] == "start":
        return f"{what}: {rec['parameters']:,} parameters, {rec['n_train']:,} train images…"
    if rec["kind"] == "step":
        return f"training {what}… step {rec['step']}/{rec['total_steps']}, loss {rec['train_loss']:.4f}"
    if rec["kind"] == "eval":
        acc = f", test accuracy {rec['test_acc']:.1%}" if "test_acc" in rec else ""
        return f"training {what}… test loss {rec['test_loss']:.4f}{acc}"
    if rec["kind"] == "saved":
        m = rec["metrics"]
        result = (f"test accuracy {m['final_test_acc']:.1%}" if "final_test_acc" in m
                  else f"test MSE {m['final_test_loss']:.4f}")
        return f"Saved `{Path(rec['path']).stem}`: {result} after {m['seconds']:.0f} s."
    if rec["kind"] == "not_saved":
        return f"{what}: {rec['reason']}"
    return f"training {what}…"
