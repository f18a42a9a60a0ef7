"""The palette PNG writer: valid files whose pixels and palette are exactly the drawing's.

Every procedural image goes through ``drawing.encode_palette_png``; a wrong bit depth, a row packed short or a
palette cut one colour early would still give a decodable file, so each case decodes the bytes with Pillow and
compares pixels and palette with the image that was encoded, and walks the chunks and their CRCs.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image

from generator.common.rng import derive_rng
from generator.generation.sources import drawing
from generator.generation.sources.families import all_families


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking each CRC; the file must end right after IEND."""
    assert data[:8] == drawing.PNG_SIGNATURE
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        out.append((kind, body))
        at += 12 + length
    assert at == len(data)
    return out


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def palette_image(width: int, height: int, colours: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("P", (width, height))
    image.putpalette([rng.randrange(256) for _ in range(3 * colours)])
    image.putdata([rng.randrange(colours) for _ in range(width * height)])
    return image


@pytest.mark.parametrize("colours,bits", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 4), (16, 4), (17, 8), (256, 8)])
@pytest.mark.parametrize("width,height", [(1, 1), (3, 2), (7, 5), (9, 9), (448, 3)])
def test_palette_png_round_trips_at_the_smallest_bit_depth(colours, bits, width, height):
    image = palette_image(width, height, colours, seed=colours * 1000 + width)
    data = drawing.encode_png(image)
    found = chunks(data)
    assert [kind for kind, _ in found] == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", found[0][1]) == (width, height, bits, 3, 0, 0, 0)
    assert found[1][1] == bytes(image.getpalette()[:3 * colours])
    back = decoded(data)
    assert back.mode == "P" and back.size == (width, height)
    assert back.tobytes() == image.tobytes()
    assert back.getpalette()[:3 * colours] == image.getpalette()[:3 * colours]
    assert drawing.encode_png(image) == data  # a pure function of pixels and palette


@pytest.mark.parametrize("family", all_families(), ids=lambda f: f.name)
@pytest.mark.parametrize("difficulty", [1, 3])
def test_every_family_drawing_decodes_to_its_pixels(family, difficulty):
    for seed in range(3):
        image = family.render(family.sample_valid(derive_rng(seed, "png", family.name, difficulty), difficulty))
        data = drawing.encode_png(image)
        back = decoded(data)
        assert back.convert("RGB").tobytes() == image.convert("RGB").tobytes()
        # Never much larger than Pillow's own encoding at the level it used before (filter type 0 loses a little
        # on calendar grids, whose rows repeat; most families come out 15-30% smaller).
        pillow = io.BytesIO()
        image.save(pillow, format="PNG", compress_level=drawing.PNG_COMPRESS_LEVEL)
        assert len(data) < 1.3 * len(pillow.getvalue())


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_other_modes_are_written_by_pillow(mode):
    image = Image.new(mode, (5, 4), 200 if mode == "L" else (10, 20, 30, 40)[:len(mode)])
    pillow = io.BytesIO()
    image.save(pillow, format="PNG", compress_level=drawing.PNG_COMPRESS_LEVEL)
    assert drawing.encode_png(image) == pillow.getvalue()


def test_a_palette_with_transparency_is_written_by_pillow():
    image = palette_image(4, 4, 3, seed=1)
    image.info["transparency"] = 0
    back = decoded(drawing.encode_png(image))
    assert back.info.get("transparency") == 0 and back.tobytes() == image.tobytes()


def test_a_palette_image_without_palette_data_gets_a_valid_plte():
    # Image.new("P") without putpalette: Pillow's image holds no palette entries; PNG needs 1-256 of them
    image = Image.new("P", (5, 3), 0)
    data = drawing.encode_png(image)
    plte = dict(chunks(data))[b"PLTE"]
    assert 3 <= len(plte) <= 768 and len(plte) % 3 == 0
    assert decoded(data).tobytes() == image.tobytes()


@pytest.mark.parametrize("colours,index", [(2, 5), (3, 4), (1, 1), (16, 17), (4, 255)])
def test_indices_past_the_palette_keep_their_values(colours, index):
    # the bit depth must hold every index in the image, and PLTE must have an entry for each (PNG forbids an
    # index past the last entry); the missing entries are black, as Pillow shows them
    image = palette_image(6, 5, colours, seed=index)
    image.putpixel((2, 3), index)
    data = drawing.encode_png(image)
    assert len(dict(chunks(data))[b"PLTE"]) >= 3 * (index + 1)
    back = decoded(data)
    assert back.tobytes() == image.tobytes()
    assert back.convert("RGB").tobytes() == image.convert("RGB").tobytes()


@pytest.mark.parametrize("fmt", ["BMP", "TGA", "TIFF", "GIF", "PCX"])
def test_a_palette_image_opened_from_a_file_is_encoded_before_it_is_loaded(fmt):
    # some formats keep their palette raw (BGR, BGRX...) until the image is loaded
    source = palette_image(9, 7, 5, seed=3)
    buffer = io.BytesIO()
    source.save(buffer, format=fmt)
    with Image.open(io.BytesIO(buffer.getvalue())) as opened:
        data = drawing.encode_png(opened)
    back = decoded(data)
    assert back.tobytes() == source.tobytes()
    assert back.convert("RGB").tobytes() == source.convert("RGB").tobytes()


@pytest.mark.parametrize("size", [(0, 0), (0, 5), (5, 0)])
def test_an_image_without_pixels_is_refused(size):
    """PNG has no empty image: an image of zero width or height is an error, not a file that no reader opens."""
    image = Image.new("P", size)
    image.putpalette([0, 0, 0, 255, 255, 255])
    with pytest.raises(ValueError, match="at least one pixel"):
        drawing.encode_palette_png(image)


def test_a_canvas_is_encoded_as_the_same_pixels_not_drawn_on_one():
    """A canvas drawn on with colours only needs no scan for its highest index; one drawn with a raw index does."""
    image, draw = drawing.canvas(30, 20, (1, 2, 3))
    for k, colour in enumerate([drawing.COLOURS["red"], (9, 9, 9), (7, 7, 7), drawing.GRID]):
        draw.line((0, k * 4, 29, 19 - k), fill=colour, width=2)
    drawing.put_text(image, (2, 2), "Ab", 11)
    drawing.draw_shape(draw, "star", 15, 10, 8, drawing.COLOURS["blue"])  # a wide outline: Pillow draws a mask
    assert drawing.encode_png(image) == drawing.encode_png(image.copy())  # the copy is no canvas: it is scanned
    assert drawing._COLOURS_ONLY.get(id(image)) is image
    draw.point((5, 5), fill=40)  # an index past the palette's 17 entries
    assert drawing._COLOURS_ONLY.get(id(image)) is None
    data = drawing.encode_png(image)
    assert data == drawing.encode_png(image.copy())
    assert struct.unpack(">IIBBBBB", chunks(data)[0][1])[2] == 8
    assert decoded(data).tobytes() == image.tobytes()
