"""Answer checking: does a response contain the reference answer of a turn?

Sources with verifiable answers give each question a reference answer and a type (``number``, ``word``,
``yes/no``, ``list``, ``sequence``; ``open`` has no reference). Responses must also obey formatting instructions (all capitals,
a sentence per line, end every sentence with "?", include an odd number...), so the check looks for the answer
anywhere in the text rather than demanding an exact string:

- ``number``: some number in the response equals the reference within half a unit of the reference's last
  decimal place (``7`` accepts 7 and 7.2, not 7.5; ``3.5`` accepts 3.54, not 3.55). Image names are not numbers
  (``Image3``, ``Image 3``), nor are the markers of a numbered list (``1.``, ``2.`` opening consecutive lines);
  thousands separators (``1,234``, ``1 234`` with a no-break or thin space), signs, ``%`` and currency marks are
  handled; number words (``seven``, ``twenty-one``, ``a hundred``) count as numbers.
- ``word``: the reference appears as a whole word or phrase, case-insensitively, with any run of whitespace
  between its words; a reference ending in a letter also matches its plural ("circle" in "circles"). Where
  letters meet digits (``Image3``) a space, hyphen or ``#`` may stand between them, so ``Image3`` accepts
  "Image 3", "image3" and "Image #3", but never "Image 4" or "Image 34".
- image names: a ``word`` reference that names an image (``Image4``) must be *the* image the response answers
  with, not one of the options it repeats. Image names joined only by commas, "and", "or", "/" or "&" ("Image2
  and Image4") restate the options and are set aside; of the remaining mentions, the reference must be named at
  least as often as any other image, and no other image may come before it in the sentence that first names it.
- ``yes/no``: the first whole word ``yes`` or ``no`` in the response is the reference.
- ``list``: every item of the reference (split on commas, semicolons, newlines or ``|``, or a JSON list; a
  comma between digit groups, as in ``1,234``, is a thousands separator) is present, each by the number or word
  rule, in any order and with any separators: commas, "and", newlines or bullets.
- ``sequence``: an ordered list ("from the largest to the smallest", "in the order they appear"): every item is
  present as for ``list``, and the first occurrences of the items follow the order of the reference.

A response counts only for what it *commits to* (docs/scoring.md, "What an answer commits to"): a value offered
as one of alternatives ("5 or 6", "Cats/Dogs", "yes or no") is not an answer, and a number answer may state at
most :data:`MAX_OTHER_VALUES` other values besides the numbers of the question, so listing every candidate never
counts. The question text, when given, marks which numbers are context.

The module uses only the standard library: the released ``scoring.py`` embeds it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

ANSWER_TYPES: tuple[str, ...] = ("number", "word", "yes/no", "list", "sequence", "open")
CHECKABLE_TYPES: frozenset[str] = frozenset({"number", "word", "yes/no", "list", "sequence"})

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}

# A number is not glued to a preceding letter, digit or decimal point ("Image3", "x2" are names, not numbers).
# The sign counts only after a space, a bracket or the start, so "3-5" reads as 3 and 5, not 3 and -5.
# The digits pattern opens with the class of its first character (a digit or a point): the regex engine uses it to
# jump from candidate to candidate instead of trying the pattern at every position. The look-behinds after it test
# the character before the number, and the branch continues a number that began with a point (".5") or with its
# first digit ("1,234": up to two more digits before a group). A sign before the digits is read by
# :data:`_SIGN_RE` at the offset before them.
_NUMBER_RE = re.compile(
    r"[\d.](?<![^\W_].)(?<![\d.,].)"
    r"(?:(?<=\.)\d+|(?<=\d)\d{0,2}(?:[,\u00a0\u202f\u2009]\d{3})+(?:\.\d+)?|(?<=\d)\d*(?:\.\d+)?)"
    r"(?![\d])"
)
_SIGNS = "-+\u2212"
_SIGN_RE = re.compile(r"(?:(?<=[\s(\[{:=])|^)[-+\u2212]")
_NUMBER_WORD_RE = re.compile(
    r"(?=[aefnostz])(?<![^\W_])(?:(a|one)\s+hundred|(" + "|".join(_TENS) + r")(?:[\s-]+(" + "|".join(
        k for k in _SMALL if 0 < _SMALL[k] < 10) + r"))?|(" + "|".join(_SMALL) + r"))(?![^\W_])",
    re.IGNORECASE,
)
# The same pattern without IGNORECASE, for lower-cased ASCII text: there case-insensitive matching is ASCII case
# folding, so both find the same spans, and the engine scans a case-sensitive pattern about twice as fast.
_NUMBER_WORD_LOWER_RE = re.compile(_NUMBER_WORD_RE.pattern)
_YES_NO_RE = re.compile(r"(?<![^\W_])(yes|no)(?![^\W_])", re.IGNORECASE)
_YES_OR_NO_RE = re.compile(r"(?:yes\s*(?:or|/)\s*no|no\s*(?:or|/)\s*yes)(?![^\W_])", re.IGNORECASE)
_YES_OR_NO_TAIL_RE = re.compile(r"(?<![^\W_])(?:yes\s*(?:or|/)\s*no|no\s*(?:or|/)\s*yes)$", re.IGNORECASE)
# Items are split on commas, except a comma between digit groups ("1,234" is one number).
_LIST_SPLIT_RE = re.compile(r"[;\n|]|(?<!\d),|,(?!\d{3}(?!\d))")
_LEADING_AND_RE = re.compile(r"^and\s+", re.IGNORECASE)
# "Image 3", "image #3", "Image three": names of images, whose numbers are not answers.
_IMAGE_NAME_RE = re.compile(
    r"(?=i)(?<![^\W_])image\s*(?:[-#]\s*)?(?:\d+|(?:" + "|".join(_SMALL) + r")(?![^\W_]))", re.IGNORECASE)
# A section opener on its own line ("Section 2", "**Step 3**", "## Part 1"): its number labels, it does not answer.
_SECTION_LABEL_RE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__|\*|_)?(?:section|part|step|chapter)[ \t]+(\d{1,3})(?:\*\*|__|\*|_)?[ \t]*:?[ \t]*$",
    re.MULTILINE | re.IGNORECASE)
# A numbered-list marker opening a line: "1. ", "2) ".
_LIST_MARKER_RE = re.compile(r"^[ \t]*(\d{1,3})[.)](?=[ \t]+\S)", re.MULTILINE)
# Where a letter meets a digit inside a word ("Image|3").
_LETTER_DIGIT_RE = re.compile(r"(?<=[^\W\d_])(?=\d)")
_LETTER_DIGIT_GAP = r"\s*(?:[-#]\s*)?"  # no nested choices: linear on long runs of spaces
_NUMBER_SEPARATORS = ",\u00a0\u202f\u2009"
# A reference that is an image name, and what may join image names that merely restate the options.
_IMAGE_REFERENCE_RE = re.compile(r"\s*image\s*(?:[-#]\s*)?(\d+)\s*", re.IGNORECASE)
_OPTION_JOIN_RE = re.compile(r"(?:[,/&]|,?\s*(?:and|or))?", re.IGNORECASE)  # matched on the stripped gap
_SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s|$)|\n")


@functools.lru_cache(maxsize=1024)
def _parse_decimal(text: str) -> Decimal | None:
    """Parse a plain decimal reference ("7", "-3.50", "1,234"); None when it is not one.

    Cached: a turn's reference and its items are parsed for every response (and every draft of the generated
    answer), and the few references of a run recur.
    """
    cleaned = text.strip().replace("\u2212", "-")
    for separator in _NUMBER_SEPARATORS:
        cleaned = cleaned.replace(separator, "")
    cleaned = cleaned.rstrip("%").lstrip("$\u20ac\u00a3")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _list_marker_starts(text: str) -> set[int]:
    """Start offsets of numbered-list markers: lines opening with 1., 2., ... (restarting at 1 is allowed).

    A single line starting with "7." is an answer, not a list, so at least two markers in sequence are needed.
    """
    if "\n" not in text:
        return set()  # "^" of the pattern matches after "\n" only: one line holds one marker at most
    markers = [(match.start(1), int(match.group(1))) for match in _LIST_MARKER_RE.finditer(text)]
    starts: set[int] = set()
    run: list[int] = []
    previous = 0
    for offset, value in markers:
        if value == 1:
            if len(run) >= 2:
                starts.update(run)
            run = [offset]
        elif run and value == previous + 1:
            run.append(offset)
        else:
            if len(run) >= 2:
                starts.update(run)
            run = []
        previous = value
    if len(run) >= 2:
        starts.update(run)
    return starts


def _contains_any(lowered: str | None, needles: tuple[str, ...]) -> bool:
    """False only when the text (lower-cased ASCII, or None when it is not ASCII) holds none of ``needles``.

    A cheap test before a case-insensitive pattern that needs one of the needles: on ASCII text, case-insensitive
    matching is ASCII case folding, so a match implies a needle in the lower-cased text. Other text always goes
    to the pattern (Unicode case folding has more equivalences, such as the long s).
    """
    return lowered is None or any(map(lowered.__contains__, needles))


def _matches_at(pattern: re.Pattern[str], text: str, lowered: str | None, needle: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a case-insensitive pattern whose matches begin with ``needle``: on ASCII text
    (``lowered`` given) only the needle's occurrences are tried, found with ``str.find``, which is much faster than
    the regex engine trying every position. The look-behinds still see the text before each occurrence."""
    if lowered is None:
        yield from pattern.finditer(text)
        return
    end = 0
    position = lowered.find(needle)
    while position >= 0:
        match = pattern.match(text, position)
        if match is not None:
            yield match
            end = match.end()
        position = lowered.find(needle, max(position + 1, end))


def _line_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a multi-line pattern that opens with ``^`` and matches within one line: only
    the starts of lines are tried, instead of the regex engine trying (and rejecting) every position."""
    start = 0
    while start >= 0:
        match = pattern.match(text, start)
        if match is not None:
            yield match
        start = text.find("\n", start)
        if start >= 0:
            start += 1


_IMAGE_NEEDLE = "image"
_SECTION_NEEDLES = ("section", "part", "step", "chapter")


def _needles(words: list[str]) -> tuple[str, ...]:
    """The words that contain no other of them: a text holding none of these holds none of ``words``."""
    return tuple(sorted(w for w in set(words) if not any(o != w and o in w for o in words)))


# Every number word the word pattern matches contains one of these.
_NUMBER_WORD_NEEDLES = _needles([*_SMALL, *_TENS, "hundred"])


def _excluded_positions(text: str, lowered: str | None) -> set[int]:
    """Offsets of characters that belong to image names or list markers: their numbers are not stated numbers.

    A set of offsets (the spans are a few characters long) keeps the lookup constant-time on long responses.
    ``lowered`` is the lower-cased text when it is ASCII, else None (see :func:`_contains_any`).
    """
    positions = set(_list_marker_starts(text))
    for match in _matches_at(_IMAGE_NAME_RE, text, lowered, _IMAGE_NEEDLE):
        positions.update(range(*match.span()))
    if _contains_any(lowered, _SECTION_NEEDLES):
        for match in _line_matches(_SECTION_LABEL_RE, text):
            positions.update(range(*match.span(1)))
    return positions


@functools.lru_cache(maxsize=64)
def _numbers_in(text: str) -> tuple[tuple[int, int, Decimal], ...]:
    """(start, end, value) of every number the text states, in digits or in words (image names and list markers
    excluded), in text order.

    Cached: the items of a list or sequence answer, and every number rule of one response, share one scan.
    """
    found: list[tuple[int, int, Decimal]] = []
    lowered = text.lower() if text.isascii() else None
    excluded = _excluded_positions(text, lowered)
    for match in _NUMBER_RE.finditer(text):
        start = match.start()
        if start in excluded:
            continue
        digits = match.group()
        for separator in _NUMBER_SEPARATORS:
            if separator in digits:
                digits = digits.replace(separator, "")
        value = Decimal(digits)
        if start and text[start - 1] in _SIGNS and _SIGN_RE.match(text, start - 1):
            start -= 1  # the number's span includes its sign
            if text[start] != "+":
                value = -value
        found.append((start, match.end(), value))
    if not _contains_any(lowered, _NUMBER_WORD_NEEDLES):
        return tuple(found)
    words = False
    for match in _NUMBER_WORD_RE.finditer(text) if lowered is None else _NUMBER_WORD_LOWER_RE.finditer(lowered):
        start = match.start()
        if start in excluded:
            continue
        if match.group(1):
            value = _HUNDRED
        elif match.group(2):
            unit = _SMALL[_word_key(match.group(3))] if match.group(3) else 0
            value = Decimal(_TENS[_word_key(match.group(2))] + unit)
        else:
            value = Decimal(_SMALL[_word_key(match.group(4))])
        found.append((start, match.end(), value))
        words = True
    # The two scans each run in text order; only numbers in words can fall between those in digits. No two
    # numbers start at the same offset, so the tuples sort by their starts alone.
    return tuple(sorted(found) if words else found)


_HUNDRED = Decimal(100)


def _word_key(word: str) -> str:
    """The number word a case-insensitive match stands for: besides the cases, the patterns match the long s
    ("ſeven") and the dotted and dotless i ("sİx", "sıx"), which ``str.lower`` does not map to "s" and "i"."""
    key = word.lower()
    if key in _SMALL or key in _TENS:
        return key
    return word.casefold().replace("i\u0307", "i").replace("\u0131", "i")


#: Distinct numbers a response may state besides the answer and the question's own numbers (an instruction's
#: number, a comparison value...). More than this is a list of candidates, not an answer.
MAX_OTHER_VALUES = 3
# What joins two alternatives: "5 or 6", "5/6", "5-6", "5 to 6", "Cats or Dogs", "Cats/Dogs".
_HEDGE_GAP_RE = re.compile(r"\s*(?:,?\s*\bor\b|/|-|\u2013|\u2014|\bto\b)\s*", re.IGNORECASE)
_HEDGE_BEFORE_RE = re.compile(r"(?:(?:,|/)|\bor|\beither)\s*$", re.IGNORECASE)
_HEDGE_AFTER_RE = re.compile(r"^\s*(?:,|/|or\b)", re.IGNORECASE)
_OR_RE = re.compile(r"\bor\b|/", re.IGNORECASE)
_PLAIN_NUMBER_RE = re.compile(r"\s*-?\d+(?:\.\d+)?\s*")


def _number_committed(reference: Decimal, text: str, question: str) -> bool:
    """The response states the reference as its answer: present, not only as one of alternatives ("5 or 6",
    "5-6"), and not among more than :data:`MAX_OTHER_VALUES` other values (numbers of the question aside)."""
    tolerance = _tolerance(reference)
    spans = _numbers_in(text)
    close = [abs(value - reference) < tolerance for _, _, value in spans]
    if True not in close:
        return False
    if not _few_others({span[2] for span, near in zip(spans, close, strict=True) if not near}, question):
        return False
    for k, near in enumerate(close):
        if not near:
            continue
        neighbours = [j for j in (k - 1, k + 1) if 0 <= j < len(spans)]
        hedged = any(not close[j] and _HEDGE_GAP_RE.fullmatch(
            text[min(spans[j][1], spans[k][1]):max(spans[j][0], spans[k][0])]) for j in neighbours)
        if not hedged:
            return True
    return False


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    begin = 0
    for match in _SENTENCE_END_RE.finditer(text, 0, start):
        begin = match.end()
    stop = _SENTENCE_END_RE.search(text, end)
    return begin, stop.start() if stop else len(text)


def _phrase_committed(phrase: str, text: str) -> bool:
    """The phrase is present, and at least once not as one of alternatives ("Cats or Dogs", "Cats/Dogs",
    "Apples, Figs, Plums or Pears" in a sentence that offers a choice)."""
    if not phrase.split():
        return False
    for match in _phrase_pattern(phrase).finditer(text):
        begin, stop = _sentence_around(text, match.start(), match.end())
        sentence = text[begin:stop]
        if not _OR_RE.search(sentence):
            return True
        before, after = text[begin:match.start()], text[match.end():stop]
        if not (_HEDGE_BEFORE_RE.search(before) or _HEDGE_AFTER_RE.search(after)):
            return True
    return False


def _tolerance(reference: Decimal) -> Decimal:
    """Half a unit of the reference's last decimal place (0.5 for integers)."""
    exponent = reference.as_tuple().exponent
    return _tolerance_of_places(-exponent if isinstance(exponent, int) and exponent < 0 else 0)


@functools.lru_cache(maxsize=64)
def _tolerance_of_places(places: int) -> Decimal:
    """Half a unit of the ``places``-th decimal place. Cached on the count of places, not on the reference: equal
    decimals such as 5 and 5.0 have different places, hence different tolerances."""
    return Decimal(5) * Decimal(10) ** (-places - 1)


def _number_first(reference: Decimal, text: str) -> int | None:
    """Offset of the first number in the text that equals the reference within tolerance; None if none does."""
    tolerance = _tolerance(reference)
    offsets = [offset for offset, _, value in _numbers_in(text) if abs(value - reference) < tolerance]
    return min(offsets) if offsets else None


@functools.lru_cache(maxsize=1024)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word pattern of a phrase: any whitespace between words, an optional gap where letters meet digits.

    A phrase ending in a letter also matches its plural ("circle" in "the circles"): questions ask for a kind of
    thing, and a correct answer naturally uses either number.
    """
    parts: list[str] = []
    previous = ""
    for word in phrase.split():
        if previous:
            joined = previous[-1].isalpha() and word[0].isdigit()
            parts.append(_LETTER_DIGIT_GAP if joined else r"\s+")
        parts.append(_LETTER_DIGIT_GAP.join(re.escape(piece) for piece in _LETTER_DIGIT_RE.split(word)))
        previous = word
    if previous[-1:].isalpha():
        parts.append("(?:s|es)?")
    return re.compile(r"(?<![^\W_])" + "".join(parts) + r"(?![^\W_])", re.IGNORECASE)


def _phrase_first(phrase: str, text: str) -> int | None:
    """Offset of the first whole-word occurrence of the phrase; None when it is absent."""
    if not phrase.split():
        return None
    match = _phrase_pattern(phrase).search(text)
    return match.start() if match else None


def _item_first(item: str, text: str) -> int | None:
    """Offset of an item's first occurrence, by the number rule for numbers and the word rule otherwise."""
    number = _parse_decimal(item)
    if number is not None:
        return _number_first(number, text)
    return _phrase_first(item, text)


def _in_order(items: list[str], text: str) -> bool:
    """Every item is present and the first occurrences follow the item order (repeated items are skipped)."""
    previous = -1
    seen: set[str] = set()
    for item in items:
        offset = _item_first(item, text)
        if offset is None:
            return False
        if item.lower() in seen:
            continue
        seen.add(item.lower())
        if offset <= previous:
            return False
        previous = offset
    return True


# Comparatives and their opposites: "Which has more bars?" is answered by "Image2 has fewer bars than Image4".
_OPPOSITES: dict[str, frozenset[str]] = {
    "more": frozenset({"fewer", "less"}), "fewer": frozenset({"more"}), "less": frozenset({"more"}),
    "higher": frozenset({"lower"}), "lower": frozenset({"higher"}), "larger": frozenset({"smaller"}),
    "bigger": frozenset({"smaller"}), "smaller": frozenset({"larger", "bigger"}),
    "greater": frozenset({"smaller", "lower", "less"}), "later": frozenset({"earlier"}),
    "earlier": frozenset({"later"}), "longer": frozenset({"shorter"}), "taller": frozenset({"shorter"}),
    "shorter": frozenset({"longer", "taller"}), "closer": frozenset({"farther", "further"}),
}
_COMPARATIVE_RE = re.compile(r"(?<![^\W_])(" + "|".join(_OPPOSITES) + r")(?![^\W_])", re.IGNORECASE)
_THAN_RE = re.compile(r"(?<![^\W_])than(?![^\W_])", re.IGNORECASE)


def _opposite_comparison(sentence: str, question: str) -> int | None:
    """Offset in ``sentence`` just after "than" when the sentence compares with the question's comparative turned
    around ("fewer ... than" for a question about "more"): then the image after "than" is the answer."""
    asked = _COMPARATIVE_RE.search(question or "")
    than = _THAN_RE.search(sentence)
    if asked is None or than is None:
        return None
    opposites = _OPPOSITES[asked.group(1).lower()]
    used = [m.group(1).lower() for m in _COMPARATIVE_RE.finditer(sentence, 0, than.start())]
    return than.end() if used and used[-1] in opposites else None


def _image_answered(image: int, text: str, question: str = "") -> bool:
    """Whether the response answers with image number ``image`` rather than only repeating the options.

    Runs of different image names joined by commas, "and", "or", "/" or "&" restate the options of the question
    and are set aside. Of the other mentions the reference must be named at least as often as any other image, and
    come before every other image named in the sentence that first names it: "Image4 has more bars than
    Image2" answers Image4, "Comparing Image2 and Image4, I cannot tell" answers nothing. When that sentence turns
    the question's comparative around ("Image2 has fewer bars than Image4" for "which has more bars?"), the image
    after "than" is the one it answers with.
    """
    mentions: list[tuple[int, int, int]] = []  # (start, end, number)
    for match in _matches_at(_IMAGE_NAME_RE, text, text.lower() if text.isascii() else None, _IMAGE_NEEDLE):
        tail = match.group(0)
        digits = re.search(r"\d+$", tail)
        if digits:
            number = int(digits.group(0))
        else:
            word = re.search(r"[^\W\d_]+$", tail)
            number = _SMALL.get(_word_key(word.group(0)), -1) if word else -1
        mentions.append((match.start(), match.end(), number))
    restated: set[int] = set()
    for k in range(len(mentions) - 1):
        gap = text[mentions[k][1]:mentions[k + 1][0]]
        if mentions[k][2] != mentions[k + 1][2] and _OPTION_JOIN_RE.fullmatch(gap.strip()):
            restated.update((k, k + 1))
    counted = [mention for k, mention in enumerate(mentions) if k not in restated]
    if counted:
        begin, stop = _sentence_around(text, counted[0][0], counted[0][1])
        after_than = _opposite_comparison(text[begin:stop], question)
        if after_than is not None:
            following = [number for start, _, number in counted if begin + after_than <= start < stop]
            if following:
                return following[0] == image
    counts: dict[int, int] = {}
    for _, _, number in counted:
        counts[number] = counts.get(number, 0) + 1
    if counts.get(image, 0) == 0 or counts[image] < max(counts.values()):
        return False
    first = next(start for start, _, number in counted if number == image)
    sentence_start = 0
    for end in _SENTENCE_END_RE.finditer(text, 0, first):
        sentence_start = end.end()
    return all(number == image for start, _, number in counted if sentence_start <= start < first)


def _few_other_values(items: list[str], text: str, question: str) -> bool:
    """A list answer of numbers may state at most :data:`MAX_OTHER_VALUES` numbers besides its items and the
    question's numbers (listing every candidate is not an answer)."""
    values = [_parse_decimal(item) for item in items]
    if any(value is None for value in values):
        return True
    tolerances = [(value, _tolerance(value)) for value in values if value is not None]
    others = {value for _, _, value in _numbers_in(text) if all(abs(value - v) >= t for v, t in tolerances)}
    return _few_others(others, question)


def _few_others(others: set[Decimal], question: str) -> bool:
    """At most :data:`MAX_OTHER_VALUES` of ``others`` (values a response states besides its answer) are not numbers
    of the question.

    The question's numbers only ever remove values: a set within the limit without them is within it with them, so
    the question is scanned only when it could decide.
    """
    if len(others) > MAX_OTHER_VALUES and question:
        others = others - {value for _, _, value in _numbers_in(question)}
    return len(others) <= MAX_OTHER_VALUES


def list_items(reference: str) -> list[str]:
    """The items of a list reference: a JSON list, or text split on commas, semicolons, newlines or ``|``."""
    stripped = reference.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(item).strip() for item in parsed if str(item).strip()]
    items = (_LEADING_AND_RE.sub("", item.strip()) for item in _LIST_SPLIT_RE.split(stripped))
    return [item for item in items if item]


def _normalise_yes_no(reference: str) -> str:
    value = reference.strip().strip(".!").lower()
    if value not in ("yes", "no"):
        raise ValueError(f"a yes/no reference must be 'yes' or 'no', got {reference!r}")
    return value


def is_checkable(reference: str | None, answer_type: str | None) -> bool:
    """True when a turn's reference answer can be checked (non-empty and not ``open``)."""
    return bool(reference and reference.strip()) and answer_type != "open"


def check_answer(reference: str, answer_type: str, response: str, question: str = "") -> bool:
    """True when ``response`` commits to the reference answer under the rule of ``answer_type``.

    ``question`` (the turn's question text) tells which numbers and image names are context: a natural answer
    repeats them ("in 3 hours it will show 9"), a gaming response lists candidates.

    Raises ``ValueError`` for an unknown answer type or a reference that does not fit its type (a number
    reference that is not a number, a yes/no reference that is neither): a dataset fault is never scored.
    """
    if answer_type == "number":
        value = _parse_decimal(reference)
        if value is None:
            raise ValueError(f"a number reference must be a decimal number, got {reference!r}")
        return _number_committed(value, response, question)
    if answer_type == "word":
        if not reference.split():
            raise ValueError("a word reference must not be empty")
        image = _IMAGE_REFERENCE_RE.fullmatch(reference)
        if image:
            return _image_answered(int(image.group(1)), response, question)
        if _PLAIN_NUMBER_RE.fullmatch(reference):
            # a word answer that is a plain number ("2017", "12") follows the number rule
            return _number_committed(Decimal(reference.strip()), response, question)
        return _phrase_committed(reference, response)
    if answer_type == "yes/no":
        expected = _normalise_yes_no(reference)
        for match in _YES_NO_RE.finditer(response):
            if _YES_OR_NO_RE.match(response, match.start()) or _YES_OR_NO_TAIL_RE.search(response, 0, match.end()):
                continue  # "yes or no", "yes/no": the two options, not an answer
            return match.group(1).lower() == expected
        return False
    if answer_type in ("list", "sequence"):
        items = list_items(reference)
        if not items:
            raise ValueError(f"a {answer_type} reference must have at least one item")
        if not _few_other_values(items, response, question):
            return False
        if answer_type == "sequence":
            return _in_order(items, response)
        return all(_item_first(item, response) is not None for item in items)
    raise ValueError(f"unknown answer type {answer_type!r} (expected one of {', '.join(ANSWER_TYPES[:-1])})")


def answer_phrase(reference: str, answer_type: str) -> str:
    """The words a witness response uses to give the answer, accepted by :func:`check_answer`.

    Lists and sequences are joined with " and " rather than commas so that a "no commas" rule can still be met;
    a sequence keeps the reference order.
    """
    if answer_type == "yes/no":
        return _normalise_yes_no(reference)
    if answer_type in ("list", "sequence"):
        return " and ".join(list_items(reference))
    if answer_type in ("number", "word"):
        return reference.strip()
    raise ValueError(f"answer type {answer_type!r} has no checkable answer phrase")
