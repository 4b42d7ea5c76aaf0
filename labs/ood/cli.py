"""`python -m labs odin` (alias `ood`): every detector's search + the comparison for a classifier checkpoint.

    python -m labs odin --model_path checkpoints/resnet77_cifar10.safetensors --ood uniform \
        [--max_batches 20 --batch_size 50] [--temperatures 1,10,100] [--epsilons 0,0.001,0.002,0.004]

Images per side = max_batches x batch_size (or --n). Prints the grid (validation- and
test-half metrics of every setting of every detector), each detector's chosen setting
(validation half) and the comparison table (test half); writes grid.csv, comparison.csv and
roc_<ood>.html to --out.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from labs.core import params
from labs.core.errors import LabsError
from labs.core.params import Interval
from labs.ood.config import AutoencoderConfig, GridConfig
from labs.ood.detectors import DETECTORS, SEED_EPSILONS, SEED_TEMPERATURES, setting_text

DEFAULT_OUT = "runs/odin"
BATCHES = Interval(int, 1, 10_000)  # the seed's --max_batches and --batch_size; their product is images per side


def _csv(values) -> str:
    return ",".join(f"{v:g}" for v in values)


def register(sub: argparse._SubParsersAction) -> None:
    ae = AutoencoderConfig()
    p = sub.add_parser("odin", aliases=["ood"], help="ODIN out-of-distribution detection: every detector's search "
                       "(validation half), the comparison (test half), CSV + ROC figure")
    p.add_argument("--model_path", "--model-path", dest="model_path", default=None,
                   help="classifier checkpoint (NAME.safetensors + NAME.json)")
    p.add_argument("--ood", default="gaussian", help="comma-separated OOD sets: gaussian, uniform, cifar100, mnist, "
                   "svhn, coco (default %(default)s)")
    p.add_argument("--max_batches", "--max-batches", dest="max_batches", type=int, default=20,
                   help="batches per side (default %(default)s)")
    p.add_argument("--batch_size", "--batch-size", dest="batch_size", type=int, default=50,
                   help="images per batch (default %(default)s): max_batches x batch_size images per side")
    p.add_argument("--n", type=int, default=0, help="images per side (overrides max_batches x batch_size)")
    p.add_argument("--temperatures", default=_csv(SEED_TEMPERATURES), help="grid of T (default %(default)s)")
    p.add_argument("--epsilons", default=_csv(SEED_EPSILONS), help="grid of epsilon (default %(default)s), on the "
                   "scale --eps-scale names")
    p.add_argument("--eps-scale", default="seed", help="seed (default: epsilon added to the normalised input, as "
                   "the seed) | paper (the ODIN paper: pixel units, divided by the per-channel std)")
    p.add_argument("--detectors", default=None, help=f"comma-separated detectors to search and compare (default: "
                                                     f"all of {', '.join(DETECTORS)})")
    p.add_argument("--autoencoder", default=None, help="autoencoder checkpoint for the comparison "
                   "(default: the one for the classifier's data set in the checkpoint folder)")
    p.add_argument("--train-autoencoder", action="store_true", help="train the autoencoder first (recipe "
                   "autoencoder_cifar10) and save it")
    p.add_argument("--ae-epochs", type=int, default=ae.epochs, help="autoencoder epochs (default %(default)s)")
    p.add_argument("--ae-images", type=int, default=ae.train_images,
                   help="autoencoder train images (default %(default)s)")
    p.add_argument("--out", default=None, help=f"folder for the CSVs and figures (default {DEFAULT_OUT}/<checkpoint>)")
    p.add_argument("--download", action="store_true", help="download a missing data set (SVHN) with torchvision")
    p.add_argument("--dry-run", action="store_true", help="tiny model on digits vs noise, in seconds, in a temp folder")
    p.set_defaults(func=odin_command)


def _dry_run_checkpoint(folder: Path) -> Path:
    """A tiny ResNet trained for a few steps on the embedded digits: the whole pipeline in seconds."""
    from labs.core.engine import TrainConfig
    from labs.core.recipes import train_and_save

    out = folder / "tiny_resnet_digits"
    train = TrainConfig(epochs=1, batch_size=64, lr=0.1, grad_norms=False, amp="off", max_steps=20)
    for _ in train_and_save("resnet", "digits", train, out, depth=(1, 1), widths=(8, 16)):
        pass
    return out.with_suffix(".safetensors")


def _train_autoencoder(args, cfg: AutoencoderConfig) -> None:
    from labs.core.checkpoints import checkpoint_dir
    from labs.ood import experiment as ex
    from labs.ood.tables import training_status

    out = Path(args.autoencoder).with_suffix("") if args.autoencoder else checkpoint_dir() / ex.AUTOENCODER_RECIPE
    for rec in ex.train_autoencoder(cfg, out=out):
        if rec["kind"] == "step":
            print(f"\rautoencoder step {rec['step']}/{rec['total_steps']}  mse {rec['train_loss']:.4f}", end="")
        elif rec["kind"] in ("saved", "not_saved"):
            print(f"\n{training_status(rec, 'the autoencoder')} ({out}.safetensors + .json)")
    args.autoencoder = str(out)


def _print_grid_row(r: dict) -> None:
    print(f"{r['title']:<14} {setting_text(r['params'], unicode=False):<18} | {r['val']['AUROC']:>9.4f} "
          f"{r['val']['FPR@95']:>9.4f} | {r['test']['AUROC']:>10.4f} {r['test']['FPR@95']:>10.4f} | "
          f"{r['seconds']:>7.2f}", flush=True)


def odin_command(args) -> int:
    from labs.core.checkpoints import read_metadata
    from labs.core.recipes import recipe
    from labs.ood import experiment as ex
    from labs.ood.figures import roc_figure
    from labs.ood.protocol import split

    for name in ("max_batches", "batch_size"):
        params.check_value(name, BATCHES, getattr(args, name))
    ae_cfg = params.build(AutoencoderConfig, epochs=args.ae_epochs, train_images=args.ae_images)
    n = args.n or args.max_batches * args.batch_size
    model_path = Path(args.model_path or "tiny_resnet_digits").with_suffix(".safetensors")
    oods = [o.strip() for o in args.ood.split(",") if o.strip()]
    detectors = None
    if args.detectors is not None:
        detectors = tuple(d.strip() for d in args.detectors.split(",") if d.strip())
        unknown = [d for d in detectors if d not in DETECTORS]
        if unknown or not detectors:
            raise LabsError(f"invalid detectors: expected comma-separated names from {', '.join(DETECTORS)}, "
                            f"got {args.detectors!r}")
    if args.dry_run:
        n, oods = args.n or 64, [o for o in oods if o in ("gaussian", "uniform")] or ["gaussian"]
    configs = [params.build(GridConfig, checkpoint=model_path.stem, ood_set=o, images_per_side=n,
                            temperatures=args.temperatures, epsilons=args.epsilons, eps_scale=args.eps_scale)
               for o in oods or [""]]
    if not args.dry_run and not args.model_path:
        raise LabsError("give --model_path checkpoints/NAME.safetensors (train one with `python -m labs train "
                        "--model resnet --dataset cifar10`), or use --dry-run")
    dataset = "digits" if args.dry_run else read_metadata(ex.checkpoint_path(model_path.stem,
                                                                             model_path.parent))["dataset"]
    trained_on = recipe(ex.AUTOENCODER_RECIPE)["dataset"]
    if args.train_autoencoder and trained_on != dataset:
        raise LabsError(f"the autoencoder recipe trains on {trained_on}, but this classifier is for {dataset}: "
                        f"its comparison could not use it")
    if args.dry_run:
        tmp = Path(tempfile.mkdtemp(prefix="labs-odin-dry-"))
        model_path, args.out = _dry_run_checkpoint(tmp), args.out or str(tmp / "out")
    out = Path(args.out or Path(DEFAULT_OUT) / model_path.stem)
    out.mkdir(parents=True, exist_ok=True)
    if args.train_autoencoder:
        _train_autoencoder(args, ae_cfg)
    grid_rows, comp_rows = [], []
    for cfg in configs:
        t0, ood = time.perf_counter(), cfg.ood_set
        comparison = []
        for rec in ex.run(cfg, folder=model_path.parent, autoencoder=args.autoencoder, download=args.download,
                          detectors=detectors):
            if rec["kind"] == "start":
                print(f"\n== {model_path.name} ({dataset}) vs {ood}: {n} images per side; "
                      f"validation = first half of each side, test = second half")
                print(f"{'detector':<14} {'setting':<18} | {'val AUROC':>9} {'val FPR95':>9} | {'test AUROC':>10} "
                      f"{'test FPR95':>10} | {'seconds':>7}")
            elif rec["kind"] == "setting":
                r = rec["row"]
                _print_grid_row(r)
                grid_rows.append({"ood": ood, "n_per_side": n, "detector": r["title"],
                                  "setting": setting_text(r["params"], unicode=False), **r["params"],
                                  **{f"val_{k}": v for k, v in r["val"].items()},
                                  **{f"test_{k}": v for k, v in r["test"].items()}, "seconds": r["seconds"]})
            elif rec["kind"] == "skipped":
                print(f"({rec['detector']} row skipped: {rec['reason']})")
            elif rec["kind"] == "grid":
                for b in rec["best"].values():
                    if b["params"]:
                        print(f"best on the validation half: {b['title']} {setting_text(b['params'], unicode=False)}"
                              f" -> test half: AUROC {b['test']['AUROC']:.4f}  FPR@95 {b['test']['FPR@95']:.4f}")
            elif rec["kind"] == "comparison":
                comparison = rec["rows"]
        print(f"{'detector':<14} {'setting':<22} {'AUROC':>7} {'FPR@95':>7} {'AUPR-in':>8} {'AUPR-out':>8} "
              f"{'det.err':>7} {'cost':>6}")
        for r in comparison:
            setting = setting_text(r["params"], unicode=False)
            print(f"{r['detector']:<14} {setting:<22} {r['AUROC']:>7.4f} {r['FPR@95']:>7.4f} {r['AUPR-in']:>8.4f} "
                  f"{r['AUPR-out']:>8.4f} {r['Detection error']:>7.4f} {r['relative cost']:>5.1f}x")
            comp_rows.append({"ood": ood, "n_per_side": n, "detector": r["detector"], "setting": setting,
                              **{k: r[k] for k in ("AUROC", "FPR@95", "AUPR-in", "AUPR-out", "Detection error",
                                                   "seconds", "relative cost")}})
        curves = {f"{r['detector']} ({setting_text(r['params'], unicode=False)})": split(r["scores"], n, "test")
                  for r in comparison}
        fig = roc_figure(curves, title=f"ROC, test half: {dataset} vs {ood}", note=f"{n // 2}+ per side")
        fig.write_html(out / f"roc_{ood}.html", include_plotlyjs=True)  # self-contained: works offline
        print(f"({time.perf_counter() - t0:.1f} s)")
    for name, rows in (("grid.csv", grid_rows), ("comparison.csv", comp_rows)):
        with open(out / name, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in rows for k in r)), restval="")
            w.writeheader()
            w.writerows(rows)
    print(f"\nwrote {out}/grid.csv, comparison.csv, " + ", ".join(f"roc_{o}.html" for o in oods))
    return 0
