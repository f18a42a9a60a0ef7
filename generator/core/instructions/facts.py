"""What the images of one chat show, as plain data: the one interface between image sources and the
image-grounded instruction types.

A source that knows its scenes (the procedural families) or has user metadata (a per-image ``title`` or
``objects``) describes each image with an :class:`ImageFacts`; the samplers of ``grounded:*`` instructions draw
their parameters from a :class:`ChatFacts` and copy the facts they use into the instruction's parameters, so a
checker never needs the images. A field left empty means "unknown", never "absent from the image": a type whose
facts are unknown for every image of a chat is simply not sampled for it.

Standard library only (the checker core embeds this module).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ChatFacts", "ImageFacts", "quotable"]

# A title that can sit inside single quotes in any response: letters, digits, spaces, '&' and '-' only (no comma,
# quote or sentence mark that another rule could forbid or that would end a sentence).
_QUOTABLE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 &-]*[A-Za-z0-9])?")


def quotable(title: str) -> bool:
    """True when ``title`` is a plain one-line name that can be quoted and matched as whole words."""
    return bool(_QUOTABLE.fullmatch(title)) and "  " not in title


@dataclass(frozen=True)
class ImageFacts:
    """Facts one image shows. Every field is optional; each is exactly what the image shows.

    - ``kind``: a noun for the image ("bar chart", "receipt", "photo").
    - ``title``: the title printed on it (a chart title, a calendar's "March 2027", a receipt's store name) or
      given by the user.
    - ``categories``: names the image shows (bar and slice labels, products, shape kinds, user ``objects``);
      ``category_pool``: the names an image of this kind could have shown (the complement is what it does not
      show), empty when unknown.
    - ``values``: the value of each category, when the image states it (printed or on gridlines);
      ``maximum``: the largest value it states (also for charts whose values are not per category).
    - ``colours``: colour names that appear in the image.
    - ``count`` / ``count_noun``: how many things of one kind it shows ("7 shapes").
    - ``time``: ``[hour, minute]`` on a clock dial (12-hour).
    - ``items``: list entries in their printed order (a receipt's products); ``total``: the printed total.
    - ``calendar``: ``{"year", "month", "marked"}`` of a month calendar with circled days.
    - ``star``: the grid cell that holds the star ("C4").
    - ``peak_year``: the year at which a line chart reaches its single highest value.
    """

    kind: str = "image"
    title: str | None = None
    categories: tuple[str, ...] = ()
    category_pool: tuple[str, ...] = ()
    values: tuple[int, ...] = ()
    maximum: int | None = None
    colours: tuple[str, ...] = ()
    count: int | None = None
    count_noun: str | None = None
    time: tuple[int, int] | None = None
    items: tuple[str, ...] = ()
    total: str | None = None
    calendar: dict[str, Any] | None = None
    star: str | None = None
    peak_year: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with empty fields left out."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v not in (None, ())}

    @property
    def top_category(self) -> str | None:
        """The category with the single largest value, or None (no values, or a tie)."""
        if not self.values or len(self.values) != len(self.categories):
            return None
        best = max(self.values)
        winners = [c for c, v in zip(self.categories, self.values, strict=True) if v == best]
        return winners[0] if len(winners) == 1 else None


@dataclass(frozen=True)
class ChatFacts:
    """The facts of every image of a chat, in chat order (``images[0]`` is Image1), and the chat's questions (a
    rule must not forbid a name that a question asks about)."""

    images: tuple[ImageFacts, ...] = field(default_factory=tuple)
    questions: tuple[str, ...] = ()

    def named(self) -> list[tuple[int, ImageFacts]]:
        """``(1-based position, facts)`` pairs."""
        return [(i + 1, facts) for i, facts in enumerate(self.images)]

    def titles(self) -> list[tuple[int, str]]:
        """Quotable titles that name exactly one image of the chat, as ``(position, title)``."""
        seen: dict[str, int] = {}
        for position, facts in self.named():
            if facts.title and quotable(facts.title):
                key = facts.title.casefold()
                seen[key] = -1 if key in seen else position
        return [(p, f.title) for p, f in self.named()
                if f.title and seen.get(f.title.casefold(), -1) == p]

    def words_elsewhere(self, position: int) -> set[str]:
        """Case-folded titles, categories and items of every image except ``position`` (1-based)."""
        out: set[str] = set()
        for other, facts in self.named():
            if other != position:
                out.update(x.casefold() for x in (*facts.categories, *facts.items))
                if facts.title:
                    out.add(facts.title.casefold())
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"images": [facts.to_dict() for facts in self.images], "questions": list(self.questions)}
