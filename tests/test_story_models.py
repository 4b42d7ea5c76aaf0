"""First use of the story models: one shared load per model, with the download's progress for everyone waiting.

huggingface_hub reports a download through the tqdm_class that from_pretrained hands down to
hf_hub_download (one bar per file: constructed with its total, then update(bytes)). No network
here: the spied from_pretrained plays that part with the tqdm_class it is given, then loads the
tiny model from its folder through the real from_pretrained.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from story_fixtures import build_tiny_models, one_thread, story_env, tiny_models  # noqa: F401 (fixtures)

from labs.core.errors import LabsError
from labs.story import figures, models, progress
from labs.story.experiment import ImageStoryGenerator, tell_story
from labs.story.progress import LoadProgress

CAT = Path(__file__).resolve().parents[1] / "assets" / "examples" / "cat.jpg"
BLIP_BYTES = 990_000_000
HALF_LINE = "downloading BLIP captioning model (990 MB): 35%"


class SpiedDownload:
    """Wraps a model class's from_pretrained: counts calls, reports a download through tqdm_class
    (35% of the bytes, then waits for `go`, then the rest), then loads for real."""

    def __init__(self, monkeypatch, cls):
        self.calls, self.halfway, self.go = 0, threading.Event(), threading.Event()
        real = cls.from_pretrained

        def from_pretrained(model_id, *args, tqdm_class=None, **kwargs):
            self.calls += 1
            assert tqdm_class is not None  # the loader always hands its progress class down
            with tqdm_class(total=BLIP_BYTES, initial=0, desc="model.safetensors", unit="B", unit_scale=True) as bar:
                bar.update(BLIP_BYTES * 35 // 100)
                self.halfway.set()
                assert self.go.wait(60)
                bar.update(BLIP_BYTES - BLIP_BYTES * 35 // 100)
            return real(model_id, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", from_pretrained)


def _wait_for(condition, what: str):
    for _ in range(1200):  # a bound for a stuck test, not a timing assertion
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def fresh_blip(tmp_path, monkeypatch):
    """An uncached copy of the tiny BLIP, shown under the real BLIP's name and size."""
    from transformers import BlipForConditionalGeneration

    caption_dir, _ = build_tiny_models(tmp_path)
    monkeypatch.setitem(progress.KNOWN_MODELS, str(caption_dir), ("BLIP captioning model", BLIP_BYTES))
    return str(caption_dir), SpiedDownload(monkeypatch, BlipForConditionalGeneration)


def test_concurrent_first_uses_share_one_load_and_its_progress(fresh_blip):
    caption_dir, spy = fresh_blip
    lines: dict[str, list[str]] = {"first": [], "second": []}
    errors: list[BaseException] = []

    def use(name):
        try:
            for line in models.loading("caption", caption_dir):
                lines[name].append(line)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    first = threading.Thread(target=use, args=("first",))
    first.start()
    assert spy.halfway.wait(60)  # the first use is downloading...
    second = threading.Thread(target=use, args=("second",))
    second.start()               # ...when the second one asks for the same model
    _wait_for(lambda: all(HALF_LINE in got for got in lines.values()), f"both users see 35%: {lines}")
    spy.go.set()
    first.join(60)
    second.join(60)
    assert not errors and not first.is_alive() and not second.is_alive()
    assert spy.calls == 1  # loaded once
    assert lines["first"][0] == "loading the caption model…"
    assert all(line.startswith(("loading the caption model", "downloading BLIP")) for got in lines.values()
               for line in got)
    a = models.load_model("caption", caption_dir)
    assert a is models.load_model("caption", caption_dir) and spy.calls == 1  # cached: no second load
    assert list(models.loading("caption", caption_dir)) == []  # nothing to say once loaded


def test_first_story_streams_the_progress_then_tells_the_story(fresh_blip, story_env):
    caption_dir, spy = fresh_blip
    spy.go.set()
    gen = ImageStoryGenerator(caption_model=caption_dir)
    records = list(tell_story(str(CAT), None, None, gen))
    kinds = [r["kind"] for r in records]
    loading = [r for r in records if r["kind"] == "loading"]
    assert kinds[:3] == ["fetching", "image", "loading"] and kinds[-1] == "done"
    assert loading[0]["status"] == figures.stats_markdown(loading[0]) == "loading the caption model…"
    assert records[-1]["story"] and spy.calls == 1


def test_stop_while_waiting_leaves_the_load_to_finish_for_the_next_user(fresh_blip, story_env):
    caption_dir, spy = fresh_blip
    stop = threading.Event()
    gen = ImageStoryGenerator(caption_model=caption_dir)
    records = tell_story(str(CAT), None, stop, gen)
    assert [next(records)["kind"] for _ in range(3)] == ["fetching", "image", "loading"]
    assert spy.halfway.wait(60)
    stop.set()
    rest = list(records)  # ends at the next poll, without waiting for the download
    assert rest[-1]["kind"] == "done" and rest[-1]["stopped"] and rest[-1]["caption"] == ""
    spy.go.set()
    assert models.load_model("caption", caption_dir) is not None and spy.calls == 1  # the same load finished


def test_failed_load_reaches_every_waiter_and_is_retried(tmp_path, monkeypatch):
    missing = "nobody/no-such-caption-model"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for _ in range(2):  # a failed load is forgotten: the next use tries again (and fails the same way, fast)
        with pytest.raises(LabsError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE is set"):
            list(models.loading("caption", missing))
    assert not models._PENDING


@pytest.mark.parametrize("size, done, total, downloading, line", [
    (None, 0, 0, False, "loading the caption model…"),
    (BLIP_BYTES, 0, 0, True, "downloading BLIP captioning model (990 MB)…"),
    (BLIP_BYTES, 346_500_000, BLIP_BYTES, True, "downloading BLIP captioning model (990 MB): 35%"),
    (None, 50_000_000, 0, True, "downloading caption model x/y: 50 MB so far"),
    (None, 30_000_000, 120_000_000, True, "downloading caption model x/y (120 MB): 25%"),
    (None, 120_000_000, 120_000_000, True, "downloading caption model x/y (120 MB): 99%"),
])
def test_progress_lines(size, done, total, downloading, line):
    p = LoadProgress("caption model", "x/y")
    p.size, p.done, p.total, p.downloading = size, done, total, downloading
    if size:
        p.name = "BLIP captioning model"
    assert p.line() == line


def test_progress_counts_file_bytes_once():
    """A Xet download's twin "downloading bytes" bar and snapshot_download's file counter are not bytes of files."""
    p = LoadProgress("story model", "x/y")
    bar = p.bar_class()
    with bar(total=100, desc="model.safetensors", unit="B") as one:
        one.update(40)
        one.update_transfer(40)
    twin = bar(total=100, desc="Downloading bytes", unit="B")
    twin.update(40)
    files = bar(total=3, desc="Fetching 3 files")
    files.update(1)
    grown = bar(total=0, desc="Reconstructing (incomplete total...)", unit="B")
    grown.total = (grown.total or 0) + 50  # how snapshot_download announces each file
    grown.update(10)
    grown.close()
    assert (p.done, p.total) == (50, 150)
