"""Common tests every registered instruction type must pass, whatever it is (a new type is covered on definition).

For each type: its declaration is complete, its sampler draws valid and reproducible parameters, every sampled
instance has a wording in each style, a witness that passes its checker (strict and loose), and a perturbation of
that witness that fails it; its examples hold; its conflict rules name real types and are symmetric in effect.
"""

from __future__ import annotations

import pytest

from generator.authoring import compose_witness, conflicts
from generator.authoring.wording import phrasing_count, render_wording
from generator.common.rng import derive_rng
from generator.core.instructions import Instruction, InstructionType, all_types, check, get_type
from generator.core.instructions.base import REGISTRY

TYPES = all_types()
IDS = [kind.id for kind in TYPES]
SAMPLES_PER_TYPE = 12


def _instances(kind: InstructionType) -> list[Instruction]:
    rng = derive_rng(11, "registry-walk", kind.id)
    return [Instruction(kind.id, kind.sample_kwargs(rng)) for _ in range(SAMPLES_PER_TYPE)]


def test_registry_is_populated_by_definition() -> None:
    assert set(REGISTRY) == set(IDS)
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("type_id", IDS)
def test_declaration_is_complete(type_id: str) -> None:
    kind = get_type(type_id)
    group, _, name = type_id.partition(":")
    assert group and name and kind.group == group and kind.name == name
    assert kind.description.strip()
    for method in ("check_text", "contribute", "perturb"):
        assert getattr(type(kind), method) is not getattr(InstructionType, method), f"{type_id} lacks {method}"
    assert kind.examples, f"{type_id} declares no examples"
    assert any(e.passing for e in kind.examples) and any(e.failing for e in kind.examples)


@pytest.mark.parametrize("type_id", IDS)
def test_sampler_is_valid_and_reproducible(type_id: str) -> None:
    kind = get_type(type_id)
    first = [i.kwargs_json for i in _instances(kind)]
    assert first == [i.kwargs_json for i in _instances(kind)]
    for inst in _instances(kind):
        assert kind.validate(dict(inst.kwargs)) == dict(inst.kwargs)


@pytest.mark.parametrize("type_id", IDS)
def test_every_style_has_a_wording(type_id: str) -> None:
    kind = get_type(type_id)
    assert phrasing_count(type_id, "default") >= 2
    for inst in _instances(kind)[:3]:
        for style in ("default", "paraphrase", "official", "rule"):
            assert render_wording(type_id, inst.kwargs, style=style).strip()


@pytest.mark.parametrize("type_id", IDS)
def test_witness_passes_and_perturbation_fails(type_id: str) -> None:
    kind = get_type(type_id)
    for inst in _instances(kind):
        text = compose_witness([inst], answer="12")
        assert check(inst, text).ok, (inst, text)
        assert check(inst, text, mode="loose").ok, (inst, text)
        broken = kind.perturb(dict(inst.kwargs), text)
        assert not check(inst, broken).ok, (inst, broken)


@pytest.mark.parametrize("type_id", IDS)
def test_examples_hold(type_id: str) -> None:
    kind = get_type(type_id)
    for example in kind.examples:
        inst = Instruction(type_id, dict(example.kwargs))
        for text in example.passing:
            assert check(inst, text).ok, (example.kwargs, text, check(inst, text).reason)
        for text in example.failing:
            assert not check(inst, text).ok, (example.kwargs, text)


@pytest.mark.parametrize("type_id", IDS)
def test_conflict_rules_name_registered_types_and_are_symmetric(type_id: str) -> None:
    kind = get_type(type_id)
    for other in kind.conflicts:
        assert other in REGISTRY, f"{type_id} declares a conflict with unknown {other!r}"
        assert other != type_id
    mine = _instances(kind)[:4]
    for other_kind in TYPES:
        for a in mine:
            for b in _instances(other_kind)[:4]:
                assert conflicts(a, b) == conflicts(b, a)


def test_verdicts_with_shared_text_units_are_those_of_a_cold_start() -> None:
    # Checkers read sentences, blocks and word counts from per-text caches shared by every checker of a response
    # (and, for blocks and sentences, across responses). Every type's examples and witnesses, and edge cases, must
    # get the same verdict and reason with warm caches as with caches emptied before each check.
    from generator.core import text as textmod

    edge = ["", " ", "\n\n", "Dr. Smith. P.S. Bye", "- a\n- b\n\n1. c\n2. d", "# Head\nBody. More!", "U.S. etc. OK.",
            "😀", "One.\n***\nTwo", "Ünï. Çà!", '"Quoted."', "A... b. C… D?!"]
    cases = []
    for kind in TYPES:
        instances = _instances(kind)[:3]
        texts = list(edge) + [compose_witness([inst]) for inst in instances]
        for example in kind.examples:
            instances.append(Instruction(kind.id, dict(example.kwargs)))
            texts += [*example.passing, *example.failing]
        cases += [(inst, text) for inst in instances for text in texts]
    cold = []
    for inst, text in cases:
        textmod.clear_caches()
        cold.append(check(inst, text))
    textmod.clear_caches()
    assert [check(inst, text) for inst, text in cases] == cold
    assert [check(inst, text) for inst, text in reversed(cases)] == cold[::-1]
