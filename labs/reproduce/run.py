"""Run stages: each inside labs.core.resume (a rerun continues where the last one stopped), its results file
written when it finishes (labs/reproduce/results.py), RESULTS.md regenerated after every stage."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from labs.core import eta, resume
from labs.core.errors import LabsError
from labs.reproduce import report, results
from labs.reproduce.stages import STAGES, Context


def folders(out: str | Path | None, dry: bool) -> tuple[Path, Path, Path]:
    """(results, checkpoints, RESULTS.md) for a run: the repository's unless `out` is given; a dry run never
    writes into the repository (a new temporary folder when `out` is None)."""
    from labs.core.checkpoints import checkpoint_dir

    if out is None and dry:
        out = tempfile.mkdtemp(prefix="labs-reproduce-dry-")
    if out is None:
        return results.results_dir(), checkpoint_dir(), results.ROOT / "RESULTS.md"
    out = Path(out)
    return out / "results", out / "checkpoints", out / "RESULTS.md"


def command_for(stage: str, dry: bool) -> str:
    return f"python -m labs reproduce --stage {stage}" + (" --dry-run" if dry else "")


def reproduce(stages: list[str] | None = None, dry: bool = False, device: str | None = None, threads: int = 0,
              out: str | Path | None = None, stop: threading.Event | None = None, missing: bool = False):
    """Run `stages` (default: all, in order). Yields {"kind": "stage", "stage", "title"} when one starts, its
    {"kind": "progress", "text"} records, {"kind": "stage_done", "stage", "path", "table"} when it is written,
    and finally {"kind": "done", "results", "report"}. missing=True: a stage whose results file exists is not
    run again ({"kind": "skipped", "reason"}), so one command carries a reproduction across sessions."""
    stages = list(stages or STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise LabsError(f"unknown stage {unknown[0]!r}; choose from: {', '.join(STAGES)}")
    res_dir, ckpt_dir, report_path = folders(out, dry)
    ctx = Context(dry=dry, device=device, checkpoints=ckpt_dir, threads=threads)
    if threads:
        from labs.core.devices import set_threads
        set_threads(threads)
    for name in stages:
        title, stage = STAGES[name]
        if missing and (res_dir / f"{name}.json").exists():
            yield {"kind": "skipped", "reason": f"{name}: {res_dir.name}/{name}.json exists (delete it, or run "
                                                f"without --missing, to produce it again)"}
            continue
        yield {"kind": "stage", "stage": name, "title": title}
        state = ckpt_dir / ".state" / name  # per-epoch resume state: model weights, kept with the checkpoints
        result = None
        with resume.into(state), eta.unrecorded():  # a background job's speed is not the page's (eta)
            for rec in stage(ctx):
                if stop is not None and stop.is_set():
                    return
                if rec["kind"] == "result":
                    result = rec
                elif rec["kind"] == "partial":  # rows finished so far: the tabs and RESULTS.md show them
                    results.write_partial(_record(name, title, rec, dry, device), ckpt_dir)
                    report.write(res_dir, report_path, ckpt_dir)
                    done, total = rec["progress"]["done"], rec["progress"]["total"]
                    yield {"kind": "progress", "text": f"{done} of {total} rows so far in "
                                                       f"{results.PARTIAL} and {report_path.name}"}
                else:
                    yield rec
        if result is None:  # skipped (a dry run without the data it needs): nothing to write
            continue
        record = _record(name, title, result, dry, device)
        path = results.write(record, res_dir)
        shutil.rmtree(state, ignore_errors=True)  # finished: its per-epoch states (and partial record) go
        report.write(res_dir, report_path, ckpt_dir)
        yield {"kind": "stage_done", "stage": name, "path": str(path), "table": record["table"]}
    yield {"kind": "done", "results": str(res_dir), "report": str(report_path)}


def _record(name: str, title: str, rec: dict, dry: bool, device: str | None) -> dict:
    """A stage's "result" (or "partial") record as its results file holds it: what the stage measured, plus
    the schema, command, hardware, commit and date."""
    fields = {k: v for k, v in rec.items() if k != "kind"}
    return {"schema": results.SCHEMA_VERSION, "stage": name, "title": title, **fields,
            "command": command_for(name, dry), "hardware": results.hardware(_device_name(device)),
            "commit": results.commit(), "date": results.today(), "dry_run": dry}


def status(out: str | Path | None = None) -> list[str]:
    """One line per stage: produced (when, where), in progress (from its resume states: runs finished, the
    epoch and step reached, the last test accuracy, compute so far; the odin stage's finished passes) or not
    started. Reads files only."""
    res_dir, ckpt_dir, _ = folders(out, False)
    lines = []
    for name in STAGES:
        record = results.read(name, res_dir)
        if record is not None:
            dry = "; a dry run, not a result" if record["dry_run"] else ""
            lines.append(f"{name}: produced ({res_dir.name}/{name}.json, {record['date']}, "
                         f"{results.describe(record['hardware'])}{dry})")
            continue
        states = [resume.load(p, mmap=True) for p in sorted((ckpt_dir / ".state" / name).glob("fit-*.pt"))]
        states = [st for st in states if st is not None]
        passes = sorted((ckpt_dir / ".state" / name).glob("pass-*.json"))  # the odin stage's finished passes
        if not states and not passes:
            lines.append(f"{name}: not started")
            continue
        done = sum(1 for st in states if "end" in st)
        running = [st for st in states if "end" not in st]
        parts = [f"{done} run(s) finished"] if done else []
        try:
            partial = results.read_partial(name, ckpt_dir)
        except LabsError as err:
            partial, parts = None, parts + [str(err)]
        if partial is not None:
            parts.append(f"{partial['progress']['done']} of {partial['progress']['total']} table rows in "
                         f"{results.PARTIAL}")
        if passes:
            names = ", ".join(p.name.rsplit("-", 1)[0].removeprefix("pass-") for p in passes)  # pass-SET-SCALE-key
            parts.append(f"{len(passes)} pass(es) finished: {names}")
        for st in running:
            total = f"/{st['epochs']}" if "epochs" in st else ""  # states before this field: no total
            at = f"epoch {st['epoch']}{total}" + (f" + {st['i']} steps" if "i" in st else "")
            accs = [h["test_acc"] for h in st["history"] if "test_acc" in h]
            left = ""
            if "total_steps" in st:  # at the pace of its last epochs (epoch units; the current one's steps too)
                now = st["step"] * st["epochs"] / max(st["total_steps"], 1)
                points = [(h["epoch"], h["seconds"]) for h in st["history"]] + [(now, st["seconds"])]
                seconds = eta.recent_seconds_left(points, st["epochs"])
                left = f", {eta.format_left(seconds)} at its recent pace"
            parts.append(f"a run at {at} done" + (f", last test accuracy {accs[-1]:.2%}" if accs else "")
                         + f", {st['seconds'] / 3600:.1f} h of compute so far{left}")
        lines.append(f"{name}: in progress ({'; '.join(parts)})")
    return lines


def _device_name(device: str | None) -> str:
    from labs.core.devices import pick_device

    return str(pick_device(device))
