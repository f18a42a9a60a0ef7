"""Small deterministic PNG images for tests (one helper instead of one per test module)."""

from __future__ import annotations

import io


def png_bytes(color: tuple[int, int, int] | str = (10, 20, 30), size: int | tuple[int, int] = 4, *, fmt: str = "PNG",
              label: str = "", outline: bool = False) -> bytes:
    """An image of one colour, optionally with a white square outline and a text label, encoded as ``fmt``."""
    from PIL import Image, ImageDraw

    width, height = (size, size) if isinstance(size, int) else size
    image = Image.new("RGB", (width, height), color)
    if outline:
        ImageDraw.Draw(image).rectangle([2, 2, width // 2, height // 2], outline=(255, 255, 255))
    if label:
        ImageDraw.Draw(image).text((1, 1), label, fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
