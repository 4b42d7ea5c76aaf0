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


def read_metadata(path: str | Path) -> dict:
    weights, info = checkpoint_paths(path)
    if not info.exists():
        raise LabsError(f"checkpoint metadata {info} is missing (a checkpoint is NAME.safetensors + NAME.json); "
                        f"train one with `python -m labs train ...`")
    try:
        meta = json.loads(info.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise LabsError(f"{info} is not valid JSON ({err}); re-save the checkpoint") from None
    if not isinstance(meta, dict) or meta.get("model") not in MODELS or not isinstance(meta.get("model_args"), dict):
        raise LabsError(f"{info} does not describe a known model (needs 'model' in {list(MODELS)} and "
                        f"'model_args'); re-save the checkpoint")
    return meta


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model from NAME.json and load NAME.safetensors into it, checking they agree."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, info = checkpoint_paths(path)
    if not weights.exists():
        raise LabsError(f"checkpoint weights {weights} are missing; train one with `python -m labs train ...` "
                        f"or pick another file")
    meta = read_metadata(path)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise LabsError(f"{weights} is not a readable .safetensors file ({err}); re-train or re-download it") from None
    try:
        model = build_model(meta["model"], **meta["model_args"])
    except LabsError as err:
        raise LabsError(f"{info} has invalid model arguments: {err}") from None
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
                     model: str | tuple[str, ...] | None = None) -> list[Path]:
    """Checkpoints (their .safetensors paths) in `folder` with a JSON, optionally for one data set and
    registered model name(s) (e.g. model="resnet", or the classifiers: model=CLASSIFIERS)."""
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
