"""Named presets: the table in docs/variants.md, `mmmtif variants`, and how presets relate to each other."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.common.errors import UserError
from generator.generation.config import GenConfig
from generator.generation.variants import (
    DEFAULT_VARIANTS,
    changed_knobs,
    draws_from,
    get_variant,
    list_variants,
    variant_names,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "variants.md"
REQUIRED = ["mmmt-if", "appended", "end-only", "system", "hard", "updates", "distractors", "long", "grounded"]


def test_all_required_presets_exist_in_order() -> None:
    assert variant_names() == REQUIRED
    assert DEFAULT_VARIANTS == ("mmmt-if", "appended")
    assert get_variant("mmmt-if").replace(description=GenConfig().description) == GenConfig()


@pytest.mark.parametrize(("name", "expected"), [
    ("mmmt-if", {}),
    ("appended", {"reminder_every": 1}),
    ("end-only", {"placement": "end-only"}),
    ("system", {"placement": "system"}),
    ("updates", {"update_rate": 0.25}),
    ("distractors", {"distractor_rate": 0.5}),
    ("long", {"turns": 100}),
    ("grounded", {"catalogue": "grounded"}),
])
def test_presets_change_exactly_their_knobs(name, expected) -> None:
    assert changed_knobs(get_variant(name)) == expected


def test_hard_preset() -> None:
    hard = get_variant("hard")
    assert (hard.catalogue, hard.max_active, hard.turns, hard.schedule) == ("all", 12, 40, "front-loaded")
    assert hard.instructions_per_turn > 1


OFFICIAL_SIX = frozenset({"length:sentences", "number:include", "start:letter", "end:punctuation",
                          "length:words_per_sentence", "keyword:include"})


@pytest.mark.parametrize("name", ["hard", "updates", "distractors", "long"])
def test_harder_presets_keep_the_official_six(name) -> None:
    """Every preset offered as a harder MMMT-IF draws the official categories, with their release wordings."""
    from generator.authoring import official_catalogue
    from generator.generation.plan import plan_schedule

    cfg = get_variant(name)
    official_keys = {(inst.id, inst.kwargs_json) for _, inst in official_catalogue()}
    drawn = [event.instruction for index in range(40)
             for events, _ in plan_schedule(cfg, 7, "test", index) for event in events]
    official = [p for p in drawn if p.id in OFFICIAL_SIX]
    assert {p.id for p in official} == OFFICIAL_SIX
    assert all((p.id, p.kwargs) in official_keys for p in official)
    assert "official six" in draws_from(cfg)


def test_variants_command_says_what_each_preset_draws_from() -> None:
    result = CliRunner().invoke(cli, ["variants"])
    assert result.exit_code == 0
    assert result.output.count("draws from: ") == len(list_variants())
    assert "draws from: the official six categories (the 13 release wordings) plus the extended" in result.output
    text = DOC.read_text()
    for preset in list_variants():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{preset.name}`"))
        assert "official six" in row, preset.name


def test_unknown_variant_is_a_user_error() -> None:
    with pytest.raises(UserError, match="known variants: mmmt-if"):
        get_variant("harder")


def test_docs_table_lists_every_preset_and_knob() -> None:
    text = DOC.read_text()
    for preset in list_variants():
        assert f"| `{preset.name}`" in text, preset.name
        for knob, value in changed_knobs(preset).items():
            assert f"{knob}=" in text, (preset.name, knob, value)
    for knob in (f.name for f in dataclasses.fields(GenConfig)):
        assert f"`{knob}`" in text, knob


def test_cli_lists_presets_as_text_and_json() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["variants", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert [item["name"] for item in items] == REQUIRED
    assert items[4]["knobs"]["max_active"] == 12
    assert GenConfig.from_dict(items[4]["knobs"]) == get_variant("hard")
    text = runner.invoke(cli, ["variants"])
    assert text.exit_code == 0
    for name in REQUIRED:
        assert name in text.output


def test_show_prints_a_loadable_config(tmp_path) -> None:
    from generator.generation.variants import load_config_file

    runner = CliRunner()
    result = runner.invoke(cli, ["variants", "--show", "updates"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "updates.yaml"
    path.write_text(result.output)
    assert load_config_file(path) == [get_variant("updates")]
    missing = runner.invoke(cli, ["variants", "--show", "nope"])
    assert missing.exit_code == 2 and "unknown variant" in missing.stderr
    assert missing.stderr.startswith("--show") or " --show:" in missing.stderr, missing.stderr
    assert "--variant" not in missing.stderr


@pytest.mark.parametrize("name", ["hard", "mmmt-if"])
def test_show_with_json_prints_the_preset_as_a_json_object(name) -> None:
    result = CliRunner().invoke(cli, ["variants", "--show", name, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == get_variant(name).to_dict()
    assert GenConfig.from_dict(data) == get_variant(name)


def test_get_variant_names_the_given_source() -> None:
    with pytest.raises(UserError) as info:
        get_variant("nope", where="--show")
    assert info.value.where == "--show"
    with pytest.raises(UserError) as info:
        get_variant("nope")
    assert info.value.where == "--variant"


def test_docs_explain_the_distance_knob_and_distractor_captions() -> None:
    text = " ".join(DOC.read_text().split())
    assert "realised as `min_gap`" in text
    assert "delayed-activation knob" in text and "in force from the turn it is given" in text
    assert "framed inside the question text" in text and "no separate caption field" in text
