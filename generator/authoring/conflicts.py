"""Conflict rules between instructions, evaluated in both directions.

Two instructions conflict when no response can satisfy both, or when the witness composer cannot build one that
does (so every set the generator produces is provably satisfiable). Rules are declared per pair of type ids with
a predicate on both parameter sets; :func:`conflicts` evaluates the rule for (a, b) and for (b, a), so a rule
declared in one direction is enough and the relation is symmetric by construction. Two instructions of the same
type always conflict: each type is one category, at most one instruction per category is active (as in the
official release, where the six categories are mutually exclusive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions.registry import Instruction

Kw = Mapping[str, Any]
Predicate = Callable[[Kw, Kw], bool]


def _always(a: Kw, b: Kw) -> bool:
    return True


def _letter_mismatch(letter: str, phrase: str) -> bool:
    first = textmod.first_letter(phrase)
    return first is None or textmod.normalize_letter(first) != textmod.normalize_letter(letter)


def _phrase_words(phrase: str) -> int:
    return textmod.word_count(phrase)


def _at_most(kw: Kw) -> int | None:
    return kw["n"] if kw["relation"] in ("at_most", "exactly") else None


def _keyword_excess(kw_word: str, limit: int | None, phrase: str) -> bool:
    return limit is not None and textmod.phrase_count(phrase, kw_word) > limit


def _forbidden_in(words: Iterable[str], phrase: str) -> bool:
    return any(textmod.phrase_count(phrase, w) for w in words)


def _ends_with_other_mark(mark: str, phrase: str) -> bool:
    return textmod.end_mark(phrase) != mark


def _start_phrase_mark(mark: str, phrase: str) -> bool:
    last = textmod.end_mark(phrase)
    return last in ".!?" and last != mark


_JSON_INCOMPATIBLE = (
    "start:letter", "end:punctuation", "length:words_per_sentence", "start:phrase", "end:phrase",
    "format:bullet_list", "format:numbered_list", "format:quoted", "content:postscript", "format:sections",
    "format:headings",
)

# (type a, type b) -> (predicate on (a.kwargs, b.kwargs), explanation)
RULES: dict[tuple[str, str], tuple[Predicate, str]] = {
    ("case:lowercase", "case:uppercase"): (_always, "opposite cases"),
    ("case:lowercase", "case:capital_words"): (
        lambda a, b: b["relation"] == "at_least" and b["n"] > 0, "capital words in a lower-case text"),
    ("case:uppercase", "case:capital_words"): (
        lambda a, b: b["relation"] == "at_most", "an upper-case text is all capital words"),
    ("start:letter", "start:phrase"): (
        lambda a, b: _letter_mismatch(a["letter"], b["phrase"]), "the phrase starts with another letter"),
    ("start:letter", "format:sections"): (
        lambda a, b: _letter_mismatch(a["letter"], b["marker"]), "section openers start with another letter"),
    ("end:punctuation", "end:phrase"): (
        lambda a, b: _ends_with_other_mark(a["mark"], b["phrase"]), "the closing phrase ends with another mark"),
    ("end:punctuation", "start:phrase"): (
        lambda a, b: _start_phrase_mark(a["mark"], b["phrase"]), "the opening phrase ends with another mark"),
    ("format:quoted", "start:phrase"): (_always, "the response must open with a quote"),
    ("format:quoted", "end:phrase"): (_always, "the response must close with a quote"),
    ("format:json", "format:paragraphs"): (lambda a, b: b["n"] != 1, "JSON is one paragraph"),
    ("length:words_per_sentence", "start:phrase"): (
        lambda a, b: a["relation"] == "at_most" and _phrase_words(b["phrase"]) > a["n"], "opening phrase too long"),
    ("length:words_per_sentence", "end:phrase"): (
        lambda a, b: a["relation"] == "at_most" and _phrase_words(b["phrase"]) > a["n"], "closing phrase too long"),
    ("length:words_per_sentence", "length:words"): (
        lambda a, b: a["relation"] == "at_least" and b["relation"] == "at_most" and a["n"] + 10 > b["n"],
        "one sentence exceeds the word budget"),
    ("length:sentences", "length:words"): (
        lambda a, b: a["relation"] != "at_most" and b["relation"] == "at_most" and 3 * a["n"] + 10 > b["n"],
        "the sentences exceed the word budget"),
    ("length:sentences", "format:bullet_list"): (
        lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"], "each bullet item is a sentence"),
    ("length:sentences", "format:numbered_list"): (
        lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"], "each numbered item is a sentence"),
    ("length:sentences", "format:paragraphs"): (
        lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"], "each paragraph has a sentence"),
    ("length:sentences", "format:sections"): (
        lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"], "each section has a sentence"),
    ("length:sentences", "format:headings"): (
        lambda a, b: a["relation"] != "at_least" and b["n"] > a["n"], "each heading is a sentence"),
    ("keyword:include", "keyword:forbidden"): (
        lambda a, b: _forbidden_in(b["words"], a["word"]), "the keyword is forbidden"),
    ("keyword:frequency", "keyword:forbidden"): (
        lambda a, b: a["relation"] != "at_most" and a["n"] > 0 and _forbidden_in(b["words"], a["word"]),
        "the keyword is forbidden"),
    ("keyword:include", "keyword:frequency"): (
        lambda a, b: textmod.fold(a["word"]) == textmod.fold(b["word"])
        and _at_most(b) is not None and a["min_count"] > b["n"],
        "the same word is required more often than allowed"),
    ("keyword:forbidden", "start:phrase"): (
        lambda a, b: _forbidden_in(a["words"], b["phrase"]), "the opening phrase uses a forbidden word"),
    ("keyword:forbidden", "end:phrase"): (
        lambda a, b: _forbidden_in(a["words"], b["phrase"]), "the closing phrase uses a forbidden word"),
    ("keyword:forbidden", "format:sections"): (
        lambda a, b: _forbidden_in(a["words"], b["marker"]), "the section marker is forbidden"),
    ("keyword:frequency", "start:phrase"): (
        lambda a, b: _keyword_excess(a["word"], _at_most(a), b["phrase"]), "the phrase repeats the word"),
    ("keyword:frequency", "end:phrase"): (
        lambda a, b: _keyword_excess(a["word"], _at_most(a), b["phrase"]), "the phrase repeats the word"),
    ("punctuation:no_commas", "start:phrase"): (lambda a, b: "," in b["phrase"], "the phrase has a comma"),
    ("punctuation:no_commas", "end:phrase"): (lambda a, b: "," in b["phrase"], "the phrase has a comma"),
}
for _other in _JSON_INCOMPATIBLE:
    RULES[("format:json", _other)] = (_always, "a JSON response has no free-form text layout")


def conflict_reason(a: Instruction, b: Instruction) -> str | None:
    """Why ``a`` and ``b`` cannot be active together, or None when they can."""
    if a.id == b.id:
        return "one instruction per category"
    for first, second in ((a, b), (b, a)):
        rule = RULES.get((first.id, second.id))
        if rule and rule[0](first.kwargs, second.kwargs):
            return rule[1]
    return None


def conflicts(a: Instruction, b: Instruction) -> bool:
    """True when ``a`` and ``b`` must not be active together (symmetric)."""
    return conflict_reason(a, b) is not None


def conflicting_types(type_id: str) -> list[str]:
    """Type ids that have a declared rule with ``type_id`` (the rule may depend on parameters)."""
    out = {type_id}
    for first, second in RULES:
        if first == type_id:
            out.add(second)
        elif second == type_id:
            out.add(first)
    return sorted(out)


_PROBE_ANSWER = "three small red boxes"


def compatible(instructions: Iterable[Instruction]) -> bool:
    """True when no two instructions conflict and the whole set has a witness (checked by composing one,
    with a short probe answer, so that a set accepted here can always be answered)."""
    items = list(instructions)
    for index, first in enumerate(items):
        for second in items[index + 1:]:
            if conflicts(first, second):
                return False
    if not items:
        return True
    from generator.authoring.witness import compose_witness

    try:
        compose_witness(items, answer=_PROBE_ANSWER)
    except ValueError:
        return False
    return True
