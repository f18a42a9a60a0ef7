"""``mmmtif validate``: a sound folder passes; each kind of damage is reported with file, row and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from dataset_rows import make_row, placeholder_scoring_script

from generator.cli import cli
from generator.common.errors import ValidationError
from generator.dataset.checks import validate_dataset
from generator.dataset.writer import write_dataset

SHARD = "mmmt-if/test-00000-of-00001.parquet"


@pytest.fixture(autouse=True)
def stub_scorer(monkeypatch):
    import generator.dataset.bundle

    monkeypatch.setattr(generator.dataset.bundle, "build_scoring_script", lambda: "print('scoring')\n")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    with placeholder_scoring_script():
        out = tmp_path_factory.mktemp("v") / "mmmt-if"
        write_dataset(out, {"mmmt-if": {"test": [make_row(i) for i in range(4)]},
                            "appended": {"test": [make_row(i, "appended") for i in range(4)]}}, quiet=True)
    return out


@pytest.fixture
def folder(pristine, tmp_path):
    copy = tmp_path / "mmmt-if"
    shutil.copytree(pristine, copy)
    return copy


def _edit_readme(folder: Path, edit) -> None:
    text = (folder / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    meta = yaml.safe_load(header)
    edit(meta)
    (folder / "README.md").write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + body)


def _rewrite(folder: Path, rows, **kwargs) -> None:
    write_dataset(folder, {"mmmt-if": {"test": rows}}, quiet=True, overwrite=True, **kwargs)


def test_sound_folder_passes(pristine):
    assert validate_dataset(pristine) == []


def test_cli_ok_and_exit_code(pristine):
    result = CliRunner().invoke(cli, ["validate", "--quiet", str(pristine)])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output and "mmmt-if: test 4" in result.output


def _corrupt_image(folder):
    rows = [make_row(i) for i in range(3)]
    rows[1]["images"][1] = b"not a png at all"
    _rewrite(folder, rows)


def _semantic_defect(folder):
    rows = [make_row(i) for i in range(3)]
    rows[2]["turns"][1]["active_instructions"][0]["given_at"] = 2
    _rewrite(folder, rows, validate=False)


def _duplicate_ids(folder):
    _rewrite(folder, [make_row(1), make_row(1)])


def _unlisted_file(folder):
    (folder / "notes.txt").write_text("x")


def _tampered_shard(folder):
    path = folder / SHARD
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncated_shard(folder):
    path = folder / SHARD
    path.write_bytes(path.read_bytes()[:100])


def _missing_manifest(folder):
    (folder / "manifest.json").unlink()


def _manifest_counts(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["configs"]["mmmt-if"]["splits"]["test"]["num_examples"] = 5
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _readme_split_without_files(folder):
    def edit(meta):
        meta["configs"][0]["data_files"].append({"split": "validation", "path": "mmmt-if/validation-*"})
    _edit_readme(folder, edit)


def _readme_wrong_count(folder):
    def edit(meta):
        meta["dataset_info"][0]["splits"][0]["num_examples"] = 40
    _edit_readme(folder, edit)


def _readme_wrong_features(folder):
    def edit(meta):
        meta["dataset_info"][1]["features"] = [f for f in meta["dataset_info"][1]["features"] if f["name"] != "source"]
    _edit_readme(folder, edit)


def _readme_drops_config(folder):
    def edit(meta):
        meta["configs"] = meta["configs"][:1]
    _edit_readme(folder, edit)


def _misnamed_shard(folder):
    (folder / SHARD).rename(folder / "mmmt-if" / "test.parquet")


def _wrong_config_folder(folder):
    shutil.copy(folder / SHARD, folder / "appended" / "test-00000-of-00001.parquet")


CASES = [
    ("image does not decode", _corrupt_image, f"{SHARD}:row 1: field images[1]: does not decode"),
    ("semantic defect", _semantic_defect, f"{SHARD}:row 2: field turns[1].active_instructions: does not follow"),
    ("duplicate ids", _duplicate_ids, f"{SHARD}:row 1: field id: 'chat-0001' already used at {SHARD}:row 0"),
    ("unlisted file", _unlisted_file, "notes.txt: present but not listed in manifest.json"),
    ("tampered shard", _tampered_shard, f"{SHARD}: sha256 differs from manifest.json"),
    ("truncated shard", _truncated_shard, f"{SHARD}: not a readable parquet file"),
    ("missing manifest", _missing_manifest, "manifest.json: missing"),
    ("manifest counts", _manifest_counts, "manifest.json: field configs: row counts"),
    ("README split without files", _readme_split_without_files,
     "README.md: configs[mmmt-if].data_files[validation]: no file matches"),
    ("README row count", _readme_wrong_count,
     "README.md: dataset_info[mmmt-if].splits[test].num_examples: 40, but the files hold 4 rows"),
    ("README features", _readme_wrong_features,
     "appended/test-00000-of-00001.parquet: parquet schema differs from README.md dataset_info[appended].features"),
    ("README drops a config", _readme_drops_config,
     "appended/test-00000-of-00001.parquet: not referenced by any README.md configs entry"),
    ("misnamed shard", _misnamed_shard, "mmmt-if/test.parquet: not named <config>/<split>-NNNNN-of-NNNNN.parquet"),
    ("row in the wrong config folder", _wrong_config_folder,
     "appended/test-00000-of-00001.parquet:row 0: field config: row says 'mmmt-if' but is written to config "
     "'appended'"),
]


@pytest.mark.parametrize(("name", "damage", "expected"), CASES, ids=[c[0] for c in CASES])
def test_damage_is_reported(folder, name, damage, expected):
    damage(folder)
    problems = validate_dataset(folder)
    assert any(expected in p for p in problems), problems


def test_cli_lists_problems_and_exits_non_zero(folder):
    _corrupt_image(folder)
    result = CliRunner().invoke(cli, ["validate", "-q", str(folder)])
    assert result.exit_code == 2
    assert "field images[1]: does not decode" in result.output
    assert "1 problem(s) found" in result.output


def test_no_images_flag_skips_decoding(folder):
    _corrupt_image(folder)
    assert validate_dataset(folder, decode_images=False) == []


def test_missing_folder_is_a_user_error(tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "dataset folder not found" in result.output


def test_max_problems_stops_early(folder):
    rows = [make_row(i) for i in range(6)]
    for row in rows:
        row["images"][0] = b"junk"
    _rewrite(folder, rows)
    problems = validate_dataset(folder, max_problems=3)
    assert problems[-1] == "stopped after 3 problems" and len(problems) == 4


def _imported_row(index, gap):
    """A row as an import of a release without images writes it, optionally skipping turn 2."""
    row = {**make_row(index, n_turns=3), "config": "official", "images": []}
    for entry in row["image_meta"]:
        entry["spec"] = json.dumps({"released": False})
    if gap:
        for turn in row["turns"][1:]:
            turn["turn"] += 1
            for item in turn["active_instructions"]:
                item["given_at"] += item["given_at"] > 1
    return row


@pytest.mark.parametrize(("gap", "departures"), [
    (False, ["unreleased-images"]),
    (True, ["turn-gaps", "unreleased-images"]),
])
def test_declared_departures_are_recorded_and_honoured(tmp_path, gap, departures):
    rows = [_imported_row(0, gap), _imported_row(1, False)]
    out = tmp_path / "imported"
    for partial in ([], departures[:-1]):  # any departure left undeclared: the writer refuses the rows
        with pytest.raises(ValidationError):
            write_dataset(out, {"official": {"test": rows}}, quiet=True, card_context={"departures": partial})
        assert not out.exists()
    write_dataset(out, {"official": {"test": rows}}, quiet=True, card_context={"departures": departures})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["departures"] == departures
    assert validate_dataset(out) == []
    assert CliRunner().invoke(cli, ["validate", str(out), "-q"]).exit_code == 0

    # the same folder without the recorded departures: every row is reported
    manifest["departures"] = []
    (out / "manifest.json").write_text(json.dumps(manifest))
    problems = validate_dataset(out)
    assert len(problems) == 2 and all("field images" in p for p in problems)
    manifest["departures"] = ["everything-goes"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert any("unknown departure" in p for p in validate_dataset(out))


def _readme_without_default(folder):
    def edit(meta):
        for config in meta["configs"]:
            config.pop("default", None)
    _edit_readme(folder, edit)


def _readme_other_default(folder):
    def edit(meta):
        for config in meta["configs"]:
            config.pop("default", None)
        meta["configs"][1]["default"] = True
    _edit_readme(folder, edit)


def _readme_renames_nested_field(folder):
    def edit(meta):
        info = meta["dataset_info"][0]
        turns = next(f for f in info["features"] if f["name"] == "turns")
        next(f for f in turns["list"] if f["name"] == "question")["name"] = "questionx"
    _edit_readme(folder, edit)


def _readme_changes_nested_type(folder):
    def edit(meta):
        info = meta["dataset_info"][0]
        turns = next(f for f in info["features"] if f["name"] == "turns")
        next(f for f in turns["list"] if f["name"] == "turn")["dtype"] = "int64"
    _edit_readme(folder, edit)


MORE_CASES = [
    ("README without a default", _readme_without_default,
     "README.md: field configs: 2 configs but none has default: true"),
    ("README default differs from manifest", _readme_other_default,
     "README.md: field configs: default config 'appended' differs from manifest.json default_config 'mmmt-if'"),
    ("README nested field renamed", _readme_renames_nested_field,
     "field turns.questionx: in README dataset_info but not in parquet; field turns.question: in parquet but not "
     "in README"),
    ("README top-level field dropped", _readme_wrong_features, "field source: in parquet but not in README"),
    ("README nested type", _readme_changes_nested_type, "field turns.turn: type int32 in parquet, int64 in README"),
]


@pytest.mark.parametrize(("name", "damage", "expected"), MORE_CASES, ids=[c[0] for c in MORE_CASES])
def test_card_damage_is_reported_with_its_field(folder, name, damage, expected):
    damage(folder)
    problems = validate_dataset(folder)
    assert any(expected in p for p in problems), problems


def test_truncated_shard_is_reported_once(folder):
    _truncated_shard(folder)
    problems = validate_dataset(folder)
    assert sum(f"{SHARD}: not a readable parquet file" in p for p in problems) == 1, problems
