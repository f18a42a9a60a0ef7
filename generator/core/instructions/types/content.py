"""Content instructions: a postscript, placeholders, image names and a quotation."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from generator.core.instructions import vocab
from generator.core.instructions.base import Example, InstructionType, ParamSpec, Verdict
from generator.core.instructions.requirements import Requirements

_PLACEHOLDER = re.compile(r"\[([^\[\]\n]*)\]")
_WORD_CHAR = re.compile(r"[^\W_]")
_IMAGE_NAME = re.compile(r"(?<![^\W_])image[ \t]?([0-9]+)(?![0-9])", re.IGNORECASE)
_QUOTATION = re.compile(r"[\"“]([^\"“”\n]*)[\"”]")


_EMPHASIS_MARK = r"(?:\*\*|__|\*|_)?"


def _postscript_pattern(marker: str) -> re.Pattern[str]:
    """A line opening with the marker ("P.S.", "P.S.:", "**P.S.:**", "P.P.S:"), then text on that line or the next.

    The final point may be left out before a colon ("P.P.S: More."); a marker alone at the end is no postscript.
    """
    letters = [c for c in marker if c.isalpha()]
    body = r"[ \t]?".join(re.escape(c) + (r"\." if i < len(letters) - 1 else r"\.?") for i, c in enumerate(letters))
    return re.compile(
        r"^[ \t]*" + _EMPHASIS_MARK + body + r"(?<=\.|[^\W\d_](?=[ \t]*:))" + _EMPHASIS_MARK + r":?" + _EMPHASIS_MARK
        + r"(?:[ \t]+\S|[ \t]*\n[ \t]*[^\s])",
        re.IGNORECASE | re.MULTILINE)


class Postscript(InstructionType):
    id = "content:postscript"
    description = "A line that starts with the postscript marker (P.S. or P.P.S., case-insensitive) and some text."
    params = (ParamSpec("marker", "choice", "the postscript marker", choices=vocab.POSTSCRIPT_MARKERS),)
    examples = (
        Example(
            {"marker": "P.S."},
            passing=("Body.\n\np.s. see you",),
            failing=("Body.\nP.P.S. see you", "Body with P.S. inside a line."),
        ),
        Example({"marker": "P.P.S."}, passing=("Body.\nP.P.S. see you",), failing=()),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"marker": rng.choice(["P.S.", "P.S.", "P.P.S."])}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        ok = bool(_postscript_pattern(kwargs["marker"]).search(text))
        return Verdict(ok, f"{'a' if ok else 'no'} line starting with {kwargs['marker']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.postscript = kwargs["marker"]

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return re.sub(r"(?i)p\.\s?(?:p\.\s?)*s\.", "note", text)


class Placeholders(InstructionType):
    id = "content:placeholders"
    description = "At least n placeholders in square brackets, such as [name] (containing a letter or digit)."
    params = (ParamSpec("n", "int", "minimum number of placeholders", minimum=1, maximum=20),)
    examples = (
        Example({"n": 2}, passing=("Dear [name], at [address].",), failing=("Dear [name], at [ ].",)),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.randint(1, 3)}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        count = sum(1 for inner in _PLACEHOLDER.findall(text) if _WORD_CHAR.search(inner))
        return Verdict(count >= kwargs["n"], f"{count} placeholders, need at least {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        words = vocab.PLACEHOLDERS
        req.tokens.extend(words[i % len(words)] for i in range(kwargs["n"]))

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return text.replace("[", "(")


class ImageNames(InstructionType):
    id = "content:image_names"
    description = (
        "The response refers to at least n different images by name: Image1, Image2, ... (also 'Image 2'; "
        "case-insensitive)."
    )
    params = (ParamSpec("n", "int", "minimum number of distinct image names", minimum=1, maximum=5),)
    examples = (
        Example(
            {"n": 2},
            passing=("Image1 and image 3 differ.",),
            failing=("Image1 and Image1 again; myimage2.",),
        ),
    )

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.choice([1, 1, 2])}

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        names = {int(m.group(1)) for m in _IMAGE_NAME.finditer(text)}
        return Verdict(len(names) >= kwargs["n"], f"{len(names)} image names, need at least {kwargs['n']}")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.tokens.extend(f"Image{i + 1}" for i in range(kwargs["n"]))

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return re.sub(r"(?i)image\s?[0-9]+", "picture", text)


class Quotation(InstructionType):
    id = "content:quotation"
    description = "The response contains a quotation: words between double quotes (\"...\" or “...”) on one line."
    examples = (
        Example({}, passing=('He said "hello there".',), failing=('He said " ".',)),
    )

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        found = any(_WORD_CHAR.search(inner) for inner in _QUOTATION.findall(text))
        return Verdict(found, "contains a quotation" if found else "no quotation in double quotes")

    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:
        req.tokens.append(vocab.QUOTATION)

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:
        return re.sub("[\"“”]", "'", text)
