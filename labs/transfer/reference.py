"""The transfer lab's reference run (results/transfer.json from `python -m labs reproduce --stage transfer`) as the
tab shows it on first view: the table (SVM on frozen features, the six fine-tuning rows, from scratch) and the
bar chart's third series, labelled "reference run (full data: 50,000 CIFAR-100 images, 15 epochs, hardware)".
Without the file: the seed's table and the line saying how to produce it. No torch here.
"""

from __future__ import annotations

import pandas as pd

from labs.core import reference
from labs.core.catalog import DATASETS
from labs.transfer.config import SEED_RESULTS, SEED_SVM_ACC
from labs.transfer.tables import results_table

SVM = "Linear SVM on frozen features"
SEED_ROWS = [{"Strategy": SVM, "Optimizer": "LinearSVC", "Test Accuracy": SEED_SVM_ACC}] + [
    {k: r[k] for k in ("Strategy", "Optimizer", "Test Accuracy", "Trainable Params")} for r in SEED_RESULTS]


def load() -> tuple[dict | None, str]:
    """results/transfer.json, or while the stage is still running the rows it has finished (labelled so)."""
    return reference.load("transfer", partial=True)


def label(record: dict) -> str:
    """'reference run (full data: 50,000 CIFAR-100 images, 15 epochs, <hardware>)'."""
    cfg = record["config"]
    spec = DATASETS[cfg["dataset"]]
    return reference.label(record, reference.data_text(spec.title, cfg.get("train_subset"), spec.n_train or 50_000),
                           cfg["epochs"])


def bars(record: dict | None) -> tuple[str, list[dict]] | None:
    """(legend label, fine-tuning and from-scratch rows) for figures.comparison_bars, None without a file."""
    if record is None:
        return None
    return label(record), [r for r in record["table"] if r["Strategy"] != SVM]


def view(record: dict | None, line: str = "") -> tuple[str, pd.DataFrame]:
    """(markdown above the table, the table): the reference run's rows best first with its label and notes;
    without a file, `line` and the seed's table (its SVM row first)."""
    if record is None:
        seed = pd.DataFrame([{**r, "Test Accuracy": f"{r['Test Accuracy']:.2%}",
                              "Trainable Params": f"{r['Trainable Params']:,}" if "Trainable Params" in r else ""}
                             for r in SEED_ROWS])
        return f"{line or reference.missing_line('transfer')}. Until then, the seed's table (full CIFAR-100):", seed
    notes = " ".join(record.get("notes", []))
    progress = record.get("progress")
    left = (f" The other {progress['total'] - progress['done']} rows are still training (the same command "
            f"continues them); the seed's table is below for the rows not shown yet." if progress else "")
    text = (f"**Table: {label(record)}**, `{record['command']}`; green bars in the chart above. The seed's SVM row: "
            f"{SEED_SVM_ACC:.1%}." + (f" {notes}" if notes else "") + left)
    return text, results_table(record["table"])
