"""Lazy, shared, offline-aware loading of the caption and story models.

A model id is a hub id or a local folder. Each (model, device, dtype) loads once per
process, in a background thread, and is shared by every generator and every user:
whoever asks while it loads waits for that same load and reads the same progress
(`loading()` yields its status lines, e.g. "downloading BLIP captioning model (990 MB):
35%"). With no network an uncached hub id must fail in seconds (transformers alone
retries for minutes): try the cache / folder first with local_files_only=True, then go
to the network only if HF_HUB_OFFLINE is unset and the hub answers a 2-s probe.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from labs.core.errors import LabsError
from labs.core.hardware import cpu_has_bf16
from labs.story.progress import LoadProgress

CAPTION_ENV, STORY_ENV = "LABS_CAPTION_MODEL", "LABS_STORY_MODEL"
DEFAULT_CAPTION_MODEL = "Salesforce/blip-image-captioning-base"
DEFAULT_STORY_MODEL = "roneneldan/TinyStories-33M"


@dataclass
class _Loaded:
    model: Any
    processor: Any                                          # BlipProcessor or a tokenizer
    device: Any
    dtype: Any
    lock: threading.Lock                  # held while the model computes (see _CPU_LOCK)


@dataclass
class _Pending:
    """A load in progress: everyone asking for the model meanwhile waits on `done` and reads `progress`."""
    progress: LoadProgress
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


_CACHE: dict[tuple, _Loaded] = {}
_PENDING: dict[tuple, _Pending] = {}
# On CPU one model computes at a time, whichever user asked: two at once oversubscribe
# the cores, and intra-op threads spinning against each other ran 4x slower here.
_CPU_LOCK = threading.Lock()
_CACHE_LOCK = threading.Lock()  # guards _CACHE and _PENDING (held briefly)
_LOAD_LOCK = threading.Lock()   # one load at a time: lazy first imports racing in threads can deadlock
_HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub answers within `timeout` s (any HTTP status counts)."""
    import urllib.error
    import urllib.request

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    answer: list[bool] = []

    def probe():
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout).close()
            answer.append(True)
        except urllib.error.HTTPError:
            answer.append(True)
        except Exception:  # noqa: BLE001 - DNS, refused, TLS, timeout: all mean "not now"
            answer.append(False)

    # A thread, because DNS lookups ignore socket timeouts.
    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    return bool(answer and answer[0])


def _first_line(err: BaseException) -> str:
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return line[:160]


def _fix(env: str) -> str:
    return f"set {env}=/path/to/local/folder (a save_pretrained folder) or a reachable hub id"


def _is_folder(model_id: str) -> bool:
    return Path(model_id).expanduser().exists() or not _HUB_ID.fullmatch(model_id)


def _from_pretrained(loader, model_id: str, env: str, label: str, progress: LoadProgress | None = None):
    """loader(model_id, local_files_only) under the offline rule: cache or folder first,
    then the network only if the hub answers, so no-internet fails in seconds, not minutes."""
    fix = _fix(env)
    local = Path(model_id).expanduser()
    is_folder = _is_folder(model_id)
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a local load takes a second: its bars are noise in the CLI
    try:
        return loader(str(local) if is_folder else model_id, True)
    except Exception as err:  # noqa: BLE001 - OSError, ValueError, corrupt json/safetensors...
        if is_folder:
            raise LabsError(f"{label} folder {model_id} is not a usable model ({_first_line(err)}): {fix}") from None
    finally:
        if bars:  # a download's progress bar is worth seeing
            hf_logging.enable_progress_bar()
    if _offline():
        raise LabsError(f"{label} {model_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set: "
                        f"download it once online, or {fix}")
    if not hub_reachable():
        raise LabsError(f"{label} {model_id!r} is not cached and huggingface.co is unreachable (offline?): "
                        f"connect once to download it, or {fix}")
    if progress is not None:
        progress.downloading = True
    try:
        return loader(model_id, False)
    except Exception as err:  # noqa: BLE001
        raise LabsError(f"{label} {model_id!r} could not be downloaded ({_first_line(err)}): {fix}") from None


def _device_and_dtype(kind: str, device=None, dtype=None):
    import torch

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    elif dtype is None and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    elif dtype is None:
        # BLIP's caption (ViT-B/16 at 384 px + beam search) is compute-bound: native bf16
        # halves it (1 thread: 3.3 -> 1.7 CPU-s, bench/story_latency.py). The story LM is
        # memory-bound at batch 1 and gained nothing (25 vs 26 tokens/s): it stays fp32.
        dtype = torch.bfloat16 if kind == "caption" and cpu_has_bf16() else torch.float32
    return device, dtype


# tqdm_class: huggingface_hub reports the weights' download through it (see progress.py)
def _load_blip(model_id, local_only, dtype, tqdm_class=None):
    from transformers import BlipForConditionalGeneration, BlipProcessor

    processor = BlipProcessor.from_pretrained(model_id, local_files_only=local_only)
    model = BlipForConditionalGeneration.from_pretrained(model_id, local_files_only=local_only, dtype=dtype,
                                                         tqdm_class=tqdm_class)
    return model, processor


def _load_causal_lm(model_id, local_only, dtype, tqdm_class=None):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=local_only)
    model = AutoModelForCausalLM.from_pretrained(model_id, local_files_only=local_only, dtype=dtype,
                                                 tqdm_class=tqdm_class)
    return model, tokenizer


# kind -> (environment variable, label in messages, loader)
_KINDS = {"caption": (CAPTION_ENV, "caption model", _load_blip),
          "story": (STORY_ENV, "story model", _load_causal_lm)}


def model_id(kind: str, given: str | None = None) -> str:
    """The model a story uses for `kind`: `given`, else $LABS_CAPTION_MODEL / $LABS_STORY_MODEL, else the seed's."""
    return given or os.environ.get(_KINDS[kind][0]) or {"caption": DEFAULT_CAPTION_MODEL,
                                                         "story": DEFAULT_STORY_MODEL}[kind]


def is_loaded(kind: str, model_id: str) -> bool:
    """Whether this process holds `model_id` for `kind` (on any device and dtype)."""
    with _CACHE_LOCK:
        return any(key[:2] == (kind, model_id) for key in _CACHE)


def check_folder(kind: str, model_id: str) -> None:
    """A folder id that does not exist fails here, before the slow imports."""
    env, label, _ = _KINDS[kind]
    if _is_folder(model_id) and not Path(model_id).expanduser().is_dir():
        raise LabsError(f"{label} folder {model_id} does not exist: {_fix(env)}")


def _key(kind: str, model_id: str, device=None, dtype=None) -> tuple[tuple, Any, Any]:
    """(cache key, device, dtype) of a model."""
    if "torch" in sys.modules:  # not under _LOAD_LOCK: a load holds it for as long as a download takes
        dev, dt = _device_and_dtype(kind, device, dtype)
    else:
        with _LOAD_LOCK:  # the first call imports torch (before any load thread starts)
            dev, dt = _device_and_dtype(kind, device, dtype)
    return (kind, model_id, str(dev), str(dt)), dev, dt


def _load(key: tuple, dev, dt, pending: _Pending) -> None:
    """The one load of `key` (a background thread): into _CACHE, or its error into `pending`."""
    kind, model_id = key[:2]
    env, label, loader = _KINDS[kind]
    try:
        bar = pending.progress.bar_class()
        with _LOAD_LOCK:
            model, processor = _from_pretrained(lambda mid, lo: loader(mid, lo, dt, bar), model_id, env, label,
                                                pending.progress)
            model.to(dev).eval().requires_grad_(False)
        loaded = _Loaded(model, processor, dev, dt, _CPU_LOCK if dev.type == "cpu" else threading.Lock())
        with _CACHE_LOCK:
            _CACHE[key] = loaded
    except BaseException as err:  # noqa: BLE001 - handed to every waiter
        pending.error = err
    finally:
        with _CACHE_LOCK:
            _PENDING.pop(key, None)  # a failed load is tried afresh next time
        pending.done.set()


def loading(kind: str, model_id: str, device=None, dtype=None, stop: threading.Event | None = None,
            poll: float = 0.25) -> Iterator[str]:
    """Load the model unless cached, yielding status lines while it loads (nothing when cached).

    Concurrent callers share one load and its progress. Returns early, the load going on
    for the next caller, when `stop` is set; raises the load's LabsError to every waiter.
    """
    _, label, _ = _KINDS[kind]
    check_folder(kind, model_id)
    key, dev, dt = _key(kind, model_id, device, dtype)
    with _CACHE_LOCK:
        if key in _CACHE:
            return
        pending = _PENDING.get(key)
        starts = pending is None
        if starts:
            pending = _PENDING[key] = _Pending(LoadProgress(label, model_id))
        said = pending.progress.line()  # read before the load starts: its first caller always sees "loading…"
        if starts:
            threading.Thread(target=_load, args=(key, dev, dt, pending), daemon=True, name=f"load-{kind}").start()
    yield said
    while not pending.done.wait(poll):
        if stop is not None and stop.is_set():
            return
        if (line := pending.progress.line()) != said:
            said = line
            yield line
    if isinstance(pending.error, LabsError):
        raise LabsError(str(pending.error)) from None  # a fresh one per waiter (they run in their own threads)
    if pending.error is not None:
        raise pending.error


def load_model(kind: str, model_id: str, device=None, dtype=None) -> _Loaded:
    """The cached model bundle, loading it on first use (thread-safe, once per process)."""
    for _ in loading(kind, model_id, device, dtype):
        pass
    key, _, _ = _key(kind, model_id, device, dtype)
    with _CACHE_LOCK:
        return _CACHE[key]
