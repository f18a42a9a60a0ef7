"""The reward core: (response text, a turn's reward spec) -> a score in [0, 1], with the scorer's own verdicts.

A *reward spec* is one JSON string per turn (format in :mod:`generator.scoring.spec`), so that any trainer can
carry it as a plain dataset column. The spec is read by the very code that ``mmmtif score`` runs
(``generator.scoring.turns.prepare_turns`` and ``generator.scoring.verdicts.score_response``), so a reward can never
disagree with the benchmark's verdicts: think traces are stripped the same way, instructions are checked by the same
checkers, and the answer by the same answer check.

Reward modes:

- ``fraction``: the share of active instructions followed (the turn's PIF);
- ``all``: 1 when every active instruction is followed, else 0 (the turn's contribution to PIF-N-K style
  all-or-nothing metrics).

``answer_weight`` (``w``, default 0) mixes in answer correctness where the turn has a checkable reference answer:
``reward = (1 - w) * instructions + w * answer``. A turn with no active instruction is scored by its answer alone
when ``w > 0``; when there is nothing to check at all the reward is ``None`` ("not applicable", as TRL reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.core.instructions.check import CHECK_MODES
from generator.scoring.responses import Response
from generator.scoring.spec import SPEC_FORMAT, SPEC_VERSION, make_spec, parse_spec
from generator.scoring.turns import TurnSpec
from generator.scoring.verdicts import ResponseResult
from generator.scoring.verdicts import score_response as _score_turn

#: Reward modes: ``fraction`` (PIF of the turn) and ``all`` (1 only if every active instruction is followed).
REWARD_MODES = ("fraction", "all")


def check_reward_options(mode: str, answer_weight: float, check: str = "strict") -> None:
    """Refuse unknown modes and weights outside [0, 1] up front, before a trainer runs for hours."""
    if mode not in REWARD_MODES:
        raise ValueError(f"unknown reward mode {mode!r} (choose from {', '.join(REWARD_MODES)})")
    if isinstance(answer_weight, bool) or not isinstance(answer_weight, int | float) or not 0.0 <= answer_weight <= 1.0:
        raise ValueError(f"answer_weight must be a number in [0, 1], got {answer_weight!r}")
    if check not in CHECK_MODES:
        raise ValueError(f"unknown check mode {check!r} (choose from {', '.join(CHECK_MODES)})")


def score_details(text: str, spec: str | Mapping[str, Any] | TurnSpec, *, check: str = "strict") -> ResponseResult:
    """Every verdict on ``text``: per instruction (with its group and age), the answer and each distractor."""
    if not isinstance(text, str):
        raise TypeError(f"a response must be a string, got {type(text).__name__}")
    turn = parse_spec(spec)
    response = Response(id=turn.id, turn=turn.turn, sample=0, response=text, where="reward")
    from generator.scoring.evaluation import default_catalogue

    return _score_turn(turn, response, default_catalogue(), check)


@dataclass(frozen=True)
class Reward:
    """A reward with the verdicts behind it (``value`` is None when the turn has nothing to check)."""

    value: float | None
    result: ResponseResult


def reward_from_result(result: ResponseResult, mode: str = "fraction", answer_weight: float = 0.0) -> float | None:
    """Combine the verdicts of one response into the reward (see the module docstring)."""
    instructions: float | None
    if not result.verdicts:
        instructions = None
    elif mode == "all":
        instructions = 1.0 if result.followed == len(result.verdicts) else 0.0
    else:
        instructions = result.followed / len(result.verdicts)
    answer = None if answer_weight == 0 or result.answer_correct is None else float(result.answer_correct)
    if instructions is None:
        return answer
    if answer is None:
        return instructions
    return (1.0 - answer_weight) * instructions + answer_weight * answer


def score(text: str, spec: str | Mapping[str, Any] | TurnSpec, mode: str = "fraction", *,
          answer_weight: float = 0.0, check: str = "strict") -> Reward:
    """The reward of ``text`` together with the scorer's verdicts."""
    check_reward_options(mode, answer_weight, check)
    result = score_details(text, spec, check=check)
    return Reward(reward_from_result(result, mode, answer_weight), result)


def score_response(text: str, spec: str | Mapping[str, Any] | TurnSpec, mode: str = "fraction", *,
                   answer_weight: float = 0.0, check: str = "strict") -> float | None:
    """The reward in [0, 1] of one response to one turn, or None when the turn has nothing to check."""
    return score(text, spec, mode, answer_weight=answer_weight, check=check).value


__all__ = [
    "REWARD_MODES",
    "SPEC_FORMAT",
    "SPEC_VERSION",
    "Reward",
    "check_reward_options",
    "make_spec",
    "parse_spec",
    "reward_from_result",
    "score",
    "score_details",
    "score_response",
]
