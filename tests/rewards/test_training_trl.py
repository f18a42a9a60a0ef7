"""The real TRL ``GRPOTrainer`` trains two steps on CPU with our reward, and logs our scorer's verdicts.

Everything is built inside the test: a generated dataset exported with ``mmmtif export --format trl --no-images``,
a byte-level BPE tokenizer trained on the exported prompts, and a tiny randomly initialised Llama. Nothing is
downloaded. After training, every completion TRL sampled is scored again by the benchmark's scoring pipeline
(``generator.scoring.evaluate_rows``, what ``mmmtif score`` runs), and the rewards TRL logged must equal those
verdicts completion by completion, and step by step in its logged means.

Needs the ``train`` extra (``pip install -e ".[train]"``); ``.ci/run`` runs it as its own step (``-m train``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tiny_tokenizer import byte_level_tokenizer
from training_data import generate_and_export

trl = pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from generator.cli import cli  # noqa: E402
from generator.rewards import make_trl_reward, openrlhf_reward  # noqa: E402
from generator.scoring import evaluate_rows  # noqa: E402

pytestmark = pytest.mark.train

def _model(tokenizer: Any) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=None)
    return LlamaForCausalLM(config)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    # The extended catalogue with several instructions a turn: short random text passes some (length limits,
    # "do not use commas"...) and fails others, so rewards take several values.
    return generate_and_export(tmp_path_factory.mktemp("trl"), "trl", ["--variant", "hard", "--turns", "2",
                                                                       "--splits", "train=6", "--seed", "3"])


def _source_rows(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for path in sorted(folder.glob("hard/*.parquet")):
        rows.extend(pq.read_table(path, columns=["id", "turns"]).to_pylist())
    return rows


def test_grpo_trainer_logs_our_verdicts(exported: tuple[Path, Path], tmp_path: Path) -> None:
    from datasets import load_dataset
    from transformers import TrainerCallback

    data, trl_dir = exported
    train = load_dataset(str(trl_dir), "hard", split="train")
    assert set(train.column_names) == {"id", "turn", "prompt", "reward_spec", "num_instructions"}
    tokenizer = byte_level_tokenizer([m["content"] for prompt in train["prompt"] for m in prompt])
    reward = make_trl_reward()
    args = trl.GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=8,
                          num_generations=4, max_completion_length=24, logging_steps=1, report_to=[],
                          use_cpu=True, save_strategy="no", learning_rate=1e-3, seed=0, temperature=1.0,
                          dataloader_num_workers=0, disable_tqdm=True)
    trainer = trl.GRPOTrainer(model=_model(tokenizer), processing_class=tokenizer, reward_funcs=[reward], args=args,
                              train_dataset=train)
    sampled: list[list[tuple[Any, Any, float]]] = []

    class Snapshot(TrainerCallback):
        """TRL fills its completion log while generating; copy it at every logging step."""

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if logs and "loss" in logs:
                store = trainer._logs
                sampled.append(list(zip(store["prompt"], store["completion"], store["rewards"][reward.__name__],
                                        strict=True)))

    trainer.add_callback(Snapshot())
    trainer.train()

    steps = [entry for entry in trainer.state.log_history if f"rewards/{reward.__name__}/mean" in entry]
    assert len(steps) == 2 and len(sampled) == 2
    # Each prompt of the training set is known with its conversation id and turn, so a completion can be scored
    # by the benchmark's pipeline exactly as a model's response would be.
    keys = {json.dumps(p, sort_keys=True): (i, t) for p, i, t in zip(train["prompt"], train["id"], train["turn"],
                                                                       strict=True)}
    rows = _source_rows(data)
    seen: set[float] = set()
    for step, batch in zip(steps, sampled, strict=True):
        assert len(batch) == 8
        responses = []
        for sample, (prompt, completion, _) in enumerate(batch):
            conversation, turn = keys[json.dumps(prompt, sort_keys=True)]
            responses.append({"id": conversation, "turn": turn, "sample": sample,
                              "response": completion[0]["content"]})
        verdicts = {d["sample"]: d["pif"] for d in evaluate_rows(rows, responses).details()}
        ours = []
        for sample, (_, _, logged) in enumerate(batch):
            expected = verdicts[sample]
            if expected is None:
                assert math.isnan(logged)
            else:
                assert logged == pytest.approx(expected, abs=1e-6)
                ours.append(expected)
                seen.add(expected)
        assert step[f"rewards/{reward.__name__}/mean"] == pytest.approx(sum(ours) / len(ours), abs=1e-6)
        assert "compliance/all" in step
    assert len(seen) > 1, "every completion got the same reward: the comparison would prove little"


def test_vision_language_rows_take_trl_image_placeholders(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """TRL's own multimodal preparation puts every image of a row before the first user message's text."""
    from datasets import load_dataset
    from trl.data_utils import prepare_multimodal_messages

    data, _ = exported
    result = CliRunner().invoke(cli, ["export", "--quiet", "--format", "trl", "--dataset", str(data), "--out",
                                      str(tmp_path / "vl")])
    assert result.exit_code == 0, result.output
    rows = load_dataset(str(tmp_path / "vl"), "hard", split="train")
    row = rows[1]
    assert row["turn"] == 2 and len(row["images"]) >= 2
    messages = prepare_multimodal_messages(row["prompt"], images=row["images"])
    first = messages[0]["content"]
    assert [part["type"] for part in first] == ["image"] * len(row["images"]) + ["text"]
    assert [part["image"] for part in first[:-1]] == row["images"]
    assert all(part["type"] == "text" for message in messages[1:] for part in message["content"])


def test_openrlhf_reward_returns_tensors() -> None:
    spec = json.dumps({"active_instructions": [{"id": "start:letter", "kwargs": {"letter": "S"}},
                                               {"id": "end:punctuation", "kwargs": {"mark": "?"}}]})
    empty = json.dumps({"active_instructions": []})
    out = openrlhf_reward(["<u>q</u>So?", "<u>q</u>So.", "<u>q</u>x"], ["<u>q</u>"] * 3, [spec, spec, empty])
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert torch.equal(out["rewards"], torch.tensor([1.0, 0.5, 0.0]))
    assert out["extra_logs"]["pif"].item() == pytest.approx(0.75)
