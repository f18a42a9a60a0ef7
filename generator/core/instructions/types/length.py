"""Length instructions: sentence count, words per sentence (both official) and the response word count."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions.base import InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements

RELATION = ParamSpec("relation", "choice", "how the count compares with n", choices=("at_most", "at_least"))
RELATION3 = ParamSpec(
    "relation", "choice", "how the count compares with n", choices=("at_most", "at_least", "exactly")
)


def compare(value: int, relation: str, n: int) -> bool:
    """``value`` relation ``n`` for relation at_most / at_least / exactly."""
    if relation == "at_most":
        return value <= n
    if relation == "at_least":
        return value >= n
    return value == n


def relation_text(relation: str) -> str:
    return {"at_most": "at most", "at_least": "at least", "exactly": "exactly"}[relation]


class SentenceCount(InstructionType):
    id = "length:sentences"
    description = "The response has at most / at least / exactly n sentences (text units as in docs/text-units.md)."
    params = (RELATION3, ParamSpec("n", "int", "the sentence bound", minimum=1, maximum=50))
    official = True

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["at_most", "at_least"])
        n = rng.randint(3, 8) if relation == "at_most" else rng.randint(2, 6)
        return {"relation": relation, "n": n}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = len(textmod.sentences(text))
        ok = compare(count, kwargs["relation"], kwargs["n"])
        return Verdict(ok, f"{count} sentences, need {relation_text(kwargs['relation'])} {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        if kwargs["relation"] in ("at_most", "exactly"):
            req.smax = kwargs["n"] if req.smax is None else min(req.smax, kwargs["n"])
        if kwargs["relation"] in ("at_least", "exactly"):
            req.smin = max(req.smin, kwargs["n"])


class WordsPerSentence(InstructionType):
    id = "length:words_per_sentence"
    description = "Every sentence has at most / at least n words; a response without any sentence fails."
    params = (RELATION, ParamSpec("n", "int", "the per-sentence word bound", minimum=1, maximum=100))
    official = True

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["at_most", "at_least"])
        n = rng.randint(12, 25) if relation == "at_most" else rng.randint(6, 20)
        return {"relation": relation, "n": n}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        counts = textmod.sentence_word_counts(text)
        if not counts:
            return Verdict(False, "no sentence")
        relation, n = kwargs["relation"], kwargs["n"]
        for index, count in enumerate(counts, 1):
            if not compare(count, relation, n):
                return Verdict(False, f"sentence {index} has {count} words, need {relation_text(relation)} {n}")
        return Verdict(True, f"all {len(counts)} sentences have {relation_text(relation)} {n} words")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        if kwargs["relation"] == "at_most":
            req.wmax = kwargs["n"] if req.wmax is None else min(req.wmax, kwargs["n"])
        else:
            req.wmin = max(req.wmin, kwargs["n"])


class ResponseWords(InstructionType):
    id = "length:words"
    description = "The whole response has at most / at least n words."
    params = (RELATION, ParamSpec("n", "int", "the word bound", minimum=1, maximum=5000))

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["at_most", "at_least"])
        n = rng.choice(range(200, 451, 50)) if relation == "at_most" else rng.choice(range(20, 101, 10))
        return {"relation": relation, "n": n}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = textmod.word_count(text)
        ok = compare(count, kwargs["relation"], kwargs["n"])
        return Verdict(ok, f"{count} words, need {relation_text(kwargs['relation'])} {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        if kwargs["relation"] == "at_most":
            req.tmax = kwargs["n"] if req.tmax is None else min(req.tmax, kwargs["n"])
        else:
            req.tmin = max(req.tmin, kwargs["n"])
