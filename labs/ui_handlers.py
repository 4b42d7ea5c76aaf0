"""A tab's form values -> a checked config, a LabsError -> the page's one-line gr.Error toast, and texts worked
out again at every page load (re-exported by labs.ui as ui.config, ui.handler, ui.on_load). No torch here."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import gradio as gr

from labs.core import params
from labs.core.errors import LabsError


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
