"""The card's notes: the one part of README.md that its owner edits by hand and every regeneration keeps.

The card is generated (statistics, configs, usage), so a hand edit anywhere else is lost the next time it is
rendered and makes the manifest's hash of README.md stale. Text between :data:`START` and :data:`END` is different:
rendering the card again (``mmmtif publish`` does, to add the version and changelog) carries it over, and the
manifest records README.md's size and SHA-256 *without* it, so ``mmmtif validate`` and ``mmmtif publish`` accept
an edited notes section as they are.
"""

from __future__ import annotations

import re

START = "<!-- notes: write your own text between this line and the end-of-notes line; it is kept when the card is " \
        "regenerated and accepted by validate and publish -->"
END = "<!-- end of notes -->"
_BLOCK = re.compile(re.escape(START) + r"\n?(?P<notes>.*?)" + re.escape(END), re.S)


def card_notes(text: str) -> str:
    """The notes of a card (empty when it has none)."""
    match = _BLOCK.search(text)
    return match["notes"].strip("\n") if match else ""


def with_notes(text: str, notes: str) -> str:
    """``text`` (a freshly rendered card) with ``notes`` put between its markers."""
    if not notes.strip():
        return text
    return _BLOCK.sub(lambda _: f"{START}\n{notes.strip(chr(10))}\n{END}", text, count=1)


def without_notes(data: bytes) -> bytes:
    """README.md's bytes with the notes emptied: what the manifest hashes, so that notes can change freely."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return _BLOCK.sub(lambda _: f"{START}\n{END}", text, count=1).encode("utf-8")
