"""Get responses from a model through an OpenAI-compatible chat API: messages, scheduling, resumable output.

How the chat history is built decides what is measured, so both ways are explicit:

* ``model`` history feeds the model's own earlier answers back (those of sample 0). A conversation's turns must
  then run in order, while different conversations run concurrently.
* ``reference`` history fixes every earlier assistant message to the fluent reference text of that turn (a text that
  obeys the active instructions and contains the reference answer). Each turn is then independent of the model's
  earlier mistakes, and all turns can run in parallel.
* ``source`` history fixes every earlier assistant message to the dataset's own answer of that turn
  (``reference_answer`` verbatim): for sets built on MMDU dialogues these are MMDU's answers, which were written
  before any instruction was inserted and do not follow the format instructions. Turns run in parallel too.

Samples above 0 (for PIF-N-K) see the same history as sample 0 of their turn.

The output is one JSON line per (id, turn, sample). Requests run on one asyncio event loop (the aiohttp client
of :mod:`generator.running.client`); each finished response is handed to a writer thread that appends it as one
complete line, flushed and fsynced, so the disk never holds up dispatching, a killed run loses only answers that
had just arrived and duplicates nothing, and a truncated last line is dropped on resume. At completion the file is rewritten sorted by (id, turn, sample) atomically, so an interrupted and resumed
run yields the same file as an uninterrupted one whenever the server is deterministic.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import heapq
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.common import atomic
from generator.common.errors import UserError
from generator.common.reading import decode_utf8, loads_json
from generator.common.rng import derive_seed
from generator.running.client import ChatClient, ChatError, ChatResult
from generator.scoring.fingerprint import conversation_fingerprint

HISTORY_MODES = ("model", "reference", "source")
#: History modes whose earlier assistant turns are fixed in advance (every turn can be asked at once).
FIXED_HISTORIES = ("reference", "source")
#: Refusals tied to one request (too long, malformed for this model): recordable as an empty answer. Others (bad
#: key, unknown model) would fail every request alike, so they always stop the run.
RECORDABLE_STATUS = frozenset({400, 413, 422})
RECORD_KEYS = ("id", "turn", "sample", "response", "model", "history", "samples", "fingerprint",
               "conversation_sha256", "usage", "finish_reason", "latency_s")

Key = tuple[str, int, int]

_IMAGE_MIME = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


# ---------------------------------------------------------------------------------------------------------------
# images and messages


def _sniff_mime(data: bytes) -> str | None:
    for magic, mime in _IMAGE_MIME:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _reencode_png(data: bytes) -> bytes:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return _pil_to_bytes(img)[0]


def _pil_to_bytes(img: Any) -> tuple[bytes, str]:
    """Encode a PIL image: JPEG stays JPEG (photos), everything else becomes PNG (lossless)."""
    import io

    buffer = io.BytesIO()
    if getattr(img, "format", None) == "JPEG" and img.mode in ("RGB", "L"):
        img.save(buffer, format="JPEG", quality=95)
        return buffer.getvalue(), "image/jpeg"
    if img.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    img.save(buffer, format="PNG")
    return buffer.getvalue(), "image/png"


def _image_bytes(image: Any) -> tuple[bytes, str]:
    """The bytes to send for a dataset image and their MIME type (see :func:`image_data_uri`)."""
    data: bytes | None = None
    if isinstance(image, dict):
        data = image.get("bytes")
        if data is None and image.get("path"):
            data = Path(image["path"]).read_bytes()
        if data is None:
            raise ValueError("image has neither bytes nor a path")
    elif isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    elif isinstance(image, (str, Path)):
        data = Path(image).read_bytes()
    if data is None:
        return _pil_to_bytes(image)
    mime = _sniff_mime(data)
    if mime is None:
        return _reencode_png(data), "image/png"
    return data, mime


def image_data_uri(image: Any) -> str:
    """A ``data:`` URI for a dataset image: a ``{"bytes", "path"}`` dict, raw bytes, a PIL image or a path.

    Bytes in a format chat APIs accept (PNG, JPEG, GIF, WebP) are passed through untouched, which is both faster
    and byte-stable; anything else is re-encoded as PNG.
    """
    data, mime = _image_bytes(image)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_json(image: Any) -> bytes:
    """:func:`image_data_uri` as a JSON string, quotes included, encoded (base64 needs no escaping).

    Built as bytes directly: the base64 text of an image is most of a request, and is never copied into a ``str``.
    """
    data, mime = _image_bytes(image)
    return b"".join((b'"data:', mime.encode("ascii"), b";base64,", base64.b64encode(data), b'"'))


def build_messages(row: dict[str, Any], turn_index: int, history: Sequence[str],
                   image_uris: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI chat messages for the turn at position ``turn_index`` (0-based) of a conversation row.

    ``history`` holds the assistant answers of the earlier turns (at least ``turn_index`` of them). The system
    prompt, if any, comes first; the images go into the first user message, before its text, as ``image_url``
    parts; later user messages are text only. Every user message is the turn's rendered ``prompt``.
    """
    turns = row["turns"]
    if not 0 <= turn_index < len(turns):
        raise IndexError(f"conversation {row.get('id')!r} has no turn at position {turn_index}")
    if len(history) < turn_index:
        raise ValueError(f"need {turn_index} earlier answers, got {len(history)}")
    if image_uris is None:
        image_uris = [image_data_uri(img) for img in (row.get("images") or [])]
    messages: list[dict[str, Any]] = []
    system_prompt = row.get("system_prompt") or ""
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    for position in range(turn_index + 1):
        messages.append(_user_message(turns[position]["prompt"], image_uris if position == 0 else ()))
        if position < turn_index:
            messages.append(_assistant_message(history[position]))
    return messages


def _user_message(prompt: str, image_uris: Sequence[str]) -> dict[str, Any]:
    """A user message: the images (if any) as ``image_url`` parts before the text, else the text alone."""
    if not image_uris:
        return {"role": "user", "content": prompt}
    content: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": uri}} for uri in image_uris]
    content.append({"type": "text", "text": prompt})
    return {"role": "user", "content": content}


def _assistant_message(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def reference_history(row: dict[str, Any]) -> list[str]:
    """The reference text of every turn: the fluent answer the oracle writes (it obeys that turn's active
    instructions and states the reference answer), replayed as the model's own earlier answers."""
    from generator.authoring.reference import turn_reference

    answers = []
    for turn in row["turns"]:
        try:
            answers.append(turn_reference(str(row.get("id")), turn))
        except Exception as exc:
            raise UserError(f"cannot compose the reference answer: {exc}",
                            where=f"conversation {row.get('id')}: turn {turn.get('turn')}") from exc
    return answers


SOURCE_HISTORY_MISSING = ("no answer of its own to use as history (--history source needs a dataset whose every turn "
                          "carries its source's answer, such as one generated from mmdu:)")


def source_history(row: dict[str, Any]) -> list[str]:
    """The dataset's own answer of every turn, verbatim (MMDU's answers: they ignore the format instructions)."""
    answers = []
    for turn in row["turns"]:
        answer = turn.get("reference_answer") or ""
        if not answer:
            raise UserError(SOURCE_HISTORY_MISSING, where=f"conversation {row.get('id')}: turn {turn.get('turn')}")
        answers.append(answer)
    return answers


# ---------------------------------------------------------------------------------------------------------------
# the output file


def format_record(record: dict[str, Any]) -> str:
    """One output line (without newline), keys in the documented order, then any extra keys."""
    ordered = {key: record[key] for key in RECORD_KEYS if key in record}
    ordered.update({key: value for key, value in record.items() if key not in ordered})
    return json.dumps(ordered, ensure_ascii=False)


def record_key(record: dict[str, Any], *, where: str = "") -> Key:
    """(id, turn, sample) of a response line, exactly: a turn of 1.7 or true is refused, never rounded."""
    rid, turn, sample = record.get("id"), record.get("turn"), record.get("sample", 0)
    for name, value, low in (("turn", turn, 1), ("sample", sample, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UserError(f"'{name}' must be an integer >= {low}, got {value!r}", where=f"{where}: field {name}")
    if not isinstance(rid, str) or not rid:
        raise UserError(f"'id' must be a non-empty string, got {rid!r}", where=f"{where}: field id")
    assert isinstance(turn, int) and isinstance(sample, int)  # checked just above
    return rid, turn, sample


@dataclass
class ExistingOutput:
    """What an earlier (possibly killed) run left in the output file."""

    records: dict[Key, dict[str, Any]] = field(default_factory=dict)
    dropped_partial_line: bool = False


def read_existing(path: Path, *, repair: bool = True) -> ExistingOutput:
    """Parse the output file; a last line without newline was cut by a kill and is removed (when ``repair``)."""
    result = ExistingOutput()
    if not path.exists():
        return result
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        data = data[:cut]
        result.dropped_partial_line = True
        if repair:
            try:
                with open(path, "r+b") as handle:
                    handle.truncate(cut)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise atomic.os_error(exc, path, "repair") from None
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{path}:line {number}"
        try:
            record = loads_json(decode_utf8(raw, where), where)
        except UserError as exc:
            raise UserError(f"{exc}; fix or remove the line before resuming") from None
        if not isinstance(record, dict):
            raise UserError("not a JSON object", where=where)
        result.records.setdefault(record_key(record, where=where), record)
    return result


#: How many times a file replaced while it is being claimed is claimed again.
_CLAIM_TRIES = 5
#: How long the response writer lets lines gather before writing them (bounds what a kill can lose).
_GATHER_SECONDS = 0.02


class ResponseLog:
    """Appends one complete line per response; a writer thread writes, flushes and fsyncs, off the dispatch path.

    :meth:`append` only queues the line, so the event loop that dispatches requests never waits for the disk; the
    writer takes every line queued so far, writes them in one go and fsyncs once. A kill loses at most the lines
    still queued (answers that had just arrived, like the requests in flight) and never leaves half a line that
    resuming would not repair. A write error (disk full) is raised by the next :meth:`append` or by :meth:`close`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(path, "ab")  # noqa: SIM115 (held for the whole run)
        except OSError as exc:
            raise atomic.os_error(exc, path) from None
        self._claim()
        self._pending: list[bytes] = []
        self.keys: list[Key] = []  # of the lines appended, in the order they are written
        self._cond = threading.Condition()
        self._idle = False  # the writer waits for a line (only then does :meth:`append` wake it)
        self._closing = False
        self._error: Exception | None = None
        self._writer = threading.Thread(target=self._write_loop, name="mmmtif-response-log", daemon=True)
        self._writer.start()

    def _claim(self) -> None:
        """Refuse a second run appending to the same file at the same time (it would duplicate work).

        The lock is taken on the file the path names once it is held: a run that finished in between replaced the
        file with its sorted copy, and appending to the replaced one would lose every answer.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no advisory locks
            return
        for _ in range(_CLAIM_TRIES):
            try:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._handle.close()
                raise UserError("another run is writing this file; wait for it or choose another --out",
                                where=str(self.path)) from None
            held = os.fstat(self._handle.fileno())
            try:
                named = os.stat(self.path)
            except FileNotFoundError:
                named = None
            if named is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
                return
            self._handle.close()  # replaced (or removed) while it was being claimed: claim the file named now
            self._handle = open(self.path, "ab")  # noqa: SIM115 (held for the whole run)
        self._handle.close()
        raise UserError("the file keeps being replaced by another program; choose another --out",
                        where=str(self.path))

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._idle = True
                    self._cond.wait()
                self._idle = False
                closing = self._closing
            if not closing:
                # let answers that arrive together gather: one write and one fsync for all of them, and fewer
                # wake-ups competing with the event loop for the interpreter
                time.sleep(_GATHER_SECONDS)
            with self._cond:
                batch, self._pending = self._pending, []
                closing = self._closing
            if batch and self._error is None:
                try:
                    self._handle.write(b"".join(batch))
                    self._handle.flush()
                    os.fsync(self._handle.fileno())
                except Exception as exc:  # whatever it is, it stops the run (never a silent death of the thread)
                    self._error = exc
            if closing and not batch:
                return

    def _raise_error(self) -> None:
        error = self._error
        if error is not None:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else (
                f"{type(error).__name__}: {error}")
            raise UserError(f"cannot write the responses: {reason}", where=str(self.path)) from None

    def append(self, record: dict[str, Any]) -> None:
        self._raise_error()
        try:
            line = (format_record(record) + "\n").encode("utf-8")
        except UnicodeEncodeError:
            raise UserError("cannot record an answer that is not valid Unicode (a lone surrogate)",
                            where=f"{self.path} ({record.get('id')} turn {record.get('turn')})") from None
        with self._cond:
            self._pending.append(line)
            self.keys.append((record["id"], record["turn"], record["sample"]))
            if self._idle:  # while answers keep coming the writer never waits, and nothing needs waking
                self._idle = False
                self._cond.notify()

    def drain(self) -> None:
        """Write what is queued and fsync, keeping the file claimed; raises the writer's error if there was one."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._writer.join()
        self._raise_error()

    def close(self) -> None:
        """Write what is queued, fsync, close (which releases the claim); raises the writer's error if any."""
        try:
            self.drain()
        finally:
            self._handle.close()


def sort_output(path: Path, *, earlier: ExistingOutput | None = None, appended_at: int = 0,
                appended: Sequence[Key] = ()) -> int:
    """Rewrite the file sorted by (id, turn, sample), first occurrence of a key kept; atomic. Returns lines.

    A run that knows what the file held when it started (``earlier``, as :func:`read_existing` read it, then
    ``appended_at`` bytes) and the keys of the lines it appended since, in order, passes them: its own lines are
    then moved as they are instead of being parsed and encoded again. Should the lines after ``appended_at`` not
    be exactly those, the whole file is read again.
    """
    lines: dict[Key, bytes] | None = None
    if earlier is not None:
        with open(path, "rb") as handle:
            handle.seek(appended_at)
            tail = handle.read().split(b"\n")
        if len(tail) == len(appended) + 1 and not tail[-1]:
            lines = {key: format_record(record).encode("utf-8") for key, record in earlier.records.items()}
            for key, line in zip(appended, tail[:-1], strict=True):
                lines.setdefault(key, line)
    if lines is None:
        existing = read_existing(path)
        lines = {key: format_record(record).encode("utf-8") for key, record in existing.records.items()}
    atomic.write_bytes(path, b"".join(lines[key] + b"\n" for key in sorted(lines)), fsync=True)
    return len(lines)


# ---------------------------------------------------------------------------------------------------------------
# the run loop


@dataclass(frozen=True)
class RunOptions:
    """What to ask the model, and how."""

    model: str
    history: str = "model"
    samples: int = 1
    temperature: float | None = None
    max_tokens: int | None = None
    concurrency: int = 4
    seed: int | None = None
    extra_body: dict[str, Any] | None = None
    sort: bool = True
    record_errors: bool = False

    def __post_init__(self) -> None:
        if self.history not in HISTORY_MODES:
            raise UserError(f"history must be one of {', '.join(HISTORY_MODES)}, got {self.history!r}")
        if self.samples < 1:
            raise UserError("samples must be at least 1")
        if self.concurrency < 1:
            raise UserError("concurrency must be at least 1")


@dataclass
class RunSummary:
    """Counts of one invocation (resumed responses are counted apart from new ones)."""

    total: int = 0
    already_done: int = 0
    completed: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dropped_partial_line: bool = False
    recorded_errors: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Conversation:
    index: int
    id: str
    turn_numbers: list[int]
    digest: str  # of the system prompt and every prompt: what the model is asked, whatever --limit says
    unanswered: int | None = None  # the first turn number without an answer of its own (reference_answer)


def conversation_digest(system_prompt: str, turns: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of what a conversation asks (system prompt, then each turn's number and prompt).

    Stored on every response line, so that resuming into a file made from another dataset, seed or config (the
    ids repeat across them) is refused instead of silently keeping answers to other questions.
    """
    digest = hashlib.sha256(system_prompt.encode("utf-8"))
    for turn in turns:
        digest.update(f"\x1e{int(turn['turn'])}\x1f".encode())
        digest.update(str(turn.get("prompt") or "").encode("utf-8"))
    return digest.hexdigest()


def _image_placeholder(index: int) -> str:
    return f"\x00mmmtif-image\x00{index}"


@functools.lru_cache(maxsize=64)
def _json_placeholder(index: int) -> bytes:
    return json.dumps(_image_placeholder(index)).encode()


def splice_images(body: bytes, json_uris: Sequence[bytes]) -> bytes:
    """Put each image's pre-encoded JSON string where its placeholder stands in an encoded request body."""
    parts, start = [], 0
    for index, uri in enumerate(json_uris):
        marker = _json_placeholder(index)
        found = body.find(marker, start)
        if found < 0:
            raise ValueError(f"image {index} is not in the request body")
        parts += [body[start:found], uri]
        start = found + len(marker)
    parts.append(body[start:])
    return b"".join(parts)


def _encode(message: dict[str, Any]) -> bytes:
    """One message as it stands inside the body :meth:`ChatClient.payload` encodes."""
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


class EncodedConversation:
    """A conversation's messages encoded once, so that a request body is a few joins, not a JSON encoding.

    Images are 95% of a request's bytes and the same in every turn of a conversation: the first user message
    (images included) is encoded once and sent as its own piece of every body (:meth:`ChatClient.send` writes
    pieces without copying them into one buffer); each later user message and each fixed earlier answer is encoded
    once too, and an answer of the model's own the first time a later turn needs it. :meth:`body` gives bytes for
    bytes what ``ChatClient.payload(build_messages(...))`` gives (the tests check it).
    """

    def __init__(self, row: dict[str, Any], fixed_history: list[str] | None) -> None:
        self.row = row
        turns = row["turns"]
        images = row.get("images") or []
        first = _encode(_user_message(turns[0]["prompt"], [_image_placeholder(k) for k in range(len(images))]))
        # the first user message; the others are text only
        self.users = [splice_images(first, [image_json(img) for img in images])] if images else [first]
        self.users += [_encode(_user_message(turn["prompt"], ())) for turn in turns[1:]]
        system_prompt = row.get("system_prompt") or ""
        self.opening = b"[" + (_encode({"role": "system", "content": system_prompt}) + b", " if system_prompt
                               else b"")
        self.fixed = None if fixed_history is None else [_encode(_assistant_message(text))
                                                         for text in fixed_history]
        self._answers: dict[int, bytes] = {}

    def body(self, frame: tuple[bytes, bytes | None], turn_index: int,
             answer: Callable[[int], str] | None = None) -> tuple[bytes, ...]:
        """The request body of the turn at ``turn_index`` in pieces (join them for the bytes).

        ``frame`` is :meth:`ChatClient.payload_frame`; the earlier answers are the fixed history, or else
        ``answer(position)`` (the model's own, encoded the first time they are asked for).
        """
        before, after = frame
        if after is None:  # the extra body fields replace the messages
            return (before,)
        rest = []
        for position in range(turn_index):
            if self.fixed is not None:
                earlier = self.fixed[position]
            elif position in self._answers:
                earlier = self._answers[position]
            elif answer is None:
                raise ValueError("an answer of the model's own is needed for the history")
            else:
                earlier = self._answers[position] = _encode(_assistant_message(answer(position)))
            rest += [b", ", earlier, b", ", self.users[position + 1]]
        rest += [b"]", after]
        return before + self.opening, self.users[0], b"".join(rest)


class _PreparedCache:
    """The encoded conversations in flight, kept for the few conversations being asked at a time."""

    def __init__(self, rows: Sequence[dict[str, Any]], reference_fn: Callable[[dict[str, Any]], list[str]] | None,
                 capacity: int) -> None:
        self._rows = rows
        self._reference_fn = reference_fn
        self._capacity = max(4, capacity)
        self._items: OrderedDict[int, EncodedConversation] = OrderedDict()

    def get(self, index: int) -> EncodedConversation:
        item = self._items.get(index)
        if item is not None:
            self._items.move_to_end(index)
            return item
        row = self._rows[index]
        item = self._items[index] = EncodedConversation(
            row, self._reference_fn(row) if self._reference_fn is not None else None)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return item


def _conversations(rows: Sequence[dict[str, Any]], limit: int | None) -> list[_Conversation]:
    count = len(rows) if limit is None else min(limit, len(rows))
    result = []
    seen: set[str] = set()
    table: Any = rows  # a datasets.Dataset when it has column_names: read its columns cheaply
    ids = table["id"] if hasattr(table, "column_names") else None
    turn_lists: Any = table["turns"] if ids is not None else None
    systems = table["system_prompt"] if ids is not None and "system_prompt" in table.column_names else None
    for index in range(count):
        if ids is not None:
            conv_id, turns = str(ids[index]), turn_lists[index]
            system = str(systems[index] or "") if systems is not None else ""
        else:
            conv_id, turns = str(rows[index]["id"]), rows[index]["turns"]
            system = str(rows[index].get("system_prompt") or "")
        if conv_id in seen:
            raise UserError(f"conversation id {conv_id!r} appears twice in the dataset")
        seen.add(conv_id)
        numbers = [int(turn["turn"]) for turn in turns]
        if len(set(numbers)) != len(numbers):
            raise UserError("turn numbers repeat", where=f"conversation {conv_id}")
        unanswered = next((int(turn["turn"]) for turn in turns if not turn.get("reference_answer")), None)
        result.append(_Conversation(index=index, id=conv_id, turn_numbers=numbers,
                                    digest=conversation_digest(system, turns), unanswered=unanswered))
    return result


def _dataset_ids(rows: Sequence[dict[str, Any]]) -> set[str]:
    """Every conversation id of the dataset, whatever ``--limit`` says (a column read, for a ``datasets.Dataset``)."""
    table: Any = rows
    ids = table["id"] if hasattr(table, "column_names") else [row["id"] for row in rows]
    return {str(conv_id) for conv_id in ids}


def _check_resumable(existing: ExistingOutput, conversations: Sequence[_Conversation], options: RunOptions,
                     out: Path, dataset_ids: set[str] | None = None) -> None:
    """Refuse to resume into a file whose lines answer other questions, another model, history or sample count.

    Lines written before these fields existed carry none of them and are accepted as they are; a line whose id is
    not in the dataset (``dataset_ids``) is refused whatever it carries.
    """
    digests = {conv.id: conv.digest for conv in conversations}
    for key, record in existing.records.items():
        where = f"{out} ({key[0]} turn {key[1]} sample {key[2]})"
        if dataset_ids is not None and key[0] not in dataset_ids:
            raise UserError("answers a conversation that is not in the dataset (another dataset?); use another "
                            "output file", where=where)
        if record.get("model") not in (None, options.model):
            raise UserError(f"holds responses of model {record.get('model')!r}, not {options.model!r}; "
                            "use another output file", where=where)
        if record.get("history") not in (None, options.history):
            raise UserError(f"was made with --history {record['history']}, not {options.history}; "
                            "use another output file", where=where)
        if key[2] >= options.samples:
            raise UserError(f"holds sample {key[2]}, more than --samples {options.samples} asks for; "
                            "use the same --samples or another output file", where=where)
        stored, current = record.get("conversation_sha256"), digests.get(key[0])
        if stored is not None and current is not None and stored != current:
            raise UserError("answers a different conversation with the same id (another dataset, seed or "
                            "config); use another output file", where=where)


def run(rows: Sequence[dict[str, Any]], client: ChatClient, out_path: str | Path, options: RunOptions, *,
        limit: int | None = None, quiet: bool = False,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        reference_fn: Callable[[dict[str, Any]], list[str]] = reference_history) -> RunSummary:
    """Ask the model every (conversation, turn, sample) not yet in ``out_path`` and append the answers.

    ``rows`` is any indexable sequence of dataset rows (a ``datasets.Dataset`` or a list of dicts);
    ``reference_fn`` gives the fixed assistant answers of a row for ``reference`` history. Raises
    :class:`UserError` when requests fail for good; whatever finished is kept, and the same call resumes.
    """
    from generator.common.progress import progress

    out = Path(out_path)
    conversations = _conversations(rows, limit)
    if options.history == "source":  # before the first request, not at the first turn that lacks an answer
        missing = next((c for c in conversations if c.unanswered is not None), None)
        if missing is not None:
            raise UserError(SOURCE_HISTORY_MISSING, where=f"conversation {missing.id}: turn {missing.unanswered}")
    log = ResponseLog(out)  # claims the file before reading what an earlier run left
    try:
        existing = read_existing(out)
    except BaseException:
        log.close()
        raise
    try:
        _check_resumable(existing, conversations, options, out, _dataset_ids(rows) if existing.records else None)
        appended_at = out.stat().st_size  # what this run appends starts here
    except BaseException:
        log.close()
        raise
    done: set[Key] = set(existing.records)
    answers: dict[Key, str] = {key: str(rec.get("response", "")) for key, rec in existing.records.items()}

    summary = RunSummary(dropped_partial_line=existing.dropped_partial_line)
    summary.total = sum(len(c.turn_numbers) for c in conversations) * options.samples
    summary.already_done = sum(
        1 for c in conversations for t in c.turn_numbers for s in range(options.samples) if (c.id, t, s) in done)

    # frontier[i] = number of leading turns of conversation i whose sample-0 answer exists
    def frontier(conv: _Conversation) -> int:
        count = 0
        for number in conv.turn_numbers:
            if (conv.id, number, 0) not in done:
                break
            count += 1
        return count

    ready: list[tuple[int, int, int]] = []  # heap of (conversation position, turn position, sample)
    queued: set[tuple[int, int, int]] = set()

    def push_ready(conv_pos: int) -> None:
        conv = conversations[conv_pos]
        reach = len(conv.turn_numbers) if options.history in FIXED_HISTORIES else min(
            len(conv.turn_numbers), frontier(conv) + 1)
        for turn_pos in range(reach):
            for sample in range(options.samples):
                item = (conv_pos, turn_pos, sample)
                if item in queued or (conv.id, conv.turn_numbers[turn_pos], sample) in done:
                    continue
                queued.add(item)
                heapq.heappush(ready, item)

    for conv_pos in range(len(conversations)):
        push_ready(conv_pos)

    fixed = {"reference": reference_fn, "source": source_history}.get(options.history)
    cache = _PreparedCache(rows, fixed,
                           capacity=2 * options.concurrency + 4)

    fingerprints: dict[int, str] = {}  # per conversation: what `mmmtif score` checks each line against

    def fingerprint_of(conv: _Conversation) -> str:
        if conv.index not in fingerprints:
            fingerprints[conv.index] = conversation_fingerprint(cache.get(conv.index).row)
        return fingerprints[conv.index]

    frames: dict[int | None, tuple[bytes, bytes | None]] = {}

    def frame(seed: int | None) -> tuple[bytes, bytes | None]:
        if seed in frames:
            return frames[seed]
        made = client.payload_frame(model=options.model, temperature=options.temperature,
                                    max_tokens=options.max_tokens, seed=seed, extra=options.extra_body)
        if seed is None:  # the same for every request; a seed differs per request
            frames[seed] = made
        return made

    def payload(conv_pos: int, turn_pos: int, sample: int) -> tuple[bytes, ...]:
        conv = conversations[conv_pos]
        number = conv.turn_numbers[turn_pos]
        seed = None if options.seed is None else derive_seed(options.seed, conv.id, number, sample) % (2 ** 31)
        return cache.get(conv.index).body(
            frame(seed), turn_pos, lambda position: answers[(conv.id, conv.turn_numbers[position], 0)])

    bar = progress(total=summary.total, desc=f"{options.model}", unit="resp", quiet=quiet)
    bar.n = bar.initial = summary.already_done
    bar.refresh()

    def finish(item: tuple[int, int, int], outcome: ChatResult | ChatError) -> bool:
        """Record one finished request; False when the run must stop scheduling."""
        conv_pos, turn_pos, sample = item
        conv = conversations[conv_pos]
        number = conv.turn_numbers[turn_pos]
        error_text: str | None = None
        if isinstance(outcome, ChatError):
            if outcome.retryable or not options.record_errors or outcome.status not in RECORDABLE_STATUS:
                summary.failed += 1
                summary.errors.append(f"{conv.id} turn {number} sample {sample}: {outcome}")
                return False
            # A refusal no retry can change (e.g. the context is too long): an empty answer, marked.
            summary.recorded_errors += 1
            error_text = str(outcome)
            outcome = ChatResult(text="", finish_reason="error", usage={}, latency_s=0.0)
        result = outcome
        record = {"id": conv.id, "turn": number, "sample": sample, "response": result.text,
                  "model": options.model, "history": options.history, "samples": options.samples,
                  "fingerprint": fingerprint_of(conv), "conversation_sha256": conv.digest, "usage": result.usage,
                  "finish_reason": result.finish_reason, "latency_s": result.latency_s}
        if error_text is not None:
            record["error"] = error_text
        log.append(record)
        key = (conv.id, number, sample)
        done.add(key)
        answers[key] = result.text
        summary.completed += 1
        summary.prompt_tokens += int(result.usage.get("prompt_tokens", 0))
        summary.completion_tokens += int(result.usage.get("completion_tokens", 0))
        bar.update(1)
        bar.set_postfix_str(f"tok {summary.prompt_tokens}+{summary.completion_tokens}", refresh=False)
        if on_record is not None:
            on_record(record)
        if sample == 0 and options.history == "model":
            push_ready(conv_pos)
        return True

    async def dispatch() -> None:
        """Keep ``concurrency`` requests in flight; answers that arrive together are recorded in order."""
        stop = False
        finished: asyncio.Queue[tuple[tuple[int, int, int], ChatResult | ChatError]] = asyncio.Queue()
        in_flight: dict[tuple[int, int, int], asyncio.Task[None]] = {}

        async def one(item: tuple[int, int, int], body: tuple[bytes, ...], key: str) -> None:
            try:
                outcome: ChatResult | ChatError = await client.send(body, key=key)
            except ChatError as exc:
                outcome = exc
            except Exception as exc:  # whatever fails, the request is reported: the loop must never wait forever
                outcome = client.failure(exc)
            finished.put_nowait((item, outcome))

        async with client:
            try:
                while True:
                    while ready and not stop and len(in_flight) < options.concurrency:
                        item = heapq.heappop(ready)
                        conv = conversations[item[0]]
                        number = conv.turn_numbers[item[1]]
                        body = payload(*item)
                        task = asyncio.ensure_future(one(item, body, f"{conv.id}\x1f{number}\x1f{item[2]}"))
                        in_flight[item] = task
                    if not in_flight and finished.empty():
                        break
                    batch = [await finished.get()]
                    while not finished.empty():
                        batch.append(finished.get_nowait())
                    for item, outcome in sorted(batch, key=lambda entry: entry[0]):
                        del in_flight[item]
                        if not finish(item, outcome):
                            stop = True
            finally:
                # Interrupted: do not wait for requests in flight (their answers would be lost anyway).
                for task in in_flight.values():
                    task.cancel()
                if in_flight:
                    await asyncio.wait(list(in_flight.values()))

    try:
        try:
            asyncio.run(dispatch())
        finally:
            bar.close()
        log.drain()  # every queued line is on disk before the file is sorted
        if options.sort and not summary.failed:
            # still claimed: a run started now would append to the file that the sorted copy replaces
            sort_output(out, earlier=existing, appended_at=appended_at, appended=log.keys)
    finally:
        log.close()

    if summary.failed:
        shown = "; ".join(summary.errors[:3])
        raise UserError(f"{summary.failed} request(s) failed ({shown}); {summary.already_done + summary.completed} "
                        f"of {summary.total} responses are saved in {out}: run the same command again to resume")
    return summary
