"""Lab 3 knobs: the story settings, the length presets and the image-fetch limits, with their constraints.

No torch here: the tab reads these to lay itself out before torch is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from labs.core.params import Checked, Interval, Options

# max_new_tokens per preset, in the seed's 100-200 range. TinyStories text runs ~1.3 GPT-2 tokens per
# word and the cut partial sentence loses a few, so these give ~70 / ~110 / ~150 words after the prompt
# (counted as the seed counts them: the prompt's words excluded). A story that ends (EOS) first is shorter.
LENGTHS = {"short": 100, "medium": 150, "long": 200}

RANDOM_SEED = -1  # a seed of -1 draws a fresh one per story (reported in the result)


@dataclass(frozen=True)
class StoryConfig(Checked):
    length: str = "medium"             # a LENGTHS key: the story's token budget
    temperature: float = 0.7           # sampling temperature (the seed's; the tab offers 0.1-1.5)
    top_p: float = 0.9                 # nucleus sampling mass
    repetition_penalty: float = 1.2    # >1 discourages repeated tokens (prompt included)
    seed: int = RANDOM_SEED            # sampling seed; -1: a fresh random one, reported in the result
    num_beams: int = 3                 # caption beam search width (beams caption better than sampling)
    max_caption_tokens: int = 20       # BLIP's own max_length; its captions run ~8-15 tokens

    CONSTRAINTS = {
        "length": Options(*LENGTHS),
        "temperature": Interval(float, 0, 5, closed="right"),
        "top_p": Interval(float, 0, 1, closed="right"),
        "repetition_penalty": Interval(float, 0, 5, closed="right"),
        "seed": Interval(int, RANDOM_SEED, 2**32 - 1),
        "num_beams": Interval(int, 1, 10),
        "max_caption_tokens": Interval(int, 1, 50),
    }


@dataclass(frozen=True)
class FetchLimits(Checked):
    """What labs.story.fetch may download and decode: the URL box of a public page is an attack surface."""

    max_bytes: int = 20 * 2**20        # body bytes (and local file size) before giving up
    max_pixels: int = 50_000_000       # width * height as declared in the header (a 48 MP phone photo fits)
    max_decoded_bytes: int = 128 * 2**20  # memory one decoded image may take (JPEGs decode at reduced scale)
    connect_timeout: float = 5.0       # s per connection attempt
    total_timeout: float = 10.0        # s for the whole fetch, redirects included
    max_redirects: int = 3
    max_side: int = 1024               # px; returned images are shrunk to this (BLIP looks at 384)
    allow_private: bool | None = None  # loopback/private hosts; None: read LABS_ALLOW_PRIVATE_URLS

    CONSTRAINTS = {
        "max_bytes": Interval(int, 1, None),
        "max_pixels": Interval(int, 1, None),
        "max_decoded_bytes": Interval(int, 1, None),
        "connect_timeout": Interval(float, 0, None, closed="neither"),
        "total_timeout": Interval(float, 0, None, closed="neither"),
        "max_redirects": Interval(int, 0, 20),
        "max_side": Interval(int, 1, None),
        "allow_private": Options(None, False, True),
    }
