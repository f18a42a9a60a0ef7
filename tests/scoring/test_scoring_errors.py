"""Bad responses and bad datasets: a clear error naming file, line and field, never a silent pass."""

from __future__ import annotations

import json

import pytest
from scoring_fakes import FAKE_CATALOGUE, active, turn

from generator.common.errors import UnknownInstructionError, UserError, ValidationError
from generator.scoring import evaluate_rows, read_responses, strip_think

ROWS = [{"id": "c1", "turns": [turn(1, [active("t:upper", 1)]), turn(2, [active("t:upper", 1)])]}]


def write_lines(tmp_path, lines):
    path = tmp_path / "responses.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(("lines", "where", "message"), [
    (['{"id": "c1", "turn": 1, "response": "A"}', '{"id": "c1", "turn": 2'], "line 2", "malformed JSON"),
    (['[1, 2]'], "line 1", "expected a JSON object"),
    (['{"turn": 1, "response": "A"}'], "line 1: field id", "missing field 'id'"),
    (['{"id": "c1", "response": "A"}'], "line 1: field turn", "missing field 'turn'"),
    (['{"id": "c1", "turn": 1}'], "line 1: field response", "missing field 'response'"),
    (['{"id": 5, "turn": 1, "response": "A"}'], "line 1: field id", "non-empty string"),
    (['{"id": "c1", "turn": 0, "response": "A"}'], "line 1: field turn", ">= 1"),
    (['{"id": "c1", "turn": true, "response": "A"}'], "line 1: field turn", ">= 1"),
    (['{"id": "c1", "turn": 1, "sample": -1, "response": "A"}'], "line 1: field sample", ">= 0"),
    (['{"id": "c1", "turn": 1, "response": null}'], "line 1: field response", "must be a string"),
    (['{"id": "c1", "turn": 1, "response": "A", "response": "B"}'], "line 1", "key 'response' appears twice"),
    (['{"id": "c1", "turn": 1, "response": "A"}', "", '{"id": "c1", "turn": 1, "sample": 0, "response": "B"}'],
     "line 3", "duplicate response for id 'c1' turn 1 sample 0 (first at"),
])
def test_bad_response_lines(tmp_path, lines, where, message):
    path = write_lines(tmp_path, lines)
    with pytest.raises(ValidationError) as info:
        read_responses(path)
    assert f"{path}:{where}" in str(info.value)
    assert message in str(info.value)


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(UserError, match="no responses"):
        read_responses(write_lines(tmp_path, ["", "  "]))
    with pytest.raises(UserError, match="not found"):
        read_responses(tmp_path / "nope.jsonl")


def test_extra_fields_and_blank_lines_are_fine(tmp_path):
    path = write_lines(tmp_path, ['{"id": "c1", "turn": 1, "response": "A", "model": "m", "usage": {"x": 1}}', ""])
    (response,) = read_responses(path)
    assert (response.id, response.turn, response.sample) == ("c1", 1, 0)


@pytest.mark.parametrize(("record", "message", "field"), [
    ({"id": "c9", "turn": 1, "response": "A"}, "unknown conversation id 'c9'", "field id"),
    ({"id": "c1", "turn": 3, "response": "A"}, "has no turn 3", "field turn"),
])
def test_unknown_conversation_or_turn(tmp_path, record, message, field):
    path = write_lines(tmp_path, ['{"id": "c1", "turn": 1, "response": "A"}', json.dumps(record)])
    with pytest.raises(ValidationError) as info:
        evaluate_rows(ROWS, read_responses(path), catalogue=FAKE_CATALOGUE)
    assert message in str(info.value) and f"{path}:line 2: {field}" in str(info.value)


def test_unknown_instruction_id_in_dataset_fails_before_scoring():
    rows = [{"id": "c1", "turns": [turn(1, [active("t:upper", 1)]), turn(2, [active("t:nope", 2)])]}]
    with pytest.raises(UnknownInstructionError) as info:
        evaluate_rows(rows, [{"id": "c1", "turn": 1, "response": "A"}], catalogue=FAKE_CATALOGUE)
    text = str(info.value)
    assert "'t:nope'" in text and "row 0 (id 'c1') turn 2" in text and "active_instructions[0].id" in text


def test_unknown_distractor_id_fails():
    rows = [{"id": "c1", "turns": [turn(1, [], distractors=[{"id": "x:y", "kwargs": "{}", "wording": ""}])]}]
    with pytest.raises(UnknownInstructionError, match="distractors"):
        evaluate_rows(rows, [{"id": "c1", "turn": 1, "response": "A"}], catalogue=FAKE_CATALOGUE)


@pytest.mark.parametrize(("rows", "message"), [
    ([{"id": "a", "turns": []}, {"id": "a", "turns": []}], "duplicate conversation id"),
    ([{"id": "a", "turns": [turn(1), turn(1)]}], "duplicate turn number 1"),
    ([{"id": "a", "turns": [turn(1, [active("t:upper", 2)])]}], "given_at"),
    ([{"id": "a", "turns": [turn(1, [{**active("t:upper", 1), "kwargs": "{bad"}])]}], "kwargs is not valid JSON"),
    ([{"id": "a", "turns": [turn(1, reference="seven", answer_type="number")]}], "decimal number"),
    ([{"id": "a", "turns": [turn(1, reference="x", answer_type="colour")]}], "unknown answer type"),
    ([{"id": "a"}], "'turns' must be a list"),
    ([{"id": "a", "turns": [turn(1, [active("t:contains", 1)])]}], r"invalid parameters: .*missing parameter 'word'"),
])
def test_bad_dataset_rows(rows, message):
    with pytest.raises(ValidationError, match=message):
        evaluate_rows(rows, [], catalogue=FAKE_CATALOGUE)


def test_unknown_mode():
    with pytest.raises(UserError, match="unknown mode"):
        evaluate_rows(ROWS, [], "lenient", catalogue=FAKE_CATALOGUE)


@pytest.mark.parametrize(("text", "expected", "removed"), [
    ("plain answer", "plain answer", False),
    ("  spaced  ", "  spaced  ", False),
    ("<think>reasoning</think>\n\nAnswer.", "Answer.", True),
    ("<THINK>a</THINK>B<think>c</think>", "B", True),
    ("<think>never closed, all reasoning", "", True),
    ("  \n<think>never closed", "", True),
    ("reasoning without opening tag</think>Answer", "Answer", True),
    ("A <think>x</think> B", "A  B", True),
    ("</think>", "", True),
    ("Answer first. <think>then reasoning that never ends", "Answer first.", True),
    ("<think>a <think> b</think>C</think>D", "CD", True),
    ("x</think>y</think>z", "yz", True),
    ("<think>a</think>b</think>c", "bc", True),
])
def test_strip_think(text, expected, removed):
    assert strip_think(text) == (expected, removed)


@pytest.mark.parametrize("record", [
    {"id": "c1", "turn": 1, "response": "A"},
    {"id": "c1", "turn": 2, "sample": 3, "response": "", "model": "m"},
    {"id": "", "turn": 1, "response": "A"},
    {"id": "c1", "turn": 0, "response": "A"},
    {"id": "c1", "turn": 1, "sample": -2, "response": "A"},
    {"id": "c1", "turn": 1.5, "response": "A"},
    {"id": "c1", "turn": 1, "response": 3},
    {"id": "c1", "turn": 1},
])
def test_responses_schema_agrees_with_the_reader(record):
    import jsonschema

    from generator.common.resources import resource_path
    from generator.scoring.responses import parse_response

    schema = json.loads(resource_path("schemas", "responses.schema.json").read_text())
    schema_ok = jsonschema.Draft202012Validator(schema).is_valid(record)
    try:
        parse_response(record, "x")
        reader_ok = True
    except ValidationError:
        reader_ok = False
    assert schema_ok == reader_ok
