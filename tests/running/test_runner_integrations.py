"""The harness adapters build prompts with the runner's code and score with the product's scorer.

inspect-ai and lmms-eval are optional extras and are not installed in the test environment: the inspect task is
driven through minimal stand-ins for the few inspect-ai names it uses, the lmms-eval functions are called directly.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from pngs import png_bytes

from generator.running.integrations import harness
from generator.running.integrations.lmms_eval import TASK_DIR
from generator.running.runner import build_messages, image_data_uri


def _rows() -> list[dict[str, Any]]:
    rows = []
    for c in range(2):
        turns = [{"turn": t, "prompt": f"c{c} question {t}", "reference_answer": str(t), "answer_type": "number",
                  "active_instructions": []} for t in (1, 2, 4)]  # turn numbers need not be contiguous
        rows.append({"id": f"c{c}", "system_prompt": "Be exact." if c else "",
                     "images": [{"bytes": png_bytes((10 * c + i, 0, 0), 5), "path": None} for i in range(2)], "turns": turns})
    return rows


def _witness(row: dict[str, Any]) -> list[str]:
    return [f"reference {row['id']} {turn['turn']}" for turn in row["turns"]]


# --------------------------------------------------------------------------------------------- per-turn docs

def test_per_turn_docs_carry_fixed_history_and_match_runner_messages():
    rows = _rows()
    docs = harness.per_turn_docs(rows, reference_fn=_witness)
    assert set(docs) == set(harness.TURN_DOC_COLUMNS)
    assert docs["turn"] == [1, 2, 4, 1, 2, 4] and docs["turn_index"] == [0, 1, 2] * 2
    assert docs["history"][2] == ["reference c0 1", "reference c0 2"]
    for i in range(6):
        doc = {name: docs[name][i] for name in docs}
        row = rows[i // 3]
        expected = build_messages(row, doc["turn_index"], _witness(row)[: doc["turn_index"]])
        assert harness.doc_messages(doc) == expected  # exactly what `mmmtif run --history reference` sends
        assert json.loads(doc["turn_json"])["turn"] == doc["turn"]


def test_to_part_messages_places_image_objects_in_order():
    row = _rows()[1]
    messages = build_messages(row, 1, ["earlier"])
    images = ["IMG-A", "IMG-B"]
    parts = harness.to_part_messages(messages, images)
    assert [m["role"] for m in parts] == ["system", "user", "assistant", "user"]
    assert parts[1]["content"] == [{"type": "image", "url": "IMG-A"}, {"type": "image", "url": "IMG-B"},
                                   {"type": "text", "text": "c1 question 1"}]
    assert parts[2]["content"] == [{"type": "text", "text": "earlier"}]
    with pytest.raises(ValueError):
        harness.to_part_messages(messages, ["only one"])
    with pytest.raises(ValueError):
        harness.to_part_messages(messages, [*images, "extra"])


def test_transcript_ends_with_the_current_prompt():
    text = harness.transcript(build_messages(_rows()[1], 1, ["earlier"]))
    assert text == "System: Be exact.\n\nUser: c1 question 1\n\nAssistant: earlier\n\nc1 question 2"


# ---------------------------------------------------------------------------------------------------- lmms-eval

class _FunctionTagLoader(yaml.SafeLoader):
    pass


_FunctionTagLoader.add_constructor("!function", lambda loader, node: ("function", loader.construct_scalar(node)))


def test_lmms_task_yaml_names_existing_functions():
    from generator.running.integrations.lmms_eval import utils

    config = yaml.load((TASK_DIR / "mmmt_if.yaml").read_text(), Loader=_FunctionTagLoader)
    assert config["task"] == "mmmt_if" and config["output_type"] == "generate_until"
    named = [v[1] for v in config.values() if isinstance(v, tuple)]
    named += [m["aggregation"][1] for m in config["metric_list"]]
    assert named and all(name.startswith("utils.") and callable(getattr(utils, name[6:])) for name in named)
    metrics = {m["metric"] for m in config["metric_list"]}
    assert metrics == {"mmmt_if_pif", "mmmt_if_perfect", "mmmt_if_answer_accuracy", "mmmt_if_failed_requests",
                       "mmmt_if_responses"}


def test_lmms_process_docs_and_messages(monkeypatch):
    from datasets import Dataset
    from PIL import Image

    from generator.running.integrations.lmms_eval import utils

    monkeypatch.setattr(harness, "reference_history", _witness)
    rows = _rows()
    for row in rows:
        row["images"] = [Image.open(io.BytesIO(img["bytes"])) for img in row["images"]]
    flat = utils.process_docs(Dataset.from_list(rows))
    assert len(flat) == 6 and set(flat.column_names) == set(harness.TURN_DOC_COLUMNS)
    doc = flat[5]
    messages = utils.doc_to_messages(doc)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert [p["type"] for p in messages[1]["content"]] == ["image", "image", "text"]
    assert messages[1]["content"][0]["url"].getpixel((0, 0)) == (10, 0, 0)
    assert messages[4]["content"] == [{"type": "text", "text": "reference c1 2"}]
    assert utils.doc_to_text(doc).endswith("Assistant: reference c1 2\n\nc1 question 4")
    assert utils.doc_to_target(doc) == "4"
    assert utils.mean_defined([1.0, None, 0.0]) == 0.5 and utils.mean_defined([None]) is None


def test_lmms_process_results_uses_the_product_scorer(monkeypatch):
    from generator.running.integrations.lmms_eval import utils

    calls = []

    def fake_score_rows(rows, responses, mode="strict"):
        calls.append((rows, responses, mode))
        return {"pif": 0.5, "answers": {"checked": 1, "accuracy": 1.0}}

    monkeypatch.setitem(sys.modules, "generator.scoring", types.SimpleNamespace(score_rows=fake_score_rows))
    doc = {name: value[4] for name, value in harness.per_turn_docs(_rows(), reference_fn=_witness).items()}
    result = utils.process_results(doc, ["the model's answer"])
    record = result.pop("mmmt_if_responses")
    assert result == {"mmmt_if_pif": 0.5, "mmmt_if_perfect": 0.0, "mmmt_if_answer_accuracy": 1.0,
                      "mmmt_if_failed_requests": 0.0}
    assert record["response"] == "the model's answer" and record["conversation_sha256"] == doc["conversation_sha256"]
    (rows, responses, mode), = calls
    assert mode == "strict"
    assert rows[0]["id"] == "c1" and [t["turn"] for t in rows[0]["turns"]] == [2]
    assert responses == [{"id": "c1", "turn": 2, "sample": 0, "response": "the model's answer"}]

    failed = utils.process_results(doc, ["[LMMS_EVAL_REQUEST_FAILED after 2 retries] Error code: 400"])
    assert failed["mmmt_if_pif"] == 0.0 and failed["mmmt_if_answer_accuracy"] == 0.0
    assert failed["mmmt_if_failed_requests"] == 1.0
    assert failed["mmmt_if_responses"]["response"] == "" and "REQUEST_FAILED" in failed["mmmt_if_responses"]["error"]


# -------------------------------------------------------------------------------------------------- inspect-ai

@dataclass
class _Msg:
    content: Any
    role: str = ""


@dataclass
class _State:
    sample_id: str
    messages: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    output: Any = None
    model: str = "openai-api/local/m"


def _stub_inspect(monkeypatch) -> list:
    """Install stand-ins for inspect-ai; returns the list the decorators record their factories' arguments in."""
    recorded: list = []

    def recording(fn=None, **_):
        def wrap(factory):
            def make(*args, **kwargs):
                recorded.append((factory.__name__, args, kwargs))
                return factory(*args, **kwargs)
            return make
        return wrap(fn) if fn is not None else wrap

    def message_class(role):
        return type(f"ChatMessage{role.title()}", (_Msg,), {"__init__": lambda self, content: _Msg.__init__(
            self, content, role)})

    identity = lambda fn=None, **_: fn if fn is not None else (lambda f: f)  # noqa: E731
    modules = {
        "inspect_ai": {"Task": lambda **kw: types.SimpleNamespace(**kw), "task": identity},
        "inspect_ai.dataset": {"Sample": lambda **kw: types.SimpleNamespace(**kw),
                               "MemoryDataset": lambda samples, name: types.SimpleNamespace(samples=samples)},
        "inspect_ai.model": {"ChatMessageSystem": message_class("system"), "ChatMessageUser": message_class("user"),
                             "ChatMessageAssistant": message_class("assistant"),
                             "ContentImage": lambda image: ("image", image), "ContentText": lambda text: ("text", text),
                             # an openai-api (chat completions) model: the form the task accepts
                             "get_model": lambda: types.SimpleNamespace(api=types.SimpleNamespace(base_url=None))},
        "inspect_ai.scorer": {"Score": lambda **kw: types.SimpleNamespace(**kw), "Target": object,
                              "mean": lambda: "mean", "stderr": lambda: "stderr", "scorer": recording},
        "inspect_ai.solver": {"Generate": object, "TaskState": object, "solver": recording},
    }
    for name, attrs in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "generator.running.integrations.inspect_task", raising=False)
    return recorded


@pytest.mark.parametrize("history", ["model", "reference"])
def test_inspect_solver_sends_runner_messages_turn_by_turn(monkeypatch, history):
    recorded = _stub_inspect(monkeypatch)
    module = importlib.import_module("generator.running.integrations.inspect_task")
    monkeypatch.setattr(module, "fixed_history", lambda row, reference_fn=None: _witness(row))
    rows = _rows()
    monkeypatch.setattr(module, "_load_rows", lambda dataset, config, split: rows)
    task_obj = module.mmmt_if(dataset="unused", history=history)
    assert [s.id for s in task_obj.dataset.samples] == ["c0", "c1"]
    # inspect logs these arguments: they must be small and JSON-serialisable (no rows, no image bytes)
    assert [name for name, _, _ in recorded] == ["multi_turn", "pif_scorer"]
    assert len(json.dumps([args for _, args, _ in recorded])) < 200

    sent: list[list[_Msg]] = []

    async def generate(state):
        sent.append(list(state.messages))
        state.output = types.SimpleNamespace(completion=f"answer {len(sent)}")
        return state

    state = asyncio.run(task_obj.solver(_State(sample_id="c1"), generate))
    row = rows[1]
    uris = [image_data_uri(img) for img in row["images"]]
    answers = ["answer 1", "answer 2", "answer 3"]
    earlier = answers if history == "model" else _witness(row)
    for index, messages in enumerate(sent):
        expected = build_messages(row, index, earlier[:index], uris)
        assert [m.role for m in messages] == [m["role"] for m in expected]
        first_user = messages[1].content
        assert first_user == [("image", uris[0]), ("image", uris[1]), ("text", "c1 question 1")]
        assert [m.content for m in messages[2:]] == [m["content"] for m in expected[2:]]
    assert [r["turn"] for r in state.metadata["responses"]] == [1, 2, 4]

    def fake_score_turns(row, responses, mode):
        assert [turn for turn, _ in responses] == [1, 2, 4] and "images" not in row
        return {"pif": None, "perfect_rate": None, "release_convention": {"pif": 1.0}, "answers": {"accuracy": 0.5}}

    monkeypatch.setattr(module, "score_turns", fake_score_turns)
    score = asyncio.run(task_obj.scorer(state, None))
    assert score.value == {"pif": 1.0, "perfect_rate": 1.0} and score.answer == "answer 3"
    assert score.metadata["answer_accuracy"] == 0.5
