"""Uploads to the Image story tab through gradio_client: taken as files, decoded by labs.story.images.

Gradio no longer decodes them (gr.Image did, before the handler ran: a damaged file or a
decompression bomb got "The upstream Gradio app has raised an exception" and a 97 KB
1x50,000,000 PNG cost 1-1.5 GB). The server runs in this process (serve_tab), so its
memory is this process's: the peak (VmHWM, reset through /proc/self/clear_refs) is read
around the request.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from story_fixtures import build_tiny_models, one_thread, story_env, tiny_models  # noqa: F401 (fixtures)
from test_story_images import png_bytes

from conftest import serve_tab
from labs.ui import MAX_FILE_SIZE


def _words(story: str, caption: str) -> str:
    """The status line's word count: the story's words after the prompt (as the seed counts them)."""
    from labs.story import PROMPT

    return f"**{len(story.split()) - len(PROMPT.format(caption=caption).split())} words** after the prompt"

CONTROLS = ("short", 0.7, 0.9, 1.2, 5, 1)  # length, temperature, top-p, repetition penalty, seed, beams


@pytest.fixture(scope="module")
def story_url():
    from labs.story import tab

    with serve_tab(tab) as url:
        yield url


def _story(url, path):
    from gradio_client import Client, handle_file

    return Client(url, verbose=False).predict("", handle_file(str(path)), *CONTROLS, api_name="/story")


def _refusal(url, path) -> str:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        _story(url, path)
    message = str(info.value)
    assert "upstream" not in message.lower() and "Traceback" not in message
    return message


def _memory_kb() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) for k in ("VmRSS", "VmHWM")}


def _png(size=(400, 300), color="orange") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def test_a_small_png_upload_gets_its_picture_caption_and_story(story_url, story_env, tmp_path):
    from gradio_client import Client, handle_file

    path = tmp_path / "sunset.png"
    path.write_bytes(_png())
    job = Client(story_url, verbose=False).submit("", handle_file(str(path)), *CONTROLS, api_name="/story")
    pictures = [u[0] for u in job if isinstance(u[0], str)]  # sent once (a file path); later updates skip it
    _, caption, story, stats = job.result()
    assert caption and story.startswith(f"This is a story about {caption}. One day,")
    assert _words(story, caption) in stats and "seed 5" in stats
    assert len(pictures) == 1
    with Image.open(pictures[0]) as shown:  # the checked picture, drawn by the handler (not Gradio's decode)
        assert shown.size == (400, 300) and shown.getpixel((0, 0))[:3] == (255, 165, 0)


@pytest.mark.parametrize("name, content, message", [
    ("notes.png", b"these are my notes, not a picture\n" * 20,
     "the upload notes.png is not a JPEG, PNG, WebP, GIF or BMP image"),
    ("damaged.png", _png()[:200], "the upload damaged.png is a damaged or truncated image ("),
    ("empty.jpg", b"", "the upload empty.jpg is not a JPEG, PNG, WebP, GIF or BMP image"),
    ("cat.tiff", b"II*\x00" + b"\x00" * 100, "Invalid file type. Please upload a file that is one of these formats"),
])
def test_hostile_uploads_get_one_clear_sentence(story_url, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    assert message in _refusal(story_url, path)


def test_the_1x50000000_png_is_refused_from_its_header_within_200_mb(story_url, tmp_path, capsys):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(1, 50_000_000))
    assert path.stat().st_size < 120_000
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _memory_kb()
    message = _refusal(story_url, path)
    added_mb = (_memory_kb()["VmHWM"] - before["VmRSS"]) / 1024
    assert message.startswith("the upload bomb.png is 1x50000000 pixels: decoding it would take 429.2 MB")
    with capsys.disabled():
        print(f"\n1x50,000,000 PNG ({path.stat().st_size / 1000:.0f} kB) upload: server peak +{added_mb:.1f} MB")
    assert added_mb < 200


def test_gradio_refuses_an_upload_over_max_file_size(story_url, tmp_path):
    """gradio_client refuses it before sending (it reads the limit from the app); the server refuses it too."""
    import httpx

    path = tmp_path / "huge.png"
    with path.open("wb") as f:  # a valid PNG head, then padding past the limit
        f.write(_png())
        f.truncate(MAX_FILE_SIZE + 1)
    with pytest.raises(ValueError, match=f"exceeds the maximum file size of {MAX_FILE_SIZE} bytes"):
        _story(story_url, path)
    with path.open("rb") as f:
        answer = httpx.post(f"{story_url}gradio_api/upload", files={"files": ("huge.png", f, "image/png")})
    assert answer.status_code == 413 and f"maximum allowed size of {MAX_FILE_SIZE} bytes" in answer.text
