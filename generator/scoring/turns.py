"""Dataset rows -> the scoring view of each turn (active instructions, distractors, reference answer).

Only ``id`` and ``turns`` are read. ``active_instructions`` is authoritative: variants that replace or revoke
instructions write the resulting set there. Every instruction id is resolved against the catalogue up front, so an
unknown id fails before any response is scored, naming the row, the turn and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from generator.common.errors import UnknownInstructionError, ValidationError
from generator.core.answers import CHECKABLE_TYPES, check_answer, is_checkable


@dataclass(frozen=True)
class ActiveCheck:
    """An instruction in force at a turn, with its catalogue group and the turn it was given."""

    key: str  # the instruction id, or "id#2", "id#3"... when the same id is active more than once
    id: str
    group: str
    given_at: int
    kwargs: dict
    instruction: Any  # generator.core.instructions.Instruction
    grounded: bool = False  # an image-grounded rule (its parameters are facts of the chat's images)


@dataclass(frozen=True)
class DistractorCheck:
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
    active: tuple[ActiveCheck, ...]
    distractors: tuple[DistractorCheck, ...]
    reference_answer: str
    answer_type: str
    question: str = ""  # context for the answer check: numbers and image names the question itself names

    @property
    def checkable_answer(self) -> bool:
        return is_checkable(self.reference_answer, self.answer_type)


def _is_int(value: object) -> TypeGuard[int]:
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
    """Builds the catalogue's instruction objects once per distinct (id, parameters as stored).

    An instruction given at turn 3 of a 20-turn chat is listed again, with the same parameter text, in the active
    set of every later turn: keyed by that text, its parameters are parsed and validated once, not 18 times.
    Reference answers are validated once per distinct (answer, type) for the same reason.
    """

    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        self.cache: dict[tuple[str, object], tuple[dict, Any]] = {}
        self.answers: set[tuple[str, str]] = set()
        #: (id, parameter text) of an active instruction already validated -> (group, parameters, instruction)
        self.instances: dict[tuple[str, str | None], tuple[str, dict, Any, bool]] = {}

    def __call__(self, instruction_id: str, raw: object, where: str) -> tuple[dict, Any]:
        key = (instruction_id, raw if isinstance(raw, str) or raw is None else
               json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str))
        built = self.cache.get(key)
        if built is None:
            kwargs = _kwargs(raw, f"{where}.kwargs")
            try:
                instruction = self.catalogue.Instruction(instruction_id, kwargs)
            except (ValueError, TypeError) as exc:
                raise ValidationError(f"invalid parameters: {exc}", where=f"{where}.kwargs") from None
            built = self.cache[key] = (kwargs, instruction)
        return built

    def check_reference(self, reference: str, answer_type: str, where: str) -> None:
        if (reference, answer_type) in self.answers:
            return
        if answer_type not in CHECKABLE_TYPES:
            raise ValidationError(f"unknown answer type {answer_type!r} for a reference answer",
                                  where=f"{where}: field answer_type")
        try:
            check_answer(reference, answer_type, "")
        except ValueError as exc:
            raise ValidationError(str(exc), where=f"{where}: field reference_answer") from None
        self.answers.add((reference, answer_type))


class TurnPreparer:
    """Validates rows one at a time (conversation ids must not repeat) and returns their turn specs."""

    def __init__(self, catalogue: Any, *, source: str = "dataset") -> None:
        self.catalogue = catalogue
        self.source = source
        self.build = _Builder(catalogue)
        self.seen_ids: dict[str, int] = {}

    def row(self, row_index: int, row: Mapping) -> list[TurnSpec]:
        """The specs of one row, in the row's turn order; any fault names the row, the turn and the field."""
        source, catalogue, build = self.source, self.catalogue, self.build
        row_where = f"{source}: row {row_index}"
        if not isinstance(row, Mapping):
            raise ValidationError("a row must be a mapping", where=row_where)
        rid = row.get("id")
        if not isinstance(rid, str) or not rid:
            raise ValidationError(f"'id' must be a non-empty string, got {rid!r}", where=f"{row_where}: field id")
        if rid in self.seen_ids:
            raise ValidationError(f"duplicate conversation id {rid!r} (also row {self.seen_ids[rid]})",
                                  where=f"{row_where}: field id")
        self.seen_ids[rid] = row_index
        row_where = f"{source}: row {row_index} (id {rid!r})"
        turns = row.get("turns")
        if not isinstance(turns, list | tuple):
            raise ValidationError("'turns' must be a list", where=f"{row_where}: field turns")
        seen_turns: set[int] = set()
        specs: list[TurnSpec] = []
        repeated: dict[tuple[str, str | None, int, str], ActiveCheck] = {}
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
            specs.append(_prepare_turn(row_index, rid, number, turn, catalogue, build, f"{row_where} turn {number}",
                                       repeated))
        return specs


def prepare_turns(rows: Iterable[Mapping], catalogue: Any, *, source: str = "dataset") -> list[TurnSpec]:
    """Validate the rows and return one :class:`TurnSpec` per turn, in dataset order."""
    preparer = TurnPreparer(catalogue, source=source)
    return [spec for row_index, row in enumerate(rows) for spec in preparer.row(row_index, row)]


def _prepare_turn(row_index: int, rid: str, number: int, turn: Mapping, catalogue: Any, build: _Builder,
                  where: str, repeated: dict[tuple[str, str | None, int, str], ActiveCheck] | None = None
                  ) -> TurnSpec:
    """One turn's spec; ``repeated`` (per conversation) hands back the same :class:`ActiveCheck` for an instruction
    listed again at a later turn under the same key."""
    raw_active = turn.get("active_instructions")
    if not isinstance(raw_active, list | tuple):
        raise ValidationError("'active_instructions' must be a list", where=f"{where}: field active_instructions")
    used: set[str] = set()
    active: list[ActiveCheck] = []
    instances = build.instances
    for j, item in enumerate(raw_active):
        if isinstance(item, Mapping):
            # An instruction listed again at a later turn (same id and parameter text) was validated and built
            # when first seen: only its turn bound is checked again.
            iid, given_at, raw = item.get("id"), item.get("given_at"), item.get("kwargs")
            hit = instances.get((iid, raw)) if isinstance(iid, str) and isinstance(raw, str | None) else None
            if hit is not None and isinstance(iid, str) and _is_int(given_at) and 1 <= given_at <= number:
                key = _unique_key(iid, used)
                found = None if repeated is None else repeated.get((iid, raw, given_at, key))
                if found is None:
                    group, kwargs, instruction, grounded = hit
                    found = ActiveCheck(key=key, id=iid, group=group, given_at=given_at, kwargs=kwargs,
                                        instruction=instruction, grounded=grounded)
                    if repeated is not None:
                        repeated[(iid, raw, given_at, key)] = found
                active.append(found)
                continue
        field = f"{where}: field active_instructions[{j}]"
        if not isinstance(item, Mapping):
            raise ValidationError("an active instruction must be a mapping", where=field)
        itype = _resolve(catalogue, item.get("id"), f"{field}.id")
        given_at = item.get("given_at")
        if not _is_int(given_at) or not 1 <= given_at <= number:
            raise ValidationError(f"'given_at' must be an integer between 1 and the turn ({number}), got {given_at!r}",
                                  where=f"{field}.given_at")
        kwargs, instruction = build(item["id"], item.get("kwargs"), field)
        grounded = bool(getattr(itype, "image_grounded", False))
        if isinstance(item.get("kwargs"), str | None):
            instances[(item["id"], item.get("kwargs"))] = (str(itype.group), kwargs, instruction, grounded)
        active.append(ActiveCheck(key=_unique_key(item["id"], used), id=item["id"], group=str(itype.group),
                                        given_at=given_at, kwargs=kwargs, instruction=instruction,
                                        grounded=grounded))
    raw_distractors = turn.get("distractors") or []
    if not isinstance(raw_distractors, list | tuple):
        raise ValidationError("'distractors' must be a list", where=f"{where}: field distractors")
    used = set()
    distractors: list[DistractorCheck] = []
    for j, item in enumerate(raw_distractors):
        field = f"{where}: field distractors[{j}]"
        if not isinstance(item, Mapping):
            raise ValidationError("a distractor must be a mapping", where=field)
        _resolve(catalogue, item.get("id"), f"{field}.id")
        kwargs, instruction = build(item["id"], item.get("kwargs"), field)
        distractors.append(DistractorCheck(key=_unique_key(item["id"], used), id=item["id"], kwargs=kwargs,
                                      instruction=instruction))
    reference = turn.get("reference_answer") or ""
    answer_type = turn.get("answer_type") or ("open" if not reference else "")
    if not isinstance(reference, str) or not isinstance(answer_type, str):
        raise ValidationError("'reference_answer' and 'answer_type' must be strings", where=f"{where}: field answer_type")
    if is_checkable(reference, answer_type):
        build.check_reference(reference, answer_type, where)
    return TurnSpec(row_index=row_index, id=rid, turn=number, active=tuple(active), distractors=tuple(distractors),
                    reference_answer=reference, answer_type=answer_type,
                    question=question if isinstance(question := turn.get("question"), str) else "")
