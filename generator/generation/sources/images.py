"""Reading user images once, safely and faithfully: the one place where image bytes from users are decoded.

- A decompression bomb (an image declaring more pixels than Pillow's limit, even when the file is tiny) is refused
  with one line, before any pixel is decoded; so is anything Pillow cannot read.
- Modes an RGB conversion would mangle are converted faithfully: 16-bit and 32-bit greyscale are scaled to 8 bits
  (a plain ``convert("RGB")`` clips them, and a 16-bit photo comes out almost white), float images are scaled from
  their range, palettes keep their transparency as an alpha channel.
- The result of encoding an image is cached per process (keyed by the SHA-256 of the bytes), so an image used by
  many conversations is decoded once, not at every use.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from collections import OrderedDict
from typing import Any

from generator.common.errors import UserError

MAX_SIDE = 1024  # larger user images are scaled down so a dataset row stays a reasonable size
PASS_THROUGH = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}
_CACHE_SIZE = 256
_ENCODED: OrderedDict[str, tuple[bytes, str]] = OrderedDict()


def open_image(data: bytes, where: str) -> Any:
    """The decoded ``PIL.Image`` of ``data``; a bomb or an unreadable file is one line naming ``where``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"refused: the image declares more than {Image.MAX_IMAGE_PIXELS:,} pixels "
                        "(a decompression bomb)", where=where) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UserError(f"cannot read the image ({_reason(exc)})", where=where) from None
    return image


def check_image_file(path: str | os.PathLike[str], where: str) -> str:
    """Read only the header of an image file: its format, or one line for a bomb or an unreadable file.

    Pixels are decoded once, later, when the image is first encoded into a row.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return str(image.format or "")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"refused: the image {os.path.basename(path)!r} declares more than "
                        f"{Image.MAX_IMAGE_PIXELS:,} pixels (a decompression bomb)", where=where) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UserError(f"cannot read the image {os.path.basename(path)!r} ({_reason(exc)})", where=where) from None


def _reason(exc: BaseException) -> str:
    """The library's message without the file path or the object repr (``<_io.BytesIO object at 0x...>``) it may
    contain."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = " ".join(re.sub(r"<[\w.]+ object at 0x[0-9a-fA-F]+>", "", text).split())
    return re.sub(r"'?/[^\s']+'?", "the file", text)


def to_display_mode(image: Any) -> Any:
    """``image`` as RGB or RGBA, converting high bit-depth and float modes by their range, not by clipping."""
    mode = image.mode
    if mode in ("RGB", "RGBA"):
        return image
    if mode.startswith("I;16") or mode == "I":
        scaled = image.convert("I") if mode != "I" else image
        low, high = scaled.getextrema()
        # 16-bit data fills 0..65535; a 32-bit image whose values stay within 0..255 is already 8-bit data
        divisor = 257 if high > 255 else 1
        if low < 0 or high > 65535:
            low, high = min(low, 0), max(high, 1)
            return scaled.point(lambda v: (v - low) * 255 / (high - low)).convert("L").convert("RGB")
        return scaled.point(lambda v: v / divisor).convert("L").convert("RGB")
    if mode == "F":
        low, high = image.getextrema()
        top = 1.0 if low >= 0 and high <= 1 else 255.0 if low >= 0 and high <= 255 else None
        if top is None:
            top, bottom = max(high, low + 1e-9), low
        else:
            bottom = 0.0
        return image.point(lambda v: (v - bottom) * 255 / (top - bottom)).convert("L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        return image.convert("RGBA")
    has_alpha = "A" in image.getbands() or mode in ("PA", "LA", "La", "RGBa")
    return image.convert("RGBA" if has_alpha else "RGB")


def encode_user_image(data: bytes, where: str) -> tuple[bytes, str]:
    """Check ``data``; pass common formats through, re-encode others (or big ones) faithfully as PNG or JPEG.

    Cached per process by content: the second use of the same bytes costs a hash, not a decode.
    """
    key = hashlib.sha256(data).hexdigest()
    hit = _ENCODED.get(key)
    if hit is not None:
        _ENCODED.move_to_end(key)
        return hit
    result = _encode(data, where)
    _ENCODED[key] = result
    if len(_ENCODED) > _CACHE_SIZE:
        _ENCODED.popitem(last=False)
    return result


def _encode(data: bytes, where: str) -> tuple[bytes, str]:
    from PIL import Image

    from generator.generation.sources.drawing import encode_jpeg, encode_png

    image = open_image(data, where)
    with image:
        fmt = image.format
        if fmt in PASS_THROUGH and max(image.size) <= MAX_SIDE and image.mode in ("RGB", "RGBA", "L", "P", "LA",
                                                                                  "PA", "1"):
            return data, PASS_THROUGH[fmt]
        picture = to_display_mode(image)
        if picture is image:
            picture = image.copy()
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if fmt == "JPEG" and picture.mode == "RGB":
        return encode_jpeg(picture), "jpeg"
    return encode_png(picture), "png"
