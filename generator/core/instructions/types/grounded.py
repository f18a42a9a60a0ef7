"""Image-grounded instructions: standing rules that a response can only follow by looking at the images.

Each type's sampler draws its parameters from what the chat's images show (:class:`ChatFacts`) and copies the facts
it relies on into the parameters, so the checker stays a pure function of (parameters, text) and scoring never
needs the images. A sampler returns None when the chat's images cannot support the rule (no chart, no clock, no
title), and the generator then never places it. Every rule also demands something that only the images supply
(how many images there were, a title, a colour, a value, a time), so a response that ignores the images fails it.

Matching is case-insensitive and on whole words unless a rule is about case. Standard library only: the released
scorer embeds this module.
"""

from __future__ import annotations

import calendar
import random
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from generator.core import text as textmod
from generator.core.instructions import rules
from generator.core.instructions.base import Conflict, Example, InstructionType, ParamSpec, Verdict
from generator.core.instructions.facts import ChatFacts, ImageFacts
from generator.core.instructions.requirements import Requirements

__all__ = ["EXAMPLE_FACTS", "GroundedType", "has_number", "term_count"]

Kw = Mapping[str, Any]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
                 "twenty")
_QUOTES = "'\"‘’“”"
_IMAGE = ParamSpec("image", "int", "the image the rule is about (1 = Image1)", minimum=1, maximum=20)
_TITLE = ParamSpec("title", "phrase", "the title printed on that image")

# The example chat of the docs and the registry walk: the facts of seven real scenes (their specs are in
# ``generator.generation.sources.examples``; a test derives these facts from them). Every type can be hosted by it.
EXAMPLE_FACTS = ChatFacts(images=(
    ImageFacts(kind="bar chart", title="Books borrowed", categories=("Comics", "Travel", "Fantasy"),
               category_pool=("Poetry", "Drama", "Travel", "Science", "History", "Comics", "Fantasy", "Cooking"),
               values=(1, 10, 24), maximum=24, colours=("red", "blue", "orange"), count=3, count_noun="bars"),
    ImageFacts(kind="receipt", title="Mendez-Williams", categories=("Candles", "Muffin", "Cheese", "Bananas"),
               category_pool=("Apples", "Bagel", "Bananas", "Bread", "Butter", "Candles", "Cheese", "Coffee",
                              "Cookies", "Eggs", "Honey", "Juice", "Milk", "Muffin", "Napkins", "Pasta", "Rice",
                              "Soap", "Tea", "Yogurt"),
               items=("Candles", "Muffin", "Cheese", "Bananas"), total="19.48", count=4, count_noun="products"),
    ImageFacts(kind="clock", time=(6, 0), colours=("black",)),
    ImageFacts(kind="calendar", title="December 2032", colours=("red",),
               calendar={"year": 2032, "month": 12, "marked": [15, 24]}, count=2, count_noun="circled days"),
    ImageFacts(kind="line chart", title="Orders shipped", categories=("Online",), maximum=44, colours=("green",),
               peak_year=2015),
    ImageFacts(kind="grid map", categories=("star", "dot"), colours=("blue", "green", "red", "white", "yellow"),
               star="D5", count=5, count_noun="rows"),
    ImageFacts(kind="shapes", categories=("circle", "square", "triangle"),
               category_pool=("circle", "square", "triangle"), colours=("blue", "red", "yellow"), count=6,
               count_noun="shapes"),
), questions=("Is Honey on the receipt in Image2?",))


# ------------------------------------------------------------------------------------------------ matching
@lru_cache(maxsize=512)
def _phrase_re(phrase: str, plural: bool = False) -> re.Pattern[str]:
    """Whole-word, case-insensitive pattern of ``phrase``; ``plural`` also accepts a final -s / -es, -y / -ies and
    the singular of a name ending in s, so "Apples" also matches "apple", "triangle" "triangles" and "Fantasy"
    "fantasies"."""
    words = phrase.split()
    last = re.escape(words[-1])
    if plural:
        word = words[-1]
        bases = {word}
        lower = word.lower()
        if lower.endswith("ies") and len(word) > 4:
            bases.add(word[:-3] + "y")
        elif lower.endswith("es") and len(word) > 3:
            bases.update((word[:-2], word[:-1]))
        elif lower.endswith("s") and len(word) > 3:
            bases.add(word[:-1])
        if lower.endswith("y") and len(word) > 3 and lower[-2] not in "aeiou":
            bases.add(word[:-1] + "ies")
        options = "|".join(re.escape(b) for b in sorted(bases, key=lambda b: (-len(b), b)))
        last = f"(?:{options})(?:e?s)?"
    core = r"\s+".join([*map(re.escape, words[:-1]), last])
    return re.compile(r"(?<![^\W_])" + core + r"(?![^\W_])", re.IGNORECASE)


def term_count(text: str, term: str) -> int:
    """Occurrences of a category name in ``text``, singular or plural, whole words, any case."""
    return len(_phrase_re(term, True).findall(text))


def _names_any(names: Iterable[str], phrase: str) -> bool:
    return any(term_count(phrase, name) for name in names)


def _quoted(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is directly enclosed in quotes (an escaped closing quote, as in JSON, counts)."""
    before = text[start - 1:start]
    after = text[end:end + 2]
    closing = after[:1] in _QUOTES if after[:1] != "\\" else after[1:2] in _QUOTES
    return bool(before) and before in _QUOTES and bool(after) and closing


@lru_cache(maxsize=256)
def _number_re(value: int) -> re.Pattern[str]:
    """The integer ``value`` as digits (not part of a longer number, a decimal or a name like Image3) or, up to
    twenty, as a number word."""
    options = [r"(?<![\w.,])" + re.escape(str(value)) + r"(?![\w]|[.,]\d)"]
    if 0 <= value < len(_NUMBER_WORDS):
        options.append(r"(?<![^\W_])" + _NUMBER_WORDS[value] + r"(?![^\W_])")
    return re.compile("|".join(options), re.IGNORECASE)


def has_number(text: str, value: int) -> bool:
    """``value`` is stated in ``text`` (digits or, up to twenty, a number word)."""
    return bool(_number_re(value).search(text))


def ordinal(day: int) -> str:
    """1 -> "1st", 22 -> "22nd", 13 -> "13th"."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# ------------------------------------------------------------------------------------------------ base class
class GroundedType(InstructionType):
    """An instruction type whose parameters are facts of the chat's images.

    ``facts_used`` names the :class:`ImageFacts` fields the sampler reads (``mmmtif instructions`` lists them).
    ``sample_kwargs(rng)`` draws from :data:`EXAMPLE_FACTS` (for examples and tests); generation calls
    :meth:`sample_for_chat` with the chat's own facts and never places the type when it returns None.
    The first of ``examples`` is the documented one; its parameters are true of :data:`EXAMPLE_FACTS`.
    """

    image_grounded = True
    facts_used: tuple[str, ...] = ()

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        """Parameters drawn from the chat's facts, or None when its images cannot support this rule."""
        raise NotImplementedError  # pragma: no cover - abstract

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        kwargs = self.sample_for_chat(rng, EXAMPLE_FACTS)
        assert kwargs is not None, f"{self.id}: the example chat cannot host it"
        return kwargs


def _pick(rng: random.Random, facts: ChatFacts, usable: Callable[[ImageFacts], bool]
          ) -> tuple[int, ImageFacts] | None:
    """One image (1-based position, facts) among those ``usable`` accepts, or None."""
    options = [(p, f) for p, f in facts.named() if usable(f)]
    return rng.choice(options) if options else None


def _pick_titled(rng: random.Random, facts: ChatFacts, usable: Callable[[ImageFacts], bool]
                 ) -> tuple[int, ImageFacts, str] | None:
    """Like :func:`_pick`, among images with a title that names them alone in the chat."""
    titles = dict(facts.titles())
    options = [(p, f) for p, f in facts.named() if p in titles and usable(f)]
    if not options:
        return None
    position, image = rng.choice(options)
    return position, image, titles[position]


def _drop(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub("xx", text)


def _forbidden(key: str) -> Conflict:
    def predicate(own: Kw, other: Kw) -> bool:
        value = own[key]
        return rules.forbidden_in(other["words"], " ".join(value) if isinstance(value, list) else value)

    return Conflict(predicate, "the rule needs a forbidden word")


# ------------------------------------------------------------------------------------------------ the types
class ImageCount(GroundedType):
    id = "grounded:image_count"
    description = ("The first sentence of every response states how many images the chat showed (the number n, in "
                   "digits or as a word, and the word 'image' or 'images').")
    params = (ParamSpec("n", "int", "how many images the chat showed", minimum=1, maximum=20),)
    facts_used = ("number of images",)
    _opening = Conflict(rules.always, "the first sentence must state how many images there were")
    conflicts = {"start:phrase": _opening, "format:title": _opening, "format:headings": _opening,
                 "format:sections": _opening}
    examples = (
        Example({"n": 7}, passing=("I was shown 7 images. The bar chart peaks at Fantasy.",
                                   "Seven images in all, and the bar chart peaks at Fantasy."),
                failing=("The bar chart peaks at Fantasy. I was shown 7 images.", "I was shown 6 images.",
                         "There are 7 bars in Image7.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        n = len(facts.images)
        return {"n": n} if 1 <= n <= 20 else None

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        found = textmod.sentences(text)
        if not found:
            return Verdict(False, "empty response")
        first = found[0]
        if not re.search(r"(?<![^\W_])images?(?![^\W_])", first, re.IGNORECASE):
            return Verdict(False, "the first sentence does not mention the images")
        ok = has_number(first, kwargs["n"])
        return Verdict(ok, f"the first sentence {'states' if ok else 'does not state'} the {kwargs['n']} images")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        n = kwargs["n"]
        req.lead_tokens.append(f"{n} image{'s' if n != 1 else ''}")

    def perturb(self, kwargs: Kw, text: str) -> str:
        return "Hello there. " + text


class QuotedTitle(GroundedType):
    id = "grounded:quoted_title"
    description = ("Every response names at least one image by its title, and every mention of a title is in "
                   "quotes ('Fruit sold'); the titles are those printed on the chat's images.")
    params = (ParamSpec("titles", "strings", "the titles of the chat's images"),)
    facts_used = ("title",)
    conflicts = {"keyword:forbidden": _forbidden("titles")}
    examples = (
        Example({"titles": ["Books borrowed", "Mendez-Williams", "December 2032", "Orders shipped"]},
                passing=("The chart 'Books borrowed' peaks at Fantasy.", 'See “December 2032” and "orders  shipped".',
                         '{"answer": "the chart \\"Books borrowed\\""}'),
                failing=("The chart Books borrowed peaks at Fantasy.", "The bar chart peaks at Fantasy.",
                         "'Books borrowed' and then Orders shipped.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        titles = [t for _, t in facts.titles()]
        return {"titles": titles} if titles else None

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        quoted = 0
        for title in kwargs["titles"]:
            for match in _phrase_re(title).finditer(text):
                if not _quoted(text, match.start(), match.end()):
                    return Verdict(False, f"title {title!r} mentioned without quotes")
                quoted += 1
        return Verdict(quoted > 0, f"{quoted} quoted title mentions" if quoted else "no image title in quotes")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.tokens.append(f"'{kwargs['titles'][0]}'")

    def perturb(self, kwargs: Kw, text: str) -> str:
        for title in kwargs["titles"]:
            core = _phrase_re(title).pattern
            text = re.sub(r"[" + _QUOTES + r"](" + core + r")\\?[" + _QUOTES + r"]", r"\1", text,
                          flags=re.IGNORECASE)
        return text


class ColourCaps(GroundedType):
    id = "grounded:colour_caps"
    description = ("Every response names at least one colour that appears in the images, and every such colour "
                   "word is written in capital letters (RED); the colours are those of the chat's images.")
    params = (ParamSpec("colours", "words", "the colour names that appear in the chat's images"),)
    facts_used = ("colours",)
    conflicts = {
        "case:lowercase": Conflict(rules.always, "colours must be in capitals"),
        "case:capital_words": Conflict(lambda a, b: b["relation"] == "at_most",
                                       "an answer may name several colours, each one in capitals"),
    }
    examples = (
        Example({"colours": ["black", "blue", "green", "orange", "red", "white", "yellow"]},
                passing=("The Fantasy bar is ORANGE and the Comics bar is RED.", "IT IS BLUE."),
                failing=("The Fantasy bar is orange.", "The Fantasy bar is Orange and the Comics bar is RED.",
                         "The bars have several colours.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        # a colour that is also a name in the chat (a category, an item, a title word) is left out
        names = {word.casefold() for f in facts.images for word in (*f.categories, *f.items)}
        names.update(w.casefold() for f in facts.images if f.title for w in f.title.split())
        colours = sorted({c for f in facts.images for c in f.colours if c.casefold() not in names})
        return {"colours": colours} if colours else None

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        named = 0
        for colour in kwargs["colours"]:
            for match in _phrase_re(colour).finditer(text):
                if not match.group(0).isupper():
                    return Verdict(False, f"colour {match.group(0)!r} is not in capitals")
                named += 1
        return Verdict(named > 0, f"{named} colours in capitals" if named else "no colour of the images named")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        colours = tuple(kwargs["colours"])
        req.upper_words.update(colours)
        req.one_of.append((colours[0].upper(), colours))

    def perturb(self, kwargs: Kw, text: str) -> str:
        for colour in kwargs["colours"]:
            text = _phrase_re(colour).sub(colour.lower(), text)
        return text


class ChartMaximum(GroundedType):
    id = "grounded:chart_maximum"
    description = "Every response mentions the largest value shown in one chart (named by its title)."
    params = (_IMAGE, _TITLE, ParamSpec("value", "int", "the largest value the chart shows", minimum=0))
    facts_used = ("title", "maximum")
    examples = (
        Example({"image": 1, "title": "Books borrowed", "value": 24},
                passing=("The highest bar reaches 24.", "It tops out at 24%; twenty is lower."),
                failing=("The highest bar is Fantasy.", "It reached 24.5 or 124 or 2024.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick_titled(rng, facts, lambda f: f.maximum is not None)
        return None if found is None else {"image": found[0], "title": found[2], "value": found[1].maximum}

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        ok = has_number(text, kwargs["value"])
        return Verdict(ok, f"{'mentions' if ok else 'does not mention'} the largest value {kwargs['value']}")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.numbers.append(kwargs["value"])

    def perturb(self, kwargs: Kw, text: str) -> str:
        return _drop(_number_re(kwargs["value"]), text)


class TopCategory(GroundedType):
    id = "grounded:top_category"
    description = "Every response names the category with the largest value in one chart (named by its title)."
    params = (_IMAGE, _TITLE, ParamSpec("category", "phrase", "the category with the largest value"))
    facts_used = ("title", "categories", "values")
    conflicts = {"keyword:forbidden": _forbidden("category")}
    examples = (
        Example({"image": 1, "title": "Books borrowed", "category": "Fantasy"},
                passing=("Fantasy is borrowed most.", "FANTASIES lead."),
                failing=("Travel is borrowed often.", "Fantastic results.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick_titled(rng, facts, lambda f: f.top_category is not None)
        return None if found is None else {"image": found[0], "title": found[2], "category": found[1].top_category}

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        ok = term_count(text, kwargs["category"]) > 0
        return Verdict(ok, f"{'names' if ok else 'does not name'} the top category {kwargs['category']!r}")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.one_of.append((kwargs["category"], (kwargs["category"],)))

    def perturb(self, kwargs: Kw, text: str) -> str:
        return _drop(_phrase_re(kwargs["category"], True), text)


class ClosedVocabulary(GroundedType):
    id = "grounded:closed_vocabulary"
    description = ("Every response names at least one category or item the images show (``shown``) and never one "
                   "of the same kinds that none of them shows (``absent``; singular or plural, any case). Names a "
                   "question of the chat uses are never in ``absent``.")
    params = (ParamSpec("shown", "strings", "categories and items the images show"),
              ParamSpec("absent", "strings", "categories of the same kinds that no image shows"))
    facts_used = ("categories", "category_pool", "items")
    conflicts = {
        "keyword:include": Conflict(lambda a, b: _names_any(a["absent"], b["word"]),
                                    "the keyword names something no image shows"),
        "keyword:frequency": Conflict(
            lambda a, b: b["relation"] != "at_most" and b["n"] > 0 and _names_any(a["absent"], b["word"]),
            "the keyword names something no image shows"),
        "keyword:forbidden": Conflict(lambda a, b: all(rules.forbidden_in(b["words"], name) for name in a["shown"]),
                                      "every shown name is forbidden"),
        "start:phrase": Conflict(lambda a, b: _names_any(a["absent"], b["phrase"]),
                                 "the opening phrase names something no image shows"),
        "end:phrase": Conflict(lambda a, b: _names_any(a["absent"], b["phrase"]),
                               "the closing phrase names something no image shows"),
        "grounded:top_category": Conflict(lambda a, b: _names_any(a["absent"], b["category"]),
                                          "the top category is declared absent"),
        "grounded:receipt_items": Conflict(lambda a, b: any(_names_any(a["absent"], item) for item in b["items"]),
                                           "a receipt item is declared absent"),
    }
    examples = (
        Example({"shown": ["Bananas", "Candles", "Cheese", "Comics", "Fantasy", "Muffin", "Travel", "circle", "square",
                           "triangle"],
                 "absent": ["Apples", "Bagel", "Bread", "Butter", "Coffee", "Cookies", "Cooking", "Drama", "Eggs",
                            "History", "Juice", "Milk", "Napkins", "Pasta", "Poetry", "Rice", "Science", "Soap", "Tea",
                            "Yogurt"]},
                passing=("Comics, Travel and Fantasy are the genres shown.", "Two circles."),
                failing=("Comics and Poetry are the genres shown.", "No genre is named here.",
                         "A banana and some APPLES.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        shown_all = {c.casefold() for f in facts.images for c in (*f.categories, *f.items)}
        shown = sorted({c for f in facts.images if f.category_pool for c in f.categories})
        pool = sorted({c for f in facts.images for c in f.category_pool if c.casefold() not in shown_all})
        # A name a question uses ("Is Honey on the receipt?") may be answered with: never forbid it. Nor a name
        # that is a form of a shown one.
        absent = [c for c in pool if not any(term_count(q, c) for q in facts.questions)
                  and not any(term_count(s, c) or term_count(c, s) for s in shown_all)]
        if not shown or not absent:
            return None
        return {"shown": shown, "absent": absent}

    def validate_combination(self, kwargs: dict[str, Any]) -> None:
        overlap = {s.casefold() for s in kwargs["shown"]} & {a.casefold() for a in kwargs["absent"]}
        if overlap:
            raise ValueError(f"{self.id}: {sorted(overlap)} both shown and absent")

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        for name in kwargs["absent"]:
            if term_count(text, name):
                return Verdict(False, f"names {name!r}, which no image shows")
        named = sum(1 for name in kwargs["shown"] if term_count(text, name))
        return Verdict(named > 0, f"names {named} shown categories" if named else "names nothing the images show")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.one_of.append((kwargs["shown"][0], tuple(kwargs["shown"])))
        req.forbidden.update(a.casefold() for a in kwargs["absent"])

    def perturb(self, kwargs: Kw, text: str) -> str:
        return text + " " + kwargs["absent"][0]


class ClockTime(GroundedType):
    id = "grounded:clock_time"
    description = "Every response states the time shown on one clock, written H:MM (9:05; a leading zero is allowed)."
    params = (_IMAGE, ParamSpec("hour", "int", "the hour on the dial", minimum=1, maximum=12),
              ParamSpec("minute", "int", "the minutes past the hour", minimum=0, maximum=59))
    facts_used = ("time",)
    examples = (
        Example({"image": 3, "hour": 6, "minute": 0},
                passing=("The clock shows 6:00.", "It is 06:00 now."),
                failing=("The clock shows six o'clock.", "It is 16:00 or 6:005.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick(rng, facts, lambda f: f.time is not None)
        if found is None or found[1].time is None:
            return None
        return {"image": found[0], "hour": found[1].time[0], "minute": found[1].time[1]}

    @staticmethod
    def _pattern(kwargs: Kw) -> re.Pattern[str]:
        stamp = f"{kwargs['hour']}:{kwargs['minute']:02d}"
        return re.compile(r"(?<![\d:])0?" + re.escape(stamp) + r"(?![\d])")

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        ok = bool(self._pattern(kwargs).search(text))
        return Verdict(ok, f"{'states' if ok else 'does not state'} the time {kwargs['hour']}:{kwargs['minute']:02d}")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.tokens.append(f"{kwargs['hour']}:{kwargs['minute']:02d}")

    def perturb(self, kwargs: Kw, text: str) -> str:
        return _drop(self._pattern(kwargs), text)


class ReceiptItems(GroundedType):
    id = "grounded:receipt_items"
    description = ("Every response lists every product of one receipt, in the order printed on it (other words "
                   "may come in between; the products must be found in that order).")
    params = (_IMAGE, ParamSpec("items", "strings", "the products in their printed order"))
    facts_used = ("items",)
    conflicts = {"keyword:forbidden": _forbidden("items")}
    examples = (
        Example({"image": 2, "items": ["Candles", "Muffin", "Cheese", "Bananas"]},
                passing=("It lists Candles, Muffin, Cheese and Bananas.",
                         "Bananas first? No: candles, then a muffin, cheese and a banana."),
                failing=("It lists Bananas, Candles, Muffin and Cheese.", "It lists Candles, Muffin and Cheese.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick(rng, facts, lambda f: 2 <= len(f.items) <= 6)
        return None if found is None else {"image": found[0], "items": list(found[1].items)}

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        position = 0
        for index, item in enumerate(kwargs["items"]):
            match = _phrase_re(item, True).search(text, position)
            if match is None:
                problem = "missing" if not term_count(text, item) else "out of order"
                return Verdict(False, f"item {index + 1} {item!r} {problem}")
            position = match.end()
        return Verdict(True, f"all {len(kwargs['items'])} items in receipt order")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.tokens.append(" and ".join(kwargs["items"]))

    def perturb(self, kwargs: Kw, text: str) -> str:
        return _drop(_phrase_re(kwargs["items"][0], True), text)


class ReceiptTotal(GroundedType):
    id = "grounded:receipt_total"
    description = "Every response states the total of one receipt with its dollar sign, as printed ($12.34)."
    params = (_IMAGE, ParamSpec("total", "str", "the printed total, dollars and cents (12.34)"))
    facts_used = ("total",)
    examples = (
        Example({"image": 2, "total": "19.48"},
                passing=("The total is $19.48.", "You paid $ 19.48 in all."),
                failing=("The total is about 19 dollars.", "The total is 19.48 dollars.", "It is $19.485.")),
    )

    def validate_combination(self, kwargs: dict[str, Any]) -> None:
        if not re.fullmatch(r"\d{1,6}\.\d{2}", kwargs["total"]):
            raise ValueError(f"{self.id}: total must look like 12.34, got {kwargs['total']!r}")

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick(rng, facts, lambda f: f.total is not None)
        return None if found is None else {"image": found[0], "total": found[1].total}

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        ok = bool(re.search(r"\$\s?" + re.escape(kwargs["total"]) + r"(?!\d)", text))
        return Verdict(ok, f"{'states' if ok else 'does not state'} ${kwargs['total']}")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.tokens.append(f"${kwargs['total']}")

    def perturb(self, kwargs: Kw, text: str) -> str:
        return text.replace("$", "")


# "Friday the 12th": the ordinal form, so that a weekday followed by an unrelated number is never read as a date
_WEEKDAY_DAY = re.compile(r"(?<![^\W_])(" + "|".join(WEEKDAYS) + r")[ \t]*,?[ \t]+the[ \t]+(\d{1,2})"
                          r"(?:st|nd|rd|th)(?![^\W_])", re.IGNORECASE)


class CircledWeekday(GroundedType):
    id = "grounded:circled_weekday"
    description = ("Every response names a circled day of one calendar with its weekday, as 'Friday the 12th' "
                   "(any ordinal suffix), and never pairs a circled day with a wrong weekday in that form.")
    params = (_IMAGE, ParamSpec("year", "int", "the calendar's year", minimum=1900, maximum=2200),
              ParamSpec("month", "int", "the calendar's month", minimum=1, maximum=12),
              ParamSpec("days", "ints", "the circled days", minimum=1, maximum=31))
    facts_used = ("calendar",)
    examples = (
        Example({"image": 4, "year": 2032, "month": 12, "days": [15, 24]},
                passing=("One circle marks Wednesday the 15th.", "FRIDAY, THE 24TH and Monday the 3rd."),
                failing=("One circle marks Thursday the 15th.", "One circle marks the 15th.",
                         "Wednesday the 15th and Monday the 24th.")),
    )

    def validate_combination(self, kwargs: dict[str, Any]) -> None:
        last = calendar.monthrange(kwargs["year"], kwargs["month"])[1]
        if max(kwargs["days"]) > last:
            raise ValueError(f"{self.id}: day {max(kwargs['days'])} does not exist in that month")

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick(rng, facts, lambda f: bool(f.calendar and f.calendar.get("marked")))
        if found is None or found[1].calendar is None:
            return None
        month = found[1].calendar
        return {"image": found[0], "year": month["year"], "month": month["month"], "days": sorted(month["marked"])}

    @staticmethod
    def weekday(kwargs: Kw, day: int) -> str:
        return WEEKDAYS[calendar.weekday(kwargs["year"], kwargs["month"], day)]

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        right = 0
        for match in _WEEKDAY_DAY.finditer(text):
            day = int(match.group(2))
            if day not in kwargs["days"]:
                continue
            if match.group(1).casefold() != self.weekday(kwargs, day).casefold():
                return Verdict(False, f"{match.group(0)!r}: day {day} is a {self.weekday(kwargs, day)}")
            right += 1
        return Verdict(right > 0, f"{right} circled days with their weekday" if right else
                       "no circled day named with its weekday")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        day = kwargs["days"][0]
        req.tokens.append(f"{self.weekday(kwargs, day)} the {ordinal(day)}")

    def perturb(self, kwargs: Kw, text: str) -> str:
        return _drop(_WEEKDAY_DAY, text)


class StarCell(GroundedType):
    id = "grounded:star_cell"
    description = "Every response gives the cell of the star on one grid map (column letter and row number, C4)."
    params = (_IMAGE, ParamSpec("cell", "str", "the star's cell, such as C4"))
    facts_used = ("star",)
    examples = (
        Example({"image": 6, "cell": "D5"}, passing=("The star is in D5.", "cell d5"),
                failing=("The star is near the bottom.", "Cells D50 and AD5.")),
    )

    def validate_combination(self, kwargs: dict[str, Any]) -> None:
        if not re.fullmatch(r"[A-Z][1-9][0-9]?", kwargs["cell"]):
            raise ValueError(f"{self.id}: cell must look like C4, got {kwargs['cell']!r}")

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick(rng, facts, lambda f: f.star is not None)
        return None if found is None else {"image": found[0], "cell": found[1].star}

    @staticmethod
    def _pattern(kwargs: Kw) -> re.Pattern[str]:
        return re.compile(r"(?<![^\W_])" + kwargs["cell"] + r"(?![^\W_])", re.IGNORECASE)

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        ok = bool(self._pattern(kwargs).search(text))
        return Verdict(ok, f"{'gives' if ok else 'does not give'} the star's cell {kwargs['cell']}")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.tokens.append(kwargs["cell"])

    def perturb(self, kwargs: Kw, text: str) -> str:
        return _drop(self._pattern(kwargs), text)


class ShapeCount(GroundedType):
    id = "grounded:shape_count"
    description = "Every response states how many shapes one image contains, as '<number> shapes' (7 shapes)."
    params = (_IMAGE, ParamSpec("n", "int", "how many shapes the image contains", minimum=1, maximum=99))
    facts_used = ("count",)
    examples = (
        Example({"image": 7, "n": 6}, passing=("There are 6 shapes.", "SIX SHAPES in all."),
                failing=("There are several shapes.", "There are 16 shapes.", "There are 6 circles.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick(rng, facts, lambda f: f.count is not None and f.count_noun == "shapes")
        return None if found is None else {"image": found[0], "n": found[1].count}

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        n = kwargs["n"]
        number = str(n) if n >= len(_NUMBER_WORDS) else f"(?:{n}|{_NUMBER_WORDS[n]})"
        ok = bool(re.search(r"(?<![\w.,])" + number + r"\s+shapes?(?![^\W_])", text, re.IGNORECASE))
        return Verdict(ok, f"{'states' if ok else 'does not state'} '{n} shapes'")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.tokens.append(f"{kwargs['n']} shape{'s' if kwargs['n'] != 1 else ''}")

    def perturb(self, kwargs: Kw, text: str) -> str:
        return re.sub(r"(?i)(?<![^\W_])shapes?(?![^\W_])", "items", text)


class PeakYear(GroundedType):
    id = "grounded:peak_year"
    description = "Every response mentions the year in which one line chart reaches its single highest value."
    params = (_IMAGE, _TITLE, ParamSpec("year", "int", "the year of the highest point", minimum=1000, maximum=3000))
    facts_used = ("title", "peak_year")
    examples = (
        Example({"image": 5, "title": "Orders shipped", "year": 2015},
                passing=("Orders peaked in 2015.",), failing=("Orders peaked mid-decade.", "In 20151 or 2015.5.")),
    )

    def sample_for_chat(self, rng: random.Random, facts: ChatFacts) -> dict[str, Any] | None:
        found = _pick_titled(rng, facts, lambda f: f.peak_year is not None)
        return None if found is None else {"image": found[0], "title": found[2], "year": found[1].peak_year}

    def check_text(self, kwargs: Kw, text: str) -> Verdict:
        ok = has_number(text, kwargs["year"])
        return Verdict(ok, f"{'mentions' if ok else 'does not mention'} the peak year {kwargs['year']}")

    def contribute(self, kwargs: Kw, req: Requirements) -> None:
        req.numbers.append(kwargs["year"])

    def perturb(self, kwargs: Kw, text: str) -> str:
        return _drop(_number_re(kwargs["year"]), text)
