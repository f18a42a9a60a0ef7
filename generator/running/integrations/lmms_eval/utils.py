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
    is_failure_marker,
    per_turn_docs,
    response_record,
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
    # lmms-eval passes a copy without the image columns to doc_to_text: count the images from image_count
    count = len(doc["images"] or []) if doc.get("images") is not None else int(doc.get("image_count") or 0)
    return doc_messages(doc, image_uris=["image"] * count)


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
    """For single-prompt backends: the earlier turns as a transcript, then this turn's prompt."""
    return transcript(_messages(doc))


def doc_to_messages(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> list[dict[str, Any]]:
    """For chat backends: the same messages as ``mmmtif run --history reference``, images as objects."""
    return to_part_messages(_messages(doc), doc_to_visual(doc))


def doc_to_target(doc: dict[str, Any]) -> str:
    return json.loads(doc["turn_json"]).get("reference_answer") or ""


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Score the response to this turn against its active instructions (and its reference answer).

    A request lmms-eval gave up on arrives as its failure marker (``[LMMS_EVAL_REQUEST_FAILED ...]``,
    ``[LMMS_EVAL_BUDGET_EXCEEDED]``), never as an answer: the turn counts as not followed (PIF 0, not perfect,
    answer wrong), is counted in ``mmmt_if_failed_requests``, and is exported as an empty answer with an
    ``error`` field, as ``mmmtif run --on-error record`` writes it.
    """
    turn = json.loads(doc["turn_json"])
    text = results[0] if results else ""
    failed = is_failure_marker(text)
    if failed:
        report = score_turns({"id": doc["conversation_id"], "turns": [turn]}, [(turn["turn"], "")])
        metrics = turn_metrics(report)
        metrics = {name: None if value is None else 0.0 for name, value in metrics.items()}
    else:
        metrics = turn_metrics(score_turns({"id": doc["conversation_id"], "turns": [turn]}, [(turn["turn"], text)]))
    record = response_record(doc["conversation_id"], turn["turn"], text, doc.get("conversation_sha256") or "",
                             history="reference", error=" ".join(text.split())[:300] if failed else None)
    return {"mmmt_if_pif": metrics["pif"], "mmmt_if_perfect": metrics["perfect"],
            "mmmt_if_answer_accuracy": metrics["answer_correct"], "mmmt_if_failed_requests": float(failed),
            "mmmt_if_responses": record}


def count_failed(values: list[float]) -> int:
    """How many turns' requests failed (their failure markers were scored as not followed)."""
    return int(sum(values))


def count_responses(values: list[dict[str, Any]]) -> int:
    """Number of exported response records; the records themselves are in the samples log (``--log_samples``)."""
    return len(values)


def mean_defined(values: list[float | None]) -> float | None:
    """Mean over the turns where the metric applies (turns without instructions or answers are left out)."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


__all__ = ["TURN_DOC_COLUMNS", "count_failed", "count_responses", "doc_to_messages", "doc_to_target", "doc_to_text", "doc_to_visual",
           "mean_defined", "process_docs", "process_results"]
