"""The 13 official MMMT-IF wordings (verbatim, typos included) and their parser.

Each official wording maps to one of the six official instruction types with fixed parameters. The parser also
reads the official *style* with other parameters (e.g. "Start every sentence with the letter (T).") so that
wordings rendered with ``style="official"`` round-trip.
"""

from __future__ import annotations

import re

from generator.core.instructions.registry import Instruction

_PREFIX = re.compile(r"^\s*instruction\s*:\s*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")

# (verbatim wording without the "Instruction: " prefix, type id, kwargs), in the order of the release catalogue.
OFFICIAL_WORDINGS: tuple[tuple[str, str, dict], ...] = (
    ("Make all the following responses no more than 4 sentences.", "length:sentences",
     {"relation": "at_most", "n": 4}),
    ("Make all the following responses at least 5 sentences.", "length:sentences",
     {"relation": "at_least", "n": 5}),
    ("Include at least one odd number bigger than 5 in each of your responses.", "number:include",
     {"parity": "odd", "greater_than": 5}),
    ("Include at least one even number in the range bigger than 5 in each of your responses.", "number:include",
     {"parity": "even", "greater_than": 5}),
    ("Start every sentence with the letter (S).", "start:letter", {"letter": "S"}),
    ("Start every sentence with the letter (B).", "start:letter", {"letter": "B"}),
    ("End every sentence with a question mark (?).", "end:punctuation", {"mark": "?"}),
    ("End every sentence with a exclamation mark (!).", "end:punctuation", {"mark": "!"}),
    ("Only use responses to question where each sentence in the response is at least 18 words in all future "
     "responses.", "length:words_per_sentence", {"relation": "at_least", "n": 18}),
    ("Only use responses to question where each sentence in the response is at most 18 words in all future "
     "responses.", "length:words_per_sentence", {"relation": "at_most", "n": 18}),
    ("Use the word 'per se' at least once in all future responses.", "keyword:include",
     {"word": "per se", "min_count": 1}),
    ("Use the word 'itself' at least once in all future responses.", "keyword:include",
     {"word": "itself", "min_count": 1}),
    ("Use the word 'like' at least once in all future responses.", "keyword:include",
     {"word": "like", "min_count": 1}),
)

_PATTERNS: tuple[tuple[re.Pattern[str], object], ...] = (
    (re.compile(r"make all the following responses (no more than|at least|exactly) (\d+) sentences?\.?", re.I),
     lambda m: ("length:sentences", {"relation": {"no more than": "at_most", "at least": "at_least",
                                                  "exactly": "exactly"}[m.group(1).lower()], "n": int(m.group(2))})),
    (re.compile(r"include at least one (odd|even) number (?:in the range )?bigger than (-?\d+) in each of your "
                r"responses\.?", re.I),
     lambda m: ("number:include", {"parity": m.group(1).lower(), "greater_than": int(m.group(2))})),
    (re.compile(r"start every sentence with the letter \((\w)\)\.?", re.I),
     lambda m: ("start:letter", {"letter": m.group(1)})),
    (re.compile(r"end every sentence with an? (?:question|exclamation) mark \(([?!])\)\.?|"
                r"end every sentence with an? period \((\.)\)\.?", re.I),
     lambda m: ("end:punctuation", {"mark": m.group(1) or m.group(2)})),
    (re.compile(r"only use responses to question where each sentence in the response is (at least|at most) (\d+) "
                r"words in all future responses\.?", re.I),
     lambda m: ("length:words_per_sentence", {"relation": m.group(1).lower().replace(" ", "_"),
                                              "n": int(m.group(2))})),
    (re.compile(r"use the word '([^']+)' at least (once|twice|\d+ times) in all future responses\.?", re.I),
     lambda m: ("keyword:include", {"word": m.group(1), "min_count": {"once": 1, "twice": 2}.get(
         m.group(2).lower(), int(m.group(2).split()[0]) if m.group(2)[0].isdigit() else 1)})),
)


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", _PREFIX.sub("", text)).strip()


def official_catalogue() -> list[tuple[str, Instruction]]:
    """The 13 official wordings (without the "Instruction: " prefix) with the instruction each one means."""
    return [(wording, Instruction(type_id, dict(kwargs))) for wording, type_id, kwargs in OFFICIAL_WORDINGS]


_EXACT = {_normalise(w).casefold(): (t, k) for w, t, k in OFFICIAL_WORDINGS}


def parse_official(text: str) -> Instruction | None:
    """The instruction an official-style wording means, or None.

    Accepts the wording with or without the "Instruction: " prefix, with any whitespace (the release hard-wraps
    its text) and in any case; a question that follows the wording is not accepted (pass the wording alone).
    """
    if not isinstance(text, str):
        return None
    norm = _normalise(text)
    exact = _EXACT.get(norm.casefold())
    if exact:
        return Instruction(exact[0], dict(exact[1]))
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(norm)
        if match:
            type_id, kwargs = build(match)  # type: ignore[operator]
            try:
                return Instruction(type_id, kwargs)
            except ValueError:
                return None
    return None
