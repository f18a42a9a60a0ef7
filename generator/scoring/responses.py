"""Read and validate responses: ``{"id": str, "turn": int >= 1, "sample": int >= 0 (optional), "response": str}``.

Responses are joined to turns by (id, turn, sample), never by prompt text. Every fault (bad JSON, a missing or
mistyped field, a duplicate key) is a :class:`UserError` naming the file, the line and the field: nothing is
skipped silently. Extra fields (model name, token usage) are allowed and ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.common.errors import UserError, ValidationError
from generator.common.reading import iter_json_lines


@dataclass(frozen=True)
class Response:
    """One model response to one turn; ``where`` locates it in its file for error messages."""

    id: str
    turn: int
    sample: int
    response: str
    where: str

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.id, self.turn, self.sample)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_response(record: object, where: str) -> Response:
    """Validate one decoded record and return it as a :class:`Response`."""
    if not isinstance(record, Mapping):
        raise ValidationError(f"expected a JSON object, got {type(record).__name__}", where=where)
    for field in ("id", "turn", "response"):
        if field not in record:
            raise ValidationError(f"missing field {field!r}", where=f"{where}: field {field}")
    rid, turn, text = record["id"], record["turn"], record["response"]
    sample = record.get("sample", 0)
    if not isinstance(rid, str) or not rid:
        raise ValidationError(f"'id' must be a non-empty string, got {rid!r}", where=f"{where}: field id")
    if not _is_int(turn) or turn < 1:
        raise ValidationError(f"'turn' must be an integer >= 1, got {turn!r}", where=f"{where}: field turn")
    if not _is_int(sample) or sample < 0:
        raise ValidationError(f"'sample' must be an integer >= 0, got {sample!r}", where=f"{where}: field sample")
    if not isinstance(text, str):
        raise ValidationError(f"'response' must be a string, got {type(text).__name__}",
                              where=f"{where}: field response")
    return Response(id=rid, turn=turn, sample=sample, response=text, where=where)


def iter_responses_file(path: str | Path) -> Iterator[Response]:
    """Yield the responses of a JSON Lines file (blank lines are allowed; anything else must parse).

    Lines go through the shared reader: strict UTF-8, no repeated key, bounded depth, no lone surrogate.
    """
    for where, record in iter_json_lines(path, what="responses file"):
        yield parse_response(record, where)


def collect_responses(responses: Iterable[Response | Mapping], *, source: str = "responses") -> list[Response]:
    """Validate responses given in memory (records or :class:`Response`) and refuse duplicate keys."""
    collected: list[Response] = []
    seen: dict[tuple[str, int, int], str] = {}
    for index, item in enumerate(responses):
        response = item if isinstance(item, Response) else parse_response(item, f"{source}[{index}]")
        previous = seen.get(response.key)
        if previous is not None:
            raise ValidationError(
                f"duplicate response for id {response.id!r} turn {response.turn} sample {response.sample} "
                f"(first at {previous})", where=response.where)
        seen[response.key] = response.where
        collected.append(response)
    return collected


def read_responses(path: str | Path) -> list[Response]:
    """Read and validate a responses.jsonl file; refuse an empty file and duplicate (id, turn, sample) keys."""
    responses = collect_responses(iter_responses_file(path))
    if not responses:
        raise UserError("the responses file holds no responses", where=str(path))
    # N samples per turn is the highest index + 1; an index no file could fill (more samples per turn than responses
    # in all) is a mistake, and would make PIF-N-K count up to it.
    highest = max(responses, key=lambda r: r.sample)
    if highest.sample >= len(responses):
        raise ValidationError(f"'sample' {highest.sample} is not possible with {len(responses)} response(s): "
                              "samples count from 0 within each turn", where=f"{highest.where}: field sample")
    return responses
