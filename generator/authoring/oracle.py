"""Oracle responses: for every turn, the fluent reference text that obeys every active instruction and states the
reference answer (:mod:`generator.authoring.reference`).

Scoring them must give PIF 1.0 and answer accuracy 1.0 everywhere: the generator proved every turn with this very
text before writing it, and the check repeats that proof end to end (checkers, reference texts and answer checks
agree). The texts are deterministic, so every sample of a turn gets the same text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

from generator.authoring.reference import turn_reference
from generator.common.errors import UserError


def oracle_responses(rows: Iterable[Mapping], samples: int = 1) -> Iterator[dict]:
    """Yield ``{"id", "turn", "sample", "response"}`` for every turn of every row and every sample."""
    if samples < 1:
        raise UserError("--samples must be at least 1", where="--samples")
    for row in rows:
        for turn in row["turns"]:
            try:
                text = turn_reference(str(row["id"]), turn)
            except UserError:
                raise
            except Exception as exc:
                raise UserError(f"no witness for the active instructions: {exc}",
                                where=f"row {row['id']!r} turn {turn['turn']}") from exc
            for sample in range(samples):
                yield {"id": row["id"], "turn": turn["turn"], "sample": sample, "response": text}


def write_oracle(rows: Iterable[Mapping], path, samples: int = 1) -> int:
    """Write the reference responses as JSON Lines (atomically); returns the number of lines."""
    from generator.common.atomic import atomic_write_text

    lines = [json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
             for record in oracle_responses(rows, samples)]
    atomic_write_text(path, "".join(lines))
    return len(lines)
