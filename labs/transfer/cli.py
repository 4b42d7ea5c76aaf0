"""`python -m labs transfer`: Phase 1 (linear SVM on frozen features, --svm) and the fine-tuning grid.

    python -m labs transfer --strategies all --optimizers adam,sgd --epochs 3 --svm
    python -m labs transfer --dry-run      # tiny source net trained on digits, transferred to digits, seconds

Prints the results as a markdown table and writes finetune.csv (and svm.csv) to --out.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from labs.core.errors import LabsError

# Short names accepted on the command line, besides the full strategy names.
STRATEGY_ALIASES = {"input": "Freeze input only", "none": "No freeze", "early": "Freeze all early"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transfer", help="CIFAR-10 ResNet -> CIFAR-100: linear SVM on frozen features and "
                                        "fine-tuning with freeze strategies x optimisers")
    p.add_argument("--strategies", default="all",
                   help="all, or a comma list of: 'Freeze input only' (input), 'No freeze' (none), "
                        "'Freeze all early' (early)")
    p.add_argument("--optimizers", default="adam,sgd", help="comma list of: adam, sgd")
    p.add_argument("--preset", default="quick", help="quick (minutes on a CPU) | full (all data, 15 epochs)")
    p.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default: the preset's)")
    p.add_argument("--train-subset", type=int, default=None, help="CIFAR-100 train images, 0 = all (default: preset)")
    p.add_argument("--test-subset", type=int, default=None, help="CIFAR-100 test images, 0 = all (default: preset)")
    p.add_argument("--adam-lr", type=float, default=None, help="peak learning rate for Adam (default 3e-3)")
    p.add_argument("--sgd-lr", type=float, default=None, help="peak learning rate for SGD (default 0.1)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None, help="crop + flip")
    p.add_argument("--from-scratch", action="store_true", help="add a from-scratch ResNet row, same budget")
    p.add_argument("--svm", action="store_true", help="also run Phase 1 (LinearSVC on frozen features)")
    p.add_argument("--svm-only", action="store_true", help="run Phase 1 only")
    p.add_argument("--svm-c", type=float, default=None, help="LinearSVC C (default 1.0)")
    p.add_argument("--svm-train-subset", type=int, default=None, help="Phase 1 train images, 0 = all")
    p.add_argument("--svm-test-subset", type=int, default=None, help="Phase 1 test images, 0 = all")
    p.add_argument("--checkpoint", default=None, help="CIFAR-10 ResNet checkpoint (default: the reference "
                                                      "in checkpoints/)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument("--out", default="runs/transfer", help="folder for finetune.csv / svm.csv")
    p.add_argument("--dry-run", action="store_true", help="tiny end-to-end run on digits into a temp folder")
    p.set_defaults(func=transfer_command)


def parse_strategies(text: str) -> tuple[str, ...]:
    from labs.transfer.freeze import FREEZE_STRATEGIES

    if text.strip().lower() == "all":
        return tuple(FREEZE_STRATEGIES)
    by_key = {k.lower().replace("-", " ").replace("_", " "): k for k in FREEZE_STRATEGIES}
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        key = item.lower().replace("-", " ").replace("_", " ")
        name = STRATEGY_ALIASES.get(key) or by_key.get(key)
        if name is None:
            raise LabsError(f"unknown strategy {item!r}; use all or a comma list of "
                            f"{', '.join(FREEZE_STRATEGIES)} (or input, none, early)")
        out.append(name)
    return tuple(dict.fromkeys(out))


def build_config(args):
    from labs.transfer.experiment import preset
    from labs.transfer.source import no_checkpoint_message, source_checkpoints

    cfg = preset(args.preset, strategies=parse_strategies(args.strategies),
                 optimizers=tuple(dict.fromkeys(t.strip().lower() for t in args.optimizers.split(",") if t.strip())))
    knobs = {"epochs": args.epochs, "train_subset": args.train_subset, "test_subset": args.test_subset,
             "adam_lr": args.adam_lr, "sgd_lr": args.sgd_lr, "augment": args.augment, "svm_c": args.svm_c,
             "svm_train_subset": args.svm_train_subset, "svm_test_subset": args.svm_test_subset, "seed": args.seed,
             "threads": args.threads}
    cfg = replace(cfg, from_scratch=args.from_scratch, **{k: v for k, v in knobs.items() if v is not None})
    if args.dry_run:
        return cfg
    checkpoint = args.checkpoint or next(iter(source_checkpoints()), None)
    if not checkpoint:
        raise LabsError(no_checkpoint_message().replace("press 'Train a CIFAR-10 ResNet first' or ", ""))
    return replace(cfg, checkpoint=checkpoint)


def dry_run_config(cfg, folder: Path):
    """A ResNet[1,1] trained for two steps on digits, transferred to digits: the plumbing, in seconds."""
    from labs.transfer.source import train_source

    saved = [r for r in train_source(folder / "resnet11_digits", dataset="digits", n_train=256, n_test=128,
                                     epochs=1, depth=(1, 1)) if r["kind"] == "saved"][0]
    return replace(cfg, checkpoint=saved["path"], dataset="digits", epochs=1, batch_size=32, train_subset=256,
                   test_subset=128, svm_train_subset=256, svm_test_subset=128, augment=False)


def transfer_command(args) -> int:
    from labs.transfer.experiment import (SEED_RESULTS, SEED_SVM_ACC, eta_seconds, markdown_table, results_table,
                                          run_finetune, run_svm, validate)

    cfg = build_config(args)
    out = Path(args.out)
    if args.dry_run:
        out = Path(tempfile.mkdtemp(prefix="labs-transfer-dry-"))
        cfg = dry_run_config(cfg, out)
    validate(cfg, "svm" if args.svm_only else "finetune")
    eta = eta_seconds(cfg, args.device or "cpu")
    print(f"source {cfg.checkpoint} -> {cfg.dataset}; {eta['runs']} runs x {cfg.epochs} epochs on "
          f"{eta['n_train']:,} / {eta['n_test']:,} images; ETA ~{_mmss(eta['finetune'])}"
          + (f" + SVM ~{_mmss(eta['svm'])}" if args.svm or args.svm_only else "")
          + " (idle 2-core CPU estimate)", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    if args.svm or args.svm_only:
        res = {}
        for rec in run_svm(cfg):
            if rec["kind"] == "progress":
                print(f"\r{rec['stage']}: {rec['done']:,}/{rec['total']:,}" + " " * 10, end="", flush=True)
            else:
                res = rec
        print(f"\nPhase 1: LinearSVC (C={res['c']}) on {res['feature_dim']}-d frozen features, "
              f"{res['n_train']:,} train / {res['n_test']:,} test: test accuracy {res['test_acc']:.2%} "
              f"(seed {SEED_SVM_ACC:.1%}, chance {res['chance']:.1%}); extraction {res['extract_seconds']:.1f} s, "
              f"fit {res['fit_seconds']:.1f} s", flush=True)
        _write_csv(out / "svm.csv", [{k: v for k, v in res.items() if k != "kind"}])
        if args.svm_only:
            return 0
    rows, stopped = [], False
    for rec in run_finetune(cfg, device=args.device):
        if rec["kind"] == "eval":
            print(f"  {rec['run']:32s} epoch {rec['epoch']:4.1f}  train loss {rec['train_loss']:.3f}  "
                  f"test acc {rec['test_acc']:.2%}  ({rec['seconds']:.0f} s)", flush=True)
        elif rec["kind"] == "done":
            rows, stopped = rec["rows"], rec["stopped"]
    print("\n" + markdown_table(results_table(rows)))
    print("\nseed (full CIFAR-100):\n" + markdown_table(results_table(SEED_RESULTS).drop(columns=["Time (s)"])))
    _write_csv(out / "finetune.csv", [{**r, "Test Accuracy": round(r["Test Accuracy"], 4)} for r in rows])
    print(f"\nwrote {out / 'finetune.csv'}" + (" (stopped early)" if stopped else ""))
    return 0


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _mmss(seconds: float) -> str:
    return time.strftime("%M:%S", time.gmtime(seconds)) if seconds < 3600 else f"{seconds / 3600:.1f} h"
