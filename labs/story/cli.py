"""`python -m labs story [IMAGE]`: caption an image and tell a story about it.

With no IMAGE it is the seed's interactive mode: it asks for an image URL (or path)
and a length, tells the story, and asks again until an empty line.
"""

from __future__ import annotations

import argparse
import json
import sys

from labs.core import params
from labs.core.errors import LabsError
from labs.story import figures
from labs.story.config import LENGTHS, FetchLimits, StoryConfig
from labs.story.experiment import ImageStoryGenerator, cut_at_sentence, tell_story
from labs.story.models import CAPTION_ENV, STORY_ENV

DEFAULTS = StoryConfig()
# CLI flag -> StoryConfig field; the values go through params.build, which converts and checks them
FLAGS = {"--length": "length", "--seed": "seed", "--temperature": "temperature", "--top-p": "top_p",
         "--repetition-penalty": "repetition_penalty", "--beams": "num_beams",
         "--max-caption-tokens": "max_caption_tokens"}


def _number(text: str):
    """A number when the text is one (so messages show -5, as the tab's do), else the text for params to refuse."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "story", help="caption an image (BLIP) and write a short story about it (TinyStories)",
        description="Caption an image with BLIP and continue 'This is a story about {caption}. One day,' "
                    "with a TinyStories model. Without IMAGE: interactive mode.")
    p.add_argument("image", nargs="?", help="image URL or file path (omit for the interactive mode)")
    helps = {"length": f"story length preset: {' | '.join(LENGTHS)}", "seed": "sampling seed (-1: random, printed)",
             "temperature": "sampling temperature", "top_p": "nucleus sampling mass",
             "repetition_penalty": ">1 discourages repeats", "num_beams": "caption beam count",
             "max_caption_tokens": "caption length cap in tokens"}
    for flag, field in FLAGS.items():
        p.add_argument(flag, dest=field, metavar=flag[2:].upper().replace("-", "_"), default=None,
                       type=str if field == "length" else _number,
                       help=f"{helps[field]} (default: {getattr(DEFAULTS, field)})")
    p.add_argument("--caption-model", default=None, help=f"hub id or folder (default: ${CAPTION_ENV} or BLIP-base)")
    p.add_argument("--story-model", default=None, help=f"hub id or folder (default: ${STORY_ENV} or TinyStories-33M)")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="allow URLs on loopback/private networks (same as LABS_ALLOW_PRIVATE_URLS=1)")
    p.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    p.set_defaults(func=run)


class _StatusLine:
    """A model's loading / download progress on stderr: one line redrawn on a terminal and cleared before
    anything else is printed; in a log, downloads only (a local load takes seconds, and an error after it
    stays the one line)."""

    def __init__(self):
        self.shown = False

    def show(self, line: str) -> None:
        if sys.stderr.isatty():
            print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
            self.shown = True
        elif line.startswith("downloading"):
            print(line, file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
            self.shown = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.clear()  # before the error line, if loading failed


def _tell(gen: ImageStoryGenerator, image: str, config: StoryConfig, as_json: bool, out=None) -> dict:
    out = out or sys.stdout
    printed, r = "", {}
    with _StatusLine() as status:
        for r in tell_story(image, config, None, gen):
            if r["kind"] == "loading":
                status.show(r["status"])
                continue
            status.clear()
            if as_json or r["kind"] in ("fetching", "image"):
                continue
            if r["kind"] == "caption":
                print(f"Caption: {r['caption']}\n", file=out)
            # Print whole sentences as they complete, so nothing printed is later cut away.
            text = r["story"] if r["kind"] == "done" else cut_at_sentence(r["story"], len(r["prompt"]))
            if text.startswith(printed) and len(text) > len(printed):
                print(text[len(printed):], end="", file=out, flush=True)
                printed = text
    if as_json:
        print(json.dumps(r, indent=2), file=out)
    else:
        print(f"\n\n{figures.summary_text(r)}", file=out)
    return r


def run(args: argparse.Namespace) -> int:
    # Checked first: a bad value is one line and exit 2 before any model loads.
    config = params.build(StoryConfig, **{f: getattr(args, f) for f in FLAGS.values() if getattr(args, f) is not None})
    limits = FetchLimits(allow_private=True) if args.allow_private_urls else FetchLimits()
    gen = ImageStoryGenerator(args.caption_model, args.story_model, fetch_limits=limits)
    if args.image:
        _tell(gen, args.image, config, args.json)
        return 0
    with _StatusLine() as status:
        for line in gen.loading():  # an unavailable model fails here, before the first question
            status.show(line)
    print("Image story: enter an image URL or file path, then a length; an empty line quits.")
    while True:
        try:
            image = input("\nImage URL or path: ").strip()
            if not image:
                return 0
            length = input(f"Length ({'/'.join(LENGTHS)}) [{config.length}]: ").strip().lower() or config.length
        except EOFError:
            print()
            return 0
        try:  # a bad URL or length should not end the session
            _tell(gen, image, params.replace(config, length=length), args.json)
        except LabsError as err:
            print(f"error: {err}", file=sys.stderr)
