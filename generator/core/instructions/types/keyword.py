"""Keyword instructions: use a word (official), use it a given number of times, avoid words.

Words and phrases are matched as whole runs of words, case-insensitively (``generator.core.text.phrase_count``):
``like`` does not match ``likely``; ``per se`` is the two-word phrase.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import rules, vocab
from generator.core.instructions.base import (
    Conflict,
    Example,
    InstructionType,
    ParamSpec,
    Verdict,
    remove_phrase,
)
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
    conflicts = {
        "keyword:forbidden": Conflict(
            lambda a, b: rules.forbidden_in(b["words"], a["word"]),
            "the keyword is forbidden"),
        "keyword:frequency": Conflict(
            lambda a, b: textmod.fold(a["word"]) == textmod.fold(b["word"]) and rules.at_most(b) is not None and a["min_count"] > b["n"],
            "the same word is required more often than allowed"),
    }
    examples = (
        Example(
            {"word": "like", "min_count": 1},
            passing=("I like it.",),
            failing=("It is likely unlike that.",),
        ),
        Example(
            {"word": "per se", "min_count": 1},
            passing=("Not PER SE wrong.",),
            failing=("Not per-se wrong; persevere.",),
        ),
        Example(
            {"word": "itself", "min_count": 2},
            passing=("It itself, by itself.",),
            failing=("It itself.",),
        ),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"word": rng.choice(vocab.KEYWORDS), "min_count": rng.choice([1, 1, 1, 2, 3])}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = textmod.phrase_count(text, kwargs["word"])
        ok = count >= kwargs["min_count"]
        return Verdict(ok, f"{kwargs['word']!r} appears {count} times, need at least {kwargs['min_count']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        _add_min(req, kwargs["word"], kwargs["min_count"])

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return remove_phrase(kwargs["word"], text)


class KeywordFrequency(InstructionType):
    id = "keyword:frequency"
    description = "The word or phrase appears exactly / at least / at most n times (whole words, case-insensitive)."
    params = (
        ParamSpec("word", "keyword", "a word or short phrase"),
        RELATION3,
        ParamSpec("n", "int", "the bound", minimum=0, maximum=20),
    )
    conflicts = {
        "keyword:forbidden": Conflict(
            lambda a, b: a["relation"] != "at_most" and a["n"] > 0 and rules.forbidden_in(b["words"], a["word"]),
            "the keyword is forbidden"),
        "start:phrase": Conflict(
            lambda a, b: rules.keyword_excess(a["word"], rules.at_most(a), b["phrase"]),
            "the phrase repeats the word"),
        "end:phrase": Conflict(
            lambda a, b: rules.keyword_excess(a["word"], rules.at_most(a), b["phrase"]),
            "the phrase repeats the word"),
    }
    examples = (
        Example(
            {"word": "color", "relation": "exactly", "n": 2},
            passing=("Color and color.",),
            failing=("Color, color, COLOR.",),
        ),
        Example({"word": "color", "relation": "at_most", "n": 1}, passing=("colorful colors",), failing=()),
        Example({"word": "color", "relation": "at_least", "n": 2}, passing=(), failing=("one color",)),
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

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        if kwargs["relation"] == "at_most":
            return text + (" " + kwargs["word"]) * (kwargs["n"] + 1)
        return remove_phrase(kwargs["word"], text) if kwargs["n"] > 0 else text + (" " + kwargs["word"])


class ForbiddenWords(InstructionType):
    id = "keyword:forbidden"
    description = "None of the listed words or phrases appears (whole words, case-insensitive)."
    params = (ParamSpec("words", "words", "the forbidden words (1-5)"),)
    conflicts = {
        "start:phrase": Conflict(
            lambda a, b: rules.forbidden_in(a["words"], b["phrase"]),
            "the opening phrase uses a forbidden word"),
        "end:phrase": Conflict(
            lambda a, b: rules.forbidden_in(a["words"], b["phrase"]),
            "the closing phrase uses a forbidden word"),
        "format:sections": Conflict(
            lambda a, b: rules.forbidden_in(a["words"], b["marker"]),
            "the section marker is forbidden"),
    }
    examples = (
        Example(
            {"words": ["very", "really"]},
            passing=("Everything is fine.",),
            failing=("It is Really fine.",),
        ),
        Example({"words": ["just"]}, passing=("Justice is served; adjust it.",), failing=()),
    )

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

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + " " + kwargs["words"][0]
