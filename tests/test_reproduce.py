"""`python -m labs reproduce`: every stage end to end (dry run), one results schema, RESULTS.md from results/."""

import copy
import json
import re

import pytest

from labs.__main__ import main
from labs.core.catalog import is_available
from labs.core.errors import LabsError
from labs.reproduce import report, results
from labs.reproduce.run import reproduce
from labs.reproduce.stages import STAGES


@pytest.fixture(scope="module")
def dry(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    records = list(reproduce(dry=True, out=out, threads=1))
    return out, records


@pytest.mark.slow
def test_dry_run_runs_every_stage_end_to_end(dry):
    out, records = dry
    written = {r["stage"] for r in records if r["kind"] == "stage_done"}
    expected = set(STAGES) - ({"autoencoder"} if not is_available("cifar10") else set())
    assert written == expected
    assert records[-1]["kind"] == "done"
    for name in written:
        record = results.read(name, out / "results")
        assert record["dry_run"] is True and record["stage"] == name
        assert record["table"] and record["runs"] and record["hardware"]["cores"] >= 1
        assert record["command"] == f"python -m labs reproduce --stage {name} --dry-run"
    assert not (out / "checkpoints" / ".state" / "cnn").exists()  # finished stages leave no resume state behind
    # the stages that train write their checkpoints where the later stages read them
    assert (out / "checkpoints" / "resnet77_cifar10.json").exists()
    transfer = results.read("transfer", out / "results")
    assert len(transfer["table"]) == 1 + 6 + 1  # SVM, 3 strategies x 2 optimisers, from scratch
    assert {r["Optimizer"] for r in transfer["table"][1:7]} == {"Adam", "SGD"}
    odin = results.read("odin", out / "results")  # ODIN on both epsilon scales, the seed's first
    odin_rows = [r for r in odin["table"] if r["Detector"] == "ODIN"]
    assert odin["table"][:len(odin_rows)] == odin_rows and "paper's" not in odin_rows[0]["Setting"]
    if len(odin_rows) == 2:
        assert "paper's ε scale" in odin_rows[1]["Setting"]
    else:  # both scales chose ε = 0: one untagged row, and the note says so
        assert len(odin_rows) == 1 and "ε=0" in odin_rows[0]["Setting"]
        assert "on both ε scales" in odin["notes"][0]
    assert len(odin["table"]) - len(odin_rows) == len({r["Detector"] for r in odin["table"]}) - 1  # others once
    cnn = results.read("cnn", out / "results")
    assert [(r["Architecture"], r["Size"]) for r in cnn["table"]] == [
        (a, s) for s in ("Small", "Medium", "Large") for a in ("PlainCNN", "ResNet")]


@pytest.mark.slow
def test_results_md_shows_every_table_of_results(dry):
    out, _ = dry
    text = (out / "RESULTS.md").read_text()
    assert text == report.render(results.read_all(out / "results"))
    for name, record in results.read_all(out / "results").items():
        assert report.table(record["table"]) in text, name
        assert f"## {name}:" in text and "dry run: not a result" in text


def test_committed_results_validate_and_match_results_md():
    found = results.read_all(results.RESULTS_DIR)  # validates every file
    md = results.ROOT / "RESULTS.md"
    if not found:
        assert not md.exists() or "Not produced yet" in md.read_text()
        return
    partials = results.read_partials(results.ROOT / "checkpoints")  # a stage still running
    assert md.read_text() == report.render(found, partials), "RESULTS.md is stale: python -m labs reproduce --report"
    for record in found.values():
        assert not record["dry_run"], f"{record['stage']}: a dry run must not be committed as a result"


def _valid() -> dict:
    return {"schema": 1, "stage": "mlp", "title": "t", "config": {}, "seed": 0,
            "runs": [{"name": "a", "curves": [], "final": {}}], "table": [{"A": 1}], "seed_table": [],
            "notes": [], "command": "c", "hardware": {}, "compute_seconds": 1.0, "commit": "x", "date": "d",
            "dry_run": False, "checkpoints": []}


@pytest.mark.parametrize("damage, message", [
    (lambda r: r.pop("table"), "missing field 'table'"),
    (lambda r: r.update(seed="0"), "field 'seed' should be int"),
    (lambda r: r.update(dry_run=1), "field 'dry_run' should be bool"),
    (lambda r: r.update(schema=99), "schema 99"),
    (lambda r: r["runs"].append({"name": "b"}), "run 1 lacks"),
    (lambda r: r["table"].append({"B": 2}), "same columns"),
])
def test_schema_rejects_a_damaged_file(damage, message):
    results.validate(_valid())
    record = copy.deepcopy(_valid())
    damage(record)
    with pytest.raises(LabsError, match=message):
        results.validate(record)


def test_write_cleans_nan_and_read_round_trips(tmp_path):
    record = _valid()
    record["table"] = [{"A": float("nan")}]
    path = results.write(record, tmp_path)
    assert json.loads(path.read_text())["table"] == [{"A": None}]
    assert results.read("mlp", tmp_path)["table"] == [{"A": None}]
    path.write_text("{" * 5000)  # deeply nested / broken JSON: a clear message, not a RecursionError
    with pytest.raises(LabsError, match="cannot be read"):
        results.read("mlp", tmp_path)


def test_report_formats_cells_by_column():
    assert report.cell("Final test accuracy", 0.9125) == "91.25%"
    assert report.cell("Parameters", 162644) == "162,644"
    assert report.cell("Seconds", 12.6) == "13 s" and report.cell("Final train loss", 0.123456) == "0.1235"
    assert report.cell("AUROC", 0.81234) == "0.812"
    assert report.cell("x", None) == "-" and report.cell("x", float("nan")) == "-"


def test_hardware_says_whether_the_cpu_trained_in_bf16(monkeypatch):
    """amp="auto" trains conv nets in bf16 on a CPU with native bf16, in fp32 elsewhere: the results file says
    which (files written before the field existed keep their old words)."""
    from labs.core import hardware

    cpu = {"device": "cpu", "cpu": "AMD EPYC", "cores": 2, "threads": 2, "torch": "2"}
    assert results.describe(cpu) == "2-core AMD EPYC CPU (2 threads)"
    assert results.describe({**cpu, "cpu_bf16": True}) == "2-core AMD EPYC CPU with native bf16 (2 threads)"
    assert results.describe({**cpu, "cpu_bf16": False}) == "2-core AMD EPYC CPU without native bf16 (2 threads)"
    for native in (True, False):
        monkeypatch.setattr(hardware, "cpu_has_bf16", lambda native=native: native)
        assert results.hardware("cpu")["cpu_bf16"] is native


def test_cli_reproduce_one_stage_and_bad_input(tmp_path, capsys):
    assert main(["reproduce", "--stage", "reference", "--dry-run", "--out", str(tmp_path), "--threads", "1"]) == 0
    assert (tmp_path / "results" / "reference.json").exists() and (tmp_path / "RESULTS.md").exists()
    said = capsys.readouterr().out
    progress = r"ResNet\[7,7\]: epoch 1/1, test accuracy [\d.]+% \(\d+ s; (less than 1 s|about \d+ s) left\)"
    assert re.search(progress, said)
    assert main(["reproduce", "--status", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "mlp: not started"
    assert any(line.startswith("reference: produced (results/reference.json, ") and
               line.endswith("; a dry run, not a result)") for line in said)
    assert len(said) == len(STAGES)
    # --missing: a produced stage is not run again, the next one listed is
    before = (tmp_path / "results" / "reference.json").read_text()
    assert main(["reproduce", "--stage", "reference", "--stage", "mlp", "--missing", "--dry-run", "--out",
                 str(tmp_path), "--threads", "1"]) == 0
    said = capsys.readouterr().out
    assert "skipped: reference: results/reference.json exists" in said and "== mlp:" in said
    assert "== reference:" not in said and (tmp_path / "results" / "reference.json").read_text() == before
    assert (tmp_path / "results" / "mlp.json").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--stage", "nonsense"])
    assert exit_.value.code == 2
    assert main(["reproduce", "--stage", "transfer", "--dry-run", "--out", str(tmp_path / "empty")]) == 2
    assert "run `python -m labs reproduce --stage reference` first" in capsys.readouterr().err


@pytest.mark.slow
def test_odin_stage_keeps_each_finished_pass_and_a_rerun_skips_it(dry, tmp_path, monkeypatch):
    """The odin stage's scores live in memory: each (OOD set, ε scale) pass's summary is kept in the resume
    folder, so a process killed in the middle of the stage does not compute its finished passes again."""
    from labs.core import resume
    from labs.ood import experiment
    from labs.reproduce import stages_more
    from labs.reproduce.stages import Context

    out, _ = dry
    ctx = Context(dry=True, device=None, checkpoints=out / "checkpoints", threads=1)
    with resume.into(tmp_path / "state"):
        first = [r for r in stages_more.odin(ctx)]
    kept = sorted(p.name for p in (tmp_path / "state").glob("pass-*.json"))
    assert [k.rsplit("-", 1)[0] for k in kept] == ["pass-uniform-paper", "pass-uniform-seed"]

    def no_scores(*args, **kwargs):
        raise AssertionError("a finished pass was computed again")

    monkeypatch.setattr(experiment, "run", no_scores)
    with resume.into(tmp_path / "state"):
        again = [r for r in stages_more.odin(ctx)]
    assert again[-1] == first[-1]  # the same table, grid and seconds
    assert sum("done before" in r.get("text", "") for r in again) == 2
    from labs.reproduce.run import status

    (tmp_path / "checkpoints" / ".state").mkdir(parents=True)
    (tmp_path / "state").rename(tmp_path / "checkpoints" / ".state" / "odin")
    assert "odin: in progress (2 pass(es) finished: uniform-paper, uniform-seed)" in status(tmp_path)
    (tmp_path / "checkpoints" / ".state" / "odin").rename(tmp_path / "state")
    (tmp_path / "state" / kept[0]).unlink()  # a pass not kept is computed
    with resume.into(tmp_path / "state"), pytest.raises(AssertionError, match="computed again"):
        list(stages_more.odin(ctx))


def test_reproduce_keeps_no_speed_for_the_page_s_estimates(tmp_path, monkeypatch):
    """A stage's runs (background, hours, resumed, niced) do not calibrate the page's estimates (labs.core.eta)."""
    from labs.core import eta
    from labs.reproduce import stages

    def fake(ctx):
        eta.observe(15, 1500, 10)  # what a finished training run inside a stage does
        eta.observe_rate("mlp-mnist", 100, 10)
        yield {"kind": "progress", "text": "trained"}

    monkeypatch.setitem(stages.STAGES, "fake", ("A stage that trains", fake))
    monkeypatch.setenv("LABS_SPEED_FILE", str(tmp_path / "speed.json"))
    assert [r["kind"] for r in reproduce(["fake"], out=tmp_path)] == ["stage", "progress", "done"]
    assert not eta.calibrated("cpu") and eta.measured_rate("mlp-mnist") is None
    eta.observe(15, 1500, 10)  # outside a reproduction: kept
    assert eta.calibrated("cpu")


def test_status_reads_how_far_a_stage_in_progress_got(tmp_path, monkeypatch):
    """`reproduce --status` reads the resume states: finished runs, the epoch and step a running one reached."""
    import threading

    from labs.core import resume
    from labs.core.data import load_dataset
    from labs.core.engine import TrainConfig, fit, run_to_end, seed_everything
    from labs.core.models import build_model
    from labs.reproduce.run import status

    monkeypatch.setattr(resume, "MID_EPOCH_SECONDS", 0.0)
    data, cfg = load_dataset("digits"), TrainConfig(epochs=2, batch_size=64, threads=1, grad_norms=False)

    def model():
        seed_everything(0)
        return build_model("resnet", depth=[1, 1], widths=[8, 16], num_classes=10, in_channels=1, image_size=8)

    with resume.into(tmp_path / "checkpoints" / ".state" / "transfer"):
        run_to_end(fit(model(), data, cfg))  # one finished run
        stop = threading.Event()
        other = TrainConfig(epochs=2, batch_size=64, threads=1, grad_norms=False, lr=0.01)  # another run
        for rec in fit(model(), data, other, stop=stop):
            if rec["kind"] == "step" and rec["step"] == 30:  # 22 steps per epoch: 8 steps into the second
                stop.set()
    line = next(x for x in status(tmp_path) if x.startswith("transfer:"))
    assert line.startswith("transfer: in progress (1 run(s) finished; a run at epoch 1/2 + 8 steps done, last test "
                           "accuracy ") and re.search(r"h of compute so far, (less than 1 s|about \d+ s) left at its "
                                                      r"recent pace\)$", line)


def test_odin_rows_are_distinct_and_the_notes_read_them():
    """A paper-scale pass that chose ε = 0 repeats the seed-scale pass's row: it is kept once, and the note
    says that both scales chose no perturbation; otherwise both ODIN rows and their AUROCs are named."""
    from labs.reproduce.stages_more import _distinct, odin_notes

    def row(ood, det, setting, auroc):
        return {"OOD set": ood, "Detector": det, "Setting": setting, "AUROC": auroc}

    same = {"detector": "ODIN", "setting": "T=1, ε=0"}
    assert _distinct([same, {"detector": "Max softmax", "setting": "-"}, dict(same)]) == [
        same, {"detector": "Max softmax", "setting": "-"}]
    table = [row("near", "ODIN", "T=1, ε=0", 0.805), row("near", "Max softmax", "-", 0.805),
             row("near", "Energy score", "T=1", 0.789),
             row("far", "ODIN", "T=100, ε=0.004, seed's ε scale", 0.942),
             row("far", "ODIN", "T=100, ε=0.002, paper's ε scale (pixel units)", 0.940),
             row("far", "Max softmax", "-", 0.904), row("far", "Autoencoder", "-", 0.944)]
    near, far = odin_notes(table)
    assert near.startswith("near: ODIN AUROC T=1, ε=0: 0.805, against max softmax 0.805 (on both ε scales")
    assert near.endswith("so ODIN is max softmax itself); best ODIN = Max softmax (0.805).")
    assert far == ("far: ODIN AUROC T=100, ε=0.004, seed's ε scale: 0.942; T=100, ε=0.002, paper's ε scale "
                   "(pixel units): 0.940, against max softmax 0.904; best Autoencoder (0.944).")
