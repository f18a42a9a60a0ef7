"""Render the example chat of the image-grounded instructions into docs/img/grounded/ (one PNG per image).

Usage: ``python scripts/grounded_examples.py [--out docs]``. The pictures are what
docs/instructions.md shows next to each image-grounded type; rendering is deterministic (same bytes every run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.common.atomic import write_bytes
from generator.generation.sources import drawing
from generator.generation.sources.examples import EXAMPLE_SCENES, example_image_path
from generator.generation.sources.families import FAMILIES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="the docs folder (images go to <out>/img/grounded)")
    args = parser.parse_args()
    for position, (family, spec) in enumerate(EXAMPLE_SCENES, start=1):
        path = Path(args.out) / example_image_path(position)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, drawing.encode_png(FAMILIES.get(family).render(spec)))
        print(path)


if __name__ == "__main__":
    main()
