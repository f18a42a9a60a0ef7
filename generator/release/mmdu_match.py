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

Aligning every conversation with 45k dialogues would be slow, so the candidates of a conversation are the dialogues
sharing at least :data:`MIN_COVERAGE` of its distinctive word pairs (bigrams that occur in at most
:data:`COMMON_BIGRAM` official conversations), with no cap on their number. Each candidate gets an upper bound on
its score from word counts alone (difflib's ``quick_ratio``, which no ratio exceeds), and candidates are aligned
exactly in decreasing bound until no candidate left could be the best, come within the margin of the best or beat
the runner-up: the decision never depends on how many candidates there are or in which order they were read.
The module is standard library only.
"""

from __future__ import annotations

import csv
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
COMMON_BIGRAM = 10
MIN_COVERAGE = 0.2  # a dialogue sharing fewer of a conversation's word pairs is not a candidate

MATCHED, AMBIGUOUS, NO_MATCH = "matched", "ambiguous", "no-match"
MAPPING_FILE = "mmdu_mapping.csv"
MAPPING_COLUMNS = ("conversation_id", "turn", "status", "mmdu_file", "mmdu_id", "mmdu_turn", "similarity", "score",
                   "runner_up", "runner_up_score", "shared_with", "note")
_SLACK = 1e-9  # a bound and the score it bounds are summed in different orders: float rounding may differ

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
    best: Candidate | None = None  # the matched dialogue (None unless matched)
    runner_up: Candidate | None = None  # the best other dialogue (the rival, for an ambiguous conversation)
    equivalent: list[str] = field(default_factory=list)
    top: Candidate | None = None  # the best-scoring dialogue, whatever the decision
    shared_with: list[str] = field(default_factory=list)  # other conversations matched to the same dialogue

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
    """For each conversation, the positions (ascending) of every dialogue sharing at least :data:`MIN_COVERAGE`
    of its distinctive word pairs. There is no cap: how many dialogues compete never decides which is scored."""
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
    found: list[list[int]] = [[] for _ in conversations]
    for position, turns in enumerate(dialogues):
        counts: dict[int, int] = {}
        seen: set[tuple[str, str]] = set()
        for words in turns:
            seen |= _bigrams(words)
        for pair in seen:
            for c in index.get(pair, ()):
                counts[c] = counts.get(c, 0) + 1
        for c, count in counts.items():
            if count / sizes[c] >= MIN_COVERAGE:
                found[c].append(position)
        if tick is not None:
            tick()
    return found


def _counts(words: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for word in words:
        out[word] = out.get(word, 0) + 1
    return out


def upper_bound(official: Sequence[dict[str, int]], mmdu: Sequence[dict[str, int]]) -> float:
    """An upper bound on :func:`align`'s score from word counts: each official turn takes its best MMDU turn's
    ``quick_ratio`` (2·shared words / total words, never below the ratio) when that reaches :data:`QUESTION_MIN`."""
    if not official:
        return 0.0
    sizes = [sum(c.values()) for c in mmdu]
    total = 0.0
    for question in official:
        size = sum(question.values())
        best = 0.0
        for turn, other in zip(mmdu, sizes, strict=True):
            if not size or not other or 2 * min(size, other) < QUESTION_MIN * (size + other):
                continue
            small, large = (question, turn) if len(question) <= len(turn) else (turn, question)
            shared = sum(min(n, large.get(word, 0)) for word, n in small.items())
            bound = 2 * shared / (size + other)
            if bound >= QUESTION_MIN and bound > best:
                best = bound
        total += best
    return total / len(official)


def _score_candidates(official: list[tuple[str, ...]], positions: Sequence[int], words: Sequence[Any],
                      dialogues: Sequence[Any], counts: dict[int, list[dict[str, int]]]) -> list[Candidate]:
    """Align the candidates in decreasing :func:`upper_bound` until none left can change the decision or the
    runner-up: each unaligned one scores at most its bound, below the best minus :data:`MARGIN` and no higher than
    a dialogue already aligned outside the margin. Returned best first (ties: earlier dialogue first)."""
    official_counts = [_counts(q) for q in official]
    bounds = []
    for position in positions:
        if position not in counts:
            counts[position] = [_counts(turn) for turn in words[position]]
        bounds.append((upper_bound(official_counts, counts[position]) + _SLACK, position))
    bounds.sort(key=lambda item: (-item[0], item[1]))
    scored: list[Candidate] = []
    best = outside = -1.0  # the best score so far; the best score of a candidate outside the margin
    for bound, position in bounds:
        if scored and best - bound >= MARGIN and bound <= outside:
            break
        score, pairs = align(official, words[position])
        scored.append(Candidate(position, dialogues[position].key, score, pairs))
        if score > best:
            best = score
            outside = max((c.score for c in scored if best - c.score >= MARGIN), default=-1.0)
        elif best - score >= MARGIN:
            outside = max(outside, score)
    scored.sort(key=lambda c: (-c.score, c.position))
    return scored


def match_conversations(conversations: Sequence[OfficialQuestions], dialogues: Sequence[Any],
                        images_of: Callable[[int], tuple[str, ...]], *,
                        tick: Callable[[], None] | None = None,
                        usable: Callable[[int], bool] | None = None) -> list[Match]:
    """Decide every conversation (rules 3-5), and note dialogues matched by more than one conversation.

    ``dialogues`` are objects with ``key``, ``images`` and ``turns`` (each with ``question``), as
    :class:`generator.generation.sources.mmdu.MMDUDialogue`; ``images_of(position)`` gives the SHA-256 of a
    dialogue's images, asked only to settle a tie. ``usable(position)`` (when given) is asked of every dialogue a
    decision rests on (the best, those within the margin, the runner-up); a dialogue it refuses is left out and
    the conversation decided again without it, as if it had never been read.
    """
    words = [[normalise(t.question) for t in d.turns] for d in dialogues]
    lists = shortlist(conversations, words, tick=tick)
    counts: dict[int, list[dict[str, int]]] = {}
    excluded: set[int] = set()

    def check(position: int) -> bool:
        if position in excluded:
            return False
        if usable is None or usable(position):
            return True
        excluded.add(position)
        return False

    results = []
    for conversation, positions in zip(conversations, lists, strict=True):
        official = [normalise(q) for _, q in conversation.turns]
        while True:
            kept = [p for p in positions if p not in excluded]
            scored = _score_candidates(official, kept, words, dialogues, counts)
            decided = _decide(conversation, scored, dialogues, images_of, check)
            if decided is not None:
                break
        results.append(decided)
    by_dialogue: dict[int, list[Match]] = {}
    for match in results:
        if match.status == MATCHED and match.best is not None:
            by_dialogue.setdefault(match.best.position, []).append(match)
    for group in by_dialogue.values():
        for match in group if len(group) > 1 else ():
            match.shared_with = [m.conversation.id for m in group if m is not match]
    return results


def _decide(conversation: OfficialQuestions, scored: list[Candidate], dialogues: Sequence[Any],
            images_of: Callable[[int], tuple[str, ...]], usable: Callable[[int], bool] | None = None
            ) -> Match | None:
    """The decision on ``scored`` (best first); None when ``usable`` refuses a dialogue it rests on."""
    def refused(candidate: Candidate) -> bool:
        return usable is not None and not usable(candidate.position)

    if not scored:
        return Match(conversation, NO_MATCH, "no MMDU dialogue shares its questions")
    best = scored[0]
    if refused(best):
        return None
    if best.score < ACCEPT:
        return Match(conversation, NO_MATCH, f"best candidate {best.key} scores {best.score:.3f} < {ACCEPT}",
                     best=None, runner_up=best, top=best)
    equivalent: list[str] = []
    runner: Candidate | None = None
    for other in scored[1:]:
        if refused(other):
            return None
        if best.score - other.score >= MARGIN:
            runner = other
            break
        if images_of(other.position) == images_of(best.position):
            equivalent.append(other.key)
            continue
        return Match(conversation, AMBIGUOUS,
                     f"{best.key} scores {best.score:.3f} and {other.key} {other.score:.3f}, less than {MARGIN} "
                     "apart, with different images", best=None, runner_up=other, top=best)
    named, count = conversation.named_images(), len(dialogues[best.position].images)
    if named > count:
        return Match(conversation, NO_MATCH, f"{best.key} scores {best.score:.3f} but has {count} image(s) and the "
                     f"questions name Image{named}", best=None, runner_up=runner, top=best)
    matched = sum(1 for index, _ in best.pairs if index is not None)
    margin = f", runner-up {runner.key} {runner.score:.3f}" if runner is not None else ""
    reason = f"{best.key} scores {best.score:.3f} ({matched}/{len(best.pairs)} turns){margin}"
    return Match(conversation, MATCHED, reason, best=best, runner_up=runner, equivalent=equivalent, top=best)


def mapping_csv(matches: Sequence[Match], dialogues: Sequence[Any]) -> str:
    """The published mapping: one line per official turn (see :data:`MAPPING_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MAPPING_COLUMNS)
    for match in matches:
        dialogue = dialogues[match.best.position] if match.best is not None else None
        score = f"{match.top.score:.3f}" if match.top is not None else ""
        runner = match.runner_up if match.runner_up is not match.top else None
        rival = [runner.key, f"{runner.score:.3f}"] if runner is not None else ["", ""]
        shared = " ".join(match.shared_with)
        for k, (turn, _question) in enumerate(match.conversation.turns):
            if dialogue is None or match.best is None:
                writer.writerow([match.conversation.id, turn, match.status, "", "", "", "", score, *rival, "",
                                 match.reason])
                continue
            index, value = match.best.pairs[k]
            note = "" if index is not None else f"no MMDU question reaches similarity {QUESTION_MIN}"
            if match.equivalent and k == 0:
                note = f"identical copies: {' '.join(match.equivalent)}"
            writer.writerow([match.conversation.id, turn, match.status, dialogue.file, dialogue.id,
                             "" if index is None else index, f"{value:.3f}" if index is not None else "", score,
                             *rival, shared, note])
    return out.getvalue()


def shared_lines(matches: Sequence[Match]) -> list[str]:
    """One line per MMDU dialogue matched by more than one conversation (the release should not reuse one)."""
    lines, done = [], set()
    for match in matches:
        if match.shared_with and match.best is not None and match.best.key not in done:
            done.add(match.best.key)
            ids = ", ".join([match.conversation.id, *match.shared_with])
            lines.append(f"MMDU dialogue {match.best.key} is matched by conversations {ids} (the release should "
                         "not reuse a dialogue: check them in the mapping's shared_with column)")
    return lines


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
