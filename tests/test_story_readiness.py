"""The story tab's first-view line: models ready, to download once, or no story possible here (and the fix)."""

import pytest

from labs.story import models, readiness

BLIP, TINY = models.DEFAULT_CAPTION_MODEL, models.DEFAULT_STORY_MODEL


@pytest.fixture(autouse=True)
def defaults(monkeypatch):
    """The default hub ids, nothing loaded in this process, online unless a test says otherwise."""
    for var in (models.CAPTION_ENV, models.STORY_ENV, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(models, "_CACHE", {})


def _cache(root, model_id, files):
    """A Hugging Face hub cache entry as huggingface_hub lays it out: refs/main -> snapshots/<commit>/files."""
    repo = root / f"models--{model_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snap = repo / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    for name in files:
        (snap / name).write_text("{}")


def test_nothing_cached_online_says_what_the_first_story_downloads(tmp_path):
    said = readiness.line(cache_dir=tmp_path)
    assert said == ("The first story downloads BLIP captioning model (990 MB) and TinyStories-33M story model once "
                    "(its progress shows under the story); later stories start in seconds.")


def test_nothing_cached_offline_says_no_story_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    said = readiness.line(cache_dir=tmp_path)
    assert said.startswith("⚠️ BLIP captioning model (990 MB) and TinyStories-33M story model are not in the local")
    assert "HF_HUB_OFFLINE is set" in said and "LABS_CAPTION_MODEL / LABS_STORY_MODEL to a local folder" in said


def test_a_cached_model_needs_its_weights_not_just_its_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _cache(tmp_path, BLIP, ["config.json", "model.safetensors"])
    _cache(tmp_path, TINY, ["config.json"])  # an interrupted download: no weights
    assert readiness.in_hub_cache(BLIP, tmp_path) and not readiness.in_hub_cache(TINY, tmp_path)
    said = readiness.line(cache_dir=tmp_path)
    assert said.startswith("⚠️ TinyStories-33M story model is not in the local") and "BLIP" not in said
    assert "LABS_STORY_MODEL to a local folder" in said and "LABS_CAPTION_MODEL" not in said
    (tmp_path / f"models--{TINY.replace('/', '--')}" / "snapshots" / ("0" * 40) / "pytorch_model.bin").write_text("")
    assert readiness.line(cache_dir=tmp_path) == ("Models: BLIP captioning model (990 MB) and TinyStories-33M story "
                                                  "model, on this machine: a story starts in seconds.")


def test_local_folders_and_a_missing_one(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(models.CAPTION_ENV, str(tmp_path))
    monkeypatch.setenv(models.STORY_ENV, str(tmp_path))
    assert readiness.line(cache_dir=tmp_path).endswith(", on this machine: a story starts in seconds.")
    monkeypatch.setenv(models.STORY_ENV, str(tmp_path / "nowhere"))
    said = readiness.line(cache_dir=tmp_path)
    assert said == (f"⚠️ story model folder {tmp_path / 'nowhere'} does not exist: set LABS_STORY_MODEL=/path/to/"
                    f"local/folder (a save_pretrained folder) or a reachable hub id")


def test_models_loaded_in_this_process_are_ready_even_offline_without_a_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(models, "_CACHE", {("caption", BLIP, "cpu", "torch.bfloat16"): object(),
                                           ("story", TINY, "cpu", "torch.float32"): object()})
    assert readiness.line(cache_dir=tmp_path).endswith(" model, loaded: a story starts in seconds.")
