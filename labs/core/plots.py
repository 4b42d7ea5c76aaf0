"""Pure data -> plotly figures. No state, no Gradio: the tabs pass these figures to gr.Plot.

Every builder accepts empty input and returns an empty figure with a hint, so a
tab can draw its plots before the first result arrives.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22"]

_ = go.Figure()  # build one figure at import: plotly's lazy imports must not race in worker threads


def _layout(fig: go.Figure, title: str, xaxis: str, yaxis: str, height: int = 320) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.02, font=dict(size=15)), height=height, template="plotly_white",
                      margin=dict(l=55, r=15, t=45, b=45), legend=dict(orientation="h", y=-0.22),
                      xaxis_title=xaxis, yaxis_title=yaxis)
    return fig


def empty_figure(title: str, hint: str = "press the button to start", height: int = 320) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=hint, showarrow=False, font=dict(size=13, color="#888"), x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, "", "", height)


# Percent tick labels with as many decimals as the tick step needs (whatever the data's span, plotly picks
# the step): whole percents from 1-point steps up, else "2%, 2%, 1%" would repeat on a narrow range.
PERCENT_STOPS = [dict(dtickrange=[None, 0.0001], value=".3%"), dict(dtickrange=[0.0001, 0.001], value=".2%"),
                 dict(dtickrange=[0.001, 0.01], value=".1%"), dict(dtickrange=[0.01, None], value=".0%")]


def percent_axis(fig: go.Figure) -> go.Figure:
    """The y axis in percent, its labels never repeating (PERCENT_STOPS)."""
    return fig.update_yaxes(tickformatstops=PERCENT_STOPS)


def curves(series: dict[str, tuple[Sequence[float], Sequence[float]]], title: str, xaxis: str, yaxis: str,
           percent: bool = False, log_y: bool = False, height: int = 320, dashed: Sequence[str] = ()) -> go.Figure:
    """One line per name: series[name] = (xs, ys). Names in `dashed` are drawn dashed."""
    if not any(len(xs) for xs, _ in series.values()):
        return empty_figure(title, height=height)
    fig = go.Figure()
    for i, (name, (xs, ys)) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=list(xs), y=list(ys), name=name, mode="lines+markers" if len(xs) < 30 else "lines",
                                 line=dict(color=PALETTE[i % len(PALETTE)], dash="dash" if name in dashed else None)))
    _layout(fig, title, xaxis, yaxis, height)
    xs_all = [x for xs, _ in series.values() for x in xs]
    if xs_all and all(float(x).is_integer() for x in xs_all) and max(xs_all) <= 15:
        fig.update_xaxes(dtick=1)  # a few whole epochs: 1, 2, 3 (not 1, 1.5, 2, 2.5, 3)
    if percent:
        percent_axis(fig)
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def grad_norm_heatmap(rows: dict[str, tuple[Sequence[float], list[list[float]]]], title: str = "Gradient norm per layer",
                      height: int = 320) -> go.Figure:
    """Per-layer gradient L2 norms over training, one panel per model, log colour scale.

    rows[model] = (steps, norms) with norms[t][layer], layer 0 = input side. Dark
    early layers under a deep plain net are the vanishing gradients.
    """
    rows = {k: v for k, v in rows.items() if len(v[0])}
    if not rows:
        return empty_figure(title, height=height)
    import math

    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(rows), subplot_titles=list(rows), shared_yaxes=True, horizontal_spacing=0.04)
    all_vals = [math.log10(max(v, 1e-12)) for _, norms in rows.values() for r in norms for v in r]
    lo, hi = min(all_vals), max(all_vals)
    for c, (name, (steps, norms)) in enumerate(rows.items(), start=1):
        z = [[math.log10(max(norms[t][layer], 1e-12)) for t in range(len(steps))] for layer in range(len(norms[0]))]
        fig.add_trace(go.Heatmap(z=z, x=list(steps), y=list(range(1, len(z) + 1)), zmin=lo, zmax=hi,
                                 colorscale="Viridis", showscale=c == len(rows),
                                 colorbar=dict(title="log10 |grad|", len=0.9),
                                 hovertemplate="step %{x}<br>layer %{y}<br>log10 norm %{z:.2f}<extra>" + name + "</extra>"),
                      row=1, col=c)
        fig.update_xaxes(title_text="step", row=1, col=c)
    fig.update_yaxes(title_text="layer (1 = input side)", row=1, col=1)
    fig.update_layout(title=dict(text=title, x=0.02, font=dict(size=15)), height=height, template="plotly_white",
                      margin=dict(l=55, r=15, t=60, b=45))
    return fig


def bars(labels: Sequence[str], values: Sequence[float], title: str, yaxis: str, percent: bool = False,
         colors: Sequence[str] | None = None, reference: tuple[str, float] | None = None, height: int = 320) -> go.Figure:
    """A bar chart; `reference` = (label, value) draws a dashed horizontal line (e.g. the seed's figure)."""
    if not len(labels):
        return empty_figure(title, height=height)
    fig = go.Figure(go.Bar(x=list(labels), y=list(values), marker_color=list(colors) if colors else PALETTE[0],
                           text=[f"{v:.1%}" if percent else f"{v:.3g}" for v in values], textposition="outside"))
    if reference:
        fig.add_hline(y=reference[1], line_dash="dash", line_color="#555", annotation_text=reference[0])
    _layout(fig, title, "", yaxis, height)
    if percent:
        fig.update_yaxes(tickformat=".0%", range=[0, min(1.0, max(list(values) + [reference[1] if reference else 0]) * 1.2)])
    return fig


def accuracy_vs_depth(points: dict[str, tuple[Sequence[int], Sequence[float]]], title: str = "Test accuracy vs depth",
                      height: int = 320) -> go.Figure:
    """points[architecture] = (depths in layers, accuracies)."""
    series = {k: (list(x), list(y)) for k, (x, y) in points.items()}
    fig = curves(series, title, "depth (weight layers)", "final test accuracy", percent=True, height=height)
    fig.update_traces(mode="lines+markers", marker=dict(size=10))
    return fig
