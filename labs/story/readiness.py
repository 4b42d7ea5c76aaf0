"""Whether the story tab's two models can start a story now: the line its first view shows.

Without it, a visitor learns only after pressing the button that the first story downloads about a
gigabyte, or (offline, HF_HUB_OFFLINE set) that it cannot run at all. Cheap and torch-free: it reads
the process's loaded models, the local folders and the Hugging Face cache; it never touches the network.
"""

from __future__ import annotations

import os
from pathlib import Path

from labs.story import models
from labs.story.progress import KNOWN_MODELS, megabytes

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # either one is a model's weights in the hub cache


def model_ids() -> dict[str, str]:
    """kind -> the model id a story would use now ($LABS_CAPTION_MODEL / $LABS_STORY_MODEL or the defaults)."""
    return {"caption": os.environ.get(models.CAPTION_ENV) or models.DEFAULT_CAPTION_MODEL,
            "story": os.environ.get(models.STORY_ENV) or models.DEFAULT_STORY_MODEL}


def in_hub_cache(model_id: str, cache_dir: str | Path | None = None) -> bool:
    """The config and the weights of `model_id` are in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    def cached(name: str) -> bool:
        return isinstance(try_to_load_from_cache(model_id, name, cache_dir=cache_dir), str)

    return cached("config.json") and any(cached(name) for name in WEIGHT_FILES)


def _state(kind: str, model_id: str, cache_dir) -> str:
    """'loaded' | 'folder' | 'no folder' | 'cached' | 'to download'."""
    with models._CACHE_LOCK:
        if any(key[:2] == (kind, model_id) for key in models._CACHE):
            return "loaded"
    if models._is_folder(model_id):
        return "folder" if Path(model_id).expanduser().is_dir() else "no folder"
    return "cached" if in_hub_cache(model_id, cache_dir) else "to download"


def _name(kind: str, model_id: str) -> str:
    name, size = KNOWN_MODELS.get(model_id, (f"{models._KINDS[kind][1]} {model_id}", None))
    return f"{name} ({megabytes(size)})" if size else name


def line(cache_dir: str | Path | None = None) -> str:
    """One markdown line: ready (loaded, cached or local folders), a first story that downloads what (and
    that it happens once), or why no story can run here and how to fix it."""
    ids = model_ids()
    states = {kind: _state(kind, mid, cache_dir) for kind, mid in ids.items()}
    bad = [kind for kind, s in states.items() if s == "no folder"]
    if bad:
        return "⚠️ " + "; ".join(f"{models._KINDS[k][1]} folder {ids[k]} does not exist: "
                                 f"{models._fix(models._KINDS[k][0])}" for k in bad)
    fetch = [kind for kind, s in states.items() if s == "to download"]
    if not fetch:
        where = "loaded" if all(s == "loaded" for s in states.values()) else "on this machine"
        return f"Models: {' and '.join(_name(k, ids[k]) for k in ids)}, {where}: a story starts in seconds."
    names = " and ".join(_name(k, ids[k]) for k in fetch)
    if models._offline():
        envs = " / ".join(models._KINDS[k][0] for k in fetch)
        return (f"⚠️ {names} {'is' if len(fetch) == 1 else 'are'} not in the local Hugging Face cache and "
                f"HF_HUB_OFFLINE is set, so no story can be told here: download {'it' if len(fetch) == 1 else 'them'}"
                f" once online, or set {envs} to a local folder (a save_pretrained folder).")
    return (f"The first story downloads {names} once (its progress shows under the story); later stories start "
            f"in seconds.")
