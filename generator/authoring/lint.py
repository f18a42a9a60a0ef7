"""Lint for generated English: reference answers and question texts.

The checks catch what machine-built text gets wrong and a reader notices at once: a word doubled ("the the"), two
determiners in a row ("This the answer"), a sentence without a verb, the same sentence twice in one answer, an
answer cut off mid-sentence ("... and?"), "a" before a vowel sound, a superlative comparing two items, and a
singular verb before a plural noun ("Is Bananas"). They are heuristics tuned to the generator's vocabulary, used
by the tests over large generated samples; the standard library only.
"""

from __future__ import annotations

import itertools
import re

from generator.core import text as textmod

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_DETERMINERS = frozenset({"a", "an", "the", "this", "these", "those", "both", "each", "every", "my", "your"})
# Words that may legitimately repeat ("that that" is rare; numbers and image names may repeat in lists).
_ADJACENT_NUMBERS = re.compile(r"(?<![\d.,])\d+(?:\.\d+)?[ \t]+\d+(?:\.\d+)?(?![\d.,]*\d)")
_REPEAT_OK = frozenset({"had", "that"})
_FUNCTION_ENDINGS = frozenset({"a", "an", "the", "and", "or", "of", "to", "but", "which", "than", "by", "from", "my",
                               "your", "every", "each"})
# Closing sentences that instructions prescribe word for word (vocab.END_PHRASES): verbless by design.
_PRESCRIBED = frozenset({"any other questions?", "hope this helps!", "is there anything else i can help with?"})
# A sentence needs one of these (auxiliaries, common verbs) or a word that looks like an inflected verb.
_VERBS = frozenset(["am", "is", "are", "was", "were", "be", "been", "being", "do", "does", "did", "have", "has", "had", "can", "could", "will", "would", "shall", "should", "may", "might", "must", "show", "shows", "showed", "shown", "give", "gives", "gave", "make", "makes", "made", "read", "reads", "agree", "notice", "noticed", "seem", "seems", "fit", "fits", "look", "looks", "looked", "like", "include", "included", "includes", "add", "adding", "added", "mark", "marked", "write", "wrote", "written", "compare", "compared", "check", "checked", "go", "went", "find", "found", "keep", "kept", "fill", "replace", "left", "leave", "leaves", "note", "call", "observe", "come", "comes", "hold", "holds", "stand", "stands", "help", "helps", "hope", "let", "know", "ask", "tell", "want", "apply", "applies", "sum", "sums", "use", "uses", "point", "points", "depend", "depends", "support", "supports", "settle", "settles", "sit", "sits", "cross", "crosses", "rise", "rises", "fall", "falls", "list", "lists", "answer", "answered", "think", "confirm", "see", "sees", "count", "counts", "take", "takes", "get", "gets", "appear", "appears", "contain", "contains", "lie", "lies", "stay", "stays", "keep", "keeps", "distract", "helps", "looks", "comes", "stands", "answering"])
_VERB_SUFFIX = re.compile(r"[a-z]{3,}(?:ed|es)$")
_TWO_ITEMS = re.compile(r"\bwhich\s+of\s+(?:the\s+)?(?:two\b|Image\d\s+and\s+Image\d\b)", re.IGNORECASE)
_NOT_SUPERLATIVE = frozenset({"interest", "test", "rest", "forest", "request", "west", "nest", "chest", "guest",
                              "harvest", "honest", "modest", "contest", "suggest", "protest", "invest"})
_A_AN = re.compile(r"\b(a|an)\s+([A-Za-z]+)", re.IGNORECASE)
_VOWEL_SOUND_EXCEPTIONS_AN = frozenset({"hour", "honest", "heir", "honour", "honor"})
_CONSONANT_SOUND_EXCEPTIONS_A = frozenset({"one", "once", "unit", "units", "user", "usual", "unique", "uniform",
                                           "european", "euro", "useful", "union"})
_IS_PLURAL = re.compile(r"\b(Is|is|Was|was|Does|does|Has|has)\s+([A-Z][a-z]+s)\b(?!\s+(?:bar|slice|cell|item))")


def _sentences(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith(("<<", "#"))]
    return textmod.sentences("\n".join(lines))


def lint_reference(text: str) -> list[str]:
    """Problems of one reference answer (empty when it reads cleanly)."""
    problems: list[str] = []
    body = text.strip()
    if body.startswith("{"):
        return problems
    for line in body.splitlines():
        # runs of words separated by spaces only: punctuation between two words breaks a pair
        for run in re.split(r"[^\w\s'’-]+", line):
            words = [w.casefold() for w in _WORD.findall(run)]
            for position, (first, second) in enumerate(itertools.pairwise(words)):
                if first == second and first not in _REPEAT_OK and not first.isdigit():
                    problems.append(f"doubled word {first!r}")
                if first in _DETERMINERS and second in _DETERMINERS - {"each", "every"}:
                    following = words[position + 2] if position + 2 < len(words) else ""
                    if not (first == "both" and following.endswith("s")):
                        problems.append(f"two determiners {first!r} {second!r}")
    for match in _ADJACENT_NUMBERS.finditer(body):
        problems.append(f"two numbers in a row {match.group(0)!r}")
    seen: set[str] = set()
    for sentence in _sentences(body):
        key = " ".join(_WORD.findall(sentence.casefold()))
        if key in seen:
            problems.append(f"repeated sentence {sentence!r}")
        seen.add(key)
        tokens = [w.casefold() for w in _WORD.findall(sentence)]
        if tokens and sentence.casefold() not in _PRESCRIBED and not any(w in _VERBS or _VERB_SUFFIX.match(w) for w in tokens):
            problems.append(f"no verb in {sentence!r}")
    stripped = body.rstrip('"”’*_>) \n')
    if stripped and stripped[-1] not in ".!?":
        problems.append("cut-off ending")
    tail = _WORD.findall(stripped[-40:])
    last_sentence = (_sentences(body) or [""])[-1].casefold().strip('"”')
    if tail and tail[-1].casefold() in _FUNCTION_ENDINGS and last_sentence not in _PRESCRIBED:
        problems.append(f"ends on {tail[-1]!r}")
    return problems


def lint_question(text: str) -> list[str]:
    """Problems of one question text: doubled words, a/an, superlatives for two items, number agreement."""
    problems: list[str] = []
    words = [w.casefold() for w in _WORD.findall(text)]
    for first, second in itertools.pairwise(words):
        if first == second and not first.isdigit():
            problems.append(f"doubled word {first!r}")
    for match in _A_AN.finditer(text):
        article, word = match.group(1).lower(), match.group(2).lower()
        vowel = word[0] in "aeiou"
        if word in _VOWEL_SOUND_EXCEPTIONS_AN:
            vowel = True
        if word in _CONSONANT_SOUND_EXCEPTIONS_A or word.startswith(("uni", "eu")):
            vowel = False
        if (article == "a" and vowel) or (article == "an" and not vowel):
            problems.append(f"{article!r} before {word!r}")
    if _TWO_ITEMS.search(text):
        for word in _WORD.findall(text):
            lowered = word.casefold()
            if lowered in ("most", "least", "fewest", "best", "worst") or (
                    lowered.endswith("est") and len(lowered) > 4 and lowered not in _NOT_SUPERLATIVE):
                problems.append(f"superlative {word!r} for two items")
    for match in _IS_PLURAL.finditer(text):
        noun = match.group(2)
        if not noun.endswith(("ss", "us", "is")):
            problems.append(f"singular verb before plural {noun!r}")
    return problems
