"""Length instructions: sentence count, words per sentence (both official) and the response word count."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import rules
from generator.core.instructions.base import Conflict, Example, InstructionType, ParamSpec, Verdict
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
    conflicts = {
        "length:words": Conflict(
            lambda a, b: a["relation"] != "at_most" and b["relation"] == "at_most" and 3 * a["n"] + 10 > b["n"],
            "the sentences exceed the word budget"),
        "format:bullet_list": Conflict(
            lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"],
            "each bullet item is a sentence"),
        "format:numbered_list": Conflict(
            lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"],
            "each numbered item is a sentence"),
        "format:paragraphs": Conflict(
            lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"],
            "each paragraph has a sentence"),
        "format:sections": Conflict(
            lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"],
            "each section has a sentence"),
        "format:headings": Conflict(
            lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"],
            "each heading is a sentence"),
    }
    examples = (
        Example(
            {"relation": "at_most", "n": 4},
            passing=("One. Two. Three. Four.",),
            failing=("One. Two. Three. Four. Five.",),
        ),
        Example(
            {"relation": "at_most", "n": 2},
            passing=("Dr. Who met Mr. Smith at 3.5 p.m. today. Fine.",),
            failing=(),
        ),
        Example(
            {"relation": "at_least", "n": 5},
            passing=("Intro:\n- a\n- b\n- c\n- d",),
            failing=("One. Two. Three. Four.",),
        ),
        Example({"relation": "exactly", "n": 2}, passing=("Wait... What? ",), failing=()),
    )

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

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        if kwargs["relation"] == "at_least":
            return ""
        return text + "\n\n" + " ".join(["Extra."] * (kwargs["n"] + 1))


class WordsPerSentence(InstructionType):
    id = "length:words_per_sentence"
    description = "Every sentence has at most / at least n words; a response without any sentence fails."
    params = (RELATION, ParamSpec("n", "int", "the per-sentence word bound", minimum=1, maximum=100))
    official = True
    conflicts = {
        "start:phrase": Conflict(
            lambda a, b: a["relation"] == "at_most" and rules.phrase_words(b["phrase"]) > a["n"],
            "opening phrase too long"),
        "end:phrase": Conflict(
            lambda a, b: a["relation"] == "at_most" and rules.phrase_words(b["phrase"]) > a["n"],
            "closing phrase too long"),
        "length:words": Conflict(
            lambda a, b: a["relation"] == "at_least" and b["relation"] == "at_most" and a["n"] + 10 > b["n"],
            "one sentence exceeds the word budget"),
    }
    examples = (
        Example(
            {"relation": "at_most", "n": 5},
            passing=("Don't count me twice. Well-known 3.5 items.",),
            failing=(),
        ),
        Example({"relation": "at_most", "n": 3}, passing=(), failing=("This has four words.",)),
        Example(
            {"relation": "at_least", "n": 4},
            passing=("Four words right here. And four more here!",),
            failing=("Four words right here. Short.",),
        ),
        Example({"relation": "at_most", "n": 18}, passing=(), failing=("",)),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        relation = rng.choice(["at_most", "at_least"])
        n = rng.randint(12, 25) if relation == "at_most" else rng.randint(6, 20)
        return {"relation": relation, "n": n}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        counts = textmod.sentence_word_counts(text)
        if not counts:
            return Verdict(False, "no sentence")
        relation, n = kwargs["relation"], kwargs["n"]
        # For a bound one way the extreme count decides, and only a failing text is searched for its first
        # offending sentence; any other relation looks at every sentence.
        extreme = {"at_most": max, "at_least": min}.get(relation)
        if extreme is None or not compare(extreme(counts), relation, n):
            failing = next(((index, count) for index, count in enumerate(counts, 1)
                            if not compare(count, relation, n)), None)
            if failing is not None:
                index, count = failing
                return Verdict(False, f"sentence {index} has {count} words, need {relation_text(relation)} {n}")
        return Verdict(True, f"all {len(counts)} sentences have {relation_text(relation)} {n} words")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        if kwargs["relation"] == "at_most":
            req.wmax = kwargs["n"] if req.wmax is None else min(req.wmax, kwargs["n"])
        else:
            req.wmin = max(req.wmin, kwargs["n"])

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        if kwargs["relation"] == "at_most":
            return text + "\n\n" + " ".join(["word"] * (kwargs["n"] + 1)) + "."
        return text + "\n\nShort." if kwargs["n"] > 1 else ""


class ResponseWords(InstructionType):
    id = "length:words"
    description = "The whole response has at most / at least n words."
    params = (RELATION, ParamSpec("n", "int", "the word bound", minimum=1, maximum=5000))
    examples = (
        Example({"relation": "at_least", "n": 3}, passing=("one two three",), failing=("one two 😀 -",)),
        Example({"relation": "at_most", "n": 3}, passing=(), failing=("one two three four",)),
    )

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

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + " word" * (kwargs["n"] + 1) if kwargs["relation"] == "at_most" else ""
