"""Keyword instructions: use a word (official), use it a given number of times, avoid words.

Words and phrases are matched as whole runs of words, case-insensitively (``generator.core.text.phrase_count``):
``like`` does not match ``likely``; ``per se`` is the two-word phrase.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import vocab
from generator.core.instructions.base import InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements
from generator.core.instructions.types.length import RELATION3, compare, relation_text


def _add_min(req: Requirements, word: str, count: int) -> None:
    key = word.casefold()
    req.keyword_min[key] = max(req.keyword_min.get(key, 0), count)


def _add_max(req: Requirements, word: str, count: int) -> None:
    key = word.casefold()
    req.keyword_max[key] = min(req.keyword_max.get(key, count), count)


class IncludeKeyword(InstructionType):
    id = "keyword:include"
    description = "The word or phrase appears at least min_count times (whole words, case-insensitive)."
    params = (
        ParamSpec("word", "keyword", "a word or short phrase"),
        ParamSpec("min_count", "int", "minimum number of occurrences", minimum=1, maximum=20),
    )
    official = True

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"word": rng.choice(vocab.KEYWORDS), "min_count": rng.choice([1, 1, 1, 2, 3])}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = textmod.phrase_count(text, kwargs["word"])
        ok = count >= kwargs["min_count"]
        return Verdict(ok, f"{kwargs['word']!r} appears {count} times, need at least {kwargs['min_count']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        _add_min(req, kwargs["word"], kwargs["min_count"])


class KeywordFrequency(InstructionType):
    id = "keyword:frequency"
    description = "The word or phrase appears exactly / at least / at most n times (whole words, case-insensitive)."
    params = (
        ParamSpec("word", "keyword", "a word or short phrase"),
        RELATION3,
        ParamSpec("n", "int", "the bound", minimum=0, maximum=20),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["exactly", "at_least", "at_most"])
        n = rng.randint(2, 4) if relation != "at_most" else rng.randint(1, 3)
        return {"word": rng.choice(vocab.KEYWORDS[3:]), "relation": relation, "n": n}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = textmod.phrase_count(text, kwargs["word"])
        ok = compare(count, kwargs["relation"], kwargs["n"])
        return Verdict(
            ok, f"{kwargs['word']!r} appears {count} times, need {relation_text(kwargs['relation'])} {kwargs['n']}"
        )

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        if kwargs["relation"] in ("at_least", "exactly"):
            _add_min(req, kwargs["word"], kwargs["n"])
        if kwargs["relation"] in ("at_most", "exactly"):
            _add_max(req, kwargs["word"], kwargs["n"])


class ForbiddenWords(InstructionType):
    id = "keyword:forbidden"
    description = "None of the listed words or phrases appears (whole words, case-insensitive)."
    params = (ParamSpec("words", "words", "the forbidden words (1-5)"),)

    def validate_combination(self, kwargs: dict[str, Any]) -> None:
        if len(kwargs["words"]) > 10:
            raise ValueError(f"{self.id}: at most 10 forbidden words")

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"words": sorted(rng.sample(vocab.FORBIDDEN, rng.randint(1, 3)))}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        for word in kwargs["words"]:
            count = textmod.phrase_count(text, word)
            if count:
                return Verdict(False, f"forbidden {word!r} appears {count} times")
        return Verdict(True, "no forbidden word")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.forbidden.update(word.casefold() for word in kwargs["words"])
