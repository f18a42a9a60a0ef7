"""Training rewards from the benchmark's own checkers: one stable import path for every trainer.

``score_response(text, spec, mode="fraction")`` is the core (see :mod:`generator.rewards.core`); the adapters
wrap it in each trainer's calling convention without importing any trainer:

- ``trl_reward`` (``make_trl_reward`` for options): TRL ``GRPOTrainer`` reward function;
- ``verl_compute_score`` and ``MMMTIFInteraction``: verl ``custom_reward_function`` and multi-turn interaction;
- ``openrlhf_reward``: OpenRLHF ``reward_func(queries, prompts, labels)``;
- ``generator.rewards.verifiers_env``: a Prime Intellect ``verifiers`` multi-turn environment (imports verifiers,
  so it is loaded by its dotted name, never from here).

The adapters depend only on ``generator.scoring``, ``generator.core`` and ``generator.common``; the verifiers
environment also on ``generator.running`` for the messages (checked by the architecture test).
"""

from __future__ import annotations

from generator.rewards.core import (
    REWARD_MODES,
    SPEC_FORMAT,
    SPEC_VERSION,
    Reward,
    make_spec,
    parse_spec,
    reward_from_result,
    score,
    score_details,
    score_response,
)
from generator.rewards.openrlhf import make_openrlhf_reward, openrlhf_reward
from generator.rewards.trl import SPEC_COLUMN, make_trl_reward, trl_reward
from generator.rewards.verl import MMMTIFInteraction, verl_compute_score

__all__ = [
    "REWARD_MODES",
    "SPEC_COLUMN",
    "SPEC_FORMAT",
    "SPEC_VERSION",
    "MMMTIFInteraction",
    "Reward",
    "make_openrlhf_reward",
    "make_spec",
    "make_trl_reward",
    "openrlhf_reward",
    "parse_spec",
    "reward_from_result",
    "score",
    "score_details",
    "score_response",
    "trl_reward",
    "verl_compute_score",
]
