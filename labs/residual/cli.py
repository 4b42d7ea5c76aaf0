"""`python -m labs sweep resnet|mlp`: Lab 1's experiments headless, tables as CSV + markdown."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

from labs.core.errors import LabsError
from labs.residual.config import ARCHITECTURES, SIZES, estimate_sweep_seconds, mlp_config, sweep_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="Lab 1: `resnet` = PlainCNN vs ResNet at 3 sizes on CIFAR-10 (the seed's "
                                     "table); `mlp` = MLP-16 vs ResidualMLP-16 on MNIST")
    p.add_argument("which", choices=["resnet", "mlp"])
    p.add_argument("--preset", default="quick", help="quick (2-core CPU, minutes) | full (GPU reference schedule)")
    p.add_argument("--dataset", default=None, help="default cifar10 (resnet) / mnist (mlp); digits works offline")
    p.add_argument("--archs", default=None, help=f"comma list of {','.join(ARCHITECTURES)}")
    p.add_argument("--sizes", default=None, help=f"comma list of {','.join(SIZES)}")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--train-subset", type=int, default=None, help="train images (0 = all)")
    p.add_argument("--test-subset", type=int, default=None, help="test images (0 = all)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--depth", type=int, default=None, help="mlp: linear layers (default 16)")
    p.add_argument("--width", type=int, default=None, help="mlp: hidden units (default 128)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument("--out", default="runs", help="folder for the CSV, markdown and JSON results")
    p.add_argument("--dry-run", action="store_true", help="a few steps on digits, end to end, in seconds")
    p.set_defaults(func=sweep_command)


def _overrides(args, names) -> dict:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def sweep_command(args) -> int:
    from labs.residual import figures
    from labs.residual.experiment import run_mlp_comparison, run_sweep

    out = Path(args.out)
    if args.which == "resnet":
        over = _overrides(args, ["dataset", "epochs", "train_subset", "test_subset", "batch_size", "lr", "seed"])
        if args.archs:
            over["architectures"] = tuple(a.strip() for a in args.archs.split(","))
        if args.sizes:
            over["sizes"] = tuple(s.strip().capitalize() for s in args.sizes.split(","))
        if args.dry_run:
            over.update(dataset="digits", epochs=1, train_subset=256, test_subset=128, batch_size=64)
        cfg = sweep_config(args.preset, **over)
        print(f"PlainCNN vs ResNet on {cfg.dataset}: {cfg.architectures} x {cfg.sizes}, {cfg.epochs} epochs, "
              f"{cfg.train_subset or 'all'} train images; estimated {estimate_sweep_seconds(cfg) / 60:.1f} min on "
              f"2 CPU cores", flush=True)
        gen, table = run_sweep(cfg, threading.Event(), device=args.device), figures.sweep_table
        stem = "sweep_resnet"
    else:
        over = _overrides(args, ["dataset", "epochs", "train_subset", "batch_size", "lr", "seed", "depth", "width"])
        if args.dry_run:
            over.update(dataset="digits", epochs=1, batch_size=64)
        cfg = mlp_config(args.preset, **over)
        print(f"MLP-{cfg.depth} vs ResidualMLP-{cfg.depth} on {cfg.dataset}, {cfg.epochs} epochs", flush=True)
        gen, table = run_mlp_comparison(cfg), figures.mlp_table
        stem = "sweep_mlp"
    state, printed = None, set()
    for state in gen:
        for run in state.runs.values():
            key = (run.label, len(run.test_acc))
            if run.test_acc and key not in printed:
                printed.add(key)
                print(f"  {run.label:22s} epoch {run.eval_epoch[-1]:5.2f}  train loss {run.eval_train_loss[-1]:.4f}"
                      f"  test acc {run.test_acc[-1]:.2%}", flush=True)
    if state is None or not state.runs:
        raise LabsError("nothing was run")
    df = table(state)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / f"{stem}.csv", index=False)
    md = figures.to_markdown(df)
    (out / f"{stem}.md").write_text(md)
    (out / f"{stem}.json").write_text(json.dumps({"config": state.config, "runs": {
        k: {"test_acc": r.test_acc, "eval_epoch": r.eval_epoch, "train_loss": r.eval_train_loss, "params": r.params,
            "end": r.end} for k, r in state.runs.items()}}, indent=1, default=str))
    print("\n" + md)
    print(f"wrote {out / stem}.csv, .md and .json")
    return 0
