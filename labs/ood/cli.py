"""`python -m labs odin` (alias `ood`): ODIN grid search + baselines for a classifier checkpoint.

    python -m labs odin --model_path checkpoints/resnet77_cifar10.safetensors --ood uniform \
        [--max_batches 20 --batch_size 50] [--temperatures 1,10,100] [--epsilons 0,0.001,0.002,0.004]

Images per side = max_batches x batch_size (or --n). Prints the grid (validation- and
test-half metrics), the best pair (chosen on the validation half, reported on the test
half) and the comparison table; writes grid.csv, comparison.csv and roc_<ood>.html to --out.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from labs.core.errors import LabsError

DEFAULT_OUT = "runs/odin"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("odin", aliases=["ood"], help="ODIN out-of-distribution detection: grid search over T and "
                       "epsilon, baselines, CSV + ROC figure")
    p.add_argument("--model_path", "--model-path", dest="model_path", default=None,
                   help="classifier checkpoint (NAME.safetensors + NAME.json)")
    p.add_argument("--ood", default="gaussian", help="comma-separated OOD sets: gaussian, uniform, cifar100, mnist, "
                   "svhn, coco (default %(default)s)")
    p.add_argument("--max_batches", "--max-batches", dest="max_batches", type=int, default=20,
                   help="batches per side (default %(default)s)")
    p.add_argument("--batch_size", "--batch-size", dest="batch_size", type=int, default=50,
                   help="images per batch (default %(default)s): max_batches x batch_size images per side")
    p.add_argument("--n", type=int, default=0, help="images per side (overrides max_batches x batch_size)")
    p.add_argument("--temperatures", default="1,10,100", help="grid of T (default %(default)s)")
    p.add_argument("--epsilons", default="0,0.001,0.002,0.004",
                   help="grid of epsilon, pixel units (default %(default)s)")
    p.add_argument("--autoencoder", default=None, help="autoencoder checkpoint for the comparison "
                   "(default checkpoints/autoencoder_<dataset> when it exists)")
    p.add_argument("--train-autoencoder", action="store_true", help="train the autoencoder first and save it")
    p.add_argument("--ae-epochs", type=int, default=3, help="autoencoder epochs (default %(default)s)")
    p.add_argument("--ae-images", type=int, default=20000, help="autoencoder train images (default %(default)s)")
    p.add_argument("--out", default=None, help=f"folder for the CSVs and figures (default {DEFAULT_OUT}/<checkpoint>)")
    p.add_argument("--download", action="store_true", help="download a missing data set (SVHN) with torchvision")
    p.add_argument("--dry-run", action="store_true", help="tiny model on digits vs noise, in seconds, in a temp folder")
    p.set_defaults(func=odin_command)


def _dry_run_checkpoint(folder: Path) -> Path:
    """A tiny ResNet trained for a few steps on the embedded digits: the whole pipeline in seconds."""
    from labs.core.checkpoints import save_checkpoint
    from labs.core.data import load_dataset
    from labs.core.engine import TrainConfig, fit, run_to_end, seed_everything
    from labs.core.models import build_model

    data = load_dataset("digits")
    args = {"depth": [1, 1], "widths": [8, 16], "num_classes": 10, "in_channels": 1, "image_size": 8}
    seed_everything(0)
    model = build_model("resnet", **args)
    run_to_end(fit(model, data, TrainConfig(epochs=1, batch_size=64, lr=0.1, grad_norms=False, amp="off",
                                            max_steps=20)))
    return save_checkpoint(folder / "tiny_resnet_digits", model, "resnet", args, dataset="digits", num_classes=10,
                           normalization={"mean": list(data.mean), "std": list(data.std)})


def _autoencoder(args, dataset: str):
    """(model, tag) for the comparison, training one first if asked; (None, reason) when there is none."""
    from labs.core.checkpoints import CHECKPOINT_DIR
    from labs.core.data import load_dataset
    from labs.ood.autoencoder import (AutoencoderConfig, ConvAutoencoder, load_autoencoder, save_autoencoder,
                                      train_autoencoder)

    path = Path(args.autoencoder) if args.autoencoder else CHECKPOINT_DIR / f"autoencoder_{dataset}"
    path = path.with_suffix(".safetensors")
    if args.train_autoencoder:
        data = load_dataset(dataset)
        margs = {"in_channels": data.image_shape[0], "widths": [32, 64], "code": 12}
        config = AutoencoderConfig(epochs=args.ae_epochs, train_images=args.ae_images)
        if args.dry_run:
            margs["widths"], config = [8, 16], AutoencoderConfig(epochs=2, train_images=512, batch_size=64)
        model, end = ConvAutoencoder(**margs), {}
        for rec in train_autoencoder(model, data, config):
            if rec["kind"] == "step":
                print(f"\rautoencoder step {rec['step']}/{rec['total_steps']}  mse {rec['train_mse']:.4f}", end="")
            end = rec
        save_autoencoder(path, model, margs, dataset=dataset, normalization={"mean": list(data.mean),
                         "std": list(data.std)}, metrics={k: end[k] for k in ("test_mse", "steps", "seconds")},
                         config=end["config"])
        print(f"\nautoencoder: test MSE {end['test_mse']:.4f} in {end['seconds']:.0f} s; saved {path} (+ .json)")
    if not path.exists():
        return None, f"no autoencoder at {path} (add --train-autoencoder)"
    model, meta = load_autoencoder(path)
    if meta.get("dataset") != dataset:
        return None, f"{path.name} was trained on {meta.get('dataset')!r}, not {dataset!r}"
    return model, f"{path}:{path.stat().st_mtime_ns}"


def _fmt(m: dict) -> str:
    return f"AUROC {m['AUROC']:.4f}  FPR@95 {m['FPR@95']:.4f}"


def odin_command(args) -> int:
    from labs.core.checkpoints import read_metadata
    from labs.ood import experiment as ex
    from labs.ood import protocol
    from labs.ood.figures import roc_figure

    temps, epss = protocol.parse_grid(args.temperatures, "temperatures"), protocol.parse_grid(args.epsilons, "epsilons")
    oods = [o.strip() for o in args.ood.split(",") if o.strip()]
    if args.dry_run:
        tmp = Path(tempfile.mkdtemp(prefix="labs-odin-dry-"))
        args.model_path, args.n, args.train_autoencoder = str(_dry_run_checkpoint(tmp)), args.n or 64, True
        args.autoencoder, args.out = str(tmp / "autoencoder_digits"), args.out or str(tmp / "out")
        oods = [o for o in oods if o in ("gaussian", "uniform")] or ["gaussian"]
    if not args.model_path:
        raise LabsError("give --model_path checkpoints/NAME.safetensors (train one with `python -m labs train "
                        "--model resnet --dataset cifar10`), or use --dry-run")
    n = args.n or args.max_batches * args.batch_size
    if args.max_batches < 1 or args.batch_size < 1:
        raise LabsError("--max_batches and --batch_size must be positive")
    dataset = read_metadata(args.model_path).get("dataset")
    out = Path(args.out or Path(DEFAULT_OUT) / Path(args.model_path).with_suffix("").name)
    out.mkdir(parents=True, exist_ok=True)
    autoencoder, ae_tag = _autoencoder(args, dataset)
    grid_rows, comp_rows = [], []
    for ood in oods:
        t0 = time.perf_counter()
        exp = ex.get_experiment(args.model_path, ood, n, dataset=None, download=args.download)
        print(f"\n== {Path(args.model_path).name} ({dataset}) vs {ood}: {n} images per side; "
              f"validation = first half of each side, test = second half")
        print(f"{'T':>7} {'eps':>7} | {'val AUROC':>9} {'val FPR95':>9} | {'test AUROC':>10} {'test FPR95':>10} | "
              f"{'seconds':>7}")
        end = {}
        for rec in protocol.grid_search(exp, temps, epss):
            if rec["kind"] == "pair":
                r = rec["row"]
                print(f"{r['T']:>7g} {r['epsilon']:>7g} | {r['val']['AUROC']:>9.4f} {r['val']['FPR@95']:>9.4f} | "
                      f"{r['test']['AUROC']:>10.4f} {r['test']['FPR@95']:>10.4f} | {r['seconds']:>7.2f}", flush=True)
                grid_rows.append({"ood": ood, "n_per_side": n, "T": r["T"], "epsilon": r["epsilon"],
                                  **{f"val_{k}": v for k, v in r["val"].items()},
                                  **{f"test_{k}": v for k, v in r["test"].items()}, "seconds": r["seconds"]})
            end = rec
        best = end["best"]
        print(f"best on the validation half: T={best['T']:g}, eps={best['epsilon']:g} -> test half: "
              f"{_fmt(best['test'])}")
        rows = protocol.comparison(exp, (best["T"], best["epsilon"]), autoencoder, ae_tag)
        if autoencoder is None:
            print(f"(autoencoder row skipped: {ae_tag})")
        print(f"{'detector':<14} {'setting':<22} {'AUROC':>7} {'FPR@95':>7} {'AUPR-in':>8} {'AUPR-out':>8} "
              f"{'det.err':>7} {'cost':>6}")
        for r in rows:
            print(f"{r['detector']:<14} {r['setting']:<22} {r['AUROC']:>7.4f} {r['FPR@95']:>7.4f} {r['AUPR-in']:>8.4f} "
                  f"{r['AUPR-out']:>8.4f} {r['Detection error']:>7.4f} {r['relative cost']:>5.1f}x")
            comp_rows.append({"ood": ood, "n_per_side": n, **{k: v for k, v in r.items() if k != "scores"}})
        curves = {f"{r['detector']} ({r['setting']})": exp.split(r["scores"], "test") for r in rows}
        fig = roc_figure(curves, title=f"ROC, test half: {dataset} vs {ood}", note=f"{n // 2}+ per side")
        fig.write_html(out / f"roc_{ood}.html", include_plotlyjs=True)  # self-contained: works offline
        print(f"({time.perf_counter() - t0:.1f} s)")
    for name, rows in (("grid.csv", grid_rows), ("comparison.csv", comp_rows)):
        with open(out / name, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    print(f"\nwrote {out}/grid.csv, comparison.csv, " + ", ".join(f"roc_{o}.html" for o in oods))
    return 0
