"""Grid maps with lettered columns and numbered rows: cell colours, marker positions and step distances."""

from __future__ import annotations

import random
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, degree, unique_best, yes_no

WIDTH = HEIGHT = 448
MARGIN_LEFT, MARGIN_TOP, MARGIN_END = 40, 40, 14
TERRAIN = {1: ("blue", "green"), 2: ("blue", "green", "brown"), 3: ("blue", "green", "brown")}
SIZES = {1: 5, 2: 6, 3: 7}
EMPTY = "white"


def cell_name(row: int, col: int) -> str:
    """(0, 2) -> "C1": column letter then 1-based row number."""
    return f"{chr(ord('A') + col)}{row + 1}"


class GridMap(Family):
    name = "grid_map"
    description = "Grid maps (columns A-G, rows 1-7) with coloured cells, a star and a red dot."
    question_types = ("number", "word", "yes/no", "sequence")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        level = max(1, min(3, difficulty))
        n = SIZES[level]
        terrain = TERRAIN[level]
        cells = [[rng.choice(terrain) if rng.random() < 0.5 else EMPTY for _ in range(n)] for _ in range(n)]
        star, dot = rng.sample(range(n * n), 2)
        return {"size": n, "terrain": list(terrain), "cells": cells, "star": [star // n, star % n],
                "dot": [dot // n, dot % n]}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        n = spec["size"]
        issues = []
        if spec["star"] == spec["dot"]:
            issues.append("the star and the dot share a cell")
        if len(spec["cells"]) != n or any(len(row) != n for row in spec["cells"]):
            issues.append("the grid is not square")
        return issues

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT)
        n = spec["size"]
        cell = (WIDTH - MARGIN_LEFT - MARGIN_END) / n
        for k in range(n):
            drawing.draw_text_centered(image, (MARGIN_LEFT + cell * (k + 0.5), MARGIN_TOP / 2), chr(ord("A") + k), 18,
                                       bold=True)
            drawing.draw_text_centered(image, (MARGIN_LEFT / 2, MARGIN_TOP + cell * (k + 0.5)), str(k + 1), 18,
                                       bold=True)
        for r, row in enumerate(spec["cells"]):
            for c, colour in enumerate(row):
                x0, y0 = MARGIN_LEFT + cell * c, MARGIN_TOP + cell * r
                fill = drawing.WHITE if colour == EMPTY else drawing.COLOURS[colour]
                draw.rectangle((x0, y0, x0 + cell, y0 + cell), fill=fill, outline=drawing.INK, width=1)
        for (r, c), kind, colour in ((spec["star"], "star", "yellow"), (spec["dot"], "circle", "red")):
            cx, cy = MARGIN_LEFT + cell * (c + 0.5), MARGIN_TOP + cell * (r + 0.5)
            drawing.draw_shape(draw, kind, cx, cy, cell * (0.36 if kind == "star" else 0.24),
                               drawing.COLOURS[colour], width=2)
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        present = {colour for row in spec["cells"] for colour in row}
        # the star is drawn yellow and the dot red (see render); an empty cell is white
        return ImageFacts(kind="grid map", categories=("star", "dot"), colours=tuple(sorted(present | {"yellow", "red"})),
                          star=cell_name(*spec["star"]), count=spec["size"], count_noun="rows")

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        n = spec["size"]
        cells = spec["cells"]
        counts = {t: sum(row.count(t) for row in cells) for t in spec["terrain"]}
        (sr, sc), (dr, dc) = spec["star"], spec["dot"]
        fmt_hint = "(Cells are named by column letter and row number, as in B3.)"
        asks: list[Ask] = [
            (f"In {name}, which cell contains the star? {fmt_hint}", cell_name(sr, sc), "word"),
            (f"In {name}, which cell contains the red dot? {fmt_hint}", cell_name(dr, dc), "word"),
            (f"In {name}, how many steps are there from the star to the red dot, moving only up, down, left or "
             "right?", str(abs(sr - dr) + abs(sc - dc)), "number"),
            (f"How many rows does the grid in {name} have?", str(n), "number"),
        ]
        free = [(r, c) for r in range(n) for c in range(n) if [r, c] not in (spec["star"], spec["dot"])]
        r, c = rng.choice(free)
        asks.append((f"In {name}, what colour is cell {cell_name(r, c)}?", cells[r][c], "word"))
        colour = rng.choice(spec["terrain"])
        asks.append((f"How many {colour} cells are there in {name}?", str(counts[colour]), "number"))
        r, c = rng.choice(free)
        colour = rng.choice(spec["terrain"])
        asks.append((f"In {name}, is cell {cell_name(r, c)} {colour}?", yes_no(cells[r][c] == colour), "yes/no"))
        row = rng.randrange(n)
        colour = rng.choice(spec["terrain"])
        hits = [cell_name(row, c) for c in range(n) if cells[row][c] == colour]
        if hits:
            asks.append((f"In {name}, list the {colour} cells in row {row + 1} from left to right.", ", ".join(hits), "sequence"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        colour = rng.choice(sorted(set(specs[0]["terrain"]).intersection(*(s["terrain"] for s in specs[1:]))))
        counts = [sum(row.count(colour) for row in s["cells"]) for s in specs]
        asks: list[Ask] = [(f"How many {colour} cells are there in {both} together?", str(sum(counts)), "number")]
        winner = unique_best(names, counts)
        if winner:
            asks.append((f"Which of {both} has {'more' if len(names) == 2 else 'the most'} {colour} cells?",
                         winner, "word"))
        distances = [abs(s["star"][0] - s["dot"][0]) + abs(s["star"][1] - s["dot"][1]) for s in specs]
        winner = unique_best(names, distances, highest=False)
        if winner:
            asks.append((f"In which of {both} is the star {degree(names, 'closer', 'closest')} to the red dot, counting steps up, "
                         "down, left "
                         "or right?", winner, "word"))
        return asks
