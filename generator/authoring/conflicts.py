"""Conflict rules between instructions, evaluated in both directions.

Two instructions conflict when no response can satisfy both, or when the witness composer cannot build one that
does (so every set the generator produces is provably satisfiable). Each instruction type declares its rules on
its class (``conflicts``: other type id -> a predicate on both parameter sets and a reason); :func:`conflicts` evaluates the rule for (a, b) and for (b, a), so a rule
declared in one direction is enough and the relation is symmetric by construction. Two instructions of the same
type always conflict: each type is one category, at most one instruction per category is active (as in the
official release, where the six categories are mutually exclusive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from generator.core.instructions.registry import Instruction, all_types, get_type

Kw = Mapping[str, Any]
Predicate = Callable[[Kw, Kw], bool]


def _collect_rules() -> dict[tuple[str, str], tuple[Predicate, str]]:
    """(type a, type b) -> (predicate on (a.kwargs, b.kwargs), reason), from the rules the types declare.

    A rule naming an unknown type, or a pair declared on both sides, is a mistake in the catalogue and fails
    loudly here rather than being silently ignored.
    """
    found: dict[tuple[str, str], tuple[Predicate, str]] = {}
    for kind in all_types():
        for other, rule in kind.conflicts.items():
            get_type(other)  # raises UnknownInstructionError for a typo
            if (other, kind.id) in found:
                raise ValueError(f"conflict between {kind.id} and {other} is declared on both types")
            found[(kind.id, other)] = (rule.predicate, rule.reason)
    return found


RULES: dict[tuple[str, str], tuple[Predicate, str]] = _collect_rules()


def conflict_reason(a: Instruction, b: Instruction) -> str | None:
    """Why ``a`` and ``b`` cannot be active together, or None when they can."""
    if a.id == b.id:
        return "one instruction per category"
    for first, second in ((a, b), (b, a)):
        rule = RULES.get((first.id, second.id))
        if rule and rule[0](first.kwargs, second.kwargs):
            return rule[1]
    return None


def conflicts(a: Instruction, b: Instruction) -> bool:
    """True when ``a`` and ``b`` must not be active together (symmetric)."""
    return conflict_reason(a, b) is not None


def conflicting_types(type_id: str) -> list[str]:
    """Type ids that have a declared rule with ``type_id`` (the rule may depend on parameters)."""
    out = {type_id}
    for first, second in RULES:
        if first == type_id:
            out.add(second)
        elif second == type_id:
            out.add(first)
    return sorted(out)


_PROBE_ANSWER = "three small red boxes"


def compatible(instructions: Iterable[Instruction]) -> bool:
    """True when no two instructions conflict and the whole set has a witness (checked by composing one,
    with a short probe answer, so that a set accepted here can always be answered)."""
    items = list(instructions)
    for index, first in enumerate(items):
        for second in items[index + 1:]:
            if conflicts(first, second):
                return False
    if not items:
        return True
    from generator.authoring.witness import compose_witness

    try:
        compose_witness(items, answer=_PROBE_ANSWER)
    except ValueError:
        return False
    return True
