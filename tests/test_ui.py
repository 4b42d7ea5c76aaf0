"""labs/ui.py: per-session stop, LabsError -> gr.Error, throttled streaming."""

import threading
import time
from types import SimpleNamespace

import gradio as gr
import pytest

from labs import ui
from labs.core.engine import TrainConfig
from labs.core.errors import LabsError


def _session(name):
    return SimpleNamespace(session_hash=name)


def test_one_sessions_stop_never_stops_another_sessions_job():
    a, b = _session("a"), _session("b")
    ev_a, ev_b = ui.start("lab", a), ui.start("lab", b)
    other_scope = ui.start("other", a)
    assert ui.stop("lab", a) == 1
    assert ev_a.is_set() and not ev_b.is_set() and not other_scope.is_set()
    ui.finish("lab", a, ev_a)
    assert ui.stop("lab", a) == 0
    for scope, req, ev in (("lab", b, ev_b), ("other", a, other_scope)):
        ui.finish(scope, req, ev)


def test_supersede_stops_the_sessions_earlier_job_in_the_scope():
    s = _session("s")
    first = ui.start("live", s)
    second = ui.start("live", s, supersede=True)
    assert first.is_set() and not second.is_set()
    ui.finish("live", s, second)


def test_a_job_without_a_session_cannot_be_stopped_by_anyone_else():
    ev = ui.start("lab", None)
    assert ui.stop("lab", None) == 0 and not ev.is_set()


def test_handler_turns_a_labs_error_into_a_gr_error_for_plain_and_generator_handlers():
    @ui.handler
    def plain(x):
        return ui.config(TrainConfig, epochs=x)

    @ui.handler
    def gen(x):
        yield 1
        ui.config(TrainConfig, epochs=x)

    assert plain(3).epochs == 3
    with pytest.raises(gr.Error, match="invalid epochs: expected a whole number in"):
        plain(-1)
    it = gen(-1)
    assert next(it) == 1
    with pytest.raises(gr.Error, match="invalid epochs"):
        next(it)
    import inspect
    assert inspect.isgeneratorfunction(gen) and not inspect.isgeneratorfunction(plain)

    @ui.handler(duration=None)
    def sticky():
        raise LabsError("stays")

    with pytest.raises(gr.Error) as err:
        sticky()
    assert err.value.duration is None and str(err.value.message) == "stays"


def test_stream_throttles_but_draws_first_urgent_and_last_records():
    def records():
        yield {"kind": "step", "i": 0}
        for i in range(1, 50):
            yield {"kind": "step", "i": i}
        yield {"kind": "eval", "i": 50}
        yield {"kind": "step", "i": 51}

    folded = []
    drawn = list(ui.stream(records(), render=lambda rec: rec["i"], fold=folded.append, interval=60))
    assert drawn == [0, 50, 51]
    assert len(folded) == 52  # every record reaches fold, drawn or not


def test_slow_redraws_thin_out_to_a_fifth_of_the_time():
    """A redraw that costs 50 ms is followed by at least 200 ms without one (REDRAW_SHARE 0.2), whatever the
    interval; urgent records are still drawn at once."""
    from labs import ui_handlers

    def records():
        for i in range(40):  # a record every 10 ms or more
            time.sleep(0.01)
            yield {"kind": "step", "i": i}
        yield {"kind": "eval", "i": 40}

    starts = []

    def render(rec):
        starts.append(time.perf_counter())
        time.sleep(0.05)
        return rec["i"]

    assert ui_handlers.REDRAW_SHARE == 0.2
    drawn = list(ui.stream(records(), render=render, interval=0))
    assert drawn[0] == 0 and drawn[-1] == 40 and len(drawn) < 10, drawn  # interval 0 alone: every record
    assert all(b - a >= 0.25 for a, b in zip(starts, starts[1:-1])), starts  # 50 ms drawing + >= 200 ms not


def test_stream_sets_stop_when_the_page_cancels_and_closes_the_experiment():
    stop = threading.Event()
    closed = []

    def records():
        try:
            while not stop.is_set():
                yield {"kind": "step"}
                time.sleep(0.001)
        finally:
            closed.append(True)

    out = ui.stream(records(), render=lambda rec: rec, stop=stop, interval=0)
    next(out)
    out.close()  # what Gradio does when the client cancels or disconnects
    assert stop.is_set() and closed == [True]


def test_stream_that_ends_normally_leaves_stop_unset():
    stop = threading.Event()
    assert list(ui.stream(iter([{"kind": "end"}]), render=lambda r: r["kind"], stop=stop)) == ["end"]
    assert not stop.is_set()


def test_job_registers_its_flag_while_the_block_runs_and_forgets_it_after():
    s = _session("j")
    with ui.job("lab", s) as ev:
        assert ui.stop("lab", s) == 1 and ev.is_set()
    assert ui.stop("lab", s) == 0
