"""Lab 1's reference runs (results/mlp.json, results/cnn.json from `python -m labs reproduce`) as the tab shows
them: the test-accuracy and training-loss curves of every run, the cnn table's accuracy against depth, and the
table, labelled "reference run (full data, N epochs, hardware)"; under a live run the same lines stay thin and
grey. Without the file: the seed's table and the line saying how to produce it. Pure functions of a results
record (or None); no torch.
"""

from __future__ import annotations


import pandas as pd
import plotly.graph_objects as go

from labs.core import plots, reference
from labs.core.catalog import DATASETS
from labs.residual import timing

# The seed's rows, as labs/reproduce/stages.py writes them into each results file's "seed_table"
SEED_TABLES = {
    "mlp": [{"Model": "MLP-16", "Optimizer": "the seed's", "Final test accuracy": "~60-80%, severe instability"},
            {"Model": "ResidualMLP-16", "Optimizer": "the seed's", "Final test accuracy": "high, stable"}],
    "cnn": [{"Architecture": "ResNet", "Size": "Large", "Final accuracy": 0.78,
             "Note": "the seed's ResNet runs reached 76-78%; its PlainCNN got worse with depth"}],
}
SEED_TABLES["cnn_short"] = SEED_TABLES["cnn"]
GREYS = ["#9a9a9a", "#6f6f6f", "#b5b5b5", "#555555", "#c4c4c4", "#828282"]
MLP_COLUMNS = {"Model": "Model", "Optimizer": "Optimizer", "Final test accuracy": "Final test acc",
               "Best test accuracy": "Best test acc", "Largest drop between evaluations": "Largest drop",
               "Final train loss": "Final train loss",
               "Gradient ratio first/last layer at step 1": "Grad ratio at step 1", "Epochs": "Epochs"}
CNN_COLUMNS = {"Architecture": "Architecture", "Size": "Size", "Depth": "Depth", "Final accuracy": "Final accuracy",
               "Final train loss": "Final train loss", "Training convergence": "Training convergence",
               "Parameters": "Parameters", "Seconds": "Time"}


def _config(record: dict) -> dict:
    """The stage's configuration (mlp: one per optimiser, the same data and epochs: the first)."""
    cfg = record["config"]
    return next(iter(cfg.values())) if record["stage"] == "mlp" else cfg


def label(record: dict) -> str:
    """'reference run (full data: 60,000 MNIST images, 20 epochs, 2-core ... CPU (2 threads))'."""
    cfg = _config(record)
    name = cfg["dataset"]
    title = "digits" if name == "digits" else DATASETS[name].title
    return reference.label(record, reference.data_text(title, cfg.get("train_subset"), timing.TRAIN_SIZES[name]),
                           cfg["epochs"])


def table(rows: list[dict], columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of a results file (or the seed's) formatted for the page: percentages, losses, parameter counts."""
    keys = list(columns) if columns else list(dict.fromkeys(k for r in rows for k in r))
    names = [columns.get(k, k) for k in keys] if columns else keys
    return pd.DataFrame([[reference.cell(k, r.get(k)) for k in keys] for r in rows], columns=names)


def view(stage: str, record: dict | None, line: str = "") -> tuple[str, pd.DataFrame]:
    """(markdown above the table, the table): the reference run's rows, labelled, with the file's notes and the
    seed's figures; without a file `line` (the 'not produced yet' line) and the seed's table."""
    seed = (record or {}).get("seed_table") or SEED_TABLES[stage]
    if record is None:
        return f"{line or reference.missing_line(stage)}. Until then, the seed's table:", table(seed)
    columns = MLP_COLUMNS if stage == "mlp" else CNN_COLUMNS
    seed_text = "; ".join(", ".join(reference.cell(k, v) for k, v in r.items() if k != "Optimizer") for r in seed)
    notes = " ".join(record.get("notes", []))
    drawn = (" The loss and accuracy plots draw its curves (thin grey lines under a run of yours)."
             if stage in ("mlp", "cnn") else " Its curves are in the results file and RESULTS.md.")
    text = (f"**Table: {label(record)}**, `{record['command']}`.{drawn} The seed: {seed_text}."
            + (f" {notes}" if notes else ""))
    return text, table(record["table"], columns)


def _dash(name: str) -> str:
    return "dot" if name.startswith(("MLP", "PlainCNN")) else "dash"


# What a reference plot can draw: per epoch of every run ("test_acc", "train_loss": the epoch's mean), or the
# cnn table's final test accuracy of each architecture against its depth ("depth": Lab 1 B's third plot).
YAXIS = {"test_acc": "test accuracy", "train_loss": "train loss", "depth": "final test accuracy"}
XAXIS = {"depth": "depth (weight layers)"}  # else "epoch"


def _series(record: dict | None, metric: str) -> list[tuple[str, list, list]]:
    """(name, xs, ys) of each reference line of `metric`."""
    if metric == "depth":
        from labs.residual.config import SIZES, depth_in_layers

        points: dict[str, tuple[list, list]] = {}
        for row in (record or {}).get("table", []):
            if row.get("Size") in SIZES and isinstance(row.get("Final accuracy"), (int, float)):
                xs, ys = points.setdefault(row["Architecture"], ([], []))
                xs.append(depth_in_layers(SIZES[row["Size"]]))
                ys.append(row["Final accuracy"])
        return [(name, xs, ys) for name, (xs, ys) in points.items()]
    out = []
    for run in (record or {}).get("runs", []):
        pts = [(c["epoch"], c[metric]) for c in run["curves"] if c.get(metric) is not None]
        if pts:
            out.append((run["name"], [p[0] for p in pts], [p[1] for p in pts]))
    return out


def traces(record: dict | None, muted: bool, metric: str = "test_acc") -> list[go.Scatter]:
    """The reference lines of `metric` (see YAXIS); muted: thin grey dashed lines for under a live run."""
    out = []
    for i, (name, xs, ys) in enumerate(_series(record, metric)):
        color = GREYS[i % len(GREYS)] if muted else plots.PALETTE[i % len(plots.PALETTE)]
        out.append(go.Scatter(x=xs, y=ys, name=f"reference: {name}", legendgroup="reference",
                              mode="lines+markers" if len(xs) < 30 else "lines", opacity=0.8 if muted else 1.0,
                              marker=dict(size=8 if metric == "depth" else 6),
                              line=dict(color=color, width=1.2 if muted else 2, dash=_dash(name))))
    return out


def _yaxis(fig: go.Figure, metric: str, log_y: bool) -> go.Figure:
    """Percent ticks for accuracy; a log loss axis gets ticks spanning every curve drawn (live and reference)."""
    from labs.residual.figures import log_ticks

    if metric in ("test_acc", "depth"):
        plots.percent_axis(fig)
    elif log_y:
        vals, text = log_ticks(y for d in fig.data for y in (d.y or ()))
        fig.update_yaxes(type="log", tickmode="array", tickvals=vals, ticktext=text)
    return fig


def first_figure(record: dict | None, title: str, line: str = "", stage: str = "cnn", metric: str = "test_acc",
                 log_y: bool = False) -> go.Figure:
    """A plot before any run: the reference curves of `metric`, or a plot that says why there are none (the
    accuracy plot names the command that produces them; the loss plot just waits for a run)."""
    if record is None or not traces(record, False, metric):
        if metric != "test_acc":
            return plots.empty_figure(title)
        said = (line or reference.missing_line(stage)).replace("`", "").replace(": ", ":<br>", 1)
        return plots.empty_figure(title, f"{said}<br>press the button to train")  # lines: the plot is half a page wide
    fig = go.Figure(traces(record, False, metric))
    text, top = reference.title(title, label(record))
    plots._layout(fig, text, XAXIS.get(metric, "epoch"), YAXIS[metric], 380 + top)
    fig.update_layout(showlegend=True, margin=dict(t=top, b=110), title=dict(font=dict(size=12)),
                      legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"))
    return _yaxis(fig, metric, log_y)


def depth_figure(record: dict | None, short: dict | None, title: str, line: str = "") -> go.Figure:
    """Lab 1 B's accuracy-vs-depth plot before any run: the cnn stage's points and, when the cnn_short stage is
    produced, its points too (hollow markers, thinner lines), each line named with its epochs: the short schedule
    is where PlainCNN falls at every step in depth."""
    fig = first_figure(record, title, line, "cnn", "depth")
    if record is None or short is None:
        return fig
    for trace in fig.data:
        trace.name = trace.name.replace("reference:", f"reference, {_config(record)['epochs']} epochs:")
    for trace in traces(short, False, "depth"):
        trace.name = trace.name.replace("reference:", f"reference, {_config(short)['epochs']} epochs:")
        trace.marker.symbol, trace.line.width, trace.opacity = "circle-open", 1.2, 0.8
        fig.add_trace(trace)
    text, top = reference.title(title, f"{label(record)}; hollow: {label(short)}")
    fig.update_layout(title=dict(text=text), margin=dict(t=top), height=380 + top)
    return fig


def overlay(fig: go.Figure, record: dict | None, metric: str = "test_acc", log_y: bool = False) -> go.Figure:
    """A live plot of `metric` with the reference curves under it (thin grey dashed); before the live run's
    first point, the reference curves alone under the live plot's title and what it waits for."""
    under = traces(record, True, metric)
    if not under:
        return fig
    if not fig.data:  # the empty live plot: its hint becomes part of the title
        hint = next((a.text for a in fig.layout.annotations), "")
        fig = go.Figure(under)
        text, top = reference.title(f"{hint}; under it:", label(record))
        plots._layout(fig, text, XAXIS.get(metric, "epoch"), YAXIS[metric], 380 + top)
        fig.update_layout(title=dict(font=dict(size=12)), margin=dict(t=top), showlegend=True)
        return _yaxis(fig, metric, log_y)
    fig = go.Figure(data=[*under, *fig.data], layout=fig.layout)
    fig.update_layout(showlegend=True)
    return _yaxis(fig, metric, log_y) if metric == "train_loss" else fig


def load(stage: str) -> tuple[dict | None, str]:
    """results/<stage>.json's record, or (None, the line the tab shows instead)."""
    return reference.load(stage)


def for_sweep(epochs: int) -> dict | None:
    """The reference record a live sweep of `epochs` is drawn over: the cnn_short stage's when its schedule has as
    many epochs (the Short preset), else the cnn stage's (None when neither is produced)."""
    short = load("cnn_short")[0]
    if short is not None and _config(short).get("epochs") == epochs:
        return short
    return load("cnn")[0]


def datasets(config) -> set[str]:
    """Every "dataset" a results record's config names (flat, or one config per run)."""
    if isinstance(config, dict):
        found = {config["dataset"]} if isinstance(config.get("dataset"), str) else set()
        return found.union(*(datasets(v) for v in config.values()))
    return set()


def with_reference(figs: tuple, record: dict | None, dataset: str | None = None, log_loss: bool = False,
                   depth: bool = False) -> tuple:
    """(loss, accuracy, third) of a live run with the reference curves under its loss and accuracy plots (both
    per epoch; log_loss: the loss plot's log axis gets ticks for them too) and, with depth=True, under its
    accuracy-vs-depth plot; a live run on another data set than the reference's (digits under an MNIST
    reference) is drawn alone."""
    loss, acc, third = figs
    if record is not None and dataset is not None and dataset not in datasets(record.get("config")):
        record = None
    return (overlay(loss, record, "train_loss", log_loss), overlay(acc, record),
            overlay(third, record, "depth") if depth else third)
