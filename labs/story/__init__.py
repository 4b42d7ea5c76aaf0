"""Lab 3: image -> BLIP caption -> TinyStories story (see generator.py), with safe image fetching."""

from labs.story.fetch import FetchLimits, load_image
from labs.story.generator import (LENGTHS, PROMPT, ImageStoryGenerator, StorySettings, cut_at_sentence,
                                  word_count)

__all__ = ["FetchLimits", "ImageStoryGenerator", "LENGTHS", "PROMPT", "StorySettings", "cut_at_sentence",
           "load_image", "word_count"]
