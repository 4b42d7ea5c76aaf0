"""Wall time to the seed's accuracy on this machine, with the project's own engine and recipe.

    python bench/time_to_accuracy.py [--epochs 4,6] [--target 0.78] [--threads 2] [--sweep]

Part 1: ResNet[7,7] on all 50,000 CIFAR-10 training images with the recipe
`resnet77_cifar10_fast` (labs/core/recipes.py), one full schedule per value of --epochs
(OneCycle needs to know its length: a run cut short is not the same as a shorter run).
For each it prints the test accuracy on all 10,000 test images, training images/s and
seconds (training and evaluation separately), and whether it reached --target.
Part 2 (--sweep): Lab 1's quick six-run preset (PlainCNN and ResNet at [2,2], [5,5],
[7,7]), its table and total seconds.

Needs the real CIFAR-10 ($LABS_DATA_DIR); prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from labs.core import params  # noqa: E402
from labs.core.catalog import availability_message  # noqa: E402
from labs.core.data import load_dataset  # noqa: E402
from labs.core.engine import fit, seed_everything  # noqa: E402
from labs.core.hardware import cpu_has_bf16  # noqa: E402
from labs.core.models import build_model  # noqa: E402
from labs.core.recipes import model_args_for, recipe  # noqa: E402


def time_to_accuracy(epochs: int, threads: int, device) -> dict:
    args = recipe("resnet77_cifar10_fast", epochs=epochs)
    train = params.replace(args["train"], threads=threads, log_every=50)
    data = load_dataset("cifar10")
    seed_everything(train.seed)
    model = build_model("resnet", **model_args_for("resnet", data.image_shape, data.num_classes, args["depth"],
                                                   args["widths"]))
    t0, end = time.perf_counter(), {}
    for rec in fit(model, data, train, device=device):
        if rec["kind"] == "eval":
            print(f"    epoch {rec['epoch']:.0f}: test accuracy {rec['test_acc']:.2%} ({rec['seconds']:.0f} s)",
                  flush=True)
        elif rec["kind"] == "end":
            end = rec
    wall = time.perf_counter() - t0
    train_s = end["history"][-1]["seconds"] - sum(h["eval_seconds"] for h in end["history"])
    return {"epochs": epochs, "acc": end["final_test_acc"], "wall": wall,
            "images_per_s": epochs * (len(data.y_train) // train.batch_size) * train.batch_size / max(train_s, 1e-9),
            "train_s": train_s, "eval_s": wall - train_s}


def sweep(threads: int, device) -> None:
    from labs.residual import figures
    from labs.residual.config import sweep_config
    from labs.residual.experiment import run_sweep

    cfg = sweep_config("quick")
    view = figures.SweepView()
    t0 = time.perf_counter()
    torch.set_num_threads(threads)
    for rec in run_sweep(cfg, device=device):
        view.add(rec)
    print(f"Lab 1 quick preset ({cfg.epochs} epochs x {cfg.train_subset or 50000:,} images, six runs): "
          f"{time.perf_counter() - t0:.0f} s")
    print(figures.to_markdown(figures.sweep_table(view)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", default="4,6", help="comma list: one full schedule per value")
    ap.add_argument("--target", type=float, default=0.78, help="the seed's ResNet[7,7] accuracy")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default=None)
    ap.add_argument("--sweep", action="store_true", help="also time Lab 1's quick six-run preset")
    ap.add_argument("--no-resnet", action="store_true", help="skip part 1")
    args = ap.parse_args()
    missing = availability_message("cifar10")
    if missing:
        sys.exit(missing)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    print(f"device {device}, {args.threads} threads, native bf16: {cpu_has_bf16()}, torch {torch.__version__}")
    if not args.no_resnet:
        print(f"recipe resnet77_cifar10_fast: {recipe('resnet77_cifar10_fast')['train']}")
        for e in (int(v) for v in args.epochs.split(",")):
            r = time_to_accuracy(e, args.threads, device)
            mark = "reached" if r["acc"] >= args.target else "below"
            print(f"ResNet[7,7] {e} epochs: {r['acc']:.2%} ({mark} {args.target:.0%}) in {r['wall']:.0f} s "
                  f"(training {r['train_s']:.0f} s at {r['images_per_s']:.0f} img/s, evaluation {r['eval_s']:.0f} s)",
                  flush=True)
    if args.sweep:
        sweep(args.threads, device)


if __name__ == "__main__":
    main()
