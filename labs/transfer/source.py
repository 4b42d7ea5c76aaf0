"""The source network: a CIFAR-10 ResNet checkpoint, found, validated, or trained when there is none.

The seed transfers a ResNet[7,7] with widths (16, 32); a checkpoint of another
architecture or width is refused with a message, because the strategies' module
names and the seed's parameter counts refer to that network. The depth may differ
(tests use ResNet[1,1]); the counts in the table are then that network's.
"""

from __future__ import annotations

from pathlib import Path

from labs.core.checkpoints import CHECKPOINT_DIR, list_checkpoints, load_checkpoint, read_metadata, save_checkpoint
from labs.core.errors import LabsError

SOURCE_DATASET = "cifar10"
SOURCE_WIDTHS = [16, 32]
REFERENCE_NAME = "resnet77_cifar10"  # the project's reference checkpoint, checkpoints/resnet77_cifar10.*
TRAINED_HERE_NAME = "resnet77_cifar10_quick"  # where the tab's "train one first" button saves (never the reference)
TRAIN_HINT = ("python -m labs train --model resnet --dataset cifar10 --depth 7,7 --widths 16,32 --epochs 10 "
              f"--out checkpoints/{REFERENCE_NAME}")


def source_checkpoints(folder: str | Path | None = None) -> list[str]:
    """ResNet checkpoints trained on CIFAR-10 in `folder` (default checkpoints/), the reference first."""
    found = []
    for w in list_checkpoints(folder or CHECKPOINT_DIR, dataset=SOURCE_DATASET):
        try:
            if read_metadata(w)["model"] == "resnet":
                found.append(str(w))
        except LabsError:
            continue
    return sorted(found, key=lambda p: (Path(p).stem != REFERENCE_NAME, p))


def no_checkpoint_message() -> str:
    return (f"no CIFAR-10 ResNet checkpoint in {CHECKPOINT_DIR}: press 'Train a CIFAR-10 ResNet first' "
            f"or run `{TRAIN_HINT}`")


def load_source(path: str | Path | None, image_shape: tuple[int, int, int] | None = None):
    """(model, meta) of a ResNet checkpoint with the seed's widths; LabsError naming the problem otherwise.

    image_shape (C, H, W): the target data's, which the network's input must match.
    """
    path = str(path or "").strip()
    if not path:
        raise LabsError(no_checkpoint_message())
    meta = read_metadata(path)
    args = meta["model_args"]
    if meta["model"] != "resnet":
        raise LabsError(f"{Path(path).name} is a {meta['model']} checkpoint; transfer needs a ResNet trained on "
                        f"CIFAR-10 (train one with `{TRAIN_HINT}`)")
    widths = list(args.get("widths", SOURCE_WIDTHS))
    if widths != SOURCE_WIDTHS:
        raise LabsError(f"{Path(path).name} has widths {widths}; the seed's network has widths {SOURCE_WIDTHS} "
                        f"(train one with `{TRAIN_HINT}`)")
    if "normalization" not in meta:
        raise LabsError(f"{Path(path).name}.json has no 'normalization' (mean/std); re-save it with "
                        f"`python -m labs train ...`")
    model, meta = load_checkpoint(path)
    if image_shape is not None:
        have = (int(args.get("in_channels", 3)), int(args.get("image_size", 32)))
        if have != (image_shape[0], image_shape[1]):
            raise LabsError(f"{Path(path).name} takes {have[0]}x{have[1]}x{have[1]} images but the target data "
                            f"are {image_shape[0]}x{image_shape[1]}x{image_shape[2]}; pick a matching checkpoint")
    return model, meta


def train_source(out: str | Path | None = None, dataset: str = SOURCE_DATASET, n_train: int = 10000,
                 n_test: int = 2000, epochs: int = 2, depth=(7, 7), seed: int = 0, stop=None):
    """Train the source ResNet like `python -m labs train` does and save it with the same metadata.

    Yields fit's records; the last one is {"kind": "saved", "path", "test_acc"}.
    """
    from labs.core.cli import model_args_for
    from labs.core.data import load_dataset
    from labs.core.engine import TrainConfig, fit, seed_everything
    from labs.core.models import build_model

    out = Path(out) if out else CHECKPOINT_DIR / TRAINED_HERE_NAME
    data = load_dataset(dataset).subset(n_train or None, n_test or None, seed=seed)
    margs = model_args_for("resnet", data.image_shape, data.num_classes, tuple(depth), tuple(SOURCE_WIDTHS))
    seed_everything(seed)
    model = build_model("resnet", **margs)
    augment = data.image_shape[0] == 3 and data.image_shape[1] >= 32  # the train command's default
    # The train command's defaults (SGD Nesterov, peak lr 0.1, OneCycle, wd 5e-4, batch 128).
    config = TrainConfig(epochs=epochs, batch_size=min(128, len(data.y_train)), lr=0.1, optimizer="sgd",
                         weight_decay=5e-4, schedule="onecycle", augment=augment, seed=seed, log_every=20,
                         grad_norms=False)
    end = {}
    for rec in fit(model, data, config, stop=stop):
        if rec["kind"] == "end":
            end = rec
        yield rec
    if end.get("stopped"):
        raise LabsError("training stopped before the end; nothing saved")
    command = (f"python -m labs train --model resnet --dataset {dataset} --depth {','.join(map(str, depth))} "
               f"--widths 16,32 --epochs {epochs} --batch-size {config.batch_size} --lr 0.1 "
               f"--train-subset {n_train} --test-subset {n_test} --seed {seed} --out {out}")
    path = save_checkpoint(out, model, "resnet", margs, dataset=dataset, num_classes=data.num_classes,
                           normalization={"mean": list(data.mean), "std": list(data.std)},
                           data={"n_train": len(data.y_train), "n_test": len(data.y_test)},
                           config=end["config"], seed=seed,
                           metrics={k: end[k] for k in ("final_test_acc", "best_test_acc", "final_train_loss",
                                                        "steps", "seconds")},
                           curves=end["history"], device=end["device"], command=command)
    yield {"kind": "saved", "path": str(path), "test_acc": end["final_test_acc"]}

