"""Generation knobs: validation, file round trips, overrides and one-line errors naming the knob."""

from __future__ import annotations

import json

import pytest

from generator.common.errors import UserError
from generator.generation.config import (
    GenConfig,
    dump_config_file,
    parse_int_list,
    parse_range,
    parse_splits,
)
from generator.generation.variants import get_variant, list_variants, load_config_file


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("name", [v.name for v in list_variants()])
def test_every_preset_round_trips_through_a_file(tmp_path, suffix, name) -> None:
    cfg = get_variant(name)
    path = tmp_path / f"cfg{suffix}"
    dump_config_file(cfg, path)
    assert load_config_file(path) == [cfg]
    assert GenConfig.from_dict(cfg.to_dict()) == cfg


def test_several_configs_round_trip(tmp_path) -> None:
    configs = [get_variant("hard"), GenConfig(name="mine", turns=7, instruction_turns=(1, 2), schedule="fixed")]
    path = tmp_path / "many.yaml"
    dump_config_file(configs, path)
    assert load_config_file(path) == configs
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary file left behind"


def test_file_with_base_and_shorthands(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: tougher\nbase: hard\nturns: 12\nimages_per_chat: 3-4\ninstruction_turns: 1,2,3\n"
                    "hazard: [1, 0.5]\n")
    (cfg,) = load_config_file(path)
    assert cfg.name == "tougher" and cfg.catalogue == "all" and cfg.max_active == 12
    assert (cfg.turns, cfg.images_min, cfg.images_max) == (12, 3, 4)
    assert cfg.instruction_turns == (1, 2, 3) and cfg.hazard == (1.0, 0.5)


def test_variants_list_in_a_json_file(tmp_path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"variants": [{"base": "long", "name": "l2"}, {"name": "x", "turns": 3}]}))
    names = [c.name for c in load_config_file(path)]
    assert names == ["l2", "x"]


@pytest.mark.parametrize(("text", "fragment"), [
    ("turns: 0\n", "turns"),
    ("turns: '20'\n", "turns"),
    ("colour: red\n", "unknown knob 'colour'"),
    ("catalogue: everything\n", "catalogue"),
    ("schedule: fixed\n", "instruction_turns"),
    ("instruction_turns: [1, 30]\n", "outside"),
    ("hazard: [1.5]\n", "hazard"),
    ("one_per_type: 1\n", "one_per_type"),
    ("placement: system\nupdate_rate: 0.2\n", "placement"),
    ("images_per_chat: 5-2\n", "images_per_chat"),
    ("base: nope\n", "unknown variant"),
    ("name: 'a b'\n", "name"),
    ("turns: [\n", "not valid YAML"),
    ("- 3\n", "mapping"),
    ("variants: []\nseed: 3\n", "unexpected top-level"),
])
def test_bad_config_files_are_user_errors(tmp_path, text, fragment) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as info:
        load_config_file(path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        load_config_file(tmp_path / "absent.yaml")


def test_replace_validates_and_rejects_unknown_knobs() -> None:
    cfg = GenConfig()
    assert cfg.replace(turns=5).turns == 5
    with pytest.raises(UserError, match="unknown knob"):
        cfg.replace(colour="red")
    with pytest.raises(UserError, match="instruction turn 9"):
        cfg.replace(turns=5, instruction_turns=(9,), schedule="fixed")


def test_plan_key_ignores_render_knobs() -> None:
    assert get_variant("mmmt-if").plan_key() == get_variant("appended").plan_key() == \
        get_variant("end-only").plan_key()
    assert get_variant("mmmt-if").plan_key() != get_variant("long").plan_key()


@pytest.mark.parametrize(("text", "expected"), [("2-5", (2, 5)), ("3", (3, 3)), (" 1-1 ", (1, 1))])
def test_parse_range(text, expected) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["5-2", "a-b", "1-2-3", ""])
def test_parse_range_errors(text) -> None:
    with pytest.raises(UserError):
        parse_range(text)


def test_parse_splits_and_turn_lists() -> None:
    assert parse_splits("test=100,validation=20") == {"test": 100, "validation": 20}
    assert parse_int_list("1, 3,8", where="x") == (1, 3, 8)
    for bad in ("test", "test=0", "test=1,test=2", "te-st=3", "test=x"):
        with pytest.raises(UserError):
            parse_splits(bad)
    for bad in ("0", "a", ""):
        with pytest.raises(UserError):
            parse_int_list(bad, where="x")


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"instruction_turns": (1, 2, 3, 4, 5, 6, 7, 8)}, "8 instructions"),
    ({"instruction_turns": (1, 2, 3, 4, 5, 6, 7), "max_active": 100}, "6 categories"),
    ({"instruction_turns": (1, 2, 3), "max_active": 2}, "max_active"),
    ({"instruction_turns": (1, 1)}, "turn 1 is listed 2 times"),
    ({"instruction_turns": (2, 2, 2), "instructions_per_turn": 2}, "turn 2 is listed 3 times"),
    ({"instruction_turns": (1, 21)}, "outside the chat's turns 1..20"),
])
def test_fixed_schedule_that_cannot_be_placed_is_refused(changes, fragment) -> None:
    with pytest.raises(UserError) as info:
        GenConfig(schedule="fixed", **changes)
    assert fragment in str(info.value) and "instruction_turns" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("changes", [
    {"instruction_turns": (1, 2, 3, 4, 5, 6)},
    {"instruction_turns": (1, 1, 2), "instructions_per_turn": 2},
    {"instruction_turns": tuple(range(1, 13)), "catalogue": "extended", "max_active": 12, "one_per_type": False},
])
def test_fixed_schedules_within_the_limits_are_accepted(changes) -> None:
    assert GenConfig(schedule="fixed", **changes).schedule == "fixed"


def test_accepted_fixed_schedule_is_placed_in_full() -> None:
    from generator.generation.plan import plan_schedule

    cfg = GenConfig(schedule="fixed", instruction_turns=(1, 2, 4, 5, 7, 9))
    for index in range(3):
        counts = [sum(e.action == "add" for e in events) for events, _ in plan_schedule(cfg, 7, "test", index)]
        assert [counts[t - 1] for t in cfg.instruction_turns] == [1] * 6
        assert sum(counts) == 6


@pytest.mark.parametrize("name", ["scoring.py", "README.md", "manifest.json", "assets", "data", "Assets", "a/b",
                                  "a.b", "-x", "_x", "a b", "", "ünï"])
def test_bad_config_names_are_refused_in_files(tmp_path, name) -> None:
    path = tmp_path / "named.yaml"
    path.write_text(json.dumps({"name": name}))
    with pytest.raises(UserError) as info:
        load_config_file(path)
    message = str(info.value)
    assert str(path) in message and ": name" in message and "\n" not in message


@pytest.mark.parametrize("name", ["mmmt-if", "my_variant-2", "X", "0long"])
def test_good_config_names_are_accepted(name) -> None:
    assert GenConfig(name=name).name == name


def test_unknown_base_names_the_file_and_field(tmp_path) -> None:
    path = tmp_path / "based.yaml"
    path.write_text("base: nope\n")
    with pytest.raises(UserError) as info:
        load_config_file(path)
    assert info.value.where == f"{path}: variant 1: base"
    assert "--variant" not in str(info.value) and "unknown variant 'nope'" in str(info.value)
