"""Registry walk: every non-conflicting pair and random compatible sets of 1..8 instructions have a witness that
passes every checker, and breaking one instruction's contribution makes exactly that check fail."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.authoring import compatible, compose_witness, conflicts, official_catalogue
from generator.common.rng import derive_rng
from generator.core.instructions import Instruction, InstructionType, all_types, check, get_type


def test_every_type_has_a_perturbation() -> None:
    for kind in all_types():
        assert type(kind).perturb is not InstructionType.perturb, kind.id


def _perturb(inst: Instruction, text: str) -> str:
    return get_type(inst.id).perturb(dict(inst.kwargs), text)


def _samples(per_type: int) -> dict[str, list[Instruction]]:
    out: dict[str, list[Instruction]] = {}
    for kind in all_types():
        rng = derive_rng(7, "walk", kind.id)
        seen: dict[str, Instruction] = {}
        for _ in range(per_type * 3):
            inst = Instruction(kind.id, kind.sample_kwargs(rng))
            seen.setdefault(inst.kwargs_json, inst)
            if len(seen) == per_type:
                break
        out[kind.id] = list(seen.values())
    for _, inst in official_catalogue():
        out[inst.id].append(inst)
    return out


def _assert_witness(active: list[Instruction], answer: str | None) -> str:
    text = compose_witness(active, answer=answer)
    for inst in active:
        verdict = check(inst, text)
        assert verdict.ok, (inst, verdict.reason, text)
        assert check(inst, text, mode="loose").ok
    if answer is not None:
        assert all(word.casefold() in text.casefold() for word in re.findall(r"\w+", answer)), (answer, text)
    return text


def test_every_non_conflicting_pair_has_a_witness() -> None:
    samples = _samples(3)
    flat = [inst for insts in samples.values() for inst in insts]
    checked = 0
    for a, b in itertools.combinations(flat, 2):
        if a.id == b.id or conflicts(a, b):
            continue
        _assert_witness([a, b], "a red bus")
        checked += 1
    assert checked > 1000


def _random_set(index: int) -> list[Instruction]:
    rng = derive_rng(7, "sets", index)
    target = rng.randint(1, 8)
    kinds = list(all_types())
    rng.shuffle(kinds)
    active: list[Instruction] = []
    for kind in kinds:
        if len(active) == target:
            break
        candidate = Instruction(kind.id, kind.sample_kwargs(rng))
        if compatible([*active, candidate]):
            active.append(candidate)
    return active


ANSWERS = [None, "12", "red, green and blue", "Yes", "the Eiffel Tower"]


@pytest.mark.parametrize("index", range(60))
def test_random_compatible_sets_have_witnesses_and_perturbations_fail(index: int) -> None:
    active = _random_set(index)
    assert active
    answer = ANSWERS[index % len(ANSWERS)]
    text = _assert_witness(active, answer)
    for inst in active:
        broken = _perturb(inst, text)
        verdict = check(inst, broken)
        assert not verdict.ok, (inst, broken)


def test_random_sets_reach_eight_instructions() -> None:
    sizes = [len(_random_set(i)) for i in range(60)]
    assert max(sizes) == 8
    assert sum(sizes) / len(sizes) > 3


def test_all_official_cross_category_sets_have_witnesses() -> None:
    by_type: dict[str, list[Instruction]] = {}
    for _, inst in official_catalogue():
        by_type.setdefault(inst.id, []).append(inst)
    for combo in itertools.product(*by_type.values()):
        assert compatible(list(combo))
        _assert_witness(list(combo), "7")


def test_witness_is_deterministic_and_handles_forced_case() -> None:
    active = [Instruction("case:uppercase", {}), Instruction("keyword:include", {"word": "per se", "min_count": 2})]
    first = compose_witness(active, answer="Blue Car")
    assert first == compose_witness(list(active), answer="Blue Car")
    assert "BLUE CAR" in first
    lower = compose_witness([Instruction("case:lowercase", {})], answer="Blue Car")
    assert "blue car" in lower


@pytest.mark.parametrize(
    ("active", "answer"),
    [
        ([Instruction("keyword:forbidden", {"words": ["red"]})], "a red bus"),
        ([Instruction("length:words_per_sentence", {"relation": "at_most", "n": 3})], "a very long answer phrase"),
        ([Instruction("length:sentences", {"relation": "at_most", "n": 2}), Instruction("format:bullet_list", {"n": 3})],
         None),
        ([Instruction("case:lowercase", {}), Instruction("case:uppercase", {})], None),
    ],
)
def test_impossible_sets_raise_value_error(active: list[Instruction], answer: str | None) -> None:
    with pytest.raises(ValueError):
        compose_witness(active, answer=answer)
    if answer is None:
        assert not compatible(active)


def test_no_commas_rewrites_list_answers() -> None:
    text = compose_witness([Instruction("punctuation:no_commas", {})], answer="red, green, and blue")
    assert "," not in text and "red and green and blue" in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=59), st.text(max_size=40))
def test_witness_with_arbitrary_answers_passes_or_raises_value_error(index: int, answer: str) -> None:
    active = _random_set(index)
    try:
        text = compose_witness(active, answer=answer)
    except ValueError:
        return
    for inst in active:
        assert check(inst, text).ok
