"""Number instructions: include a number that satisfies a predicate (official: odd / even bigger than 5)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from generator.core import text as textmod
from generator.core.instructions.base import Example, InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements

_SEARCH_LIMIT = 100_000


def satisfies(value: Decimal, kwargs: Mapping[str, Any]) -> bool:
    """Whether one number meets the predicate; parity and multiples apply to integer values only."""
    parity = kwargs["parity"]
    integral = value == value.to_integral_value()
    if parity != "any" or kwargs.get("multiple_of") is not None:
        if not integral:
            return False
        whole = int(value)
        if parity == "odd" and whole % 2 == 0:
            return False
        if parity == "even" and whole % 2 != 0:
            return False
        multiple = kwargs.get("multiple_of")
        if multiple is not None and whole % multiple != 0:
            return False
    greater = kwargs.get("greater_than")
    if greater is not None and not value > greater:
        return False
    less = kwargs.get("less_than")
    return less is None or value < less


def smallest_example(kwargs: Mapping[str, Any]) -> int | None:
    """The smallest integer at or above a natural starting point that satisfies the predicate (witness use)."""
    greater = kwargs.get("greater_than")
    less = kwargs.get("less_than")
    if greater is not None:
        start = greater + 1
    elif less is not None:
        start = min(7, less - 1)
    else:
        start = 7
    for value in range(start, start + _SEARCH_LIMIT):
        if less is not None and value >= less:
            return None
        if satisfies(Decimal(value), kwargs):
            return value
    return None


def describe(kwargs: Mapping[str, Any]) -> str:
    parts = [{"odd": "odd number", "even": "even number", "any": "number"}[kwargs["parity"]]]
    if kwargs.get("greater_than") is not None:
        parts.append(f"greater than {kwargs['greater_than']}")
    if kwargs.get("less_than") is not None:
        parts.append(f"less than {kwargs['less_than']}")
    if kwargs.get("multiple_of") is not None:
        parts.append(f"that is a multiple of {kwargs['multiple_of']}")
    return " ".join(parts)


class IncludeNumber(InstructionType):
    id = "number:include"
    description = (
        "The response contains at least one number written with digits that meets the predicate: parity "
        "(odd/even/any, integers only), optional greater_than / less_than bounds (strict) and multiple_of."
    )
    params = (
        ParamSpec("parity", "choice", "odd, even or any", choices=("odd", "even", "any")),
        ParamSpec("greater_than", "int", "strict lower bound", minimum=-1_000_000, maximum=1_000_000, required=False),
        ParamSpec("less_than", "int", "strict upper bound", minimum=-1_000_000, maximum=1_000_000, required=False),
        ParamSpec("multiple_of", "int", "the number is a multiple of this", minimum=2, maximum=1000, required=False),
    )
    official = True
    examples = (
        Example(
            {"parity": "odd", "greater_than": 5},
            passing=("There are 7 cats.", "It came 9th."),
            failing=("There are 5 or 8 cats.", "See Image7 and seven cats.", "It is 7.5 meters."),
        ),
        Example(
            {"parity": "even", "greater_than": 5},
            passing=("About 1,000 people.",),
            failing=("About -10 or 4 people.",),
        ),
        Example(
            {"parity": "any", "greater_than": 10, "less_than": 20},
            passing=("Roughly 12.5 kg.",),
            failing=("Roughly 20 kg.",),
        ),
        Example(
            {"parity": "any", "multiple_of": 7},
            passing=("We saw 21 birds.",),
            failing=("We saw 20 birds.",),
        ),
    )

    def validate_combination(self, kwargs: dict[str, Any]) -> None:
        if smallest_example(kwargs) is None:
            raise ValueError(f"{self.id}: no integer satisfies {kwargs}")

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        kind = rng.choice(["parity", "parity", "range", "multiple"])
        if kind == "parity":
            return {"parity": rng.choice(["odd", "even"]), "greater_than": rng.randint(2, 20)}
        if kind == "range":
            low = rng.randint(5, 50)
            return {"parity": "any", "greater_than": low, "less_than": low + rng.randint(10, 90)}
        return {"parity": "any", "multiple_of": rng.choice([3, 4, 5, 7, 10]), "greater_than": rng.randint(5, 30)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        found = textmod.numbers(text)
        for value in found:
            if satisfies(value, kwargs):
                return Verdict(True, f"found {value}")
        if not found:
            return Verdict(False, "no number written with digits")
        return Verdict(False, f"no {describe(kwargs)} among {len(found)} numbers")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        example = smallest_example(kwargs)
        if example is None:  # pragma: no cover - validate_combination rejects these
            raise ValueError(f"{self.id}: unsatisfiable")
        req.numbers.append(example)

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return re.sub(r"[0-9]", "", text)
