"""OpenRLHF adapter: ``reward_func(queries, prompts, labels)`` for ``--reward.remote_url <file.py>``.

OpenRLHF decodes each sample to ``query`` (prompt + response, ``skip_special_tokens=False``), passes the prompt
and the ``--data.label_key`` column (``reward_spec`` from ``mmmtif export``) and expects
``{"rewards", "scores", "extra_logs"}`` with tensors. The response is the query with its prompt removed and the
end-of-sequence token the decode keeps stripped from its end (the common chat models' end tokens, :data:`EOS_TOKENS`,
plus any given to :func:`make_openrlhf_reward`). Rows whose turn has nothing to check get 0 (OpenRLHF has no "not
applicable"). An empty label (OpenRLHF passes ``""`` without ``--data.label_key``) or a query that does not start
with its prompt raises: either would otherwise score the wrong text or nothing at all, as a silent 0. torch is
imported on call: OpenRLHF always has it, this module does not need it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from generator.rewards.core import check_reward_options, reward_from_result, score_details

#: End-of-sequence / end-of-turn tokens of common chat models, stripped from the end of a response.
EOS_TOKENS = ("</s>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|end|>", "<end_of_turn>",
              "<eos>", "<|eos|>", "<｜end▁of▁sentence｜>")


def response_of(query: str, prompt: str, eos: Sequence[str] = EOS_TOKENS) -> str:
    """The generated part of a decoded query, without the end-of-sequence tokens the decode kept at its end."""
    if not query.startswith(prompt):
        raise ValueError("the decoded query does not start with its prompt, so its response cannot be told apart "
                         f"(prompt starts {prompt[:60]!r}, query starts {query[:60]!r})")
    response = query[len(prompt):]
    stripped = True
    while stripped:
        stripped = False
        for token in eos:
            if token and response.rstrip().endswith(token):
                response = response.rstrip()[:-len(token)]
                stripped = True
    return response


def openrlhf_reward(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[str], *,
                    mode: str = "fraction", answer_weight: float = 0.0, check: str = "strict",
                    eos: Sequence[str] = EOS_TOKENS) -> dict[str, Any]:
    """Rewards for a batch, as OpenRLHF's custom reward functions return them."""
    check_reward_options(mode, answer_weight, check)
    if not len(queries) == len(prompts) == len(labels):
        raise ValueError(f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels")
    values: list[float] = []
    pif: list[float] = []
    for query, prompt, label in zip(queries, prompts, labels, strict=True):
        if not label:
            raise ValueError(f"empty label {label!r}: pass the reward spec column as the label "
                             "(--data.label_key reward_spec; --label_key before OpenRLHF 0.11)")
        result = score_details(response_of(query, prompt, eos), label, check=check)
        value = reward_from_result(result, mode, answer_weight)
        values.append(0.0 if value is None else value)
        if result.pif is not None:
            pif.append(result.pif)
    import torch

    rewards = torch.tensor(values, dtype=torch.float32)
    extra = {"pif": torch.tensor(sum(pif) / len(pif) if pif else float("nan"))}
    return {"rewards": rewards, "scores": rewards.clone(), "extra_logs": extra}


def make_openrlhf_reward(*, mode: str = "fraction", answer_weight: float = 0.0, check: str = "strict",
                         eos: str | Sequence[str] = ()) -> Callable[..., dict[str, Any]]:
    """A ``reward_func`` with these options; ``eos`` adds the tokenizer's end token(s) to :data:`EOS_TOKENS`."""
    check_reward_options(mode, answer_weight, check)
    tokens = (*EOS_TOKENS, *([eos] if isinstance(eos, str) else eos))

    def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[str],
                    **_: Any) -> dict[str, Any]:
        return openrlhf_reward(queries, prompts, labels, mode=mode, answer_weight=answer_weight, check=check,
                               eos=tokens)

    return reward_func


#: The name OpenRLHF looks up in a ``--reward.remote_url`` Python file.
reward_func = openrlhf_reward

__all__ = ["EOS_TOKENS", "make_openrlhf_reward", "openrlhf_reward", "response_of", "reward_func"]
