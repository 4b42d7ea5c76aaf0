"""Train a registered model on a registered data set and save it with its provenance: the one recipe.

The CLI's `train`, the transfer tab's "train a source network first", the ODIN
tab's "train a classifier" / "train the autoencoder" and the reference runs all
call `train_and_save`, so every checkpoint JSON has the same fields:

    model, model_args, code_version, num_parameters, dataset, num_classes, normalization,
    data {n_train, n_test}, config (TrainConfig), seed, metrics, curves, device, command

Named recipes (`RECIPES`) are plain dicts of train_and_save's arguments; the quick
CIFAR-10 classifier has one name and one recipe wherever it is trained.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from labs.core.errors import LabsError
from labs.core.params import fail

# How the committed reference classifier is made (the `reference` stage, recipe resnet77_cifar10_reference, 80
# epochs) and how to make a good one faster (the fast recipe: 4 of its epochs took 24.5 min here for 78.6%,
# bench/time_to_accuracy.py): what a missing-checkpoint message points to.
REFERENCE_HINT = ("`python -m labs reproduce --stage reference` (the reference: 80 epochs, hours on a CPU), or "
                  "`python -m labs train --recipe resnet77_cifar10_fast --out checkpoints/resnet77_cifar10` "
                  "(6 epochs, about 40 min on a 2-core CPU)")


def model_args_for(model: str, image_shape: tuple[int, int, int], num_classes: int, depth=None, widths=None) -> dict:
    """Constructor arguments for registered `model` on data of shape (C, H, W)."""
    c, h, _ = image_shape
    if model == "conv_autoencoder":
        if h != 32:
            fail("dataset", "32x32 images for the autoencoder", f"{h}x{h}")
        return {"in_channels": c, **({"widths": list(widths)} if widths else {})}
    args = {"num_classes": num_classes, "in_channels": c, "image_size": h}
    if model in ("mlp", "residual_mlp"):
        if depth:
            args["depth"] = depth[0]
        if widths:
            args["width"] = widths[0]
    else:
        if depth:
            args["depth"] = list(depth)
        if widths:
            args["widths"] = list(widths)
        elif depth and len(depth) != 2:
            args["widths"] = [16 * 2 ** i for i in range(len(depth))]
    return args


def command_line(model: str, dataset: str, train, depth=None, widths=None, n_train: int = 0, n_test: int = 0,
                 out: str | Path | None = None) -> str:
    """The `python -m labs train ...` command that reproduces a run (stored in every checkpoint JSON)."""
    from labs.core.train_config import TrainConfig

    parts = ["python -m labs train", f"--model {model}", f"--dataset {dataset}"]
    if depth:
        parts.append("--depth " + ",".join(str(d) for d in depth))
    if widths:
        parts.append("--widths " + ",".join(str(w) for w in widths))
    default = TrainConfig()
    for name, flag in (("epochs", "--epochs"), ("batch_size", "--batch-size"), ("lr", "--lr"),
                       ("optimizer", "--optimizer"), ("weight_decay", "--weight-decay"), ("schedule", "--schedule"),
                       ("label_smoothing", "--label-smoothing"), ("seed", "--seed")):
        parts.append(f"{flag} {getattr(train, name)}")
    if train.augment != default.augment:
        parts.append("--augment" if train.augment else "--no-augment")
    if n_train:
        parts.append(f"--train-subset {n_train}")
    if n_test:
        parts.append(f"--test-subset {n_test}")
    if out:
        parts.append(f"--out {out}")
    return " ".join(parts)


def train_and_save(model: str, dataset: str, train, out: str | Path, depth=None, widths=None, n_train: int = 0,
                   n_test: int = 0, stop: threading.Event | None = None, device=None, download: bool = False,
                   command: str | None = None):
    """Build `model` for `dataset`, fit it with `train` (a TrainConfig), save it to `out` (+ .json).

    Yields {"kind": "start", ...} (model, arguments, parameter count, image counts), then every fit
    record, then {"kind": "saved", "path", "metrics"}; a stopped run is not saved and ends with
    {"kind": "not_saved", "reason"} instead (a half-trained checkpoint must not look like a finished one).
    """
    from labs.core.checkpoints import save_checkpoint
    from labs.core.data import load_dataset
    from labs.core.engine import fit, seed_everything
    from labs.core.models import build_model, count_parameters, objective_of

    from labs.core import params

    for name, value in (("n_train", n_train), ("n_test", n_test)):  # 0 or None = the whole split; -1 is a typo
        params.check_value(name, params.Interval(int, 0, None), 0 if value is None else value)
    data = load_dataset(dataset, download=download).subset(n_train or None, n_test or None, seed=train.seed)
    margs = model_args_for(model, data.image_shape, data.num_classes, depth, widths)
    seed_everything(train.seed)
    net = build_model(model, **margs)
    train = replace(train, objective=objective_of(model))
    yield {"kind": "start", "model": model, "model_args": margs, "parameters": count_parameters(net),
           "dataset": dataset, "n_train": len(data.y_train), "n_test": len(data.y_test)}
    end: dict = {}
    for rec in fit(net, data, train, stop=stop, device=device):
        if rec["kind"] == "end":
            end = rec
        yield rec
    if end.get("stopped"):
        yield {"kind": "not_saved", "reason": "stopped before the end: nothing was saved"}
        return
    metrics = {k: end[k] for k in ("final_test_acc", "best_test_acc", "final_test_loss", "final_train_loss",
                                   "steps", "seconds") if k in end}
    metrics["check"] = subset_check(net, data, train)
    path = save_checkpoint(out, net, model, margs, dataset=dataset, num_classes=data.num_classes,
                           normalization={"mean": list(data.mean), "std": list(data.std)},
                           data={"n_train": len(data.y_train), "n_test": len(data.y_test)},
                           config=end["config"], seed=train.seed, metrics=metrics, curves=end["history"],
                           device=end["device"],
                           command=command or command_line(model, dataset, train, depth, widths, n_train, n_test, out))
    yield {"kind": "saved", "path": str(path), "metrics": metrics}


CHECK_IMAGES = 2000  # the fixed test subset every checkpoint's JSON states a result on (tests re-evaluate it)


def subset_check(net, data, train) -> dict:
    """The model's result on the first CHECK_IMAGES test images (class balanced for CIFAR), evaluated as fit
    evaluates (flip TTA when the config says so): a quick, exact check that a checkpoint is what its JSON says."""
    from labs.core.inference import evaluate

    n = min(CHECK_IMAGES, len(data.y_test))
    loss, acc = evaluate(net, data.x_test[:n], data.y_test[:n], data.mean, data.std, amp=train.amp,
                         objective=train.objective, flip=train.tta_flip)
    return {"images": n, "flip": bool(train.tta_flip), **({"test_loss": loss} if train.objective != "classification"
                                                          else {"test_acc": acc})}


def _recipes() -> dict[str, dict]:
    from labs.core.train_config import TrainConfig

    return {
        # The quick CIFAR-10 classifier the transfer and ODIN tabs offer when no reference exists:
        # a few CPU minutes, SGD-Nesterov OneCycle with augmentation (the train command's defaults).
        "resnet77_cifar10_quick": dict(
            model="resnet", dataset="cifar10", depth=(7, 7), widths=(16, 32), n_train=10_000, n_test=2_000,
            train=TrainConfig(epochs=2, batch_size=128, lr=0.1, optimizer="sgd", weight_decay=5e-4,
                              schedule="onecycle", augment=True, log_every=20, grad_norms=False)),
        # ResNet[7,7] to the seed's 78% on CIFAR-10 in as few epochs as possible (bench/time_to_accuracy.py):
        # OneCycle with a high peak, label smoothing, test-time flip.
        "resnet77_cifar10_fast": dict(
            model="resnet", dataset="cifar10", depth=(7, 7), widths=(16, 32), n_train=0, n_test=0,
            train=TrainConfig(epochs=6, batch_size=256, lr=0.2, optimizer="sgd", weight_decay=5e-4,
                              schedule="onecycle", label_smoothing=0.1, augment=True, tta_flip=True, log_every=20,
                              grad_norms=False)),
        # The reference classifier the transfer and ODIN labs start from (`python -m labs reproduce --stage
        # reference`): the fast recipe run long enough for ResNet-20's 91.25% class of result.
        "resnet77_cifar10_reference": dict(
            model="resnet", dataset="cifar10", depth=(7, 7), widths=(16, 32), n_train=0, n_test=0,
            train=TrainConfig(epochs=80, batch_size=256, lr=0.2, optimizer="sgd", weight_decay=5e-4,
                              schedule="onecycle", label_smoothing=0.1, augment=True, tta_flip=True, log_every=50,
                              grad_norms=False)),
        # The ODIN lab's reconstruction-error detector: Adam without weight decay, cosine to 0.
        "autoencoder_cifar10": dict(
            model="conv_autoencoder", dataset="cifar10", n_train=20_000, n_test=1_000,
            train=TrainConfig(epochs=3, batch_size=128, lr=2e-3, optimizer="adam", weight_decay=0.0,
                              schedule="cosine", augment=False, log_every=20, grad_norms=False)),
    }


def recipe(name: str, **overrides) -> dict:
    """A named recipe's arguments for train_and_save; `overrides` may change the data (dataset, n_train, n_test),
    the network's size (depth, widths) and epochs / seed / batch_size (tests and dry runs shrink a recipe)."""
    recipes = _recipes()
    if name not in recipes:
        raise LabsError(f"unknown recipe {name!r}; choose one of: {', '.join(recipes)}")
    args = dict(recipes[name])
    train_keys = ("epochs", "seed", "batch_size")  # TrainConfig fields a caller may change
    allowed = {"dataset", "depth", "widths", "n_train", "n_test", *train_keys}
    if set(overrides) - allowed:
        raise LabsError(f"recipe {name!r} takes overrides of {sorted(allowed)} only, "
                        f"got {sorted(set(overrides) - allowed)}")
    train_over = {k: overrides.pop(k) for k in train_keys if k in overrides}
    if train_over:
        from labs.core import params
        args["train"] = params.replace(args["train"], **train_over)
    args.update(overrides)
    return args
