"""Tables and text of the transfer lab: the results table (a DataFrame), the Phase 1 summary and the note
next to the results (the budget, why it lands below the seed, stopped runs). No torch here."""

from __future__ import annotations

import pandas as pd

from labs.transfer.config import COLUMNS, SEED_SVM_ACC, STATUS, budget_label

NOT_FINAL = "—"  # Test Accuracy of a run that did not finish: a mid-run number is not a final accuracy

# Next to the results, always: why a short budget lands below the seed, and below Phase 1's SVM.
BUDGET_NOTE = f"""**Why these numbers are lower than the seed's.** The seed fine-tuned on all 50,000 CIFAR-100
images for many epochs (47.9-53.3%). The quick preset uses 5,000 images (50 per class) for 3 epochs: the new
100-class head and the unfrozen layers see each class ~150 times, far from converged, so accuracies land far
below the seed's; compare the strategies with each other, not with the seed. **Why fine-tuning can land below
Phase 1's SVM:** the SVM is fitted to convergence on 10,000 images of fixed features, while fine-tuning has not
converged on its 5,000. Measured on CIFAR-100 with the quick preset, from the earlier 8-epoch reference network
(84.2% on CIFAR-10): fine-tuning 11.6-17.2%, the SVM 20.7%.
With the full preset (all images, 15 epochs; hours on a CPU) fine-tuning overtakes it, as in the seed (47.9-53.3%
vs {SEED_SVM_ACC:.1%})."""


def results_table(rows: list[dict], percent: bool = True, status: bool = False) -> pd.DataFrame:
    """The seed's columns, best first; Test Accuracy as '53.30%' strings when percent, else fractions.

    status=True adds the Status column (rows without one are "finished") and puts runs that did not finish
    (Test Accuracy None, shown as NOT_FINAL) after the finished ones."""
    columns = COLUMNS + ([STATUS] if status else [])
    recs = [{**{k: r.get(k) for k in COLUMNS}, **({STATUS: r.get(STATUS, "finished")} if status else {})}
            for r in rows]
    df = pd.DataFrame(recs, columns=columns)
    done = df["Test Accuracy"].notna()
    df = pd.concat([df[done].sort_values("Test Accuracy", ascending=False, kind="stable"), df[~done]])
    df = df.reset_index(drop=True)
    if percent:  # display strings: '53.30%', '162,644', '5,043.1'
        df["Test Accuracy"] = [NOT_FINAL if pd.isna(v) else f"{v:.2%}" for v in df["Test Accuracy"]]
        df["Trainable Params"] = [f"{int(v):,}" for v in df["Trainable Params"]]
        df["Time (s)"] = [v if pd.isna(v) else f"{float(v):,.1f}" for v in df["Time (s)"]]
    else:
        df["Time (s)"] = [v if pd.isna(v) else round(float(v), 1) for v in df["Time (s)"]]
    return df


def markdown_table(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in rec) + " |")
    return "\n".join(lines)


def svm_summary(r: dict) -> str:
    """Phase 1's result (run_svm's "done" record) next to the seed's and chance, as a markdown table."""
    return (f"| | test accuracy |\n|---|---|\n| **this run** (C={r['c']:g}, {r['n_train']:,} train / "
            f"{r['n_test']:,} test) | **{r['test_acc']:.2%}** |\n| seed (full CIFAR-100) | {SEED_SVM_ACC:.1%} |\n"
            f"| chance | {r['chance']:.1%} |\n\nFeature extraction {r['extract_seconds']:.1f} s · LinearSVC fit "
            f"{r['fit_seconds']:.1f} s · {r['feature_dim']} standardised features · train accuracy "
            f"{r['train_acc']:.1%}")


def results_note(live=None) -> str:
    """The text next to the results: this grid's budget, BUDGET_NOTE, and which runs are not in the chart
    (stopped or still running). `live`: the handler's LiveCurves, None before any run."""
    lines = []
    if live is not None and live.runs:
        epochs = next((s["epochs"] for s in live.state.values()), None)
        if epochs is not None:
            lines.append(f"**This grid:** {budget_label(live.n_train, epochs).removeprefix('ours: ')} "
                         f"({live.n_test:,} test images), {len(live.runs)} run(s).")
        stopped = live.unfinished("stopped")
        if stopped:
            lines.append("**Not in the chart** (stopped before the end, no final accuracy): "
                         + "; ".join(f"{k}, {live.status_text(k)}" for k in stopped) + ".")
        running = live.unfinished("running")
        if running:
            lines.append("Running: " + "; ".join(f"{k}, {live.status_text(k)}" for k in running)
                         + " (drawn when it finishes).")
    return "\n\n".join(lines + [BUDGET_NOTE])
