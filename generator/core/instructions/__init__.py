"""The instruction catalogue's checking side: ids ``group:name``, parameter specs, samplers and pure checkers.

Public API (stable; scoring, generation and the released scorer use exactly these names)::

    Instruction(id, kwargs)            frozen, validated on construction; .kwargs_json; Instruction.from_json(id, s)
    get_type(id) -> InstructionType    raises UnknownInstructionError
    all_types(); instruction_set("official" | "extended" | "grounded" | "all"); is_grounded(type)
    check(instruction, text, mode="strict" | "loose") -> Verdict(ok, reason)

Standard library only: the released ``scoring.py`` embeds this package. Wordings, conflict rules and the witness
composer live in :mod:`generator.authoring`.
"""

from __future__ import annotations

from generator.common.errors import UnknownInstructionError
from generator.common.jsonutil import canonical_json
from generator.core.instructions.base import InstructionType, ParamSpec, Verdict
from generator.core.instructions.check import CHECK_MODES, check
from generator.core.instructions.registry import (
    SETS,
    Instruction,
    all_types,
    get_type,
    instruction_set,
    is_grounded,
)

__all__ = [
    "CHECK_MODES",
    "SETS",
    "Instruction",
    "InstructionType",
    "ParamSpec",
    "UnknownInstructionError",
    "Verdict",
    "all_types",
    "canonical_json",
    "check",
    "get_type",
    "instruction_set",
    "is_grounded",
]
