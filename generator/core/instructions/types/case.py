"""Case instructions: all lower case, all capitals, a number of words in capitals."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import rules, vocab
from generator.core.instructions.base import Conflict, Example, InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements
from generator.core.instructions.types.length import RELATION, compare, relation_text


def _first_cased(text: str, *, upper: bool) -> int | None:
    """Offset of the first capital (``upper``) or small letter, or None.

    A letter counts by its Unicode category, not by whether it has a case mapping: mathematical capitals such
    as "𝐀" and "ℌ" have no lower-case form, yet they are capitals (title-case letters such as "ǅ" count as
    capitals too). ASCII text takes the fast path.
    """
    if text.isascii():
        probe = text.lower() if upper else text.upper()
        if probe == text:
            return None
        return next(i for i, (a, b) in enumerate(zip(text, probe, strict=True)) if a != b)
    for index, char in enumerate(text):
        if (char.isupper() or char.istitle()) if upper else char.islower():
            return index
    return None


class Lowercase(InstructionType):
    id = "case:lowercase"
    description = "No upper-case letter anywhere in the response (any script with case)."
    conflicts = {
        "case:uppercase": Conflict(rules.always, "opposite cases"),
        "case:capital_words": Conflict(
            lambda a, b: b["relation"] == "at_least" and b["n"] > 0,
            "capital words in a lower-case text"),
    }
    examples = (
        Example({}, passing=("all lower, ça va 123!",), failing=("all lower except É",)),
    )

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        index = _first_cased(text, upper=True)
        if index is None:
            return Verdict(True, "no capital letter")
        return Verdict(False, f"capital {text[index]!r} at character {index}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.case = "lower"

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + " X"


class Uppercase(InstructionType):
    id = "case:uppercase"
    description = "No lower-case letter anywhere in the response (the text equals its upper-case form)."
    conflicts = {
        "case:capital_words": Conflict(
            lambda a, b: b["relation"] == "at_most",
            "an upper-case text is all capital words"),
    }
    examples = (
        Example({}, passing=("ALL CAPS 123 ÉTÉ!",), failing=("ALL CAPS but one",)),
    )

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        index = _first_cased(text, upper=False)
        if index is None:
            return Verdict(True, "no lower-case letter")
        return Verdict(False, f"lower-case {text[index]!r} at character {index}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.case = "upper"

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + " x"


def capital_words(text: str) -> int:
    """Words with at least two letters, all of them upper case (``NASA``, ``IMAGE1``; not ``I`` or ``Image1``)."""
    count = 0
    for word in textmod.words(text):
        # isupper(): every cased character is upper case and there is at least one; caseless letters (CJK)
        # neither make nor break a capital word.
        if word.isupper() and (
            (len(word) >= 2 and word.isalpha()) or sum(1 for c in word if c.isalpha()) >= 2
        ):
            count += 1
    return count


class CapitalWords(InstructionType):
    id = "case:capital_words"
    description = "At least / at most n words written in capitals (words with two or more letters, all upper case)."
    params = (RELATION, ParamSpec("n", "int", "the bound", minimum=0, maximum=50))
    examples = (
        Example(
            {"relation": "at_least", "n": 2},
            passing=("NASA and ESA, not I or Image1.",),
            failing=("Only NASA here, I think.",),
        ),
        Example({"relation": "at_most", "n": 0}, passing=("No Caps Here, I Said.",), failing=("It is OK.",)),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["at_most", "at_least"])
        return {"relation": relation, "n": rng.randint(1, 3) if relation == "at_least" else rng.randint(0, 3)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = capital_words(text)
        ok = compare(count, kwargs["relation"], kwargs["n"])
        return Verdict(ok, f"{count} words in capitals, need {relation_text(kwargs['relation'])} {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        if kwargs["relation"] == "at_least":
            words = vocab.CAPITAL_WORDS
            req.tokens.extend(words[i % len(words)] for i in range(kwargs["n"]))
        else:
            req.capital_max = kwargs["n"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text.lower() if kwargs["relation"] == "at_least" else text + " NASA" * (kwargs["n"] + 1)
