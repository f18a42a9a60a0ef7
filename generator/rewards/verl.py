"""verl adapters: ``compute_score`` for single-turn rewards and a multi-turn interaction for agent rollouts.

- :func:`verl_compute_score` has the signature verl's ``custom_reward_function`` expects:
  ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **reward_kwargs)``; ``ground_truth`` is
  the reward spec (``reward_model.ground_truth`` of ``mmmtif export --format verl``). verl needs a number for every
  sample, so a turn with nothing to check scores 0 (a whole group of zeros carries no advantage). For a
  multi-turn rollout it returns the mean of the interaction's turn scores, which verl hands over in
  ``extra_info["turn_scores"]`` (the decoded response then spans every turn and no single spec fits it).
- :class:`MMMTIFInteraction` follows verl's ``BaseInteraction`` protocol (``start_interaction``,
  ``generate_response``, ``calculate_score``, ``finalize_interaction``, all async). verl starts the rollout with
  the exported prompt of one turn; after each policy turn the interaction scores that answer against the turn's
  spec and answers with the next turn's user message, which carries the next question and, at the planned turns,
  the next instruction (the generator rendered it there). The conversation ends after the last planned turn.
  Its plan arrives as ``extra_info.interaction_kwargs`` (``name``, ``turns``: ``[{"turn", "prompt",
  "reward_spec"}]``), which the verl export writes. verl itself is not imported: it loads the class by its dotted
  name (``generator.rewards.verl.MMMTIFInteraction``) and only calls these methods.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from generator.rewards.core import check_reward_options, score_response

#: ``data_source`` of exported rows; verl routes rewards by it.
DATA_SOURCE = "mmmt-if"
#: The interaction name the export writes into ``interaction_kwargs``.
INTERACTION_NAME = "mmmtif"


def _rollout_reward(extra_info: Any) -> float | None:
    """The reward of a multi-turn rollout from the interaction's turn scores, or None for a single-turn one.

    verl 0.7.1 decodes the *whole* rollout (every assistant answer and every injected user message) into
    ``solution_str``, so it cannot be scored against the first turn's spec. Its agent loop keeps the interaction's
    per-turn scores in ``extra_fields["turn_scores"]`` and its reward-loop managers merge those fields into
    ``extra_info`` (``extra_info.update(tool_extra_fields.items())``); ``extra_info["num_turns"]`` is the rollout's
    message count (2 for a single prompt and answer). The reward is the sum of the turn scores over the planned
    turns (``interaction_kwargs.turns``), so a rollout cut short (response length, ``max_user_turns``) loses the
    turns it never answered.
    """
    if not isinstance(extra_info, Mapping):
        return None
    turn_scores = extra_info.get("turn_scores")
    num_turns = extra_info.get("num_turns")
    if turn_scores is None or len(turn_scores) == 0:
        if num_turns is not None and int(num_turns) > 2:
            raise ValueError(
                f"a multi-turn verl rollout ({int(num_turns)} messages) reached compute_score without the "
                "interaction's turn_scores in extra_info: its decoded text spans every turn and cannot be scored "
                "against one turn's spec; compute rewards in verl's reward loop inside the agent loop (no reward "
                "model, or reward_model.enable_resource_pool), which hands the agent loop's extra fields over")
        return None
    planned = (extra_info.get("interaction_kwargs") or {}).get("turns")
    count = max(len(turn_scores), len(planned) if planned is not None else 0)
    return sum(float(value) for value in turn_scores) / count


def verl_compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: Any = None, *,
                       mode: str = "fraction", answer_weight: float = 0.0, check: str = "strict",
                       **_: Any) -> float:
    """The reward of one decoded response (``solution_str``) against its reward spec (``ground_truth``).

    For a multi-turn rollout (``MMMTIFInteraction``), whose decoded text spans every turn, the reward is the mean
    of the interaction's turn scores that verl passes in ``extra_info["turn_scores"]`` (see
    :func:`_rollout_reward`); ``mode``, ``answer_weight`` and ``check`` then come from the interaction's config.
    """
    check_reward_options(mode, answer_weight, check)
    rollout = _rollout_reward(extra_info)
    if rollout is not None:
        return rollout
    value = score_response(solution_str, ground_truth, mode, answer_weight=answer_weight, check=check)
    return 0.0 if value is None else float(value)


#: verl's default name for the function inside ``custom_reward_function.path``.
compute_score = verl_compute_score


def _last_assistant(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "assistant":
            content = message.get("content")
            if isinstance(content, list):
                return "\n".join(str(part.get("text", "")) for part in content
                                 if isinstance(part, Mapping) and part.get("type") == "text")
            return content or ""
    return ""


class MMMTIFInteraction:
    """A simulated user that walks a generated conversation: next question, planned instructions, turn rewards.

    ``config`` (from verl's interaction YAML) may set ``mode`` (``fraction``/``all``), ``answer_weight`` and
    ``check`` (``strict``/``loose``). Each rollout (``instance_id``) keeps its own position and scores.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self.name: str = self.config.get("name", INTERACTION_NAME)
        self.mode = self.config.get("mode", "fraction")
        self.answer_weight = float(self.config.get("answer_weight", 0.0))
        self.check = self.config.get("check", "strict")
        check_reward_options(self.mode, self.answer_weight, self.check)
        self._instances: dict[str, dict[str, Any]] = {}

    async def start_interaction(self, instance_id: str | None = None, *, turns: Sequence[Mapping[str, Any]] = (),
                                **_: Any) -> str:
        """Begin a rollout whose first planned turn is the prompt verl already sent."""
        if not turns:
            raise ValueError("interaction_kwargs must carry the planned 'turns' (export with mmmtif export)")
        instance_id = instance_id or str(uuid.uuid4())
        self._instances[instance_id] = {"turns": [dict(turn) for turn in turns], "position": 0, "scores": []}
        return instance_id

    async def generate_response(self, instance_id: str, messages: Sequence[Mapping[str, Any]],
                                **_: Any) -> tuple[bool, str, float, dict[str, Any]]:
        """Score the policy's answer to the current turn, then give the next user message (or end)."""
        state = self._instances[instance_id]
        turns, position = state["turns"], state["position"]
        current = turns[position]
        value = score_response(_last_assistant(messages), current["reward_spec"], self.mode,
                               answer_weight=self.answer_weight, check=self.check)
        score = 0.0 if value is None else float(value)
        state["scores"].append(score)
        state["position"] = position + 1
        done = state["position"] >= len(turns)
        following = "" if done else turns[state["position"]]["prompt"]
        return done, following, score, {"turn": current.get("turn"), "applicable": value is not None}

    async def calculate_score(self, instance_id: str | None = None, **_: Any) -> float:
        """The mean turn reward of the rollout so far (0 before the first answer)."""
        scores = self._instances.get(instance_id or "", {}).get("scores") or []
        return sum(scores) / len(scores) if scores else 0.0

    async def finalize_interaction(self, instance_id: str | None = None, **_: Any) -> None:
        """Forget the rollout's state."""
        if instance_id is not None:
            self._instances.pop(instance_id, None)


__all__ = ["DATA_SOURCE", "INTERACTION_NAME", "MMMTIFInteraction", "compute_score", "verl_compute_score"]
