"""The one definition of *sentence*, *word* and *number* that every checker uses.

Checkers that disagree about what a sentence is produce scores nobody can interpret, so every rule lives here and
is documented in ``docs/text-units.md``. The module uses the standard library only (the released ``scoring.py``
embeds it) and every function runs in time linear in the length of the text: regular expressions are precompiled
and written without nested ambiguous repetition, and look-behind windows are bounded.

Summary of the rules (details in the docs):

* **Blocks.** A response is read line by line. Blank lines and thematic breaks (``***``, ``---``) end a paragraph.
  A list item (``-``, ``*``, ``+``, ``•`` or ``1.``/``1)`` followed by a space), a markdown heading (``# ...``) and a
  postscript line (``P.S. ...``) each start a new block; the marker itself is markup and is not part of the
  sentence. Other consecutive lines are joined with a space (hard-wrapped prose).
* **Sentences.** Inside a block, a sentence ends at ``.``, ``!``, ``?`` or an ellipsis, optionally followed by
  closing quotes, brackets or emphasis markers, when whitespace or the end of the block follows. A period does not
  end a sentence after a title abbreviation (Dr., Mr., e.g., i.e., vs., ...) or inside a dotted upper-case acronym
  (U.S., U.K.); after a lower-case dotted abbreviation (a.m., p.m., etc.) it ends the sentence only when a capital
  letter follows; an ellipsis ends it only when a capital letter follows. Decimals (``3.5``) never end a sentence
  because no whitespace follows the point. Fragments without any letter or digit (an emoji, a lone quote) are not
  sentences.
* **Words.** Maximal runs of letters and digits, where an apostrophe or hyphen between two such characters and a
  point or comma between two digits do not break the word: ``don't``, ``well-known``, ``3.5`` and ``1,000`` are
  one word each. Emoji and punctuation are not words.
* **Numbers.** Digit sequences not glued to a preceding letter or digit (``Image1`` holds no number), with an
  optional minus sign, optional thousands separators (``12,345``) and an optional decimal part; ordinal and unit
  suffixes are allowed (``7th``, ``5kg``, ``90%``). Number words (``seven``) are not numbers.
* **Letters.** First letters are compared case-insensitively after Unicode NFKD decomposition without combining
  marks, so ``É`` starts with ``E``.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from decimal import Decimal

__all__ = [
    "CLOSERS",
    "blocks",
    "clear_caches",
    "end_mark",
    "first_letter",
    "fold",
    "loose_variants",
    "most_sentences",
    "normalize_letter",
    "numbers",
    "paragraphs",
    "phrase_count",
    "sentence_word_counts",
    "sentences",
    "strip_markdown",
    "word_count",
    "words",
]

# Characters that may follow an end mark and still belong to the sentence: quotes, brackets, emphasis, ">>".
CLOSERS = "\"'”’»)]}*_>`"

_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+•‣◦▪]|[0-9]{1,3}[.)])[ \t]+(?=\S)")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]+|$)")
_POSTSCRIPT = re.compile(
    r"[ \t]*(?:\*\*|__|\*|_)?P\.(?:[ \t]?P\.)*[ \t]?S(?:\.|(?=[ \t]*:))(?:\*\*|__|\*|_)?[ \t]*:?(?:\*\*|__|\*|_)?(?:[ \t]+|$)",
    re.IGNORECASE)
_THEMATIC_BREAK = re.compile(r"[ \t]*(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})")
_HAS_WORD_CHAR = re.compile(r"[^\W_]")
# An end-mark run (not preceded by another end mark), optional closers, then whitespace or the end of the block.
# The pattern opens with the character class so that the regex engine can skip straight to candidate marks.
_BOUNDARY = re.compile(r"[.!?…](?<![.!?…][.!?…])[.!?…]*[" + re.escape(CLOSERS) + r"]*(?=\s|$)")
_END_MARKS = ".!?…"
_UPPER_ACRONYM = re.compile(r"(?:[A-Z]\.)+[A-Z]")
_LOWER_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")

# Abbreviations after which a period never ends a sentence (they precede a name or an example).
TITLE_ABBREVIATIONS = frozenset(
    [
        "mr", "mrs", "ms", "dr", "prof", "st", "mt", "sr", "jr", "vs", "cf", "e.g", "i.e", "approx", "fig", "figs",
        "vol", "eq", "ref", "resp", "incl", "esp",
    ]
)
# Abbreviations that end a sentence only when a capital letter follows ("at 5 p.m. Then ...").
AMBIGUOUS_ABBREVIATIONS = frozenset(["etc", "a.m", "p.m", "inc", "ltd", "co", "corp", "al"])

# Combining marks (a decomposed accent: "nai\u0308ve") belong to the letter before them, so they never split a word.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_LETTERS = r"(?:[^\W_][" + _MARKS + r"]*)+"
_WORD = re.compile(_LETTERS + r"(?:(?:['’\-]|(?<=[0-9])[.,](?=[0-9]))" + _LETTERS + r")*")
# The same rule for ASCII-only text, where ``[^\W_]`` is exactly ``[A-Za-z0-9]``: a plain character class is about
# 30% faster to scan than the Unicode category test, and most responses are ASCII.
_WORD_ASCII = re.compile(r"[A-Za-z0-9]+(?:(?:['\-]|(?<=[0-9])[.,](?=[0-9]))[A-Za-z0-9]+)*")
# A number: an optional sign, then digits with optional thousands groups and decimal part, not glued to a
# preceding word character or point. The pattern opens with the class of its first character (a sign or a digit),
# which the regex engine uses to jump from candidate to candidate without trying the pattern at every position;
# the look-behinds after it then test the character before the number, and the branch after them continues a
# number that began with a sign ("-1,234") or with its first digit ("1,234": up to two more digits before a group).
_NUMBER = re.compile(
    r"[-−0-9](?<![\w.].)"
    r"(?:(?<=[-−])(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)"
    r"|(?<=[0-9])(?:[0-9]{0,2}(?:,[0-9]{3})+(?![0-9])|[0-9]*))(?:\.[0-9]+)?"
)
_EMPHASIS = re.compile(
    r"(?<![^\W_])(?<![*_~`])(?:\*+|_+|~~|`+)(?![*_~`])(?=\S)"
    r"|(?<=\S)(?<![*_~`])(?:\*+|_+|~~|`+)(?![*_~`])(?![^\W_])"
)
_WHITESPACE = re.compile(r"\s+")
# Punctuation that ends a clause or sentence: the words of a phrase never run across it ("per, se", "per. Se").
_PHRASE_BREAK = re.compile(r"[.,;:!?…]")


def _is_blank(line: str) -> bool:
    return not line.strip()


def blocks(text: str) -> list[str]:
    """Split a response into blocks: paragraphs of prose, single list items, headings and postscript lines.

    Markers (bullets, ``1.``, ``#``, ``P.S.``) are removed; hard-wrapped lines of one paragraph are joined.
    """
    out: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            out.append(" ".join(current))
            current.clear()

    for line in text.splitlines():
        if line[:1].isalpha() and line[0] not in "Pp":
            # Most lines of prose start with a letter: none of the markers below can match there (a postscript
            # marker is the one that opens with a letter, P), so the line is plain text of the current block.
            current.append(line.strip())
            continue
        if _is_blank(line) or _THEMATIC_BREAK.fullmatch(line):
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            out.append(line[heading.end():].strip().rstrip("#").strip())
            continue
        marker = _LIST_ITEM.match(line) or _POSTSCRIPT.match(line)
        if marker:
            flush()
            current.append(line[marker.end():].strip())
            continue
        current.append(line.strip())
    flush()
    return [block for block in out if block]


def _period_ends_sentence(block: str, mark_start: int, after: int) -> bool:
    """Decide whether a single period at ``mark_start`` ends the sentence (abbreviation handling)."""
    window = block[max(0, mark_start - 40):mark_start]
    # Blocks hold no line breaks, so the last whitespace-free run of the window is the token before the mark.
    if not window or window[-1].isspace():
        return True
    token = window.rsplit(None, 1)[-1].lstrip("\"'“‘([{*_<")
    lowered = token.lower()
    if lowered in TITLE_ABBREVIATIONS:
        return False
    if "." not in token:
        # Both dotted patterns below need a point inside the token; most tokens are plain words.
        return _next_starts_capital(block, after) if lowered in AMBIGUOUS_ABBREVIATIONS else True
    if _UPPER_ACRONYM.fullmatch(token):
        return after >= len(block)
    if lowered in AMBIGUOUS_ABBREVIATIONS or _LOWER_DOTTED.fullmatch(token):
        return _next_starts_capital(block, after)
    return True


def _next_starts_capital(block: str, pos: int) -> bool:
    """True at the end of the block or when the next visible character is an upper-case letter."""
    length = len(block)
    while pos < length and (block[pos].isspace() or block[pos] in "\"'“‘([{*_"):
        pos += 1
    return pos >= length or block[pos].isupper()


@functools.lru_cache(maxsize=512)
def _split_block(block: str) -> tuple[str, ...]:
    # Cached per block: list items, headings, titles and closing lines recur across the responses of a run (and
    # across the drafts of one generated answer), while a response's own cache entry is new for every draft.
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(block):
        run = match.group(0)
        mark_run = run.rstrip(CLOSERS)
        end = match.end()
        if "!" in mark_run or "?" in mark_run:
            ends = True
        elif "…" in mark_run or len(mark_run) > 1:
            ends = _next_starts_capital(block, end)
        else:
            ends = _period_ends_sentence(block, match.start(), end)
        if ends:
            pieces.append(block[start:end])
            start = end
    pieces.append(block[start:])
    return tuple(piece.strip() for piece in pieces if _HAS_WORD_CHAR.search(piece))


@functools.lru_cache(maxsize=128)
def _sentence_tuple(text: str) -> tuple[str, ...]:
    # Several checkers read the sentences of the same response; the cache makes that one pass.
    result: list[str] = []
    for block in blocks(text):
        result.extend(_split_block(block))
    return tuple(result)


def sentences(text: str) -> list[str]:
    """Return the sentences of ``text`` in order (see the module docstring for the exact rules)."""
    return list(_sentence_tuple(text))


def most_sentences(text: str) -> int:
    """An upper bound of ``len(sentences(text))``, found without splitting: the end marks of the text plus its
    non-blank lines that do not close with an end mark (and closers).

    Every sentence of a block but the last ends at a boundary, which holds at least one end mark; the last one is
    left over only when its block does not close with a boundary, or when the closing boundary does not end a
    sentence (then that mark ended none). A block ends where its last line ends. A writer that needs a second
    sentence can tell from this that a one-sentence draft is too short without splitting it.
    """
    bound = sum(map(text.count, _END_MARKS))
    for line in text.splitlines():
        # A line of whitespace and closers only holds no word character, so it never leaves a sentence over.
        if line.rstrip().rstrip(CLOSERS)[-1:] not in _END_MARKS:
            bound += 1
    return bound


def paragraphs(text: str) -> list[str]:
    """Return the paragraphs: chunks separated by blank lines or thematic breaks that contain a letter or digit."""
    out: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if _is_blank(line) or _THEMATIC_BREAK.fullmatch(line):
            if current:
                out.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        out.append("\n".join(current))
    return [chunk for chunk in out if _HAS_WORD_CHAR.search(chunk)]


def _word_pattern(text: str) -> re.Pattern[str]:
    # str.isascii() is O(1) in CPython (a flag of the string object).
    return _WORD_ASCII if text.isascii() else _WORD


@functools.lru_cache(maxsize=128)
def _word_tuple(text: str) -> tuple[str, ...]:
    # One tokenisation per response, shared by word counts, capital-word counts and phrase counts.
    return tuple(_word_pattern(text).findall(text))


def words(text: str) -> list[str]:
    """Return the words of ``text`` (contractions, hyphenated words and ``3.5`` are single words)."""
    return list(_word_tuple(text))


def word_count(text: str) -> int:
    """Number of words in ``text``."""
    return len(_word_tuple(text))


@functools.lru_cache(maxsize=128)
def sentence_word_counts(text: str) -> tuple[int, ...]:
    """The number of words of each sentence of ``text``, in order.

    Counted without going through the per-text word cache, so that a response's sentences do not evict the
    responses themselves from it; sentences have a count cache of their own, since many recur from response to
    response (set phrasings, list items, sign-offs).
    """
    return tuple(map(_sentence_words, _sentence_tuple(text)))


@functools.lru_cache(maxsize=8192)
def _sentence_words(sentence: str) -> int:
    # Sized for the set phrasings of a whole run: with 1,024 entries about a third of the lookups while generating
    # hit, with 8,192 about three fifths (a few hundred kilobytes of short strings).
    return len(_word_pattern(sentence).findall(sentence))


def numbers(text: str) -> list[Decimal]:
    """Return the numeric values written with digits in ``text`` (``1,000`` -> 1000, ``-3.5`` -> -3.5)."""
    # The pattern admits only valid literals (a sign, digits, thousands commas, a decimal part), so every one
    # converts.
    return [Decimal(raw.replace(",", "").replace("−", "-")) for raw in _NUMBER.findall(text)]


@functools.lru_cache(maxsize=1024)
def normalize_letter(char: str) -> str:
    """Case-fold a character after dropping accents: ``É`` -> ``e``, ``ß`` -> ``ss``.

    Cached: a response's sentences mostly start with a few letters, and Unicode normalisation costs more than the
    lookup.
    """
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return (base or char).casefold()


def first_letter(sentence: str) -> str | None:
    """The first letter or digit of a sentence (skipping quotes, brackets, emphasis, emoji), or None."""
    for char in sentence:
        if char.isalnum():
            return char
    return None


def end_mark(sentence: str) -> str:
    """The last character of a sentence once trailing whitespace, quotes, brackets and emphasis are removed."""
    index = len(sentence)
    while index > 0 and (sentence[index - 1] in CLOSERS or sentence[index - 1].isspace()):
        index -= 1
    return sentence[index - 1] if index else ""


def fold(text: str) -> str:
    """Case-fold and collapse whitespace, for case-insensitive phrase comparisons."""
    return _WHITESPACE.sub(" ", text).strip().casefold()


def phrase_count(text: str, phrase: str) -> int:
    """Count occurrences of ``phrase`` as a run of whole words, case-insensitively.

    ``like`` does not match ``likely`` or ``unlike``; ``per se`` matches ``Per  se``, ``per\nse`` and ``per *se*`` but
    not ``per-se`` (a hyphenated word is one word), ``per, se`` or ``per. Se``: clause and sentence punctuation
    (``. , ; : ! ? …``) between the words of a phrase breaks it.
    """
    target = tuple(w.casefold() for w in _word_pattern(phrase).findall(phrase))
    if not target:
        return 0
    first = target[0]
    # Case folding maps each character on its own, so a folded word of the text is a substring of the folded
    # text: when the first word is absent from it, no tokenisation is needed.
    folded = text.casefold()
    if first not in folded:
        return 0
    if text.isascii():
        pattern = _ascii_phrase_pattern(target)
        if pattern is not None:
            return len(pattern.findall(folded))
    tokens = _folded_words(text)
    if len(target) == 1:
        return tokens.count(first)
    rest = target[1:]
    size = len(target)
    gaps = _word_gaps(text)
    count = 0
    index = -1
    while True:
        try:
            index = tokens.index(first, index + 1)
        except ValueError:
            return count
        # The words of a phrase are separated by whitespace only: "per, se" and "per. Se" are not "per se".
        if tokens[index + 1:index + size] == rest and all(gaps[index:index + size - 1]):
            count += 1


@functools.lru_cache(maxsize=128)
def _word_gaps(text: str) -> tuple[bool, ...]:
    """For each pair of consecutive words, whether a phrase may run across the gap between them (no clause or
    sentence punctuation in it: see :func:`phrase_count`)."""
    spans = [match.span() for match in _word_pattern(text).finditer(text)]
    return tuple(not _PHRASE_BREAK.search(text, end, start) for (_, end), (start, _) in itertools.pairwise(spans))


@functools.lru_cache(maxsize=128)
def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(map(str.casefold, _word_tuple(text)))


@functools.lru_cache(maxsize=256)
def _ascii_phrase_pattern(target: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex that finds the folded words ``target`` as consecutive whole words of case-folded ASCII text.

    Tokenising a response costs far more than one literal search, and most keyword checks need nothing else. In
    ASCII text a word boundary is a local property: a word starts at a letter or digit unless the character
    before is a letter or digit, or a joiner (apostrophe, hyphen; point or comma between digits) glued to one;
    it ends under the mirrored condition. Consecutive words of the phrase are separated by characters that
    are neither letters, digits nor clause punctuation (". , ; : ! ?" break a phrase). Each match consumes only the first word, so overlapping occurrences all count, as they do over
    the word list. Returns None when a word is not a plain ASCII word (the caller then compares word lists).
    """
    if not all(word.isascii() and _WORD_ASCII.fullmatch(word) for word in target):
        return None
    pieces = []
    for word in target:
        literal = re.escape(word)
        piece = literal + r"(?<![a-z0-9]" + literal + r")(?<![a-z0-9]['\-]" + literal + ")"
        if word[0].isdigit():
            piece += r"(?<![0-9][.,]" + literal + ")"
        piece += r"(?![a-z0-9])(?!['\-][a-z0-9])"
        if word[-1].isdigit():
            piece += r"(?![.,][0-9])"
        pieces.append(piece)
    head, *tail = pieces
    if tail:
        head += "(?=" + "".join(r"[^a-z0-9.,;:!?]++" + piece for piece in tail) + ")"
    return re.compile(head)


def strip_markdown(text: str) -> str:
    """Remove inline emphasis markers (``*``, ``**``, ``_``, ``~~``, backticks) at word edges.

    Underscores inside words (``snake_case``) and list bullets followed by a space are kept.
    """
    return _EMPHASIS.sub("", text)


def loose_variants(text: str) -> list[str]:
    """The relaxed readings used by loose mode: the text itself, without its first line, without its last line,
    without both, each also with inline emphasis removed (IFEval's loose accuracy)."""
    return list(_loose_tuple(text))


@functools.lru_cache(maxsize=16)
def _loose_tuple(text: str) -> tuple[str, ...]:
    # Cached so that every instruction checked in loose mode reuses the same variant strings (and their
    # cached sentences and words).
    lines = text.split("\n")
    candidates = [
        text,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    out: list[str] = []
    for candidate in candidates:
        for variant in (candidate, strip_markdown(candidate)):
            if variant not in out:
                out.append(variant)
    return tuple(out)


def clear_caches() -> None:
    """Empty every per-text cache of this module (benchmarks start each timed run cold)."""
    for cached in (_sentence_tuple, _split_block, _word_tuple, sentence_word_counts, _sentence_words, _folded_words,
                   _word_gaps, _ascii_phrase_pattern, _loose_tuple, normalize_letter):
        cached.cache_clear()
