"""Image -> BLIP caption -> TinyStories story, as a generator of plain dicts.

    from labs.story import ImageStoryGenerator
    result = ImageStoryGenerator().generate_from_image(image_path="https://...", length="medium")
    result["caption"], result["story"], result["word_count"]

`tell_story(source, config, stop, generator)` is the experiment: the tab, the CLI and
the tests all drive it. Each record is the whole result so far plus its "kind":
"fetching" (first, before any work), "image" (decoded, with the PIL image), "loading"
(only while a model loads: its "status" line, e.g. a download's percentage), "caption",
"story" (once per token), "done" (the story cut at its last sentence; "stopped" says
whether `stop` ended it early). Models load lazily on first use, once per process
(models.py); torch and transformers are imported inside functions so
`import labs.story` stays light.
"""

from __future__ import annotations

import queue
import re
import secrets
import threading
import time
from typing import Iterator

from labs.core import params
from labs.story.config import LENGTHS, RANDOM_SEED, FetchLimits, StoryConfig
from labs.story.fetch import load_image, looks_like_url
from labs.story.models import check_folder, load_model, loading, model_id

PROMPT = "This is a story about {caption}. One day,"

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


def word_count(text: str, prompt: str = "") -> int:
    """Words of `text` after `prompt` (which `text` starts with): the seed counts a story without its prompt
    (its medium example: 178 words in all - 14 of the prompt = 164)."""
    return max(len(text.split()) - len(prompt.split()), 0)


def clean_caption(text: str) -> str:
    text = _CAPTION_ARTIFACTS.sub("", text)
    text = " ".join(text.split()).strip(" .")
    return text or "a picture"


# ---------------------------------------------------------------- the models at work

class ImageStoryGenerator:
    """Which models (and where), which images: the state `tell_story` runs with.

    caption_model / story_model: hub id or local folder; default $LABS_CAPTION_MODEL /
    $LABS_STORY_MODEL, else the seed's models. device/dtype default to CUDA + bf16 when
    present; on CPU the caption runs in bf16 where the CPU has native bf16 and the story
    in float32 (see models.py). allow_paths=False refuses local file paths (web use).
    """

    def __init__(self, caption_model: str | None = None, story_model: str | None = None, device=None,
                 dtype=None, fetch_limits: FetchLimits | None = None, allow_paths: bool = True):
        self.caption_model, self.story_model = model_id("caption", caption_model), model_id("story", story_model)
        self.device, self.dtype = device, dtype
        self.fetch_limits = fetch_limits or FetchLimits()
        self.allow_paths = allow_paths

    def check(self) -> None:
        """A model folder that does not exist fails here, in no time (before any import of torch)."""
        check_folder("caption", self.caption_model)
        check_folder("story", self.story_model)

    def loading(self, stop: threading.Event | None = None) -> Iterator[str]:
        """Load both models, yielding status lines while they load (none when cached); ends early on `stop`.
        Concurrent first uses share one load per model. Fails fast with a LabsError."""
        self.check()
        yield from loading("caption", self.caption_model, self.device, self.dtype, stop)
        if not (stop and stop.is_set()):
            yield from loading("story", self.story_model, self.device, self.dtype, stop)

    def load(self) -> float:
        """Load both models (a no-op when cached); seconds spent. Fails fast with a LabsError."""
        t0 = time.perf_counter()
        for _ in self.loading():
            pass
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

    def stream_story(self, prompt: str, config: StoryConfig, seed: int,
                     stop: threading.Event | None = None) -> Iterator[tuple[str, int, float]]:
        """(continuation text so far, tokens so far, seconds to the first token), once per token.
        Generation ends at the budget, at EOS, when `stop` is set, or when the consumer leaves."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        lm = load_model("story", self.story_model, self.device, self.dtype)
        tok = lm.processor
        enc = tok(prompt, return_tensors="pt")
        tokens: queue.Queue = queue.Queue()
        left = threading.Event()
        stop = stop or threading.Event()

        class Streamer:  # generate() calls put(prompt ids) once, then put(new ids) per step, then end()
            seen_prompt = False

            def put(self, ids):
                if self.seen_prompt:
                    tokens.put(ids.reshape(-1).tolist())
                self.seen_prompt = True

            def end(self):
                pass

        class StopWhenAsked(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                done = stop.is_set() or left.is_set()
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

        def work():
            try:
                # generate() samples from the global RNG: the model's lock makes the seed
                # hold when users overlap (their stories run one after the other).
                with lm.lock, torch.inference_mode():
                    torch.manual_seed(seed)
                    lm.model.generate(
                        input_ids=enc["input_ids"].to(lm.device), attention_mask=enc["attention_mask"].to(lm.device),
                        do_sample=True, temperature=config.temperature, top_p=config.top_p,
                        repetition_penalty=config.repetition_penalty, max_new_tokens=LENGTHS[config.length],
                        pad_token_id=tok.eos_token_id, streamer=Streamer(),
                        stopping_criteria=StoppingCriteriaList([StopWhenAsked()]))
                tokens.put(None)
            except BaseException as err:  # noqa: BLE001 - handed to the consumer thread
                tokens.put(err)

        t0 = time.perf_counter()
        first = None
        ids: list[int] = []
        threading.Thread(target=work, daemon=True, name="story-generate").start()
        try:
            while (item := tokens.get()) is not None and not stop.is_set():
                if isinstance(item, BaseException):
                    raise item
                first = time.perf_counter() - t0 if first is None else first
                ids.extend(item)
                # A multi-byte character split across tokens decodes to U+FFFD until complete.
                yield tok.decode(ids, skip_special_tokens=True).rstrip("\ufffd"), len(ids), first
        finally:
            left.set()  # done, stopped, failed or abandoned (a cancelled page): stop generating

    def stream_from_image(self, image_path, length: str = "medium", stop: threading.Event | None = None,
                          **settings) -> Iterator[dict]:
        """tell_story's records for StoryConfig fields given as raw values (checked by params.build)."""
        return tell_story(image_path, params.build(StoryConfig, length=length, **settings), stop, self)

    def generate_from_image(self, image_path, length: str = "medium", **settings) -> dict:
        """Caption + story in one call: a dict with caption, prompt, story, word_count, seed and timings."""
        result = None
        for result in self.stream_from_image(image_path, length, **settings):
            pass
        return result


# ---------------------------------------------------------------- the experiment

def tell_story(source, config: StoryConfig | None = None, stop: threading.Event | None = None,
               generator: ImageStoryGenerator | None = None) -> Iterator[dict]:
    """Fetch/decode `source` (URL, path, bytes or PIL image), caption it, write the story token by token.

    Yields the growing result dict (see the module docstring). `stop` (a threading.Event)
    ends the story at the next token; the "done" record then says stopped=True.
    """
    config = config or StoryConfig()
    g = generator or ImageStoryGenerator()
    stop = stop or threading.Event()
    seed = config.seed if config.seed != RANDOM_SEED else secrets.randbelow(2**31)
    from_url = isinstance(source, str) and looks_like_url(source)
    r = {"kind": "fetching", "from_url": from_url, "caption": "", "prompt": "", "story": "", "word_count": 0,
         "length": config.length, "seed": seed, "tokens": 0, "fetch_seconds": 0.0, "load_seconds": 0.0,
         "caption_seconds": 0.0, "first_token_seconds": None, "story_seconds": 0.0, "tokens_per_second": 0.0,
         "caption_model": g.caption_model, "story_model": g.story_model, "stopped": False}
    yield dict(r)  # before any work: a page clears its last story here
    t0 = time.perf_counter()
    image = load_image(source, g.fetch_limits, allow_paths=g.allow_paths)
    r.update(kind="image", fetch_seconds=round(time.perf_counter() - t0, 3))
    g.check()
    yield {**r, "image": image}
    if stop.is_set():
        yield {**r, "kind": "done", "stopped": True}
        return
    t0 = time.perf_counter()
    for status in g.loading(stop):
        yield {**r, "kind": "loading", "status": status}
    r["load_seconds"] = round(time.perf_counter() - t0, 3)
    if stop.is_set():
        yield {**r, "kind": "done", "stopped": True}
        return
    t0 = time.perf_counter()
    caption = g.caption(image, config.num_beams, config.max_caption_tokens)
    prompt = PROMPT.format(caption=caption)
    r.update(kind="caption", caption=caption, prompt=prompt, story=prompt, word_count=0,
             caption_seconds=round(time.perf_counter() - t0, 3))
    yield dict(r)
    t1 = time.perf_counter()
    if not stop.is_set():
        for text, n, first in g.stream_story(prompt, config, seed, stop):
            elapsed = time.perf_counter() - t1
            r.update(kind="story", story=prompt + text, word_count=word_count(prompt + text, prompt), tokens=n,
                     first_token_seconds=round(first, 3), story_seconds=round(elapsed, 3),
                     tokens_per_second=round(n / elapsed, 1) if elapsed > 0 else 0.0)
            yield dict(r)
    story = cut_at_sentence(r["story"], start=len(prompt))
    r.update(kind="done", story=story, word_count=word_count(story, prompt), stopped=stop.is_set())
    yield dict(r)
