"""The reference runs (`python -m labs reproduce`, results/<stage>.json) as the tabs show them on first view.

`load(stage)` gives the validated record, or None and the one line the tab shows instead ("not produced yet"
with the command, or why the file cannot be read). `label(...)` is the one wording every tab uses:
"reference run (full data: 60,000 MNIST images, 20 epochs, 2-core AMD EPYC CPU (2 threads))". No torch here.
"""

from __future__ import annotations

import math

from labs.core.errors import LabsError

GREY = "#8c8c8c"  # reference traces under a live run: thin, dashed, grey


def cell(column: str, value) -> str:
    """One table cell, the same in RESULTS.md and on the page: accuracies as percent with 2 decimals, losses
    with 4, ratios with 2 significant digits, seconds whole with "s", counts with commas, other metrics
    (AUROC, FPR) with 3 decimals; a missing or non-finite value is "-"."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        low = column.lower()
        if "accuracy" in low or "drop" in low:
            return f"{value:.2%}"
        if "loss" in low:
            return f"{value:.4f}"
        if "ratio" in low:
            return f"{value:.2g}"
        if "second" in low or "(s)" in low:
            return f"{value:,.0f} s"
        if column == "Parameters":
            return f"{int(value):,}"
        if "lr" in low:
            return f"{value:g}"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value).replace("|", "/")


def missing_line(stage: str) -> str:
    return f"Reference run not produced yet: `python -m labs reproduce --stage {stage}`"


def load(stage: str, partial: bool = False) -> tuple[dict | None, str]:
    """(record, '') when results/<stage>.json exists and validates, else (None, the line to show instead).
    partial=True: a stage still running gives the record of its rows so far (a "progress" field says how
    many), which `label` marks as in progress."""
    from labs.reproduce import results

    try:
        record = results.read(stage)
        if record is None and partial:
            record = results.read_partial(stage)
    except LabsError as err:
        return None, f"Reference run not readable: {err}"
    if record is None:
        return None, missing_line(stage)
    return record, ""


def data_text(title: str, n: int | None, n_all: int) -> str:
    """'full data: 60,000 MNIST images' (n = 0 or all of them) or '256 of 1,437 digits images'."""
    if not n or n >= n_all:
        return f"full data: {n_all:,} {title} images"
    return f"{n:,} of {n_all:,} {title} images"


def label(record: dict, data: str, epochs: int | None = None) -> str:
    """'reference run (<data>, N epochs, <hardware>)', plus 'dry run on tiny data' when the file says so;
    'reference run in progress, 3 of 8 rows so far (...)' for a partial record."""
    from labs.reproduce import results

    parts = [data] + ([f"{epochs} epoch{'s' if epochs != 1 else ''}"] if epochs is not None else [])
    progress = record.get("progress")
    head = (f"reference run in progress, {progress['done']} of {progress['total']} rows so far" if progress
            else "reference run")
    text = f"{head} ({', '.join(parts)}, {results.describe(record['hardware'])})"
    return text + (" · dry run on tiny data, not the full reproduction" if record.get("dry_run") else "")


def title(head: str, record_label: str, width: int = 72) -> tuple[str, int]:
    """(plot title: `head` then the label wrapped to lines of `width` characters, top margin that fits it)."""
    import textwrap

    lines = [head] + textwrap.wrap(record_label, width)
    return "<br>".join(lines), 30 + 17 * len(lines)
