"""RESULTS.md: every stage's table next to the seed's, with its command, hardware, compute time and commit."""

from __future__ import annotations

from pathlib import Path

from labs.core.reference import cell
from labs.reproduce import results, targets

HEADER = """# Reference results

Every number here was produced by `python -m labs reproduce` (the project's own engine and recipes, the real
data sets) and is read from the stage's file in `results/` (JSON, one schema: `labs/reproduce/results.py`).
A stage is resumable: rerunning its command continues where it stopped. This file is regenerated after
every stage (`python -m labs reproduce --report` rewrites it from `results/` alone). Compute time is the runs'
wall time; stages produced on the development CPU ran in the background beside other work, at low priority,
so their times are upper bounds (the benchmarks in `bench/` time an idle machine).
"""


def table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(c, r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(found: dict[str, dict], partials: dict[str, dict] | None = None) -> str:
    """The whole file from the produced stages' records (`found`) and, for a stage still running, the record of
    the rows it has finished so far (`partials`, from its resume folder), marked as in progress."""
    from labs.reproduce.run import command_for
    from labs.reproduce.stages import STAGES

    partials = {k: v for k, v in (partials or {}).items() if k not in found}
    out = [HEADER, "| Stage | Produced on | Compute time | Date | Commit |", "|---|---|---|---|---|"]
    for name, (title, _) in STAGES.items():
        r = found.get(name) or partials.get(name)
        if r is None:
            out.append(f"| {name} | not produced yet: `{command_for(name, False)}` | - | - | - |")
        else:
            dry = " (dry run: not a result)" if r["dry_run"] else ""
            left = f" (in progress: {_progress(r)})" if name in partials else ""
            out.append(f"| {name}{dry}{left} | {results.describe(r['hardware'])} | {duration(r['compute_seconds'])}"
                       f" | {r['date']} | {r['commit']} |")
    out += ["\n## What the reference runs set out to show\n", table(targets.check(found, partials))]
    for name, (title, _) in STAGES.items():
        out.append(f"\n## {name}: {title}\n")
        if name in partials:
            r = partials[name]
            out.append(f"In progress: {_progress(r)}, written {r['date']}. Rerunning `{command_for(name, False)}` "
                       f"continues it; the table below grows as rows finish.\n")
            out.extend(_section(r))
        elif name in found:
            out.extend(_section(found[name]))
        else:
            out.append(f"Not produced yet. Run `{command_for(name, False)}`.")
    return "\n".join(out) + "\n"


def _progress(record: dict) -> str:
    """'3 of 8 rows so far'."""
    return f"{record['progress']['done']} of {record['progress']['total']} rows so far"


def _section(r: dict) -> list[str]:
    """A stage's command line, table, the seed's table, notes and learning curves."""
    out = [f"`{r['command']}` on {results.describe(r['hardware'])}, {duration(r['compute_seconds'])} of "
           f"compute, {r['date']}, commit {r['commit']}.\n", table(r["table"])]
    if r["seed_table"]:
        out.append("\nThe seed's:\n")
        out.append(table(r["seed_table"]))
    if r["notes"]:
        out.append("")
        out.extend(f"- {n}" for n in r["notes"])
    curves = [(run["name"], targets.per_epoch(run["curves"])) for run in r["runs"]]
    if any(points for _, points in curves):
        out.append("\nTest accuracy after epoch N (learning curves; every epoch in the results file):\n")
        out.extend(f"- {name}: " + " · ".join(f"{e}: {acc:.2%}" for e, acc in points)
                   for name, points in curves if points)
    return out


def write(res_dir: Path, path: Path, checkpoints: Path | None = None) -> Path:
    """RESULTS.md from results/ and the partial records of the stages in progress (checkpoints/.state/)."""
    text = render(results.read_all(res_dir), results.read_partials(checkpoints))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
