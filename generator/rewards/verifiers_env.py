"""A Prime Intellect ``verifiers`` (0.4, ``verifiers.v1``) multi-turn environment on the reward core.

One task per generated conversation. The rollout opens with the conversation's first user message (its images,
its question and the instructions given at turn 1, with the system prompt when the config has one); after each
policy answer the environment sends the next turn's user message, which carries the next question and, at the
planned turns, the next instruction, until the last planned turn is answered. The policy is thus trained on its
own history (the benchmark's ``model`` history mode).

The task's reward (``mmmtif``, the rubric of the rollout) scores every answer with the reward core, i.e. with the
checkers ``mmmtif score`` runs, against the spec of the turn it answers, and averages the turns that have
something to check: ``mode="fraction"`` (the turn's PIF) or ``mode="all"`` (1 when every active instruction is
followed), with the optional answer term (``answer_weight``). A planned turn the rollout never reached scores 0.
Metrics: ``turn_<n>`` (each turn's reward), ``pif`` (mean fraction followed), ``all_followed`` (share of turns
with every instruction followed) and ``turns_answered``. Rewards are computed from the finished trace alone, so
``vf-replay`` re-scores a saved rollout the same way.

verifiers loads the pieces by this module's dotted name::

    vf-eval generator.rewards.verifiers_env --env.taskset.dataset ./mmmt-if --model M --client.base-url URL

Needs ``pip install "mmmt-if[verifiers]"``; ``generator.rewards`` does not import this module. The agent defaults
to verifiers' tool-less ``null`` chat harness in a local subprocess (no code is executed for the model).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import verifiers.v1 as vf
from pydantic import BaseModel, ConfigDict, Field
from verifiers.v1.runtimes import SubprocessConfig
from verifiers.v1.types import AssistantMessage, UserMessage, content_text

from generator.rewards.core import reward_from_result, score_details
from generator.scoring.verdicts import ResponseResult

#: The reward's name on the trace (``trace.rewards["mmmtif"]``).
REWARD_NAME = "mmmtif"


class MMMTIFTaskConfig(vf.TaskConfig):
    """How answers are rewarded (``--env.taskset.task.*``): the reward core's options."""

    mode: Literal["fraction", "all"] = "fraction"
    """``fraction``: share of active instructions followed; ``all``: 1 only when every one is followed."""
    answer_weight: float = Field(0.0, ge=0.0, le=1.0)
    """Weight of answer correctness where the turn has a checkable reference answer."""
    check: Literal["strict", "loose"] = "strict"
    """The checkers' reading of the instructions."""


class MMMTIFTurn(BaseModel):
    """One planned user turn: its number, its rendered user message and its reward spec."""

    model_config = ConfigDict(frozen=True)

    turn: int
    prompt: str
    reward_spec: str


class MMMTIFData(vf.TaskData):
    """A conversation: ``prompt`` opens it (turn 1), ``turns`` plans every turn (turn 1 included)."""

    turns: list[MMMTIFTurn]


class MMMTIFTask(vf.Task[MMMTIFData, vf.State, MMMTIFTaskConfig]):
    """Scores the answers of a finished rollout with the benchmark's checkers."""

    def turn_scores(self, trace: vf.Trace) -> list[tuple[ResponseResult | None, float | None]]:
        """Per planned turn: the scorer's verdicts on its answer (None when the rollout never answered it) and its
        reward (None when the turn has nothing to check; 0 for an unanswered turn that has)."""
        config = self.config
        scores: list[tuple[ResponseResult | None, float | None]] = []
        for turn, answer in zip(self.data.turns, answers(self.data.turns, trace.messages), strict=True):
            # Whether a turn has anything to check does not depend on the text, so an unanswered turn is looked
            # at through an empty answer, then counted as failed.
            result = score_details(answer or "", turn.reward_spec, check=config.check)
            value = reward_from_result(result, config.mode, config.answer_weight)
            if answer is None:
                scores.append((None, None if value is None else 0.0))
            else:
                scores.append((result, value))
        return scores

    @vf.reward
    async def mmmtif(self, trace: vf.Trace) -> float:
        """Mean reward over the turns that have something to check (0 when none has)."""
        scored = [value for _, value in self.turn_scores(trace) if value is not None]
        return sum(scored) / len(scored) if scored else 0.0

    @vf.metric
    async def compliance(self, trace: vf.Trace) -> dict[str, float]:
        """``turn_<n>`` rewards, ``pif``, ``all_followed`` and ``turns_answered``."""
        scores = self.turn_scores(trace)
        out = {f"turn_{turn.turn}": value for turn, (_, value) in zip(self.data.turns, scores, strict=True)
               if value is not None}
        checked = [result for result, _ in scores if result is not None and result.verdicts]
        if checked:
            out["pif"] = sum(result.followed / len(result.verdicts) for result in checked) / len(checked)
            out["all_followed"] = sum(result.followed == len(result.verdicts) for result in checked) / len(checked)
        out["turns_answered"] = float(sum(result is not None for result, _ in scores))
        return out


def answers(turns: Sequence[MMMTIFTurn], messages: Sequence[Any]) -> list[str | None]:
    """The answer to each planned turn in a rollout's messages: the last model message after that turn's user
    message and before the next user message (None when the rollout ended before answering it)."""
    found: list[str | None] = [None] * len(turns)
    position = -1
    for message in messages:
        if isinstance(message, UserMessage):
            following = position + 1
            if following < len(turns) and content_text(message.content) == turns[following].prompt:
                position = following
        elif isinstance(message, AssistantMessage) and position >= 0 and message.content is not None:
            found[position] = message.content
    return found


class MMMTIFConfig(vf.TasksetConfig):
    """Which conversations to play (``--env.taskset.*``): a generated folder or a Hub repo id, config, split."""

    dataset: str = "mmmt-if"
    config: str | None = None
    split: str | None = None
    revision: str | None = None
    images: bool = True
    """Send the conversation's images with the first user message (as ``mmmtif run`` does)."""
    task: MMMTIFTaskConfig = MMMTIFTaskConfig()


class MMMTIFTaskset(vf.Taskset[MMMTIFTask, MMMTIFConfig]):
    """One task per conversation of the chosen config and split."""

    def load(self) -> Iterator[MMMTIFTask]:
        from generator.running.runner import build_messages
        from generator.scoring.loader import open_rows
        from generator.scoring.spec import make_spec

        source = open_rows(self.config.dataset, self.config.config, self.config.split, self.config.revision)
        for row in source.rows():
            row = row if self.config.images else {**row, "images": []}
            opening = [message for message in build_messages(row, 0, []) if message["role"] != "system"]
            turns = [MMMTIFTurn(turn=turn["turn"], prompt=turn["prompt"], reward_spec=make_spec(row["id"], turn))
                     for turn in row["turns"]]
            data = MMMTIFData(id=str(row["id"]), prompt=opening, system_prompt=row.get("system_prompt") or None,
                              turns=turns)
            yield MMMTIFTask(data, self.config.task)


class MMMTIFEnvConfig(vf.EnvConfig):
    """The policy's seat: verifiers' tool-less chat harness in a local subprocess by default."""

    agent: vf.AgentConfig = vf.AgentConfig(harness={"id": "null"}, runtime=SubprocessConfig())


class MMMTIFEnv(vf.Env[MMMTIFEnvConfig]):
    """Plays the user of a generated conversation: the next question (and instruction) after each answer."""

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        turns = task.data.turns
        async with agents.agent.interaction(task) as chat:
            segment = await chat.turn()  # the task's prompt is turn 1
            for following in turns[1:]:
                if segment.terminated:
                    break
                segment = await chat.turn(following.prompt)


__all__ = ["MMMTIFConfig", "MMMTIFData", "MMMTIFEnv", "MMMTIFEnvConfig", "MMMTIFTask", "MMMTIFTaskConfig",
           "MMMTIFTaskset", "MMMTIFTurn", "answers"]
