"""Verdicts -> the report: corpus PIF, PIF-N-K, breakdowns, answer accuracy, distractor adoption, counts.

Definitions (docs/scoring.md states them for users):

- PIF of a response = followed active instructions / active instructions; undefined when none is active.
- ``pif`` = mean PIF over the scored responses whose turn has at least one active instruction. With N samples per
  turn and every sample present this equals the mean over turns of the mean over samples.
- ``pif_instruction_level`` = all followed checks / all checks (turns with more instructions weigh more).
- ``PIF-<N>-<K>`` (K = 1..N, N = samples per turn = highest sample index + 1) = share of complete turns (all N
  samples present) with at least one active instruction where at least K samples reach PIF 1.
- ``release_convention`` repeats ``pif`` and ``PIF-N-K`` counting a turn with no active instruction as PIF 1, as the
  official release does; those turns are otherwise reported apart under ``no_instruction``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

from generator import __version__
from generator.scoring.responses import Response
from generator.scoring.turns import TurnSpec
from generator.scoring.verdicts import ResponseResult

REPORT_FORMAT = 1


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _digest(items: Iterable[object]) -> str:
    hasher = hashlib.sha256()
    for item in items:
        hasher.update(json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        hasher.update(b"\n")
    return hasher.hexdigest()


def dataset_digest(specs: Sequence[TurnSpec]) -> str:
    """A hash of everything scoring reads from the dataset, so a report names the exact data it scored."""
    return _digest(
        [spec.id, spec.turn,
         [[a.id, a.kwargs, a.given_at] for a in spec.active],
         [[d.id, d.kwargs] for d in spec.distractors],
         spec.reference_answer, spec.answer_type]
        for spec in specs)


def responses_digest(responses: Iterable[Response]) -> str:
    """A hash of the responses, independent of their order in the file."""
    return _digest(sorted([r.id, r.turn, r.sample, r.response] for r in responses))


def _pif_n_k(groups: dict[tuple[int, int], list[ResponseResult]], n: int, *, release: bool) -> dict[str, float | None]:
    """PIF-N-K over complete turns; with ``release`` a turn without instructions counts as reaching PIF 1."""
    perfect_counts = []
    for results in groups.values():
        if len(results) != n:
            continue
        if not results[0].verdicts:
            if not release:
                continue
            perfect_counts.append(n)
            continue
        perfect_counts.append(sum(1 for r in results if r.pif == 1.0))
    return {f"PIF-{n}-{k}": _ratio(sum(1 for c in perfect_counts if c >= k), len(perfect_counts))
            for k in range(1, n + 1)}


def _rate_rows(counter: dict, name: str, value_key: str = "checks", ok_key: str = "followed") -> list[dict]:
    return [{name: key, value_key: total, ok_key: ok, "rate": _ratio(ok, total)}
            for key, (total, ok) in sorted(counter.items())]


GROUNDING_KINDS = (("image_grounded", True), ("text_only", False))


def grounding_values(scored: Sequence[ResponseResult], grounded: bool) -> list[tuple[str, int, int]]:
    """Per scored response with instructions of one kind: (conversation id, followed, active) of that kind.

    This is the unit a bootstrap over conversations resamples: group the tuples by conversation id.
    """
    values = []
    for r in scored:
        kind = [v for v in r.verdicts if v.grounded == grounded]
        if kind:
            values.append((r.spec.id, sum(1 for v in kind if v.ok), len(kind)))
    return values


def grounding_ratios(scored: Sequence[ResponseResult]) -> dict[str, tuple[list[float], list[float]]]:
    """Each kind's PIF as a ratio of sums over conversations: per conversation (sum of the responses' PIFs of that
    kind, responses with that kind), aligned on one list of conversations (dataset order).

    This is the input a percentile bootstrap over conversations takes (one numerator and one denominator per
    conversation per statistic): intervals of ``by_grounding[kind].pif`` come from resampling these.
    """
    order: list[str] = []
    for r in scored:
        if not order or order[-1] != r.spec.id:
            order.append(r.spec.id)
    out: dict[str, tuple[list[float], list[float]]] = {}
    for name, flag in GROUNDING_KINDS:
        sums: dict[str, list[float]] = {cid: [0.0, 0.0] for cid in order}
        for cid, ok, total in grounding_values(scored, flag):
            sums[cid][0] += ok / total
            sums[cid][1] += 1
        out[name] = ([sums[cid][0] for cid in order], [sums[cid][1] for cid in order])
    return out


def pif_by_grounding(scored: Sequence[ResponseResult]) -> dict[str, dict]:
    """PIF of image-grounded and of text-only instructions, each counted apart.

    A response counts for a kind when at least one instruction of that kind is active; its PIF for the kind is
    followed / active among those instructions only ("follows format rules" vs "follows rules that need the
    image"). ``checks``/``followed``/``rate`` are the instruction-level counts of the kind.
    """
    out: dict[str, dict] = {}
    for name, flag in GROUNDING_KINDS:
        values = grounding_values(scored, flag)
        checks = sum(total for _, _, total in values)
        followed = sum(ok for _, ok, _ in values)
        out[name] = {"responses": len(values), "pif": _mean([ok / total for _, ok, total in values]),
                     "checks": checks, "followed": followed, "rate": _ratio(followed, checks)}
    return out


def build_report(specs: Sequence[TurnSpec], results: Sequence[ResponseResult], mode: str,
                 responses: Sequence[Response] | None = None) -> dict:
    """Aggregate per-response results into the report dictionary (JSON-ready, deterministic)."""
    scored = [r for r in results if r.verdicts]
    unscored = [r for r in results if not r.verdicts]
    n = max((r.sample for r in results), default=-1) + 1
    groups: dict[tuple[int, int], list[ResponseResult]] = defaultdict(list)
    for r in results:
        groups[(r.spec.row_index, r.spec.turn)].append(r)

    pif_values = [r.pif for r in scored]
    pif_n_k = _pif_n_k(groups, n, release=False) if n else {}
    release_pif = _mean([*pif_values, *([1.0] * len(unscored))])

    by_turn: dict[int, dict] = {}
    for r in results:
        row = by_turn.setdefault(r.spec.turn, {"pifs": [], "no_instruction": 0, "active": 0})
        if r.verdicts:
            row["pifs"].append(r.pif)
            row["active"] += len(r.verdicts)
        else:
            row["no_instruction"] += 1
    by_active: dict[int, list[float]] = defaultdict(list)
    for r in scored:
        by_active[len(r.verdicts)].append(r.pif)

    per_id: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_group: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_age: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    groups_of_id: dict[str, str] = {}
    for r in scored:
        for v in r.verdicts:
            for counter, key in ((per_id, v.id), (per_group, v.group), (per_age, v.age)):
                counter[key][0] += 1
                counter[key][1] += int(v.ok)
            groups_of_id[v.id] = v.group

    answers_by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        if r.answer_correct is not None:
            answers_by_type[r.spec.answer_type][0] += 1
            answers_by_type[r.spec.answer_type][1] += int(r.answer_correct)
    answers_checked = sum(total for total, _ in answers_by_type.values())
    answers_correct = sum(ok for _, ok in answers_by_type.values())

    distractor_ids: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    distractor_responses = 0
    for r in results:
        if r.distractors:
            distractor_responses += 1
        for d in r.distractors:
            distractor_ids[d.id][0] += 1
            distractor_ids[d.id][1] += int(d.adopted)
    distractor_checks = sum(total for total, _ in distractor_ids.values())
    distractor_adopted = sum(ok for _, ok in distractor_ids.values())

    dataset_turns = len(specs)
    no_instruction_turns = {(s.row_index, s.turn) for s in specs if not s.active}
    complete = sum(1 for g in groups.values() if len(g) == n)
    expected = dataset_turns * n

    report: dict = {
        "report_format": REPORT_FORMAT,
        "scorer_version": __version__,
        "mode": mode,
        "pif": _mean(pif_values),
        "pif_instruction_level": _ratio(sum(r.followed for r in scored), sum(len(r.verdicts) for r in scored)),
        "perfect_rate": _ratio(sum(1 for p in pif_values if p == 1.0), len(pif_values)),
        "samples_per_turn": n,
        **pif_n_k,
        "release_convention": {"pif": release_pif, **(_pif_n_k(groups, n, release=True) if n else {})},
        "no_instruction": {
            "dataset_turns": len(no_instruction_turns),
            "responses": len(unscored),
            "answer_checked": sum(1 for r in unscored if r.answer_correct is not None),
            "answer_correct": sum(1 for r in unscored if r.answer_correct),
        },
        "counts": {
            "conversations": len({s.id for s in specs}),
            "dataset_turns": dataset_turns,
            "responses": len(results),
            "scored_responses": len(scored),
            "responded_turns": len(groups),
            "complete_turns": complete,
            "incomplete_turns": len(groups) - complete,
            "missing_turns": dataset_turns - len(groups),
            "expected_responses": expected,
            "missing_responses": expected - len(results),
            "think_stripped": sum(1 for r in results if r.think_stripped),
        },
        "by_turn": [
            {"turn": turn, "responses": len(row["pifs"]), "pif": _mean(row["pifs"]),
             "perfect_rate": _ratio(sum(1 for p in row["pifs"] if p == 1.0), len(row["pifs"])),
             "mean_active": _ratio(row["active"], len(row["pifs"])), "no_instruction_responses": row["no_instruction"]}
            for turn, row in sorted(by_turn.items())
        ],
        "by_active_count": [
            {"active": k, "responses": len(values), "pif": _mean(values),
             "perfect_rate": _ratio(sum(1 for p in values if p == 1.0), len(values))}
            for k, values in sorted(by_active.items())
        ],
        "by_instruction": [
            {"id": key, "group": groups_of_id[key], "checks": total, "followed": ok, "rate": _ratio(ok, total)}
            for key, (total, ok) in sorted(per_id.items())
        ],
        "by_group": _rate_rows(per_group, "group"),
        "by_grounding": pif_by_grounding(scored),
        "by_age": _rate_rows(per_age, "age"),
        "answers": {
            "checked": answers_checked, "correct": answers_correct,
            "accuracy": _ratio(answers_correct, answers_checked),
            "by_type": _rate_rows(answers_by_type, "answer_type", "checked", "correct"),
        },
        "distractors": {
            "responses": distractor_responses, "checks": distractor_checks, "adopted": distractor_adopted,
            "rate": _ratio(distractor_adopted, distractor_checks),
            "by_instruction": _rate_rows(distractor_ids, "id", "checks", "adopted"),
        },
        "inputs": {"dataset_sha256": dataset_digest(specs)},
    }
    if responses is not None:
        report["inputs"]["responses_sha256"] = responses_digest(responses)
    for row in report["answers"]["by_type"]:
        row["accuracy"] = row.pop("rate")
    return report


def details_records(results: Iterable[ResponseResult]) -> Iterable[dict]:
    """One JSON-ready record per scored response, in dataset order."""
    for r in results:
        yield {
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
