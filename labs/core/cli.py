"""Core commands: `train` (any model on any data set -> checkpoint), `data` (download / inspect) and `speedtest`
(this machine's training speed, which estimates use until a run has finished here)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from labs.core.errors import LabsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a registered model on a registered data set and save a checkpoint")
    p.add_argument("--model", default="resnet", help="mlp | residual_mlp | plain_cnn | resnet | conv_autoencoder")
    p.add_argument("--dataset", default="cifar10", help="digits | mnist | cifar10 | cifar100 | svhn")
    p.add_argument("--depth", default=None, help="resnet/plain_cnn: blocks per stage, e.g. 7,7; mlp: layers, e.g. 16")
    p.add_argument("--widths", default=None, help="resnet/plain_cnn: channels per stage, e.g. 16,32; mlp: width")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate")
    p.add_argument("--optimizer", default="sgd", help="sgd | adam")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--schedule", default="onecycle", help="onecycle | cosine | constant")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random crop + flip (default: on for 32x32 colour data)")
    p.add_argument("--train-subset", type=int, default=0, help="train on this many images (0 = all)")
    p.add_argument("--test-subset", type=int, default=0, help="evaluate on the first N test images (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    p.add_argument("--out", default=None, help="checkpoint path without suffix (default checkpoints/MODEL_DATASET)")
    p.add_argument("--download", action="store_true", help="download a missing data set with torchvision")
    p.add_argument("--dry-run", action="store_true", help="tiny run on digits, a few steps, into a temp folder")
    p.add_argument("--recipe", default=None,
                   help="a named recipe of labs/core/recipes.py (resnet77_cifar10_quick, autoencoder_cifar10): "
                        "its model, data and schedule; only --out, --device and --threads apply on top")
    p.set_defaults(func=train_command)

    d = sub.add_parser("data", help="list the data sets and where they are; download missing ones when online")
    d.add_argument("names", nargs="*", help="data sets to download (default: just list)")
    d.set_defaults(func=data_command)

    st = sub.add_parser("speedtest", help="measure this machine's training speed now (a few seconds) and keep it for "
                                          "the estimates (app.py runs it once per machine)")
    st.add_argument("--device", default="cpu", help="cpu | cuda")
    st.set_defaults(func=speedtest_command)


def _ints(text: str | None) -> tuple[int, ...] | None:
    if text in (None, ""):
        return None
    try:
        return tuple(int(t) for t in str(text).split(","))
    except ValueError:
        raise LabsError(f"invalid depth/widths: expected comma-separated whole numbers, got {text!r}") from None


def check_path(name: str, value: str | None) -> None:
    """A path given on the command line that the file system can hold (each part at most 255 bytes, the whole at
    most 4,095); else the one-format LabsError, before any work is done. None (not given) passes."""
    if value is None:
        return
    text = str(value)
    parts = [p for p in text.replace("\\", "/").split("/") if p]
    if len(text.encode()) > 4095 or any(len(p.encode()) > 255 for p in parts) or "\x00" in text:
        shown = text if len(text) <= 60 else f"{text[:60]}... ({len(text):,} characters)"
        raise LabsError(f"invalid {name}: expected a path of at most 4,095 bytes whose every folder or file name is "
                        f"at most 255 bytes, got {shown!r}")


def train_command(args) -> int:
    import tempfile

    from labs.core import params
    from labs.core.catalog import spec
    from labs.core.engine import TrainConfig
    from labs.core.checkpoints import checkpoint_dir
    from labs.core.recipes import recipe, train_and_save

    for name in ("train_subset", "test_subset"):  # before --dry-run replaces them: a bad value is still refused
        params.check_value(name, params.Interval(int, 0, None), getattr(args, name))
    check_path("out", args.out)
    from labs.core.devices import pick_device

    pick_device(args.device)  # a device this machine lacks is refused before any data is loaded
    if args.dry_run:
        args.dataset, args.epochs, args.train_subset, args.test_subset = "digits", 1, 256, 128
        args.batch_size = min(args.batch_size, 64)
        args.out = args.out or str(Path(tempfile.mkdtemp(prefix="labs-dry-")) / f"{args.model}_digits")
    shape = spec(args.dataset).image_shape
    augment = args.augment if args.augment is not None else (shape[0] == 3 and shape[1] >= 32)
    config = params.build(TrainConfig, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          optimizer=args.optimizer, weight_decay=args.weight_decay, schedule=args.schedule,
                          label_smoothing=args.label_smoothing, augment=augment, seed=args.seed, log_every=20,
                          grad_norms=False, threads=args.threads, max_steps=3 if args.dry_run else 0)
    command = "python -m labs train " + " ".join(sys.argv[2:])
    if args.recipe:
        run = recipe(args.recipe)
        run["train"] = params.replace(run["train"], threads=args.threads)
        out = args.out or str(checkpoint_dir() / args.recipe)
    else:
        run = dict(model=args.model, dataset=args.dataset, train=config, depth=_ints(args.depth),
                   widths=_ints(args.widths), n_train=args.train_subset, n_test=args.test_subset)
        out = args.out or str(checkpoint_dir() / f"{args.model}_{args.dataset}")
    for rec in train_and_save(**run, out=out, device=args.device, download=args.download, command=command):
        if rec["kind"] == "start":
            print(f"{rec['model']} {rec['model_args']} ({rec['parameters']:,} parameters) on {rec['dataset']}: "
                  f"{rec['n_train']:,} train / {rec['n_test']:,} test images", flush=True)
        elif rec["kind"] == "step":
            _progress(rec)
        elif rec["kind"] == "eval":
            acc = f"  test acc {rec['test_acc']:.2%}" if "test_acc" in rec else f"  test loss {rec['test_loss']:.4f}"
            print(f"\repoch {rec['epoch']:5.2f}  train loss {rec['train_loss']:.4f}{acc}"
                  f"  ({rec['seconds']:.0f} s)" + " " * 20, flush=True)
        elif rec["kind"] == "saved":
            m = rec["metrics"]
            final = (f"final test accuracy {m['final_test_acc']:.2%}" if "final_test_acc" in m
                     else f"final test loss {m['final_test_loss']:.4f}")
            print(f"{final}; checkpoint {rec['path']} (+ .json)")
    return 0


def _progress(rec: dict) -> None:
    total = rec.get("total_steps") or 1
    done = int(30 * rec["step"] / total)
    eta = rec["seconds"] / max(rec["step"], 1) * (total - rec["step"])
    print(f"\r[{'#' * done}{'.' * (30 - done)}] step {rec['step']}/{total}  loss {rec['train_loss']:.3f}  "
          f"{rec['images_per_s']:.0f} img/s  ETA {time.strftime('%M:%S', time.gmtime(eta))}", end="", flush=True)


def data_command(args) -> int:
    """Download the named sets that are missing or damaged (progress on one line), then list every set with
    its verified state: ready, missing or damaged (what is wrong)."""
    from labs.core.catalog import DATASETS, availability_message, data_dir, spec
    from labs.core.datafiles import status
    from labs.core.download import describe, downloadable, ensure

    for name in args.names:
        spec(name)  # an unknown name is a LabsError listing the valid ones
    for name in dict.fromkeys(args.names):
        before = status(name)
        if before == "ready":
            continue
        if not downloadable(name):
            raise LabsError(f"{DATASETS[name].title} cannot be downloaded by this app ({before})")
        print(f"{name}: {before}; downloading the official files into {data_dir()}", flush=True)
        shown = [""]

        def show(p, title=DATASETS[name].title):
            line = describe(p, title)
            if line != shown[0] and p["state"] != "failed":  # a failure is the one stderr line
                shown[0] = line
                print(f"\r{line}" + " " * 10, end="", flush=True)

        try:
            ensure(name, show)
        finally:
            print(flush=True)
    print(f"data folder: {data_dir()}  (set LABS_DATA_DIR to change it)")
    for name, s in DATASETS.items():
        state = status(name)
        print(f"  {name:9s} {state:8s} {s.description}")
        if state != "ready" and not args.names:
            fix = availability_message(name) if state == "missing" else (
                f"Run `python -m labs data {name}` while online to download it again.")
            print(f"            {fix}")
    return 0


def speedtest_command(args) -> int:
    """Run the speed test now (even if one is stored), keep it, and say what it means for the labs' presets."""
    from labs.core import eta, speedtest
    from labs.core.devices import pick_device
    from labs.residual.config import SweepConfig, estimate_sweep_seconds

    device = str(pick_device(args.device))
    t0 = time.perf_counter()
    rate = speedtest.probe(device)
    eta.observe_probe(rate, device)
    quick = estimate_sweep_seconds(SweepConfig(dataset="cifar10"), device)
    print(f"speed test ({device}, {time.perf_counter() - t0:.1f} s): ResNet[7,7] trains at "
          f"{rate / eta.RESNET77_BLOCKS:,.0f} images/s ({rate:,.0f} block-images/s), kept in {eta.speed_file()}")
    print(f"Lab 1 B's quick preset (6 runs x 3 epochs x 10,000 CIFAR-10 images): about {eta.format_seconds(quick)}"
          + ("" if eta.basis(device) == "speed test" else f" ({eta.basis_text(device)}: a finished run's speed "
                                                          f"comes before the speed test)"))
    return 0
