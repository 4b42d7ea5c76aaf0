"""Issue 9's concurrency target: 8 gradio_client sessions at once on the whole dashboard (ODIN live on a tiny
digits checkpoint, stories with the tiny test models, digits trainings): every run completes with the result a
sequential run gives, and one session's Stop ends its own run only."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from conftest import serve_app
from story_fixtures import one_thread, tiny_models  # noqa: F401 (fixtures)
from test_ood_experiment import make_digits_checkpoint

CAT = Path(__file__).resolve().parents[1] / "assets" / "examples" / "cat.jpg"

# (endpoint, arguments, what of the last update must equal the sequential run's)
LIVE = [("/odin_live", ("tiny_digits", "gaussian", 100, t, eps, ["energy"]), "table")
        for t, eps in ((1.0, 0.0), (10.0, 0.002), (1000.0, 0.001))]
STORIES = [("/story", ("", "CAT", "short", 0.7, 0.9, 1.2, seed, 2), "story") for seed in (1, 2, 3)]
TRAIN = [("/train_mlp", ("digits", 4, 32, 1, 1e-3, 64, 256, 0), "table")]
REQUESTS = LIVE + STORIES + TRAIN
LONG_RUN = ("digits", 4, 32, 500, 1e-3, 64, 0, 0)  # the 8th session: stopped by its own Stop


@pytest.fixture(scope="module")
def app(tiny_models, tmp_path_factory):  # noqa: F811
    folder = tmp_path_factory.mktemp("ckpt")
    make_digits_checkpoint(folder, "tiny_digits")
    caption_dir, story_dir = tiny_models
    with serve_app(LABS_CHECKPOINT_DIR=folder, LABS_CAPTION_MODEL=caption_dir, LABS_STORY_MODEL=story_dir,
                   LABS_PUBLIC=None, SPACE_ID=None) as url:
        yield url


def _result(url: str, api: str, args: tuple, what: str):
    client = Client(url, verbose=False)
    try:
        args = tuple(handle_file(str(CAT)) if a == "CAT" else a for a in args)
        if api == "/odin_live":
            client.predict(api_name="/odin_refresh")  # the session's checkpoint list: a name must be in it
        out = client.predict(*args, api_name=api)
    finally:
        client.close()
    if what == "story":
        _, caption, story, _ = out
        return caption, story
    table = out[1] if api == "/odin_live" else out[3]
    return table["headers"], table["data"]


@pytest.mark.slow  # 7 runs one after another, then 8 sessions at once: ~30-40 s on 2 loaded cores
def test_eight_sessions_at_once_give_the_sequential_results_and_stop_only_their_own(app):
    sequential = [_result(app, *req) for req in REQUESTS]
    assert all(r for r in sequential)

    stopper = Client(app, verbose=False)
    long_job = stopper.submit(*LONG_RUN, api_name="/train_mlp")
    with ThreadPoolExecutor(len(REQUESTS)) as pool:
        futures = [pool.submit(_result, app, *req) for req in REQUESTS]
        deadline = time.monotonic() + 60
        while not long_job.outputs() and not long_job.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        said = stopper.predict(api_name="/stop_mlp")  # the run's own last line once it ended
        concurrent = [f.result(timeout=300) for f in futures]
    *_, table, status = long_job.result(timeout=60)
    stopper.close()

    assert concurrent == sequential  # every session completed, with the sequential run's result
    assert status.startswith("stopped") and said == status
    rows = [dict(zip(table["headers"], r)) for r in table["data"]]
    assert rows and all(r["Status"].startswith("stopped") for r in rows)
    assert all(r["Final test acc"] == "" for r in rows)  # a stopped run has no final accuracy
