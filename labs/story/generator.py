"""Image -> BLIP caption -> TinyStories story, streamed token by token.

    from labs.story import ImageStoryGenerator
    result = ImageStoryGenerator().generate_from_image(image_path="https://...", length="medium")
    result["caption"], result["story"], result["word_count"]

Models load lazily on first use, once per process (shared by every generator
instance and every user; see models.py), on the GPU in bf16 when there is one. torch and
transformers are imported inside functions so `import labs.story` stays light.
"""

from __future__ import annotations

import os
import queue
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Iterator

from labs.core.errors import LabsError
from labs.story.fetch import FetchLimits, load_image
from labs.story.models import (CAPTION_ENV, DEFAULT_CAPTION_MODEL, DEFAULT_STORY_MODEL, STORY_ENV, check_folder,
                               load_model)

PROMPT = "This is a story about {caption}. One day,"

# max_new_tokens per preset. TinyStories text runs ~1.3 GPT-2 tokens per word; the story
# shown adds the ~12-word prompt and loses the cut partial sentence (~8 words), so these
# aim at the seed's ~130 / ~165 / ~175 words. A story that ends (EOS) first is shorter.
LENGTHS = {"short": 160, "medium": 210, "long": 230}


@dataclass
class StorySettings:
    length: str = "medium"             # a LENGTHS key
    temperature: float = 0.7           # sampling temperature (the seed's; UI range 0.1-1.5)
    top_p: float = 0.9                 # nucleus sampling mass
    repetition_penalty: float = 1.2    # >1 discourages repeated tokens (prompt included)
    seed: int | None = None            # None: a fresh random seed, reported in the result
    num_beams: int = 3                 # caption beam search width (beams caption better than sampling)
    max_caption_tokens: int = 20       # BLIP's own max_length; its captions run ~8-15 tokens

    def check(self) -> None:
        if self.length not in LENGTHS:
            raise LabsError(f"unknown length {self.length!r}: choose one of {', '.join(LENGTHS)}")
        if not 0 < self.temperature <= 5:
            raise LabsError(f"temperature must be in (0, 5], got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise LabsError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 < self.repetition_penalty <= 5:
            raise LabsError(f"repetition_penalty must be in (0, 5], got {self.repetition_penalty}")
        if int(self.num_beams) < 1 or int(self.max_caption_tokens) < 1:
            raise LabsError("num_beams and max_caption_tokens must be at least 1")


# ---------------------------------------------------------------- text helpers

# ., !, ? or ... optionally closed by quotes/brackets, then whitespace or the end: "3.5" is no end.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s|$)")
_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.")
# BLIP-base sometimes emits these non-words (it learned them from noisy alt text).
_CAPTION_ARTIFACTS = re.compile(r"\b(?:arafed|araffe|arafe|arafly)\b\s*", re.IGNORECASE)


def cut_at_sentence(text: str, start: int = 0) -> str:
    """`text` up to its last complete sentence ending at or after `start`.

    With no sentence end after `start` the trailing partial word is dropped
    instead, so the result never ends mid-word. `start` protects a prompt.
    """
    end = None
    for m in _SENTENCE_END.finditer(text, start):
        if not text[: m.end()].endswith(_ABBREVIATIONS):
            end = m.end()
    if end is not None:
        return text[:end]
    if text[-1:].isspace() or len(text) <= start:
        return text.rstrip()
    space = max(text.rfind(" ", start), text.rfind("\n", start))
    return text[:space].rstrip() if space >= start else text[:start].rstrip()


def word_count(text: str) -> int:
    return len(text.split())


def clean_caption(text: str) -> str:
    text = _CAPTION_ARTIFACTS.sub("", text)
    text = " ".join(text.split()).strip(" .")
    return text or "a picture"


# ---------------------------------------------------------------- the generator

class ImageStoryGenerator:
    """Caption an image with BLIP (beam search), then continue PROMPT with a TinyStories LM.

    caption_model / story_model: hub id or local folder; default $LABS_CAPTION_MODEL /
    $LABS_STORY_MODEL, else the seed's models. device/dtype default to CUDA + bf16 when
    present; on CPU the caption runs in bf16 where the CPU has native bf16 and the story
    in float32 (see models.py). allow_paths=False refuses local file paths (web use).
    """

    def __init__(self, caption_model: str | None = None, story_model: str | None = None, device=None,
                 dtype=None, fetch_limits: FetchLimits | None = None, allow_paths: bool = True):
        self.caption_model = caption_model or os.environ.get(CAPTION_ENV) or DEFAULT_CAPTION_MODEL
        self.story_model = story_model or os.environ.get(STORY_ENV) or DEFAULT_STORY_MODEL
        self.device, self.dtype = device, dtype
        self.fetch_limits = fetch_limits or FetchLimits()
        self.allow_paths = allow_paths

    def load(self) -> float:
        """Load both models (a no-op when cached); seconds spent. Fails fast with a LabsError."""
        t0 = time.perf_counter()
        check_folder("caption", self.caption_model)
        check_folder("story", self.story_model)
        load_model("caption", self.caption_model, self.device, self.dtype)
        load_model("story", self.story_model, self.device, self.dtype)
        return time.perf_counter() - t0

    def caption(self, image, num_beams: int = 3, max_caption_tokens: int = 20) -> str:
        """BLIP caption of an image (URL, path, bytes or PIL image), cleaned for the prompt."""
        import torch

        img = load_image(image, self.fetch_limits, allow_paths=self.allow_paths)
        blip = load_model("caption", self.caption_model, self.device, self.dtype)
        with blip.lock, torch.inference_mode():
            pixels = blip.processor(images=img, return_tensors="pt")["pixel_values"]
            out = blip.model.generate(pixel_values=pixels.to(blip.device, blip.dtype), num_beams=int(num_beams),
                                      max_new_tokens=int(max_caption_tokens), do_sample=False)
        return clean_caption(blip.processor.decode(out[0], skip_special_tokens=True))

    def stream_story(self, prompt: str, settings: StorySettings, seed: int) -> Iterator[tuple[str, int, float]]:
        """(continuation text so far, tokens so far, seconds to the first token), once per token."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        lm = load_model("story", self.story_model, self.device, self.dtype)
        tok = lm.processor
        enc = tok(prompt, return_tensors="pt")
        tokens: queue.Queue = queue.Queue()
        stop = threading.Event()

        class Streamer:  # generate() calls put(prompt ids) once, then put(new ids) per step, then end()
            seen_prompt = False

            def put(self, ids):
                if self.seen_prompt:
                    tokens.put(ids.reshape(-1).tolist())
                self.seen_prompt = True

            def end(self):
                pass

        class StopWhenAbandoned(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device)

        def work():
            try:
                # generate() samples from the global RNG: the model's lock makes the seed
                # hold when users overlap (their stories run one after the other).
                with lm.lock, torch.inference_mode():
                    torch.manual_seed(seed)
                    lm.model.generate(
                        input_ids=enc["input_ids"].to(lm.device), attention_mask=enc["attention_mask"].to(lm.device),
                        do_sample=True, temperature=settings.temperature, top_p=settings.top_p,
                        repetition_penalty=settings.repetition_penalty, max_new_tokens=LENGTHS[settings.length],
                        pad_token_id=tok.eos_token_id, streamer=Streamer(),
                        stopping_criteria=StoppingCriteriaList([StopWhenAbandoned()]))
                tokens.put(None)
            except BaseException as err:  # noqa: BLE001 - handed to the consumer thread
                tokens.put(err)

        t0 = time.perf_counter()
        first = None
        ids: list[int] = []
        threading.Thread(target=work, daemon=True, name="story-generate").start()
        try:
            while (item := tokens.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                first = time.perf_counter() - t0 if first is None else first
                ids.extend(item)
                # A multi-byte character split across tokens decodes to U+FFFD until complete.
                yield tok.decode(ids, skip_special_tokens=True).rstrip("\ufffd"), len(ids), first
        finally:
            stop.set()  # the consumer left (done, error, or a cancelled UI request): stop generating

    def stream_from_image(self, image_path, length: str = "medium", **settings) -> Iterator[dict]:
        """Yield the result dict as it grows: stage "caption", then "story" per token, then "done".

        settings: StorySettings fields (temperature, top_p, repetition_penalty, seed,
        num_beams, max_caption_tokens). The last dict is generate_from_image's result.
        """
        s = StorySettings(length=length, **settings)
        s.check()
        seed = int(s.seed) if s.seed is not None else secrets.randbelow(2**31)
        load_seconds = self.load()
        t0 = time.perf_counter()
        caption = self.caption(image_path, s.num_beams, s.max_caption_tokens)
        prompt = PROMPT.format(caption=caption)
        r = {"stage": "caption", "caption": caption, "prompt": prompt, "story": prompt,
             "word_count": word_count(prompt), "length": s.length, "seed": seed, "tokens": 0,
             "load_seconds": round(load_seconds, 3), "caption_seconds": round(time.perf_counter() - t0, 3),
             "first_token_seconds": None, "story_seconds": 0.0, "tokens_per_second": 0.0,
             "caption_model": self.caption_model, "story_model": self.story_model}
        yield dict(r)
        t1 = time.perf_counter()
        for text, n, first in self.stream_story(prompt, s, seed):
            elapsed = time.perf_counter() - t1
            r.update(stage="story", story=prompt + text, word_count=word_count(prompt + text), tokens=n,
                     first_token_seconds=round(first, 3), story_seconds=round(elapsed, 3),
                     tokens_per_second=round(n / elapsed, 1) if elapsed > 0 else 0.0)
            yield dict(r)
        story = cut_at_sentence(r["story"], start=len(prompt))
        r.update(stage="done", story=story, word_count=word_count(story))
        yield dict(r)

    def generate_from_image(self, image_path, length: str = "medium", **settings) -> dict:
        """Caption + story in one call: a dict with caption, prompt, story, word_count, seed and timings."""
        result = None
        for result in self.stream_from_image(image_path, length, **settings):
            pass
        return result
