"""Pie charts with a legend; shares printed as percentages (easy) or to be judged by eye (hard, large gaps)."""

from __future__ import annotations

import itertools
import random
from functools import lru_cache
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, unique_best, yes_no

TOPICS: dict[str, tuple[str, ...]] = {
    "Favourite sport": ("Tennis", "Soccer", "Golf", "Rugby", "Hockey", "Cycling", "Running", "Boxing"),
    "Household budget": ("Rent", "Food", "Travel", "Savings", "Energy", "Leisure", "Health", "Phone"),
    "Trip to work": ("Car", "Bus", "Train", "Bike", "Walking", "Tram", "Ferry", "Scooter"),
    "Favourite snack": ("Chips", "Fruit", "Nuts", "Cookies", "Candy", "Popcorn", "Cheese", "Yogurt"),
}
# No gray: "gray" and "grey" are both right, and a colour answer should have one spelling.
SLICE_COLOURS = ("blue", "orange", "green", "red", "purple", "brown", "pink", "yellow")
WIDTH = HEIGHT = 448
CX, CY, RADIUS = 160, 250, 130
LEGEND_X, LEGEND_Y, LEGEND_ROW = 312, 150, 28


@lru_cache(maxsize=256)
def _slice_stencils(start: float, end: float) -> tuple[drawing.Stencil, drawing.Stencil]:
    """The pixels of a slice from angle ``start`` to ``end`` and of its border.

    Shares are multiples of 5 points, so the angles come from a short list (about 200 slices, 12 MB of masks, make
    every pie chart) and a drawing mostly stamps slices that earlier ones rasterised. The cache's bound keeps a
    process under about 35 MB of masks whatever the angles (a whole disc and its border are about 136 KB).
    """
    box = (CX - RADIUS, CY - RADIUS, CX + RADIUS, CY + RADIUS)
    return (drawing.stencil((WIDTH, HEIGHT), lambda draw: draw.pieslice(box, start, end, fill=255)),
            drawing.stencil((WIDTH, HEIGHT), lambda draw: draw.pieslice(box, start, end, outline=255, width=2)))


def _shares(rng: random.Random, n: int, unit: int) -> list[int]:
    """Split 100 into ``n`` positive multiples of ``unit`` (uniform over compositions)."""
    total = 100 // unit
    cuts = sorted(rng.sample(range(1, total), n - 1))
    return [unit * (b - a) for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


class PieChart(Family):
    name = "pie_chart"
    description = "Pie charts with a legend; largest and smallest shares, percentages, comparisons."
    question_types = ("number", "word", "yes/no", "sequence")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        # Unlabelled shares must differ visibly (10 points), which caps them at four slices.
        n = {1: rng.randint(3, 4), 2: rng.randint(4, 6)}.get(difficulty, 4)
        unit = 5
        title = rng.choice(sorted(TOPICS))
        return {"title": title, "labels": rng.sample(TOPICS[title], n), "values": _shares(rng, n, unit),
                "colors": rng.sample(SLICE_COLOURS, n), "show_values": difficulty <= 2}

    def min_gap(self, spec: dict[str, Any]) -> int:
        """Smallest difference two shares may have: printed values may differ by 5, judged ones by 10."""
        return 5 if spec["show_values"] else 10

    def problems(self, spec: dict[str, Any]) -> list[str]:
        issues = []
        values = sorted(spec["values"])
        if sum(values) != 100:
            issues.append("shares do not add up to 100")
        if any(b - a < self.min_gap(spec) for a, b in itertools.pairwise(values)):
            issues.append("two shares are too close to tell apart")
        if values[0] < 5:
            issues.append("a slice is too thin to see")
        for label, value in zip(spec["labels"], spec["values"], strict=True):
            text = f"{label} {value}%" if spec["show_values"] else label
            if LEGEND_X + 26 + drawing.text_size(text, 14)[0] > WIDTH - 6:
                issues.append(f"legend entry {text!r} is cut off")
        return issues

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT)
        drawing.draw_text_centered(image, (WIDTH / 2, 28), spec["title"], 18, bold=True)
        start = -90.0
        for value, colour in zip(spec["values"], spec["colors"], strict=True):
            end = start + 3.6 * value
            fill, border = _slice_stencils(start, end)
            drawing.stamp(image, fill, drawing.COLOURS[colour])
            drawing.stamp(image, border, drawing.WHITE)
            start = end
        for k, (label, value, colour) in enumerate(zip(spec["labels"], spec["values"], spec["colors"], strict=True)):
            y = LEGEND_Y + LEGEND_ROW * k
            draw.rectangle((LEGEND_X, y - 8, LEGEND_X + 16, y + 8), fill=drawing.COLOURS[colour], outline=drawing.INK)
            text = f"{label} {value}%" if spec["show_values"] else label
            drawing.put_text(image, (LEGEND_X + 26, y), text, 14, anchor="lm")
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        # Shares are facts only when printed; unlabelled slices are judged by eye, not read.
        shown = spec["show_values"]
        return ImageFacts(kind="pie chart", title=spec["title"], categories=tuple(spec["labels"]),
                          category_pool=TOPICS[spec["title"]], values=tuple(spec["values"]) if shown else (),
                          maximum=max(spec["values"]) if shown else None, colours=tuple(spec["colors"]),
                          count=len(spec["values"]), count_noun="slices")

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        labels, values = spec["labels"], spec["values"]
        order = sorted(zip(values, labels, strict=True), reverse=True)
        asks: list[Ask] = [
            (f"How many slices does the pie chart in {name} have?", str(len(values)), "number"),
            (f"In {name}, which category has the largest share?", order[0][1], "word"),
            (f"In {name}, which category has the smallest share?", order[-1][1], "word"),
            (f"In {name}, list the categories from the largest share to the smallest.",
             ", ".join(label for _, label in order), "sequence"),
        ]
        i, j = rng.sample(range(len(values)), 2)
        asks.append((f"In {name}, is the share of {labels[i]} larger than the share of {labels[j]}?",
                     yes_no(values[i] > values[j]), "yes/no"))
        k = rng.randrange(len(values))
        asks.append((f"In {name}, what colour is the slice for {labels[k]}?", spec["colors"][k], "word"))
        if spec["show_values"]:
            k = rng.randrange(len(values))
            asks.append((f"In {name}, what percentage does the slice for {labels[k]} show?", str(values[k]), "number"))
            asks.append((f"In {name}, what is the combined percentage of {labels[i]} and {labels[j]}?",
                         str(values[i] + values[j]), "number"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        word = "more" if len(names) == 2 else "the most"
        asks: list[Ask] = []
        counts = [len(s["values"]) for s in specs]
        asks.append((f"How many slices are there in the pie charts of {both} together?", str(sum(counts)), "number"))
        winner = unique_best(names, counts)
        if winner:
            asks.append((f"Which of {both} has {word} slices?", winner, "word"))
        if all(s["show_values"] for s in specs):
            shared = set(specs[0]["labels"]).intersection(*(s["labels"] for s in specs[1:]))
            for label in sorted(shared)[:2]:
                shares = [s["values"][s["labels"].index(label)] for s in specs]
                winner = unique_best(names, shares)
                if winner:
                    asks.append((f"Which of {both} gives a larger share to {label}?", winner, "word"))
        return asks
