"""Procedural image families: a scene spec sampled from an RNG, rendered without randomness, with questions
whose answers are computed from the spec (so they are right by construction).

Each family module defines one :class:`Family` subclass; ``FAMILIES`` lists them in a stable order.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any

from PIL import Image

Ask = tuple[str, str, str]
"""(question, reference answer, answer type) before it is attached to image indices."""

MAX_SAMPLE_TRIES = 200


class Family(ABC):
    """A kind of synthetic image with verifiable questions.

    ``difficulty`` runs from 1 (few elements, values printed) to 3 (many elements, smaller text, values to be
    read off axes or counted).
    """

    name: str
    description: str
    question_types: tuple[str, ...]

    @abstractmethod
    def sample(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        """Draw one candidate scene spec (pure JSON data)."""

    @abstractmethod
    def problems(self, spec: dict[str, Any]) -> list[str]:
        """Return the reasons the scene could be misread (overlaps, truncated labels, ties); empty if fine."""

    @abstractmethod
    def render(self, spec: dict[str, Any]) -> Image.Image:
        """Draw the scene. Must not use randomness: the spec alone decides every pixel."""

    @abstractmethod
    def questions(self, spec: dict[str, Any], name: str, rng: random.Random) -> list[Ask]:
        """Return questions about one image called ``name`` (e.g. "Image2"); ``rng`` picks among variants so
        that every kind of question gets a fair share instead of one kind flooding the pool."""

    def compare(self, specs: list[dict[str, Any]], names: list[str], rng: random.Random) -> list[Ask]:
        """Return questions about two or more images of this family (ties are left out)."""
        return []

    def sample_valid(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        """Draw specs until one passes :meth:`problems`."""
        for _ in range(MAX_SAMPLE_TRIES):
            spec = self.sample(rng, difficulty)
            if not self.problems(spec):
                return spec
        raise RuntimeError(f"{self.name}: no readable scene after {MAX_SAMPLE_TRIES} tries")


def degree(names: list[str], comparative: str, superlative: str) -> str:
    """The comparative for two items ("the later"), the superlative for more ("the latest")."""
    return comparative if len(names) == 2 else superlative


def unique_best(names: list[str], values: list[float], *, highest: bool = True) -> str | None:
    """Return the name with the highest (or lowest) value, or None on a tie."""
    best = max(values) if highest else min(values)
    winners = [name for name, value in zip(names, values, strict=True) if value == best]
    return winners[0] if len(winners) == 1 else None


def fmt_number(value: float) -> str:
    """Format a number as a reference answer: integers without a decimal point, others with two decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


# (module, class) of every family, in the order they are listed; modules are imported on first use.
REGISTRY: tuple[tuple[str, str], ...] = (
    ("bar_chart", "BarChart"),
    ("line_chart", "LineChart"),
    ("pie_chart", "PieChart"),
    ("shapes", "Shapes"),
    ("receipt", "Receipt"),
    ("clock", "Clock"),
    ("calendar_month", "CalendarMonth"),
    ("grid_map", "GridMap"),
)

_INSTANCES: list[Family] = []


def all_families() -> list[Family]:
    """Return one shared instance of every procedural family, in a stable order."""
    if not _INSTANCES:
        import importlib

        for module_name, class_name in REGISTRY:
            module = importlib.import_module(f"generator.generation.sources.families.{module_name}")
            _INSTANCES.append(getattr(module, class_name)())
    return list(_INSTANCES)


def family_by_name(name: str) -> Family | None:
    """Return the family called ``name``, or None."""
    for family in all_families():
        if family.name == name:
            return family
    return None
