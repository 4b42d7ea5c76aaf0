"""A Stop pressed while the session's heavy request still waits in the queue ends it when its turn comes."""

import gradio as gr

from labs import ui


def _demo(calls: list):
    with gr.Blocks() as demo:
        button, box = gr.Button(), gr.Textbox()

        def work(x, request: gr.Request = None):
            calls.append(x)
            with ui.job("q", request):
                yield f"ran {x}"

        ui.heavy_event(button.click, "q", work, [box], [box], api_name="go")
    mark, run = (d.fn for d in list(demo.fns.values())[:2])
    return demo, mark, run


def test_the_event_is_a_mark_then_the_job_in_the_shared_heavy_queue():
    demo, mark, run = _demo([])
    deps = list(demo.fns.values())
    assert deps[0].queue is False and deps[0].api_visibility == "private"
    assert deps[1].concurrency_id == "heavy" and deps[1].api_name == "go"


def test_stop_while_waiting_skips_the_job_and_only_that_one():
    calls = []
    _, mark, run = _demo(calls)
    me, other = gr.Request(session_hash="me"), gr.Request(session_hash="other")
    mark(request=me)
    mark(request=other)
    assert ui.waiting("q", me) == 1
    assert ui.stop("q", me) == 0  # nothing running yet: the waiting request is marked to end
    out = list(run("a", request=me))
    assert calls == [] and len(out) == 1 and isinstance(out[0], type(gr.skip()))  # it did nothing, drew nothing
    assert list(run("b", request=other)) == ["ran b"] and calls == ["b"]  # another session's request runs
    mark(request=me)  # the next request of the same session is not affected by the earlier Stop
    assert list(run("c", request=me)) == ["ran c"] and ui.waiting("q", me) == 0


def test_a_request_without_a_mark_runs_and_the_stop_reply_says_what_happened():
    calls = []
    _, mark, run = _demo(calls)
    api = gr.Request(session_hash="api")
    assert list(run("x", request=api)) == ["ran x"]  # an API client calls the job directly: nothing to consume
    with gr.Blocks() as page:
        stop_btn, status = gr.Button(), gr.Markdown()
        ui.stop_button(stop_btn, "q", status)
    (on_stop,) = [d.fn for d in page.fns.values()]
    assert on_stop(request=api) == "nothing is running"
    mark(request=api)
    assert on_stop(request=api) == "stopped while waiting in the queue: it will not run"
    ui.end_session(api)  # a closed page forgets its waiting requests
    assert ui.waiting("q", api) == 0


def _stoppable(scope: str, ignore_stop_for: float = 0.0, final_line: bool = True):
    """A page with a heavy job that streams "step i" until stopped, then "stopped after step i" (after
    `ignore_stop_for` s: a step that takes long; final_line=False: it just ends), and its Stop button writing
    to the same status."""
    import threading
    import time

    started = threading.Event()
    with gr.Blocks() as page:
        go, stop_btn, status = gr.Button(), gr.Button(), gr.Markdown()

        def work(request: gr.Request = None):
            with ui.job(scope, request) as stop:
                if not final_line:  # one line, then it waits for the Stop and ends without another
                    yield "step 0"
                    stop.wait(30)
                    return
                for i in range(10_000):
                    started.set()
                    if stop.wait(0.01):
                        time.sleep(ignore_stop_for)
                        yield f"stopped after step {i}"
                        return
                    yield f"step {i}"

        ui.heavy_event(go.click, scope, work, None, [status])
        ui.stop_button(stop_btn, scope, status)
    _, run, on_stop = (d.fn for d in list(page.fns.values())[:3])
    return run, on_stop, started


def _run_in_thread(run, request):
    import threading

    out: list = []
    thread = threading.Thread(target=lambda: out.extend(run(request=request)), daemon=True)
    thread.start()
    return thread, out


def test_stop_answers_with_the_jobs_own_last_line_so_a_late_reply_cannot_hide_it():
    run, on_stop, started = _stoppable("s1")
    me = gr.Request(session_hash="stopper")
    thread, out = _run_in_thread(run, me)
    assert started.wait(10)
    said = on_stop(request=me)  # whichever reaches the page last, the status ends on the run's own last line
    thread.join(10)
    assert out[-1].startswith("stopped after step ") and said == out[-1]
    # a second Stop: nothing runs, and the reply keeps the run's last line on the page instead of hiding it
    assert on_stop(request=me) == f"{out[-1]} · nothing is running"
    assert on_stop(request=gr.Request(session_hash="someone-else")) == "nothing is running"


def test_a_job_still_busy_after_the_wait_gets_stopping(monkeypatch):
    monkeypatch.setattr(ui, "STOP_WAIT", 0.2)
    run, on_stop, started = _stoppable("s2", ignore_stop_for=1.0)
    me = gr.Request(session_hash="slow")
    thread, out = _run_in_thread(run, me)
    assert started.wait(10)
    assert on_stop(request=me) == "stopping after the current step..."  # its last line comes later, and wins
    thread.join(10)
    assert out[-1].startswith("stopped after step ")


def test_a_line_sent_before_the_stop_is_not_taken_for_the_stopped_jobs_last():
    run, on_stop, started = _stoppable("s3", final_line=False)
    me = gr.Request(session_hash="old-line")
    thread, out = _run_in_thread(run, me)
    import time

    deadline = time.monotonic() + 10
    while not out and time.monotonic() < deadline:  # the job has streamed its progress line to the status
        time.sleep(0.01)
    assert out == ["step 0"]
    assert on_stop(request=me) == "stopped"  # the job ended without a line of its own: not its old "step 0"
    thread.join(10)
    assert out == ["step 0"]
    ui.end_session(me)
    assert ("old-line", "s3") not in ui._LAST  # a closed page forgets its jobs' lines


def test_a_scope_whose_jobs_write_different_lines_gets_the_reply_on_the_stopped_jobs_line():
    """ODIN's one Stop serves the grid search (its status line) and the autoencoder's training (its own line)."""
    import threading

    started = threading.Event()
    with gr.Blocks() as page:
        go_a, go_b, stop_btn, line_a, line_b = gr.Button(), gr.Button(), gr.Button(), gr.Markdown(), gr.Markdown()

        def work(name):
            def job(request: gr.Request = None):
                with ui.job("two", request) as stop:
                    started.set()
                    stop.wait(30)
                    yield f"{name} stopped"
            return job

        ui.heavy_event(go_a.click, "two", work("grid"), None, [line_a])
        ui.heavy_event(go_b.click, "two", work("autoencoder"), None, [line_b])
        ui.stop_button(stop_btn, "two", [line_a, line_b])
    fns = [d.fn for d in page.fns.values()]
    run_b, on_stop = fns[3], fns[4]
    me = gr.Request(session_hash="two-lines")
    thread, out = _run_in_thread(run_b, me)
    assert started.wait(10)
    said = on_stop(request=me)
    thread.join(10)
    assert out == ["autoencoder stopped"] and said[1] == "autoencoder stopped"
    assert isinstance(said[0], type(gr.skip()))  # the grid's line is left as it is
    again = on_stop(request=me)
    assert isinstance(again[0], type(gr.skip())) and again[1] == "autoencoder stopped · nothing is running"
    fresh = on_stop(request=gr.Request(session_hash="nobody"))
    assert fresh[0] == "nothing is running" and isinstance(fresh[1], type(gr.skip()))


def test_a_repeated_stop_does_not_hold_a_second_server_thread():
    """A script may press Stop many times: one press waits for the job, the others answer at once."""
    import time

    run, on_stop, started = _stoppable("s4", ignore_stop_for=1.0)
    me = gr.Request(session_hash="spam")
    thread, out = _run_in_thread(run, me)
    assert started.wait(10)
    first, _ = _run_in_thread(lambda request: [on_stop(request=request)], me)
    time.sleep(0.2)  # the first press is waiting for the job's slow last step
    t0 = time.monotonic()
    assert on_stop(request=me) == "stopping after the current step..." and time.monotonic() - t0 < 0.5
    first.join(10)
    thread.join(10)
    assert out[-1].startswith("stopped after step ")
