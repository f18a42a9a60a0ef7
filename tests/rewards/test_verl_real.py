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
