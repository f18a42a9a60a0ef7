"""Fluent reference answers: what a competent assistant would write for a turn, obeying every active instruction.

The witness composer (:mod:`generator.authoring.witness`) proves that an active set is satisfiable, but its text is
built from filler words. The reference writer builds the text that ``mmmtif oracle`` writes and that reference
history replays as the model's own earlier answers, so it has to read as English: whole sentences drawn from
phrase banks (several phrasings per answer type), openers that are real words for start-letter rules, rhetorical
questions when every sentence must end with "?", extension clauses for long-sentence rules, and no sentence used
twice in one answer.

The writer collects the same :class:`~generator.core.instructions.requirements.Requirements` as the witness, lays the answer
out (title, opening phrase, headings, sections, prose, lists, postscript, closing phrase), then repairs the
sentence and word counts by adding or merging sentences. Every candidate is checked with every active checker and
the answer check; the first that passes is returned. The phrasing is chosen by ``variant`` (for instance a hash of
the conversation id and turn), so the same turn always gets the same text. :class:`ReferenceError` means no fluent
text was found: the generator then places another question at that turn.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from generator.core import text as textmod
from generator.core.answers import check_answer, is_checkable, list_items
from generator.core.instructions.check import check
from generator.core.instructions.registry import get_type
from generator.core.instructions.requirements import Requirements

#: How many phrasing variants a writer tries before it gives up on a turn.
ATTEMPTS = 6
_MAX_REPAIRS = 40


class ReferenceError(ValueError):
    """No fluent reference text satisfies the active instructions and the answer of a turn."""


# ----------------------------------------------------------------------------------------------- phrase banks
# Openers for start-letter rules: real words or phrases that can open any statement (no commas, no keyword,
# no forbidden word, no number, no yes/no word). X has none, which is why the sampler never draws X.
OPENERS: dict[str, tuple[str, ...]] = {
    "A": ("All in all", "As far as I can tell", "After a careful look", "At a glance"),
    "B": ("By my reading", "Based on the image", "Broadly speaking", "By all signs"),
    "C": ("Clearly", "Certainly", "Checking carefully", "Counting carefully"),
    "D": ("Doubtless", "Definitely", "Digging into the details", "Done carefully"),
    "E": ("Evidently", "Essentially", "Either way", "Even at a glance"),
    "F": ("From what I see", "Frankly", "For the record", "Fortunately"),
    "G": ("Going by the image", "Given the image", "Generally", "Going over it again"),
    "H": ("Here", "Happily", "Having checked", "Having looked closely"),
    "I": ("I think", "In short", "Indeed", "In my reading"),
    "J": ("Judging by the image", "Judging from what I see", "Judging carefully", "Judged as a whole"),
    "K": ("Keeping to the facts", "Keeping it brief", "Knowing this", "Keeping the details in mind"),
    "L": ("Looking closely", "Looking again", "Luckily", "Looking at the details"),
    "M": ("Most likely", "Moreover", "Mainly", "My reading is that"),
    "N": ("Naturally", "Notably", "Now", "Needless to say"),
    "O": ("Overall", "Of course", "On a closer look", "Once again"),
    "P": ("Plainly", "Put briefly", "Perhaps unsurprisingly", "Put another way"),
    "Q": ("Quite clearly", "Quite plausibly", "Quite certainly", "Quite naturally"),
    "R": ("Reading carefully", "Reassuringly", "Rest assured", "Reading it again"),
    "S": ("So", "Surely", "Still", "Seen up close"),
    "T": ("Then", "Thus", "To be clear", "Taken together"),
    "U": ("Undoubtedly", "Upon a closer look", "Usually", "Understandably"),
    "V": ("Visibly", "Viewed closely", "Viewed as a whole", "Verified carefully"),
    "W": ("Well", "With care", "Without doubt", "With everything considered"),
    "Y": ("You can see that", "Yet again", "You will find that", "You may notice that"),
    "Z": ("Zooming in", "Zooming out", "Zooming in closely", "Zooming in again"),
}

# Ways to turn a statement into a question when every sentence must end with "?".
QUESTION_FORMS: tuple[str, ...] = (
    "Would you agree that", "Is it not clear that", "Can we agree that", "Did you notice that",
    "Does it not seem that", "Would it surprise you that",
)

ANSWER_FORMS: dict[str, tuple[str, ...]] = {
    "number": ("The answer is {a}", "The correct answer is {a}", "My answer is {a}", "I make it {a}",
               "Reading the image carefully gives {a}", "The image gives {a} as the answer"),
    "word": ("The answer is {a}", "My answer is {a}", "The right answer here is {a}", "I would answer {a}",
             "The correct answer is {a}", "It comes down to {a}"),
    "yes": ("Yes, that is the case", "The answer is yes", "Yes, that is correct", "Yes, I can confirm that",
            "Yes, the image shows that", "My answer is yes"),
    "no": ("No, that is not the case", "The answer is no", "No, that is not correct", "My answer is no",
           "No, the image does not show that", "No, I cannot confirm that"),
    "list": ("The answer is {a}", "They are {a}", "The items are {a}", "My answer lists {a}",
             "The ones that fit are {a}", "The full answer is {a}"),
    "sequence": ("In order they are {a}", "The order is {a}", "From first to last they are {a}",
                 "The correct order is {a}", "In the right order the answer is {a}", "My ordered answer is {a}"),
    "open": ("Here is my reading of {img}", "{img} shows its subject clearly", "The main subject of {img} is easy to "
             "make out", "There is a good amount of detail in {img}", "My answer is based on what {img} shows",
             "I looked at {img} closely before answering"),
}

FILLERS: tuple[str, ...] = (
    "I read this straight from the image",
    "Every label in the image agrees with this",
    "The details are easy to make out",
    "Nothing in the image points the other way",
    "I went over each part of the image to be sure",
    "A second look gives the same result",
    "The layout makes this easy to check",
    "The labels are clear and easy to read",
    "Anyone checking the image should reach the same answer",
    "I am confident in this reading",
    "The result holds up on a closer look",
    "Each part of the image fits this answer",
    "The image leaves little room for doubt here",
    "This is the most direct reading of the image",
    "Small details do not change the answer",
    "The rest of the image supports it as well",
    "It is a clear case once you look closely",
    "The answer does not depend on guesswork",
    "I found nothing that would change my mind",
    "Other readings seem much less likely",
    "The evidence in the image is consistent",
    "That settles the question as far as I can tell",
    "I kept the answer short and to the point",
    "The main points are all covered here",
    "It is worth checking the image yourself as well",
    "The drawing is neat and well organised",
    "The marks in the image are sharp enough to read",
    "I compared the parts of the image one by one",
    "There is nothing hidden or unclear about it",
    "The same reading comes out every time I check",
)

# Clauses that lengthen a sentence for "at least N words per sentence" (no commas, no keyword, no digit).
EXTENSIONS: tuple[str, ...] = (
    "and I checked this against every part of the image",
    "after going over each label and mark one by one",
    "which is what a careful look at the image shows",
    "because the details in the image point clearly that way",
    "and nothing else in the image suggests a different reading",
    "as far as I can tell from the image in front of me",
    "so there should be little doubt about it",
    "once the whole image is taken into account",
    "and a second look at the image gives the same result",
    "which anyone reading the image closely would confirm",
    "and the labels in the image leave no room for another answer",
    "when each part of the image is read with care",
    "and I found nothing in the image that argues against it",
    "since every detail I checked points the same way",
)

POSTSCRIPTS: tuple[str, ...] = (
    "I hope this helps", "Let me know if anything is unclear", "Feel free to ask about the other images too",
    "I am happy to go into more detail", "Tell me if you want a longer explanation",
)

TITLES: dict[str, tuple[str, ...]] = {
    "A": ("Answer at a glance",), "B": ("Brief answer",), "C": ("Close reading",), "D": ("Direct answer",),
    "E": ("Easy reading",), "F": ("Findings",), "G": ("Guide to the answer",), "H": ("How I read it",),
    "I": ("In brief",), "J": ("Judging the image",), "K": ("Key finding",), "L": ("Looking closer",),
    "M": ("My reading",), "N": ("Notes on the image",), "O": ("Overview",), "P": ("Plain answer",),
    "Q": ("Quick answer",), "R": ("Reading the image",), "S": ("Short answer",), "T": ("The answer",),
    "U": ("Understanding the image",), "V": ("Verdict",), "W": ("What the image shows",), "Y": ("Your answer",),
    "Z": ("Zooming in",),
}
DEFAULT_TITLES: tuple[str, ...] = ("The short answer", "What the image shows", "My reading", "Answer at a glance")
HEADINGS: tuple[str, ...] = ("Answer", "Details", "Notes", "Reasoning", "Summary")

# Sentences carrying required words. "{k}" is the keyword, "{n}" a number, "{t}" joined tokens.
KEYWORD_CARRIERS: dict[str, tuple[str, ...]] = {
    "per se": ("The image per se is simple to read", "The question per se has one clear answer",
               "The drawing per se holds no surprises", "The answer per se is short"),
    "itself": ("The image itself is clear", "The answer itself is short", "The drawing itself is neat",
               "The question itself is fair"),
    "like": ("I like how clear the image is", "It looks like a careful drawing", "I like the neat layout",
             "The marks look like they were placed with care"),
    "remarkable": ("The clarity of the image is remarkable", "It is remarkable how neat the layout is",
                   "The level of detail is remarkable", "The tidy labels are remarkable"),
    "context": ("In this context the answer is plain", "The context of the image helps", "Seen in context the "
                "reading holds", "The context leaves no doubt"),
    "picture": ("The picture is clear", "The picture is easy to read", "Every part of the picture fits",
                "The picture holds no surprises"),
    "observe": ("I observe nothing that contradicts it", "You can observe the same thing yourself",
                "I observe a tidy layout", "Anyone can observe the key detail"),
    "color": ("Each color in the image is distinct", "The color scheme is easy on the eye",
              "The color of each mark is clear", "Every color stands out well"),
    "shape": ("Each shape is drawn clearly", "The shape of each mark is easy to see",
              "Every shape has a clean outline", "No shape is hard to make out"),
    "texture": ("The texture of the image is smooth", "There is little texture to distract the eye",
                "The flat texture keeps things readable", "The texture stays even throughout"),
    "balance": ("The image has a pleasant balance", "The balance of the layout is good",
                "There is a good balance of space and detail", "The balance between parts is even"),
    "contrast": ("The contrast is strong enough to read", "Good contrast makes the details clear",
                 "The contrast between parts is sharp", "High contrast helps here"),
}
GENERIC_KEYWORD_CARRIERS: tuple[str, ...] = (
    "The word {k} fits this answer", "I would use the word {k} here", "The word {k} sums it up",
    "Here the word {k} applies",
)
NUMBER_CARRIERS: tuple[str, ...] = (
    "As requested I include the number {n}", "I am adding the number {n} as you asked",
    "The number {n} is included as you asked", "I include the number {n} as requested",
)
IMAGE_CARRIERS: tuple[str, ...] = (
    "I looked closely at {t} before answering", "I also compared {t} while answering",
    "My answer takes {t} into account",
)
PLACEHOLDER_CARRIERS: tuple[str, ...] = (
    "Feel free to fill in {t} as needed", "You can replace {t} with your own details",
    "I left {t} for you to fill in",
)
HIGHLIGHT_CARRIERS: tuple[str, ...] = (
    "I have marked the {t} parts for you", "The {t} points are marked here",
    "Please note the {t} details",
)
CAPITAL_CARRIERS: tuple[str, ...] = (
    "I wrote the {t} points in capitals", "The {t} details are in capitals",
    "Please read the {t} parts first",
)
QUOTATION_CARRIERS: tuple[str, ...] = (
    "The scene looks {t} to me", "I would call the image {t}", "One word for it is {t}",
)

_IMAGE_NAME = re.compile(r"\bImage\s?(\d)\b")
_COMMA = re.compile(r"\s*,\s*")
_TRAILING_DIGITS = re.compile(r"\d+$")
_EXTENSION_WORDS = {extension: textmod.word_count(extension) for extension in EXTENSIONS}


@lru_cache(maxsize=4096)
def _words_folded(phrase: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in textmod.words(phrase))


@lru_cache(maxsize=4096)
def _usable(options: tuple[str, ...], banned: frozenset[str]) -> tuple[str, ...]:
    """The phrasings of ``options`` that use no banned word (cached: the banks and banned sets recur)."""
    return tuple(o for o in options if not (_words_folded(o) & banned))


def _join(items: Sequence[str], no_commas: bool) -> str:
    items = list(items)
    if len(items) == 1:
        return items[0]
    head = " and ".join(items[:-1]) if no_commas else ", ".join(items[:-1])
    return f"{head} and {items[-1]}"


@lru_cache(maxsize=4096)
def _piece_words(piece: str) -> int:
    """The number of words of a piece of a sentence (a core, question form or opener)."""
    return textmod.word_count(piece)


@lru_cache(maxsize=4096)
def _echoes(opener: str, head: str) -> bool:
    """Whether ``opener`` ends with the word (digits dropped) that a sentence starting with the piece ``head``
    starts with, as in "Now now": the writer then takes the next opener.

    Keyed by the piece, not the sentence: the first word of a piece followed by a space and more text is the first
    word of the piece, and the pieces (cores, question forms) recur.
    """
    return opener.split()[-1].casefold() == _TRAILING_DIGITS.sub("", head.split(None, 1)[0]).casefold()


@lru_cache(maxsize=4096)
def _lower_first(core: str) -> str:
    """Lower-case the first letter of a core that follows an opener ("The answer" -> "the answer").

    Cached: the cores come from the phrase banks, so the same few hundred recur in every answer.
    """
    first = core.split(" ", 1)[0]
    if first == "I" or first.startswith("Image") or (len(first) > 1 and first.isupper()) or not first[:1].isupper():
        return core
    if len(first) > 1 and any(ch.isupper() for ch in first[1:]):
        return core
    return core[0].lower() + core[1:]


class _Writer:
    def __init__(self, req: Requirements, banned: frozenset[str], answer: str | None, answer_type: str,
                 images: Sequence[str], variant: int) -> None:
        self.req = req
        self.answer_type = answer_type
        self.images = list(images) or []
        self.variant = variant
        self.banned = banned
        self.answer = answer
        self.extension_cursor = variant
        self._sentences: dict[tuple[str, int], str] = {}  # the repair loop renders the same sentences again
        # What finishing a sentence reads, for nearly every sentence: looked up once per writer. ``_openers`` is
        # None when no opener starts with the letter.
        self._letter = textmod.normalize_letter(req.letter) if req.letter is not None else None
        options = OPENERS.get(self._letter.upper()) if self._letter is not None else None
        self._openers = _usable(options, banned) if options else None
        self._forms = _usable(QUESTION_FORMS, banned) if req.mark == "?" else ()
        self._extensions = _usable(EXTENSIONS, banned) if req.wmin else ()

    # -- choices --------------------------------------------------------------------------------------------
    def _pick(self, options: tuple[str, ...], offset: int = 0) -> str:
        return self._choose(_usable(options, self.banned), offset)

    def _choose(self, allowed: tuple[str, ...], offset: int) -> str:
        """The phrasing of this variant among the ``allowed`` ones (those that use no banned word)."""
        if not allowed:
            raise ReferenceError("every phrasing uses a word the instructions rule out")
        return allowed[(self.variant + offset) % len(allowed)]

    def _opener(self, offset: int) -> str:
        if self._openers is None:
            raise ReferenceError(f"no natural opener starts with {self.req.letter!r}")
        return self._choose(self._openers, offset)

    # -- sentences ------------------------------------------------------------------------------------------
    def sentence(self, core: str, offset: int) -> str:
        """A finished sentence: question form, opener, length, commas and end mark applied to ``core``."""
        key = (core, offset)
        text = self._sentences.get(key)
        if text is None:
            text = self._sentences[key] = self._finish(core, offset)
        return text

    def _finish(self, core: str, offset: int) -> str:
        req = self.req
        text = core
        prefixed = 0  # the words put before the core
        head = core  # the piece the sentence starts with, so far
        if req.mark == "?":
            head = self._choose(self._forms, offset)
            text = f"{head} {_lower_first(text)}"
            prefixed += _piece_words(head)
        if self._letter is not None:
            first = textmod.first_letter(text)
            if first is None or textmod.normalize_letter(first) != self._letter:
                opener = self._opener(offset)
                if _echoes(opener, head):
                    opener = self._opener(offset + 1)
                text = f"{opener} {_lower_first(text)}"
                prefixed += _piece_words(opener)
        if req.wmin:
            # No word runs across a space, so the sentence has the words of its pieces: the core (lower-cased once
            # when a question form or opener goes before it; lower-casing the ASCII first letter of a bank phrase
            # keeps its words) and the prefixes. Appending " <extension>" likewise adds the extension's own words.
            # Each piece is counted once per process, as the pieces recur, not each new sentence.
            count = prefixed + _piece_words(core if text is core else _lower_first(core))
            ext = 0
            while count < req.wmin and ext < len(EXTENSIONS):
                extension = self._choose(self._extensions, 2 * offset + ext)
                text = f"{text} {extension}"
                count += _EXTENSION_WORDS[extension]
                ext += 1
        if req.no_commas:
            text = _COMMA.sub(" ", text)
        if text[-1:] == ":":
            text = text[:-1]
        return text + (req.mark or ".")

    def answer_core(self, lead: str | None = None) -> str:
        kind = self.answer_type
        names = _join(self.images, self.req.no_commas) if self.images else "the image"
        if self.answer is None:
            core = self._pick(ANSWER_FORMS["open"]).replace("{img}", names)
            if lead is not None:
                return f"{lead} that {_lower_first(core)}" if lead.endswith(" is") else f"{lead} {_lower_first(core)}"
            return core
        if kind == "yes/no":
            value = self.answer
            if lead is not None:
                return f"{lead} {value}" if lead.endswith(" is") else f"{lead} the answer is {value}"
            return self._pick(ANSWER_FORMS[value])
        if kind in ("list", "sequence"):
            value = _join(list_items(self.answer), self.req.no_commas)
        else:
            value = self.answer.strip().rstrip(".!?;: ")
        if self.req.capital_max is not None:
            value = value.lower() if value.isupper() else value
        if lead is not None:
            return f"{lead} {value}" if lead.endswith(" is") else f"{lead} the answer is {value}"
        return self._pick(ANSWER_FORMS.get(kind, ANSWER_FORMS["word"])).replace("{a}", value)

    # -- content --------------------------------------------------------------------------------------------
    def token_cores(self, mentioned_text: str) -> list[str]:
        req = self.req
        cores: list[str] = []
        groups: dict[str, list[str]] = {"image": [], "placeholder": [], "highlight": [], "capital": [],
                                         "quote": []}
        required_images = 0
        for token in req.tokens:
            if token.startswith("Image"):
                required_images = max(required_images, int(token[5:]))
            elif token.startswith("["):
                groups["placeholder"].append(token)
            elif token.startswith("*"):
                groups["highlight"].append(token)
            elif token.startswith('"'):
                groups["quote"].append(token)
            else:
                groups["capital"].append(token)
        if required_images:
            mentioned = set(_images_of(mentioned_text))
            missing = required_images - len(mentioned)
            pool = [name for name in self.images if name not in mentioned]
            pool += [f"Image{i + 1}" for i in range(required_images) if f"Image{i + 1}" not in pool + list(mentioned)]
            groups["image"] = pool[:max(0, missing)]
        carriers = {"image": IMAGE_CARRIERS, "placeholder": PLACEHOLDER_CARRIERS, "highlight": HIGHLIGHT_CARRIERS,
                    "capital": CAPITAL_CARRIERS, "quote": QUOTATION_CARRIERS}
        for kind, items in groups.items():
            if items:
                cores.append(self._pick(carriers[kind]).replace("{t}", _join(items, self.req.no_commas)))
        for position, number in enumerate(req.numbers):
            cores.append(self._pick(NUMBER_CARRIERS, position).replace("{n}", str(number)))
        return cores

    def keyword_cores(self, present: str) -> list[str]:
        req = self.req
        cores: list[str] = []
        for word in sorted(set(req.keyword_min)):
            have = textmod.phrase_count(present, word)
            need = req.keyword_min[word] - have
            usable = _keyword_carriers(word, self.banned)
            for index in range(max(0, need)):
                if not usable:
                    raise ReferenceError(f"no sentence carries {word!r}")
                cores.append(usable[(self.variant + index) % len(usable)])
        return cores

    def filler(self, used: set[str], offset: int) -> str:
        usable = _usable(FILLERS, self.banned)
        allowed = [f for f in usable if f not in used] if used else usable
        if not allowed:
            raise ReferenceError("ran out of distinct sentences")
        choice = allowed[(self.variant * 7 + offset) % len(allowed)]
        used.add(choice)
        return choice


@lru_cache(maxsize=1024)
def _keyword_carriers(word: str, banned: frozenset[str]) -> tuple[str, ...]:
    """The sentences that can carry ``word`` without a banned word besides the keyword itself.

    Cached: it depends on the keyword and the banned words only, which a conversation keeps from turn to turn.
    """
    options = KEYWORD_CARRIERS.get(word.casefold()) or tuple(c.replace("{k}", word) for c in GENERIC_KEYWORD_CARRIERS)
    return tuple(c for c in options if not ((_words_folded(c) - _words_folded(word)) & banned))


@lru_cache(maxsize=4096)
def _collect(active: tuple[Any, ...]) -> tuple[Requirements, frozenset[str]]:
    """The requirements of an active set, and the folded words no phrasing may use (those of forbidden words and
    of counted keywords, whose counts a phrasing must not change).

    Cached: a conversation keeps most of its instructions from turn to turn, and the planner's probe asks about the
    same sets again. The writer only reads the requirements, so calls with equal sets share one object.
    """
    req = Requirements()
    for instruction in active:
        get_type(instruction.id).contribute(instruction.kwargs, req)
    banned: set[str] = set()
    for phrase in list(req.forbidden) + list(req.keyword_min) + list(req.keyword_max):
        banned |= _words_folded(phrase)
    return req, frozenset(banned)


class _Layout:
    """Assemble the parts of an answer into text; the parts are mutated by the repair loop."""

    def __init__(self, writer: _Writer) -> None:
        self.w = writer
        req = writer.req
        self.req = req
        self.used: set[str] = set()
        # Every heading and section needs a sentence of its own; a text needs this many sentences at least.
        self.parts = max(req.headings, req.sections[1] if req.sections else 0)
        self.least = max(req.smin, 2 if req.smax is None or req.smax >= 2 else 1)
        lead = None
        self.opening: str | None = None
        if req.start_phrase is not None:
            phrase = req.start_phrase.strip()
            if phrase[-1:] in ".!?":
                self.opening = phrase
            elif phrase.casefold().endswith(" is"):
                lead = phrase
            elif phrase.casefold().endswith("answer"):
                self.opening = phrase
            else:
                lead = phrase
        self.lead = lead
        self.main: list[str] = [writer.answer_core(lead)]
        if req.tokens or req.numbers:
            self.main += writer.token_cores(self.main[0])
        if req.keyword_min:
            present = " ".join([*self.main, req.start_phrase or "", req.end_phrase or ""])
            if req.sections:
                present += f" {req.sections[0]}" * req.sections[1]
            self.main += writer.keyword_cores(present)
        self.bullets = [writer.filler(self.used, i) for i in range(req.bullets or 0)]
        self.numbered = [writer.filler(self.used, 100 + i) for i in range(req.numbered or 0)]

    def add_sentence(self) -> None:
        self.main.append(self.w.filler(self.used, len(self.main) + 13))

    def merge_two(self) -> bool:
        """Join the last two prose cores with "and"; False when nothing can be merged (every heading and section
        keeps a sentence of its own: an empty heading at the end reads as a cut-off answer)."""
        if len(self.main) < 2 or len(self.main) + (self.opening is not None) <= self.parts:
            return False
        last = self.main.pop()
        self.main[-1] = f"{self.main[-1]} and {_lower_first(last)}"
        return True

    def title_text(self) -> str:
        req = self.req
        if req.letter is not None:
            options = TITLES.get(textmod.normalize_letter(req.letter).upper(), ())
        else:
            options = DEFAULT_TITLES
        title = self.w._pick(options)
        if req.wmin:
            return self.w.sentence(title, 0)
        return title + (req.mark or "")

    def heading_text(self, index: int) -> str:
        req = self.req
        heading = HEADINGS[index % len(HEADINGS)]
        if req.wmin:
            return self.w.sentence(heading, index)
        return heading + (req.mark or "")

    def render(self) -> str:
        req = self.req
        w = self.w
        sentences = [w.sentence(core, i) for i, core in enumerate(self.main)]
        prose_first = sentences[:1]
        prose_rest = sentences[1:]
        groups: list[list[str]] = []
        if req.title:
            groups.append([f"<<{self.title_text()}>>"])
        first_line: list[str] = []
        if self.opening is not None:
            first_line.append(w.sentence(self.opening, 0) if self.opening[-1:] not in ".!?" else self.opening)
        body: list[list[str]] = []
        prose = first_line + prose_first + prose_rest
        if req.sections:
            marker, count = req.sections
            for index, part in enumerate(_split(prose, count)):
                text = " ".join(part)
                body.append([f"{marker} {index + 1}" + (f"\n{text}" if text else "")])
        elif req.headings:
            for index, part in enumerate(_split(prose, req.headings)):
                body.append([f"# {self.heading_text(index)}"])
                if part:
                    body.append([" ".join(part)])
        else:
            body.append([" ".join(prose)])
        if self.bullets:
            body.append([f"- {w.sentence(core, 50 + i)}" for i, core in enumerate(self.bullets)])
        if self.numbered:
            body.append([f"{i + 1}. {w.sentence(core, 70 + i)}" for i, core in enumerate(self.numbered)])
        closing: list[str] = []
        if req.postscript is not None:
            closing.append(f"{req.postscript} {w.sentence(w._pick(POSTSCRIPTS), 90)}")
        if req.end_phrase is not None:
            closing.append(req.end_phrase.strip())
        groups += body
        if closing:
            groups.append(closing)
        if req.paragraphs is not None:
            groups = _fit_paragraphs(groups, req.paragraphs)
        text = "\n\n".join(["\n".join(group) for group in groups if group])
        if req.case == "lower":
            text = text.lower()
        elif req.case == "upper":
            text = text.upper()
        if req.json:
            key = "ANSWER" if req.case == "upper" else "answer"
            return json.dumps({key: text.replace("\n\n", " ")}, ensure_ascii=False)
        if req.quoted:
            first = text.split("\n", 1)[0]
            structural = first.startswith(("#", "- ", "<<")) or re.match(r"\d+\. ", first) or (
                req.postscript is not None and first.startswith(req.postscript)) or (
                req.sections is not None and first.casefold().startswith(req.sections[0].casefold()))
            return ('"\n' if structural else '"') + text + '"'
        return text


def _split(items: list[str], parts: int) -> list[list[str]]:
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def _fit_paragraphs(groups: list[list[str]], target: int) -> list[list[str]]:
    """Split or merge paragraph groups until there are exactly ``target`` (prose splits at sentence ends)."""
    groups = [g for g in groups if g]
    while len(groups) > target and len(groups) > 1:
        last = groups.pop()
        groups[-1] = groups[-1] + last
    while len(groups) < target:
        # split the prose group with the most sentences at a sentence boundary (a section keeps its marker line)
        best = None
        for index, group in enumerate(groups):
            if len(group) != 1:
                continue
            lines = group[0].split("\n")
            prose = lines[-1]
            if prose.startswith(("#", "- ", "<<")) or (len(lines) == 1 and re.match(r"\d+\. ", prose)):
                continue
            pieces = textmod.sentences(prose)
            if len(pieces) >= 2 and (best is None or len(pieces) > best[1]):
                best = (index, len(pieces))
        if best is None:
            return groups
        index = best[0]
        lines = groups[index][0].split("\n")
        pieces = textmod.sentences(lines[-1])
        half = len(pieces) // 2
        head = "\n".join([*lines[:-1], " ".join(pieces[:half])])
        groups[index:index + 1] = [[head], [" ".join(pieces[half:])]]
    return groups


@lru_cache(maxsize=256)
def _images_of(question: str | None) -> tuple[str, ...]:
    """The image names of a text, each once, in order of first mention.

    Cached: a turn's question is read by every attempt and by the answer sentence of each layout.
    """
    if not question:
        return ()
    seen: list[str] = []
    for match in _IMAGE_NAME.finditer(question):
        name = f"Image{match.group(1)}"
        if name not in seen:
            seen.append(name)
    return tuple(seen)


def _failures(active: Sequence[Any], text: str, reference: str | None, answer_type: str,
              question: str) -> list[str]:
    problems = [f"{inst.id}: {verdict.reason}" for inst in active if not (verdict := check(inst, text)).ok]
    if reference is not None and is_checkable(reference, answer_type) and not check_answer(
            reference, answer_type, text, question):
        problems.append("answer not stated")
    return problems


def write_reference(active: Sequence[Any], reference: str | None, answer_type: str | None, *,
                    question: str | None = None, variant: int = 0) -> str:
    """The fluent reference text of one turn; raises :class:`ReferenceError` when none passes every check."""
    answer_type = answer_type or "open"
    checkable = reference is not None and is_checkable(reference, answer_type)
    answer = None
    if checkable and reference is not None:
        answer = reference.strip().strip(".!").lower() if answer_type == "yes/no" else reference
    req, banned = _collect(tuple(active))
    images = _images_of(question)
    last: list[str] = []
    # The turn's own phrasings first, then the fixed ones the planner's probe uses (variant 0 onwards), so a set the
    # probe accepted always has a text for the probe's question.
    for current in _variants(variant):
        try:
            writer = _Writer(req, banned, answer, answer_type if checkable else "open", images, current)
            layout = _Layout(writer)
            text = _repair(layout)
        except ReferenceError as exc:
            last = [str(exc)]
            continue
        last = _failures(active, text, reference if checkable else None, answer_type, question or "")
        if not last:
            return text
    raise ReferenceError("; ".join(last) or "no fluent text")


def _variants(variant: int) -> Iterator[int]:
    """``variant`` and the next phrasings, then those from 0 not tried yet; made lazily, as the first one usually
    passes."""
    # The fixed phrasings 0 .. ATTEMPTS-1 not in ``variant .. variant+ATTEMPTS-1``: those below and those above it.
    return itertools.chain(range(variant, variant + ATTEMPTS), range(min(variant, ATTEMPTS)),
                           range(max(variant + ATTEMPTS, 0), ATTEMPTS))


def _too_short(layout: _Layout, text: str) -> bool:
    """Whether the answer needs another sentence: too few sentences, words, paragraphs, or sections to fill."""
    req = layout.req
    least = layout.least
    if not req.json and (textmod.most_sentences(text) < least or len(textmod.sentences(text)) < least):
        return True
    # A text never has fewer than 0 words: without a minimum the text is not tokenised here.
    if req.tmin > 0 and textmod.word_count(text) < req.tmin:
        return True
    if req.paragraphs is not None and len(textmod.paragraphs(text)) < req.paragraphs:
        return True
    return len(layout.main) + (layout.opening is not None) < layout.parts


def _repair(layout: _Layout) -> str:
    """Add sentences until every minimum is met, or merge them while there are more than allowed."""
    req = layout.req
    text = layout.render()
    for _ in range(_MAX_REPAIRS):
        if req.smax is not None and len(textmod.sentences(text)) > req.smax:
            if not layout.merge_two():
                break
        elif _too_short(layout, text):
            layout.add_sentence()
        else:
            break
        text = layout.render()
    return text


def variant_of(*key: object) -> int:
    """A stable phrasing choice for a turn: a hash of its conversation id and turn number.

    Not a random draw: the oracle, reference history and the generator's proof must all pick the same text from
    the row alone, without the generation seed.
    """
    digest = hashlib.blake2b(repr(key).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big")


def _turn_instructions(turn: Mapping[str, Any]) -> list[Any]:
    from generator.core.instructions.registry import Instruction

    active = []
    for item in turn.get("active_instructions") or []:
        kwargs = item.get("kwargs") or "{}"
        active.append(Instruction(item["id"], json.loads(kwargs) if isinstance(kwargs, str) else dict(kwargs)))
    return active


def turn_reference(row_id: str, turn: Mapping[str, Any]) -> str:
    """The reference text of one stored turn (what the generator proved when it wrote the row).

    Rows the generator did not write (an imported release, a user's own file) may hold a turn no fluent text
    fits; the witness composer answers those, so a satisfiable turn always gets a compliant text.
    """
    active = _turn_instructions(turn)
    reference = turn.get("reference_answer") or None
    answer_type = turn.get("answer_type") or "open"
    try:
        return write_reference(active, reference, answer_type, question=turn.get("question"),
                               variant=variant_of(row_id, int(turn["turn"])))
    except ReferenceError:
        from generator.authoring.witness import compose_witness
        from generator.core.answers import answer_phrase

        answer = answer_phrase(reference, answer_type) if reference and is_checkable(reference, answer_type) else None
        return compose_witness(active, answer)
