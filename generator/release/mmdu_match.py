"""Find the MMDU dialogue behind each conversation of the official MMMT-IF release, by its questions.

The release ships its questions but no images and no MMDU ids. Its questions are MMDU's user questions (with an
``Instruction: ...`` prefix on some turns, which the CSV reader already removes), so each official conversation is
matched to the MMDU dialogue whose user turns say the same things in the same order. The rules, all documented
in ``docs/official-mmdu.md``:

1. **Normalisation**: Unicode NFKC, case folded, ``<ImageHere>`` markers and MMDU's "Image1: <ImageHere>;" lists
   removed, "Image 3" written "image3", apostrophes dropped, every other non-alphanumeric character a space; a
   question is its list of words.
2. **Question similarity**: the ``difflib`` ratio of the two word lists, 2·M / (|a| + |b|) with M the words of
   their longest matching blocks; 1.0 for the same words in the same order. A pair counts from
   :data:`QUESTION_MIN` (0.7): a curator's small edit (a word changed, added or dropped in a 17-word question)
   stays around 0.9, two different questions about the same image stay well below.
3. **Dialogue score**: official turns are aligned to MMDU user turns in order (an official turn may have no
   counterpart; MMDU turns may be skipped), maximising the summed similarity; the score is that sum divided by
   the number of official turns, so a missing question counts 0. A dialogue matches from :data:`ACCEPT` (0.8).
4. **Ambiguity**: the best dialogue must beat every other dialogue by :data:`MARGIN` (0.05). A runner-up within
   the margin whose images are byte-identical, in the same order, is the same dialogue stored twice (it is
   listed as equivalent, and the images are not a guess); any other runner-up within the margin makes the
   conversation ambiguous: it is reported with both ids and left without images. Never guessed.
5. **Images**: a match must have at least as many images as the highest ImageK the official questions name.

Searching 45k dialogues exactly would be slow, so candidates are pre-selected by shared word pairs (bigrams that
occur in at most :data:`COMMON_BIGRAM` official conversations) and only the :data:`SHORTLIST` best-covered
dialogues of each conversation are scored exactly. The module is standard library only.
"""

from __future__ import annotations

import csv
import heapq
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

QUESTION_MIN = 0.7
ACCEPT = 0.8
MARGIN = 0.05
SHORTLIST = 8
KEPT = 4 * SHORTLIST  # pre-selected dialogues held per conversation while streaming (room for ties at the cut)
COMMON_BIGRAM = 10
MIN_COVERAGE = 0.2  # a dialogue sharing fewer of a conversation's word pairs is not a candidate

MATCHED, AMBIGUOUS, NO_MATCH = "matched", "ambiguous", "no-match"
MAPPING_FILE = "mmdu_mapping.csv"
MAPPING_COLUMNS = ("conversation_id", "turn", "status", "mmdu_file", "mmdu_id", "mmdu_turn", "similarity", "note")

_MARKERS = re.compile(r"(?:\bimage\s*\d+\s*:\s*)?<imagehere>", re.IGNORECASE)
_IMAGE_NUMBER = re.compile(r"\bimage\s+(\d+)\b")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_NON_WORD = re.compile(r"[\W_]+")
_IMAGE_REF = re.compile(r"\bImage\s?(\d+)\b")


def normalise(text: str) -> tuple[str, ...]:
    """The words of a question after the normalisation of rule 1."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _MARKERS.sub(" ", text)
    text = _APOSTROPHES.sub("", text)
    text = _NON_WORD.sub(" ", text)
    text = _IMAGE_NUMBER.sub(r"image\1", text)
    return tuple(text.split())


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Rule 2: the word-level ``difflib`` ratio (0 for an empty side)."""
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _weight(a: Sequence[str], b: Sequence[str]) -> float:
    """The similarity when it reaches :data:`QUESTION_MIN`, else 0 (difflib's cheap upper bounds skip most pairs)."""
    if not a or not b:
        return 0.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < QUESTION_MIN or matcher.quick_ratio() < QUESTION_MIN:
        return 0.0
    value = matcher.ratio()
    return value if value >= QUESTION_MIN else 0.0


def align(official: Sequence[Sequence[str]], mmdu: Sequence[Sequence[str]]
          ) -> tuple[float, list[tuple[int | None, float]]]:
    """Rule 3: (score, per official turn (MMDU turn index or None, similarity)) of the best in-order alignment."""
    n, m = len(official), len(mmdu)
    weight = [[_weight(question, turn) for turn in mmdu] for question in official]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, previous = best[i], best[i - 1]
        for j in range(1, m + 1):
            w = weight[i - 1][j - 1]
            row[j] = max(previous[j], row[j - 1], previous[j - 1] + w if w > 0 else 0.0)
    pairs: list[tuple[int | None, float]] = [(None, 0.0)] * n
    i, j = n, m
    while i > 0 and j > 0:
        w = weight[i - 1][j - 1]
        if w > 0 and abs(best[i][j] - (best[i - 1][j - 1] + w)) < 1e-12:
            pairs[i - 1] = (j - 1, w)
            i, j = i - 1, j - 1
        elif abs(best[i][j] - best[i - 1][j]) < 1e-12:
            i -= 1
        else:
            j -= 1
    return (best[n][m] / n if n else 0.0), pairs


@dataclass(frozen=True)
class OfficialQuestions:
    """What the matcher needs of one official conversation: its id and its (turn number, question) pairs."""

    id: str
    turns: tuple[tuple[int, str], ...]

    def named_images(self) -> int:
        return max((int(m) for _, q in self.turns for m in _IMAGE_REF.findall(q)), default=0)


@dataclass
class Candidate:
    """One scored dialogue: its position in the reader's list, score and per-turn alignment."""

    position: int
    key: str  # file#id
    score: float
    pairs: list[tuple[int | None, float]]


@dataclass
class Match:
    """The decision for one official conversation."""

    conversation: OfficialQuestions
    status: str  # matched | ambiguous | no-match
    reason: str = ""
    best: Candidate | None = None
    runner_up: Candidate | None = None
    equivalent: list[str] = field(default_factory=list)

    @property
    def matched_turns(self) -> int:
        if self.status != MATCHED or self.best is None:
            return 0
        return sum(1 for index, _ in self.best.pairs if index is not None)

    def line(self) -> str:
        """One line for the import's report."""
        return f"conversation {self.conversation.id}: {self.status}: {self.reason}"


def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return {(words[k], words[k + 1]) for k in range(len(words) - 1)}


def shortlist(conversations: Sequence[OfficialQuestions], dialogues: Sequence[Sequence[Sequence[str]]],
              *, tick: Callable[[], None] | None = None) -> list[list[int]]:
    """For each conversation, the positions of the :data:`SHORTLIST` dialogues sharing most of its word pairs,
    plus any dialogue tied with the last of them (up to :data:`KEPT`)."""
    owners: dict[tuple[str, str], set[int]] = {}
    for c, conversation in enumerate(conversations):
        for _, question in conversation.turns:
            for pair in _bigrams(normalise(question)):
                owners.setdefault(pair, set()).add(c)
    index = {pair: sorted(cs) for pair, cs in owners.items() if len(cs) <= COMMON_BIGRAM}
    sizes = [0] * len(conversations)
    for cs in index.values():
        for c in cs:
            sizes[c] += 1
    heaps: list[list[tuple[float, int]]] = [[] for _ in conversations]
    for position, turns in enumerate(dialogues):
        counts: dict[int, int] = {}
        seen: set[tuple[str, str]] = set()
        for words in turns:
            seen |= _bigrams(words)
        for pair in seen:
            for c in index.get(pair, ()):
                counts[c] = counts.get(c, 0) + 1
        for c, count in counts.items():
            coverage = count / sizes[c]
            if coverage < MIN_COVERAGE:
                continue
            heap = heaps[c]
            item = (coverage, -position)  # ties: the earlier dialogue stays
            if len(heap) < KEPT:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
        if tick is not None:
            tick()
    shortlists = []
    for heap in heaps:
        ranked = sorted(heap, reverse=True)
        # dialogues tied with the last one kept are kept too: a cut inside a tie could hide a rival
        cut = ranked[SHORTLIST - 1][0] if len(ranked) >= SHORTLIST else 0.0
        shortlists.append(sorted(-p for coverage, p in ranked if coverage >= cut))
    return shortlists


def match_conversations(conversations: Sequence[OfficialQuestions], dialogues: Sequence[Any],
                        images_of: Callable[[int], tuple[str, ...]], *,
                        tick: Callable[[], None] | None = None) -> list[Match]:
    """Decide every conversation (rules 3-5).

    ``dialogues`` are objects with ``key``, ``images`` and ``turns`` (each with ``question``), as
    :class:`generator.generation.sources.mmdu.MMDUDialogue`; ``images_of(position)`` gives the SHA-256 of a
    dialogue's images, asked only to settle a tie.
    """
    words = [[normalise(t.question) for t in d.turns] for d in dialogues]
    lists = shortlist(conversations, words, tick=tick)
    results = []
    for conversation, positions in zip(conversations, lists, strict=True):
        official = [normalise(q) for _, q in conversation.turns]
        scored = []
        for position in positions:
            score, pairs = align(official, words[position])
            scored.append(Candidate(position, dialogues[position].key, score, pairs))
        scored.sort(key=lambda c: (-c.score, c.position))
        results.append(_decide(conversation, scored, dialogues, images_of))
    return results


def _decide(conversation: OfficialQuestions, scored: list[Candidate], dialogues: Sequence[Any],
            images_of: Callable[[int], tuple[str, ...]]) -> Match:
    if not scored:
        return Match(conversation, NO_MATCH, "no MMDU dialogue shares its questions")
    best = scored[0]
    runner = scored[1] if len(scored) > 1 else None
    if best.score < ACCEPT:
        return Match(conversation, NO_MATCH, f"best candidate {best.key} scores {best.score:.3f} < {ACCEPT}",
                     best=None, runner_up=best)
    equivalent: list[str] = []
    for other in scored[1:]:
        if best.score - other.score >= MARGIN:
            break
        if images_of(other.position) == images_of(best.position):
            equivalent.append(other.key)
            continue
        return Match(conversation, AMBIGUOUS,
                     f"{best.key} scores {best.score:.3f} and {other.key} {other.score:.3f}, less than {MARGIN} "
                     "apart, with different images", best=None, runner_up=other)
    named, count = conversation.named_images(), len(dialogues[best.position].images)
    if named > count:
        return Match(conversation, NO_MATCH, f"{best.key} scores {best.score:.3f} but has {count} image(s) and the "
                     f"questions name Image{named}", best=None, runner_up=best)
    matched = sum(1 for index, _ in best.pairs if index is not None)
    margin = f", runner-up {runner.key} {runner.score:.3f}" if runner is not None and runner.key not in equivalent \
        else ""
    reason = f"{best.key} scores {best.score:.3f} ({matched}/{len(best.pairs)} turns){margin}"
    return Match(conversation, MATCHED, reason, best=best, equivalent=equivalent)


def mapping_csv(matches: Sequence[Match], dialogues: Sequence[Any]) -> str:
    """The published mapping: one line per official turn (see :data:`MAPPING_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MAPPING_COLUMNS)
    for match in matches:
        dialogue = dialogues[match.best.position] if match.best is not None else None
        for k, (turn, _question) in enumerate(match.conversation.turns):
            if dialogue is None or match.best is None:
                writer.writerow([match.conversation.id, turn, match.status, "", "", "", "", match.reason])
                continue
            index, value = match.best.pairs[k]
            note = "" if index is not None else f"no MMDU question reaches similarity {QUESTION_MIN}"
            if match.equivalent and k == 0:
                note = f"identical copies: {' '.join(match.equivalent)}"
            writer.writerow([match.conversation.id, turn, match.status, dialogue.file, dialogue.id,
                             "" if index is None else index, f"{value:.3f}" if index is not None else "", note])
    return out.getvalue()


def summary_line(matches: Sequence[Match]) -> str:
    """The match rate: conversations and turns."""
    total = len(matches)
    matched = sum(1 for m in matches if m.status == MATCHED)
    turns = sum(len(m.conversation.turns) for m in matches)
    turns_matched = sum(m.matched_turns for m in matches)
    ambiguous = sum(1 for m in matches if m.status == AMBIGUOUS)
    missing = sum(1 for m in matches if m.status == NO_MATCH)
    rate = 100.0 * matched / total if total else 0.0
    return (f"MMDU match rate: {matched}/{total} conversations ({rate:.1f}%), {turns_matched}/{turns} turns "
            f"aligned; {ambiguous} ambiguous, {missing} without a match")
