"""The dataset writer: a folder that load_dataset reads offline, byte-identical for identical rows, atomic."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import yaml
from dataset_rows import make_row, placeholder_scoring_script

from generator.common.errors import UserError, ValidationError
from generator.dataset.layout import parse_shard_name, shard_name
from generator.dataset.writer import write_dataset

SCRIPT = "print('scoring')\n"


@pytest.fixture(autouse=True)
def stub_scorer(monkeypatch):
    """The writer's own behaviour is under test here, not the scorer bundle."""
    import generator.dataset.bundle

    monkeypatch.setattr(generator.dataset.bundle, "build_scoring_script", lambda: SCRIPT)


def _configs(n_test=7, n_val=3):
    return {
        "mmmt-if": {"test": (make_row(i) for i in range(n_test)),
                    "validation": (make_row(100 + i) for i in range(n_val))},
        "appended": {"test": (make_row(i, "appended") for i in range(n_test)),
                     "validation": (make_row(100 + i, "appended") for i in range(n_val))},
    }


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _front_matter(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    with placeholder_scoring_script(SCRIPT):
        out = tmp_path_factory.mktemp("ds") / "mmmt-if"
        result = write_dataset(out, _configs(), max_rows_per_shard=3, quiet=True, generation_args={"seed": 7})
    return out, result


def test_layout_and_counts(written):
    out, result = written
    assert result.counts == {"mmmt-if": {"test": 7, "validation": 3}, "appended": {"test": 7, "validation": 3}}
    shards = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert shards == [f"{c}/{s}" for c in ("appended", "mmmt-if") for s in (
        shard_name("test", 0, 3), shard_name("test", 1, 3), shard_name("test", 2, 3), shard_name("validation", 0, 1))]
    assert (out / "scoring.py").read_text() == SCRIPT
    assert (out / "assets" / "instructions_per_turn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_shard_rows_split_by_max_rows(written):
    import pyarrow.parquet as pq

    out, _ = written
    rows = [pq.ParquetFile(out / "mmmt-if" / shard_name("test", i, 3)).metadata.num_rows for i in range(3)]
    assert rows == [3, 3, 1]


def test_readme_yaml_declares_configs_and_dataset_info(written):
    out, _ = written
    meta = _front_matter(out)
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert configs["mmmt-if"]["default"] is True
    assert "default" not in configs["appended"]
    assert configs["appended"]["data_files"] == [{"split": "test", "path": "appended/test-*"},
                                                 {"split": "validation", "path": "appended/validation-*"}]
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert [s["num_examples"] for s in infos["mmmt-if"]["splits"]] == [7, 3]
    assert {"name": "images", "list": "image"} in infos["appended"]["features"]
    assert meta["license"] and meta["task_categories"] and meta["language"] == ["en"]
    assert meta["size_categories"] == ["n<1K"]


def test_manifest_matches_the_files(written):
    import json

    from generator.dataset.manifest import check_manifest

    out, _ = written
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["arguments"] == {"seed": 7}
    assert manifest["configs"]["mmmt-if"]["splits"]["test"]["num_examples"] == 7
    assert manifest["files"]["scoring.py"]["sha256"] == hashlib.sha256(SCRIPT.encode()).hexdigest()
    assert set(manifest["files"]) == set(_hashes(out)) - {"manifest.json"}
    assert check_manifest(out, row_counts={"mmmt-if": {"test": 7, "validation": 3},
                                           "appended": {"test": 7, "validation": 3}}) == []


@pytest.mark.parametrize("config", [None, "appended"])
def test_load_dataset_reads_every_split_offline(written, tmp_path, config):
    import datasets

    out, _ = written
    args = (str(out),) if config is None else (str(out), config)
    loaded = datasets.load_dataset(*args, cache_dir=str(tmp_path / "cache"))
    expected_config = config or "mmmt-if"
    assert set(loaded) == {"test", "validation"}
    for split, start, count in (("test", 0, 7), ("validation", 100, 3)):
        ds = loaded[split]
        assert ds.num_rows == count
        for offset, got in enumerate(ds):
            want = make_row(start + offset, expected_config)
            assert got["id"] == want["id"] and got["config"] == expected_config
            assert got["turns"] == want["turns"]
            assert got["image_meta"] == want["image_meta"]
            assert len(got["images"]) == 2
            for image, raw in zip(got["images"], want["images"], strict=True):
                from PIL import Image

                assert image.size == (16, 16)
                assert image.convert("RGB").tobytes() == Image.open(io.BytesIO(raw)).convert("RGB").tobytes()


def test_images_are_embedded_bytes_structs(written):
    import pyarrow.parquet as pq

    out, _ = written
    table = pq.read_table(out / "mmmt-if" / shard_name("validation", 0, 1), columns=["images"])
    first = table.column("images").to_pylist()[0][0]
    assert first == {"bytes": make_row(100)["images"][0], "path": None}


def test_identical_rows_give_byte_identical_folders(tmp_path):
    first = write_dataset(tmp_path / "a" / "mmmt-if", _configs(), max_rows_per_shard=4, quiet=True).path
    second = write_dataset(tmp_path / "b" / "mmmt-if", _configs(), max_rows_per_shard=4, quiet=True).path
    hashes = _hashes(first)
    assert hashes == _hashes(second)
    assert len(hashes) == 10  # 3+1 shards per config, README, manifest, scoring.py, plot


def test_different_rows_give_different_hashes(tmp_path):
    first = write_dataset(tmp_path / "a", {"mmmt-if": {"test": [make_row(1)]}}, quiet=True).path
    second = write_dataset(tmp_path / "b", {"mmmt-if": {"test": [make_row(2)]}}, quiet=True).path
    assert _hashes(first)["mmmt-if/test-00000-of-00001.parquet"] != _hashes(second)[
        "mmmt-if/test-00000-of-00001.parquet"]


def test_non_empty_folder_refused_without_overwrite(tmp_path):
    out = tmp_path / "mmmt-if"
    write_dataset(out, {"mmmt-if": {"test": [make_row(1)]}}, quiet=True)
    with pytest.raises(UserError, match="not empty"):
        write_dataset(out, {"mmmt-if": {"test": [make_row(2)]}}, quiet=True)
    write_dataset(out, {"mmmt-if": {"test": [make_row(2), make_row(3)]}}, quiet=True, overwrite=True)
    from generator.dataset.manifest import load_manifest

    assert load_manifest(out)["configs"]["mmmt-if"]["splits"]["test"]["num_examples"] == 2


def test_overwrite_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="does not look like a dataset"):
        write_dataset(out, {"mmmt-if": {"test": [make_row(1)]}}, quiet=True, overwrite=True)
    assert (out / "notes.txt").read_text() == "keep me"


def test_current_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="current folder"):
        write_dataset(".", {"mmmt-if": {"test": [make_row(1)]}}, quiet=True, overwrite=True)


def test_relative_path_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = write_dataset("mmmt-if", {"mmmt-if": {"test": [make_row(1)]}}, quiet=True)
    assert (tmp_path / "mmmt-if" / "README.md").is_file() and str(result.path) == "mmmt-if"


def test_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "mmmt-if"
    out.mkdir()
    write_dataset(out, {"mmmt-if": {"test": [make_row(1)]}}, quiet=True)
    assert (out / "README.md").is_file()


def test_failure_mid_stream_leaves_previous_folder_and_no_temporary(tmp_path):
    out = tmp_path / "mmmt-if"
    write_dataset(out, {"mmmt-if": {"test": [make_row(1)]}}, quiet=True)
    before = _hashes(out)

    def rows():
        yield make_row(2)
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        write_dataset(out, {"mmmt-if": {"test": rows()}}, quiet=True, overwrite=True)
    assert _hashes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mmmt-if"]


def test_invalid_row_names_config_split_row_and_field(tmp_path):
    bad = make_row(3)
    bad["turns"][1]["turn"] = 5
    with pytest.raises(ValidationError, match=r"mmmt-if/test row 1: field turns\[1\]\.turn"):
        write_dataset(tmp_path / "x", {"mmmt-if": {"test": [make_row(1), bad]}}, quiet=True)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("configs", "message"), [
    ({}, "no configs"),
    ({"bad name": {"test": []}}, "invalid config name"),
    ({"assets": {"test": []}}, "invalid config name"),
    ({"mmmt-if": {"test-1": []}}, "invalid split name"),
    ({"mmmt-if": {}}, "no splits"),
])
def test_bad_names_are_user_errors(tmp_path, configs, message):
    with pytest.raises(UserError, match=message):
        write_dataset(tmp_path / "x", configs, quiet=True)


def test_default_config_falls_back_to_the_first(tmp_path):
    out = write_dataset(tmp_path / "x", {"hard": {"test": [make_row(1, "hard")]}}, quiet=True).path
    meta = _front_matter(out)
    assert meta["configs"][0] == {"config_name": "hard", "data_files": [{"split": "test", "path": "hard/test-*"}],
                                  "default": True}


def test_empty_split_gets_one_empty_shard(tmp_path):
    from generator.dataset.card import check_card

    out = write_dataset(tmp_path / "x", {"mmmt-if": {"test": [make_row(1)], "validation": []}}, quiet=True).path
    assert (out / "mmmt-if" / shard_name("validation", 0, 1)).is_file()
    assert check_card(out) == []


def test_missing_scorer_module_is_skipped(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "generator.dataset.bundle", None)
    result = write_dataset(tmp_path / "x", {"mmmt-if": {"test": [make_row(1)]}}, quiet=True)
    assert not result.scoring_script and not (result.path / "scoring.py").exists()


def test_images_given_as_paths_and_pil_are_embedded(tmp_path):
    import pyarrow.parquet as pq
    from PIL import Image

    path = tmp_path / "pic.png"
    Image.new("RGB", (5, 5), (1, 2, 3)).save(path)
    row = make_row(1)
    row["images"] = [str(path), Image.new("RGB", (6, 6), (9, 9, 9))]
    out = write_dataset(tmp_path / "x", {"mmmt-if": {"test": [row]}}, quiet=True).path
    images = pq.read_table(out / "mmmt-if" / shard_name("test", 0, 1)).column("images").to_pylist()[0]
    assert images[0] == {"bytes": path.read_bytes(), "path": "pic.png"}
    assert Image.open(io.BytesIO(images[1]["bytes"])).size == (6, 6)


def test_shard_name_round_trip():
    assert parse_shard_name(shard_name("test", 3, 12)) == ("test", 3, 12)
    assert parse_shard_name("test.parquet") is None


def test_memory_does_not_grow_with_the_number_of_rows(tmp_path):
    """Rows are buffered one row group at a time: peak Python memory for 10x the rows stays about the same."""
    import tracemalloc

    def rows(n):
        for i in range(n):
            row = make_row(i, n_turns=2, n_images=1)
            row["images"] = [hashlib.sha256(str(i).encode()).digest() * 1000]  # 32 KB, unique per row
            yield row

    peaks = []
    for n in (30, 300):
        tracemalloc.start()
        write_dataset(tmp_path / f"m{n}", {"mmmt-if": {"test": rows(n)}}, quiet=True, row_group_size=10,
                      max_rows_per_shard=1000)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5 + 2_000_000, peaks
    assert peaks[1] < 300 * 32_000, peaks


def _project_folder(root: Path) -> Path:
    project = root / "proj"
    (project / "src").mkdir(parents=True)
    (project / "README.md").write_text("# p\n")
    (project / "src" / "main.py").write_text("c\n")
    return project


@pytest.mark.parametrize("manifest", [
    None,
    "not json {",
    '{"format": "something-else", "generator": {"name": "mmmt-if"}}',
    '{"files": {}}',
    '["mmmt-if-dataset"]',
])
def test_overwrite_refuses_a_project_folder_even_with_readme_or_foreign_manifest(tmp_path, manifest):
    project = _project_folder(tmp_path)
    if manifest is not None:
        (project / "manifest.json").write_text(manifest)
    with pytest.raises(UserError, match="does not look like a dataset folder written by mmmt-if; refusing"):
        write_dataset(project, {"mmmt-if": {"test": [make_row(1)]}}, quiet=True, overwrite=True)
    assert (project / "src" / "main.py").read_text() == "c\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_gen_cli_refuses_to_replace_a_project_folder(tmp_path):
    from click.testing import CliRunner

    from generator.cli import cli

    project = _project_folder(tmp_path)
    result = CliRunner().invoke(cli, ["gen", "--conversations", "1", "--out", str(project), "--overwrite", "--quiet"])
    assert result.exit_code == 2, result.output
    assert "refusing to replace it" in result.output and "Traceback" not in result.output
    assert (project / "src" / "main.py").is_file()


def test_root_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="root"):
        write_dataset("/", {"mmmt-if": {"test": [make_row(1)]}}, quiet=True, overwrite=True)


@pytest.mark.parametrize("make_out", [
    lambda tmp: tmp / "a-file" / "x",
    lambda tmp: tmp / "a-file" / "deeper" / "x",
    lambda tmp: Path("/etc/passwd/x"),
    lambda tmp: Path("/proc/x"),
])
def test_bad_output_parent_is_a_one_line_user_error(tmp_path, make_out):
    (tmp_path / "a-file").write_text("x")
    out = make_out(tmp_path)
    with pytest.raises(UserError, match="cannot create the output folder") as info:
        write_dataset(out, {"mmmt-if": {"test": [make_row(1)]}}, quiet=True)
    assert str(out) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["scoring.py", "README.md", "manifest.json", "assets", "Assets", "data", "scoring",
                                  "readme", "a/b", "..", ".", ".hidden", "-dash", "v1.0", "a b", ""])
def test_config_names_must_be_plain_and_not_reserved(tmp_path, name):
    with pytest.raises(UserError, match="invalid config name") as info:
        write_dataset(tmp_path / "x", {name: {"test": [make_row(1)]}}, quiet=True)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_dead_runs_are_removed_and_only_those(tmp_path):
    import os

    dead, alive = _dead_pid(), os.getppid()
    keep = [f".mmmt-if.tmp-{alive}", f".other.tmp-{dead}", f".mmmt-if.tmp-{dead}x",
            "mmmt-if.tmp-1"]
    for name in [f".mmmt-if.tmp-{dead}", *keep]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "part").write_text("x")
    write_dataset(tmp_path / "mmmt-if", {"mmmt-if": {"test": [make_row(1)]}}, quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["mmmt-if", *keep])
