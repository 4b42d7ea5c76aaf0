"""Checkpoints: NAME.safetensors (weights only, never pickle) + NAME.json (everything else).

The JSON holds the model name and arguments, data set, normalisation, training
config, seed, final metrics, per-epoch curves and the code version. Loading
rebuilds the model from the JSON and checks every tensor name and shape against
the weights; any mismatch is a LabsError naming the file and the difference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

import labs
from labs.core.errors import LabsError
from labs.core.models import MODELS, build_model

CHECKPOINT_DIR = Path(__file__).resolve().parents[2] / "checkpoints"  # the repository's committed checkpoints


def checkpoint_dir() -> Path:
    """Where checkpoints are listed and saved: $LABS_CHECKPOINT_DIR, else the repository's checkpoints/."""
    env = os.environ.get("LABS_CHECKPOINT_DIR")
    return Path(env).expanduser() if env else CHECKPOINT_DIR


def save_dir(session: str | None = None) -> Path:
    """Where a model trained from the page is saved: in public mode the session's own temporary folder
    (labs.core.public; the checkpoint folder is read-only there), else checkpoint_dir()."""
    from labs.core import public

    if not public.is_public():
        return checkpoint_dir()
    folder = public.session_dir(session, create=True)
    if folder is None:
        raise LabsError("public mode: a model trained here belongs to a browser session, and this request has "
                        "none; open the page to train one")
    return folder


def folders(session: str | None = None) -> list[Path]:
    """Where the page looks for checkpoints: the session's own folder (public mode, if it has one), then
    checkpoint_dir(). A session's model shadows a committed one of the same name for that session only."""
    from labs.core import public

    own = public.session_dir(session)
    return ([own] if own is not None and own.is_dir() else []) + [checkpoint_dir()]


def find(name: str, session: str | None = None) -> Path | None:
    """NAME.safetensors in the first of folders(session) that has it, else None."""
    return next((f / f"{name}.safetensors" for f in folders(session) if (f / f"{name}.safetensors").exists()),
                None)


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, metadata) for 'x', 'x.json' or 'x.safetensors'."""
    p = Path(path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


def save_checkpoint(path: str | Path, model: nn.Module, model_name: str, model_args: dict, **meta) -> Path:
    """Write weights and metadata atomically; returns the .safetensors path."""
    from safetensors.torch import save_file

    weights, info = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    record = {"model": model_name, "model_args": _jsonable(model_args), "code_version": labs.__version__,
              "num_parameters": sum(p.numel() for p in model.parameters()), **_jsonable(meta)}
    tmp_w, tmp_j = weights.with_suffix(".safetensors.tmp"), info.with_suffix(".json.tmp")
    save_file(state, str(tmp_w), metadata={"model": model_name})
    tmp_j.write_text(json.dumps(record, indent=1, allow_nan=True))
    os.chmod(tmp_w, 0o644)  # safetensors writes 0600; a checkpoint is meant to be shared
    os.replace(tmp_w, weights)
    os.replace(tmp_j, info)
    return weights


MAX_METADATA_BYTES = 16 * 2**20  # a checkpoint's JSON is a few kB (curves included); anything huge is not one


def read_metadata(path: str | Path) -> dict:
    """NAME.json, checked: an object naming a registered model with its arguments, and a usable
    normalisation (one finite mean and one finite std > 0 per input channel) when it has one. Messages
    name the file, not its folder: the page must not show server paths."""
    weights, info = checkpoint_paths(path)
    try:
        if not info.is_file():
            raise LabsError(f"checkpoint metadata {info.name} is missing (a checkpoint is NAME.safetensors + "
                            f"NAME.json); train one with `python -m labs train ...`")
        if info.stat().st_size > MAX_METADATA_BYTES:
            raise LabsError(f"{info.name} is {info.stat().st_size:,} bytes, too large for a checkpoint's metadata "
                            f"(at most {MAX_METADATA_BYTES:,}); re-save the checkpoint")
        text = info.read_text()
    except OSError as err:  # a name too long, a folder without permission: the file cannot be read
        raise LabsError(f"cannot read the checkpoint {info.name[:60]!r}: {err.strerror or err}") from None
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise LabsError(f"{info.name} is not valid JSON ({err}); re-save the checkpoint") from None
    except RecursionError:
        raise LabsError(f"{info.name} is nested too deeply to be a checkpoint's metadata; re-save the "
                        f"checkpoint") from None
    if not isinstance(meta, dict) or meta.get("model") not in MODELS or not isinstance(meta.get("model_args"), dict):
        raise LabsError(f"{info.name} does not describe a known model (needs a JSON object with 'model' in "
                        f"{list(MODELS)} and 'model_args'); re-save the checkpoint")
    if "normalization" in meta:
        _check_normalization(meta["normalization"], meta["model_args"], info.name)
    return meta


def _check_normalization(norm, model_args: dict, name: str) -> None:
    """{"mean": [...], "std": [...]}: finite numbers, std > 0, one per input channel; else a LabsError."""
    import math

    channels = model_args.get("in_channels")
    if not isinstance(norm, dict):
        raise LabsError(f"invalid normalization in {name}: expected an object with 'mean' and 'std' lists, "
                        f"got {type(norm).__name__}; re-save the checkpoint")
    for key in ("mean", "std"):
        values = norm.get(key)
        ok = (isinstance(values, list) and values
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
              and (key == "mean" or all(v > 0 for v in values))
              and (not isinstance(channels, int) or len(values) == channels))
        if not ok:
            want = "finite numbers > 0" if key == "std" else "finite numbers"
            count = f"{channels} " if isinstance(channels, int) else ""
            raise LabsError(f"invalid normalization {key} in {name}: expected a list of {count}{want} (one per "
                            f"input channel), got {str(values)[:60]}; re-save the checkpoint")


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model from NAME.json and load NAME.safetensors into it, checking they agree."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, info = checkpoint_paths(path)
    try:
        present = weights.is_file()
    except OSError as err:  # e.g. a name too long for the file system
        raise LabsError(f"cannot read the checkpoint {weights.name[:60]!r}: {err.strerror or err}") from None
    if not present:
        raise LabsError(f"checkpoint weights {weights.name} are missing; train one with `python -m labs train ...` "
                        f"or pick another file")
    meta = read_metadata(path)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise LabsError(f"{weights.name} is not a readable .safetensors file ({err}); re-train or re-download "
                        f"it") from None
    try:
        model = build_model(meta["model"], **meta["model_args"])
    except LabsError as err:
        raise LabsError(f"{info.name} has invalid model arguments: {err}") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or extra or shapes:
        detail = "; ".join(filter(None, [
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}" if missing else "",
            f"unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}" if extra else "",
            f"shape of {shapes[0]}: weights {tuple(state[shapes[0]].shape)} vs JSON "
            f"{tuple(expected[shapes[0]].shape)}" if shapes else ""]))
        raise LabsError(f"{weights.name} does not match {info.name} ({meta['model']} {meta['model_args']}): {detail}. "
                        f"Keep each .safetensors with the .json it was saved with")
    model.load_state_dict(state)
    return model.to(device).eval(), meta


def list_checkpoints(folder: str | Path | None = None, dataset: str | None = None,
                     model: str | tuple[str, ...] | None = None, session: str | None = None) -> list[Path]:
    """Checkpoints (their .safetensors paths) in `folder` with a JSON, optionally for one data set and
    registered model name(s) (e.g. model="resnet", or the classifiers: model=CLASSIFIERS). Without a
    folder: folders(session), the session's own first, one per name."""
    if folder is None and session is not None:
        first: dict[str, Path] = {}
        for w in (w for f in folders(session) for w in list_checkpoints(f, dataset, model)):
            first.setdefault(w.stem, w)
        return list(first.values())
    folder = Path(folder) if folder else checkpoint_dir()
    out = []
    for w in sorted(folder.glob("*.safetensors")):
        try:
            meta = read_metadata(w)
        except LabsError:
            continue
        models = (model,) if isinstance(model, str) else model
        if (dataset is None or meta.get("dataset") == dataset) and (models is None or meta["model"] in models):
            out.append(w)
    return out


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj
