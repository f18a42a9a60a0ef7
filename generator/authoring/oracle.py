"""Witness responses: for every turn, a text that obeys every active instruction and states the reference answer.

Scoring them must give PIF 1.0 and answer accuracy 1.0 everywhere; that proves every active set the generator
writes is satisfiable and that checkers, witnesses and answer checks agree. Witnesses are deterministic, so every
sample of a turn gets the same text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

from generator.authoring.witness import compose_witness
from generator.common.errors import UserError
from generator.core.answers import answer_phrase, is_checkable
from generator.core.instructions import Instruction


def _instructions(turn: Mapping) -> list[Instruction]:
    active = []
    for item in turn.get("active_instructions") or []:
        kwargs = item.get("kwargs") or "{}"
        active.append(Instruction(item["id"], json.loads(kwargs) if isinstance(kwargs, str) else dict(kwargs)))
    return active


def oracle_responses(rows: Iterable[Mapping], samples: int = 1) -> Iterator[dict]:
    """Yield ``{"id", "turn", "sample", "response"}`` for every turn of every row and every sample."""
    if samples < 1:
        raise UserError("--samples must be at least 1", where="--samples")
    for row in rows:
        for turn in row["turns"]:
            reference, answer_type = turn.get("reference_answer") or "", turn.get("answer_type") or "open"
            answer = answer_phrase(reference, answer_type) if is_checkable(reference, answer_type) else None
            try:
                text = compose_witness(_instructions(turn), answer)
            except UserError:
                raise
            except Exception as exc:
                raise UserError(f"no witness for the active instructions: {exc}",
                                where=f"row {row['id']!r} turn {turn['turn']}") from exc
            for sample in range(samples):
                yield {"id": row["id"], "turn": turn["turn"], "sample": sample, "response": text}


def write_oracle(rows: Iterable[Mapping], path, samples: int = 1) -> int:
    """Write the witness responses as JSON Lines (atomically); returns the number of lines."""
    from generator.common.atomic import atomic_write_text

    lines = [json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
             for record in oracle_responses(rows, samples)]
    atomic_write_text(path, "".join(lines))
    return len(lines)
