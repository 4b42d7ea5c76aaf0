"""The source network: a CIFAR-10 ResNet checkpoint, found, validated, or trained when there is none.

The seed transfers a ResNet[7,7] with widths (16, 32); a checkpoint of another
architecture or width is refused with a message, because the strategies' module
names and the seed's parameter counts refer to that network. The depth may differ
(tests use ResNet[1,1]); the counts in the table are then that network's.
"""

from __future__ import annotations

from pathlib import Path

from labs.core.checkpoints import checkpoint_dir, list_checkpoints, load_checkpoint, read_metadata
from labs.core.errors import LabsError
from labs.core.recipes import REFERENCE_HINT, recipe, train_and_save

SOURCE_DATASET = "cifar10"
SOURCE_WIDTHS = [16, 32]
REFERENCE_NAME = "resnet77_cifar10"   # the project's reference checkpoint, checkpoints/resnet77_cifar10.*
QUICK_RECIPE = "resnet77_cifar10_quick"  # labs.core.recipes' quick CIFAR-10 classifier; saved under this name


def source_checkpoints(folder: str | Path | None = None) -> list[str]:
    """ResNet checkpoints trained on CIFAR-10 in `folder` (default checkpoint_dir()), the reference first."""
    found = [str(w) for w in list_checkpoints(folder or checkpoint_dir(), dataset=SOURCE_DATASET, model="resnet")]
    return sorted(found, key=lambda p: (Path(p).stem != REFERENCE_NAME, p))


def no_checkpoint_message(in_tab: bool = True) -> str:
    """What to do without a source network; the page's version names no server folder."""
    if in_tab:
        return f"no CIFAR-10 ResNet checkpoint yet: press 'Train a CIFAR-10 ResNet first' (or run {REFERENCE_HINT})"
    return f"no CIFAR-10 ResNet checkpoint in {checkpoint_dir()}: run {REFERENCE_HINT}"


def source_names(folders) -> list[str]:
    """Names (no folder) of the source checkpoints in `folders`, the first folder's first: a session's own model
    (public mode) shadows a committed one of the same name for that session."""
    return list(dict.fromkeys(Path(p).stem for folder in folders for p in source_checkpoints(folder)))


def source_by_name(name, folders) -> str:
    """The weights path behind a listed name. The page picks by name only: a name that is not listed is a
    LabsError, and nothing outside `folders` is ever opened for it."""
    name = "" if name is None else str(name)
    if not name.strip():
        raise LabsError(no_checkpoint_message())
    names = source_names(folders)
    if name not in names:
        listed = ", ".join(names) if names else "none yet: train one first"
        raise LabsError(f"invalid checkpoint: expected a name from the list ({listed}), got {name[:60]!r}")
    return next(str(Path(f) / f"{name}.safetensors") for f in folders if (Path(f) / f"{name}.safetensors").is_file())


def train_quick_source(stop=None, out: str | Path | None = None, **overrides):
    """'Train a CIFAR-10 ResNet first': train_and_save(**recipe("resnet77_cifar10_quick", **overrides)) into
    checkpoint_dir()/resnet77_cifar10_quick (or `out`); yields train_and_save's records. A finished run's
    measured speed calibrates labs.core.eta."""
    from labs.transfer.experiment import observe_fit

    args = recipe(QUICK_RECIPE, **overrides)
    start = {}
    for rec in train_and_save(**args, out=out or checkpoint_dir() / QUICK_RECIPE, stop=stop):
        if rec["kind"] == "start":
            start = rec
        elif rec["kind"] == "end":
            observe_fit(rec, start["model_args"].get("depth", (7, 7)),
                        (start["model_args"].get("in_channels", 3), start["model_args"].get("image_size", 32),
                         start["model_args"].get("image_size", 32)), start["n_train"], start["n_test"])
        yield rec


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
                        f"CIFAR-10 (train one with {REFERENCE_HINT})")
    widths = list(args.get("widths", SOURCE_WIDTHS))
    if widths != SOURCE_WIDTHS:
        raise LabsError(f"{Path(path).name} has widths {widths}; the seed's network has widths {SOURCE_WIDTHS} "
                        f"(train one with {REFERENCE_HINT})")
    if "normalization" not in meta:
        raise LabsError(f"{Path(path).name}.json has no 'normalization' (mean/std); re-save it with "
                        f"`python -m labs train ...`")
    if image_shape is not None:
        have = (int(args.get("in_channels", 3)), int(args.get("image_size", 32)))
        if have != (image_shape[0], image_shape[1]):
            raise LabsError(f"{Path(path).name} takes {have[0]}x{have[1]}x{have[1]} images but the target data "
                            f"are {image_shape[0]}x{image_shape[1]}x{image_shape[2]}; pick a matching checkpoint")
    return load_checkpoint(path)
