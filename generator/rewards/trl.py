"""TRL adapter: a ``GRPOTrainer`` reward function over the exported ``reward_spec`` column.

TRL calls ``f(prompts, completions, completion_ids, **columns)``: every dataset column other than ``prompt``
arrives as a per-completion list, conversational completions are lists of message dicts, and ``None`` means "not
applicable" (the row's turn has nothing to check). Where TRL passes ``log_metric`` (TRL >= 1.0), the function also
logs the batch's compliance per instruction group (``compliance/<group>``) and overall (``compliance/all``), so
the training curves show which kinds of instruction the policy learns to keep. Nothing from TRL is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from generator.rewards.core import check_reward_options, reward_from_result, score_details

#: The column ``mmmtif export --format trl`` writes the reward spec to.
SPEC_COLUMN = "reward_spec"


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or the assistant messages of a conversational completion joined."""
    if isinstance(completion, str):
        return completion
    parts: list[str] = []
    for message in completion or []:
        if message.get("role", "assistant") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(part.get("text", "")) for part in content
                         if isinstance(part, dict) and part.get("type") == "text")
    return "\n".join(parts)


def make_trl_reward(mode: str = "fraction", *, answer_weight: float = 0.0, check: str = "strict",
                    column: str = SPEC_COLUMN, log_compliance: bool = True, name: str | None = None,
                    other_rows: bool = False) -> Callable[..., list[float | None]]:
    """A TRL reward function with these options; its ``__name__`` names the reward in TRL's logs.

    A row whose spec cell is empty (``None`` or ``""``) raises, as the reward core does: an export that lost its
    specs must not train on "not applicable". ``other_rows=True`` gives such rows ``None`` instead, for a dataset
    that mixes in rows of other tasks (whose ``reward_spec`` cell is empty).
    """
    check_reward_options(mode, answer_weight, check)

    def reward(prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None,
               **kwargs: Any) -> list[float | None]:
        specs = kwargs.get(column)
        if specs is None:
            raise KeyError(f"the training set has no {column!r} column (export it with `mmmtif export`)")
        if len(specs) != len(completions):
            raise ValueError(f"{len(specs)} reward specs for {len(completions)} completions")
        rewards: list[float | None] = []
        followed: dict[str, list[int]] = {}
        for completion, spec in zip(completions, specs, strict=True):
            if not spec:
                if not other_rows:
                    raise ValueError(f"empty {column!r} cell {spec!r}: every row needs its reward spec "
                                     "(make_trl_reward(other_rows=True) gives rows of other tasks None)")
                rewards.append(None)
                continue
            result = score_details(completion_text(completion), spec, check=check)
            rewards.append(reward_from_result(result, mode, answer_weight))
            for verdict in result.verdicts:
                counts = followed.setdefault(verdict.group, [0, 0])
                counts[0] += verdict.ok
                counts[1] += 1
        log_metric = kwargs.get("log_metric")
        if log_compliance and callable(log_metric) and followed:
            for group, (ok, total) in sorted(followed.items()):
                log_metric(f"compliance/{group}", ok / total)
            log_metric("compliance/all", sum(ok for ok, _ in followed.values())
                       / sum(total for _, total in followed.values()))
        return rewards

    reward.__name__ = name or ("mmmtif_" + mode + (f"_answer{answer_weight:g}" if answer_weight else ""))
    reward.__qualname__ = reward.__name__
    return reward


#: The default TRL reward: the turn's PIF, strict checks, no answer term.
trl_reward = make_trl_reward(name="mmmtif_reward")

__all__ = ["SPEC_COLUMN", "completion_text", "make_trl_reward", "trl_reward"]
