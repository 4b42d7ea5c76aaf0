"""The Image story tab through gradio_client, and the `python -m labs story` CLI, with tiny models.

Bad settings through the CLI and params.build: test_story_config.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import serve_tab
from param_cases import bad_values
from story_fixtures import build_tiny_models, one_thread, story_env, tiny_models  # noqa: F401 (fixtures)

from labs.core import params
from labs.core.errors import LabsError
from labs.story.config import StoryConfig


def _words(story: str, caption: str) -> str:
    """The status line's word count: the story's words after the prompt (as the seed counts them)."""
    from labs.story import PROMPT

    return f"**{len(story.split()) - len(PROMPT.format(caption=caption).split())} words** after the prompt"

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assets" / "examples"
CAT = EXAMPLES / "cat.jpg"
DEFAULT_CONTROLS = ("short", 0.7, 0.9, 1.2, 5, 3)  # length, temperature, top-p, repetition penalty, seed, beams
TAB_FIELDS = ("length", "temperature", "top_p", "repetition_penalty", "seed", "num_beams")  # in that order


@pytest.fixture(scope="module")
def story_url():
    """A Blocks app holding just the Image story tab, launched locally."""
    from labs.story import tab

    with serve_tab(tab) as url:
        yield url


@pytest.fixture(scope="module")
def image_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(EXAMPLES)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def test_examples_are_small_real_photos():
    from PIL import Image

    photos = sorted(EXAMPLES.glob("*.jpg"))
    assert len(photos) >= 4
    for p in photos:
        assert p.stat().st_size < 200_000
        with Image.open(p) as img:
            assert img.mode == "RGB" and min(img.size) >= 256
    assert all(p.stem in (ROOT / "assets" / "CREDITS.md").read_text() for p in photos)


def test_tab_streams_caption_and_story(story_url, story_env, monkeypatch):
    from gradio_client import handle_file

    from labs.story import tab

    # every token redrawn: the tiny model writes a short story faster than the page's 30 redraws/s on a fast
    # CPU (10 updates in all there), so the real interval would make the count depend on the machine
    monkeypatch.setattr(tab, "REDRAW_SECONDS", 0.0)
    job = _client(story_url).submit("", handle_file(str(CAT)), *DEFAULT_CONTROLS, api_name="/story")
    updates = list(job)
    _, caption, story, stats = job.result()
    assert len(updates) > 10  # token by token, not all at once
    assert story.startswith(f"This is a story about {caption}. One day,")
    assert _words(story, caption) in stats and "tokens/s" in stats and "seed 5" in stats
    stories = [u[2] for u in updates[:-1]]
    assert all(b.startswith(a) for a, b in zip(stories, stories[1:]))


def test_stop_button_ends_this_sessions_story_at_a_sentence(story_url, story_env):
    from gradio_client import handle_file

    client, other = _client(story_url), _client(story_url)
    assert other.predict(api_name="/story_stop") == "nothing is running"  # another session has nothing to stop
    job = client.submit("", handle_file(str(CAT)), "long", 0.7, 0.9, 1.2, 5, 3, api_name="/story")
    said = None
    for _, _, _, stats in job:
        if said is None and "tokens/s" in stats:  # the story is streaming
            said = client.predict(api_name="/story_stop")
    _, caption, story, stats = job.result()
    assert said == stats  # Stop answers with the run's own last line
    assert stats.startswith("stopped · ") and _words(story, caption) in stats
    full = _client(story_url).predict("", handle_file(str(CAT)), "long", 0.7, 0.9, 1.2, 5, 3, api_name="/story")[2]
    assert full.startswith(story) and len(story) < len(full)  # the same story (seed 5), ended early


@pytest.mark.parametrize("field, bad", [(f, v) for f in TAB_FIELDS for v in bad_values(StoryConfig.CONSTRAINTS[f])
                                        if f == "length" or not isinstance(v, str)])
def test_tab_refuses_bad_settings_with_a_message(story_url, field, bad):
    """The one-format message where the value reaches the config (seed); sliders and the radio refuse
    out-of-range values themselves, in Gradio's words: never an "upstream app raised an exception"."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    controls = dict(zip(TAB_FIELDS, DEFAULT_CONTROLS), **{field: bad})
    with pytest.raises(AppError) as info:
        _client(story_url).predict("", handle_file(str(CAT)), *controls.values(), api_name="/story")
    message = str(info.value)
    assert "upstream" not in message.lower()
    if field == "seed":
        with pytest.raises(LabsError) as expected:
            params.build(StoryConfig, seed=bad)
        assert str(expected.value) in message and message.startswith("invalid seed: expected a whole number")
    elif field == "length":
        assert "is not in the list of choices" in message
    else:
        assert "than minimum value" in message or "than maximum value" in message


def test_tab_fetches_urls_only_with_the_opt_in(story_url, story_env, image_server, monkeypatch):
    from gradio_client.exceptions import AppError

    client = _client(story_url)
    with pytest.raises(AppError, match="refusing to fetch from 127.0.0.1.*LABS_ALLOW_PRIVATE_URLS=1"):
        client.predict(f"{image_server}/cat.jpg", None, *DEFAULT_CONTROLS, api_name="/story")
    with pytest.raises(AppError, match="not an http"):  # no reading the server's disk from a public page
        client.predict(str(CAT), None, *DEFAULT_CONTROLS, api_name="/story")
    monkeypatch.setenv("LABS_ALLOW_PRIVATE_URLS", "1")
    image, caption, story, _ = client.predict(f"{image_server}/cat.jpg", None, *DEFAULT_CONTROLS, api_name="/story")
    assert image and story.startswith(f"This is a story about {caption}.")


def test_tab_says_when_models_are_unavailable_and_keeps_working(story_url, story_env, monkeypatch):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client = _client(story_url)
    monkeypatch.setenv("LABS_STORY_MODEL", "/nonexistent")
    t0 = time.perf_counter()
    with pytest.raises(AppError, match="story model folder /nonexistent does not exist.*LABS_STORY_MODEL="):
        client.predict("", handle_file(str(CAT)), *DEFAULT_CONTROLS, api_name="/story")
    # fails fast, not after transformers' minutes of retries (the 5-s figure is measured on an idle
    # machine; here the bound only has to separate seconds from minutes on a loaded CI runner)
    assert time.perf_counter() - t0 < 30
    with pytest.raises(AppError, match="no image"):
        client.predict("", None, *DEFAULT_CONTROLS, api_name="/story")
    monkeypatch.setenv("LABS_STORY_MODEL", str(story_env[1]))
    assert client.predict("", handle_file(str(CAT)), *DEFAULT_CONTROLS, api_name="/story")[2]


# ---------------------------------------------------------------- CLI

def test_cli_one_image(story_env, capsys):
    from labs.__main__ import main

    assert main(["story", str(CAT), "--length", "short", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    caption = out.split("Caption: ", 1)[1].splitlines()[0]
    assert f"This is a story about {caption}. One day," in out
    assert "words after the prompt · caption" in out and "seed 4" in out


def test_cli_interactive_loops_until_an_empty_line(story_env, capsys, monkeypatch):
    from labs.__main__ import main

    answers = iter([str(CAT), "short", "nope.jpg", "", str(CAT), "epic", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(["story", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("This is a story about") == 1
    assert captured.err.splitlines() == ["error: image file not found: nope.jpg",
                                         "error: invalid length: expected one of short, medium, long, got 'epic'"]


def test_cli_unavailable_model_exits_2_with_one_line(tiny_models, story_env, capsys, monkeypatch):
    from labs.__main__ import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["story", str(CAT), "--story-model", "nobody/no-such-story-model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: story model 'nobody/no-such-story-model' is not in the local Hugging Face cache")
    assert "LABS_STORY_MODEL=/path/to/local/folder" in err and "\n" not in err
    # The real entry point, with a model folder that is missing (fails before torch loads).
    env = {**os.environ, "LABS_STORY_MODEL": "/nonexistent"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "labs", "story", str(CAT)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("error: story model folder /nonexistent does not exist: "
                                   "set LABS_STORY_MODEL=/path/to/local/folder (a save_pretrained folder) "
                                   "or a reachable hub id")
    # fails fast, not after transformers' minutes of retries (the 5-s figure is measured on an idle
    # machine; here the bound only has to separate seconds from minutes on a loaded CI runner)
    assert time.perf_counter() - t0 < 30
