"""Vertical bar charts: categories with distinct values, read from printed labels or from gridlines."""

from __future__ import annotations

import random
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, degree, fmt_number, unique_best, yes_no

TOPICS: dict[str, tuple[str, ...]] = {
    "Fruit sold": ("Apples", "Pears", "Plums", "Grapes", "Lemons", "Kiwis", "Mangos", "Figs", "Limes", "Peaches"),
    "Pets adopted": ("Cats", "Dogs", "Birds", "Fish", "Rabbits", "Mice", "Lizards", "Turtles", "Ferrets"),
    "Books borrowed": ("Poetry", "Drama", "Travel", "Science", "History", "Comics", "Fantasy", "Cooking"),
    "Visitors by city": ("Oslo", "Paris", "Rome", "Madrid", "Lisbon", "Vienna", "Prague", "Dublin", "Berlin"),
    "Goals scored": ("Lions", "Tigers", "Bears", "Eagles", "Wolves", "Hawks", "Sharks", "Foxes"),
}
# No gray: "gray" and "grey" are both right, and a colour answer should have one spelling.
BAR_COLOURS = ("red", "blue", "green", "orange", "purple", "brown", "pink", "yellow")
WIDTH = HEIGHT = 448
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 60, 52


class BarChart(Family):
    name = "bar_chart"
    description = "Vertical bar charts; values printed on bars (easy) or read from gridlines (harder)."
    question_types = ("number", "word", "yes/no", "sequence")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        title = rng.choice(sorted(TOPICS))
        if difficulty <= 1:
            n, step, ymax, show, size = rng.randint(3, 5), 5, rng.choice((20, 25, 30)), True, 14
            values = rng.sample(range(1, ymax + 1), n)
        else:
            n = rng.randint(4, 6) if difficulty == 2 else rng.randint(6, 8)
            step = rng.choice((2, 5, 10))
            ymax = step * (rng.randint(6, 8) if difficulty == 2 else rng.randint(8, 10))
            show, size = False, 13 if difficulty == 2 else 11
            values = [step * k for k in rng.sample(range(1, ymax // step + 1), n)]
        labels = rng.sample(TOPICS[title], n)
        colours = rng.sample(BAR_COLOURS, n)
        return {"title": title, "labels": labels, "values": values, "colors": colours, "ymax": ymax,
                "step": step, "show_values": show, "font_size": size}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        issues = []
        values = spec["values"]
        if len(set(values)) != len(values):
            issues.append("two bars have the same value")
        if max(values) > spec["ymax"] or min(values) <= 0:
            issues.append("a value is outside the axis")
        if not spec["show_values"] and any(v % spec["step"] for v in values):
            issues.append("an unlabelled value is not on a gridline")
        slot = (WIDTH - LEFT - RIGHT) / len(values)
        for label in spec["labels"]:
            if drawing.text_size(label, spec["font_size"])[0] > slot - 4:
                issues.append(f"label {label!r} does not fit under its bar")
        if drawing.text_size(spec["title"], 18, True)[0] > WIDTH - 20:
            issues.append("title too wide")
        return issues

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT)
        size = spec["font_size"]
        drawing.draw_text_centered(image, (WIDTH / 2, 26), spec["title"], 18, bold=True)
        x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
        ymax, step = spec["ymax"], spec["step"]

        def y_of(value: float) -> float:
            return y1 - (y1 - y0) * value / ymax

        for tick in range(0, ymax + 1, step):
            y = y_of(tick)
            draw.line((x0, y, x1, y), fill=drawing.GRID if tick else drawing.INK, width=1)
            drawing.put_text(image, (x0 - 6, y), str(tick), size, anchor="rm")
        draw.line((x0, y0, x0, y1), fill=drawing.INK, width=1)
        slot = (x1 - x0) / len(spec["values"])
        for i, (label, value, colour) in enumerate(zip(spec["labels"], spec["values"], spec["colors"], strict=True)):
            cx = x0 + slot * (i + 0.5)
            half = slot * 0.3
            draw.rectangle((cx - half, y_of(value), cx + half, y1), fill=drawing.COLOURS[colour], outline=drawing.INK)
            drawing.put_text(image, (cx, y1 + 8), label, size, anchor="mt")
            if spec["show_values"]:
                drawing.put_text(image, (cx, y_of(value) - 4), str(value), size, bold=True, anchor="mb")
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        return ImageFacts(kind="bar chart", title=spec["title"], categories=tuple(spec["labels"]),
                          category_pool=TOPICS[spec["title"]], values=tuple(spec["values"]),
                          maximum=max(spec["values"]), colours=tuple(spec["colors"]), count=len(spec["values"]),
                          count_noun="bars")

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        labels, values = spec["labels"], spec["values"]
        n = len(values)
        by_value = sorted(zip(values, labels, strict=True), reverse=True)
        asks: list[Ask] = [
            (f"How many bars are there in {name}?", str(n), "number"),
            (f"In {name}, which category has the highest value?", by_value[0][1], "word"),
            (f"In {name}, which category has the lowest value?", by_value[-1][1], "word"),
            (f"In {name}, list the categories from the highest value to the lowest.",
             ", ".join(label for _, label in by_value), "sequence"),
        ]
        for i in rng.sample(range(n), min(2, n)):
            asks.append((f"In {name}, what is the value of the {labels[i]} bar?", str(values[i]), "number"))
        i = rng.randrange(n)
        asks.append((f"In {name}, what colour is the bar for {labels[i]}?", spec["colors"][i], "word"))
        i, j = rng.sample(range(n), 2)
        asks.append((f"In {name}, is the value for {labels[i]} higher than the value for {labels[j]}?",
                     yes_no(values[i] > values[j]), "yes/no"))
        hi, lo = (i, j) if values[i] > values[j] else (j, i)
        asks.append((f"In {name}, how much higher is the value for {labels[hi]} than for {labels[lo]}?",
                     str(values[hi] - values[lo]), "number"))
        asks.append((f"In {name}, what is the sum of all the values?", str(sum(values)), "number"))
        threshold = spec["step"] * rng.randint(1, spec["ymax"] // spec["step"] - 1)
        above = sum(v > threshold for v in values)
        # skip a threshold equal to a value (ambiguous) or to the answer (echoing the question would pass)
        if threshold not in values and above != threshold:
            asks.append((f"In {name}, how many bars have a value above {threshold}?",
                         str(above), "number"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        counts = [len(s["values"]) for s in specs]
        tops = [max(s["values"]) for s in specs]
        asks: list[Ask] = [(f"How many bars are there in {both} together?", fmt_number(sum(counts)), "number")]
        word = "more" if len(names) == 2 else "the most"
        winner = unique_best(names, counts)
        if winner:
            asks.append((f"Which of {both} has {word} bars?", winner, "word"))
        winner = unique_best(names, tops)
        if winner:
            top = degree(names, "the higher top bar value", "the single highest bar value")
            asks.append((f"Which of {both} contains {top}?", winner, "word"))
        shared = set(specs[0]["labels"]).intersection(*(s["labels"] for s in specs[1:]))
        for label in sorted(shared)[:2]:
            vals = [s["values"][s["labels"].index(label)] for s in specs]
            winner = unique_best(names, vals)
            if winner:
                asks.append((f"Which of {both} shows a higher value for {label}?", winner, "word"))
        return asks
