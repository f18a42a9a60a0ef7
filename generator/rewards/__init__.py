"""Training rewards from the benchmark's own checkers: one stable import path for every trainer.

``score_response(text, spec, mode="fraction")`` is the core (see :mod:`generator.rewards.core`); the adapters
wrap it in each trainer's calling convention without importing any trainer:

- ``trl_reward`` (``make_trl_reward`` for options): TRL ``GRPOTrainer`` reward function;
- ``verl_compute_score`` and ``MMMTIFInteraction``: verl ``custom_reward_function`` and multi-turn interaction;
- ``openrlhf_reward``: OpenRLHF ``reward_func(queries, prompts, labels)``.

This package depends only on ``generator.scoring`` and ``generator.common`` (checked by the architecture test).
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
from generator.rewards.openrlhf import openrlhf_reward
from generator.rewards.trl import SPEC_COLUMN, make_trl_reward, trl_reward
from generator.rewards.verl import MMMTIFInteraction, verl_compute_score

__all__ = [
    "REWARD_MODES",
    "SPEC_COLUMN",
    "SPEC_FORMAT",
    "SPEC_VERSION",
    "MMMTIFInteraction",
    "Reward",
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
