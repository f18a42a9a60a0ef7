"""Dataset rows -> the scoring view of each turn (active instructions, distractors, reference answer).

Only ``id`` and ``turns`` are read. ``active_instructions`` is authoritative: variants that replace or revoke
instructions write the resulting set there. Every instruction id is resolved against the catalogue up front, so an
unknown id fails before any response is scored, naming the row, the turn and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.common.errors import UnknownInstructionError, ValidationError
from generator.core.answers import CHECKABLE_TYPES, check_answer, is_checkable


@dataclass(frozen=True)
class ActiveInstruction:
    """An instruction in force at a turn, with its catalogue group and the turn it was given."""

    key: str  # the instruction id, or "id#2", "id#3"... when the same id is active more than once
    id: str
    group: str
    given_at: int
    kwargs: dict
    instruction: Any  # generator.core.instructions.Instruction


@dataclass(frozen=True)
class Distractor:
    """Instruction-like text in a turn that must not be obeyed."""

    key: str
    id: str
    kwargs: dict
    instruction: Any


@dataclass(frozen=True)
class TurnSpec:
    """Everything the scorer needs about one turn of one conversation."""

    row_index: int
    id: str
    turn: int
    active: tuple[ActiveInstruction, ...]
    distractors: tuple[Distractor, ...]
    reference_answer: str
    answer_type: str
    question: str = ""  # context for the answer check: numbers and image names the question itself names

    @property
    def checkable_answer(self) -> bool:
        return is_checkable(self.reference_answer, self.answer_type)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kwargs(value: object, where: str) -> dict:
    if isinstance(value, Mapping):
        return dict(value)
    if value is None or value == "":
        return {}
    if not isinstance(value, str):
        raise ValidationError(f"kwargs must be a JSON object string, got {type(value).__name__}", where=where)
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ValidationError(f"kwargs is not valid JSON ({exc})", where=where) from None
    if not isinstance(parsed, dict):
        raise ValidationError("kwargs must be a JSON object", where=where)
    return parsed


def _unique_key(instruction_id: str, used: set[str]) -> str:
    key, n = instruction_id, 1
    while key in used:
        n += 1
        key = f"{instruction_id}#{n}"
    used.add(key)
    return key


def _resolve(catalogue: Any, instruction_id: object, where: str) -> Any:
    if not isinstance(instruction_id, str) or not instruction_id:
        raise ValidationError(f"instruction id must be a non-empty string, got {instruction_id!r}", where=where)
    try:
        return catalogue.get_type(instruction_id)
    except UnknownInstructionError as exc:
        raise UnknownInstructionError(f"unknown instruction id {instruction_id!r}", where=where) from exc
    except KeyError:
        raise UnknownInstructionError(f"unknown instruction id {instruction_id!r}", where=where) from None


class _Builder:
    """Builds the catalogue's instruction objects once per distinct (id, parameters): chats repeat them per turn."""

    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        self.cache: dict[tuple[str, str], Any] = {}

    def __call__(self, instruction_id: str, kwargs: dict, where: str) -> Any:
        key = (instruction_id, json.dumps(kwargs, sort_keys=True, separators=(",", ":")))
        built = self.cache.get(key)
        if built is None:
            try:
                built = self.catalogue.Instruction(instruction_id, kwargs)
            except (ValueError, TypeError) as exc:
                raise ValidationError(f"invalid parameters: {exc}", where=f"{where}.kwargs") from None
            self.cache[key] = built
        return built


def prepare_turns(rows: Iterable[Mapping], catalogue: Any, *, source: str = "dataset") -> list[TurnSpec]:
    """Validate the rows and return one :class:`TurnSpec` per turn, in dataset order."""
    specs: list[TurnSpec] = []
    seen_ids: dict[str, int] = {}
    build = _Builder(catalogue)
    for row_index, row in enumerate(rows):
        row_where = f"{source}: row {row_index}"
        if not isinstance(row, Mapping):
            raise ValidationError("a row must be a mapping", where=row_where)
        rid = row.get("id")
        if not isinstance(rid, str) or not rid:
            raise ValidationError(f"'id' must be a non-empty string, got {rid!r}", where=f"{row_where}: field id")
        if rid in seen_ids:
            raise ValidationError(f"duplicate conversation id {rid!r} (also row {seen_ids[rid]})",
                                  where=f"{row_where}: field id")
        seen_ids[rid] = row_index
        row_where = f"{source}: row {row_index} (id {rid!r})"
        turns = row.get("turns")
        if not isinstance(turns, list | tuple):
            raise ValidationError("'turns' must be a list", where=f"{row_where}: field turns")
        seen_turns: set[int] = set()
        for turn_index, turn in enumerate(turns):
            if not isinstance(turn, Mapping):
                raise ValidationError("a turn must be a mapping", where=f"{row_where}: turns[{turn_index}]")
            number = turn.get("turn")
            if not _is_int(number) or number < 1:
                raise ValidationError(f"'turn' must be an integer >= 1, got {number!r}",
                                      where=f"{row_where}: turns[{turn_index}].turn")
            if number in seen_turns:
                raise ValidationError(f"duplicate turn number {number}", where=f"{row_where}: turns[{turn_index}].turn")
            seen_turns.add(number)
            specs.append(_prepare_turn(row_index, rid, number, turn, catalogue, build, f"{row_where} turn {number}"))
    return specs


def _prepare_turn(row_index: int, rid: str, number: int, turn: Mapping, catalogue: Any, build: _Builder,
                  where: str) -> TurnSpec:
    raw_active = turn.get("active_instructions")
    if not isinstance(raw_active, list | tuple):
        raise ValidationError("'active_instructions' must be a list", where=f"{where}: field active_instructions")
    used: set[str] = set()
    active: list[ActiveInstruction] = []
    for j, item in enumerate(raw_active):
        field = f"{where}: field active_instructions[{j}]"
        if not isinstance(item, Mapping):
            raise ValidationError("an active instruction must be a mapping", where=field)
        itype = _resolve(catalogue, item.get("id"), f"{field}.id")
        given_at = item.get("given_at")
        if not _is_int(given_at) or not 1 <= given_at <= number:
            raise ValidationError(f"'given_at' must be an integer between 1 and the turn ({number}), got {given_at!r}",
                                  where=f"{field}.given_at")
        kwargs = _kwargs(item.get("kwargs"), f"{field}.kwargs")
        active.append(ActiveInstruction(key=_unique_key(item["id"], used), id=item["id"], group=str(itype.group),
                                        given_at=given_at, kwargs=kwargs,
                                        instruction=build(item["id"], kwargs, field)))
    raw_distractors = turn.get("distractors") or []
    if not isinstance(raw_distractors, list | tuple):
        raise ValidationError("'distractors' must be a list", where=f"{where}: field distractors")
    used = set()
    distractors: list[Distractor] = []
    for j, item in enumerate(raw_distractors):
        field = f"{where}: field distractors[{j}]"
        if not isinstance(item, Mapping):
            raise ValidationError("a distractor must be a mapping", where=field)
        _resolve(catalogue, item.get("id"), f"{field}.id")
        kwargs = _kwargs(item.get("kwargs"), f"{field}.kwargs")
        distractors.append(Distractor(key=_unique_key(item["id"], used), id=item["id"], kwargs=kwargs,
                                      instruction=build(item["id"], kwargs, field)))
    reference = turn.get("reference_answer") or ""
    answer_type = turn.get("answer_type") or ("open" if not reference else "")
    if not isinstance(reference, str) or not isinstance(answer_type, str):
        raise ValidationError("'reference_answer' and 'answer_type' must be strings", where=f"{where}: field answer_type")
    if is_checkable(reference, answer_type):
        if answer_type not in CHECKABLE_TYPES:
            raise ValidationError(f"unknown answer type {answer_type!r} for a reference answer",
                                  where=f"{where}: field answer_type")
        try:
            check_answer(reference, answer_type, "")
        except ValueError as exc:
            raise ValidationError(str(exc), where=f"{where}: field reference_answer") from None
    return TurnSpec(row_index=row_index, id=rid, turn=number, active=tuple(active), distractors=tuple(distractors),
                    reference_answer=reference, answer_type=answer_type,
                    question=turn.get("question") if isinstance(turn.get("question"), str) else "")
