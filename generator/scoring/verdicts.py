"""Responses -> per-response verdicts: each active instruction, the reference answer and each distractor.

Joining is by (id, turn, sample). A response for a conversation or turn the dataset does not have is an error
naming its line; turns without a response are counted as missing by the metrics, never scored as passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from generator.common.errors import UserError, ValidationError
from generator.core.answers import check_answer
from generator.scoring.responses import Response
from generator.scoring.think import strip_think
from generator.scoring.turns import TurnSpec

MODES = ("strict", "loose")


@dataclass(frozen=True)
class InstructionVerdict:
    key: str
    id: str
    group: str
    age: int  # turns since the instruction was given (0 on the turn that gave it)
    ok: bool
    reason: str


@dataclass(frozen=True)
class DistractorVerdict:
    key: str
    id: str
    adopted: bool
    reason: str


@dataclass(frozen=True)
class ResponseResult:
    """The verdicts on one response; ``pif`` is None when the turn has no active instruction."""

    spec: TurnSpec
    sample: int
    response: str
    think_stripped: bool
    verdicts: tuple[InstructionVerdict, ...]
    answer_correct: bool | None
    distractors: tuple[DistractorVerdict, ...]

    @property
    def followed(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict.ok)

    @property
    def pif(self) -> float | None:
        return self.followed / len(self.verdicts) if self.verdicts else None

    @property
    def sort_key(self) -> tuple[int, int, int]:
        return (self.spec.row_index, self.spec.turn, self.sample)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(f"unknown mode {mode!r} (expected strict or loose)", where="--mode")
    return mode


def _verdict_parts(verdict: Any) -> tuple[bool, str]:
    ok = verdict.ok if hasattr(verdict, "ok") else verdict[0]
    reason = verdict.reason if hasattr(verdict, "reason") else verdict[1]
    if not isinstance(ok, bool):
        raise TypeError(f"a checker returned a non-boolean verdict {ok!r}")
    return ok, str(reason)


def score_response(spec: TurnSpec, response: Response, catalogue: Any, mode: str) -> ResponseResult:
    """Check one response against everything its turn asks (and must not adopt)."""
    text, stripped = strip_think(response.response)
    verdicts = []
    for active in spec.active:
        ok, reason = _verdict_parts(catalogue.check(active.instruction, text, mode))
        verdicts.append(InstructionVerdict(key=active.key, id=active.id, group=active.group,
                                           age=spec.turn - active.given_at, ok=ok, reason=reason))
    distractors = []
    for distractor in spec.distractors:
        adopted, reason = _verdict_parts(catalogue.check(distractor.instruction, text, mode))
        distractors.append(DistractorVerdict(key=distractor.key, id=distractor.id, adopted=adopted, reason=reason))
    answer = check_answer(spec.reference_answer, spec.answer_type, text, spec.question) if spec.checkable_answer else None
    return ResponseResult(spec=spec, sample=response.sample, response=response.response, think_stripped=stripped,
                          verdicts=tuple(verdicts), answer_correct=answer, distractors=tuple(distractors))


def join_responses(specs: Sequence[TurnSpec], responses: Iterable[Response]) -> list[tuple[TurnSpec, Response]]:
    """Pair each response with its turn; unknown conversations or turns are errors naming the response."""
    by_key = {(spec.id, spec.turn): spec for spec in specs}
    turns_of: dict[str, list[int]] = {}
    for spec in specs:
        turns_of.setdefault(spec.id, []).append(spec.turn)
    pairs = []
    for response in responses:
        spec = by_key.get((response.id, response.turn))
        if spec is None:
            if response.id not in turns_of:
                raise ValidationError(f"unknown conversation id {response.id!r} (not in the dataset)",
                                      where=f"{response.where}: field id")
            known = sorted(turns_of[response.id])
            raise ValidationError(f"conversation {response.id!r} has no turn {response.turn} "
                                  f"(its turns: {known[0]}..{known[-1]}, {len(known)} in all)",
                                  where=f"{response.where}: field turn")
        pairs.append((spec, response))
    return pairs


def evaluate(specs: Sequence[TurnSpec], responses: Iterable[Response], catalogue: Any, mode: str = "strict",
             progress: Callable[[Iterable, int], Iterable] | None = None) -> list[ResponseResult]:
    """Score every response; results come back in dataset order (row, turn, sample)."""
    check_mode(mode)
    pairs = join_responses(specs, responses)
    iterable: Iterable = pairs if progress is None else progress(pairs, len(pairs))
    results = [score_response(spec, response, catalogue, mode) for spec, response in iterable]
    results.sort(key=lambda result: result.sort_key)
    return results
