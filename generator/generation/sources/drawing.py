"""Pillow helpers shared by the procedural families: the vendored font, named colours, shapes, PNG encoding.

Everything here is deterministic: the font is the vendored DejaVu Sans (not whatever the system has), text is
laid out with Pillow's basic layout engine (no libraqm differences between machines), and PNGs are written
without metadata, so the same spec gives the same bytes.
"""

from __future__ import annotations

import io
import math
import struct
import weakref
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from generator.generation.sources.glyphs import GlyphSet

FONT_DIR = Path(__file__).resolve().parent / "fonts"

# Names a reader would use for each colour; the hues are far apart so that no two can be confused.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (214, 39, 40),
    "blue": (31, 101, 180),
    "green": (44, 160, 44),
    "orange": (240, 110, 0),
    "purple": (140, 80, 190),
    "yellow": (245, 210, 20),
    "brown": (140, 86, 60),
    "pink": (240, 120, 200),
    "gray": (128, 128, 128),
    "black": (20, 20, 20),
}
INK = (30, 30, 30)
GRID = (215, 215, 215)
WHITE = (255, 255, 255)

# Drawings are made directly in palette mode: a byte per pixel (half a byte in the PNG) makes encoding much
# cheaper than RGB and needs no quantisation step. Colours not listed here are
# added to an image's palette the first time they are used, in drawing order, so output stays deterministic.
BASE_PALETTE: tuple[tuple[int, int, int], ...] = (WHITE, INK, GRID, *COLOURS.values())

PNG_COMPRESS_LEVEL = 1  # Pillow's zlib level, for images that are not palette drawings
PNG_ISAL_LEVEL = 1  # ISA-L level for palette drawings (0-3): as fast as 0 on them, with a 30% smaller stream
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """Return the vendored DejaVu Sans at ``size`` pixels (bold if asked)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=64)
def _mask_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """Another copy of :func:`font`, used only to rasterise monochrome bitmaps (``getmask2`` in mode "1").

    FreeType hints a glyph differently for a monochrome bitmap than for measuring, and re-runs the font's hinting
    set-up program every time one face switches between the two; measuring with :func:`font` and rasterising with
    this copy keeps each face in one mode (same glyphs, a quarter of the cost of a short label).
    """
    return font.__wrapped__(size, bold)


@lru_cache(maxsize=64)
def _glyphs(size: int, bold: bool = False) -> GlyphSet:
    """The glyphs of :func:`font` (to measure) and :func:`_mask_font` (to draw), read once per process."""
    return GlyphSet(font(size, bold), _mask_font(size, bold))


@lru_cache(maxsize=16384)
def text_size(text: str, size: int, bold: bool = False) -> tuple[int, int]:
    """Return (width, height) of ``text`` drawn with ``font(size, bold)``.

    Cached: the families check that labels fit every time they draw a scene, and labels come from short lists.
    """
    box = _glyphs(size, bold).box(text, "la") or font(size, bold).getbbox(text)
    left, top, right, bottom = box
    return round(right - left), round(bottom - top)


class PaletteDraw(ImageDraw.ImageDraw):
    """``ImageDraw`` for the palette canvases, remembering the palette index of each colour it has drawn with.

    Pillow looks every RGB tuple up in the palette (and converts it to an ink) at every call; a drawing makes
    hundreds of calls with a dozen colours. A colour's index never changes once the palette has it, and the first
    use of a colour still goes through Pillow, so colours join the palette in the same order as before.
    """

    def __init__(self, im: Image.Image) -> None:
        super().__init__(im)
        self._inks: dict[object, int] = {}

    def ink_of(self, colour: tuple[int, int, int]) -> int:
        """The ink (palette index) of ``colour``, added to the palette at its first use."""
        ink = self._inks.get(colour)
        if ink is None:
            found, _ = super()._getink(colour)
            assert found is not None
            ink = self._inks[colour] = found
        return ink

    def _getink(self, ink, fill=None):  # type: ignore[no-untyped-def]
        if (ink is None or type(ink) is tuple) and (fill is None or type(fill) is tuple) \
                and not (ink is None and fill is None):
            return (None if ink is None else self.ink_of(ink)), (None if fill is None else self.ink_of(fill))
        # a raw index past the palette, or the default ink, breaks the PNG writer's shortcut (Pillow hands itself
        # index 1 to draw a wide outline's mask, which is fine)
        entries = len(self._image.palette.palette) // 3 if self._image.palette else 0
        inks = [v for v in (ink, fill) if v is not None]
        if not inks or not all(type(v) is int and 0 <= v < entries for v in inks):
            _COLOURS_ONLY.pop(id(self._image), None)
        return super()._getink(ink, fill)


# The canvases drawn on with RGB colours only, by the image's id (images are unhashable): each of their pixels is
# the index of a colour in their palette, which spares the PNG writer a scan. An entry lives as long as its image.
_COLOURS_ONLY: weakref.WeakValueDictionary[int, Image.Image] = weakref.WeakValueDictionary()

# The drawing context of each live canvas, by the image's id (images are unhashable); a context holds its image,
# so an entry lives exactly as long as both do.
_DRAWS: weakref.WeakValueDictionary[int, PaletteDraw] = weakref.WeakValueDictionary()


def canvas(width: int, height: int, colour: tuple[int, int, int] = WHITE) -> tuple[Image.Image, PaletteDraw]:
    """Return a new palette-mode image filled with ``colour`` and a drawing context that accepts RGB tuples.

    Text in palette mode is drawn without anti-aliasing: crisp, hinted glyphs that stay legible at 11 px. Draw on
    a canvas through its context and the helpers here only (the PNG writer counts on its pixels being palette
    indices of the colours drawn with, unless the context was handed something else).
    """
    palette = list(BASE_PALETTE)
    if colour not in palette:
        palette.append(colour)
    image = Image.new("P", (width, height), palette.index(colour))
    image.putpalette([channel for rgb in palette for channel in rgb])
    draw = _DRAWS[id(image)] = PaletteDraw(image)
    _COLOURS_ONLY[id(image)] = image
    return image, draw


def _draw_of(image: Image.Image) -> PaletteDraw:
    """The drawing context of a canvas (made here for an image that did not come from :func:`canvas`)."""
    draw = _DRAWS.get(id(image))
    if draw is None or draw._image is not image:
        draw = _DRAWS[id(image)] = PaletteDraw(image)
    return draw


@lru_cache(maxsize=8192)
def _text_mask(text: str, size: int, bold: bool, anchor: str, stroke: int = 0) -> tuple[Any, int, int]:
    """Rasterise ``text`` once: a glyph bitmap and its offset from the anchor point (``stroke`` widens it).

    Rasterising glyphs is most of the cost of a drawing (tick labels, day numbers and legends repeat from
    image to image), so bitmaps are cached and stamped. What is stamped is every pixel of Pillow's bitmap of the
    text that falls inside the box ``getbbox`` reports. Usually the bitmap lies within that box and is used as
    ``ImageDraw.text`` uses it (``getmask2``, then ``draw_bitmap``: a monochrome bitmap holds only 0 and 255, so
    stamping it inks exactly its set pixels); a bitmap that reaches past the box (a stroke, which is anti-aliased,
    or a glyph beyond the last advance) is drawn onto a 1-bit image of the box instead. The box and the bitmap of
    a text without a stroke are put together from the glyphs' (see :mod:`~generator.generation.sources.glyphs`).
    """
    glyphs = None if stroke else _glyphs(size, bold)  # a stroke is left to Pillow
    box: tuple[float, float, float, float] | None = glyphs.box(text, anchor) if glyphs else None
    if box is None:
        box = font(size, bold).getbbox(text, anchor=anchor, stroke_width=stroke)
    left, top, right, bottom = (round(v) for v in box)
    composed = glyphs.mask(text, anchor) if glyphs else None
    if composed is None:
        bitmap, (x, y) = _mask_font(size, bold).getmask2(text, "1", stroke_width=stroke, anchor=anchor, ink=1,
                                                         start=(0, 0), stroke_filled=True)
    else:
        bitmap, x, y = composed
    width, height = bitmap.size
    if not stroke and left <= x and top <= y and x + width <= right and y + height <= bottom:
        return bitmap, x, y
    # what ImageDraw.text would leave on a 1-bit image of the box: the bitmap stamped at its offset, clipped
    mask = Image.new("1", (max(1, right - left), max(1, bottom - top)), 0)
    draw = ImageDraw.Draw(mask)
    draw.draw.draw_bitmap((x - left, y - top), bitmap, draw.draw.draw_ink(1))
    return mask.im, left, top


def put_text(image: Image.Image, xy: tuple[float, float], text: str, size: int, *, bold: bool = False,
             fill: tuple[int, int, int] = INK, anchor: str = "la", halo: int = 0,
             halo_fill: tuple[int, int, int] = WHITE) -> None:
    """Draw ``text`` at ``xy`` (rounded to whole pixels) with the vendored font, using the bitmap cache.

    ``halo`` paints a border of ``halo_fill`` around the glyphs first, so text stays legible over lines.
    """
    x, y = round(xy[0]), round(xy[1])
    draw = _draw_of(image)
    if halo:
        bitmap, left, top = _text_mask(text, size, bold, anchor, halo)
        draw.draw.draw_bitmap((x + left, y + top), bitmap, draw.ink_of(halo_fill))
    bitmap, left, top = _text_mask(text, size, bold, anchor, 0)
    draw.draw.draw_bitmap((x + left, y + top), bitmap, draw.ink_of(fill))


Stencil = tuple[Any, int, int] | None
"""The pixels a drawing sets, as a mask holding only 0 and 255 and the position of its top-left corner (None when
it sets none): see :func:`stencil`."""


def stencil(size: tuple[int, int], paint: Callable[[ImageDraw.ImageDraw], None]) -> Stencil:
    """Record which pixels ``paint`` sets when it draws with ink 255 on an empty image of ``size``.

    Pillow rasterises a shape by the same code in every 8-bit mode and sets each pixel it covers to the ink, so
    stamping the recorded pixels with :func:`stamp` gives the pixels of drawing the shape on the canvas itself. A
    family caches the stencils of shapes that repeat from image to image and cost much more to rasterise than to
    stamp (a pie slice with its border: about four times as much); the mask is cropped to the pixels set, so that
    stamping it touches no more than the shape's bounding box.
    """
    mask = Image.new("L", size, 0)
    paint(ImageDraw.Draw(mask))
    box = mask.getbbox()
    return None if box is None else (mask.crop(box).im, box[0], box[1])


def stamp(image: Image.Image, shape: Stencil, colour: tuple[int, int, int]) -> None:
    """Set the pixels of ``shape`` (a :func:`stencil` of a drawing of the same size as ``image``) to ``colour``."""
    draw = _draw_of(image)
    ink = draw.ink_of(colour)  # a colour joins the palette when it is drawn with, whether it covers a pixel or not
    if shape is not None:
        bitmap, left, top = shape
        draw.draw.draw_bitmap((left, top), bitmap, ink)


def draw_text_centered(image: Image.Image, xy: tuple[float, float], text: str, size: int, *,
                       bold: bool = False, fill: tuple[int, int, int] = INK) -> None:
    """Draw ``text`` centred on the point ``xy``."""
    put_text(image, xy, text, size, bold=bold, fill=fill, anchor="mm")


def regular_polygon(cx: float, cy: float, radius: float, sides: int, rotation: float = -90.0) -> list[tuple[float, float]]:
    """Return the corners of a regular polygon around (cx, cy); the first corner points up by default."""
    return [(cx + radius * math.cos(math.radians(rotation + 360.0 * k / sides)),
             cy + radius * math.sin(math.radians(rotation + 360.0 * k / sides))) for k in range(sides)]


def star_polygon(cx: float, cy: float, radius: float, points: int = 5) -> list[tuple[float, float]]:
    """Return the outline of a star with ``points`` tips."""
    inner = radius * 0.45
    corners = []
    for k in range(points * 2):
        r = radius if k % 2 == 0 else inner
        angle = math.radians(-90.0 + 180.0 * k / points)
        corners.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return corners


def draw_shape(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, radius: float,
               fill: tuple[int, int, int], outline=INK, width: int = 2) -> None:
    """Draw a named shape (circle, square, triangle, star, diamond) fitting in a circle of ``radius``."""
    if kind == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill, outline=outline, width=width)
    elif kind == "square":
        half = radius * 0.82
        draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=fill, outline=outline, width=width)
    elif kind == "triangle":
        corners = regular_polygon(cx, cy + radius * 0.15, radius * 1.05, 3)
        draw.polygon(corners, fill=fill, outline=outline, width=width)
    elif kind == "star":
        draw.polygon(star_polygon(cx, cy, radius * 1.05), fill=fill, outline=outline, width=width)
    elif kind == "diamond":
        draw.polygon(regular_polygon(cx, cy, radius, 4), fill=fill, outline=outline, width=width)
    else:  # pragma: no cover - specs are validated by the family that made them
        raise ValueError(f"unknown shape {kind!r}")


def encode_png(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG without metadata (no ICC profile, no text chunks, no timestamp).

    Palette images without transparency (every procedural drawing) go through :func:`encode_palette_png`;
    other modes through Pillow.
    """
    if image.mode == "P":
        image.load()  # a palette read from a file can stay raw (BGR, BGRX...) until the image is loaded
        if "transparency" not in image.info and image.palette is not None and image.palette.mode == "RGB":
            return encode_palette_png(image)
    image.info.pop("icc_profile", None)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return b"".join((struct.pack(">I", len(data)), kind, data, struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))))


def encode_palette_png(image: Image.Image) -> bytes:
    """A palette PNG of ``image``: IHDR, PLTE, one IDAT and IEND, nothing else.

    Why not Pillow's writer: encoding was a third of the cost of a drawing, spent in Pillow's adaptive row filters
    (which rarely help a palette image: the PNG specification recommends no filter for them) and in zlib. Here the
    pixels are packed at the smallest bit depth the palette allows (1, 2, 4 or 8 bits, as Pillow chooses), every
    row gets filter type 0 and the stream is compressed by ISA-L at its fastest level, about five times faster
    than Pillow at ``compress_level=1`` and 15-20% smaller on the procedural images (calendar pages, whose rows
    repeat, about 10% larger). The bytes are a pure function of the pixels and the palette for one ISA-L version
    on one CPU family (as parquet bytes are for one pyarrow version): ISA-L, like the zlib-ng that Pillow bundles,
    picks its deflate code by CPU, so an ARM machine may write a different, equally valid stream of the same pixels
    than the x86-64 machines (SSE4.2 and later) where the golden hash is measured.
    """
    import numpy as np
    from isal import isal_zlib

    width, height = image.size
    if not width or not height:
        raise ValueError(f"a PNG holds at least one pixel; this image is {width}x{height}")
    # The palette Pillow itself would write (the loaded image's), and an entry for every index the pixels use: an
    # image can hold none (``Image.new("P")``) or fewer than its highest index, and PNG forbids both; the missing
    # entries are black, as Pillow shows them. The bit depth must hold the highest index too, or packing would cut it.
    palette = bytes(image.getpalette("RGB") or ())
    if _COLOURS_ONLY.get(id(image)) is image:
        highest = 0  # a canvas drawn on with colours only: each pixel is the index of a colour in its palette
    else:
        highest = int(np.frombuffer(image.tobytes(), np.uint8).max(initial=0))  # a tenth of the cost of getextrema
    colours = max(1, min(256, len(palette) // 3), highest + 1)
    palette = palette[:3 * colours].ljust(3 * colours, b"\0")
    bits = 1 if colours <= 2 else 2 if colours <= 4 else 4 if colours <= 16 else 8
    # Each row packed and followed by a zero byte (Pillow pads rows to the stride it is given): one byte shifted
    # from the end to the front, those zeros are each row's filter type, 0 (none), in front of the row.
    row_bytes = (width * bits + 7) // 8
    padded = image.tobytes("raw", ("P" if bits == 8 else f"P;{bits}", row_bytes + 1))
    rows = b"\0" + memoryview(padded)[:-1]
    header = struct.pack(">IIBBBBB", width, height, bits, 3, 0, 0, 0)
    return b"".join((PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"PLTE", palette),
                     _chunk(b"IDAT", isal_zlib.compress(rows, PNG_ISAL_LEVEL)), _chunk(b"IEND", b"")))


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """Encode ``image`` as baseline JPEG without ICC profile or EXIF (deterministic for a given Pillow)."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=False, progressive=False)
    return buffer.getvalue()
