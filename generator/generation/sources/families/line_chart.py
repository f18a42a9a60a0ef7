"""Line charts over consecutive years: one or two series, values printed (easy) or on gridlines (harder)."""

from __future__ import annotations

import itertools
import random
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, degree, unique_best, yes_no

TITLES = ("Visitors per year", "Trees planted", "Bikes sold", "Members", "Rainy days", "Orders shipped")
SERIES_NAMES = (("North", "South"), ("Online", "Store"), ("Alpha", "Beta"), ("Day", "Night"))
SERIES_COLOURS = (("blue", "red"), ("green", "purple"), ("orange", "blue"), ("red", "green"))
WIDTH = HEIGHT = 448
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 100, 44


def label_position(values: list[int], i: int) -> tuple[int, int, str]:
    """Return the offset and anchor of point ``i``'s printed value, on the side the line does not cross.

    Above a peak, below a valley; on a slope, in the upper corner away from the rising segment.
    """
    left = values[i - 1] - values[i] if i > 0 else None
    right = values[i + 1] - values[i] if i + 1 < len(values) else None
    left_up = left is not None and left > 0
    right_up = right is not None and right > 0
    if not left_up and not right_up:
        return 0, -8, "mb"
    if (left_up and right_up) or left is None or right is None:
        # a valley, or an end point whose only segment rises: the space below the point is free
        return 0, 8, "mt"
    if right_up:
        return -6, -6, "rb"
    return 6, -6, "lb"


class LineChart(Family):
    name = "line_chart"
    description = "Line charts over consecutive years, one or two series; peaks, changes and values."
    question_types = ("number", "word", "yes/no", "sequence")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        n_series = 1 if difficulty <= 1 else rng.choice((1, 2)) if difficulty == 2 else 2
        n_points = {1: rng.randint(5, 6), 2: rng.randint(6, 7)}.get(difficulty, rng.randint(7, 8))
        start = rng.randint(2010, 2030 - n_points)
        # Values within a series are distinct, so peaks, lows and rises are never ties.
        if difficulty <= 1:
            step, ymax, show = 10, rng.choice((50, 60, 80)), True
            levels, unit = ymax, 1
        else:
            step = rng.choice((5, 10))
            ymax = step * rng.randint(max(8, n_points + 1), 10)
            show = False
            levels, unit = ymax // step, step
        n_series_values = [[unit * v for v in rng.sample(range(1, levels + 1), n_points)] for _ in range(n_series)]
        pair = rng.randrange(len(SERIES_NAMES))
        title = rng.choice(TITLES)
        # One line is labelled with the title itself: a legend entry unrelated to the title ("Rainy days" / "Day")
        # reads as a second quantity.
        names = SERIES_NAMES[pair] if n_series > 1 else (title,)
        series = [{"name": names[k], "color": SERIES_COLOURS[pair][k],
                   "values": n_series_values[k]} for k in range(n_series)]
        return {"title": title, "years": list(range(start, start + n_points)), "series": series,
                "ymax": ymax, "step": step, "show_values": show, "font_size": 13 if difficulty <= 2 else 11}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        issues = []
        for s in spec["series"]:
            values = s["values"]
            if values.count(max(values)) > 1 or values.count(min(values)) > 1:
                issues.append(f"series {s['name']} has a tied maximum or minimum")
            if any(a == b for a, b in itertools.pairwise(values)):
                issues.append(f"series {s['name']} has a flat segment")
            if max(values) > spec["ymax"] or min(values) <= 0:
                issues.append("a value is outside the axis")
            if not spec["show_values"] and any(v % spec["step"] for v in values):
                issues.append("an unlabelled value is not on a gridline")
        if spec["show_values"]:
            values = spec["series"][0]["values"]
            for i, value in enumerate(values):
                # a value printed below its point must stay clear of the year labels under the axis
                if label_position(values, i)[2] == "mt" and value < spec["ymax"] * 0.12:
                    issues.append("a printed value would touch the year labels")
        if len(spec["series"]) == 2:
            a, b = (s["values"] for s in spec["series"])
            if any(abs(x - y) < spec["step"] for x, y in zip(a, b, strict=True)):
                issues.append("the two series meet or nearly meet at a point")
        return issues

    def _x(self, spec: dict[str, Any], i: int) -> float:
        n = len(spec["years"])
        return LEFT + 20 + (WIDTH - LEFT - RIGHT - 40) * i / (n - 1)

    def _y(self, spec: dict[str, Any], value: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / spec["ymax"]

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT)
        size = spec["font_size"]
        drawing.draw_text_centered(image, (WIDTH / 2, 24), spec["title"], 18, bold=True)
        x0, x1, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM
        for tick in range(0, spec["ymax"] + 1, spec["step"]):
            y = self._y(spec, tick)
            draw.line((x0, y, x1, y), fill=drawing.GRID if tick else drawing.INK)
            drawing.put_text(image, (x0 - 6, y), str(tick), size, anchor="rm")
        draw.line((x0, self._y(spec, spec["ymax"]), x0, y1), fill=drawing.INK)
        for i, year in enumerate(spec["years"]):
            x = self._x(spec, i)
            draw.line((x, y1, x, y1 + 4), fill=drawing.INK)
            drawing.put_text(image, (x, y1 + 8), str(year), size, anchor="mt")
        legend_x = WIDTH / 2 - 70 * len(spec["series"])
        for k, s in enumerate(spec["series"]):
            colour = drawing.COLOURS[s["color"]]
            lx = legend_x + 140 * k + 20
            draw.line((lx, 56, lx + 28, 56), fill=colour, width=4)
            drawing.put_text(image, (lx + 36, 56), s["name"], 14, anchor="lm")
            points = [(self._x(spec, i), self._y(spec, v)) for i, v in enumerate(s["values"])]
            draw.line(points, fill=colour, width=3)
            for x, y in points:
                draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=colour)
            if spec["show_values"]:
                for i, ((x, y), v) in enumerate(zip(points, s["values"], strict=True)):
                    dx, dy, anchor = label_position(s["values"], i)
                    drawing.put_text(image, (x + dx, y + dy), str(v), size, bold=True, anchor=anchor)
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        points = [(value, year) for s in spec["series"] for value, year in zip(s["values"], spec["years"],
                                                                              strict=True)]
        top = max(value for value, _ in points)
        peak_years = {year for value, year in points if value == top}
        return ImageFacts(kind="line chart", title=spec["title"], categories=tuple(s["name"] for s in spec["series"]),
                          maximum=top, colours=tuple(s["color"] for s in spec["series"]),
                          peak_year=peak_years.pop() if len(peak_years) == 1 else None)

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        years = spec["years"]
        asks: list[Ask] = []
        for s in spec["series"]:
            label = f"the {s['name']} line" if len(spec["series"]) > 1 else "the line"
            values = s["values"]
            peak = years[values.index(max(values))]
            low = years[values.index(min(values))]
            asks.append((f"In {name}, in which year does {label} reach its highest value?", str(peak), "word"))
            asks.append((f"In {name}, in which year does {label} reach its lowest value?", str(low), "word"))
            i = rng.randrange(len(years))
            asks.append((f"In {name}, what is the value of {label} in {years[i]}?", str(values[i]), "number"))
            falls = sum(b < a for a, b in itertools.pairwise(values))
            asks.append((f"In {name}, in how many years is {label} lower than in the year before?",
                         str(falls), "number"))
            i, j = sorted(rng.sample(range(len(years)), 2))
            asks.append((f"In {name}, is the value of {label} higher in {years[j]} than in {years[i]}?",
                         yes_no(values[j] > values[i]), "yes/no"))
            if values[j] != values[i]:
                # The direction is stated so that the answer is one unsigned amount, never a signed change.
                word = "higher" if values[j] > values[i] else "lower"
                asks.append((f"In {name}, how much {word} is the value of {label} in {years[j]} than in {years[i]}?",
                             str(abs(values[j] - values[i])), "number"))
            rises = [str(years[k]) for k in range(1, len(years)) if values[k] > values[k - 1]]
            if rises:
                asks.append((f"In {name}, list in increasing order the years in which {label} is higher than in the "
                         "year before.", ", ".join(rises), "sequence"))
        if len(spec["series"]) == 2:
            a, b = spec["series"]
            i = rng.randrange(len(years))
            higher = a["name"] if a["values"][i] > b["values"][i] else b["name"]
            asks.append((f"In {name}, which line is higher in {years[i]}, {a['name']} or {b['name']}?",
                         higher, "word"))
            above = sum(x > y for x, y in zip(a["values"], b["values"], strict=True))
            asks.append((f"In {name}, in how many years is the {a['name']} line above the {b['name']} line?",
                         str(above), "number"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        asks: list[Ask] = []
        tops = [max(max(s["values"]) for s in spec["series"]) for spec in specs]
        winner = unique_best(names, tops)
        if winner:
            asks.append((f"Which of {both} contains {degree(names, 'the higher', 'the highest')} single value of any line?", winner, "word"))
        firsts = [spec["years"][0] for spec in specs]
        winner = unique_best(names, firsts, highest=False)
        if winner:
            asks.append((f"Which of {both} starts in {degree(names, 'the earlier', 'the earliest')} year?", winner, "word"))
        counts = [len(spec["years"]) for spec in specs]
        asks.append((f"Counting the years on the horizontal axis of each chart, how many years are shown in {both} "
                     "together?", str(sum(counts)), "number"))
        return asks
