"""What every tab shares: per-session stop and the heavy queue; form input -> config, LabsError -> gr.Error,
throttled streaming and page-load texts come from labs.ui_handlers (as ui.config, ui.handler, ui.stream,
ui.on_load).

A tab's handler is written as

    @ui.handler
    def train(epochs, lr, request: gr.Request = None):
        cfg = ui.config(SweepConfig, epochs=epochs, lr=lr)      # one validator, one message format
        with ui.job("residual", request) as stop:               # this session's stop flag for this tab
            yield from ui.stream(run_sweep(cfg, stop), render, fold=view.add, stop=stop)

and its Stop button is `ui.stop_button(button, "residual", status)`. One session's
Stop sets only that session's flags; a cancelled or disconnected stream sets its
own flag too, so the experiment behind it ends at its next check.

No torch here: tabs import this module when the page is built.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import time
from collections.abc import Callable

import gradio as gr

from labs.ui_handlers import UI_INTERVAL, config, handler, on_load, stream  # noqa: F401 (tabs: ui.config, ...)

# launch(max_file_size=...): Gradio refuses a larger upload before storing it (the story's FetchLimits.max_bytes)
MAX_FILE_SIZE = 20 * 2**20

_RUNNING: dict[tuple[str, str], set[threading.Event]] = {}  # (session, scope) -> stop flags of its jobs
_QUEUED: dict[tuple[str, str], int] = {}   # (session, scope) -> heavy requests of the page waiting for a slot
_PENDING: dict[tuple[str, str], int] = {}  # (session, scope) -> how many of those a Stop ended while they waited
_LAST: dict[tuple[str, str], dict[int, tuple[float, str]]] = {}  # (session, scope) -> component id -> (when, the
#                                                                   last text a job of the scope sent it)
NOTHING_RUNNING = "nothing is running"
STOP_WAIT = 10.0  # seconds a Stop waits for the job to end, to answer with the job's own last status
_LOCK = threading.Lock()


def _session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None) or None


def session(request: gr.Request | None) -> str | None:
    """The request's session id (None in plain Python and the CLI): what labs.core.public keys a visitor's models by."""
    return _session(request)


def heavy() -> dict:
    """Event arguments of a heavy job (training, grid search, SVM fit, story): every heavy event of every tab
    shares one queue with labs.core.public.heavy_jobs() slots, and a visitor who waits sees their place in it.
    Read when the page is built."""
    from labs.core import public

    return {"concurrency_id": "heavy", "concurrency_limit": public.heavy_jobs()}


def end_session(request: gr.Request = None) -> None:
    """The page's unload event (the visitor closed or reloaded it): stop the session's jobs and delete the
    models it trained in public mode (labs.core.public.end_session)."""
    from labs.core import public

    key = _session(request)
    with _LOCK:
        jobs = [e for (k, _), events in _RUNNING.items() if k == key for e in events] if key else []
        for table in (_QUEUED, _PENDING, _LAST):  # its waiting requests and last statuses go with it
            for k in [k for k in table if k[0] == key]:
                del table[k]
    for event in jobs:
        event.set()
    public.end_session(key)


def start(scope: str, request: gr.Request | None = None, supersede: bool = False) -> threading.Event:
    """A new stop flag for a job of this session in `scope` (a tab or part of one).

    supersede=True first stops the session's earlier jobs in the scope (e.g. a slider's previous
    request). Without a session (plain Python, the CLI) the flag is private to the caller.
    """
    event = threading.Event()
    key = _session(request)
    if key is None:
        return event
    with _LOCK:
        jobs = _RUNNING.setdefault((key, scope), set())
        if supersede:
            for old in jobs:
                old.set()
            jobs.clear()
        jobs.add(event)
    return event


def finish(scope: str, request: gr.Request | None, event: threading.Event) -> None:
    """Forget a finished job's flag."""
    key = _session(request)
    with _LOCK:
        jobs = _RUNNING.get((key, scope)) if key else None
        if jobs is not None:
            jobs.discard(event)
            if not jobs:
                _RUNNING.pop((key, scope), None)


@contextlib.contextmanager
def job(scope: str, request: gr.Request | None = None, supersede: bool = False):
    """`with ui.job(scope, request) as stop:` a stop flag (see `start`) that is forgotten when the block ends."""
    event = start(scope, request, supersede)
    try:
        yield event
    finally:
        finish(scope, request, event)


def _stop(scope: str, request: gr.Request | None) -> list[threading.Event]:
    key = _session(request)
    with _LOCK:
        jobs = list(_RUNNING.get((key, scope), ())) if key else []
        if key and _QUEUED.get((key, scope)):
            _PENDING[(key, scope)] = _QUEUED[(key, scope)]
    for event in jobs:
        event.set()
    return jobs


def stop(scope: str, request: gr.Request | None = None) -> int:
    """Set the stop flags of this session's jobs in `scope`; returns how many were running. The session's
    requests of `scope` still waiting in the heavy queue (see `heavy_event`) end as soon as their turn comes."""
    return len(_stop(scope, request))


_WAITING: set[tuple[str | None, str]] = set()  # (session, scope) whose Stop is waiting for its jobs to end


def _ended(scope: str, request: gr.Request | None, jobs: list[threading.Event], timeout: float) -> bool:
    """Wait up to `timeout` s until none of `jobs` is running (each job forgets its flag when it ends). One Stop
    per session and scope waits; another one meanwhile (a script repeating it) returns False at once instead of
    holding a server thread too."""
    key, deadline = _session(request), time.monotonic() + timeout
    with _LOCK:
        if (key, scope) in _WAITING:
            return False
        _WAITING.add((key, scope))
    try:
        while True:
            with _LOCK:
                running = _RUNNING.get((key, scope), set())
                if not any(j in running for j in jobs):
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
    finally:
        with _LOCK:
            _WAITING.discard((key, scope))


def _remember(key: str | None, scope: str, ids: list[int], out) -> None:
    """Keep the text values a heavy job just sent to its outputs (the Stop button answers with its status)."""
    if not key:
        return
    values = out if isinstance(out, (tuple, list)) and len(ids) > 1 else (out,)
    for cid, value in zip(ids, values):
        if isinstance(value, dict) and value.get("__type__") == "update":
            value = value.get("value")
        if isinstance(value, str):
            with _LOCK:
                _LAST.setdefault((key, scope), {})[cid] = (time.monotonic(), value)


def waiting(scope: str, request: gr.Request | None = None) -> int:
    """How many of this session's requests of `scope` wait in the heavy queue."""
    key = _session(request)
    with _LOCK:
        return _QUEUED.get((key, scope), 0) if key else 0


def _take_mark(scope: str, request: gr.Request | None) -> bool:
    """A marked request leaves the queue: forget its mark; True when a Stop ended it while it waited."""
    key = _session(request)
    with _LOCK:
        if not key or not _QUEUED.get((key, scope)):
            return False
        _QUEUED[(key, scope)] -= 1
        if _PENDING.get((key, scope)):
            _PENDING[(key, scope)] -= 1
            return True
    return False


def heavy_event(trigger: Callable, scope: str, fn: Callable, inputs, outputs, **kwargs):
    """Wire a heavy job (training, grid, SVM, story) to `trigger` (e.g. `button.click`): first an unqueued
    mark that this session has a request of `scope` waiting, then `fn` in the shared heavy queue (`heavy()`).
    A Stop pressed while the request still waits for a slot ends it when its turn comes, before it does
    any work (its outputs stay as they are; the Stop button's reply says so). Returns the queued event."""
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    n_out, ids = len(outs), [getattr(c, "_id", None) for c in outs]
    skip = tuple(gr.skip() for _ in range(n_out)) if n_out > 1 else gr.skip()

    def mark(request: gr.Request = None):
        key = _session(request)
        if key:
            with _LOCK:
                _QUEUED[(key, scope)] = _QUEUED.get((key, scope), 0) + 1

    def request_of(args, kwargs_) -> gr.Request | None:
        return next((a for a in (*args, *kwargs_.values()) if isinstance(a, gr.Request)), None)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def run(*args, **kw):
            request = request_of(args, kw)
            if _take_mark(scope, request):
                yield skip
                return
            gen = fn(*args, **kw)
            try:
                for out in gen:
                    _remember(_session(request), scope, ids, out)
                    yield out
            finally:  # a closed stream (Stop, disconnect) closes the job's generator now, as `yield from` did
                gen.close()
    else:
        @functools.wraps(fn)
        def run(*args, **kw):
            request = request_of(args, kw)
            if _take_mark(scope, request):
                return skip
            out = fn(*args, **kw)
            _remember(_session(request), scope, ids, out)
            return out
    return trigger(mark, None, None, queue=False, api_visibility="private", show_progress="hidden").then(
        run, inputs, outputs, **heavy(), **kwargs)


def stop_button(button: gr.Button, scope: str,
                status: gr.components.Component | list[gr.components.Component] | None = None,
                api_name: str | None = None) -> None:
    """Wire a Stop button to this session's jobs in `scope` (unqueued: it must work while a job runs). `status`:
    the line the scope's jobs write to, or a list when its jobs write to different lines (the reply goes to the
    line the stopped job wrote; the others are left as they are)."""
    lines = status if isinstance(status, list) else [status] if status is not None else []

    def on_stop(request: gr.Request = None):
        """The reply lands in the status the job writes to: it must not arrive after the job's last line and
        hide it, so it waits for the job to end and answers with that line (the page shows the truth in either
        order); a job still busy after STOP_WAIT s gets "stopping after the current step..."."""
        queued, pressed = waiting(scope, request), time.monotonic()
        jobs = _stop(scope, request)
        ended = bool(jobs and lines) and _ended(scope, request, jobs, STOP_WAIT)
        with _LOCK:
            sent = dict(_LAST.get((_session(request), scope), {}))
        written = [sent.get(line._id, (0.0, "")) for line in lines]  # (when, text) each line last got from a job
        newest = max(range(len(lines)), key=lambda i: written[i][0], default=0)
        if ended:  # only a line sent after the Stop is the stopped job's own last line (not an earlier run's)
            texts = {i: text for i, (when, text) in enumerate(written) if when >= pressed} or {newest: "stopped"}
        elif jobs:
            texts = {newest: "stopping after the current step..."}
        elif queued:
            texts = {newest: "stopped while waiting in the queue: it will not run"}
        else:  # a Stop after the run ended keeps its summary on the page instead of replacing it
            text = written[newest][1] if lines else ""
            texts = {newest: f"{text} · {NOTHING_RUNNING}" if text else NOTHING_RUNNING}
        if len(lines) < 2:
            return next(iter(texts.values()))
        return tuple(texts.get(i, gr.skip()) for i in range(len(lines)))

    button.click(on_stop, None, lines or None, queue=False, api_name=api_name or False)

