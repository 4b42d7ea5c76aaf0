"""tell_story and ImageStoryGenerator through the real from_pretrained path, with tiny random models."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from story_fixtures import build_tiny_models, one_thread, story_env, tiny_models  # noqa: F401 (fixtures)

from labs.core.errors import LabsError
from labs.story import LENGTHS, PROMPT, ImageStoryGenerator, StoryConfig, cut_at_sentence, tell_story, word_count
from labs.story.models import load_model

CAT = Path(__file__).resolve().parents[1] / "assets" / "examples" / "cat.jpg"


# ---------------------------------------------------------------- pure helpers

@pytest.mark.parametrize("text, start, expected", [
    ("One day, the cat sat. Then it ran aw", 0, "One day, the cat sat."),
    ('Tom said, "I like it!" Then he la', 0, 'Tom said, "I like it!"'),
    ("They played all day! The end. ", 0, "They played all day! The end."),
    ("It was fun... and then", 0, "It was fun..."),
    ("She had 3.5 apples and one pe", 0, "She had 3.5 apples and one"),  # "3.5" ends nothing
    ("Mr. Brown waved and smi", 0, "Mr. Brown waved and"),           # nor does "Mr."
    ("Is it (really) over?) Yes", 0, "Is it (really) over?)"),
    ("This is a story about a cat. One day, the cat jum", 37, "This is a story about a cat. One day, the cat"),
    ("This is a story about a cat. One day,xyz", 37, "This is a story about a cat. One day,"),
    ("This is a story about a cat. One day,", 37, "This is a story about a cat. One day,"),
])
def test_cut_at_sentence(text, start, expected):
    assert cut_at_sentence(text, start) == expected


def test_cut_never_ends_mid_word():
    text = "the cat ran. to the big tree and sat down, happy with mom. she said hi to the little dog"
    for n in range(1, len(text) + 1):
        cut = cut_at_sentence(text[:n])
        assert text.startswith(cut)
        rest = text[len(cut):]
        assert not (cut[-1:].isalnum() and rest[:1].isalnum()), (n, cut)


def test_word_count():
    assert word_count("  One day,\nthe  cat sat. ") == 5
    prompt = "This is a story about a cat. One day,"
    assert word_count(prompt + " the cat sat.", prompt) == 3  # the seed's count: the prompt's words excluded
    assert word_count(prompt, prompt) == 0


# ---------------------------------------------------------------- the generator

def test_generate_from_image(story_env):
    r = ImageStoryGenerator().generate_from_image(image_path=str(CAT), length="short", seed=7)
    assert r["kind"] == "done" and not r["stopped"]
    assert r["prompt"] == PROMPT.format(caption=r["caption"]) == f"This is a story about {r['caption']}. One day,"
    assert r["caption"] and not r["caption"].endswith(".")
    assert r["story"].startswith(r["prompt"])
    assert r["word_count"] == len(r["story"].split()) - len(r["prompt"].split()) > 0
    assert r["story"].endswith((".", "!", "?"))  # the tiny model writes "." now and then
    assert r["tokens"] == LENGTHS["short"]  # it (almost) never samples EOS: the budget is what stops it
    assert r["seed"] == 7 and r["length"] == "short"
    for key in ("caption_seconds", "story_seconds", "first_token_seconds", "tokens_per_second"):
        assert r[key] >= 0
    assert r["caption_model"] == str(story_env[0])


def test_stream_grows_then_cuts_at_a_sentence(story_env):
    kinds, stories, records = [], [], list(ImageStoryGenerator().stream_from_image(CAT, "short", seed=3))
    records = [r for r in records if r["kind"] != "loading"]  # only when this test is the first to load
    for r in records:
        kinds.append(r["kind"])
        stories.append(r["story"])
    assert kinds[:3] == ["fetching", "image", "caption"] and kinds[-1] == "done"
    assert kinds.count("story") >= LENGTHS["short"] // 2 and set(kinds[3:-1]) == {"story"}
    assert records[0]["from_url"] is False and records[1]["image"].size == Image.open(CAT).size  # the decoded picture
    assert stories[:2] == ["", ""]
    raw = stories[2:-1]
    assert all(b.startswith(a) for a, b in zip(raw, raw[1:]))  # the story only grows, token by token
    assert len(raw[-1]) > len(raw[1]) > len(raw[0])
    prompt = raw[0]
    assert stories[-1] == cut_at_sentence(raw[-1], len(prompt))


def test_same_seed_same_story_other_seed_other_story(story_env):
    g = ImageStoryGenerator()
    a = g.generate_from_image(Image.open(CAT), "short", seed=11)
    b = g.generate_from_image(str(CAT), "short", seed=11)
    c = g.generate_from_image(str(CAT), "short", seed=12)
    assert a["caption"] == b["caption"]  # beam search is deterministic; PIL and path give the same image
    assert a["story"] == b["story"]
    assert a["story"] != c["story"]


def test_length_presets_set_the_token_budget(story_env):
    g = ImageStoryGenerator()
    assert g.generate_from_image(CAT, "long", seed=1)["tokens"] == LENGTHS["long"] > LENGTHS["short"]
    with pytest.raises(LabsError, match="^invalid length: expected one of short, medium, long, got 'epic'$"):
        g.generate_from_image(CAT, "epic")


def test_concurrent_users_share_models_and_keep_their_seeds(story_env):
    g = ImageStoryGenerator()
    expected = {s: g.generate_from_image(CAT, "short", seed=s)["story"] for s in (1, 2, 3)}
    got, loaded = {}, []

    def user(seed):
        loaded.append(load_model("story", str(story_env[1])))
        got[seed] = ImageStoryGenerator().generate_from_image(CAT, "short", seed=seed)["story"]

    threads = [threading.Thread(target=user, args=(s,)) for s in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got == expected
    assert all(m is loaded[0] for m in loaded)  # one model object for everyone


def test_abandoned_stream_stops_generating(story_env):
    g = ImageStoryGenerator()
    stream = g.stream_from_image(CAT, "long", seed=5)
    while next(stream)["kind"] != "story":
        pass
    next(stream)
    stream.close()  # what a cancelled UI request does
    lm = load_model("story", str(story_env[1]))
    t0 = time.perf_counter()
    assert lm.lock.acquire(timeout=5)  # the generating thread let go of the model
    lm.lock.release()
    assert time.perf_counter() - t0 < 5


def test_stop_ends_the_story_within_a_few_tokens(story_env):
    stop = threading.Event()
    records, after_stop = [], 0
    for r in tell_story(str(CAT), StoryConfig(length="long", seed=5), stop):
        records.append(r)
        if stop.is_set() and r["kind"] == "story":
            after_stop += 1
        if r["kind"] == "story" and r["tokens"] == 10:
            stop.set()
    done = records[-1]
    assert after_stop <= 2  # tokens already on their way when stop was set, at most
    assert done["kind"] == "done" and done["stopped"] and 10 <= done["tokens"] <= 12 < LENGTHS["long"]
    assert done["story"] == cut_at_sentence(records[-2]["story"], len(done["prompt"]))
    lm = load_model("story", str(story_env[1]))
    assert lm.lock.acquire(timeout=5)  # the generating thread stopped too, and let go of the model
    lm.lock.release()


def test_stop_before_the_story_skips_it(story_env):
    stop = threading.Event()
    stop.set()
    kinds = [r["kind"] for r in tell_story(str(CAT), StoryConfig(seed=1), stop)]
    assert kinds == ["fetching", "image", "done"]
    last = list(tell_story(str(CAT), StoryConfig(seed=1), stop))[-1]
    assert last["stopped"] and last["story"] == "" and last["tokens"] == 0


# ---------------------------------------------------------------- unavailable models

def _fails_fast(match, **kwargs) -> str:
    t0 = time.perf_counter()
    with pytest.raises(LabsError, match=match) as info:
        ImageStoryGenerator(**kwargs).load()
    assert time.perf_counter() - t0 < 15  # seconds, not transformers' minutes of retries (loaded CI margin)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_missing_folder_names_the_model_and_the_fix(story_env):
    msg = _fails_fast("story model folder /nonexistent does not exist", story_model="/nonexistent")
    assert "LABS_STORY_MODEL=/path/to/local/folder" in msg


def test_uncached_hub_id_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    msg = _fails_fast("not in the local Hugging Face cache", caption_model="nobody/no-such-blip-xyz")
    assert "'nobody/no-such-blip-xyz'" in msg and "LABS_CAPTION_MODEL=/path/to/local/folder" in msg


def test_uncached_hub_id_with_the_hub_unreachable(monkeypatch):
    # Not told it is offline: the 2-s probe must answer instead of minutes of retries.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    _fails_fast("unreachable", caption_model="nobody/no-such-blip-xyz")


def test_corrupt_folder(tmp_path, story_env):
    (tmp_path / "config.json").write_text("{ not json")
    _fails_fast("is not a usable model.*LABS_STORY_MODEL=", story_model=str(tmp_path))
