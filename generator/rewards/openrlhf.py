"""OpenRLHF adapter: ``reward_func(queries, prompts, labels)`` for ``--remote_rm_url <file.py>``.

OpenRLHF decodes each sample to ``query`` (prompt + response), passes the prompt and the ``--label_key`` column
(``reward_spec`` from ``mmmtif export``) and expects ``{"rewards", "scores", "extra_logs"}`` with tensors. The
response is the query with its prompt removed. Rows whose turn has nothing to check get 0 (OpenRLHF has no "not
applicable"). torch is imported on call: OpenRLHF always has it, this module does not need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.rewards.core import check_reward_options, reward_from_result, score_details


def response_of(query: str, prompt: str) -> str:
    """The generated part of a decoded query (the whole query when it does not start with the prompt)."""
    return query[len(prompt):] if prompt and query.startswith(prompt) else query


def openrlhf_reward(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[str], *,
                    mode: str = "fraction", answer_weight: float = 0.0, check: str = "strict") -> dict[str, Any]:
    """Rewards for a batch, as OpenRLHF's custom reward functions return them."""
    import torch

    check_reward_options(mode, answer_weight, check)
    if not len(queries) == len(prompts) == len(labels):
        raise ValueError(f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels")
    values: list[float] = []
    pif: list[float] = []
    for query, prompt, label in zip(queries, prompts, labels, strict=True):
        if not label:
            values.append(0.0)
            continue
        result = score_details(response_of(query, prompt), label, check=check)
        value = reward_from_result(result, mode, answer_weight)
        values.append(0.0 if value is None else value)
        if result.pif is not None:
            pif.append(result.pif)
    rewards = torch.tensor(values, dtype=torch.float32)
    extra = {"pif": torch.tensor(sum(pif) / len(pif) if pif else float("nan"))}
    return {"rewards": rewards, "scores": rewards.clone(), "extra_logs": extra}


#: The name OpenRLHF looks up in a ``--remote_rm_url`` Python file.
reward_func = openrlhf_reward

__all__ = ["openrlhf_reward", "response_of", "reward_func"]
