"""`python -m labs story [IMAGE]`: caption an image and tell a story about it.

With no IMAGE it is the seed's interactive mode: it asks for an image URL (or path)
and a length, tells the story, and asks again until an empty line.
"""

from __future__ import annotations

import argparse
import json
import sys

from labs.core.errors import LabsError
from labs.story.fetch import FetchLimits
from labs.story.generator import (CAPTION_ENV, LENGTHS, STORY_ENV, ImageStoryGenerator, StorySettings,
                                  cut_at_sentence)

DEFAULTS = StorySettings()


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "story", help="caption an image (BLIP) and write a short story about it (TinyStories)",
        description="Caption an image with BLIP and continue 'This is a story about {caption}. One day,' "
                    "with a TinyStories model. Without IMAGE: interactive mode.")
    p.add_argument("image", nargs="?", help="image URL or file path (omit for the interactive mode)")
    p.add_argument("--length", choices=list(LENGTHS), default=DEFAULTS.length,
                   help="story length preset (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="sampling seed (default: random, printed)")
    p.add_argument("--temperature", type=float, default=DEFAULTS.temperature, help="default: %(default)s")
    p.add_argument("--top-p", type=float, default=DEFAULTS.top_p, help="default: %(default)s")
    p.add_argument("--repetition-penalty", type=float, default=DEFAULTS.repetition_penalty,
                   help="default: %(default)s")
    p.add_argument("--beams", type=int, default=DEFAULTS.num_beams, help="caption beam count (default: %(default)s)")
    p.add_argument("--max-caption-tokens", type=int, default=DEFAULTS.max_caption_tokens,
                   help="default: %(default)s")
    p.add_argument("--caption-model", default=None, help=f"hub id or folder (default: ${CAPTION_ENV} or BLIP-base)")
    p.add_argument("--story-model", default=None, help=f"hub id or folder (default: ${STORY_ENV} or TinyStories-33M)")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="allow URLs on loopback/private networks (same as LABS_ALLOW_PRIVATE_URLS=1)")
    p.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    p.set_defaults(func=run)


def _tell(gen: ImageStoryGenerator, image: str, length: str, args, out=None) -> dict:
    out = out or sys.stdout
    settings = dict(temperature=args.temperature, top_p=args.top_p, repetition_penalty=args.repetition_penalty,
                    seed=args.seed, num_beams=args.beams, max_caption_tokens=args.max_caption_tokens)
    printed, r = "", {}
    for r in gen.stream_from_image(image, length, **settings):
        if args.json:
            continue
        if r["stage"] == "caption":
            print(f"Caption: {r['caption']}\n", file=out)
        # Print whole sentences as they complete, so nothing printed is later cut away.
        text = r["story"] if r["stage"] == "done" else cut_at_sentence(r["story"], len(r["prompt"]))
        if text.startswith(printed) and len(text) > len(printed):
            print(text[len(printed):], end="", file=out, flush=True)
            printed = text
    if args.json:
        print(json.dumps(r, indent=2), file=out)
    else:
        print(f"\n\n({r['word_count']} words · caption {r['caption_seconds']:.1f} s · story {r['story_seconds']:.1f} s"
              f" · {r['tokens_per_second']:.0f} tokens/s · seed {r['seed']})", file=out)
    return r


def run(args: argparse.Namespace) -> int:
    limits = FetchLimits(allow_private=True) if args.allow_private_urls else FetchLimits()
    gen = ImageStoryGenerator(args.caption_model, args.story_model, fetch_limits=limits)
    if args.image:
        _tell(gen, args.image, args.length, args)
        return 0
    gen.load()  # an unavailable model fails here, before the first question
    print("Image story: enter an image URL or file path, then a length; an empty line quits.")
    while True:
        try:
            image = input("\nImage URL or path: ").strip()
            if not image:
                return 0
            length = input(f"Length ({'/'.join(LENGTHS)}) [{args.length}]: ").strip().lower() or args.length
        except EOFError:
            print()
            return 0
        if length not in LENGTHS:
            print(f"error: unknown length {length!r}: choose one of {', '.join(LENGTHS)}", file=sys.stderr)
            continue
        try:
            _tell(gen, image, length, args)
        except LabsError as err:  # a bad URL should not end the session
            print(f"error: {err}", file=sys.stderr)
