"""`python -m labs reproduce [--stage NAME ...] [--dry-run]`: the full-scale reference runs, resumable."""

from __future__ import annotations

import argparse
import time

from labs.reproduce.stages import STAGES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="train and evaluate everything the labs show at full scale: results/*.json, "
                                         "checkpoints/, RESULTS.md (resumable: rerun to continue)")
    p.add_argument("--stage", action="append", choices=list(STAGES), metavar="NAME",
                   help=f"one of {', '.join(STAGES)}; repeat for several (default: all, in this order)")
    p.add_argument("--dry-run", action="store_true",
                   help="every stage end to end on tiny data in seconds, into a temporary folder (or --out)")
    p.add_argument("--out", default=None, help="write results/, checkpoints/ and RESULTS.md under this folder "
                                              "instead of the repository")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    p.add_argument("--missing", action="store_true",
                   help="skip the stages whose results file exists (one command continues a reproduction across "
                        "sessions; the stages run in the order --stage lists them)")
    p.add_argument("--report", action="store_true",
                   help="only regenerate RESULTS.md from results/ (and a stage in progress: its rows so far)")
    p.add_argument("--status", action="store_true", help="only say, per stage, whether it is produced, in progress "
                                                         "(how far its resume states got) or not started")
    p.set_defaults(func=reproduce_command)


def reproduce_command(args) -> int:
    from labs.core.devices import pick_device
    from labs.reproduce import report
    from labs.reproduce.run import folders, reproduce

    if args.status:
        from labs.reproduce.run import status
        print("\n".join(status(args.out)))
        return 0
    if args.report:
        res_dir, ckpt_dir, path = folders(args.out, False)
        print(f"wrote {report.write(res_dir, path, ckpt_dir)}")
        return 0
    pick_device(args.device)  # a bad or absent device fails here, in one line
    t0 = time.perf_counter()
    for rec in reproduce(args.stage, dry=args.dry_run, device=args.device, threads=args.threads, out=args.out,
                         missing=args.missing):
        if rec["kind"] == "stage":
            print(f"== {rec['stage']}: {rec['title']}", flush=True)
        elif rec["kind"] == "skipped":
            print(f"  skipped: {rec['reason']}", flush=True)
        elif rec["kind"] == "progress":
            print(f"  {rec['text']}", flush=True)
        elif rec["kind"] == "stage_done":
            print(report.table(rec["table"]))
            print(f"wrote {rec['path']} ({time.perf_counter() - t0:.0f} s so far)", flush=True)
        elif rec["kind"] == "done":
            print(f"results in {rec['results']}; report {rec['report']}")
    return 0
