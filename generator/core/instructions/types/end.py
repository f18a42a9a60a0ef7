"""End instructions: every sentence ends with a mark (official) and the response ends with a phrase."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import vocab
from generator.core.instructions.base import InstructionType, ParamSpec, Verdict
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


class EndPhrase(InstructionType):
    id = "end:phrase"
    description = (
        "The response ends with the exact phrase (case-insensitive, whitespace collapsed); nothing may follow it "
        "but whitespace."
    )
    params = (ParamSpec("phrase", "phrase", "the closing words, usually a whole sentence"),)

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"phrase": rng.choice(vocab.END_PHRASES)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        want = textmod.fold(kwargs["phrase"])
        got = textmod.fold(text.rstrip()[-(len(kwargs["phrase"]) * 4 + 64):])
        if got.endswith(want):
            return Verdict(True, "ends with the phrase")
        return Verdict(False, f"ends with {got[-len(want):]!r}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.end_phrase = kwargs["phrase"]
