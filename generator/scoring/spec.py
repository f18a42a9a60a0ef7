"""Reward specs: one turn's scoring view (active instructions, distractors, reference answer) as one JSON string.

A trainer carries the spec as a plain dataset column; :func:`parse_spec` turns it back into the very
:class:`~generator.scoring.turns.TurnSpec` that ``mmmtif score`` builds from dataset rows (through
:func:`~generator.scoring.turns.prepare_turns`), so a reward computed from a spec and the benchmark's verdict on the
same turn cannot differ. The format::

    {"format": "mmmt-if/reward-spec", "version": 1, "id": "train-000007", "turn": 3,
     "active_instructions": [{"id": "end:punctuation", "kwargs": {"mark": "?"}, "given_at": 1}, ...],
     "distractors": [{"id": ..., "kwargs": {...}}],
     "reference_answer": "18", "answer_type": "number"}

``given_at`` defaults to the turn and ``kwargs`` may also be a JSON string, so specs can be written by hand.
``active_instructions`` is required (a list, empty when the turn has none), every other key is optional, and a key
outside this format is refused: a spec that lost its instructions (``{}``, a misspelt key, ``null``) must not read
as a turn with nothing to check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from generator.common.errors import ValidationError
from generator.common.reading import loads_json
from generator.scoring.turns import TurnSpec, prepare_turns

SPEC_FORMAT = "mmmt-if/reward-spec"
SPEC_VERSION = 1
_TURN_KEYS = ("active_instructions", "distractors", "reference_answer", "answer_type")
_SPEC_KEYS = frozenset(("format", "version", "id", "turn", *_TURN_KEYS))


def make_spec(row_id: str, turn: Mapping[str, Any]) -> str:
    """The reward spec of one turn of a conversation row (the dataset's own fields, kwargs decoded), as JSON.

    Keys are sorted and separators fixed, so equal turns give byte-equal specs (exports are reproducible and a
    trainer's cache hits on every repeat of the same prompt).
    """
    def instruction(item: Mapping[str, Any], given_at: bool) -> dict[str, Any]:
        kwargs = item.get("kwargs") or "{}"
        entry = {"id": item["id"], "kwargs": json.loads(kwargs) if isinstance(kwargs, str) else dict(kwargs)}
        if given_at:
            entry["given_at"] = item["given_at"]
        return entry

    spec = {
        "format": SPEC_FORMAT,
        "version": SPEC_VERSION,
        "id": row_id,
        "turn": turn["turn"],
        "active_instructions": [instruction(item, True) for item in turn.get("active_instructions") or []],
        "distractors": [instruction(item, False) for item in turn.get("distractors") or []],
        "reference_answer": turn.get("reference_answer") or "",
        "answer_type": turn.get("answer_type") or "",
    }
    return json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _catalogue() -> Any:
    from generator.scoring.evaluation import default_catalogue

    return default_catalogue()


@lru_cache(maxsize=8192)
def _parse_text(text: str) -> TurnSpec:
    return _parse_mapping(loads_json(text, "reward spec"))


def _parse_mapping(data: Any) -> TurnSpec:
    if not isinstance(data, Mapping):
        raise ValidationError("a reward spec must be a JSON object", where="reward spec")
    if data.get("format", SPEC_FORMAT) != SPEC_FORMAT or data.get("version", SPEC_VERSION) != SPEC_VERSION:
        raise ValidationError(f"unsupported spec format {data.get('format')!r} version {data.get('version')!r} "
                              f"(expected {SPEC_FORMAT!r} version {SPEC_VERSION})", where="reward spec")
    unknown = sorted(str(key) for key in data if key not in _SPEC_KEYS)
    if unknown:
        raise ValidationError(f"unknown key(s) {', '.join(map(repr, unknown))} (a spec has "
                              f"{', '.join(sorted(_SPEC_KEYS))})", where="reward spec")
    if "active_instructions" not in data:
        raise ValidationError("missing 'active_instructions' (a list, [] when the turn has none)",
                              where="reward spec: active_instructions")
    for key in ("active_instructions", "distractors"):
        if key in data and not isinstance(data[key], list):
            raise ValidationError(f"must be a list, got {type(data[key]).__name__}", where=f"reward spec: {key}")
    turn = {"turn": data.get("turn", 1), **{key: data[key] for key in _TURN_KEYS if key in data}}
    # The scorer reads kwargs as JSON strings or mappings alike; given_at defaults to the turn for hand-written specs.
    turn["active_instructions"] = [
        {**item, "given_at": item.get("given_at", turn["turn"])} if isinstance(item, Mapping) else item
        for item in (turn.get("active_instructions") or [])
    ]
    row = {"id": str(data.get("id") or "reward-spec"), "turns": [turn]}
    return prepare_turns([row], _catalogue(), source="reward spec")[0]


def parse_spec(spec: str | Mapping[str, Any] | TurnSpec) -> TurnSpec:
    """The scorer's view of a reward spec; a malformed spec raises ``ValidationError`` naming the field."""
    if isinstance(spec, TurnSpec):
        return spec
    if isinstance(spec, str):
        return _parse_text(spec)
    return _parse_mapping(spec)


__all__ = ["SPEC_FORMAT", "SPEC_VERSION", "make_spec", "parse_spec"]
