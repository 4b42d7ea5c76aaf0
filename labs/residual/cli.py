"""`python -m labs sweep resnet|mlp`: Lab 1's experiments headless, tables as CSV + markdown + JSON."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from labs.core.errors import LabsError
from labs.residual import timing
from labs.residual.config import ARCHITECTURES, SIZES, estimate_sweep_seconds, mlp_config, sweep_config

# Flags are read as text: the config's constraints convert and check them (one message format).
SWEEP_FLAGS = ["dataset", "epochs", "train_subset", "test_subset", "batch_size", "lr", "label_smoothing", "augment",
               "seed", "log_every"]
MLP_FLAGS = ["dataset", "epochs", "train_subset", "batch_size", "optimizer", "lr", "seed", "depth", "width", "log_every",
             "eval_every"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="Lab 1: `resnet` = PlainCNN vs ResNet at 3 sizes on CIFAR-10 (the seed's "
                                     "table); `mlp` = MLP-16 vs ResidualMLP-16 on MNIST")
    p.add_argument("which", choices=["resnet", "mlp"])
    p.add_argument("--preset", default="quick", help="quick (10,000 images x 3 epochs: minutes on 2 cores) | short (all data, 5 epochs: "
                                            "reproduce --stage cnn_short) | full (all data, 15 epochs: --stage cnn)")
    p.add_argument("--dataset", default=None, help="default cifar10 (resnet) / mnist (mlp); digits works offline")
    p.add_argument("--archs", default=None, help=f"resnet: comma list of {','.join(ARCHITECTURES)}")
    p.add_argument("--sizes", default=None, help=f"resnet: comma list of {','.join(SIZES)}")
    p.add_argument("--epochs", default=None)
    p.add_argument("--train-subset", default=None, help="train images (0 = all)")
    p.add_argument("--test-subset", default=None, help="resnet: test images (0 = all)")
    p.add_argument("--batch-size", default=None)
    p.add_argument("--lr", default=None, help="peak learning rate (mlp: default per --optimizer, adam 2e-3, "
                                              "sgd 0.05)")
    p.add_argument("--optimizer", default=None, help="mlp: adam (default) | sgd")
    p.add_argument("--label-smoothing", default=None, help="resnet: cross-entropy label smoothing")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="resnet: random crop + flip (default on)")
    p.add_argument("--depth", default=None, help="mlp: linear layers (default 16)")
    p.add_argument("--width", default=None, help="mlp: hidden units (default 128)")
    p.add_argument("--seed", default=None)
    p.add_argument("--log-every", default=None, help="steps between logged training points")
    p.add_argument("--eval-every", default=None, help="mlp: steps between test points (0 = once per epoch)")
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
        over = _overrides(args, SWEEP_FLAGS)
        if args.archs is not None:
            over["architectures"] = args.archs
        if args.sizes is not None:
            over["sizes"] = ",".join(s.strip().capitalize() for s in args.sizes.split(","))
        if args.dry_run:
            over.update(dataset="digits", epochs=1, train_subset=256, test_subset=128, batch_size=64)
        cfg = sweep_config(args.preset, **over)
        if not args.dry_run:
            from labs.core import speedtest
            speedtest.ensure(("cpu",))  # once per machine: the estimate below from this machine's speed
        print(f"PlainCNN vs ResNet on {cfg.dataset}: {cfg.architectures} x {cfg.sizes}, {cfg.epochs} epochs, "
              f"{cfg.train_subset or 'all'} train images; estimated {estimate_sweep_seconds(cfg) / 60:.1f} min on "
              f"this machine's CPU ({timing.tag(timing.conv_basis(cfg.dataset))})", flush=True)
        records, view, table = run_sweep(cfg, device=args.device), figures.SweepView(), \
            figures.sweep_table
        kind = "sweep"
    else:
        over = _overrides(args, MLP_FLAGS)
        if args.dry_run:
            over.update(dataset="digits", epochs=1, batch_size=64)
        cfg = mlp_config(args.preset, **over)
        print(f"MLP-{cfg.depth} vs ResidualMLP-{cfg.depth} on {cfg.dataset}, {cfg.epochs} epochs", flush=True)
        records, view, table = run_mlp_comparison(cfg, device=args.device), figures.MLPView(), figures.mlp_table
        kind = "mlp"
    for rec in records:
        view.add(rec)
        if rec["kind"] == "eval":
            print(f"  {rec['run']:22s} epoch {rec['epoch']:5.2f}  train loss {rec['train_loss']:.4f}"
                  f"  test acc {rec['test_acc']:.2%}", flush=True)
    if not view.runs:
        raise LabsError("nothing was run")
    stem = f"sweep_{args.which}"
    df = table(view)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / f"{stem}.csv", index=False)
    md = figures.to_markdown(df)
    (out / f"{stem}.md").write_text(md)
    (out / f"{stem}.json").write_text(json.dumps({"config": {"kind": kind, **asdict(cfg)}, "runs": {
        k: {"test_acc": r.test_acc, "eval_epoch": r.eval_epoch, "train_loss": r.eval_train_loss, "params": r.params,
            "end": r.end} for k, r in view.runs.items()}}, indent=1, default=str))
    print("\n" + md)
    print(f"wrote {out / stem}.csv, .md and .json")
    return 0
