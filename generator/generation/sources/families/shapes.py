"""Scenes of coloured shapes to count by kind and colour; shapes never touch, so every count is unambiguous."""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, unique_best, yes_no

WIDTH = HEIGHT = 448
MARGIN = 10
GAP = 10
KINDS = {1: ("circle", "square", "triangle"), 2: ("circle", "square", "triangle", "star"),
         3: ("circle", "square", "triangle", "star")}
COLOURS = {1: ("red", "blue", "green", "yellow"), 2: ("red", "blue", "green", "yellow", "purple"),
           3: ("red", "blue", "green", "yellow", "purple", "orange")}
COUNTS = {1: (3, 7), 2: (6, 11), 3: (10, 16)}
RADII = {1: (28, 42), 2: (22, 34), 3: (16, 26)}
BACKGROUNDS = ((255, 255, 255), (245, 242, 232), (234, 240, 246))


def _level(difficulty: int) -> int:
    return max(1, min(3, difficulty))


class Shapes(Family):
    name = "shapes"
    description = "Coloured circles, squares, triangles and stars to count and compare."
    question_types = ("number", "word", "yes/no", "list")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        level = _level(difficulty)
        target = rng.randint(*COUNTS[level])
        shapes: list[dict[str, Any]] = []
        for _ in range(target):
            for _attempt in range(60):
                r = rng.randint(*RADII[level])
                x = rng.randint(MARGIN + r, WIDTH - MARGIN - r)
                y = rng.randint(MARGIN + r, HEIGHT - MARGIN - r)
                if all(math.hypot(x - s["x"], y - s["y"]) >= r + s["r"] + GAP for s in shapes):
                    shapes.append({"kind": rng.choice(KINDS[level]), "color": rng.choice(COLOURS[level]),
                                   "x": x, "y": y, "r": r})
                    break
        return {"level": level, "background": rng.randrange(len(BACKGROUNDS)), "shapes": shapes}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        issues = []
        shapes = spec["shapes"]
        if len(shapes) < 2:
            issues.append("fewer than two shapes")
        for i, a in enumerate(shapes):
            if not (a["r"] + MARGIN <= a["x"] <= WIDTH - MARGIN - a["r"]
                    and a["r"] + MARGIN <= a["y"] <= HEIGHT - MARGIN - a["r"]):
                issues.append(f"shape {i} is cut by the border")
            for j in range(i + 1, len(shapes)):
                b = shapes[j]
                if math.hypot(a["x"] - b["x"], a["y"] - b["y"]) < a["r"] + b["r"] + GAP:
                    issues.append(f"shapes {i} and {j} overlap")
        return issues

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT, BACKGROUNDS[spec["background"]])
        for s in spec["shapes"]:
            drawing.draw_shape(draw, s["kind"], s["x"], s["y"], s["r"], drawing.COLOURS[s["color"]])
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        shapes = spec["shapes"]
        return ImageFacts(kind="shapes", categories=tuple(sorted({s["kind"] for s in shapes})),
                          category_pool=KINDS[spec["level"]], colours=tuple(sorted({s["color"] for s in shapes})),
                          count=len(shapes), count_noun="shapes")

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        level = spec["level"]
        shapes = spec["shapes"]
        kinds = Counter(s["kind"] for s in shapes)
        colours = Counter(s["color"] for s in shapes)
        pairs = Counter((s["color"], s["kind"]) for s in shapes)
        asks: list[Ask] = [(f"How many shapes are there in {name}?", str(len(shapes)), "number")]
        for kind in rng.sample(KINDS[level], 2):
            asks.append((f"How many {kind}s are there in {name}?", str(kinds[kind]), "number"))
        for colour in rng.sample(sorted(colours), min(2, len(colours))):
            asks.append((f"How many {colour} shapes are there in {name}?", str(colours[colour]), "number"))
        colour, kind = rng.choice(sorted(pairs))
        asks.append((f"How many {colour} {kind}s are there in {name}?", str(pairs[colour, kind]), "number"))
        colour, kind = rng.choice(COLOURS[level]), rng.choice(KINDS[level])
        asks.append((f"Is there a {colour} {kind} in {name}?", yes_no(pairs[colour, kind] > 0), "yes/no"))
        a, b = rng.sample(KINDS[level], 2)
        if kinds[a] != kinds[b]:
            asks.append((f"In {name}, are there more {a}s than {b}s?", yes_no(kinds[a] > kinds[b]), "yes/no"))
        single_kinds = sorted(k for k, c in kinds.items() if c == 1)
        if single_kinds:
            kind = rng.choice(single_kinds)
            colour = next(s["color"] for s in shapes if s["kind"] == kind)
            asks.append((f"In {name}, there is exactly one {kind}. What colour is it?", colour, "word"))
        names = sorted(kinds)
        top = unique_best(names, [kinds[k] for k in names])
        if top:
            asks.append((f"Which kind of shape appears most often in {name}?", top,
                         "word"))
        asks.append((f"Which colours appear in {name}?",
                     ", ".join(sorted(colours)), "list"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        level = min(s["level"] for s in specs)
        word = "more" if len(names) == 2 else "the most"
        asks: list[Ask] = []
        for kind in rng.sample(KINDS[level], 2):
            counts = [sum(s["kind"] == kind for s in spec["shapes"]) for spec in specs]
            asks.append((f"How many {kind}s are there in {both} together?", str(sum(counts)), "number"))
            winner = unique_best(names, counts)
            if winner:
                asks.append((f"Which of {both} has {word} {kind}s?", winner, "word"))
        colour = rng.choice(COLOURS[level])
        counts = [sum(s["color"] == colour for s in spec["shapes"]) for spec in specs]
        asks.append((f"How many {colour} shapes are there in {both} together?", str(sum(counts)), "number"))
        winner = unique_best(names, [len(s["shapes"]) for s in specs])
        if winner:
            asks.append((f"Which of {both} has {word} shapes in total?", winner, "word"))
        return asks
