"""Passing and failing texts for every instruction type (declared on each type's class; strict mode unless
stated), plus loose mode."""

from __future__ import annotations

import pytest

from generator.common.errors import UnknownInstructionError
from generator.core.instructions import Instruction, all_types, check, get_type

# (type id, kwargs, text, expected ok), from the examples every registered type declares on its class.
CASES: list[tuple[str, dict, str, bool]] = [
    (kind.id, dict(example.kwargs), text, ok)
    for kind in all_types()
    for example in kind.examples
    for ok, texts in ((True, example.passing), (False, example.failing))
    for text in texts
]


@pytest.mark.parametrize(("type_id", "kwargs", "text", "ok"), CASES)
def test_checker_table(type_id: str, kwargs: dict, text: str, ok: bool) -> None:
    verdict = check(Instruction(type_id, kwargs), text)
    assert verdict.ok is ok, verdict.reason
    assert isinstance(verdict.reason, str) and verdict.reason


def test_every_type_has_passing_and_failing_cases() -> None:
    passing = {c[0] for c in CASES if c[3]}
    failing = {c[0] for c in CASES if not c[3]}
    ids = {t.id for t in all_types()}
    assert ids <= passing, ids - passing
    assert ids <= failing, ids - failing


LOOSE_CASES = [
    ("start:letter", {"letter": "S"}, "Here is my answer:\nSo it is. Sure."),
    ("end:punctuation", {"mark": "?"}, "Is it? Yes?\nLet me know if you need more."),
    ("format:json", {}, 'Here is the JSON:\n{"a": 1}'),
    ("start:phrase", {"phrase": "My answer is"}, "**My answer is** yes."),
]


@pytest.mark.parametrize(("type_id", "kwargs", "text"), LOOSE_CASES)
def test_loose_mode_tolerates_preamble_signoff_and_emphasis(type_id: str, kwargs: dict, text: str) -> None:
    inst = Instruction(type_id, kwargs)
    assert not check(inst, text, mode="strict").ok
    assert check(inst, text, mode="loose").ok


def test_loose_mode_does_not_pass_by_dropping_everything() -> None:
    inst = Instruction("length:sentences", {"relation": "at_most", "n": 2})
    assert not check(inst, "One. Two. Three. Four.", mode="loose").ok


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError):
        check(Instruction("case:lowercase", {}), "x", mode="lenient")


def test_unknown_id_raises() -> None:
    with pytest.raises(UnknownInstructionError):
        get_type("start:nonsense")
    with pytest.raises(UnknownInstructionError):
        Instruction("nope:nothing", {})


@pytest.mark.parametrize(
    ("type_id", "kwargs"),
    [
        ("start:letter", {}),
        ("start:letter", {"letter": "#"}),
        ("start:letter", {"letter": "SS"}),
        ("length:sentences", {"relation": "at_most"}),
        ("length:sentences", {"relation": "around", "n": 3}),
        ("length:sentences", {"relation": "at_most", "n": "3"}),
        ("length:sentences", {"relation": "at_most", "n": True}),
        ("keyword:include", {"word": "like", "min_count": 1, "extra": 2}),
        ("keyword:include", {"word": "", "min_count": 1}),
        ("keyword:forbidden", {"words": []}),
        ("number:include", {"parity": "odd", "multiple_of": 2}),
        ("number:include", {"parity": "even", "greater_than": 10, "less_than": 11}),
    ],
)
def test_invalid_parameters_raise_on_construction(type_id: str, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Instruction(type_id, kwargs)
    with pytest.raises(ValueError):
        get_type(type_id).check(kwargs, "Some text.")
