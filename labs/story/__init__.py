"""Lab 3: image -> BLIP caption -> TinyStories story (see experiment.py), with safe image fetching."""

from labs.story.config import LENGTHS, FetchLimits, StoryConfig
from labs.story.experiment import PROMPT, ImageStoryGenerator, cut_at_sentence, tell_story, word_count
from labs.story.fetch import load_image

__all__ = ["FetchLimits", "ImageStoryGenerator", "LENGTHS", "PROMPT", "StoryConfig", "cut_at_sentence",
           "load_image", "tell_story", "word_count"]
