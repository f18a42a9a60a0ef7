"""Authoring: how instructions are worded, which ones may stand together, and texts that satisfy them.

Public API::

    conflicts(a, b) -> bool; compatible(instructions) -> bool; conflict_reason; conflicting_types; RULES
    compose_witness(active, answer=None) -> str
    wording(instruction, style); rule_text; update_wording(old, new); revoke_wording(instruction); TEMPLATE_STYLES
    official_catalogue() -> [(wording, Instruction)] (13); parse_official(text) -> Instruction | None

Generation-only code: the released scorer does not embed it (the checker core in :mod:`generator.core` does not
import it).
"""

from __future__ import annotations

from generator.authoring.conflicts import RULES, compatible, conflict_reason, conflicting_types, conflicts
from generator.authoring.official import OFFICIAL_WORDINGS, official_catalogue, parse_official
from generator.authoring.witness import compose_witness
from generator.authoring.wording import TEMPLATE_STYLES, revoke_wording, rule_text, update_wording, wording

__all__ = [
    "OFFICIAL_WORDINGS",
    "RULES",
    "TEMPLATE_STYLES",
    "compatible",
    "compose_witness",
    "conflict_reason",
    "conflicting_types",
    "conflicts",
    "official_catalogue",
    "parse_official",
    "revoke_wording",
    "rule_text",
    "update_wording",
    "wording",
]
