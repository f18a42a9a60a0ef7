"""Our verl adapters through verl's own code: its reward loaders and managers, and its interaction registry.

verl (0.7.1, the last release with ``verl.interactions``) runs in its own light CPU environment (``.ci/rl-cpu.txt``:
verl installed without its GPU/logging dependencies, numpy<2 as it pins, torch CPU); ``.ci/run`` creates it and runs
this module there (``-m rl``). Everything is built in the test: a generated dataset exported with ``mmmtif export
--format verl``, responses (reference answers, damaged ones, unrelated text), a byte-level BPE tokenizer.

- ``custom_reward_function`` as documented (``path`` = our ``generator/rewards/verl.py``, ``name: compute_score``,
  ``reward_kwargs``) is loaded by verl's ``load_reward_manager``; its ``naive`` reward-loop manager decodes each
  tokenized response and scores it (``run_single``), and verl's batch ``NaiveRewardManager`` places the rewards on
  the last response token. Both must equal ``mmmtif score --details`` on the same responses.
- The interaction YAML of docs/training.md is loaded by verl's ``initialize_interactions_from_config`` and driven
  as verl's tool agent loop calls it; the same class combined with verl's ``BaseInteraction`` behaves the same.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tiny_tokenizer import byte_level_tokenizer
from training_data import generate_and_export

from generator.cli import cli
from generator.rewards import verl as our_verl

pytestmark = pytest.mark.rl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Exported verl rows, several responses per row, and the scorer's verdicts on each."""
    # Imported here, not at collection: the other CI steps collect this module without verl.
    pytest.importorskip("verl")
    import pyarrow.parquet as pq

    from generator.authoring.oracle import oracle_responses
    from generator.scoring.loader import load_rows

    work = tmp_path_factory.mktemp("verl")
    generate_and_export(work, "verl", ["--variant", "hard", "--turns", "3", "--conversations", "3", "--seed", "6"])
    runner = CliRunner()
    rows = [row for path in sorted((work / "verl" / "hard").glob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]
    witnesses = {(r["id"], r["turn"]): r["response"] for r in oracle_responses(load_rows(work / "data", "hard"))}
    samples = []
    for row in rows:
        text = witnesses[(row["extra_info"]["id"], row["extra_info"]["turn"])]
        for sample, variant in enumerate((text, text.lower(), text.replace(".", "!"), "no idea")):
            samples.append({"row": row, "response": variant, "sample": sample})
    records = [{"id": s["row"]["extra_info"]["id"], "turn": s["row"]["extra_info"]["turn"], "sample": s["sample"],
                "response": s["response"]} for s in samples]
    (work / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = runner.invoke(cli, ["score", "--quiet", "--dataset", str(work / "data"), "--config", "hard",
                                 "--responses", str(work / "responses.jsonl"), "--out", str(work / "report.json"),
                                 "--details", str(work / "details.jsonl")])
    assert result.exit_code == 0, result.output
    lines = (work / "details.jsonl").read_text().splitlines()
    verdicts = {(d["id"], d["turn"], d["sample"]): d for d in map(json.loads, lines)}
    for sample in samples:
        sample["verdict"] = verdicts[(sample["row"]["extra_info"]["id"], sample["row"]["extra_info"]["turn"],
                                      sample["sample"])]
    corpus = [m["content"] for row in rows for m in row["prompt"]] + [s["response"] for s in samples]
    return {"work": work, "rows": rows, "samples": samples,
            "tokenizer": byte_level_tokenizer(corpus, vocab_size=800)}


def _expected(detail: dict[str, Any], mode: str) -> float:
    """The scorer's verdict as verl sees it (a turn with nothing to check scores 0)."""
    if detail["pif"] is None:
        return 0.0
    return detail["pif"] if mode == "fraction" else float(detail["followed"] == detail["active"])


def _batch(bench: dict[str, Any]) -> Any:
    """A verl ``DataProto`` as the rollout hands it to the reward: left-padded prompts, right-padded responses."""
    import numpy as np
    import torch
    from verl import DataProto

    tokenizer = bench["tokenizer"]
    samples = bench["samples"]
    prompts = [tokenizer.apply_chat_template(s["row"]["prompt"], add_generation_prompt=True, tokenize=False)
               for s in samples]
    prompt_ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in prompts]
    response_ids = [tokenizer(s["response"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                    for s in samples]
    width_p, width_r = max(map(len, prompt_ids)), max(map(len, response_ids))
    pad = tokenizer.pad_token_id
    prompt_tensor = torch.tensor([[pad] * (width_p - len(ids)) + ids for ids in prompt_ids])
    response_tensor = torch.tensor([ids + [pad] * (width_r - len(ids)) for ids in response_ids])
    mask = torch.tensor([[0] * (width_p - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (width_r - len(r))
                         for p, r in zip(prompt_ids, response_ids, strict=True)])
    non_tensors = {
        "data_source": np.array([s["row"]["data_source"] for s in samples], dtype=object),
        "reward_model": np.array([s["row"]["reward_model"] for s in samples], dtype=object),
        "extra_info": np.array([dict(s["row"]["extra_info"]) for s in samples], dtype=object),
    }
    return DataProto.from_dict(tensors={"prompts": prompt_tensor, "responses": response_tensor,
                                        "input_ids": torch.cat([prompt_tensor, response_tensor], dim=1),
                                        "attention_mask": mask}, non_tensors=non_tensors), response_ids


def _config(mode: str) -> Any:
    """The documented ``custom_reward_function`` block, with verl's registered reward-loop manager."""
    from omegaconf import OmegaConf

    return OmegaConf.create({"reward": {
        "custom_reward_function": {"path": our_verl.__file__, "name": "compute_score", "reward_kwargs": {"mode": mode}},
        "reward_manager": {"source": "register", "name": "naive"}}})


@pytest.mark.parametrize("mode", ["fraction", "all"])
def test_reward_loop_manager_loads_our_compute_score(bench: dict[str, Any], mode: str) -> None:
    from verl.trainer.ppo.reward import load_reward_manager

    batch, _ = _batch(bench)

    async def score_all() -> list[dict[str, Any]]:
        # verl's reward-loop worker builds its manager on the event loop it runs it on.
        manager = load_reward_manager(_config(mode), bench["tokenizer"])
        assert type(manager).__name__ == "NaiveRewardManager"
        return [await manager.run_single(batch[index:index + 1]) for index in range(len(batch))]

    results = asyncio.run(score_all())
    seen = set()
    for sample, result in zip(bench["samples"], results, strict=True):
        expected = _expected(sample["verdict"], mode)
        assert result["reward_score"] == pytest.approx(expected, abs=1e-12)
        seen.add(expected)
    assert len(seen) > 1, "every response got the same reward: the comparison would prove little"


def test_batch_reward_manager_puts_our_reward_on_the_last_token(bench: dict[str, Any]) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager import NaiveRewardManager

    batch, response_ids = _batch(bench)
    compute_score = get_custom_reward_fn(_config("fraction"))
    rewards = NaiveRewardManager(bench["tokenizer"], num_examine=0, compute_score=compute_score)(batch)
    for index, (sample, ids) in enumerate(zip(bench["samples"], response_ids, strict=True)):
        expected = _expected(sample["verdict"], "fraction")
        assert rewards[index, len(ids) - 1].item() == pytest.approx(expected, abs=1e-6)
        assert rewards[index].sum().item() == pytest.approx(expected, abs=1e-6)
        # The tokenizer round-trips, so verl scored exactly the response the scorer saw.
        assert bench["tokenizer"].decode(ids, skip_special_tokens=True) == sample["response"]


def _interaction_yaml(path: Path) -> Path:
    """The interaction file exactly as docs/training.md gives it."""
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    start = text.index("```yaml\ninteraction:")
    path.write_text(text[start + len("```yaml\n"): text.index("```", start + 7)], encoding="utf-8")
    return path


def _walk(interaction: Any, row: dict[str, Any], answers: list[str]) -> tuple[list[tuple], float]:
    """One rollout as verl's tool agent loop drives an interaction: start with ``interaction_kwargs``, then after
    each assistant message ``generate_response(request_id, messages, **interaction_kwargs)``."""
    kwargs = row["extra_info"]["interaction_kwargs"]

    async def rollout() -> tuple[list[tuple], float]:
        await interaction.start_interaction("request-1", **kwargs)
        messages = list(row["prompt"])
        steps = []
        for answer in answers:
            messages.append({"role": "assistant", "content": answer})
            step = await interaction.generate_response("request-1", messages, **kwargs)
            steps.append(step)
            messages.append({"role": "user", "content": step[1]})
            if step[0]:
                break
        mean = await interaction.calculate_score("request-1")
        await interaction.finalize_interaction("request-1")
        return steps, mean

    return asyncio.run(rollout())


def test_interaction_registry_loads_and_drives_our_interaction(bench: dict[str, Any], tmp_path: Path) -> None:
    from verl.interactions.base import BaseInteraction
    from verl.interactions.utils.interaction_registry import initialize_interactions_from_config

    interactions = initialize_interactions_from_config(str(_interaction_yaml(tmp_path / "interaction.yaml")))
    assert set(interactions) == {"mmmtif"}
    loaded = interactions["mmmtif"]
    assert type(loaded).__name__ == "MMMTIFInteraction" and loaded.name == "mmmtif"

    class VerlMMMTIF(our_verl.MMMTIFInteraction, BaseInteraction):
        """Our interaction as a subclass of verl's base class."""

    subclassed = VerlMMMTIF({"name": "mmmtif", "mode": "fraction"})
    assert isinstance(subclassed, BaseInteraction)
    by_turn = {(s["row"]["extra_info"]["id"], s["row"]["extra_info"]["turn"], s["sample"]): s
               for s in bench["samples"]}
    first_turns = [row for row in bench["rows"] if row["extra_info"]["turn"] == 1]
    seen = set()
    for number, row in enumerate(first_turns):
        conversation = row["extra_info"]["id"]
        planned = row["extra_info"]["interaction_kwargs"]["turns"]
        # Answer each turn with a different variant, so turn scores differ within a rollout.
        chosen = [by_turn[(conversation, turn["turn"], (number + index) % 4)] for index, turn in enumerate(planned)]
        expected = [_expected(s["verdict"], "fraction") for s in chosen]
        seen.update(expected)
        for interaction in (loaded, subclassed):
            steps, mean = _walk(interaction, row, [s["response"] for s in chosen])
            assert [step[2] for step in steps] == pytest.approx(expected, abs=1e-12)
            assert [step[0] for step in steps] == [False] * (len(planned) - 1) + [True]
            assert [step[1] for step in steps[:-1]] == [turn["prompt"] for turn in planned[1:]]
            assert mean == pytest.approx(sum(expected) / len(expected), abs=1e-12)
    assert len(seen) > 1


def _rollout_batch(bench: dict[str, Any], row: dict[str, Any], answers: list[str], users: list[str],
                   extra_fields: dict[str, Any] | None) -> Any:
    """One multi-turn rollout as verl 0.7.1's agent loop hands it to the reward loop.

    ``AgentLoopWorker._compute_score`` (verl/experimental/agent_loop/agent_loop.py) builds::

        non_tensor_batch = {
            **{k: np.array([v]) for k, v in kwargs.items()},
            "__num_turns__": np.array([output.num_turns]),
            "tool_extra_fields": np.array([output.extra_fields], dtype=object),
        }

    where ``output.extra_fields`` carries ``turn_scores`` (tool_agent_loop.py: ``output.extra_fields.update(
    {"turn_scores": agent_data.turn_scores, ...})``) and ``num_turns = user_turns + assistant_turns + 1``; the
    response tokens are every assistant answer followed by each injected user message.
    """
    import numpy as np
    import torch
    from verl import DataProto

    tokenizer = bench["tokenizer"]
    prompt = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids: list[int] = []
    for answer, user in zip(answers, users, strict=True):
        response_ids += tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        response_ids += tokenizer(user, add_special_tokens=False)["input_ids"]
    non_tensors = {"data_source": np.array([row["data_source"]], dtype=object),
                   "reward_model": np.array([row["reward_model"]], dtype=object),
                   "extra_info": np.array([dict(row["extra_info"])], dtype=object),
                   "__num_turns__": np.array([2 * len(answers) + 1])}
    if extra_fields is not None:
        non_tensors["tool_extra_fields"] = np.array([extra_fields], dtype=object)
    return DataProto.from_dict(tensors={"prompts": torch.tensor([prompt_ids]),
                                        "responses": torch.tensor([response_ids]),
                                        "input_ids": torch.tensor([prompt_ids + response_ids]),
                                        "attention_mask": torch.ones(1, len(prompt_ids) + len(response_ids),
                                                                     dtype=torch.long)},
                               non_tensors=non_tensors)


def test_multi_turn_rollout_reward_is_the_interactions_turn_scores(bench: dict[str, Any], tmp_path: Path) -> None:
    """The documented multi-turn setup: the reward-loop manager's reward is the mean of the interaction's turn
    scores, not the whole decoded transcript scored against the first turn's spec."""
    from verl.interactions.utils.interaction_registry import initialize_interactions_from_config
    from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager
    from verl.workers.reward_manager import NaiveRewardManager

    interaction = initialize_interactions_from_config(str(_interaction_yaml(tmp_path / "interaction.yaml")))["mmmtif"]
    by_turn = {(s["row"]["extra_info"]["id"], s["row"]["extra_info"]["turn"], s["sample"]): s
               for s in bench["samples"]}
    rollouts = []
    for number, row in enumerate(r for r in bench["rows"] if r["extra_info"]["turn"] == 1):
        planned = row["extra_info"]["interaction_kwargs"]["turns"]
        for variant in (0, number % 4):
            chosen = [by_turn[(row["extra_info"]["id"], turn["turn"], variant)] for turn in planned]
            answers = [s["response"] for s in chosen]
            steps, _ = _walk(interaction, row, answers)
            turn_scores = [step[2] for step in steps]
            assert turn_scores == pytest.approx([_expected(s["verdict"], "fraction") for s in chosen], abs=1e-12)
            rollouts.append((row, answers, [step[1] for step in steps], turn_scores))

    async def score_all() -> list[float]:
        manager = load_reward_manager(_config("fraction"), bench["tokenizer"])
        return [(await manager.run_single(_rollout_batch(bench, row, answers, users,
                                                         {"turn_scores": scores, "tool_rewards": []})))["reward_score"]
                for row, answers, users, scores in rollouts]

    perfect = 0
    for (_, _, _, scores), reward in zip(rollouts, asyncio.run(score_all()), strict=True):
        assert reward == pytest.approx(sum(scores) / len(scores), abs=1e-12)
        perfect += all(score == 1.0 for score in scores)
    assert perfect, "no rollout answered every turn perfectly: the check against a silent 0 would prove little"

    # verl's batch manager (reward computed outside the agent loop) does not pass the turn scores: refuse, never 0.
    row, answers, users, _ = rollouts[0]
    manager = NaiveRewardManager(bench["tokenizer"], num_examine=0, compute_score=get_custom_reward_fn(_config("fraction")))
    with pytest.raises(ValueError, match="turn_scores"):
        manager(_rollout_batch(bench, row, answers, users, None))
