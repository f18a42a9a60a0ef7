"""What the harness integrations share: our message building, per-turn documents, and scoring one conversation.

The inspect-ai task and the lmms-eval task must ask exactly what ``mmmtif run`` asks, so both build their prompts
with :func:`generator.running.runner.build_messages` and only translate the result into the harness's message types. They
score with :func:`generator.scoring.score_rows`, never with a checker of their own. Nothing here imports a harness.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from generator.running.runner import build_messages, conversation_digest, reference_history

#: Columns a per-turn document carries (lmms-eval scores one turn at a time).
TURN_DOC_COLUMNS = ("conversation_id", "turn", "turn_index", "system_prompt", "images", "image_count", "prompts",
                    "history", "turn_json", "conversation_sha256")

#: How lmms-eval's API backends mark a request that failed for good, in place of the model's answer.
FAILURE_MARKERS = ("[LMMS_EVAL_REQUEST_FAILED", "[LMMS_EVAL_BUDGET_EXCEEDED]")


def is_failure_marker(text: str) -> bool:
    """True when a harness put its failure marker where the model's answer should be."""
    return text.lstrip().startswith(FAILURE_MARKERS)


def fingerprint(row: dict[str, Any]) -> str:
    """The per-conversation fingerprint of response lines (``conversation_sha256``, as ``mmmtif run`` writes)."""
    return conversation_digest(str(row.get("system_prompt") or ""), row["turns"])


def response_record(row_id: str, turn: int, response: str, digest: str, *, model: str | None = None,
                    history: str | None = None, error: str | None = None,
                    fingerprint: str | None = None) -> dict[str, Any]:
    """One line of our responses.jsonl for a harness answer; a failed request becomes an empty, marked answer.

    ``fingerprint`` is the conversation as prompted (``generator.scoring.fingerprint``): with it, ``mmmtif score``
    refuses the export when it is scored against another config or dataset.
    """
    record: dict[str, Any] = {"id": row_id, "turn": int(turn), "sample": 0, "response": response}
    if model is not None:
        record["model"] = model
    if history is not None:
        record["history"] = history
    if fingerprint is not None:
        record["fingerprint"] = fingerprint
    record["conversation_sha256"] = digest
    if error is not None:
        record.update(response="", finish_reason="error", error=error)
    return record


def text_only_row(row: dict[str, Any]) -> dict[str, Any]:
    """The parts of a row the scorer reads (it never decodes images)."""
    return {"id": row["id"], "turns": row["turns"]}


def conversation_messages(row: dict[str, Any], turn_index: int, history: Sequence[str],
                          image_uris: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI-format messages for one turn: the very messages ``mmmtif run`` sends."""
    return build_messages(row, turn_index, history, image_uris)


def fixed_history(row: dict[str, Any], reference_fn: Callable[[dict[str, Any]], list[str]] | None = None) -> list[str]:
    """Reference answers used as history in per-turn mode (``reference`` history of ``mmmtif run``)."""
    return (reference_fn or reference_history)(row)


def per_turn_docs(rows: Iterable[dict[str, Any]], *,
                  reference_fn: Callable[[dict[str, Any]], list[str]] | None = None) -> dict[str, list[Any]]:
    """Flatten conversations into one document per turn, each with its fixed history (columnar, for ``datasets``).

    A document keeps the conversation's images (sent with its first user message), the prompts up to and
    including its turn, the reference answers of the earlier turns, and its own turn record as JSON for scoring.
    """
    columns: dict[str, list[Any]] = {name: [] for name in TURN_DOC_COLUMNS}
    for row in rows:
        history = fixed_history(row, reference_fn)
        digest = fingerprint(row)
        prompts = [turn["prompt"] for turn in row["turns"]]
        for index, turn in enumerate(row["turns"]):
            columns["conversation_id"].append(str(row["id"]))
            columns["turn"].append(int(turn["turn"]))
            columns["turn_index"].append(index)
            columns["system_prompt"].append(row.get("system_prompt") or "")
            columns["images"].append(row.get("images") or [])
            columns["image_count"].append(len(row.get("images") or []))
            columns["prompts"].append(prompts[: index + 1])
            columns["history"].append(history[:index])
            columns["turn_json"].append(json.dumps(turn, ensure_ascii=False, sort_keys=True))
            columns["conversation_sha256"].append(digest)
    return columns


def doc_as_row(doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A per-turn document seen as a conversation row truncated at its turn, and that turn's position."""
    index = int(doc["turn_index"])
    turns = [{"turn": position + 1, "prompt": prompt} for position, prompt in enumerate(doc["prompts"])]
    # lmms-eval hands ``doc_to_text`` and ``process_results`` a copy without the image columns
    images = doc.get("images")
    if images is None:
        images = ["image"] * int(doc.get("image_count") or 0)
    row = {"id": doc["conversation_id"], "system_prompt": doc.get("system_prompt") or "",
           "images": images, "turns": turns}
    return row, index


def doc_messages(doc: dict[str, Any], image_uris: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI-format messages of a per-turn document (fixed history)."""
    row, index = doc_as_row(doc)
    return conversation_messages(row, index, list(doc["history"]), image_uris)


def to_part_messages(messages: list[dict[str, Any]], images: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI messages -> ``{"role", "content": [{"type": "image", "url": img} | {"type": "text", "text"}]}``.

    This is the chat format lmms-eval's ``doc_to_messages`` returns: image parts carry the image objects
    themselves (in order), every content becomes a list of parts.
    """
    remaining = list(images)
    converted = []
    for message in messages:
        content = message["content"]
        parts: list[dict[str, Any]] = []
        if isinstance(content, str):
            parts.append({"type": "text", "text": content})
        else:
            for part in content:
                if part["type"] == "image_url":
                    if not remaining:
                        raise ValueError("more image parts than images")
                    parts.append({"type": "image", "url": remaining.pop(0)})
                else:
                    parts.append({"type": "text", "text": part["text"]})
        converted.append({"role": message["role"], "content": parts})
    if remaining:
        raise ValueError("more images than image parts")
    return converted


def transcript(messages: list[dict[str, Any]]) -> str:
    """The text of a conversation for harness models that take one text prompt (images go separately)."""
    lines = []
    for message in messages:
        content = message["content"]
        text = content if isinstance(content, str) else "\n".join(
            p["text"] for p in content if p.get("type") == "text")
        lines.append(text if message is messages[-1] else f"{message['role'].capitalize()}: {text}")
    return "\n\n".join(lines)


def score_turns(row: dict[str, Any], responses: Sequence[tuple[int, str]], mode: str = "strict") -> dict[str, Any]:
    """Score (turn number, response) pairs of one conversation with the product's scorer; returns the report."""
    from generator.scoring import score_rows

    records = [{"id": str(row["id"]), "turn": int(turn), "sample": 0, "response": text} for turn, text in responses]
    wanted = {int(turn) for turn, _ in responses}
    turns = [turn for turn in row["turns"] if int(turn["turn"]) in wanted]
    return score_rows([{"id": str(row["id"]), "turns": turns}], records, mode)


def turn_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """Per-turn numbers a harness aggregates: PIF (None without instructions), PIF = 1, answer correctness."""
    pif = report.get("pif")
    answers = report.get("answers") or {}
    return {
        "pif": pif,
        "perfect": None if pif is None else float(pif == 1.0),
        "answer_correct": None if not answers.get("checked") else answers.get("accuracy"),
    }
