"""Analogue clocks: read the hour and minutes, compare times across clocks.

Times are on a 12-hour dial; comparisons between clocks say that both show times of the same morning, so
"later" and "how many minutes after" have one answer. No comparison involves a clock in the 12 o'clock hour:
whether 12:50 is just after midnight or just after noon is a convention, and an answer must not hinge on it. Scenes where the hands lie on top of each other are
rejected.
"""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import Image

from generator.core.instructions.facts import ImageFacts
from generator.generation.sources import drawing
from generator.generation.sources.base import join_names
from generator.generation.sources.families import Ask, Family, unique_best, yes_no

WIDTH = HEIGHT = 448
CX, CY, RADIUS = 224, 224, 196
FACES = ((255, 255, 255), (250, 244, 225), (232, 240, 250))
RIMS = ("black", "blue", "brown", "green")


def minutes_of_morning(spec: dict[str, Any]) -> int:
    """Minutes since midnight, reading the dial as a morning time (12:10 is ten past midnight)."""
    return (spec["hour"] % 12) * 60 + spec["minute"]


def hand_angles(spec: dict[str, Any]) -> tuple[float, float]:
    """Clockwise angles from 12 o'clock, in degrees, of the hour and minute hands."""
    return ((spec["hour"] % 12) * 30 + spec["minute"] * 0.5) % 360, spec["minute"] * 6.0


class Clock(Family):
    name = "clock"
    description = "Analogue clocks; hours, minutes, and which clock shows the later time."
    question_types = ("number", "word", "yes/no")

    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        minute = rng.randrange(0, 60, 5) if difficulty <= 1 else rng.randrange(60)
        numerals = "all" if difficulty <= 2 else "quarters"
        return {"hour": rng.randint(1, 12), "minute": minute, "numerals": numerals,
                "face": rng.randrange(len(FACES)), "rim": rng.choice(RIMS)}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        hour_angle, minute_angle = hand_angles(spec)
        gap = abs(hour_angle - minute_angle) % 360
        if min(gap, 360 - gap) < 12:
            return ["the hands overlap"]
        return []

    def render(self, spec: dict[str, Any]) -> Image.Image:
        image, draw = drawing.canvas(WIDTH, HEIGHT)
        rim = drawing.COLOURS[spec["rim"]]
        draw.ellipse((CX - RADIUS, CY - RADIUS, CX + RADIUS, CY + RADIUS), fill=FACES[spec["face"]],
                     outline=rim, width=8)
        for tick in range(60):
            angle = math.radians(tick * 6 - 90)
            outer = RADIUS - 12
            inner = outer - (18 if tick % 5 == 0 else 8)
            draw.line((CX + inner * math.cos(angle), CY + inner * math.sin(angle),
                       CX + outer * math.cos(angle), CY + outer * math.sin(angle)),
                      fill=drawing.INK, width=4 if tick % 5 == 0 else 1)
        hour_angle, minute_angle = hand_angles(spec)
        # With all twelve numerals the minute hand stops short of them (a hand across a numeral reads as a
        # stray mark); with only the quarters it reaches the minute ticks.
        minute_length = RADIUS * (0.62 if spec["numerals"] == "all" else 0.8)
        hour_length = RADIUS * (0.4 if spec["numerals"] == "all" else 0.5)
        for angle, length, width in ((hour_angle, hour_length, 12), (minute_angle, minute_length, 6)):
            rad = math.radians(angle - 90)
            draw.line((CX, CY, CX + length * math.cos(rad), CY + length * math.sin(rad)), fill=drawing.INK,
                      width=width)
        # numerals go on top of the hands so that a hand never hides one
        for number in range(1, 13):
            if spec["numerals"] == "quarters" and number % 3:
                continue
            angle = math.radians(number * 30 - 90)
            r = RADIUS - 56
            drawing.put_text(image, (CX + r * math.cos(angle), CY + r * math.sin(angle)), str(number), 30,
                             bold=True, anchor="mm", halo=4, halo_fill=FACES[spec["face"]])
        draw.ellipse((CX - 10, CY - 10, CX + 10, CY + 10), fill=drawing.INK)
        return image

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        return ImageFacts(kind="clock", time=(spec["hour"], spec["minute"]), colours=(spec["rim"],))

    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        hour, minute = spec["hour"], spec["minute"]
        asks: list[Ask] = [
            (f"What hour does the clock in {name} show?", str(hour), "number"),
            (f"How many minutes past the hour does the clock in {name} show?", str(minute), "number"),
        ]
        if minute:
            asks.append((f"How many minutes are left until the next full hour on the clock in {name}?",
                         str(60 - minute), "number"))
        if minute not in (0, 30):
            asks.append((f"In {name}, is the minute hand on the right half of the clock face?",
                         yes_no(minute < 30), "yes/no"))
        later = rng.randint(1, 5)
        if (hour + later - 1) % 12 + 1 != later:  # an answer equal to a number in the question proves nothing
            asks.append((f"What hour will the clock in {name} show {later} hours from now?",
                         str((hour + later - 1) % 12 + 1), "number"))
        return asks

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        both = join_names(names)
        times = [minutes_of_morning(s) for s in specs]
        asks: list[Ask] = []
        if any(s["hour"] % 12 == 0 for s in specs):
            return asks
        winner = unique_best(names, times)
        if winner:
            asks.append((f"The clocks in {both} show times of the same morning. Which of them shows the latest "
                         "time?" if len(names) > 2 else
                         f"The clocks in {both} show times of the same morning. Which of them shows the later time?",
                         winner, "word"))
        if len(names) == 2 and times[0] != times[1]:
            early, late = (0, 1) if times[0] < times[1] else (1, 0)
            asks.append((f"The clocks in {both} show times of the same morning. How many minutes after the time "
                         f"in {names[early]} is the time in {names[late]}?", str(times[late] - times[early]),
                         "number"))
            asks.append((f"Do the clocks in {both} show the same hour?",
                         yes_no(specs[0]["hour"] == specs[1]["hour"]), "yes/no"))
        return asks
