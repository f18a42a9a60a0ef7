"""The real TRL ``GRPOTrainer`` trains two steps on CPU with our reward, and logs our scorer's verdicts.

Everything is built inside the test; nothing is downloaded:

- text: a generated dataset exported with ``mmmtif export --format trl --no-images``, a byte-level BPE tokenizer
  trained on the exported prompts, and a tiny randomly initialised Llama;
- vision-language: the same kind of dataset exported with its images, a tiny randomly initialised LLaVA (a CLIP
  vision tower and a Llama language model, built from their configs) and a ``LlavaProcessor`` assembled from the
  default LLaVA image processor and such a tokenizer with an ``<image>`` token and a chat template that renders
  TRL's image parts. TRL turns the ``images`` column into image parts of the first user message; the test checks
  that the vision tower encoded exactly the sampled rows' images.

After training, every completion TRL sampled is scored again by the benchmark's scoring pipeline
(``generator.scoring.evaluate_rows``, what ``mmmtif score`` runs) and by ``score_response`` with its row's reward
spec, and the rewards TRL logged must equal those verdicts completion by completion, and step by step in its
logged means.

Tested with trl 1.16.0, transformers 5.25.0 and torch 2.13.0 (CPU). Needs the ``train`` extra
(``pip install -e ".[train]"``); ``.ci/run`` runs it as its own step (``-m train``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from tiny_tokenizer import CHAT_TEMPLATE, IMAGE_TOKEN, byte_level_tokenizer
from training_data import generate_and_export

trl = pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from generator.rewards import make_trl_reward, openrlhf_reward, score_response, trl_reward  # noqa: E402
from generator.scoring import evaluate_rows  # noqa: E402

pytestmark = pytest.mark.train


def _text_config(tokenizer: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                       pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None)


def _model(tokenizer: Any) -> Any:
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(_text_config(tokenizer))


def _vision_language_model(tokenizer: Any) -> Any:
    """A tiny LLaVA: a 2-layer CLIP vision tower on 224x224 images in 14-pixel patches, projected into a Llama."""
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration

    torch.manual_seed(0)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                              image_size=224, patch_size=14, projection_dim=32)
    config = LlavaConfig(vision_config=vision, text_config=_text_config(tokenizer),
                         image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                         vision_feature_select_strategy="default", vision_feature_layer=-1)
    return LlavaForConditionalGeneration(config)


def _processor(tokenizer: Any) -> Any:
    """LLaVA's image processor with its default settings (224x224 crops) and our tokenizer and chat template."""
    from transformers import LlavaImageProcessorPil, LlavaProcessor

    # The CLIP tower adds a class token to the 256 patches, which the "default" strategy drops again.
    return LlavaProcessor(image_processor=LlavaImageProcessorPil(), tokenizer=tokenizer, patch_size=14,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          chat_template=CHAT_TEMPLATE)


def _hard(conversations: int) -> list[str]:
    # The extended catalogue with several instructions a turn: short random text passes some (length limits,
    # "do not use commas"...) and fails others, so rewards take several values.
    return ["--variant", "hard", "--turns", "2", "--splits", f"train={conversations}", "--seed", "3"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_and_export(tmp_path_factory.mktemp("trl"), "trl", _hard(6))


@pytest.fixture(scope="module")
def exported_with_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_and_export(tmp_path_factory.mktemp("trl-vl"), "trl", _hard(2), images=True)


def _source_rows(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for path in sorted(folder.glob("hard/*.parquet")):
        rows.extend(pq.read_table(path, columns=["id", "turns"]).to_pylist())
    return rows


Sampled = list[list[tuple[Any, Any, float]]]


def _train_grpo(model: Any, processing_class: Any, train: Any, out: Path, reward: Callable[..., Any], *,
                batch: int, generations: int, completion_length: int) -> tuple[list[dict], Sampled]:
    """Two GRPO steps on CPU; the logged steps, and per step (prompt, completion, logged reward) as TRL kept them."""
    from transformers import TrainerCallback

    args = trl.GRPOConfig(output_dir=str(out), max_steps=2, per_device_train_batch_size=batch,
                          num_generations=generations, max_completion_length=completion_length, logging_steps=1,
                          report_to=[], use_cpu=True, save_strategy="no", learning_rate=1e-3, seed=0,
                          temperature=1.0, dataloader_num_workers=0, disable_tqdm=True)
    trainer = trl.GRPOTrainer(model=model, processing_class=processing_class, reward_funcs=[reward], args=args,
                              train_dataset=train)
    sampled: Sampled = []

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
    for batch_log in sampled:
        assert len(batch_log) == batch
    return steps, sampled


def _texts(prompt: Sequence[dict]) -> str:
    """A prompt's roles and texts, whether its contents are strings or TRL's typed parts (images left out)."""
    def text(content: Any) -> str:
        if isinstance(content, str):
            return content
        return "".join(part["text"] for part in content if part["type"] == "text")

    return json.dumps([(message["role"], text(message["content"])) for message in prompt])


def _image_parts(prompt: Sequence[dict]) -> list[list[Any]]:
    return [[part.get("image") for part in message["content"] if part["type"] == "image"]
            if isinstance(message["content"], list) else [] for message in prompt]


def _check_logged_verdicts(steps: list[dict], sampled: Sampled, train: Any, data: Path, reward_name: str
                           ) -> list[list[int]]:
    """Each logged reward is the benchmark's verdict on its completion; returns each step's training-row indices.

    Each prompt of the training set is known with its conversation id and turn, so a completion can be scored by
    the benchmark's pipeline exactly as a model's response would be, and by ``score_response`` with its row's spec.
    """
    index = {_texts(prompt): position for position, prompt in enumerate(train["prompt"])}
    assert len(index) == len(train)
    rows = _source_rows(data)
    seen: set[float] = set()
    used: list[list[int]] = []
    for step, batch in zip(steps, sampled, strict=True):
        positions = [index[_texts(prompt)] for prompt, _, _ in batch]
        used.append(positions)
        responses = []
        for sample, ((prompt, completion, _), position) in enumerate(zip(batch, positions, strict=True)):
            row = train[position]
            # The row's images (none for text-only rows) are parts of the first user message, and of no other.
            first_user = next(k for k, message in enumerate(prompt) if message["role"] == "user")
            assert [len(parts) for parts in _image_parts(prompt)] == [
                len(row.get("images") or []) if k == first_user else 0 for k in range(len(prompt))]
            responses.append({"id": row["id"], "turn": row["turn"], "sample": sample,
                              "response": completion[0]["content"]})
        verdicts = {d["sample"]: d["pif"] for d in evaluate_rows(rows, responses).details()}
        ours = []
        for sample, ((_, _, logged), position) in enumerate(zip(batch, positions, strict=True)):
            expected = verdicts[sample]
            assert score_response(responses[sample]["response"], train[position]["reward_spec"]) == expected
            if expected is None:
                assert math.isnan(logged)
            else:
                assert logged == pytest.approx(expected, abs=1e-6)
                ours.append(expected)
                seen.add(expected)
        assert step[f"rewards/{reward_name}/mean"] == pytest.approx(sum(ours) / len(ours), abs=1e-6)
        assert "compliance/all" in step
    assert len(seen) > 1, "every completion got the same reward: the comparison would prove little"
    return used


def test_grpo_trainer_logs_our_verdicts(exported: tuple[Path, Path], tmp_path: Path) -> None:
    from datasets import load_dataset

    data, trl_dir = exported
    train = load_dataset(str(trl_dir), "hard", split="train")
    assert set(train.column_names) == {"id", "turn", "prompt", "reward_spec", "num_instructions"}
    tokenizer = byte_level_tokenizer([m["content"] for prompt in train["prompt"] for m in prompt])
    reward = make_trl_reward()
    steps, sampled = _train_grpo(_model(tokenizer), tokenizer, train, tmp_path / "out", reward, batch=8,
                                 generations=4, completion_length=24)
    _check_logged_verdicts(steps, sampled, train, data, reward.__name__)


def test_vision_language_grpo_sees_the_images_and_logs_our_verdicts(exported_with_images: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    from datasets import load_dataset

    data, trl_dir = exported_with_images
    train = load_dataset(str(trl_dir), "hard", split="train")
    assert set(train.column_names) == {"id", "turn", "prompt", "images", "reward_spec", "num_instructions"}
    assert len(train) == 4 and all(len(images) >= 2 for images in train["images"])
    tokenizer = byte_level_tokenizer([m["content"] for prompt in train["prompt"] for m in prompt],
                                     special=[IMAGE_TOKEN])
    processor = _processor(tokenizer)
    model = _vision_language_model(tokenizer)
    encoded: list[Any] = []

    def record(module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        pixels = kwargs.get("pixel_values")
        encoded.append((args[0] if pixels is None else pixels).detach().clone())

    hook = model.model.vision_tower.register_forward_hook(record, with_kwargs=True)
    try:
        steps, sampled = _train_grpo(model, processor, train, tmp_path / "out", trl_reward, batch=8,
                                     generations=4, completion_length=16)
    finally:
        hook.remove()
    used = _check_logged_verdicts(steps, sampled, train, data, trl_reward.__name__)
    # Two prompts a step, each sampled four times: the two steps cover both turns of both conversations.
    assert sorted(set(used[0]) | set(used[1])) == list(range(len(train)))

    # The vision tower encoded exactly the sampled rows' images, as the processor prepares them, step by step (it
    # runs for generation and again for the loss; how often is TRL's business, the order of the steps is not).
    def pixels(positions: list[int]) -> Any:
        images = [image for position in positions for image in train[position]["images"]]
        return processor.image_processor(images=images, return_tensors="pt")["pixel_values"]

    expected = [pixels(positions) for positions in used]
    assert encoded and all(tensor.shape[1:] == (3, 224, 224) for tensor in encoded)
    order = []
    for tensor in encoded:
        matches = [k for k, want in enumerate(expected) if tensor.shape == want.shape and torch.equal(tensor, want)]
        assert len(matches) == 1, "the vision tower encoded images that are not the sampled rows' images"
        order.append(matches[0])
    assert order == sorted(order) and set(order) == {0, 1}


def test_vision_language_rows_take_trl_image_placeholders(exported_with_images: tuple[Path, Path]) -> None:
    """TRL's own multimodal preparation puts every image of a row before the first user message's text."""
    from datasets import load_dataset
    from trl.data_utils import prepare_multimodal_messages

    _, trl_dir = exported_with_images
    rows = load_dataset(str(trl_dir), "hard", split="train")
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
