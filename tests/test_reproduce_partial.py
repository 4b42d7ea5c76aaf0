"""A stage still running shows the rows it has finished (checkpoints/.state/<stage>/partial.json): the transfer
stage writes one after its SVM row and after every fine-tuning run, RESULTS.md and `--status` show it marked as
in progress, a rerun continues, and the finished stage's results file replaces it."""

import json
import threading

from labs.reproduce import report, results
from labs.reproduce.run import reproduce, status


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
    assert md == report.render(found, results.read_partials(tmp_path / "checkpoints", skip=found))
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
