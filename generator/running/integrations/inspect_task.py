"""An inspect-ai task: each sample is one conversation, solved turn by turn, scored by the product's scorer.

Run it with any inspect-ai provider. For an OpenAI-compatible server (vLLM, SGLang, Ollama, LM Studio) the form
that works is ``--model openai-api/<service>/<model>`` with ``<SERVICE>_API_KEY`` set (``openai/<model>`` sends
names OpenAI does not know to the Responses API, which these servers lack, and its fallback sends the system
prompt as ``developer``)::

    LOCAL_API_KEY=none inspect eval generator/running/integrations/inspect_task.py@mmmt_if --model openai-api/local/Qwen/Qwen2.5-VL-7B-Instruct --model-base-url http://localhost:8000/v1 -T dataset=./mmmt-if -T history=model --log-dir logs
    python -m generator.running.integrations.export inspect "$(ls -t logs/*.eval | head -n 1)" --out inspect.jsonl

A relative ``dataset`` is found from the directory ``inspect eval`` was started in, although inspect changes
into the task file's folder before loading the task.

The solver sends the same messages as ``mmmtif run`` (it calls :func:`generator.running.runner.build_messages`): images
in the first user message, the model's own earlier answers (``history=model``), reference answers
(``history=reference``) or the source dataset's own answers (``history=source``, for sets generated from MMDU) as
history. The per-conversation score is the mean PIF over that conversation's turns
with instructions; the responses are kept in the score metadata, so that corpus PIF and PIF-N-K can be computed
with ``mmmtif score`` from an export.

This module imports inspect-ai at import time on purpose: inspect discovers tasks by importing the file. Nothing
else in the package imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

try:
    from inspect_ai import Task, task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import (
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageUser,
        ContentImage,
        ContentText,
    )
    from inspect_ai.scorer import Score, Target, mean, scorer, stderr
    from inspect_ai.solver import Generate, TaskState, solver
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the inspect-ai task needs the 'inspect' extra: pip install \"mmmt-if[inspect]\"") from exc

from generator.running.integrations.harness import (
    conversation_messages,
    fingerprint,
    fixed_history,
    response_record,
    score_turns,
    text_only_row,
)
from generator.running.runner import FIXED_HISTORIES, HISTORY_MODES, image_data_uri, source_history
from generator.scoring.fingerprint import conversation_fingerprint

_ROLES = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}

#: Loaded conversations by dataset key. inspect records solver and scorer arguments in its logs, so they receive
#: this short key rather than the rows (and their image bytes).
_ROWS: dict[str, dict[str, dict[str, Any]]] = {}


def to_inspect_messages(messages: list[dict[str, Any]]) -> list[Any]:
    """OpenAI-format messages (ours) -> inspect-ai chat messages, images as ``ContentImage`` data URIs."""
    converted = []
    for message in messages:
        content = message["content"]
        if not isinstance(content, str):
            content = [ContentImage(image=part["image_url"]["url"]) if part["type"] == "image_url"
                       else ContentText(text=part["text"]) for part in content]
        converted.append(_ROLES[message["role"]](content=content))
    return converted


def resolve_dataset(dataset: str) -> str:
    """A relative folder is looked up where the user started ``inspect eval`` (the shell's ``PWD``), not in the
    task file's folder inspect has changed into; anything else (a Hub id, an absolute path) is kept."""
    path = Path(dataset).expanduser()
    if path.is_absolute():
        return str(path)
    started = os.environ.get("PWD")
    if started and (Path(started) / path).is_dir():
        return str(Path(started) / path)
    return dataset


def _load_rows(dataset: str, config: str | None, split: str | None) -> list[dict[str, Any]]:
    from generator.running.conversations import load_conversations

    return list(load_conversations(resolve_dataset(dataset), config, split, quiet=True))


def check_model_form(api: Any) -> None:
    """Refuse ``openai/<model>`` pointed at another server, with the form that works, instead of a 404.

    inspect's ``openai`` provider sends model names OpenAI does not know to the Responses API (which vLLM, SGLang
    or Ollama lack) and, without it, sends the system prompt as ``developer``; ``openai-api/<service>/<model>``
    speaks plain chat completions with ``system`` messages.
    """
    base_url = str(getattr(api, "base_url", None) or "")
    if type(api).__name__ == "OpenAIAPI" and base_url and "api.openai.com" not in base_url:
        raise ValueError(f"--model openai/... with --model-base-url {base_url} does not work for OpenAI-compatible "
                         "servers (inspect sends it to the Responses API); use --model "
                         "openai-api/local/<model> --model-base-url ... with LOCAL_API_KEY set")


@solver
def multi_turn(rows_key: str, history: str = "model"):
    """Ask every turn of the sample's conversation in order, rebuilding the messages as ``mmmtif run`` does."""
    if history not in HISTORY_MODES:
        raise ValueError(f"history must be one of {', '.join(HISTORY_MODES)}, got {history!r}")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        from inspect_ai.model import get_model

        check_model_form(get_model().api)
        row = _ROWS[rows_key][str(state.sample_id)]
        uris = [image_data_uri(img) for img in (row.get("images") or [])]
        reference = (fixed_history(row, source_history if history == "source" else None)
                     if history in FIXED_HISTORIES else None)
        answers: list[str] = []
        for index in range(len(row["turns"])):
            earlier = reference[:index] if reference is not None else answers
            state.messages = to_inspect_messages(conversation_messages(row, index, earlier, uris))
            state = await generate(state)
            answers.append(state.output.completion)
        digest = fingerprint(row)
        scored_fingerprint = conversation_fingerprint(row)  # lets `mmmtif score` refuse an export of another config
        state.metadata["responses"] = [
            response_record(str(row["id"]), int(turn["turn"]), text, digest, model=str(state.model),
                            history=history, fingerprint=scored_fingerprint)
            for turn, text in zip(row["turns"], answers, strict=True)]
        return state

    return solve


@scorer(metrics={"pif": [mean(), stderr()], "perfect_rate": [mean()]})
def pif_scorer(rows_key: str, mode: str = "strict"):
    """Score a conversation's responses with ``generator.scoring`` (conversation PIF and share of PIF-1 turns)."""

    async def score(state: TaskState, target: Target) -> Score:
        row = text_only_row(_ROWS[rows_key][str(state.sample_id)])
        responses = state.metadata.get("responses") or []
        report = score_turns(row, [(r["turn"], r["response"]) for r in responses], mode)
        pif = report["pif"] if report["pif"] is not None else report["release_convention"]["pif"]
        perfect = report["perfect_rate"] if report["perfect_rate"] is not None else 1.0
        return Score(value={"pif": pif, "perfect_rate": perfect},
                     answer=responses[-1]["response"] if responses else "",
                     metadata={"responses": responses, "answer_accuracy": report["answers"]["accuracy"]})

    return score


@task
def mmmt_if(dataset: str = "mmmt-if", config: str | None = None, split: str | None = None,
            history: str = "model", mode: str = "strict", limit: int | None = None) -> Task:
    """MMMT-IF: multi-turn image questions with accumulating answer-format instructions."""
    loaded = _load_rows(dataset, config, split)
    if limit is not None:
        loaded = loaded[: int(limit)]
    rows_key = f"{dataset}|{config or ''}|{split or ''}|{limit or ''}"
    _ROWS[rows_key] = {str(row["id"]): row for row in loaded}
    samples = [Sample(id=str(row["id"]), input=row["turns"][0]["prompt"] if row["turns"] else "",
                      target=[turn.get("reference_answer") or "" for turn in row["turns"]])
               for row in loaded]
    return Task(dataset=MemoryDataset(samples, name="mmmt-if"), solver=multi_turn(rows_key, history),
                scorer=pif_scorer(rows_key, mode))
