"""Whether the story tab's two models can start a story now: the line its first view shows.

Without it, a visitor learns only after pressing the button that the first story downloads about a
gigabyte, or (offline, HF_HUB_OFFLINE set) that it cannot run at all. Cheap and torch-free: it reads
the process's loaded models, the local folders and the Hugging Face cache; it never touches the network.
"""

from __future__ import annotations

from pathlib import Path

from labs.core.errors import LabsError
from labs.story import models
from labs.story.progress import known, megabytes

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # either one is a model's weights in the hub cache
KINDS = ("caption", "story")


def in_hub_cache(model_id: str, cache_dir: str | Path | None = None) -> bool:
    """The config and the weights of `model_id` are in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    def cached(name: str) -> bool:
        return isinstance(try_to_load_from_cache(model_id, name, cache_dir=cache_dir), str)

    return cached("config.json") and any(cached(name) for name in WEIGHT_FILES)


def _ready(kind: str, model_id: str, cache_dir) -> bool:
    """Loaded in this process, a local folder (models.check_folder has vouched for it), or in the hub cache."""
    return (models.is_loaded(kind, model_id) or models._is_folder(model_id)
            or in_hub_cache(model_id, cache_dir))


def _missing_folders(ids: dict[str, str]) -> list[str]:
    """models.check_folder's message for each $LABS_*_MODEL folder that does not exist."""
    said = []
    for kind, model_id in ids.items():
        try:
            models.check_folder(kind, model_id)
        except LabsError as err:
            said.append(str(err))
    return said


def _name(kind: str, model_id: str) -> str:
    name, size = known(models._KINDS[kind][1], model_id)
    return f"{name} ({megabytes(size)})" if size else name


def line(cache_dir: str | Path | None = None) -> str:
    """One markdown line: ready (loaded, cached or local folders), a first story that downloads what (and
    that it happens once), or why no story can run here and how to fix it."""
    ids = {kind: models.model_id(kind) for kind in KINDS}
    if missing := _missing_folders(ids):
        return "⚠️ " + "; ".join(missing)
    fetch = [kind for kind in KINDS if not _ready(kind, ids[kind], cache_dir)]
    if not fetch:
        where = "loaded" if all(models.is_loaded(k, ids[k]) for k in KINDS) else "on this machine"
        return f"Models: {' and '.join(_name(k, ids[k]) for k in KINDS)}, {where}: a story starts in seconds."
    names = " and ".join(_name(k, ids[k]) for k in fetch)
    if models._offline():
        envs = " / ".join(models._KINDS[k][0] for k in fetch)
        return (f"⚠️ {names} {'is' if len(fetch) == 1 else 'are'} not in the local Hugging Face cache and "
                f"HF_HUB_OFFLINE is set, so no story can be told here: download {'it' if len(fetch) == 1 else 'them'}"
                f" once online, or set {envs} to a local folder (a save_pretrained folder).")
    return (f"The first story downloads {names} once (its progress shows under the story); later stories start "
            f"in seconds.")
