"""A stage still running shows the rows it has finished (checkpoints/.state/<stage>/partial.json): the transfer
stage writes one after its SVM row and after every fine-tuning run, RESULTS.md and `--status` show it marked as
in progress, a rerun continues, and the finished stage's results file replaces it."""

import json
import threading

import pytest

from labs.core import reference as core_ref
from labs.core.errors import LabsError
from labs.reproduce import report, results
from labs.reproduce.run import reproduce, status

HW = {"device": "cpu", "cpu": "AMD EPYC 7763", "cores": 2, "threads": 2, "torch": "2.x"}
SVM_ROW = {"Strategy": "Linear SVM on frozen features", "Optimizer": "LinearSVC (C=1)", "Test Accuracy": 0.21,
           "Trainable Params": 3300, "Time (s)": 50.0}


def test_transfer_stage_shows_its_rows_so_far_then_finishes(tmp_path, monkeypatch):
    list(reproduce(["reference"], dry=True, out=tmp_path, threads=1))  # the source the transfer stage needs
    stop = threading.Event()
    said = []
    for rec in reproduce(["transfer"], dry=True, out=tmp_path, threads=1, stop=stop):
        said.append(rec.get("text", ""))
        if "2 of 8 rows so far" in rec.get("text", ""):
            stop.set()  # killed after the first fine-tuning run, as a session's end would
    assert any(t.startswith("1 of 8 rows so far in partial.json") for t in said)  # the SVM row first
    assert not (tmp_path / "results" / "transfer.json").exists()

    partial = results.read_partial("transfer", tmp_path / "checkpoints")
    assert partial["progress"] == {"done": 2, "total": 8} and partial["dry_run"] is True
    assert [r["Strategy"] for r in partial["table"]] == ["Linear SVM on frozen features", "Freeze input only"]
    assert [r["name"] for r in partial["runs"]] == ["Adam / Freeze input only"] and partial["runs"][0]["curves"]
    assert partial["notes"][0].startswith("Best fine-tuning row: Freeze input only with Adam")

    md = (tmp_path / "RESULTS.md").read_text()
    found = results.read_all(tmp_path / "results")
    assert md == report.render(found, results.read_partials(tmp_path / "checkpoints"))
    assert "| transfer (dry run: not a result) (in progress: 2 of 8 rows so far) |" in md
    assert "In progress: 2 of 8 rows so far" in md and report.table(partial["table"]) in md
    targets = {line.split(" | ")[0].lstrip("| "): line for line in md.splitlines() if "| transfer |" in line}
    assert all("so far (in progress) (dry run)" in line for line in targets.values()), targets
    line = next(s for s in status(tmp_path) if s.startswith("transfer:"))
    assert line.startswith("transfer: in progress (1 run(s) finished; 2 of 8 table rows in partial.json")

    monkeypatch.setenv("LABS_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    from labs.transfer import reference

    record, _ = reference.load()
    assert reference.label(record).startswith("reference run in progress, 2 of 8 rows so far (")

    rest = [r for r in reproduce(["transfer"], dry=True, out=tmp_path, threads=1)]  # a rerun continues
    assert rest[-1]["kind"] == "done" and any(r["kind"] == "stage_done" for r in rest)
    assert any(r.get("text", "").startswith("SVM on frozen features: done before (svm-") for r in rest)
    final = results.read("transfer", tmp_path / "results")
    assert len(final["table"]) == 8 and final["table"][:2] == partial["table"]  # the SVM and finished run kept
    curves = [json.dumps(run["curves"]) for run in final["runs"]]
    assert len(set(curves)) == 7  # each run trained (not one strategy's finished state replayed for another)
    assert results.read_partial("transfer", tmp_path / "checkpoints") is None  # removed with the resume state
    md = (tmp_path / "RESULTS.md").read_text()
    assert "In progress" not in md and "| transfer (dry run: not a result) |" in md


def _transfer_record() -> dict:
    """A finished transfer stage's record: the SVM, six fine-tuning rows at 50%, from scratch."""
    tuned = [{"Strategy": s, "Optimizer": o, "Test Accuracy": 0.5, "Trainable Params": 162180, "Time (s)": 100.0}
             for s in ("Freeze input only", "No freeze", "Freeze all early") for o in ("Adam", "SGD")]
    scratch = {"Strategy": "From scratch (no transfer)", "Optimizer": "Adam", "Test Accuracy": 0.31,
               "Trainable Params": 162644, "Time (s)": 90.0}
    return {"schema": results.SCHEMA_VERSION, "stage": "transfer", "title": "transfer",
            "config": {"dataset": "cifar100", "epochs": 15, "train_subset": 0}, "seed": 0, "runs": [],
            "table": [SVM_ROW] + tuned + [scratch], "seed_table": [], "notes": ["transfer note."],
            "command": "python -m labs reproduce --stage transfer", "hardware": HW, "compute_seconds": 1.0,
            "commit": "abc", "date": "2025-01-01 00:00 UTC", "dry_run": False, "checkpoints": []}


def test_the_transfer_tab_shows_the_rows_so_far_labelled_in_progress(tmp_path, monkeypatch):
    """While `reproduce --stage transfer` runs, its finished rows (checkpoints/.state/transfer/partial.json)
    are the tab's table and green bars, labelled as in progress; the other tabs never read a partial record."""
    from labs.transfer import reference
    from labs.transfer.figures import comparison_bars

    monkeypatch.setenv("LABS_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    full = _transfer_record()
    partial = {**full, "table": full["table"][:2], "progress": {"done": 2, "total": 8}}
    results.write_partial(partial, tmp_path)
    record, line = reference.load()
    assert line == "" and record["progress"] == {"done": 2, "total": 8}
    text, table = reference.view(record, line)
    head = ("reference run in progress, 2 of 8 rows so far (full data: 50,000 CIFAR-100 images, 15 epochs, "
            "2-core AMD EPYC 7763 CPU (2 threads))")
    assert head in text and "The other 6 rows are still training" in text
    assert list(table["Strategy"]) == ["Freeze input only", "Linear SVM on frozen features"]
    bars = comparison_bars([], reference.bars(record))
    assert [t.name for t in bars.data] == ["seed (full CIFAR-100, many epochs)", head]
    assert bars.data[1].y[0] == 0.5 and all(v is None for v in bars.data[1].y[1:])  # gaps until they finish
    assert core_ref.load("transfer") == (None, core_ref.missing_line("transfer"))  # partial=False: not shown
    results.write(full, tmp_path)  # the finished stage's file wins over a partial left behind
    record, _ = reference.load()
    assert "progress" not in record and len(record["table"]) == 8
    with pytest.raises(LabsError, match="needs progress"):
        results.write_partial(full, tmp_path)
