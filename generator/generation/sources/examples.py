"""The example chat of the image-grounded instructions: seven fixed procedural scenes, one per kind of fact.

``generator.core.instructions.types.grounded.EXAMPLE_FACTS`` holds the facts of these scenes (the checker core
cannot import the families that derive them); a test derives them again from the specs below, so the documented
examples stay true of the pictures. ``scripts/grounded_examples.py`` renders them for docs/instructions.md.
"""

from __future__ import annotations

from typing import Any

from generator.core.instructions.facts import ChatFacts
from generator.generation.sources.families import FAMILIES

#: (family name, scene spec) per image, in chat order: Image1 is the bar chart.
EXAMPLE_SCENES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bar_chart", {"title": "Books borrowed", "labels": ["Comics", "Travel", "Fantasy"], "values": [1, 10, 24],
                   "colors": ["red", "blue", "orange"], "ymax": 25, "step": 5, "show_values": True,
                   "font_size": 14}),
    ("receipt", {"store": "Mendez-Williams", "city": "Audreyshire, NM", "cashier": "Karen", "date": [2026, 11, 16],
                 "items": [{"name": "Candles", "qty": 1, "unit_cents": 869},
                           {"name": "Muffin", "qty": 1, "unit_cents": 245},
                           {"name": "Cheese", "qty": 1, "unit_cents": 705},
                           {"name": "Bananas", "qty": 1, "unit_cents": 129}], "font_size": 15}),
    ("clock", {"hour": 6, "minute": 0, "numerals": "all", "face": 0, "rim": "black"}),
    ("calendar", {"year": 2032, "month": 12, "marked": [15, 24], "color": "red", "shade_weekends": True}),
    ("line_chart", {"title": "Orders shipped", "years": [2012, 2013, 2014, 2015, 2016, 2017],
                    "series": [{"name": "Online", "color": "green", "values": [6, 28, 40, 44, 9, 35]}],
                    "ymax": 50, "step": 10, "show_values": True, "font_size": 13}),
    ("grid_map", {"size": 5, "terrain": ["blue", "green"],
                  "cells": [["white", "white", "white", "white", "white"], ["white", "blue", "white", "white", "white"],
                            ["green", "blue", "blue", "white", "blue"], ["white", "green", "blue", "white", "white"],
                            ["green", "blue", "white", "blue", "white"]],
                  "star": [4, 3], "dot": [4, 1]}),
    ("shapes", {"level": 1, "background": 1, "shapes": [
        {"kind": "square", "color": "yellow", "x": 102, "y": 84, "r": 31},
        {"kind": "square", "color": "red", "x": 122, "y": 261, "r": 34},
        {"kind": "circle", "color": "red", "x": 342, "y": 60, "r": 37},
        {"kind": "triangle", "color": "yellow", "x": 166, "y": 127, "r": 36},
        {"kind": "triangle", "color": "blue", "x": 254, "y": 281, "r": 33},
        {"kind": "square", "color": "blue", "x": 272, "y": 174, "r": 30}]}),
)
#: The question of the example chat that names something no image shows (kept out of ``absent`` lists).
EXAMPLE_QUESTIONS: tuple[str, ...] = ("Is Honey on the receipt in Image2?",)


def example_chat_facts() -> ChatFacts:
    """The facts the example scenes imply, derived by the families themselves."""
    return ChatFacts(images=tuple(FAMILIES.get(name).facts(spec) for name, spec in EXAMPLE_SCENES),
                     questions=EXAMPLE_QUESTIONS)


def example_image_path(position: int) -> str:
    """Where docs/instructions.md finds the picture of example image ``position`` (1-based), relative to docs/."""
    return f"img/grounded/image{position}-{EXAMPLE_SCENES[position - 1][0]}.png"
