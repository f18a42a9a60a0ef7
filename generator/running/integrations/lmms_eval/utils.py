"""Functions the lmms-eval task ``mmmt_if.yaml`` names with ``!function utils.<name>``.

Per-turn mode: every turn is its own document whose history is fixed to the reference answers, so any lmms-eval
backend works (its OpenAI-compatible backends cannot feed a model's own answers back). Prompts come from
:mod:`generator.running.runner` and scores from :mod:`generator.scoring`, through :mod:`generator.running.integrations.harness`.
"""

from __future__ import annotations

import json
from typing import Any

from generator.running.integrations.harness import (
    TURN_DOC_COLUMNS,
    doc_messages,
    per_turn_docs,
    score_turns,
    to_part_messages,
    transcript,
    turn_metrics,
)


def process_docs(dataset: Any) -> Any:
    """Conversations -> one document per turn (a ``datasets.Dataset`` in, a ``datasets.Dataset`` out)."""
    def flatten(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        names = list(batch)
        rows = [dict(zip(names, values, strict=True)) for values in zip(*batch.values(), strict=True)]
        return per_turn_docs(rows)

    return dataset.map(flatten, batched=True, batch_size=16, remove_columns=dataset.column_names)


def doc_to_visual(doc: dict[str, Any]) -> list[Any]:
    """The conversation's images, RGB (they go with the first user message)."""
    return [img.convert("RGB") if hasattr(img, "convert") else img for img in doc["images"] or []]


def _messages(doc: dict[str, Any]) -> list[dict[str, Any]]:
    placeholders = ["image"] * len(doc["images"] or [])
    return doc_messages(doc, image_uris=placeholders)


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
    """For single-prompt backends: the earlier turns as a transcript, then this turn's prompt."""
    return transcript(_messages(doc))


def doc_to_messages(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> list[dict[str, Any]]:
    """For chat backends: the same messages as ``mmmtif run --history reference``, images as objects."""
    return to_part_messages(_messages(doc), doc_to_visual(doc))


def doc_to_target(doc: dict[str, Any]) -> str:
    return json.loads(doc["turn_json"]).get("reference_answer") or ""


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Score the response to this turn against its active instructions (and its reference answer)."""
    turn = json.loads(doc["turn_json"])
    report = score_turns({"id": doc["conversation_id"], "turns": [turn]}, [(turn["turn"], results[0])])
    metrics = turn_metrics(report)
    return {"mmmt_if_pif": metrics["pif"], "mmmt_if_perfect": metrics["perfect"],
            "mmmt_if_answer_accuracy": metrics["answer_correct"]}


def mean_defined(values: list[float | None]) -> float | None:
    """Mean over the turns where the metric applies (turns without instructions or answers are left out)."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


__all__ = ["TURN_DOC_COLUMNS", "doc_to_messages", "doc_to_target", "doc_to_text", "doc_to_visual",
           "mean_defined", "process_docs", "process_results"]
