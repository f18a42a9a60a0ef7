"""Render a contact sheet of every procedural family at each difficulty, with one question and its answer.

    python scripts/contact_sheet.py [--out docs/img/contact_sheet.png] [--seed 0] [--tile 320]

The sheet is what the documentation shows; it is also the quickest way to look for scenes a person could
misread (labels cut off, touching shapes, hands hiding numerals) after changing a family.
"""

from __future__ import annotations

import argparse
import io
import os
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

from generator.common.rng import derive_rng
from generator.generation.sources import render_image
from generator.generation.sources.drawing import font
from generator.generation.sources.families import all_families
from generator.generation.sources.mix import procedural_image_spec

DIFFICULTIES = (1, 2, 3)
LABEL_WIDTH = 120
HEADER = 36
CAPTION = 62


def build_sheet(seed: int, tile: int) -> Image.Image:
    families = all_families()
    width = LABEL_WIDTH + tile * len(DIFFICULTIES)
    height = HEADER + (tile + CAPTION) * len(families)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    bold, small = font(16, True), font(11)
    for col, difficulty in enumerate(DIFFICULTIES):
        draw.text((LABEL_WIDTH + tile * (col + 0.5), HEADER / 2), f"difficulty {difficulty}", font=bold,
                  fill=(30, 30, 30), anchor="mm")
    for row, family in enumerate(families):
        top = HEADER + (tile + CAPTION) * row
        draw.text((10, top + tile / 2), family.name, font=bold, fill=(30, 30, 30), anchor="lm")
        for col, difficulty in enumerate(DIFFICULTIES):
            rng = derive_rng(seed, "contact_sheet", family.name, difficulty)
            spec = family.sample_valid(rng, difficulty)
            data, _fmt = render_image(procedural_image_spec(family, spec))
            with Image.open(io.BytesIO(data)) as image:
                picture = image.convert("RGB")
            picture.thumbnail((tile - 8, tile - 8), Image.Resampling.LANCZOS)
            left = LABEL_WIDTH + tile * col
            sheet.paste(picture, (left + (tile - picture.width) // 2, top + (tile - picture.height) // 2))
            draw.rectangle((left + 2, top + 2, left + tile - 2, top + tile - 2), outline=(200, 200, 200))
            question, answer, kind = rng.choice(family.questions(spec, "Image1", rng))
            lines = textwrap.wrap(f"Q: {question}", width=tile // 7)[:3]
            lines.append(f"A: {answer} ({kind})")
            for k, line in enumerate(lines):
                draw.text((left + 6, top + tile + 2 + 14 * k), line, font=small, fill=(30, 30, 30))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img/contact_sheet.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tile", type=int, default=320)
    args = parser.parse_args()
    sheet = build_sheet(args.seed, args.tile)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    sheet.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, out)
    print(f"wrote {out} ({sheet.width}x{sheet.height}, {out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
