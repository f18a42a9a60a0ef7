"""Predicates shared by the conflict rules that instruction types declare (``InstructionType.conflicts``).

Each predicate looks at parameters only, so a conflict is decided before any text exists. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from generator.core import text as textmod

Kw = Mapping[str, Any]

#: Longest "at least N words per sentence" that a title or heading can meet and still read as a label.
LABEL_WORDS = 6


def always(a: Kw, b: Kw) -> bool:
    """The two types never stand together, whatever their parameters."""
    return True


def letter_mismatch(letter: str, phrase: str) -> bool:
    """``phrase`` does not start with ``letter`` (accents and case folded)."""
    first = textmod.first_letter(phrase)
    return first is None or textmod.normalize_letter(first) != textmod.normalize_letter(letter)


def phrase_words(phrase: str) -> int:
    """Words in a fixed phrase, by the one word definition."""
    return textmod.word_count(phrase)


def at_most(kw: Kw) -> int | None:
    """The upper bound of a relation parameter set, or None when it has none."""
    return kw["n"] if kw["relation"] in ("at_most", "exactly") else None


def keyword_excess(kw_word: str, limit: int | None, phrase: str) -> bool:
    """A fixed phrase already uses ``kw_word`` more often than ``limit`` allows."""
    return limit is not None and textmod.phrase_count(phrase, kw_word) > limit


def forbidden_in(words: Iterable[str], phrase: str) -> bool:
    """A fixed phrase uses one of the forbidden ``words``."""
    return any(textmod.phrase_count(phrase, w) for w in words)


def ends_with_other_mark(mark: str, phrase: str) -> bool:
    """A closing phrase ends with another sentence mark than ``mark``."""
    return textmod.end_mark(phrase) != mark


def start_phrase_mark(mark: str, phrase: str) -> bool:
    """An opening phrase that is a whole sentence ends with another mark than ``mark``."""
    last = textmod.end_mark(phrase)
    return last in ".!?" and last != mark
