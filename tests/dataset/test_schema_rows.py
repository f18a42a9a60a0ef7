"""Row validation: every defect is reported with the row and the field that carry it."""

from __future__ import annotations

import copy
import json

import pytest
from dataset_rows import ENDING, LETTER, make_row

from generator.common.errors import ValidationError
from generator.dataset.schema import row_problems, validate_row


def _drop(path):
    def mutate(row):
        *parents, last = path
        target = row
        for key in parents:
            target = target[key]
        del target[last]
    return mutate


def _set(path, value):
    def mutate(row):
        *parents, last = path
        target = row
        for key in parents:
            target = target[key]
        target[last] = value
    return mutate


def _revoke_unknown(row):
    row["turns"][1]["new_instructions"] = [{"id": "number:odd", "kwargs": "{}", "wording": "", "action": "revoke"}]


def _replace_letter(row):
    """A valid update: turn 2 replaces start:letter S by start:letter C."""
    new = {"id": "start:letter", "kwargs": '{"letter":"C"}', "wording": "Start with C instead."}
    row["turns"][1]["new_instructions"] = [{**new, "action": "replace"}]
    row["turns"][1]["active_instructions"] = [{**new, "given_at": 2}]
    row["turns"][2]["active_instructions"] = [{**new, "given_at": 2}, {**ENDING, "given_at": 3}]


def _revoke_letter(row):
    row["turns"][1]["new_instructions"] = [{**LETTER, "action": "revoke"}]
    row["turns"][1]["active_instructions"] = []
    row["turns"][2]["active_instructions"] = [{**ENDING, "given_at": 3}]


NEGATIVE = [
    # (name, mutation, expected field in the message, expected words)
    ("missing top-level field", _drop(["source"]), "field source", "missing required field"),
    ("missing turn field", _drop(["turns", 1, "prompt"]), "field turns[1].prompt", "missing"),
    ("missing instruction field", _drop(["turns", 0, "active_instructions", 0, "given_at"]),
     "field turns[0].active_instructions[0].given_at", "missing"),
    ("wrong type of turn", _set(["turns", 0, "turn"], "1"), "field turns[0].turn", "not of type 'integer'"),
    ("wrong type of kwargs", _set(["turns", 0, "new_instructions", 0, "kwargs"], {"letter": "S"}),
     "field turns[0].new_instructions[0].kwargs", "not of type 'string'"),
    ("wrong type of id", _set(["id"], 7), "field id", "not of type 'string'"),
    ("unexpected field", _set(["turns", 0, "score"], 1.0), "field turns[0].score", "unexpected field"),
    ("bad action", _set(["turns", 0, "new_instructions", 0, "action"], "append"),
     "field turns[0].new_instructions[0].action", "append"),
    ("turn numbering skips", _set(["turns", 2, "turn"], 4), "field turns[2].turn", "numbered 1..n"),
    ("turn numbering starts at 0", _set(["turns", 0, "turn"], 0), "field turns[0].turn", ""),
    ("given_at after the turn", _set(["turns", 1, "active_instructions", 0, "given_at"], 3),
     "field turns[1].active_instructions[0].given_at", "after the turn 2"),
    ("active set misses an event", _set(["turns", 2, "active_instructions"], [{**LETTER, "given_at": 1}]),
     "field turns[2].active_instructions", "missing end:punctuation"),
    ("active set has an extra entry", _set(["turns", 1, "active_instructions"],
                                           [{**LETTER, "given_at": 1}, {**ENDING, "given_at": 1}]),
     "field turns[1].active_instructions", "unexpected end:punctuation"),
    ("revoke of an inactive instruction", _revoke_unknown, "field turns[1].new_instructions[0]", "not active"),
    ("kwargs not JSON", _set(["turns", 0, "new_instructions", 0, "kwargs"], "{letter: S}"),
     "field turns[0].new_instructions[0].kwargs", "not valid JSON"),
    ("kwargs not an object", _set(["turns", 0, "active_instructions", 0, "kwargs"], "[1]"),
     "field turns[0].active_instructions[0].kwargs", "JSON object"),
    ("unknown image name in question", _set(["turns", 1, "question"], "Compare Image1 and Image3."),
     "field turns[1].question", "Image3"),
    ("unknown image name in prompt", _set(["turns", 1, "prompt"], "What is in Image9?"),
     "field turns[1].prompt", "Image9"),
    ("image index out of range", _set(["turns", 0, "image_indices"], [2]),
     "field turns[0].image_indices[0]", "out of range"),
    ("image_meta count", _drop(["image_meta", 1]), "field image_meta", "1 entries for 2 images"),
    ("image_meta name", _set(["image_meta", 1, "name"], "Image3"), "field image_meta[1].name", "Image2"),
    ("image of a wrong type", _set(["images", 0], 3.5), "field images[0]", "float"),
    ("image path missing", _set(["images", 1], "/nonexistent/cat.png"), "field images[1]", "does not exist"),
    ("instruction id without group", _set(["turns", 0, "distractors"],
                                          [{"id": "letter", "kwargs": "{}", "wording": "x"}]),
     "field turns[0].distractors[0].id", "does not match"),
    ("no turns", _set(["turns"], []), "field turns", "should be non-empty"),
]


@pytest.mark.parametrize(("name", "mutate", "field", "words"), NEGATIVE, ids=[case[0] for case in NEGATIVE])
def test_defects_name_row_and_field(name, mutate, field, words):
    row = make_row(5)
    mutate(row)
    with pytest.raises(ValidationError) as info:
        validate_row(row, "mmmt-if/test row 5")
    message = str(info.value)
    assert message.startswith("mmmt-if/test row 5: "), message
    assert field + ":" in message, message
    assert words in message, message


def test_default_label_uses_the_row_id():
    row = make_row(3)
    del row["config"]
    assert row_problems(row) == ["row id='chat-0003': field config: missing required field"]


@pytest.mark.parametrize("mutate", [_replace_letter, _revoke_letter])
def test_update_and_revoke_events_are_accepted(mutate):
    row = make_row(1)
    mutate(row)
    validate_row(row)


def test_replace_without_target_is_refused():
    row = make_row(1)
    new = {"id": "number:odd", "kwargs": "{}", "wording": "x"}
    row["turns"][1]["new_instructions"] = [{**new, "action": "replace"}]
    row["turns"][1]["active_instructions"].append({**new, "given_at": 2})
    with pytest.raises(ValidationError, match=r"turns\[1\]\.new_instructions\[0\]: replaces nothing"):
        validate_row(row)


def test_kwargs_compare_as_json_not_as_text():
    row = make_row(1)
    spaced = json.dumps({"letter": "S"}, indent=1)
    row["turns"][1]["active_instructions"][0]["kwargs"] = spaced
    validate_row(row)


def test_config_must_match_the_config_written():
    with pytest.raises(ValidationError, match="field config: row says 'mmmt-if'"):
        validate_row(make_row(1), "r", config="appended")


@pytest.mark.parametrize("image", [
    b"\x89PNG...", {"bytes": b"abc", "path": None}, {"bytes": b"abc", "path": "x.png"},
])
def test_accepted_image_forms(image):
    row = make_row(1)
    row["images"][0] = image
    validate_row(row)


def test_pil_images_and_paths_are_accepted(tmp_path):
    from PIL import Image

    row = make_row(1)
    path = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(path)
    row["images"] = [Image.new("RGB", (4, 4)), str(path)]
    validate_row(row)


def test_ids_are_not_restricted_to_a_catalogue():
    row = make_row(1)
    row["turns"][0]["distractors"] = [{"id": "made_up:thing.v2", "kwargs": "{}", "wording": "Shout."}]
    validate_row(row)


def test_fast_path_and_jsonschema_agree_on_every_negative_case():
    """The compiled predicate must reject what jsonschema rejects (jsonschema then words the message)."""
    import jsonschema

    from generator.dataset.schema import _fast_check, conversation_schema

    fast = _fast_check()
    assert fast is not None
    validator = jsonschema.Draft202012Validator(conversation_schema())
    for _name, mutate, _field, _words in NEGATIVE:
        row = make_row(2)
        mutate(row)
        assert fast(row) == validator.is_valid(row), _name
    assert fast(make_row(2)) and validator.is_valid(make_row(2))


def test_validation_does_not_modify_the_row():
    row = make_row(4)
    before = copy.deepcopy(row)
    validate_row(row)
    assert row == before


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, (*prefix, index))


def test_fast_path_agrees_with_jsonschema_on_every_field_and_wrong_value():
    """Exhaustive over the fields of a small row: each replaced by values of every JSON type."""
    import jsonschema

    from generator.dataset.schema import _fast_check, conversation_schema

    fast = _fast_check()
    validator = jsonschema.Draft202012Validator(conversation_schema())
    checked = 0
    for path, value, row in _wrong_values():
        assert fast(row) == validator.is_valid(row), (path, value)
        checked += 1
    assert checked > 500


def _wrong_values():
    """``(path, value, row)``: a small row with one field replaced by a value of each JSON type."""
    base = make_row(1, n_turns=3, n_images=1)
    base["images"] = [b"x"]
    replacements = [None, True, -1, 0, 2, 1.5, "", "a:b", [], [1], {}, {"id": "a:b"}]
    for path in list(_paths(base))[1:]:
        for value in replacements:
            row = copy.deepcopy(base)
            _set(list(path), value)(row)
            yield path, value, row


def _unreleased(row):
    row["images"] = []
    for entry in row["image_meta"]:
        entry["spec"] = json.dumps({"released": False})


def _gapped(row):
    for turn in row["turns"][1:]:
        turn["turn"] += 1
    for turn in row["turns"]:
        for item in turn["active_instructions"]:
            item["given_at"] = 1 if item["given_at"] == 1 else item["given_at"] + 1


@pytest.mark.parametrize(("mutate", "departure", "field"), [
    (_unreleased, "unreleased-images", "field images"),
    (_gapped, "turn-gaps", "field turns[1].turn"),
])
def test_declared_departures_relax_exactly_one_rule(mutate, departure, field):
    row = make_row(1)
    mutate(row)
    with pytest.raises(ValidationError, match=field.replace("[", r"\[").replace("]", r"\]")):
        validate_row(row)
    validate_row(row, allow=[departure])
    other = next(name for name in ("unreleased-images", "turn-gaps") if name != departure)
    with pytest.raises(ValidationError):
        validate_row(row, allow=[other])


def _unreleased_without_marker(row):
    row["images"] = []


def _unreleased_one_marker_missing(row):
    _unreleased(row)
    row["image_meta"][1]["spec"] = json.dumps({"released": True})


def _unreleased_spec_not_json(row):
    _unreleased(row)
    row["image_meta"][0]["spec"] = "released: false"


def _unreleased_nothing_named(row):
    _unreleased(row)
    row["image_meta"] = []
    for turn in row["turns"]:
        turn["question"] = turn["prompt"] = "How many shapes?"
        turn["image_indices"] = []


def _unreleased_image_out_of_range(row):
    _unreleased(row)
    row["turns"][0]["image_indices"] = [len(row["image_meta"])]


@pytest.mark.parametrize(("mutate", "field"), [
    (_unreleased_without_marker, r"image_meta\[0\]\.spec: images is empty"),
    (_unreleased_one_marker_missing, r"image_meta\[1\]\.spec"),
    (_unreleased_spec_not_json, r"image_meta\[0\]\.spec"),
    (_unreleased_nothing_named, r"field images: empty, and image_meta names no image"),
    (_unreleased_image_out_of_range, r"turns\[0\]\.image_indices\[0\]: index 2 out of range for 2 image"),
])
def test_unreleased_images_need_every_named_image_declared_unreleased(mutate, field):
    row = make_row(1)
    mutate(row)
    with pytest.raises(ValidationError, match=field):
        validate_row(row, allow=["unreleased-images", "turn-gaps"])
    with pytest.raises(ValidationError):
        validate_row(row)


def test_unreleased_departure_leaves_rows_with_images_to_the_normal_rules():
    row = make_row(1)
    row["image_meta"].pop()
    with pytest.raises(ValidationError, match="field image_meta: 1 entries for 2 images"):
        validate_row(row, allow=["unreleased-images"])


def test_turn_gaps_still_require_increasing_numbers():
    row = make_row(1)
    row["turns"][2]["turn"] = 2
    with pytest.raises(ValidationError, match=r"turns\[2\]\.turn: turn numbers must increase"):
        validate_row(row, allow=["turn-gaps"])


def test_unknown_departure_is_refused():
    with pytest.raises(ValidationError, match="unknown departure"):
        validate_row(make_row(1), allow=["anything-goes"])


def _sibling(base: dict, config: str = "appended") -> dict:
    """The row ``base``'s conversation has under a placement-only config: the same objects but for the prompts."""
    turns = [{**turn, "prompt": turn["prompt"] + "\n\nReminder."} for turn in base["turns"]]
    return {**base, "config": config, "turns": turns}


def test_a_sibling_row_is_checked_in_the_fields_placement_changes():
    from generator.dataset.schema import validate_sibling_row

    base = make_row(4)
    validate_row(base, "mmmt-if/test row 4")
    validate_sibling_row(_sibling(base), base, "appended/test row 4", config="appended")
    for mutate, field, words in [
        (lambda row: row["turns"][1].update(prompt="What is in Image9?"), "field turns[1].prompt", "Image9"),
        (lambda row: row["turns"][0].update(prompt=""), "field turns[0].prompt", "should be non-empty"),
        (lambda row: row.update(system_prompt=None), "field system_prompt", "not of type 'string'"),
        (lambda row: row.update(config="other"), "field config", "written to config 'appended'"),
    ]:
        row = _sibling(base)
        mutate(row)
        with pytest.raises(ValidationError) as info:
            validate_sibling_row(row, base, "appended/test row 4", config="appended")
        assert f"appended/test row 4: {field}:" in str(info.value) and words in str(info.value), str(info.value)


def test_a_sibling_row_that_differs_elsewhere_is_validated_in_full():
    from generator.dataset.schema import validate_sibling_row

    base = make_row(4)
    row = copy.deepcopy(_sibling(base))  # equal values, other objects: nothing is taken as already checked
    row["turns"][2]["active_instructions"] = [{**LETTER, "given_at": 1}]
    with pytest.raises(ValidationError, match=r"field turns\[2\]\.active_instructions: .*missing end:punctuation"):
        validate_sibling_row(row, base, "appended/test row 4", config="appended")
    shared = _sibling(base)
    shared["turns"][0] = {**shared["turns"][0], "turn": 2}  # a shared turn with one value of its own
    with pytest.raises(ValidationError, match=r"field turns\[0\]\.turn"):
        validate_sibling_row(shared, base, "appended/test row 4", config="appended")


def _shared_entries(row):
    """The row with each active instruction's entry one dict in every turn it is active in, as generated."""
    entries = {}
    turns = row.get("turns") if isinstance(row, dict) else None
    for turn in turns if isinstance(turns, list) else []:
        if isinstance(turn, dict) and isinstance(turn.get("active_instructions"), list):
            turn["active_instructions"] = [entries.setdefault(repr(a), a) for a in turn["active_instructions"]]
    return row


def test_split_schema_check_agrees_with_the_whole_check_on_every_field_and_wrong_value():
    """Checking each distinct entry once says what the compiled whole-schema check says, entries shared or not."""
    from generator.dataset.schema import _fast_check, _passes_split_check, _split_check

    fast, split = _fast_check(), _split_check()
    assert fast is not None and split is not None
    checked = 0
    for path, value, row in _wrong_values():
        assert _passes_split_check(row, split) == fast(row), (path, value)
        assert _passes_split_check(_shared_entries(row), split) == fast(row), (path, value)
        checked += 1
    assert checked > 500
    for _name, mutate, _field, _words in NEGATIVE:
        row = make_row(2)
        mutate(row)
        assert _passes_split_check(row, split) == fast(row), _name


def test_a_bad_entry_shared_by_many_turns_is_refused():
    row = _shared_entries(make_row(4))
    validate_row(row)
    shared = row["turns"][-1]["active_instructions"][0]
    assert sum(shared is a for turn in row["turns"] for a in turn["active_instructions"]) > 1
    shared["given_at"] = "1"
    with pytest.raises(ValidationError, match=r"active_instructions\[0\]\.given_at"):
        validate_row(row)


def test_an_entry_object_is_checked_against_each_list_it_appears_in():
    """A dict valid as an active entry is not valid as a distractor (given_at is not a distractor field)."""
    row = _shared_entries(make_row(4))
    row["turns"][-1]["distractors"] = [row["turns"][-1]["active_instructions"][0]]
    with pytest.raises(ValidationError, match=r"distractors\[0\]"):
        validate_row(row)


@pytest.mark.parametrize(("text", "refused"), [
    ("Look at Image1 and Image2.", False), ("Image01 is fine.", False), ("xImage9 is no name.", False),
    ("Image9b is no name.", False), ("Image\u0661 is Image1.", False), ("See Image3.", True),
    ("See Image0.", True), ("Image1 and (Image3).", True), ("Image\u0663", True), ("Image12", True),
])
def test_image_names_in_prompts_are_checked_exactly(text, refused):
    """The quick acceptance of image names decides as the word-boundary pattern does."""
    row = make_row(4)
    assert len(row["images"]) == 2
    row["turns"][1]["prompt"] = text
    problems = row_problems(row)
    assert bool(problems) == refused, problems
    if refused:
        assert "turns[1].prompt" in problems[0]
