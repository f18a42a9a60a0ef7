"""Month calendars (weeks start on Monday) with some days circled: weekdays, counts, marked dates."""

from __future__ import annotations

import calendar
import random
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, degree, unique_best, yes_no

WIDTH, HEIGHT = 448, 420
LEFT, TOP, CELL_W, CELL_H = 14, 92, 60, 52
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MARK_COLOURS = ("red", "blue", "green")
_CALENDAR = calendar.Calendar(firstweekday=0)


def ordinal(day: int) -> str:
    """1 -> "1st", 22 -> "22nd", 13 -> "13th"."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def weekday_of(spec: dict[str, Any], day: int) -> str:
    return WEEKDAYS[calendar.weekday(spec["year"], spec["month"], day)]


def month_days(spec: dict[str, Any]) -> int:
    return calendar.monthrange(spec["year"], spec["month"])[1]


class CalendarMonth(Family):
    name = "calendar"
    description = "Month calendars with circled days; weekdays of dates, day counts, marked dates."
    question_types = ("number", "word", "yes/no", "sequence")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        year, month = rng.randint(2024, 2032), rng.randint(1, 12)
        days = calendar.monthrange(year, month)[1]
        count = {1: rng.randint(2, 4), 2: rng.randint(3, 6)}.get(difficulty, rng.randint(5, 8))
        return {"year": year, "month": month, "marked": sorted(rng.sample(range(1, days + 1), count)),
                "color": rng.choice(MARK_COLOURS), "shade_weekends": difficulty <= 2}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        days = month_days(spec)
        if any(not 1 <= d <= days for d in spec["marked"]) or len(set(spec["marked"])) != len(spec["marked"]):
            return ["a marked day does not exist or is repeated"]
        return []

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT)
        title = f"{calendar.month_name[spec['month']]} {spec['year']}"
        drawing.draw_text_centered(image, (WIDTH / 2, 30), title, 24, bold=True)
        for col, name in enumerate(WEEKDAYS):
            drawing.draw_text_centered(image, (LEFT + CELL_W * (col + 0.5), TOP - 18), name[:3], 14, bold=True)
        weeks = _CALENDAR.monthdayscalendar(spec["year"], spec["month"])
        mark = drawing.COLOURS[spec["color"]]
        for row, week in enumerate(weeks):
            for col, day in enumerate(week):
                x0, y0 = LEFT + CELL_W * col, TOP + CELL_H * row
                fill = (238, 238, 238) if spec["shade_weekends"] and col >= 5 else drawing.WHITE
                draw.rectangle((x0, y0, x0 + CELL_W, y0 + CELL_H), fill=fill, outline=drawing.GRID)
                if not day:
                    continue
                cx, cy = x0 + CELL_W / 2, y0 + CELL_H / 2
                if day in spec["marked"]:
                    draw.ellipse((cx - 20, cy - 20, cx + 20, cy + 20), outline=mark, width=3)
                drawing.draw_text_centered(image, (cx, cy), str(day), 18)
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        return ImageFacts(kind="calendar", title=f"{calendar.month_name[spec['month']]} {spec['year']}",
                          colours=(spec["color"],),
                          calendar={"year": spec["year"], "month": spec["month"], "marked": list(spec["marked"])},
                          count=len(spec["marked"]), count_noun="circled days")

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        days = month_days(spec)
        marked = spec["marked"]
        colour = spec["color"]
        asks: list[Ask] = [
            (f"On which day of the week does the month in {name} begin?", weekday_of(spec, 1), "word"),
            (f"How many days does the month shown in {name} have?", str(days), "number"),
            (f"How many days are circled in {name}?", str(len(marked)), "number"),
            (f"Which month is shown in {name}?", calendar.month_name[spec["month"]],
             "word"),
            (f"List the circled dates in {name} in increasing order.",
             ", ".join(map(str, marked)), "sequence"),
            (f"What colour are the circles in {name}?", colour, "word"),
        ]
        day = rng.randint(2, days)
        asks.append((f"In {name}, on which day of the week is the {ordinal(day)}?", weekday_of(spec, day), "word"))
        weekday = rng.randrange(7)
        count = sum(1 for d in range(1, days + 1) if calendar.weekday(spec["year"], spec["month"], d) == weekday)
        asks.append((f"How many {WEEKDAYS[weekday]}s are there in the month shown in {name}?", str(count),
                     "number"))
        day = rng.choice([*marked, rng.randint(1, days)])
        asks.append((f"In {name}, is the {ordinal(day)} circled?", yes_no(day in marked), "yes/no"))
        weekend = sum(1 for d in marked if calendar.weekday(spec["year"], spec["month"], d) >= 5)
        asks.append((f"In {name}, how many of the circled days fall on a Saturday or Sunday?", str(weekend),
                     "number"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        word = "more" if len(names) == 2 else "the most"
        asks: list[Ask] = []
        marked = [len(s["marked"]) for s in specs]
        asks.append((f"How many days are circled in {both} together?", str(sum(marked)), "number"))
        winner = unique_best(names, marked)
        if winner:
            asks.append((f"Which of {both} has {word} circled days?", winner, "word"))
        winner = unique_best(names, [month_days(s) for s in specs])
        if winner:
            asks.append((f"Which of {both} shows the month with {word} days?", winner, "word"))
        winner = unique_best(names, [s["year"] * 12 + s["month"] for s in specs], highest=False)
        if winner:
            asks.append((f"Which of {both} shows {degree(names, 'the earlier', 'the earliest')} month?", winner, "word"))
        return asks
