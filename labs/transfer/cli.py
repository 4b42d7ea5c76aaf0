"""`python -m labs transfer`: Phase 1 (linear SVM on frozen features, --svm) and the fine-tuning grid.

    python -m labs transfer --strategies all --optimizers adam,sgd --epochs 3 --svm
    python -m labs transfer --dry-run      # tiny source net trained on digits, transferred to digits, seconds

Prints the results as a markdown table and writes finetune.csv (and svm.csv) to --out.
Values reach TransferConfig as strings, through params.build: a bad one is the same sentence as in the tab.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

from labs.core.errors import LabsError

# Short names accepted on the command line, besides the full strategy names.
STRATEGY_ALIASES = {"input": "Freeze input only", "none": "No freeze", "early": "Freeze all early"}

# TransferConfig fields settable by a flag of the same name (--train-subset -> train_subset); default: the preset's.
FLAGS = {
    "epochs": "fine-tuning epochs",
    "batch_size": "images per fine-tuning step",
    "train_subset": "target train images, 0 = all",
    "test_subset": "target test images, 0 = all",
    "adam_lr": "peak learning rate for Adam (default 3e-3)",
    "sgd_lr": "peak learning rate for SGD (default 0.1)",
    "weight_decay": "weight decay of both optimisers (default 5e-4)",
    "svm_c": "LinearSVC C (default 1.0)",
    "svm_train_subset": "Phase 1 train images, 0 = all",
    "svm_test_subset": "Phase 1 test images, 0 = all",
    "seed": "subsets, head init, shuffling (default 0)",
    "amp": "auto | bf16 | off",
    "threads": "CPU threads (default: all cores)",
    "log_every": "steps between progress records",
    "dataset": "target data set (default cifar100)",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transfer", help="CIFAR-10 ResNet -> CIFAR-100: linear SVM on frozen features and "
                                        "fine-tuning with freeze strategies x optimisers")
    p.add_argument("--strategies", default="all",
                   help="all, or a comma list of: 'Freeze input only' (input), 'No freeze' (none), "
                        "'Freeze all early' (early)")
    p.add_argument("--optimizers", default="adam,sgd", help="comma list of: adam, sgd")
    p.add_argument("--preset", default="quick", help="quick (minutes on a CPU) | full (all data, 15 epochs)")
    for name, text in FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), default=None, help=text)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None, help="crop + flip")
    p.add_argument("--from-scratch", action="store_true", help="add a from-scratch ResNet row, same budget")
    p.add_argument("--svm", action="store_true", help="also run Phase 1 (LinearSVC on frozen features)")
    p.add_argument("--svm-only", action="store_true", help="run Phase 1 only")
    p.add_argument("--checkpoint", default=None, help="CIFAR-10 ResNet checkpoint (default: the reference "
                                                      "in the checkpoint folder)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument("--out", default="runs/transfer", help="folder for finetune.csv / svm.csv")
    p.add_argument("--dry-run", action="store_true", help="tiny end-to-end run on digits into a temp folder")
    p.set_defaults(func=transfer_command)


def parse_strategies(text: str):
    """'all' or a comma list with the short names replaced by the strategies' names (others are left for
    TransferConfig's constraint to refuse)."""
    from labs.transfer.freeze import FREEZE_STRATEGIES

    if text.strip().lower() == "all":
        return tuple(FREEZE_STRATEGIES)
    by_key = {k.lower().replace("-", " ").replace("_", " "): k for k in FREEZE_STRATEGIES}
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        key = item.lower().replace("-", " ").replace("_", " ")
        out.append(STRATEGY_ALIASES.get(key) or by_key.get(key) or item)
    return tuple(dict.fromkeys(out))


def build_config(args):
    from labs.transfer.config import preset

    raw = {name: getattr(args, name) for name in FLAGS if getattr(args, name) is not None}
    if args.augment is not None:
        raw["augment"] = args.augment
    if args.checkpoint is not None:
        raw["checkpoint"] = args.checkpoint
    return preset(args.preset, strategies=parse_strategies(args.strategies),
                  optimizers=args.optimizers.lower(), from_scratch=args.from_scratch, **raw)


def dry_run_config(cfg, folder: Path):
    """A ResNet[1,1] trained by the quick recipe on digits for a few steps, transferred to digits: the plumbing."""
    from labs.core import params
    from labs.transfer.source import train_quick_source

    recs = list(train_quick_source(out=folder / "resnet11_digits", dataset="digits", depth=(1, 1), n_train=256,
                                   n_test=128, epochs=1))
    return params.replace(cfg, checkpoint=recs[-1]["path"], dataset="digits", epochs=1, batch_size=32,
                          train_subset=256, test_subset=128, svm_train_subset=256, svm_test_subset=128,
                          augment=False)


def transfer_command(args) -> int:
    from labs.core import eta, params
    from labs.transfer.config import SEED_RESULTS, SEED_SVM_ACC, eta_seconds
    from labs.transfer.experiment import run_finetune, run_svm
    from labs.transfer.tables import markdown_table, results_table
    from labs.transfer.source import no_checkpoint_message, source_checkpoints

    from labs.core.cli import check_path
    from labs.core.devices import pick_device

    check_path("out", args.out)
    cfg = build_config(args)  # the config's own rules first (a checkpoint path of at most 1,000 characters)
    check_path("checkpoint", args.checkpoint)
    pick_device(args.device)  # a device this machine lacks is refused before any data is loaded
    out = Path(args.out)
    if args.dry_run:
        out = Path(tempfile.mkdtemp(prefix="labs-transfer-dry-"))
        cfg = dry_run_config(cfg, out)
    elif not cfg.checkpoint:
        found = source_checkpoints()
        if not found:
            raise LabsError(no_checkpoint_message(in_tab=False))
        cfg = params.replace(cfg, checkpoint=found[0])
    if not args.dry_run:
        from labs.core import speedtest
        speedtest.ensure((args.device or "cpu",))  # once per machine: the ETA below from this machine's speed
    e = eta_seconds(cfg, args.device or "cpu")
    print(f"source {cfg.checkpoint} -> {cfg.dataset}; {e['runs']} runs x {cfg.epochs} epochs on "
          f"{e['n_train']:,} / {e['n_test']:,} images; ETA ~{eta.format_seconds(e['finetune'])}"
          + (f" + SVM ~{eta.format_seconds(e['svm'])}" if args.svm or args.svm_only else "")
          + f" ({eta.basis_text(args.device or 'cpu')})", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    if args.svm or args.svm_only:
        res = {}
        for rec in run_svm(cfg):
            if rec["kind"] == "progress":
                print(f"\r{rec['stage']}: {rec['done']:,}/{rec['total']:,}" + " " * 10, end="", flush=True)
            elif rec["kind"] == "fitting" and not rec.get("fit_seconds"):
                print(f"\nfitting LinearSVC on {rec['n_train']:,} x {rec['feature_dim']} features...", flush=True)
            elif rec["kind"] == "done":
                res = rec
        print(f"\nPhase 1: LinearSVC (C={res['c']}) on {res['feature_dim']}-d frozen features, "
              f"{res['n_train']:,} train / {res['n_test']:,} test: test accuracy {res['test_acc']:.2%} "
              f"(seed {SEED_SVM_ACC:.1%}, chance {res['chance']:.1%}); extraction {res['extract_seconds']:.1f} s, "
              f"fit {res['fit_seconds']:.1f} s", flush=True)
        _write_csv(out / "svm.csv", [{k: v for k, v in res.items() if k not in ("kind", "stopped")}])
        if args.svm_only:
            return 0
    rows, stopped = [], False
    for rec in run_finetune(cfg, device=args.device):
        if rec["kind"] == "eval":
            print(f"  {rec['run']:32s} epoch {rec['epoch']:4.1f}  train loss {rec['train_loss']:.3f}  "
                  f"test acc {rec['test_acc']:.2%}  ({rec['seconds']:.0f} s)", flush=True)
        elif rec["kind"] == "stopped":
            print(f"  {rec['run']:32s} stopped at epoch {rec['epoch']:.1f}/{rec['epochs']}: no row", flush=True)
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
