"""End instructions: every sentence ends with a mark (official) and the response ends with a phrase."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import rules, vocab
from generator.core.instructions.base import Conflict, Example, InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements

MARK_NAMES = {"?": "question mark", "!": "exclamation mark", ".": "period"}


class EndPunctuation(InstructionType):
    id = "end:punctuation"
    description = (
        "Every sentence ends with the mark; closing quotes, brackets and emphasis after the mark are allowed. "
        "A response without any sentence fails."
    )
    params = (ParamSpec("mark", "choice", "the required end mark", choices=("?", "!", ".")),)
    official = True
    conflicts = {
        "end:phrase": Conflict(
            lambda a, b: rules.ends_with_other_mark(a["mark"], b["phrase"]),
            "the closing phrase ends with another mark"),
        "start:phrase": Conflict(
            lambda a, b: rules.start_phrase_mark(a["mark"], b["phrase"]),
            "the opening phrase ends with another mark"),
    }
    examples = (
        Example(
            {"mark": "?"},
            passing=("Is it? Really (yes?) \"Sure?\"",),
            failing=("Is it? No.", "Is it?\n- a list item"),
        ),
        Example(
            {"mark": "!"},
            passing=("Wow! So great! 😀", "Wow! Really?!", "Wow! It costs 3.5 dollars!"),
            failing=(),
        ),
        Example({"mark": "."}, passing=(), failing=("One. Two",)),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"mark": rng.choice(["?", "!", "?", "!", "."])}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        units = textmod.sentences(text)
        if not units:
            return Verdict(False, "no sentence")
        mark = kwargs["mark"]
        for index, sentence in enumerate(units, 1):
            got = textmod.end_mark(sentence)
            if got != mark:
                return Verdict(False, f"sentence {index} ends with {got!r}, not {mark!r}")
        return Verdict(True, f"all {len(units)} sentences end with {mark!r}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.mark = kwargs["mark"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + ("\n\nWrong end?" if kwargs["mark"] == "." else "\n\nWrong end.")


class EndPhrase(InstructionType):
    id = "end:phrase"
    description = (
        "The response ends with the exact phrase (case-insensitive, whitespace collapsed); nothing may follow it "
        "but whitespace."
    )
    params = (ParamSpec("phrase", "phrase", "the closing words, usually a whole sentence"),)
    examples = (
        Example(
            {"phrase": "Any other questions?"},
            passing=("Done. Any other\nquestions?  \n",),
            failing=("Any other questions? Bye.",),
        ),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"phrase": rng.choice(vocab.END_PHRASES)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        want = textmod.fold(kwargs["phrase"])
        got = textmod.fold(text.rstrip()[-(len(kwargs["phrase"]) * 4 + 64):])
        # The phrase starts at a word boundary: "Many other questions?" does not end with "Any other questions?".
        before = got[-len(want) - 1:-len(want)] if len(got) > len(want) else ""
        if got.endswith(want) and not (before.isalnum() and want[:1].isalnum()):
            return Verdict(True, "ends with the phrase")
        return Verdict(False, f"ends with {got[-len(want):]!r}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.end_phrase = kwargs["phrase"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + " Bye."
