"""Verdicts -> the report: corpus PIF, PIF-N-K, breakdowns, answer accuracy, distractor adoption, counts, intervals.

Definitions (docs/scoring.md states them for users):

- PIF of a response = followed active instructions / active instructions; undefined when none is active.
- ``pif`` = mean PIF over the scored responses whose turn has at least one active instruction. With N samples per
  turn and every sample present this equals the mean over turns of the mean over samples.
- ``pif_instruction_level`` = all followed checks / all checks (turns with more instructions weigh more).
- ``PIF-<N>-<K>`` (K = 1..N, N = samples per turn) = share of complete turns (all N samples present) with at least
  one active instruction where at least K samples reach PIF 1.
- ``release_convention`` repeats ``pif`` and ``PIF-N-K`` counting a turn with no active instruction as PIF 1, as the
  official release does; those turns are otherwise reported apart under ``no_instruction``.
- ``intervals``: 95% percentile-bootstrap intervals of ``pif``, every ``PIF-N-K`` and answer accuracy, resampling
  conversations (their turns are not independent).

:class:`Aggregate` is fed one conversation at a time and keeps only counters and per-conversation sums, so memory
does not grow with the number of responses. Sums are accumulated in dataset order (row, turn, sample), so the same
inputs give the same floats however they were read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from generator import __version__
from generator.scoring.intervals import LEVEL, RESAMPLES, SEED, ClusterMean, bootstrap_intervals
from generator.scoring.turns import TurnSpec
from generator.scoring.verdicts import ResponseResult

REPORT_FORMAT = 2


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _line(item: object) -> bytes:
    return json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def spec_item(spec: TurnSpec) -> list[Any]:
    """What the dataset digest hashes of one turn beyond the conversation's fingerprint."""
    return [spec.turn, [[d.id, d.kwargs] for d in spec.distractors], spec.reference_answer, spec.answer_type]


#: The two kinds of instruction the report separates: rules a model can follow only by looking at the images,
#: and rules about the text alone ("follows format rules" vs "follows rules that need the image").
GROUNDING_KINDS = (("image_grounded", True), ("text_only", False))


class _Rate:
    """(total, ok) counter of a breakdown row."""

    __slots__ = ("ok", "total")

    def __init__(self) -> None:
        self.total = 0
        self.ok = 0


class _Mean:
    """Sum, count and perfect count of PIF values, plus a cluster interval over conversations."""

    __slots__ = ("active", "cluster", "count", "no_instruction", "perfect", "sum")

    def __init__(self) -> None:
        self.sum = 0.0
        self.count = 0
        self.perfect = 0
        self.active = 0
        self.no_instruction = 0
        self.cluster = ClusterMean()


class Aggregate:
    """Everything the report needs, accumulated conversation by conversation.

    Call :meth:`add_conversation` once per dataset row, in dataset order, with the row's turn specs and the results
    of its responses (in (turn, sample) order), then :meth:`report`.
    """

    def __init__(self, samples: int, mode: str) -> None:
        self.n = samples
        self.mode = mode
        self.dataset_hash = hashlib.sha256()
        self.responses_hash = hashlib.sha256()
        self.conversations = 0
        self.dataset_turns = 0
        self.no_instruction_turns = 0
        self.responses = 0
        self.scored = 0
        self.pif_sum = 0.0
        self.perfect = 0
        self.checks = 0
        self.followed = 0
        self.unscored = 0
        self.unscored_answers = [0, 0]
        self.responded_turns = 0
        self.complete_turns = 0
        self.think_stripped = 0
        self.turns_at_least = [0] * (samples + 1)  # index K: complete instruction turns with >= K perfect samples
        self.complete_instruction_turns = 0
        self.complete_no_instruction_turns = 0
        self.by_turn: dict[int, _Mean] = {}
        self.by_active: dict[int, _Mean] = {}
        self.tally: dict[tuple[str, str, int, bool], int] = {}  # (id, group, age, ok) -> verdicts
        self.answers: dict[str, _Rate] = {}
        self.distractor_responses = 0
        self.distractors: dict[str, _Rate] = {}
        # per conversation with at least one response: the sums the bootstrap resamples
        self.conv_pif = ([], [])  # type: tuple[list[float], list[int]]
        self.conv_at_least: list[list[int]] = [[] for _ in range(samples + 1)]
        self.conv_complete: list[int] = []
        self.conv_answers = ([], [])  # type: tuple[list[int], list[int]]
        # image-grounded vs text-only instructions, each counted apart: [PIF sum, responses, checks, followed]
        self.grounding: dict[str, list[float]] = {name: [0.0, 0, 0, 0] for name, _ in GROUNDING_KINDS}
        self.conv_grounding: dict[str, tuple[list[float], list[int]]] = {name: ([], []) for name, _ in GROUNDING_KINDS}

    @staticmethod
    def _rate(counter: dict, key: Any, ok: bool) -> None:
        rate = counter.get(key)
        if rate is None:
            rate = counter[key] = _Rate()
        rate.total += 1
        rate.ok += ok

    def add_conversation(self, fingerprint: str, specs: Sequence[TurnSpec], results: Sequence[ResponseResult]) -> None:
        self.conversations += 1
        # One line per conversation: its fingerprint covers the prompts and active instructions, the rest is what
        # scoring reads besides (distractors, reference answers and their types).
        self.dataset_hash.update(_line(["conversation", fingerprint, [spec_item(spec) for spec in specs]]))
        if results:
            self.responses_hash.update(_line(["conversation", specs[0].id if specs else ""]))
        self.dataset_turns += len(specs)
        self.no_instruction_turns += sum(1 for spec in specs if not spec.active)
        if not results:
            return
        n = self.n
        conv_sum, conv_count, conv_correct, conv_checked, conv_complete = 0.0, 0, 0, 0, 0
        conv_at_least = [0] * (n + 1)
        conv_grounding = {name: [0.0, 0] for name, _ in GROUNDING_KINDS}
        tally = self.tally
        responses_hash = self.responses_hash
        turn_cluster: dict[int, list[float]] = {}
        active_cluster: dict[int, list[float]] = {}
        index = 0
        while index < len(results):
            spec = results[index].spec
            end = index
            while end < len(results) and results[end].spec is spec:
                end += 1
            group = results[index:end]
            index = end
            self.responded_turns += 1
            perfect_here = 0
            point = self.by_turn.get(spec.turn)
            if point is None:
                point = self.by_turn[spec.turn] = _Mean()
            for r in group:
                self.responses += 1
                text = r.response.encode("utf-8")
                responses_hash.update(b"%d %d %d\n" % (spec.turn, r.sample, len(text)) + text)
                self.think_stripped += r.think_stripped
                if r.answer_correct is not None:
                    self._rate(self.answers, spec.answer_type, r.answer_correct)
                    conv_checked += 1
                    conv_correct += r.answer_correct
                if r.distractors:
                    self.distractor_responses += 1
                for d in r.distractors:
                    self._rate(self.distractors, d.id, d.adopted)
                if not r.verdicts:
                    self.unscored += 1
                    point.no_instruction += 1
                    if r.answer_correct is not None:
                        self.unscored_answers[0] += 1
                        self.unscored_answers[1] += r.answer_correct
                    continue
                verdicts = r.verdicts
                active = len(verdicts)
                followed = grounded = grounded_followed = 0
                for v in verdicts:
                    ok = v.ok
                    key = (v.id, v.group, v.age, ok)
                    tally[key] = tally.get(key, 0) + 1
                    followed += ok
                    if v.grounded:
                        grounded += 1
                        grounded_followed += ok
                pif = followed / active
                perfect = pif == 1.0
                self.scored += 1
                self.pif_sum += pif
                self.perfect += perfect
                self.checks += active
                self.followed += followed
                perfect_here += perfect
                conv_sum += pif
                conv_count += 1
                point.sum += pif
                point.count += 1
                point.perfect += perfect
                point.active += active
                cell = turn_cluster.get(spec.turn)
                if cell is None:
                    cell = turn_cluster[spec.turn] = [0.0, 0]
                cell[0] += pif
                cell[1] += 1
                count_point = self.by_active.get(active)
                if count_point is None:
                    count_point = self.by_active[active] = _Mean()
                count_point.sum += pif
                count_point.count += 1
                count_point.perfect += perfect
                cell = active_cluster.get(active)
                if cell is None:
                    cell = active_cluster[active] = [0.0, 0]
                cell[0] += pif
                cell[1] += 1
                for name, flag in GROUNDING_KINDS:
                    kind_checks, kind_followed = ((grounded, grounded_followed) if flag else
                                                  (active - grounded, followed - grounded_followed))
                    if kind_checks:
                        kind_pif = kind_followed / kind_checks
                        totals = self.grounding[name]
                        totals[0] += kind_pif
                        totals[1] += 1
                        totals[2] += kind_checks
                        totals[3] += kind_followed
                        conv_grounding[name][0] += kind_pif
                        conv_grounding[name][1] += 1
            if len(group) == n:
                self.complete_turns += 1
                if spec.active:
                    self.complete_instruction_turns += 1
                    conv_complete += 1
                    for k in range(1, perfect_here + 1):
                        self.turns_at_least[k] += 1
                        conv_at_least[k] += 1
                else:
                    self.complete_no_instruction_turns += 1
        for turn, (total, count) in turn_cluster.items():
            self.by_turn[turn].cluster.add(total, int(count))
        for active, (total, count) in active_cluster.items():
            self.by_active[active].cluster.add(total, int(count))
        self.conv_pif[0].append(conv_sum)
        self.conv_pif[1].append(conv_count)
        for k in range(1, n + 1):
            self.conv_at_least[k].append(conv_at_least[k])
        self.conv_complete.append(conv_complete)
        self.conv_answers[0].append(conv_correct)
        self.conv_answers[1].append(conv_checked)
        for name, (kind_sum, kind_count) in conv_grounding.items():
            self.conv_grounding[name][0].append(kind_sum)
            self.conv_grounding[name][1].append(int(kind_count))

    # ------------------------------------------------------------------------------------------------- report

    def intervals(self, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
        ratios: dict[str, tuple[Sequence[float], Sequence[float]]] = {"pif": self.conv_pif}
        for k in range(1, self.n + 1):
            ratios[f"PIF-{self.n}-{k}"] = (self.conv_at_least[k], self.conv_complete)
        ratios["answer_accuracy"] = self.conv_answers
        for name, sums in self.conv_grounding.items():
            ratios[f"{name}_pif"] = sums
        found = bootstrap_intervals(ratios, resamples=resamples, seed=seed)
        return {"method": "percentile bootstrap over conversations", "level": LEVEL, "resamples": resamples,
                "seed": seed, "conversations": len(self.conv_complete), **found}

    def report(self, *, inputs: dict[str, Any] | None = None, partial: bool = False,
               resamples: int = RESAMPLES, seed: int = SEED) -> dict:
        """The report dictionary (JSON-ready, deterministic)."""
        n = self.n
        pif_n_k = {f"PIF-{n}-{k}": _ratio(self.turns_at_least[k], self.complete_instruction_turns)
                   for k in range(1, n + 1)}
        release_complete = self.complete_instruction_turns + self.complete_no_instruction_turns
        release_n_k = {f"PIF-{n}-{k}": _ratio(self.turns_at_least[k] + self.complete_no_instruction_turns,
                                               release_complete) for k in range(1, n + 1)}
        expected = self.dataset_turns * n
        answers_checked = sum(rate.total for rate in self.answers.values())
        answers_correct = sum(rate.ok for rate in self.answers.values())
        distractor_checks = sum(rate.total for rate in self.distractors.values())
        distractor_adopted = sum(rate.ok for rate in self.distractors.values())

        def rates(counter: dict, name: str, value_key: str = "checks", ok_key: str = "followed",
                  rate_key: str = "rate") -> list[dict]:
            return [{name: key, value_key: rate.total, ok_key: rate.ok, rate_key: _ratio(rate.ok, rate.total)}
                    for key, rate in sorted(counter.items())]

        per_id: dict[Any, _Rate] = {}
        per_group: dict[Any, _Rate] = {}
        per_age: dict[Any, _Rate] = {}
        group_of: dict[str, str] = {}
        for (instruction_id, group, age, ok), count in self.tally.items():
            group_of[instruction_id] = group
            for counter, key in ((per_id, instruction_id), (per_group, group), (per_age, age)):
                rate = counter.get(key)
                if rate is None:
                    rate = counter[key] = _Rate()
                rate.total += count
                rate.ok += count if ok else 0

        def point(key: str, value: int, mean: _Mean) -> dict:
            return {key: value, "responses": mean.count, "pif": _ratio(mean.sum, mean.count),
                    "perfect_rate": _ratio(mean.perfect, mean.count), "conversations": mean.cluster.clusters,
                    "ci95": mean.cluster.interval()}

        report_intervals = self.intervals(resamples, seed)
        report: dict = {
            "report_format": REPORT_FORMAT,
            "scorer_version": __version__,
            "mode": self.mode,
            "partial": partial,
            "pif": _ratio(self.pif_sum, self.scored),
            "pif_instruction_level": _ratio(self.followed, self.checks),
            "perfect_rate": _ratio(self.perfect, self.scored),
            "samples_per_turn": n,
            **pif_n_k,
            "release_convention": {"pif": _ratio(self.pif_sum + self.unscored, self.scored + self.unscored),
                                   **release_n_k},
            "intervals": report_intervals,
            "no_instruction": {
                "dataset_turns": self.no_instruction_turns,
                "responses": self.unscored,
                "answer_checked": self.unscored_answers[0],
                "answer_correct": self.unscored_answers[1],
            },
            "counts": {
                "conversations": self.conversations,
                "dataset_turns": self.dataset_turns,
                "responses": self.responses,
                "scored_responses": self.scored,
                "responded_turns": self.responded_turns,
                "complete_turns": self.complete_turns,
                "incomplete_turns": self.responded_turns - self.complete_turns,
                "missing_turns": self.dataset_turns - self.responded_turns,
                "expected_responses": expected,
                "missing_responses": expected - self.responses,
                "think_stripped": self.think_stripped,
            },
            "by_turn": [{**point("turn", turn, mean), "mean_active": _ratio(mean.active, mean.count),
                         "no_instruction_responses": mean.no_instruction}
                        for turn, mean in sorted(self.by_turn.items())],
            "by_active_count": [point("active", active, mean) for active, mean in sorted(self.by_active.items())
                                if mean.count],
            "by_instruction": [{"id": key, "group": group_of[key], "checks": rate.total, "followed": rate.ok,
                                "rate": _ratio(rate.ok, rate.total)} for key, rate in sorted(per_id.items())],
            "by_group": rates(per_group, "group"),
            "by_grounding": {
                name: {"responses": int(totals[1]), "pif": _ratio(totals[0], totals[1]), "checks": int(totals[2]),
                       "followed": int(totals[3]), "rate": _ratio(totals[3], totals[2]),
                       "ci95": report_intervals.get(f"{name}_pif")}
                for name, totals in self.grounding.items()
            },
            "by_age": rates(per_age, "age"),
            "answers": {
                "checked": answers_checked, "correct": answers_correct,
                "accuracy": _ratio(answers_correct, answers_checked),
                "by_type": rates(self.answers, "answer_type", "checked", "correct", "accuracy"),
            },
            "distractors": {
                "responses": self.distractor_responses, "checks": distractor_checks, "adopted": distractor_adopted,
                "rate": _ratio(distractor_adopted, distractor_checks),
                "by_instruction": rates(self.distractors, "id", "checks", "adopted"),
            },
            "inputs": {**(inputs or {}), "dataset_sha256": self.dataset_hash.hexdigest(),
                       "responses_sha256": self.responses_hash.hexdigest()},
        }
        return report


def details_record(r: ResponseResult) -> dict:
    """The JSON-ready details record of one scored response."""
    return {
        "id": r.spec.id,
        "turn": r.spec.turn,
        "sample": r.sample,
        "pif": r.pif,
        "active": len(r.verdicts),
        "followed": r.followed,
        "verdicts": {v.key: {"ok": v.ok, "reason": v.reason, "age": v.age} for v in r.verdicts},
        "answer": None if r.answer_correct is None else {
            "reference": r.spec.reference_answer, "answer_type": r.spec.answer_type, "correct": r.answer_correct},
        "distractors": {d.key: {"adopted": d.adopted, "reason": d.reason} for d in r.distractors},
        "think_stripped": r.think_stripped,
        "response": r.response,
    }


def details_records(results: Iterable[ResponseResult]) -> Iterable[dict]:
    """One JSON-ready record per scored response, in the order given."""
    return map(details_record, results)
