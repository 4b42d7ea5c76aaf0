"""Public mode: what an anonymous visitor of a shared page (a Hugging Face Space) may ask of this machine.

On with LABS_PUBLIC=1, or automatically when SPACE_ID is set (a Space); LABS_PUBLIC=0 turns it off.
In public mode:
- every request is checked against the budget caps below (CAPS, one place; `check`), and each tab
  shows the caps next to its controls (`caps_note`); a refused request says the cap and how to run
  larger jobs (locally through the CLI, or on a duplicated Space with a GPU and LABS_PUBLIC=0);
- models a visitor trains from the page go to that session's own temporary folder (`session_dir`),
  are listed to that session only and are deleted when the session ends (`end_session`, called by
  the page's unload event); nothing the page sends writes into the checkpoint folder;
- heavy jobs (trainings, grids, SVM fits, stories) of all endpoints share one queue of
  `heavy_jobs()` slots (LABS_HEAVY_JOBS, default 1 in public mode, 2 otherwise; see labs/ui.py).
Locally (not public) nothing here limits anything. No torch, no gradio: tabs import this at page build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from labs.core.errors import LabsError

OFF = ("0", "false", "no", "off")


def is_public() -> bool:
    """LABS_PUBLIC=1 (any value but 0/false/no/off), or SPACE_ID set and LABS_PUBLIC not 0."""
    flag = os.environ.get("LABS_PUBLIC", "").strip().lower()
    if flag:
        return flag not in OFF  # an unreadable value fails safe: public
    return bool(os.environ.get("SPACE_ID"))


def heavy_jobs() -> int:
    """How many heavy jobs (of all endpoints together) run at once: LABS_HEAVY_JOBS, else 1 in public
    mode and 2 (this machine class's cores) otherwise."""
    from labs.core import params

    raw = os.environ.get("LABS_HEAVY_JOBS", "").strip()
    if not raw:
        return 1 if is_public() else 2
    return params.check_value("LABS_HEAVY_JOBS", params.Interval(int, 1, 64), raw)


def _seconds(s: float) -> str:
    from labs.core.eta import format_seconds

    return format_seconds(s)


@dataclass(frozen=True)
class Cap:
    limit: float
    what: str                   # "estimated training time per request": reads after "at most <limit>"
    seconds: bool = False       # the limit is a duration (written "10 min")

    def text(self, value: float) -> str:
        return _seconds(value) if self.seconds else f"{value:,.0f}"


# The budget of one request in public mode. A training request is measured in this machine's estimated
# seconds (labs.core.eta's measured speed once a run finished here, its speed test or reference speed before).
CAPS: dict[str, Cap] = {
    "train_seconds": Cap(600, "of estimated training time per request on this machine", seconds=True),
    "grid_pairs": Cap(36, "(T, ε) pairs per grid search"),
    "images_per_side": Cap(2_000, "images per side"),
    "svm_images": Cap(20_000, "images (train + test) per SVM fit"),
    "story_tokens": Cap(200, "new tokens per story"),  # the longest length preset (labs/story/config.py LENGTHS)
    "caption_beams": Cap(5, "caption beams"),
}

# A request kind: the caps it is checked against and the command that runs it without them.
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "mlp": (("train_seconds",), "python -m labs sweep mlp"),
    "sweep": (("train_seconds",), "python -m labs sweep resnet"),
    "transfer_svm": (("svm_images", "train_seconds"), "python -m labs transfer"),
    "transfer_finetune": (("train_seconds",), "python -m labs transfer"),
    "transfer_source": (("train_seconds",), "python -m labs train --recipe resnet77_cifar10_quick"),
    "odin_live": (("images_per_side",), "python -m labs odin"),
    "odin_grid": (("grid_pairs", "images_per_side"), "python -m labs odin"),
    "odin_classifier": (("train_seconds",), "python -m labs train --recipe resnet77_cifar10_quick"),
    "odin_autoencoder": (("train_seconds",), "python -m labs odin --train-autoencoder"),
    "story": (("story_tokens", "caption_beams"), "python -m labs story"),
}

LARGER = "duplicate this Space onto a GPU and set LABS_PUBLIC=0"


def check(kind: str, **numbers: float) -> None:
    """In public mode, refuse a `kind` request whose numbers (cap name -> this request's value) exceed a cap:
    a LabsError that states the cap and how to run larger jobs. Outside public mode: nothing."""
    caps, command = KINDS[kind]
    unknown = set(numbers) - set(caps)
    if unknown:
        raise ValueError(f"{kind} requests are not capped by {sorted(unknown)}")  # a programming error
    if not is_public():
        return
    for name, value in numbers.items():
        cap = CAPS[name]
        if value > cap.limit:
            raise LabsError(f"public mode allows at most {cap.text(cap.limit)} {cap.what} (this request: "
                            f"{'about ' if cap.seconds else ''}{cap.text(value)}); run it locally ('{command} ...'), "
                            f"or {LARGER}")


def caps_note(kind: str) -> str:
    """The one line a tab shows next to a `kind` request's controls in public mode ('' otherwise)."""
    if not is_public():
        return ""
    caps, command = KINDS[kind]
    limits = ", ".join(f"at most {CAPS[c].text(CAPS[c].limit)} {CAPS[c].what}" for c in caps)
    return (f"🔒 Public mode: {limits}. Larger jobs: run them locally (`{command}`) or {LARGER}. "
            f"Models you train here are yours only and are deleted when you close the page.")


# ----------------------------------------------------------------------------- per-session models

def session_root() -> Path:
    """Where sessions keep the models they train in public mode: $LABS_SESSION_DIR, else <tmp>/labs-sessions."""
    env = os.environ.get("LABS_SESSION_DIR")
    return Path(env).expanduser() if env else Path(tempfile.gettempdir()) / "labs-sessions"


def session_dir(session: str | None, create: bool = False) -> Path | None:
    """The session's own model folder in public mode (None outside public mode or without a session).
    The folder name is a hash of the session id: a client-sent id never becomes a path."""
    if not session or not is_public():
        return None
    folder = session_root() / hashlib.sha256(str(session).encode()).hexdigest()[:32]
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def end_session(session: str | None) -> bool:
    """Delete the session's models (the page's unload event calls this); True if there was a folder."""
    if not session:
        return False
    folder = session_root() / hashlib.sha256(str(session).encode()).hexdigest()[:32]
    if not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True
