"""Checking an instruction against a response, in strict or loose mode.

Strict mode reads the response as it is. Loose mode (IFEval's "loose accuracy") passes when any relaxed reading
passes: the response without its first line (a preamble such as "Sure, here is my answer:"), without its last line
(a sign-off), without both, and each of these with inline markdown emphasis removed.
"""

from __future__ import annotations

from generator.core import text as textmod
from generator.core.instructions.base import Verdict
from generator.core.instructions.registry import Instruction, get_type

CHECK_MODES = ("strict", "loose")


def check(instruction: Instruction, text: str, mode: str = "strict") -> Verdict:
    """Verdict of ``instruction`` on ``text``; unknown ids raise, parameters were validated on construction."""
    kind = get_type(instruction.id)
    if mode == "strict":
        return kind.check_text(instruction.kwargs, text)
    if mode != "loose":
        raise ValueError(f"unknown check mode {mode!r} (choose strict or loose)")
    # Relaxed readings are built only when the text as given fails. The variants come from a per-text cache, so
    # compare by value: an equal text from an earlier call is a different object, and must still count as the
    # response itself.
    first = kind.check_text(instruction.kwargs, text)
    if first.ok:
        return first
    for variant in textmod.loose_variants(text):
        if variant == text or not variant.strip():
            continue
        verdict = kind.check_text(instruction.kwargs, variant)
        if verdict.ok:
            return Verdict(True, verdict.reason + " (loose)")
    return first
