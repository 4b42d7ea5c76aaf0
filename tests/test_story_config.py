"""Lab 3's settings: every constraint through params.build, the API and the CLI; the status lines. No models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from param_cases import bad_values

from labs.core import params
from labs.core.errors import LabsError
from labs.story import figures
from labs.story.cli import FLAGS
from labs.story.config import LENGTHS, FetchLimits, StoryConfig

ROOT = Path(__file__).resolve().parents[1]
CAT = ROOT / "assets" / "examples" / "cat.jpg"
CASES = [(cls, f, v) for cls in (StoryConfig, FetchLimits) for f, c in cls.CONSTRAINTS.items() for v in bad_values(c)]


def _message(cls, field, bad) -> str:
    with pytest.raises(LabsError) as info:
        params.build(cls, **{field: bad})
    return str(info.value)


@pytest.mark.parametrize("cls, field, bad", CASES, ids=[f"{c.__name__}.{f}={v!r}" for c, f, v in CASES])
def test_every_constraint_refuses_a_bad_value_in_one_format(cls, field, bad):
    text = _message(cls, field, bad)
    assert text == f"invalid {field.replace('_', ' ')}: expected {cls.CONSTRAINTS[field].describe()}, got {bad!r}"
    with pytest.raises(LabsError, match=f"^invalid {field.replace('_', ' ')}: expected "):
        cls(**{field: bad})  # the API refuses it too, without build()


def test_defaults_are_valid_and_form_values_are_converted():
    assert StoryConfig().length == "medium" and StoryConfig().seed == -1  # -1: a random seed per story
    cfg = params.build(StoryConfig, length=" long", temperature="0.5 ", seed=7.0, num_beams=2.0)
    assert (cfg.length, cfg.temperature, cfg.seed, cfg.num_beams) == ("long", 0.5, 7, 2)
    assert isinstance(cfg.seed, int) and isinstance(cfg.num_beams, int)
    assert params.build(StoryConfig, seed=2**32 - 1).seed == 2**32 - 1
    assert set(StoryConfig.CONSTRAINTS["length"].values) == set(LENGTHS)
    assert FetchLimits().allow_private is None and FetchLimits(allow_private=True).allow_private


@pytest.mark.parametrize("flag, bad", [(flag, v) for flag, f in FLAGS.items()
                                       for v in bad_values(StoryConfig.CONSTRAINTS[f])])
def test_cli_refuses_every_bad_setting_in_one_line_before_loading_anything(flag, bad, capsys, monkeypatch):
    from labs.__main__ import main

    monkeypatch.setenv("LABS_STORY_MODEL", "/nonexistent")  # never reached: the settings fail first
    assert main(["story", str(CAT), flag, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err == f"error: {_message(StoryConfig, FLAGS[flag], bad)}\n"


def test_cli_entry_point_exits_2_with_the_one_line():
    proc = subprocess.run([sys.executable, "-m", "labs", "story", str(CAT), "--beams", "-5"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: invalid num beams: expected a whole number in [1, 10], got -5\n"


# ---------------------------------------------------------------- status lines (figures.py)

RECORD = {"kind": "story", "from_url": False, "caption": "a cat", "story": "This is a story about a cat. One day,",
          "word_count": 9, "seed": 5, "tokens": 12, "load_seconds": 0.0, "caption_seconds": 1.23,
          "first_token_seconds": 0.05, "story_seconds": 0.5, "tokens_per_second": 24.0, "stopped": False}


def test_stats_line_follows_the_record_kinds():
    assert figures.stats_markdown({**RECORD, "kind": "fetching", "from_url": True}) == "fetching the image…"
    assert figures.stats_markdown({**RECORD, "kind": "fetching"}) == "captioning…"
    assert figures.stats_markdown({**RECORD, "kind": "image"}) == "captioning…"
    assert figures.stats_markdown(RECORD) == ("generating… · **9 words** after the prompt · caption 1.2 s · story 0.5 s · "
                                              "24 tokens/s · first token 0.05 s · seed 5")
    caption_only = {**RECORD, "kind": "caption", "tokens": 0, "load_seconds": 3.0}
    assert figures.stats_markdown(caption_only) == ("generating… · **9 words** after the prompt · caption 1.2 s · seed 5 · "
                                                    "models loaded in 3.0 s")
    assert figures.stats_markdown({**RECORD, "kind": "done"}).startswith("**9 words** after the prompt · caption 1.2 s")
    assert figures.stats_markdown({**RECORD, "kind": "done", "stopped": True}).startswith("stopped · **9 words**")


def test_cli_summary_line():
    done = {**RECORD, "kind": "done"}
    assert figures.summary_text(done) == "(9 words after the prompt · caption 1.2 s · story 0.5 s · 24 tokens/s · seed 5)"
    assert figures.summary_text({**done, "stopped": True}).startswith("(stopped · 9 words")


def test_a_running_story_says_how_long_is_left_at_most():
    from labs.story import figures
    from labs.story.config import LENGTHS

    r = {"kind": "story", "word_count": 20, "caption_seconds": 1.0, "tokens": 30, "story_seconds": 1.0,
         "tokens_per_second": 30.0, "first_token_seconds": 0.1, "seed": 1, "load_seconds": 0.0, "length": "short"}
    line = figures.stats_markdown(r)
    assert line.startswith("generating… · at most ") and f"{(LENGTHS['short'] - 30) / 30:.0f} s left" in line
    assert "left" not in figures.stats_markdown({**r, "kind": "done", "stopped": False})
