"""Responses -> per-response verdicts: each active instruction, the reference answer and each distractor.

Joining (by (id, turn, sample)) happens in :mod:`generator.scoring.evaluation`; a response for a conversation or
turn the dataset does not have is an error naming its line, and turns without a response are counted as missing by
the metrics, never scored as passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from generator.common.errors import UserError
from generator.core.answers import check_answer
from generator.core.instructions.check import CHECK_MODES
from generator.scoring.responses import Response
from generator.scoring.think import strip_think
from generator.scoring.turns import TurnSpec


class InstructionVerdict(NamedTuple):
    """One active instruction checked on one response (a tuple: there are several per response)."""

    key: str
    id: str
    group: str
    age: int  # turns since the instruction was given (0 on the turn that gave it)
    ok: bool
    reason: str
    grounded: bool = False  # the instruction is image-grounded


class DistractorVerdict(NamedTuple):
    """One distractor checked on one response: ``adopted`` when the response obeys it."""

    key: str
    id: str
    adopted: bool
    reason: str


@dataclass(frozen=True, slots=True)
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
    if mode not in CHECK_MODES:
        raise UserError(f"unknown mode {mode!r} (expected strict or loose)", where="--mode")
    return mode


def _verdict_parts(verdict: Any) -> tuple[bool, str]:
    try:
        ok, reason = verdict.ok, verdict.reason
    except AttributeError:  # a (ok, reason) pair
        ok, reason = verdict[0], verdict[1]
    if not isinstance(ok, bool):
        raise TypeError(f"a checker returned a non-boolean verdict {ok!r}")
    return ok, str(reason)


def score_response(spec: TurnSpec, response: Response, catalogue: Any, mode: str) -> ResponseResult:
    """Check one response against everything its turn asks (and must not adopt)."""
    text, stripped = strip_think(response.response)
    check, turn = catalogue.check, spec.turn
    verdicts = tuple(InstructionVerdict(active.key, active.id, active.group, turn - active.given_at,
                                        *_verdict_parts(check(active.instruction, text, mode)), active.grounded)
                     for active in spec.active)
    distractors = tuple(DistractorVerdict(distractor.key, distractor.id,
                                          *_verdict_parts(check(distractor.instruction, text, mode)))
                        for distractor in spec.distractors)
    answer = check_answer(spec.reference_answer, spec.answer_type, text, spec.question) if spec.checkable_answer else None
    return ResponseResult(spec=spec, sample=response.sample, response=response.response, think_stripped=stripped,
                          verdicts=verdicts, answer_correct=answer, distractors=distractors)
