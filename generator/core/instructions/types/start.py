"""Start instructions: every sentence starts with a letter (official) and the response starts with a phrase."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import rules, vocab
from generator.core.instructions.base import Conflict, Example, InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements


class StartLetter(InstructionType):
    id = "start:letter"
    description = (
        "Every sentence starts with the letter: the first letter or digit of each sentence (after quotes, "
        "brackets, emphasis and list markers) equals it, case-insensitively and ignoring accents. A response "
        "without any sentence fails."
    )
    params = (ParamSpec("letter", "letter", "the required first letter"),)
    official = True
    conflicts = {
        "start:phrase": Conflict(
            lambda a, b: rules.letter_mismatch(a["letter"], b["phrase"]),
            "the phrase starts with another letter"),
        "format:sections": Conflict(
            lambda a, b: rules.letter_mismatch(a["letter"], b["marker"]),
            "section openers start with another letter"),
        "end:phrase": Conflict(
            lambda a, b: rules.letter_mismatch(a["letter"], b["phrase"]),
            "the closing phrase starts with another letter"),
    }
    examples = (
        Example(
            {"letter": "S"},
            passing=(
                "So it is. **Sure** thing! \"Same\" again.",
                "so lower case counts. Sure.",
                "Summary:\n- Sun\n1. Stars\n# Sky\nP.S. See you.",
            ),
            failing=(
                "Sure thing. But not this.",
                "Summary:\n- Sun\n- Moon",
            ),
        ),
        Example({"letter": "E"}, passing=("Émile est là. Ensuite.",), failing=()),
        Example({"letter": "B"}, passing=(), failing=("5 birds. Blue.", "")),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"letter": rng.choice([c for c in string.ascii_uppercase if c not in "QXZ"])}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        units = textmod.sentences(text)
        if not units:
            return Verdict(False, "no sentence")
        want = textmod.normalize_letter(kwargs["letter"])
        for index, sentence in enumerate(units, 1):
            first = textmod.first_letter(sentence)
            if first is None or textmod.normalize_letter(first) != want:
                return Verdict(False, f"sentence {index} starts with {first!r}, not {kwargs['letter']!r}")
        return Verdict(True, f"all {len(units)} sentences start with {kwargs['letter']!r}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.letter = kwargs["letter"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + ("\n\nZed starts wrong." if kwargs["letter"].upper() != "Z" else "\n\nAn error.")


class StartPhrase(InstructionType):
    id = "start:phrase"
    description = (
        "The response begins with the phrase (case-insensitive, whitespace collapsed, leading whitespace ignored)."
    )
    params = (ParamSpec("phrase", "phrase", "the opening words"),)
    # Fluency rules: a title, heading or section marker opens a natural answer, so it cannot follow the phrase.
    conflicts = {
        "format:title": Conflict(rules.always, "the title opens the response"),
        "format:headings": Conflict(rules.always, "a heading opens the response"),
        "format:sections": Conflict(rules.always, "a section marker opens the response"),
    }
    examples = (
        Example(
            {"phrase": "My answer is"},
            passing=("  my  answer is yes.",),
            failing=("Well, my answer is yes.",),
        ),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"phrase": rng.choice(vocab.START_PHRASES)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        want = textmod.fold(kwargs["phrase"])
        got = textmod.fold(text.lstrip()[: len(kwargs["phrase"]) * 4 + 64])
        # The phrase ends at a word boundary: "Here is my answering machine" does not start with "Here is my answer".
        after = got[len(want):len(want) + 1]
        if got.startswith(want) and not (after.isalnum() and want[-1:].isalnum()):
            return Verdict(True, "starts with the phrase")
        return Verdict(False, f"starts with {got[: len(want)]!r}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.start_phrase = kwargs["phrase"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return "Well. " + text
