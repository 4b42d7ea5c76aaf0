"""A tab's form values -> a checked config, a LabsError -> the page's one-line gr.Error toast, an experiment's
records -> throttled redraws, and texts worked out again at every page load (re-exported by labs.ui as
ui.config, ui.handler, ui.stream, ui.on_load). No torch here."""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterable

import gradio as gr

from labs.core import params
from labs.core.errors import LabsError

UI_INTERVAL = 0.4  # seconds between live redraws: fast enough to watch, cheap enough not to slow training
REDRAW_SHARE = 0.2  # at most this share of a live run's time goes to redraws (Lab 1 A's cost ~0.3 s each on 2 cores)


def config(cls, **form):
    """Config `cls` from form values (Gradio Numbers send floats, CheckboxGroups lists): converted to the
    declared types and checked against cls.CONSTRAINTS; a bad value is a LabsError (see `handler`)."""
    return params.build(cls, **form)


def handler(fn: Callable | None = None, *, duration: float | None = 10) -> Callable:
    """Wrap an event handler (plain or generator) so that a LabsError reaches the page as a gr.Error
    (a toast with the one-line message; Gradio keeps the previous outputs). `duration`: seconds the
    toast stays, None = until closed. Use as @ui.handler or @ui.handler(duration=None)."""
    if fn is None:
        return functools.partial(handler, duration=duration)
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except LabsError as err:  # .visitor: the page's wording of a message (catalog.DataMissing)
                raise gr.Error(getattr(err, "visitor", None) or str(err), duration=duration) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LabsError as err:
            raise gr.Error(getattr(err, "visitor", None) or str(err), duration=duration) from None
    return wrapper


def on_load(fn: Callable[[], object], output: gr.components.Component) -> None:
    """Work `output`'s value out again at every page load: what the build wrote (an estimate from the speed this
    machine knew then) goes stale once a run or the speed test has measured more. Unqueued, private, no spinner:
    it only reads small files."""
    gr.on(None, fn, None, output, queue=False, api_visibility="private", show_progress="hidden")


def stream(records: Iterable[dict], render: Callable[[dict], object], fold: Callable[[dict], None] | None = None,
           urgent: Callable[[dict], bool] | None = None, stop: threading.Event | None = None,
           interval: float = UI_INTERVAL):
    """Drive an experiment generator, redrawing at most every `interval` seconds, and less often when a redraw
    is slow: the pause after one is at least REDRAW_SHARE's inverse times what it cost (building the figures
    and Gradio sending them, while the experiment waits), so redraws take at most that share of a live run.

    fold(rec) sees every record (to accumulate a view); render(rec) returns the handler's outputs and
    runs for the first record, for every record urgent(rec) marks (default: "eval" and "end" kinds,
    a new test point is always drawn) and for the last one. If the page cancels or disconnects,
    `stop` is set so that the work behind the generator ends at its next check.
    """
    urgent = urgent or (lambda rec: rec.get("kind") in ("eval", "end", "done"))
    last, gap, pending, drawn_any = 0.0, interval, None, False
    finished = False
    try:
        for rec in records:
            if fold is not None:
                fold(rec)
            now = time.perf_counter()
            if not drawn_any or urgent(rec) or now - last >= gap:
                drawn_any, pending = True, None
                yield render(rec)
                last = time.perf_counter()  # the pause counts from the end of a redraw
                gap = max(interval, (last - now) * (1 - REDRAW_SHARE) / REDRAW_SHARE)
            else:
                pending = rec
        if pending is not None:
            yield render(pending)
        finished = True
    finally:
        if not finished and stop is not None:
            stop.set()
        close = getattr(records, "close", None)
        if close is not None:
            close()
