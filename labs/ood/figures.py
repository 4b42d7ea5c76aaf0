"""Plotly figures of the ODIN lab: ROC curves, score histograms, the grid heatmap, comparison bars, from the
records of labs.ood.experiment (the tables and status lines: labs.ood.tables).

Pure data -> figure; every builder returns a figure with a hint when it has nothing to draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from labs.core import metrics
from labs.core.plots import PALETTE, _layout, empty_figure

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


def coinciding(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, str]:
    """name -> the earlier name whose ROC curve it repeats exactly (e.g. ODIN at T=1, eps=0 and max softmax: the
    same scores); names with a curve of their own are absent."""
    seen, same = [], {}
    for name, (sid, sood) in curves.items():
        fpr, tpr, _ = metrics.roc_curve(sid, sood)
        match = next((k for k, f, t in seen if len(f) == len(fpr) and np.allclose(f, fpr) and np.allclose(t, tpr)),
                     None)
        if match is not None:
            same[name] = match
        else:
            seen.append((name, fpr, tpr))
    return same


def roc_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC (ID = positive)",
               note: str = "", height: int = 380) -> go.Figure:
    """curves[name] = (ID scores, OOD scores); legend shows AUROC; the 95% TPR level is marked. A curve that
    repeats an earlier one exactly is drawn dashed on top and both the legend and a note say they coincide."""
    if not curves:
        return empty_figure(title, note or "pick a checkpoint and an OOD set", height)
    same = coinciding(curves)
    data, notes_ = [], []
    for i, (name, (sid, sood)) in enumerate(curves.items()):
        fpr, tpr, _ = metrics.roc_curve(sid, sood)
        area = float(np.trapezoid(tpr, fpr))
        if len(fpr) > 1500:  # thin to ~1500 points: the plot stays light, the curve looks the same
            keep = np.unique(np.r_[np.linspace(0, len(fpr) - 1, 1500).astype(int), len(fpr) - 1])
            fpr, tpr = fpr[keep], tpr[keep]
        label = f"{name} (AUROC {area:.3f})"
        line = dict(color=PALETTE[i % len(PALETTE)], width=2)
        if name in same:
            label = f"{name} = {same[name]}: identical curve (AUROC {area:.3f})"
            line.update(dash="dash", width=3)
            notes_.append(f"{name} and {same[name]} coincide: identical scores")
        data.append(dict(type="scatter", x=fpr, y=tpr, mode="lines", name=label, line=line))
    data.append(dict(type="scatter", x=[0, 1], y=[0, 1], mode="lines", name="chance", hoverinfo="skip",
                     line=dict(color="#bbb", dash="dot")))
    annotations = [dict(text="TPR 95%", xref="paper", x=1, y=0.95, yanchor="top", xanchor="right", showarrow=False,
                        font=dict(size=11, color="#555"))]
    annotations += [dict(text=t, xref="paper", yref="paper", x=0.98, y=0.04 + 0.08 * k, xanchor="right",
                         yanchor="bottom", showarrow=False, bgcolor="rgba(255,255,255,0.85)", font=dict(size=11))
                    for k, t in enumerate(notes_)]
    layout = _base_layout(title + (f" · {note}" if note else ""), height,
                          xaxis=dict(title=dict(text="FPR (OOD kept as ID)"), range=[0, 1]),
                          yaxis=dict(title=dict(text="TPR (ID kept)"), range=[0, 1.02]),
                          shapes=[dict(type="line", xref="paper", x0=0, x1=1, y0=0.95, y1=0.95,
                                       line=dict(color="#777", dash="dash"))],
                          annotations=annotations)
    return go.Figure(dict(data=data, layout=layout))


SUBPLOT_TITLE_Y = 1.13  # paper units: above the panels, in the top margin


def score_histograms(panels: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "Scores: ID vs OOD",
                     height: int = 330) -> go.Figure:
    """One panel per detector: ID and OOD score histograms (40 bins, share of each side) and the 95%-TPR
    threshold, labelled inside the panel (the panel's title sits above it)."""
    if not panels:
        return empty_figure(title, "no scores yet", height)
    data, shapes, notes_, layout_axes = [], [], [], {}
    k, gap = len(panels), 0.08
    width = (1 - gap * (k - 1)) / k
    for c, (name, (sid, sood)) in enumerate(panels.items()):
        ax = "" if c == 0 else str(c + 1)
        lo, hi = float(min(sid.min(), sood.min())), float(max(sid.max(), sood.max()))
        hi = hi if hi > lo else lo + 1.0
        edges = np.linspace(lo, hi, 41)
        centers, step = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        for label, s, color in (("ID", sid, PALETTE[0]), ("OOD", sood, PALETTE[1])):
            counts = np.histogram(s, edges)[0] / max(len(s), 1)
            data.append(dict(type="bar", x=centers, y=counts, width=step, name=label, marker=dict(color=color),
                             opacity=0.6, legendgroup=label, showlegend=c == 0, xaxis=f"x{ax}", yaxis=f"y{ax}"))
        thr = metrics.threshold_at_tpr(sid, sood)
        shapes.append(dict(type="line", xref=f"x{ax}", yref=f"y{ax} domain", x0=thr, x1=thr, y0=0, y1=1,
                           line=dict(color="#333", dash="dash")))
        right = (thr - lo) / (hi - lo) > 0.5  # label on the side of the line with more room
        notes_.append(dict(text=f"95% TPR: {thr:.4g}", xref=f"x{ax}", yref=f"y{ax} domain", x=thr, y=0.98,
                           xanchor="right" if right else "left", xshift=-4 if right else 4, yanchor="top",
                           showarrow=False, bgcolor="rgba(255,255,255,0.8)", font=dict(size=11)))
        x0 = c * (width + gap)
        notes_.append(dict(text=f"<b>{name}</b>", xref="paper", yref="paper", x=x0 + width / 2, y=SUBPLOT_TITLE_Y,
                           showarrow=False, font=dict(size=12)))
        layout_axes[f"xaxis{ax}"] = dict(domain=[x0, x0 + width], title=dict(text="score (higher = more ID)"),
                                         anchor=f"y{ax}")
        layout_axes[f"yaxis{ax}"] = dict(anchor=f"x{ax}", title=dict(text="share of images" if c == 0 else ""))
    layout = _base_layout(title, height, barmode="overlay", bargap=0, shapes=shapes, annotations=notes_,
                          **layout_axes)
    layout["margin"]["t"] = 80
    return go.Figure(dict(data=data, layout=layout))


STAR_OFFSET = 0.3  # the best cell's star sits in the cell's upper-right corner (cell = 1 x 1): its value stays readable


def grid_state_text(state: str, done: int, total: int) -> str:
    """'running: 5 of 12 settings' / 'stopped after 7 of 12 settings' / '' (finished)."""
    if state == "running":
        return f"running: {done} of {total} settings"
    if state == "stopped":
        return f"stopped after {done} of {total} settings"
    return ""


def auroc_heatmap(rows: Sequence[dict], best: dict[str, dict] | None = None,
                  title: str = "Validation-half AUROC", height: int = 330,
                  space: dict[str, Sequence[float]] | None = None, state: str = "done") -> go.Figure:
    """Validation AUROC of the first detector with a two-hyperparameter space (ODIN: T x epsilon), from grid
    rows (protocol.grid_search); `space` (hyperparameter -> values) lays out the whole grid, cells not computed
    stay blank; its chosen row in `best` gets a star in the cell's corner. state "running" / "stopped" is said
    in the title and, when stopped, in a note on the plot."""
    def numeric(params: dict) -> list[str]:  # the grid's axes; a fixed label such as ODIN's eps_scale is not one
        return [k for k, v in params.items() if not isinstance(v, str)]

    mine = [r for r in rows if len(numeric(r["params"])) == 2]
    mine = [r for r in mine if r["detector"] == mine[0]["detector"]] if mine else []
    if not mine:
        return empty_figure(title, "press Grid search", height)
    y_name, x_name = numeric(mine[0]["params"])
    if mine[0]["params"].get("eps_scale"):  # say which epsilon the axis means
        title = f"{title} (ε on the {'seed' if mine[0]['params']['eps_scale'] == 'seed' else 'paper'}'s scale)"
    space = space or {}
    ys = list(dict.fromkeys([*space.get(y_name, ()), *(r["params"][y_name] for r in mine)]))
    xs = list(dict.fromkeys([*space.get(x_name, ()), *(r["params"][x_name] for r in mine)]))
    values = {(r["params"][y_name], r["params"][x_name]): r["val"]["AUROC"] for r in mine}
    z = [[values.get((y, x)) for x in xs] for y in ys]
    text = [[("" if v is None else f"{v:.3f}") for v in row] for row in z]
    data = [go.Heatmap(z=z, x=list(range(len(xs))), y=list(range(len(ys))), text=text, texttemplate="%{text}",
                       colorscale="Viridis", colorbar=dict(title="AUROC"), name="validation AUROC", showlegend=True,
                       customdata=[[[f"{y:g}", f"{x:g}"] for x in xs] for y in ys],
                       hovertemplate=f"{y_name}=%{{customdata[0]}}, {x_name}=%{{customdata[1]}}: %{{z:.4f}}"
                                     "<extra></extra>")]
    chosen = (best or {}).get(mine[0]["detector"])
    if chosen is not None:
        cx, cy = xs.index(chosen["params"][x_name]), ys.index(chosen["params"][y_name])
        data.append(go.Scatter(x=[cx + STAR_OFFSET], y=[cy + STAR_OFFSET], mode="markers", name="best (validation)",
                               hoverinfo="skip", marker=dict(symbol="star", size=13, color="white",
                                                             line=dict(color="black", width=1))))
    counted = len(xs) * len(ys)
    said = grid_state_text(state, len(mine), counted)
    fig = go.Figure(data)
    _layout(fig, f"{title}: {mine[0]['title']}" + (f" · {said}" if said else ""), x_name, y_name, height)
    fig.update_layout(legend=dict(orientation="h", y=-0.3))
    fig.update_xaxes(tickvals=list(range(len(xs))), ticktext=[f"{x:g}" for x in xs], range=[-0.5, len(xs) - 0.5])
    fig.update_yaxes(tickvals=list(range(len(ys))), ticktext=[f"{y:g}" for y in ys], range=[-0.5, len(ys) - 0.5])
    if state == "stopped":
        fig.add_annotation(text=f"{said}: blank cells not computed, no best chosen", xref="paper", yref="paper",
                           x=0.5, y=1.0, yanchor="bottom", showarrow=False, font=dict(size=11, color="#b00"))
        fig.update_layout(margin=dict(t=70))
    return fig


def comparison_bars(rows: Sequence[dict], title: str = "Test-half AUROC by detector", height: int = 330) -> go.Figure:
    """AUROC per detector (from protocol.comparison rows), one named bar each (its name under the axis), value
    labels above the bars (never clipped), and chance as a dashed line, the legend's one entry."""
    if not rows:
        return empty_figure(title, "press Compare detectors", height)
    names = bar_names(rows)
    data = [go.Bar(x=[name], y=[r["AUROC"]], name=name, marker_color=PALETTE[i % len(PALETTE)],
                   text=[f"{r['AUROC']:.3f}"], textposition="outside", cliponaxis=False, showlegend=False)
            for i, (name, r) in enumerate(zip(names, rows))]
    data.append(go.Scatter(x=[names[0], names[-1]], y=[0.5, 0.5], mode="lines", name="chance (0.5)",
                           line=dict(color="#555", dash="dash")))
    fig = go.Figure(data)
    _layout(fig, title, "", "AUROC", height)
    # one bar per category: overlay keeps each full width (grouping would split every slot by the trace count)
    # the bars are named under the axis; the legend (top right) explains the dashed line only
    fig.update_layout(margin=dict(t=60), barmode="overlay",
                      legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    fig.update_yaxes(range=[0, 1.15], tickvals=[0, 0.25, 0.5, 0.75, 1.0])
    # level labels on two lines ("Max<br>softmax"): six of them fit a half-width plot without being cut
    fig.update_xaxes(tickangle=0, automargin=True, tickvals=names, ticktext=[n.replace(" ", "<br>", 1) for n in names])
    return fig


def bar_names(rows: Sequence[dict]) -> list[str]:
    """A detector's name, and where it has several rows (ODIN on both ε scales) the scale, else the setting."""
    from collections import Counter

    from labs.ood.detectors import EPS_SCALE_TAGS

    count = Counter(r["detector"] for r in rows)
    names = []
    for r in rows:
        name, setting = r["detector"], r.get("setting", "-")
        if count[name] > 1:
            scale = next((k for k, tag in EPS_SCALE_TAGS.items() if tag in setting), None)
            name = f"{name} ({scale}'s ε)" if scale else f"{name} ({setting})"
        names.append(name)
    return names
