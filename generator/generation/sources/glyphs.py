"""Text boxes and monochrome text bitmaps put together from glyphs measured and rasterised once per font.

Pillow lays a string out and hints every glyph anew each time it measures or rasterises the string; the drawings'
prices, store names, towns and dates are new strings almost every time, while their glyphs come from a few
dozen per font. A :class:`GlyphSet` reproduces what Pillow's basic layout engine computes (``text_layout_fallback``,
``bounding_box_and_anchors`` and ``font_render`` in Pillow's ``_imagingft.c``) from per-glyph facts:

* pens advance by whole pixels (hinted advances), plus kerning, which that layout adds in 1/64 pixel units: a
  pen moves only when kerning adds up to half a pixel, and such a string is left to Pillow;
* a string's box is the union of its pen line and of its glyphs' pixel boxes placed at their pens; Pillow's box
  of one glyph (which holds its pen line) says as much about the glyph as a longer string needs;
* a string's bitmap has the size of its box (in the bitmap mode); each glyph's bitmap is placed at its pen,
  shifted right by the most any glyph's bitmap reaches left of its pen (or of the string's start) and down by
  the most any reaches above the baseline: pixels a box does not hold are cut off, as Pillow cuts them.

A glyph's bitmap and how far it reaches left and up are read off Pillow's bitmap of the glyph followed by two
underscores: an underscore's bitmap starts at its pen and lies below the baseline, so the last one shows where
the string's pens and baseline were put. The reading is checked by composing that bitmap again; a glyph that
fails, or a string that cannot be put together this way, is left to Pillow.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from PIL import Image, ImageFont

REFERENCE = "_"
"""A glyph whose bitmap lies right of its pen and below the baseline (checked per font), used to find the others'."""


def _pixel(value: int) -> int:
    """FreeType's rounding of a 26.6 fixed-point value to whole pixels (``PIXEL`` in ``_imagingft.c``)."""
    return (value + 32) >> 6


class _Ink(NamedTuple):
    """A glyph's pixels as ``font_render`` places them, relative to its pen on the baseline (y grows downwards).

    ``left`` is how far its bitmap reaches left of the pen (0 or less), ``top`` how far above the baseline (0 or
    more); ``bitmap`` holds its set pixels, whose top-left pixel is at (``x``, ``y``). A glyph that sets no pixel
    has no bitmap, and ``top`` is then only a bound: a string holding it is put together only when another glyph
    reaches at least that high.
    """

    left: int
    top: int
    bitmap: Any
    x: int
    y: int


class _Metrics:
    """The advances and pixel boxes of one font object's glyphs, loaded in one mode ("" to measure, "1" to draw)."""

    def __init__(self, fnt: ImageFont.FreeTypeFont, mode: str) -> None:
        self.font = fnt
        self.mode = mode
        self.glyphs: dict[str, tuple[int, int, int, int, int] | None] = {}
        baseline = fnt.getbbox("x", mode, anchor="ls")[1]
        # ascender, middle and descender lie at fixed heights of the face, whatever the text
        self.y_anchors = {"s": 0, **{v: int(fnt.getbbox("x", mode, anchor="l" + v)[1] - baseline) for v in "amd"}}

    def glyph(self, char: str) -> tuple[int, int, int, int, int] | None:
        """(advance, left, top, right, bottom) of ``char`` in pixels: Pillow's box of the glyph alone, drawn at
        the baseline with the pen at 0, which holds the pen's path; None if the advance is not whole pixels."""
        if char in self.glyphs:
            return self.glyphs[char]
        advance = round(self.font.getlength(char, self.mode) * 64)
        left, top, right, bottom = self.font.getbbox(char, self.mode, anchor="ls")
        glyph = None if advance % 64 else (advance // 64, int(left), int(top), int(right), int(bottom))
        self.glyphs[char] = glyph
        return glyph


Layout = tuple[int, int, int, int, list[int]]
"""(x offset, y offset, width, height, pen of each glyph) of a string, as ``bounding_box_and_anchors`` gives."""


class GlyphSet:
    """One size and weight of a font: ``measuring`` measures (as ``getbbox``), ``drawing`` draws in mode "1"."""

    def __init__(self, measuring: ImageFont.FreeTypeFont, drawing: ImageFont.FreeTypeFont) -> None:
        self._measuring = _Metrics(measuring, "")
        self._drawing = _Metrics(drawing, "1")
        self._kerning: dict[str, int | None] = {}
        self._inks: dict[str, _Ink | None] = {}
        self._reference = self._reference_ink()

    def box(self, text: str, anchor: str) -> tuple[int, int, int, int] | None:
        """``measuring.getbbox(text, anchor=anchor)``, or None to ask Pillow."""
        layout = self._layout(self._measuring, text, anchor)
        if layout is None:
            return None
        x, y, width, height, _ = layout
        return x, y, x + width, y + height

    def mask(self, text: str, anchor: str) -> tuple[Any, int, int] | None:
        """(bitmap, x, y) as ``drawing.getmask2(text, "1", anchor=anchor, start=(0, 0))`` gives them (a bitmap of
        0 and 255 and its offset from the anchor), or None to ask Pillow."""
        if self._reference is None:
            return None
        inks = []
        for char in text:
            ink = self._inks[char] if char in self._inks else self._read_ink(char)
            if ink is None:
                return None
            inks.append(ink)
        layout = self._layout(self._drawing, text, anchor)
        return None if layout is None else self._compose(layout, inks)

    def _kern(self, pair: str) -> int | None:
        """The kerning basic layout adds between two glyphs, in 1/64 pixels (None if an advance is not whole)."""
        first, second = self._measuring.glyph(pair[0]), self._measuring.glyph(pair[1])
        kern = None
        if first is not None and second is not None:
            kern = round(self._measuring.font.getlength(pair) * 64) - 64 * (first[0] + second[0])
        self._kerning[pair] = kern
        return kern

    def _layout(self, metrics: _Metrics, text: str, anchor: str) -> Layout | None:
        """The box, offset and pens of ``text`` with ``metrics``; None for what this cannot reproduce (an empty
        text, a bad anchor, kerning that moves a pen, an advance not in whole pixels)."""
        if not text or len(anchor) != 2 or anchor[0] not in "lmr" or anchor[1] not in "amdstb":
            return None
        pen = x_min = x_max = top = bottom = shift = 0
        pens = []
        glyphs, kerning = metrics.glyphs, self._kerning
        previous = ""
        for char in text:
            glyph = glyphs[char] if char in glyphs else metrics.glyph(char)
            if glyph is None:
                return None
            if previous:
                pair = previous + char
                kern = kerning[pair] if pair in kerning else self._kern(pair)
                if kern is None:
                    return None
                shift += kern
                if not -32 <= shift < 32:  # the kerning so far moves this pen
                    return None
            previous = char
            advance, g_left, g_top, g_right, g_bottom = glyph
            pens.append(pen)
            if pen + g_left < x_min:
                x_min = pen + g_left
            if pen + g_right > x_max:
                x_max = pen + g_right
            if g_top < top:
                top = g_top
            if g_bottom > bottom:
                bottom = g_bottom
            pen += advance
        position = 64 * pen + shift
        horizontal, vertical = anchor[0], anchor[1]
        # C's division truncates towards zero
        x_anchor = 0 if horizontal == "l" else _pixel(position) if horizontal == "r" else _pixel(int(position / 2))
        y_anchor = -top if vertical == "t" else -bottom if vertical == "b" else metrics.y_anchors[vertical]
        return x_min - x_anchor, y_anchor + top, x_max - x_min, bottom - top, pens

    @staticmethod
    def _compose(layout: Layout, inks: list[_Ink]) -> tuple[Any, int, int] | None:
        x, y, width, height, pens = layout
        if not width or not height:
            return None
        left = top = bound = 0
        for ink, pen in zip(inks, pens, strict=True):
            left = min(left, pen + ink.left)
            if ink.bitmap is None:
                bound = max(bound, ink.top)
            else:
                top = max(top, ink.top)
        if bound > top:
            return None
        limit = Image.MAX_IMAGE_PIXELS
        if limit is not None and width * height > limit:
            return None  # Pillow's own drawing warns about such a bitmap, or refuses it (a decompression bomb guard)
        bitmap = Image.core.fill("L", (width, height), 0)
        draw = Image.core.draw(bitmap, 0)
        for ink, pen in zip(inks, pens, strict=True):
            if ink.bitmap is not None:
                draw.draw_bitmap((pen - left + ink.x, top + ink.y), ink.bitmap, 255)
        return bitmap, x, y

    def _render(self, text: str) -> tuple[Any, tuple[int, int]]:
        return self._drawing.font.getmask2(text, "1", anchor="ls", ink=1, start=(0, 0))

    def _reference_ink(self) -> _Ink | None:
        glyph = self._drawing.glyph(REFERENCE)
        if glyph is None or glyph[1] or glyph[2]:  # its box reaches left of the pen or above the baseline
            return None
        bitmap, _ = self._render(REFERENCE)
        found = bitmap.getbbox()
        return None if found is None else _Ink(0, 0, bitmap.crop(found), found[0], found[1])

    def _read_ink(self, char: str) -> _Ink | None:
        self._inks[char] = None  # while it is read, a glyph that needs itself gets Pillow
        ink = self._inks[char] = self._ink_before_reference(char)
        return ink

    def _ink_before_reference(self, char: str) -> _Ink | None:
        """``char``'s ink read off Pillow's bitmap of it followed by two underscores (and checked)."""
        reference = self._reference
        assert reference is not None
        probe = char + REFERENCE * 2
        layout = self._layout(self._drawing, probe, "ls")
        if layout is None:
            return None
        rendered = self._render(probe)
        bitmap = rendered[0]
        found = bitmap.getbbox()
        # the last underscore's pixels end the bitmap's
        width = reference.bitmap.size[0]
        last = None if found is None else bitmap.crop((found[2] - width, 0, found[2], bitmap.size[1])).getbbox()
        if found is None or last is None:  # a glyph that reaches high without setting a pixel pushed them out
            return self._blank_ink(char)
        left = layout[4][-1] + reference.x + width - found[2]
        top = last[1] - reference.y
        alone, _ = self._render(char)  # its pixels may reach under the first underscore's
        mine = alone.getbbox()
        if mine is None:
            return self._blank_ink(char)
        # alone, the glyph's bitmap is put where its own left and top edges say, as in any string
        ink = _Ink(left, top, alone.crop(mine), mine[0] + left, mine[1] - top)
        return ink if self._reproduces(layout, [ink, reference, reference], rendered) else None

    def _blank_ink(self, char: str) -> _Ink | None:
        """A glyph that sets no pixel, checked not to move a full stop after it: it reaches no higher than the
        full stop does."""
        dot = self._inks["."] if "." in self._inks else self._read_ink(".")
        if dot is None or dot.bitmap is None:
            return None
        layout = self._layout(self._drawing, char + ".", "ls")
        ink = _Ink(0, dot.top, None, 0, 0)
        return ink if layout and self._reproduces(layout, [ink, dot], self._render(char + ".")) else None

    def _reproduces(self, layout: Layout, inks: list[_Ink], rendered: tuple[Any, tuple[int, int]]) -> bool:
        """Whether composing ``inks`` with ``layout`` gives Pillow's bitmap and offset, ``rendered``."""
        composed = self._compose(layout, inks)
        bitmap, offset = rendered
        return composed is not None and composed[1:] == offset and composed[0].size == bitmap.size \
            and composed[0].chop_difference(bitmap).getbbox() is None
