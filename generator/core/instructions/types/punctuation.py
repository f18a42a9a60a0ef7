"""Punctuation instructions: no commas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.core.instructions.base import Conflict, Example, InstructionType, Verdict
from generator.core.instructions.requirements import Requirements


class NoCommas(InstructionType):
    id = "punctuation:no_commas"
    description = "The response contains no comma (ASCII ',' or the full-width '，')."
    conflicts = {
        "start:phrase": Conflict(lambda a, b: "," in b["phrase"], "the phrase has a comma"),
        "end:phrase": Conflict(lambda a, b: "," in b["phrase"], "the phrase has a comma"),
    }
    examples = (
        Example({}, passing=("No commas here. 1000 items.",), failing=("One, two.", "全角，逗号")),
    )

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        for comma in (",", "，"):
            index = text.find(comma)
            if index >= 0:
                return Verdict(False, f"comma at character {index}")
        return Verdict(True, "no comma")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.no_commas = True

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + ","
