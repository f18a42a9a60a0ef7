"""The fingerprint of a conversation as it is prompted: what a response line says it answers.

``mmmtif run`` and the harness exports write it on every response line; ``mmmtif score`` recomputes it from the
dataset row it scores against and refuses a line whose fingerprint differs. It covers everything that shapes what
the model was asked: the conversation id, the config name, each image (SHA-256 of its stored bytes), the system
prompt, and per turn the number, the rendered prompt and the active instructions (id, parameters, turn given).
So the same conversation rendered by another config (``mmmt-if`` inline and ``appended`` share ids, questions and
images) or drawn with another seed has another fingerprint, while the reference answers do not take part (they
are not shown to the model).

Standard library only: the released ``scoring.py`` embeds this module, and the runner computes the same value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: Bumped if the hashed content ever changes, so that old and new fingerprints can never be confused.
FINGERPRINT_VERSION = "mmmt-if conversation v1"

#: The response-line field that carries the fingerprint.
FINGERPRINT_FIELD = "fingerprint"


def image_sha256(image: Any) -> str:
    """SHA-256 of an image as stored: raw bytes, or the ``{"bytes", "path"}`` struct of an undecoded image column.

    A decoded image (a PIL object) has lost its stored bytes, and an image without bytes is only a path: both are
    refused rather than hashed to something the scorer could never reproduce.
    """
    data = image.get("bytes") if isinstance(image, Mapping) else image
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"cannot fingerprint an image given as {type(data).__name__}; load images undecoded "
                        "(datasets.Image(decode=False)) so that their stored bytes are hashed")
    return hashlib.sha256(data).hexdigest()


def _instruction(item: Mapping[str, Any]) -> list[Any]:
    kwargs = item.get("kwargs")
    if not isinstance(kwargs, str):  # rows built in memory may hold the parameters as a mapping
        kwargs = json.dumps(kwargs or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return [str(item.get("id") or ""), kwargs, int(item.get("given_at") or 0)]


def fingerprint_parts(row: Mapping[str, Any], image_hashes: list[str] | None = None) -> list[Any]:
    """The JSON-ready content that is hashed (``image_hashes`` spares hashing images again when known)."""
    if image_hashes is None:
        image_hashes = [image_sha256(image) for image in (row.get("images") or [])]
    turns = [[int(turn.get("turn") or 0), str(turn.get("prompt") or ""),
              [_instruction(item) for item in (turn.get("active_instructions") or [])]]
             for turn in (row.get("turns") or [])]
    return [FINGERPRINT_VERSION, str(row.get("id") or ""), str(row.get("config") or ""),
            str(row.get("system_prompt") or ""), image_hashes, turns]


def conversation_fingerprint(row: Mapping[str, Any], image_hashes: list[str] | None = None) -> str:
    """SHA-256 (hex) of the conversation as prompted; see the module docstring for what it covers."""
    text = json.dumps(fingerprint_parts(row, image_hashes), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
