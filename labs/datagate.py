"""A tab's data gate: when a data set it needs is missing (or damaged), a line with its name and size and a
"Download CIFAR-10 (163 MB)" button; the click streams the shared download's progress and, when done,
hides the gate and runs the callbacks the tab registered with `then`, so its controls work without a reload.

    gate = datagate.Gate(["cifar10"], tab, api_name="residual_download")
    gate.then(lambda: gr.update(value="cifar10"), None, dataset_dropdown)

Every visitor polls the one download of labs.core.download (a background thread: leaving the page does
not stop it), so concurrent visitors share it and see the same progress. On a Hugging Face Space
($SPACE_ID set) the download starts without a click when the page loads (on_load=True, or no tab given)
or when the gate's tab is opened. No torch here.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable

import gradio as gr

from labs.core import download
from labs.core.catalog import DATASETS
from labs.core.datafiles import check

POLL = 0.5  # seconds between progress redraws


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def needed(names: list[str]) -> list[str]:
    """The downloadable sets among `names` that are missing or damaged on this server."""
    return [n for n in names if download.downloadable(n) and check(n)]


def gate_text(names: list[str]) -> str:
    """The visitor's line: what is missing, how large, nothing about server paths."""
    missing = [n for n in needed(names) if check(n) == "missing"]
    damaged = [n for n in needed(names) if n not in missing]
    parts = []
    if missing:
        sets = _and([f"**{DATASETS[n].title}** ({DATASETS[n].download_mb} MB download)" for n in missing])
        parts.append(f"{sets} {'is' if len(missing) == 1 else 'are'} not on this server yet.")
    for n in damaged:
        parts.append(f"**{DATASETS[n].title}** on this server is damaged ({check(n)}): download it again.")
    return " ".join(parts) + (" Download once; every visitor can then use it." if parts else "")


def button_label(names: list[str]) -> str:
    todo = needed(names)
    size = sum(DATASETS[n].download_mb for n in todo)
    return f"Download {_and([DATASETS[n].title for n in todo])} ({size} MB)" if todo else "Downloaded"


def auto_download() -> bool:
    """On a Hugging Face Space the first page view starts the download."""
    return bool(os.environ.get("SPACE_ID"))


class Gate:
    """The gate's components (group, text, button, status) and its events; see the module doc."""

    def __init__(self, names: list[str], tab: gr.Tab | None = None, api_name: str | None = None,
                 on_load: bool = False):
        """`tab`: the gate checks the files again (and, on a Space, starts the download) when it is opened;
        without a tab, or with on_load=True (the first tab, which is never 'selected'), when the page loads."""
        self.names = [n for n in names if download.downloadable(n)]
        todo = needed(self.names)
        self.built_missing = bool(todo)  # the page was laid out without the data (its controls' defaults too)
        with gr.Group(visible=bool(todo)) as self.group:
            self.text = gr.Markdown(gate_text(self.names), elem_classes=["labs-note"])
            with gr.Row():
                self.button = gr.Button(button_label(self.names), variant="primary", scale=0, min_width=280)
                self.status = gr.Markdown("", elem_classes=["labs-note"])
        self.seen = gr.State(False)  # True once this session's callbacks ran for data that is there
        # (event, its flag): a flag is True when that event of this session finished a download (or found data
        # that arrived after the page was laid out) and runs the callbacks; one per event, because a page load
        # and a tab select run at the same time and must not reset each other's
        self.events: list[tuple] = []
        shown = [self.status, self.group, self.text, self.button]
        flag = gr.State(False)
        self.events.append((self.button.click(self.fetch, None, shown + [flag, self.seen], api_name=api_name or False,
                                              show_progress_on=[self.status], concurrency_limit=None), flag))
        for trigger in ([None] if tab is None or on_load else []) + ([[tab.select]] if tab is not None else []):
            view = gr.on(trigger, self.view, None, [self.group, self.text, self.button], queue=False,
                         api_visibility="private")
            flag = gr.State(False)
            self.events.append((view.then(self.auto, self.seen, shown + [flag, self.seen],
                                          show_progress_on=[self.status], concurrency_limit=None,
                                          api_visibility="private"), flag))

    def view(self):
        """(group visibility, text, button label) as the files are now."""
        todo = needed(self.names)
        return gr.update(visible=bool(todo)), gate_text(self.names), button_label(self.names)

    def auto(self, seen=False, progress=gr.Progress()):
        """On a page load / tab select: on a Space, start the download; where the data arrived after the page
        was laid out (another visitor downloaded it), run the callbacks once per session, as after a download,
        so the tab's controls select it."""
        if auto_download() and needed(self.names):
            yield from self.fetch(progress)
        # The gate's text is sent again as it is (view() drew it): a yield whose component outputs are all
        # gr.skip() does not reach the session states either, and the flag must be set (or reset) here.
        elif self.built_missing and not seen and not needed(self.names):
            yield gr.skip(), gr.skip(), gate_text(self.names), gr.skip(), True, True
        else:
            yield gr.skip(), gr.skip(), gate_text(self.names), gr.skip(), False, gr.skip()

    def fetch(self, progress=gr.Progress()):
        """Start (or join) the downloads of the missing sets; stream (status, group, text, button, flag, seen)."""
        todo = needed(self.names)
        if not todo:
            yield "", gr.update(visible=False), gr.skip(), gr.skip(), True, True
            return
        titles = _and([DATASETS[n].title for n in todo])
        for name in todo:
            download.start(name)
        while True:
            ps = {n: download.progress(n) for n in todo}
            failed = [p["message"] for p in ps.values() if p["state"] == "failed"]
            if failed:
                yield f"⚠️ {failed[0]}", gr.skip(), gr.skip(), gr.skip(), False, gr.skip()
                raise gr.Error(failed[0], duration=None)
            if all(p["state"] == "ready" for p in ps.values()) and not needed(todo):
                yield f"{titles}: ready.", gr.update(visible=False), gr.skip(), gr.skip(), True, True
                return
            done, total = sum(p["done"] for p in ps.values()), sum(p["total"] for p in ps.values())
            busy = [(n, p) for n, p in ps.items() if p["state"] != "ready"]
            line = " · ".join(download.describe(p, DATASETS[n].title) for n, p in busy)
            if total:
                progress(min(done / total, 1.0), desc=line)
            yield line, gr.skip(), gr.skip(), gr.skip(), False, gr.skip()
            time.sleep(POLL)

    def then(self, fn: Callable, inputs=None, outputs=None, **kwargs) -> Chain:
        """Run fn(*inputs) -> outputs after a download this gate started or joined has finished, or once per
        session on a page whose data arrived after it was laid out (not after a page load that found nothing to
        do); chain more steps with .then(...) on the result."""
        return Chain(self.events).then(fn, inputs, outputs, **kwargs)


class Chain:
    """Steps that run after a finished download, in order; each is skipped when its event did not download."""

    def __init__(self, events: list[tuple]):
        self.events = events  # (event, the flag its gate event set)

    def then(self, fn: Callable, inputs=None, outputs=None, **kwargs) -> Chain:
        inputs = [inputs] if isinstance(inputs, gr.components.Component) else list(inputs or [])
        n_out = 1 if isinstance(outputs, gr.components.Component) else len(outputs or [])
        skip = gr.skip() if n_out == 1 else tuple(gr.skip() for _ in range(n_out))
        takes_request = "request" in inspect.signature(fn).parameters

        if inspect.isgeneratorfunction(fn):
            def wrapped(flag, *args, request: gr.Request = None):
                if flag:
                    yield from fn(*args, **({"request": request} if takes_request else {}))
                else:
                    yield skip
        else:
            def wrapped(flag, *args, request: gr.Request = None):
                return fn(*args, **({"request": request} if takes_request else {})) if flag else skip
        kwargs = {"api_visibility": "private", **kwargs}
        return Chain([(e.then(wrapped, [flag] + inputs, outputs, **kwargs), flag) for e, flag in self.events])
