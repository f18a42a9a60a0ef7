"""Read and validate responses: ``{"id": str, "turn": int >= 1, "sample": int >= 0 (optional), "response": str}``.

Responses are joined to turns by (id, turn, sample), never by prompt text. Every fault (bad JSON, a missing or
mistyped field, a duplicate key, a sample index outside 0..N-1) is a :class:`UserError` naming the file, the line
and the field: nothing is skipped silently. Optional fields that scoring reads: ``fingerprint`` (the conversation
as it was prompted, see :mod:`generator.scoring.fingerprint`), ``samples`` (N, declared by the run), ``model``
and ``history``; other extra fields (token usage, latency) are ignored.

A responses file is indexed, not loaded: :func:`index_responses_file` keeps per response only its key, its byte
offset and line, and :meth:`ResponseStore.take` reads a conversation's responses back when that conversation is
scored, so memory does not grow with the length of the responses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from generator.common.errors import UserError, ValidationError
from generator.common.reading import decode_utf8, loads_json
from generator.scoring.fingerprint import FINGERPRINT_FIELD

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Response:
    """One model response to one turn; ``where`` locates it in its file for error messages."""

    id: str
    turn: int
    sample: int
    response: str
    where: str
    fingerprint: str | None = None
    samples: int | None = None  # N as declared by the run that wrote the line
    model: str | None = None
    history: str | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.id, self.turn, self.sample)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(record: Mapping, field: str, where: str) -> str | None:
    value = record.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field!r} must be a string, got {type(value).__name__}", where=f"{where}: field {field}")
    return value


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
    fingerprint = _optional_str(record, FINGERPRINT_FIELD, where)
    if fingerprint is not None and not _HEX64.fullmatch(fingerprint):
        raise ValidationError("'fingerprint' must be 64 lowercase hex digits (SHA-256)",
                              where=f"{where}: field {FINGERPRINT_FIELD}")
    samples = record.get("samples")
    if samples is not None and (not _is_int(samples) or samples < 1):
        raise ValidationError(f"'samples' must be an integer >= 1, got {samples!r}", where=f"{where}: field samples")
    return Response(id=rid, turn=turn, sample=sample, response=text, where=where, fingerprint=fingerprint,
                    samples=samples, model=_optional_str(record, "model", where),
                    history=_optional_str(record, "history", where))


def _decode(line: bytes | str, where: str) -> Response:
    """One line through the shared reader: strict UTF-8, no repeated key, bounded depth, no lone surrogate."""
    text = decode_utf8(line, where) if isinstance(line, bytes) else line
    return parse_response(loads_json(text, where), where)


#: Samples per turn a run may declare beyond the responses its file holds (a partial run of N samples).
MAX_UNSEEN_SAMPLES = 256


class ResponseStore:
    """Responses by conversation, checked for duplicates and for the sample bound as they are added.

    ``samples`` is N when the caller declares it (``--samples``); otherwise N is the largest ``samples`` field
    of the lines (a resumed run may have raised it), and each line's sample must lie below its own declaration. A
    sample index outside 0..N-1 is refused on the line that holds it, as soon as it is read. Entries are either the :class:`Response` itself (in memory) or the byte offset of its line in
    ``path`` (read back by :meth:`take`).
    """

    def __init__(self, source: str, *, samples: int | None = None, path: Path | None = None) -> None:
        self.source = source
        self.path = path
        self.declared = samples
        self.declared_by = "--samples" if samples is not None else None
        self.by_id: dict[str, dict[tuple[int, int], Response | tuple[int, int]]] = {}
        self.count = 0
        self.max_sample = -1
        self.max_sample_where = ""
        self.fingerprinted = 0
        self.models: set[str] = set()
        self.histories: set[str] = set()
        self._handle: BinaryIO | None = None

    def where(self, entry: Response | tuple[int, int]) -> str:
        return entry.where if isinstance(entry, Response) else f"{self.source}:line {entry[1]}"

    def add(self, response: Response, entry: Response | tuple[int, int]) -> None:
        if response.samples is not None and self.declared_by != "--samples":
            if response.sample >= response.samples:
                raise ValidationError(f"sample {response.sample} is outside 0..{response.samples - 1} (the line "
                                      f"declares {response.samples} samples per turn)",
                                      where=f"{response.where}: field sample")
            if self.declared is None or response.samples > self.declared:
                self.declared, self.declared_by = response.samples, response.where
        if self.declared_by == "--samples" and self.declared is not None and response.sample >= self.declared:
            raise ValidationError(f"sample {response.sample} is outside 0..{self.declared - 1} "
                                  f"(--samples {self.declared})", where=f"{response.where}: field sample")
        turns = self.by_id.setdefault(response.id, {})
        key = (response.turn, response.sample)
        previous = turns.get(key)
        if previous is not None:
            raise ValidationError(
                f"duplicate response for id {response.id!r} turn {response.turn} sample {response.sample} "
                f"(first at {self.where(previous)})", where=response.where)
        turns[key] = entry
        self.count += 1
        if response.sample > self.max_sample:
            self.max_sample, self.max_sample_where = response.sample, response.where
        if response.fingerprint is not None:
            self.fingerprinted += 1
        if response.model is not None:
            self.models.add(response.model)
        if response.history is not None:
            self.histories.add(response.history)

    def samples_per_turn(self) -> int:
        """N: as declared, else the highest sample index + 1, refused when no complete file could hold it."""
        if self.declared is not None:
            if self.max_sample >= self.declared:  # a line without a declaration, beyond what others declare
                raise ValidationError(f"sample {self.max_sample} is outside 0..{self.declared - 1} ({self.declared} "
                                      f"samples per turn, declared at {self.declared_by})",
                                      where=f"{self.max_sample_where}: field sample")
            if self.declared > max(self.count, MAX_UNSEEN_SAMPLES):
                # A partial file may declare more samples than it holds, but not without bound: the per-K figures
                # (and the time to compute them) grow with N, so a declaration no file of this size could be
                # running towards is refused at once.
                where = "--samples" if self.declared_by == "--samples" else f"{self.declared_by}: field samples"
                raise ValidationError(f"{self.declared} samples per turn cannot describe a file of {self.count} "
                                      "responses", where=where)
            return self.declared
        inferred = self.max_sample + 1
        if inferred > max(self.count, 1):
            raise ValidationError(f"sample {self.max_sample} cannot be a sample index of a file of {self.count} "
                                  "responses; declare the samples per turn with --samples",
                                  where=f"{self.max_sample_where}: field sample")
        return inferred

    def take(self, conversation_id: str) -> list[Response]:
        """Remove and return the responses of one conversation, in (turn, sample) order."""
        entries = self.by_id.pop(conversation_id, None)
        if not entries:
            return []
        if self.path is None:
            return [entries[key] for key in sorted(entries)]  # type: ignore[misc]
        if self._handle is None:
            self._handle = self.path.open("rb")
        handle = self._handle
        read: dict[tuple[int, int], Response] = {}
        loads = json.loads
        located = sorted((entry, key) for key, entry in entries.items() if isinstance(entry, tuple))
        for (offset, line), key in located:
            handle.seek(offset)
            # Validated when indexed: only the fields scoring uses are read back.
            record = loads(handle.readline())
            read[key] = Response(conversation_id, key[0], key[1], record["response"], f"{self.source}:line {line}",
                                 record.get(FINGERPRINT_FIELD))
        return [read[key] for key in sorted(read)]

    def leftover(self) -> Response | None:
        """The first response (in input order) whose conversation was never taken, or None."""
        first: tuple[str, tuple[int, int], tuple[int, int]] | None = None
        for conversation_id, entries in self.by_id.items():
            for key, entry in entries.items():
                if isinstance(entry, Response):
                    return entry  # in memory: conversations keep the order they were added in
                if first is None or entry[1] < first[2][1]:
                    first = (conversation_id, key, entry)
        if first is None:
            return None
        conversation_id, (turn, sample), (_, line) = first
        return Response(id=conversation_id, turn=turn, sample=sample, response="",
                        where=f"{self.source}:line {line}")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def index_responses_file(path: str | Path, *, samples: int | None = None) -> ResponseStore:
    """Validate every line of a JSON Lines file and index it; refuse an empty file (blank lines are allowed)."""
    path = Path(path)
    store = ResponseStore(str(path), samples=samples, path=path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UserError("responses file not found", where=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read responses file: {exc.strerror}", where=str(path)) from None
    offset = 0
    with handle:
        for number, line in enumerate(handle, start=1):
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            where = f"{path}:line {number}"
            store.add(_decode(line, where), (start, number))
    if not store.count:
        raise UserError("the responses file holds no responses", where=str(path))
    return store


def collect_responses(responses: Iterable[Response | Mapping], *, source: str = "responses",
                      samples: int | None = None) -> ResponseStore:
    """Validate responses given in memory (records or :class:`Response`) into a store."""
    store = ResponseStore(source, samples=samples)
    for index, item in enumerate(responses):
        response = item if isinstance(item, Response) else parse_response(item, f"{source}[{index}]")
        store.add(response, response)
    return store


def read_responses(path: str | Path) -> list[Response]:
    """Every response of a file, validated as a set (duplicates refused); for tools that need them all at once."""
    store = index_responses_file(path)
    try:
        return [response for conversation_id in list(store.by_id) for response in store.take(conversation_id)]
    finally:
        store.close()
