"""labs.story.images: the checks every image passes (URL bodies and uploads), read from the header first."""

from __future__ import annotations

import io
import resource
import struct
import zlib

import pytest
from PIL import Image

from labs.core.errors import LabsError
from labs.story.config import FetchLimits
from labs.story.fetch import load_image
from labs.story.images import Upload, decode_image, decoded_bytes


def png_bytes(width: int, height: int, color_type: int = 0) -> bytes:
    """A valid all-black PNG built with zlib (a 1x50,000,000 grayscale one is ~97 KB: a memory bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    channels = {0: 1, 2: 3, 6: 4}[color_type]
    z = zlib.compressobj(9)
    row = b"\0" * (1 + width * channels)  # filter byte + pixels
    rows_per_piece = max(1, 2**20 // len(row))
    piece = row * rows_per_piece
    body, left = [], height
    while left:
        n = min(left, rows_per_piece)
        body.append(z.compress(piece if n == rows_per_piece else row * n))
        left -= n
    body.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(body)) + chunk(b"IEND", b"")


def _encoded(fmt: str, size=(40, 30), mode="RGB", **kw) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, "red" if mode != "P" else 3).save(buf, fmt, **kw)
    return buf.getvalue()


def test_the_memory_bomb_is_refused_from_its_header_without_decoding():
    bomb = png_bytes(1, 50_000_000)
    assert len(bomb) < 120_000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(LabsError) as info:
        decode_image(bomb, what="the upload")
    assert str(info.value) == ("the upload is 1x50000000 pixels: decoding it would take 429.2 MB of memory, "
                               "over the 128.0 MB limit: use a smaller image")
    # Decoding it would raise the peak by ~450 MB (a pointer per row); the header alone costs nothing.
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) * 1024 < 50 * 2**20


@pytest.mark.parametrize("fmt, kw", [("TIFF", {}), ("ICO", {}), ("PPM", {}), ("PDF", {})])
def test_only_common_web_formats_are_decoded(fmt, kw):
    with pytest.raises(LabsError, match="^the data is not a JPEG, PNG, WebP, GIF or BMP image$"):
        decode_image(_encoded(fmt, **kw))


@pytest.mark.parametrize("fmt, mode", [("JPEG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("WEBP", "RGB"),
                                       ("GIF", "P"), ("BMP", "RGB"), ("PNG", "I;16")])
def test_accepted_formats_come_out_rgb(fmt, mode):
    img = decode_image(_encoded(fmt, mode=mode))
    assert img.mode == "RGB" and img.size == (40, 30)


def test_decoded_size_counts_rows_and_modes():
    assert decoded_bytes(Image.new("L", (10, 3))) == 3 * (10 + 8)
    assert decoded_bytes(Image.new("RGB", (10, 3))) == 3 * (40 + 8)
    # 7000x7000 RGB PNG: under the 50 MP limit, over the memory limit (196 MB decoded)
    with pytest.raises(LabsError, match="7000x7000 pixels: decoding it would take 187.0 MB"):
        decode_image(png_bytes(7000, 7000, color_type=2))
    # a big JPEG decodes at a reduced scale: 6000x6000 fits in far less
    big = io.BytesIO()
    Image.new("RGB", (6000, 6000), "blue").save(big, "JPEG", quality=50)
    assert decode_image(big.getvalue()).size == (1024, 1024)


@pytest.mark.parametrize("content, message", [
    (b"hello, this is text\n" * 50, "^the upload is not a JPEG, PNG, WebP, GIF or BMP image$"),
    (b"", "^the upload is not a JPEG, PNG, WebP, GIF or BMP image$"),
    (_encoded("PNG", (400, 400))[:300], "^the upload is a damaged or truncated image"),
])
def test_uploads_get_the_same_messages(tmp_path, content, message):
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(LabsError, match=message):
        load_image(Upload(str(path)), allow_paths=False)


def test_upload_size_and_missing_file(tmp_path):
    path = tmp_path / "cat.jpg"
    path.write_bytes(_encoded("JPEG"))
    assert load_image(Upload(str(path)), allow_paths=False).size == (40, 30)
    with pytest.raises(LabsError, match=r"^the upload is \d+ bytes, over the 100 bytes limit: use a smaller image$"):
        load_image(Upload(str(path)), FetchLimits(max_bytes=100), allow_paths=False)
    with pytest.raises(LabsError, match="^the upload did not arrive: upload the image again$"):
        load_image(Upload(str(tmp_path / "gone.png")), allow_paths=False)
    with pytest.raises(LabsError, match="is not an http"):  # a typed path stays refused on the web
        load_image(str(path), allow_paths=False)
