"""Procedural image families: a scene spec sampled from an RNG, rendered without randomness, with questions
whose answers are computed from the spec (so they are right by construction).

Each family module defines one :class:`Family` subclass, which registers itself in :data:`FAMILIES` when it is
defined; the ``mix`` source draws from a pinned list of family names (:data:`~generator.generation.sources.mix.MIX_FAMILIES`), so a new family changes no existing dataset.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from PIL import Image

from generator.common.errors import UserError
from generator.common.registry import Registry
from generator.core.instructions.facts import ImageFacts

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a concrete family: one shared instance, registered by its name
            FAMILIES.register(cls.name, cls())

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

    def facts(self, spec: dict[str, Any]) -> ImageFacts:
        """What the scene shows, for image-grounded instructions: titles, categories, values, colours, times...

        Only what a reader can see in the rendered image: every field must be true of the pixels. The default
        knows nothing beyond the kind of image.
        """
        return ImageFacts(kind=self.name.replace("_", " "))

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


def unique_best(names: Sequence[str], values: Sequence[float], *, highest: bool = True) -> str | None:
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


#: Every procedural family, registered when its class is defined (see ``Family.__init_subclass__``).
FAMILIES: Registry[Family] = Registry("image family", package="generator.generation.sources.families",
                                      error=UserError)


def all_families() -> list[Family]:
    """Every registered procedural family, by name."""
    entries = FAMILIES.entries()
    return [entries[name] for name in sorted(entries)]


def family_by_name(name: str) -> Family | None:
    """Return the family called ``name``, or None."""
    return FAMILIES.find(name)
