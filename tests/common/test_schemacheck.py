"""The compiled schema check: never accepts what jsonschema refuses, and accepts the reports the scorer writes."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from scoring_fakes import catalogue_rows

from generator.authoring.oracle import oracle_responses
from generator.common.schemacheck import compile_schema
from generator.scoring import score_rows
from generator.scoring.report import load_report_schema, validate_report


@pytest.fixture(scope="module")
def report() -> dict:
    rows = catalogue_rows(21, chats=3, turns=4)
    responses = list(oracle_responses(rows, samples=2))
    responses[1] = {**responses[1], "response": "x"}
    return json.loads(json.dumps(score_rows(rows, responses)))


def _paths(value, prefix=()):
    """Every field; of a list, its first item only (the items share one schema)."""
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*prefix, key))
    elif isinstance(value, list) and value:
        yield from _paths(value[0], (*prefix, 0))


def _replaced(report: dict, path: tuple, value: object) -> dict:
    changed = copy.deepcopy(report)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


def test_the_report_schema_compiles_and_accepts_a_real_report(report) -> None:
    fast = compile_schema(load_report_schema())
    assert fast is not None
    assert fast(report) and jsonschema.Draft202012Validator(load_report_schema()).is_valid(report)
    assert "PIF-2-2" in report and report["intervals"]["PIF-2-1"] is not None  # pattern properties are exercised


def test_compiled_report_check_agrees_with_jsonschema_on_every_field_and_wrong_value(report) -> None:
    schema = load_report_schema()
    fast = compile_schema(schema)
    assert fast is not None
    validator = jsonschema.Draft202012Validator(schema)
    replacements = [None, True, False, -1, 0, 1, 2, 0.5, 1.5, "", "strict", "a" * 64, [], [0.1, 0.2], [1], {},
                    {"x": 1}]
    checked = refused = 0
    for path in list(_paths(report))[1:]:
        for value in replacements:
            changed = _replaced(report, path, value)
            expected = validator.is_valid(changed)
            assert fast(changed) == expected, (path, value)
            checked += 1
            refused += not expected
    assert checked > 1500 and refused > 1000


@pytest.mark.parametrize("extra", [{"surprise": 1}, {"PIF-2-3": 0.5}, {"PIF-2-x": 0.5}, {"PIF-2-3": 2}])
def test_keys_are_checked_against_properties_and_patterns(report, extra) -> None:
    schema = load_report_schema()
    fast = compile_schema(schema)
    assert fast is not None
    for changed in ({**report, **extra}, {**report, "release_convention": {**report["release_convention"], **extra}}):
        assert fast(changed) == jsonschema.Draft202012Validator(schema).is_valid(changed), extra


def test_stricter_than_jsonschema_never_more_lenient(report) -> None:
    """An integral float is an integer to jsonschema; the compiled check refuses it, and validation then asks
    jsonschema, which accepts it."""
    changed = {**report, "samples_per_turn": 2.0}
    fast = compile_schema(load_report_schema())
    assert fast is not None and not fast(changed)
    assert validate_report(changed)


def test_a_schema_outside_the_subset_is_not_compiled() -> None:
    assert compile_schema({"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}) is None
    assert compile_schema({"type": "string", "format": "date"}) is None
    assert compile_schema({"const": [1, 2]}) is None


def test_a_failing_report_is_worded_by_jsonschema(report) -> None:
    from generator.common.errors import ValidationError

    with pytest.raises(ValidationError, match=r"report: pif.*report does not match its schema"):
        validate_report({**report, "pif": 1.5})
