"""The drawing helpers' shortcuts draw exactly what Pillow's plain calls draw.

Text is stamped from cached glyph bitmaps and inks are remembered per canvas; each shortcut is checked here against
the straightforward way of drawing the same thing (a 1-bit mask of the text's bounding box pasted in the colour, and
a plain ``ImageDraw.Draw``), pixel for pixel and palette for palette.
"""

from __future__ import annotations

import functools
import itertools
import random
import string

import pytest
from PIL import Image, ImageDraw

from generator.generation.sources import drawing
from generator.generation.sources.families.calendar_month import WEEKDAYS
from generator.generation.sources.families.receipt import PRODUCTS
from generator.generation.sources.glyphs import GlyphSet

TEXTS = ["0", "7", "12", "100", "-3.5", "Ag", "jy", "Wq", "Fruit sold", "$12.34", "Date: 08/14/2025", "πé", "T.", "1 x 4.99",
         "Cashier: Zachary", "East Christina, SD", "Rugby 55%", "May 2028", *WEEKDAYS, *list(PRODUCTS)[:6]]
ANCHORS = ["la", "mm", "rm", "lm", "mt", "mb", "rs", "ls", "lb"]


def reference_text(image: Image.Image, xy: tuple[float, float], text: str, size: int, *, bold: bool, fill,
                   anchor: str, halo: int = 0, halo_fill=drawing.WHITE) -> None:
    """Text drawn the plain way: a 1-bit mask of the text's bounding box, pasted in the colour."""
    x, y = round(xy[0]), round(xy[1])
    fnt = drawing.font(size, bold)
    for stroke, colour in [*([(halo, halo_fill)] if halo else []), (0, fill)]:
        left, top, right, bottom = (round(v) for v in fnt.getbbox(text, anchor=anchor, stroke_width=stroke))
        mask = Image.new("1", (max(1, right - left), max(1, bottom - top)), 0)
        ImageDraw.Draw(mask).text((-left, -top), text, font=fnt, fill=1, anchor=anchor, stroke_width=stroke,
                                  stroke_fill=1)
        ink = image.palette.getcolor(colour, image)
        image.paste(ink, (x + left, y + top, x + left + mask.width, y + top + mask.height), mask)


def same_image(a: Image.Image, b: Image.Image) -> bool:
    return a.tobytes() == b.tobytes() and a.getpalette() == b.getpalette()


@pytest.mark.parametrize("size,bold", [(11, False), (13, False), (14, True), (18, True), (30, True)])
def test_put_text_matches_a_pasted_bounding_box_mask(size, bold):
    drawing._text_mask.cache_clear()
    for text, anchor in itertools.product(TEXTS, ANCHORS):
        # a background with lines under the text, so that any pixel stamped or left out shows
        expected, draw = drawing.canvas(120, 60, (245, 242, 232))
        draw.line((0, 30, 120, 30), fill=drawing.INK, width=3)
        actual = expected.copy()
        ImageDraw.Draw(actual)  # the copy gets no cached inks: it must not need them
        reference_text(expected, (60.4, 29.6), text, size, bold=bold, fill=drawing.COLOURS["red"], anchor=anchor)
        drawing.put_text(actual, (60.4, 29.6), text, size, bold=bold, fill=drawing.COLOURS["red"], anchor=anchor)
        assert same_image(actual, expected), (text, anchor)
        # the second time comes from the cache
        drawing.put_text(actual, (3, 5), text, size, bold=bold, anchor=anchor)
        reference_text(expected, (3, 5), text, size, bold=bold, fill=drawing.INK, anchor=anchor)
        assert same_image(actual, expected), (text, anchor)


@pytest.mark.parametrize("halo", [1, 2, 4])
def test_haloed_text_matches_the_reference(halo):
    """A stroke reaches past the box ``getbbox`` reports: the reference clips it there, and so must the stamp."""
    for text in ["1", "2", "3", "6", "9", "10", "11", "12", "Ag"]:
        expected, draw = drawing.canvas(90, 90, (250, 250, 250))
        for k in range(0, 90, 6):  # ticks under the numeral show where the halo paints
            draw.line((k, 0, 90 - k, 90), fill=drawing.INK, width=2)
        actual = expected.copy()
        for xy in [(45, 45), (44.6, 45.5)]:
            reference_text(expected, xy, text, 30, bold=True, fill=drawing.INK, anchor="mm", halo=halo,
                           halo_fill=(246, 240, 220))
            drawing.put_text(actual, xy, text, 30, bold=True, anchor="mm", halo=halo, halo_fill=(246, 240, 220))
        assert same_image(actual, expected), text


def test_palette_draw_matches_image_draw_and_adds_colours_in_first_use_order():
    def scene(make_draw):
        image = Image.new("P", (64, 64), 0)
        image.putpalette([channel for rgb in drawing.BASE_PALETTE for channel in rgb])
        draw = make_draw(image)
        colours = [drawing.COLOURS["red"], (1, 2, 3), drawing.GRID, (9, 8, 7), (1, 2, 3), drawing.WHITE]
        for k, colour in enumerate(colours * 2):
            draw.rectangle((k, k, k + 20, k + 10), fill=colour, outline=colours[-1 - k % len(colours)])
            draw.line((0, k * 3, 63, 63 - k), fill=colour, width=2)
            draw.ellipse((k, 30, k + 12, 42), outline=colour)
        draw.pieslice((10, 10, 50, 50), 20, 200, fill=(200, 100, 50), outline=drawing.WHITE, width=2)
        draw.polygon([(5, 5), (30, 8), (12, 40)], fill=(5, 5, 5), outline=drawing.INK, width=2)
        draw.point((3, 3), fill=(77, 77, 77))
        draw.line((0, 0, 10, 10), fill=2)  # a palette index passes through
        return image

    expected = scene(ImageDraw.Draw)
    actual = scene(drawing.PaletteDraw)
    assert same_image(actual, expected)
    assert len(actual.getpalette()) // 3 == len(drawing.BASE_PALETTE) + 5


def test_text_size_cache_answers_as_the_font_does():
    for text in TEXTS:
        for size, bold in ((13, False), (18, True)):
            left, top, right, bottom = drawing.font(size, bold).getbbox(text)
            assert drawing.text_size(text, size, bold) == (round(right - left), round(bottom - top))
            assert drawing.text_size(text, size, bold) == drawing.text_size(text, size, bold)


@pytest.mark.parametrize("size,bold", [(11, False), (13, False), (14, False), (15, True), (17, True), (24, True)])
def test_glyph_sets_measure_and_rasterise_strings_as_pillow_does(size, bold):
    """Boxes and bitmaps put together from glyphs are Pillow's, for any string, anchor and kerning (or left to
    Pillow); the strings hold every printable ASCII character, spaces between and around, and a few others."""
    rng = random.Random(size * 2 + bold)
    chars = string.printable[:95] + "  πé€—"
    texts = [*TEXTS, " ", "  ", "_", "_ _", ". .", "AVAVAVAVAVAVAVAVAV", "To To To", "Ty.Ty.Ty.Ty.Ty."]
    texts += ["".join(rng.choice(chars) for _ in range(rng.randint(1, 16))) for _ in range(400)]
    glyphs = GlyphSet(drawing.font(size, bold), drawing._mask_font(size, bold))
    composed = 0
    for text in texts:
        for anchor in rng.sample([*ANCHORS, "ra", "md", "rd", "rt", "lt", "ms"], 3):
            box = glyphs.box(text, anchor)
            assert box in (None, drawing.font(size, bold).getbbox(text, anchor=anchor)), (text, anchor)
            mask = glyphs.mask(text, anchor)
            if mask is not None:
                composed += 1
                bitmap, offset = drawing._mask_font(size, bold).getmask2(text, "1", anchor=anchor, ink=1,
                                                                         start=(0, 0))
                assert mask[1:] == offset and mask[0].size == bitmap.size, (text, anchor)
                assert Image.Image()._new(mask[0]).tobytes() == Image.Image()._new(bitmap).tobytes(), (text, anchor)
    assert composed > len(texts) * 2  # almost every string is put together from glyphs



def test_stamped_stencils_match_the_shapes_drawn():
    """A stencil records the pixels of a shape; stamping it in a colour draws what the shape drawn in it draws."""
    box = (20, 30, 150, 160)
    shapes = [lambda draw, ink, start=start, end=end: draw.pieslice(box, start, end, fill=ink)
              for start, end in [(-90.0, -72.0), (-90.0, 270.0), (-54.00000000000001, 100.8), (10.5, 11.0)]]
    shapes += [lambda draw, ink: draw.pieslice(box, -90.0, 36.0, outline=ink, width=2),
               lambda draw, ink: draw.ellipse((0, 0, 169, 169), outline=ink, width=8),
               lambda draw, ink: draw.line((5, 5, 300, 40), fill=ink, width=4),  # reaches past the canvas
               lambda draw, ink: draw.line((-20, -20, -5, -5), fill=ink)]  # sets no pixel
    for shape in shapes:
        expected, draw = drawing.canvas(170, 170, (245, 242, 232))
        for k in range(0, 170, 7):  # lines under the shape, so that any pixel stamped or left out shows
            draw.line((k, 0, 169 - k, 169), fill=drawing.COLOURS["blue"], width=2)
        actual = expected.copy()
        shape(drawing.PaletteDraw(expected), (90, 30, 200))
        drawing.stamp(actual, drawing.stencil(actual.size, functools.partial(shape, ink=255)), (90, 30, 200))
        assert same_image(actual, expected)


def test_a_label_too_large_for_pillow_is_refused_as_pillow_refuses_it():
    """Text assembled from glyphs goes through Pillow's guard against huge bitmaps, as drawn text always did."""
    image, _ = drawing.canvas(10, 10)
    with pytest.raises(Image.DecompressionBombError):
        drawing.put_text(image, (0, 0), "1" * 10000, 200, bold=True)
