"""Format instructions: lists, JSON, quoting, a title, paragraphs, highlights, sections and headings."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import rules, vocab
from generator.core.instructions.base import Conflict, Example, InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements

_BULLET_LINE = re.compile(r"^[ \t]*[-*+•][ \t]+\S", re.MULTILINE)
_NUMBERED_LINE = re.compile(r"^[ \t]*[0-9]{1,3}[.)][ \t]+\S", re.MULTILINE)
_THEMATIC_LINE = re.compile(r"^[ \t]*(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,})$", re.MULTILINE)
# A title is the shortest run between "<<" and ">>" on one line; it may itself hold "<" or ">" ("<<Why 3 < 5>>").
_TITLE = re.compile(r"<<([^\n]*?)>>")
_WORD_CHAR = re.compile(r"[^\W_]")
_HIGHLIGHT = re.compile(r"\*{1,2}[^\s*][^*\n]*?\*{1,2}")
_HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_FENCE = re.compile(r"^```[A-Za-z]*[ \t]*\n(.*)\n```$", re.DOTALL)
_OPEN_QUOTES = ('"', "“")
_CLOSE_QUOTES = ('"', "”")


def _count_int(kind: str, low: int, high: int) -> ParamSpec:
    return ParamSpec("n", "int", f"the exact number of {kind}", minimum=low, maximum=high)


class BulletList(InstructionType):
    id = "format:bullet_list"
    description = (
        "Exactly n bullet items: lines starting with '-', '*', '+' or '•' and a space (any indentation; thematic "
        "breaks such as '***' do not count; numbered items are a separate instruction)."
    )
    params = (_count_int("bullet items", 1, 20),)
    examples = (
        Example(
            {"n": 2},
            passing=("Intro\n- one\n  * two\n***\n1. not a bullet",),
            failing=("- one\n- two\n• three",),
        ),
        Example({"n": 1}, passing=("-5 degrees\n*emphasis* only\n- real",), failing=()),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.randint(2, 5)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = len(_BULLET_LINE.findall(text)) - len(
            [m for m in _THEMATIC_LINE.finditer(text) if _BULLET_LINE.match(m.group(0))]
        )
        return Verdict(count == kwargs["n"], f"{count} bullet items, need exactly {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.bullets = kwargs["n"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + "\n- extra item"


class NumberedList(InstructionType):
    id = "format:numbered_list"
    description = "Exactly n numbered items: lines starting with up to three digits, '.' or ')', and a space."
    params = (_count_int("numbered items", 1, 20),)
    examples = (
        Example(
            {"n": 2},
            passing=("1. one\n2) two\n- bullet",),
            failing=("1. one\n2024. year\n3.5 is a number",),
        ),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.randint(2, 5)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = len(_NUMBERED_LINE.findall(text))
        return Verdict(count == kwargs["n"], f"{count} numbered items, need exactly {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.numbered = kwargs["n"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + "\n9. extra item"


def parse_json_response(text: str) -> tuple[bool, str]:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body or body[0] not in "{[":
        return False, "does not start with '{' or '['"
    try:
        json.loads(body)
    except (ValueError, RecursionError) as exc:
        return False, f"invalid JSON: {str(exc)[:80]}"
    return True, "valid JSON"


_NO_LAYOUT = "a JSON response has no free-form text layout"


class JsonOutput(InstructionType):
    id = "format:json"
    description = (
        "The whole response is one JSON object or array (a single surrounding ``` or ```json fence is allowed)."
    )
    conflicts = {
        "format:paragraphs": Conflict(lambda a, b: b["n"] != 1, "JSON is one paragraph"),
        "start:letter": Conflict(rules.always, _NO_LAYOUT),
        "end:punctuation": Conflict(rules.always, _NO_LAYOUT),
        "length:words_per_sentence": Conflict(rules.always, _NO_LAYOUT),
        "start:phrase": Conflict(rules.always, _NO_LAYOUT),
        "end:phrase": Conflict(rules.always, _NO_LAYOUT),
        "format:bullet_list": Conflict(rules.always, _NO_LAYOUT),
        "format:numbered_list": Conflict(rules.always, _NO_LAYOUT),
        "format:quoted": Conflict(rules.always, _NO_LAYOUT),
        "content:postscript": Conflict(rules.always, _NO_LAYOUT),
        "format:sections": Conflict(rules.always, _NO_LAYOUT),
        "format:headings": Conflict(rules.always, _NO_LAYOUT),
    }
    examples = (
        Example(
            {},
            passing=('{"a": [1, 2]}', '```json\n{"a": 1}\n```'),
            failing=('Here: {"a": 1}', '"just a string"', "[" * 5000),
        ),
    )

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        ok, reason = parse_json_response(text)
        return Verdict(ok, reason)

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.json = True

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + " trailing"


class Quoted(InstructionType):
    id = "format:quoted"
    description = "The whole response is wrapped in double quotes (\" or “ ” as the first and last visible characters)."
    conflicts = {
        "start:phrase": Conflict(rules.always, "the response must open with a quote"),
        "end:phrase": Conflict(rules.always, "the response must close with a quote"),
    }
    examples = (
        Example({}, passing=('  "Wrapped text."\n', "“Curly quotes.”"), failing=('"Only opening.',)),
    )

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        body = text.strip()
        ok = len(body) >= 2 and body.startswith(_OPEN_QUOTES) and body.endswith(_CLOSE_QUOTES)
        return Verdict(ok, "wrapped in double quotes" if ok else "not wrapped in double quotes")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.quoted = True

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + " tail"


class Title(InstructionType):
    id = "format:title"
    description = "The response contains a title in double angular brackets, such as <<a title>>, on one line."
    # A fluency rule: a title of 18 words is no title (references must read naturally, see docs/instructions.md).
    conflicts = {
        "length:words_per_sentence": Conflict(
            lambda a, b: b["relation"] == "at_least" and b["n"] > rules.LABEL_WORDS, "a title is not a long sentence"),
    }
    examples = (
        Example({}, passing=("<<My Title>>\nBody.",), failing=("<< >> and <<broken\ntitle>>",)),
    )

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        for match in _TITLE.finditer(text):
            if _WORD_CHAR.search(match.group(1)):
                return Verdict(True, f"title {match.group(0)[:40]!r}")
        return Verdict(False, "no <<title>>")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.title = True

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text.replace("<<", "((")


class Paragraphs(InstructionType):
    id = "format:paragraphs"
    description = (
        "Exactly n paragraphs: chunks separated by blank lines or by a markdown divider line ('***', '---') "
        "that contain a letter or digit."
    )
    params = (_count_int("paragraphs", 1, 20),)
    examples = (
        Example({"n": 3}, passing=("One.\n\nTwo.\n***\nThree.",), failing=("One.\nStill one.\n\nTwo.",)),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.randint(2, 4)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = len(textmod.paragraphs(text))
        return Verdict(count == kwargs["n"], f"{count} paragraphs, need exactly {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.paragraphs = kwargs["n"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + "\n\nExtra paragraph."


def count_highlights(text: str) -> int:
    return len(_HIGHLIGHT.findall(text))


class Highlights(InstructionType):
    id = "format:highlights"
    description = (
        "At least n highlighted spans in markdown emphasis, *like this* or **like this** (the span does not start "
        "with a space, so list bullets do not count)."
    )
    params = (ParamSpec("n", "int", "minimum number of highlighted spans", minimum=1, maximum=20),)
    examples = (
        Example(
            {"n": 2},
            passing=("A *key* and **bold** part.",),
            failing=("* bullet *\n2 * 3 * 4 and *one*",),
        ),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.randint(1, 3)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = count_highlights(text)
        return Verdict(count >= kwargs["n"], f"{count} highlighted spans, need at least {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        words = vocab.HIGHLIGHTS
        req.tokens.extend(words[i % len(words)] for i in range(kwargs["n"]))

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text.replace("*", "")


class Sections(InstructionType):
    id = "format:sections"
    description = (
        "Exactly n sections, each opened by a line that starts with the marker and its number (e.g. 'Section 1'; "
        "case-insensitive; an optional markdown heading or bold marker before it is allowed)."
    )
    params = (
        ParamSpec("marker", "choice", "the section marker word", choices=vocab.SECTION_MARKERS),
        _count_int("sections", 1, 10),
    )
    examples = (
        Example(
            {"marker": "Section", "n": 2},
            passing=("Section 1\nText.\n## SECTION 2\nMore.",),
            failing=("Section 1\nSee section 2 below.",),
        ),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"marker": rng.choice(vocab.SECTION_MARKERS), "n": rng.randint(2, 4)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        pattern = re.compile(
            r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__|\*|_)?" + re.escape(kwargs["marker"]) + r"[ \t]+[0-9]+(?![0-9])",
            re.MULTILINE | re.IGNORECASE,
        )
        count = len(pattern.findall(text))
        return Verdict(count == kwargs["n"], f"{count} sections, need exactly {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.sections = (kwargs["marker"], kwargs["n"])

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text + f"\n{kwargs['marker']} 99\nmore text."


class Headings(InstructionType):
    id = "format:headings"
    description = "At least n markdown headings: lines starting with one to six '#' and a space."
    params = (ParamSpec("n", "int", "minimum number of headings", minimum=1, maximum=10),)
    # Fluency rules: a heading is a short label, not a long sentence with an opener.
    conflicts = {
        "length:words_per_sentence": Conflict(
            lambda a, b: b["relation"] == "at_least" and b["n"] > rules.LABEL_WORDS,
            "a heading is not a long sentence"),
        "start:letter": Conflict(rules.always, "headings are labels, not sentences with an opener"),
    }
    examples = (
        Example({"n": 2}, passing=("# One\ntext\n### Two",), failing=("# One\n#hashtag",)),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.randint(1, 3)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = len(_HEADING_LINE.findall(text))
        return Verdict(count >= kwargs["n"], f"{count} headings, need at least {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.headings = max(req.headings, kwargs["n"])

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return re.sub(r"(?m)^#+ ", "", text)
