"""Reference results: one JSON file per stage under results/, one schema, and where they came from.

A results file holds what RESULTS.md and the tabs show: the stage's configuration and
seed, per-run curves (the engine's eval records), the final table rows, the seed's rows
next to them where the seed published them, the exact command, the hardware, the
compute time, the commit and the date. `validate` checks a file against the schema.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
from pathlib import Path

from labs.core.errors import LabsError

SCHEMA_VERSION = 1
ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "results"

# field -> (type, required): the one schema every results file follows
SCHEMA = {
    "schema": (int, True),
    "stage": (str, True),
    "title": (str, True),
    "config": (dict, True),         # every setting of the stage (per part where it has parts)
    "seed": (int, True),
    "runs": (list, True),           # {"name", "curves": [eval records], "final": {...}}
    "table": (list, True),          # rows (dicts, same keys) as RESULTS.md shows them
    "seed_table": (list, True),     # the seed's rows for the same table ([] where it published none)
    "notes": (list, True),          # sentences RESULTS.md prints under the table (what the numbers show)
    "command": (str, True),
    "hardware": (dict, True),
    "compute_seconds": (float, True),  # sum of the runs' wall times, across resumed sessions
    "commit": (str, True),
    "date": (str, True),
    "dry_run": (bool, True),
    "checkpoints": (list, True),    # checkpoint names the stage wrote (checkpoints/NAME.json)
    "progress": (dict, False),      # a partial record only: {"done": rows finished, "total": rows in all}
}
PARTIAL = "partial.json"  # in a stage's resume folder (checkpoints/.state/<stage>/): its finished rows so far
RUN_FIELDS = ("name", "curves", "final")


def results_dir() -> Path:
    """$LABS_RESULTS_DIR, else the repository's results/."""
    env = os.environ.get("LABS_RESULTS_DIR")
    return Path(env).expanduser() if env else RESULTS_DIR


def hardware(device: str = "cpu") -> dict:
    """What produced a result: CPU model and cores, threads, GPU, torch version."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"device": device, "cpu": cpu, "cores": os.cpu_count() or 1, "threads": torch.get_num_threads(),
            "torch": torch.__version__}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    else:  # the engine's amp="auto" trains conv nets in bf16 there, in fp32 elsewhere: results differ slightly
        from labs.core.hardware import cpu_has_bf16

        info["cpu_bf16"] = cpu_has_bf16()
    return info


def describe(hw: dict) -> str:
    """'NVIDIA H200 (GPU)' or '2-core AMD EPYC CPU with native bf16 (2 threads)' (files written before the
    bf16 field existed say neither 'with' nor 'without')."""
    if hw.get("gpu"):
        return f"{hw['gpu']} (GPU)"
    bf16 = {True: " with native bf16", False: " without native bf16"}.get(hw.get("cpu_bf16"), "")
    return f"{hw['cores']}-core {hw['cpu']} CPU{bf16} ({hw['threads']} threads)"


def commit() -> str:
    """The repository's commit, '+changes' when the tree differs from it; 'unknown' outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("+changes" if dirty else "")) if sha else "unknown"


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _clean(value):
    """JSON-safe: NaN/inf become None, tuples lists, numpy/torch scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def validate(record: dict, source: str = "results") -> dict:
    """The record if it follows SCHEMA, else a LabsError naming the first problem."""
    if not isinstance(record, dict):
        raise LabsError(f"{source}: expected a JSON object")
    for key, (kind, required) in SCHEMA.items():
        if key not in record:
            if required:
                raise LabsError(f"{source}: missing field {key!r}")
            continue
        ok = isinstance(record[key], kind) or (kind is float and isinstance(record[key], int))
        if not ok or (kind is int and isinstance(record[key], bool)):
            raise LabsError(f"{source}: field {key!r} should be {kind.__name__}, got {type(record[key]).__name__}")
    if record["schema"] != SCHEMA_VERSION:
        raise LabsError(f"{source}: schema {record['schema']}, this code reads {SCHEMA_VERSION}")
    for i, run in enumerate(record["runs"]):
        if not isinstance(run, dict) or any(f not in run for f in RUN_FIELDS):
            raise LabsError(f"{source}: run {i} lacks one of {RUN_FIELDS}")
    keys = [tuple(row) for row in record["table"]]
    if not all(isinstance(row, dict) for row in record["table"]) or len(set(keys)) > 1:
        raise LabsError(f"{source}: table rows must be objects with the same columns")
    return record


def write(record: dict, folder: Path | None = None) -> Path:
    """Validate and write results/<stage>.json atomically."""
    record = validate(_clean(record), record.get("stage", "results"))
    return write_json(record, Path(folder or results_dir()) / f"{record['stage']}.json")


def write_json(record: dict, path: Path) -> Path:
    """Write `record` as JSON to `path` atomically (a killed process leaves the old file or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def partial_path(stage: str, checkpoints: Path | None = None) -> Path:
    from labs.core.ckpt_labels import checkpoint_folder  # no torch: the tabs read partial records at build

    return Path(checkpoints or checkpoint_folder()) / ".state" / stage / PARTIAL


def write_partial(record: dict, checkpoints: Path | None = None) -> Path:
    """A stage still running: the record of the rows it has finished so far (same schema, plus "progress"),
    kept with its resume state, which the finished stage removes."""
    record = validate(_clean(record), record.get("stage", "results"))
    if not {"done", "total"} <= set(record.get("progress", {})):
        raise LabsError(f"{record['stage']}: a partial record needs progress {{'done', 'total'}}")
    return write_json(record, partial_path(record["stage"], checkpoints))


def read_partial(stage: str, checkpoints: Path | None = None) -> dict | None:
    """A stage's validated partial record (rows finished so far), or None when there is none."""
    path = partial_path(stage, checkpoints)
    if not path.exists():
        return None
    record = _load(path, stage)
    if "progress" not in record:
        raise LabsError(f"{stage}: {PARTIAL} has no 'progress' field")
    return record


def read_partials(checkpoints: Path | None = None) -> dict[str, dict]:
    """{stage: partial record} for the stages in progress; an unreadable partial file is left out (the stage
    rewrites it after its next row). report.render ignores the partial of a stage that has its results file."""
    from labs.reproduce.stages import STAGES

    found = {}
    for name in STAGES:
        try:
            record = read_partial(name, checkpoints)
        except LabsError:
            record = None
        if record is not None:
            found[name] = record
    return found


def read(stage: str, folder: Path | None = None) -> dict | None:
    """A stage's validated results, or None when it has not been produced."""
    path = Path(folder or results_dir()) / f"{stage}.json"
    if not path.exists():
        return None
    return _load(path, stage)


def _load(path: Path, stage: str) -> dict:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as err:
        raise LabsError(f"{path.name} cannot be read ({type(err).__name__}); rerun "
                        f"`python -m labs reproduce --stage {stage}`") from None
    return validate(record, path.name)


def read_all(folder: Path | None = None) -> dict[str, dict]:
    from labs.reproduce.stages import STAGES

    found = {}
    for name in STAGES:
        record = read(name, folder)
        if record is not None:
            found[name] = record
    return found
