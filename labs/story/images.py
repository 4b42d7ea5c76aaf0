"""Decoding untrusted image files under the project's own checks, for URLs and uploads alike.

Every check that can be made from the header is made before a pixel is decoded:
the format is one of FORMATS (Pillow's other plugins, e.g. EPS through Ghostscript,
never run), the declared pixel count is within FetchLimits.max_pixels, and the
memory the decoded image would take (Pillow keeps a pointer per row, so a
1x50,000,000 PNG of 97 KB needs ~450 MB) is within FetchLimits.max_decoded_bytes.
JPEGs decode at a reduced scale (draft) first, so a 48 MP photo costs a few MB.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from labs.core.errors import LabsError
from labs.story.config import FetchLimits

# Pillow format names tried, in this order (JPEG also opens the multi-picture JPEGs of phones).
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
FORMAT_NAMES = "a JPEG, PNG, WebP, GIF or BMP image"
_ROW_POINTER = 8  # bytes Pillow keeps per row of a decoded image


@dataclass(frozen=True)
class Upload:
    """A file the web page received (Gradio's own temporary copy): read despite allow_paths=False."""

    path: str
    name: str = "the upload"


def size_text(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def decoded_bytes(img: Image.Image) -> int:
    """Memory Pillow allocates to hold `img` decoded (its mode, not yet converted; row pointers included)."""
    w, h = img.size
    per_pixel = 1 if img.mode in ("1", "L", "P") else 2 if img.mode.startswith("I;16") else 4
    return h * (w * per_pixel + _ROW_POINTER)


def decode_image(data: bytes | io.BufferedIOBase, limits: FetchLimits = FetchLimits(),
                 what: str = "the data") -> Image.Image:
    """Decode with Pillow under the format, pixel and memory limits, apply EXIF orientation, convert to RGB."""
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        img = Image.open(stream, formats=FORMATS)  # lazy: reads the header only
    except Image.DecompressionBombError:
        raise LabsError(f"{what} declares far too many pixels (over the {limits.max_pixels / 1e6:g} MP "
                        "limit): use a smaller image") from None
    except UnidentifiedImageError:
        raise LabsError(f"{what} is not {FORMAT_NAMES}") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise LabsError(f"{what} is a damaged or truncated image ({err})") from None
    w, h = img.size
    if w * h > limits.max_pixels:
        raise LabsError(f"{what} is {w}x{h} pixels, over the {limits.max_pixels / 1e6:g} MP limit: "
                        "use a smaller image")
    return prepare_image(img, limits, what)


def prepare_image(img: Image.Image, limits: FetchLimits = FetchLimits(), what: str = "the image") -> Image.Image:
    """An RGB copy of `img` at most limits.max_side on a side; checks the limits before decoding a lazy image."""
    w, h = img.size
    if w * h > limits.max_pixels:
        raise LabsError(f"{what} is {w}x{h} pixels, over the {limits.max_pixels / 1e6:g} MP limit")
    try:
        # JPEG can decode at 1/2, 1/4, 1/8 scale: far less memory and time for big photos.
        img.draft("RGB", (limits.max_side, limits.max_side))
        need = decoded_bytes(img) + (img.width * img.height * 4 if img.mode in ("1", "P") else 0)
        if need > limits.max_decoded_bytes:
            raise LabsError(f"{what} is {w}x{h} pixels: decoding it would take {size_text(need)} of memory, "
                            f"over the {size_text(limits.max_decoded_bytes)} limit: use a smaller image")
        if img.mode in ("1", "P"):  # shrinking a palette picks nearest pixels: convert first (counted above)
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        img.load()
        img.thumbnail((limits.max_side, limits.max_side))  # in place, before any full-size copy
        img = ImageOps.exif_transpose(img)
        if "A" in img.getbands() or "transparency" in img.info:
            # Transparent pixels would turn black in a plain convert; BLIP sees white paper instead.
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, "white")
            img.paste(rgba, mask=rgba.getchannel("A"))
        else:
            img = img.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise LabsError(f"{what} is a damaged or truncated image ({err})") from None
    return img


def read_file(path: str | Path, limits: FetchLimits = FetchLimits(), what: str | None = None) -> Image.Image:
    """Decode an image file under the size limit and decode_image's checks (the file is streamed, not slurped)."""
    path = Path(path).expanduser()
    what = what or str(path)
    if not path.is_file():
        raise LabsError(f"image file not found: {path}")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise LabsError(f"{what} is {size_text(size)}, over the {size_text(limits.max_bytes)} limit: "
                        "use a smaller image")
    with path.open("rb") as f:
        return decode_image(f, limits, what=what)


def read_upload(upload: Upload, limits: FetchLimits = FetchLimits()) -> Image.Image:
    if not upload.path or not Path(upload.path).is_file():
        raise LabsError("the upload did not arrive: upload the image again")
    return read_file(upload.path, limits, what=upload.name)
