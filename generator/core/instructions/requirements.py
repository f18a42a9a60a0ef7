"""What a satisfying response needs: the contract between instruction types and the witness composer.

Each instruction type records its demands here (``InstructionType.contribute``); the composer in
:mod:`generator.authoring.witness` turns a filled-in object into a text. Keeping the data declaration in the
checker core lets a type declare its contribution without importing the composer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Requirements:
    """Everything the active instructions demand of one response."""

    letter: str | None = None
    mark: str | None = None
    wmin: int = 0
    wmax: int | None = None
    case: str | None = None  # "lower" | "upper"
    no_commas: bool = False
    forbidden: set[str] = field(default_factory=set)
    smin: int = 0
    smax: int | None = None
    tmin: int = 0
    tmax: int | None = None
    keyword_min: dict[str, int] = field(default_factory=dict)
    keyword_max: dict[str, int] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    bullets: int | None = None
    numbered: int | None = None
    paragraphs: int | None = None
    headings: int = 0
    sections: tuple[str, int] | None = None
    title: bool = False
    postscript: str | None = None
    quoted: bool = False
    json: bool = False
    start_phrase: str | None = None
    end_phrase: str | None = None
    capital_max: int | None = None
    # image-grounded rules: words the first sentence must hold, words always written in capitals, and
    # (token, alternatives) pairs: the token is added unless the answer already names one of the alternatives
    lead_tokens: list[str] = field(default_factory=list)
    upper_words: set[str] = field(default_factory=set)
    one_of: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
