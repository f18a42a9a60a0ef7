"""End to end: `mmmtif gen` -> `load_dataset(folder, config)` -> oracle witnesses -> scoring gives PIF 1.0.

Every preset is generated on a few conversations in one folder (one config each). The paired configs must hold
the same conversations as `mmmt-if`, with the instructions only moved.
"""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.generation.variants import variant_names


@pytest.fixture(scope="module")
def all_presets(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "mmmt-if"
    result = CliRunner().invoke(cli, ["gen", "--variant", ",".join(variant_names()), "--seed", "11",
                                      "--splits", "test=2,validation=1", "--out", str(out), "--quiet"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _rows(folder, config, split="test"):
    from generator.scoring import load_rows

    return load_rows(folder, config, split)


def _score(rows):
    from generator.authoring.oracle import oracle_responses
    from generator.scoring import score_rows

    return score_rows(rows, list(oracle_responses(rows)))


@pytest.mark.parametrize("config", variant_names())
def test_every_preset_scores_one_with_oracle_responses(all_presets, config) -> None:
    for split in ("test", "validation"):
        rows = _rows(all_presets, config, split)
        assert len(rows) == (2 if split == "test" else 1)
        report = _score(rows)
        assert report["pif"] == 1.0, (config, split, report["pif"])
        if config == "distractors":
            assert report["distractors"]["adopted"] == 0


def test_load_dataset_reads_every_config_with_images(all_presets, tmp_path) -> None:
    import datasets

    for config in ("mmmt-if", "hard"):
        ds = datasets.load_dataset(str(all_presets), config, split="test", cache_dir=str(tmp_path / "cache"))
        row = ds[0]
        assert row["config"] == config
        assert 2 <= len(row["images"]) <= 5
        assert row["images"][0].size[0] > 0  # decodes as an image
        assert len(row["turns"]) == (40 if config == "hard" else 20)


def test_paired_configs_share_conversations(all_presets) -> None:
    base = _rows(all_presets, "mmmt-if")
    for config in ("appended", "end-only", "system", "distractors"):
        other = _rows(all_presets, config)
        assert [r["id"] for r in other] == [r["id"] for r in base]
        for a, b in zip(base, other, strict=True):
            assert [t["question"] for t in a["turns"]] == [t["question"] for t in b["turns"]]
            if config != "system":
                assert [t["active_instructions"] for t in a["turns"]] == [t["active_instructions"] for t in b["turns"]]
            else:
                final = {(i["id"], i["kwargs"]) for i in a["turns"][-1]["active_instructions"]}
                assert all({(i["id"], i["kwargs"]) for i in t["active_instructions"]} == final for t in b["turns"])


def test_official_layout_and_paired_placements(all_presets) -> None:
    from generator.authoring import official_catalogue

    official = {text for text, _ in official_catalogue()}
    base, appended, end_only = (_rows(all_presets, c) for c in ("mmmt-if", "appended", "end-only"))
    for row_a, row_b, row_c in zip(base, appended, end_only, strict=True):
        for a, b, c in zip(row_a["turns"], row_b["turns"], row_c["turns"], strict=True):
            assert len(a["new_instructions"]) <= 1
            if a["new_instructions"]:
                wording = a["new_instructions"][0]["wording"]
                assert wording in official
                assert a["prompt"] == f"Instruction: {wording} {a['question']}"
                assert c["prompt"] == f"{a['question']} Instruction: {wording}"
            else:
                assert a["prompt"] == a["question"] == c["prompt"]
            assert b["prompt"].startswith(a["prompt"])
            for item in a["active_instructions"]:
                assert item["wording"] in b["prompt"][len(a["prompt"]):]
                assert json.loads(item["kwargs"]) is not None


def test_updates_and_distractors_show_their_features(all_presets) -> None:
    updates = _rows(all_presets, "updates") + _rows(all_presets, "updates", "validation")
    actions = {e["action"] for r in updates for t in r["turns"] for e in t["new_instructions"]}
    assert "add" in actions and actions & {"replace", "revoke"}
    distractors = _rows(all_presets, "distractors")
    turns = [t for r in distractors for t in r["turns"] if t["distractors"]]
    assert turns
    for turn in turns:
        assert turn["distractors"][0]["wording"] in turn["prompt"]
    system = _rows(all_presets, "system")
    assert all(not t["prompt"].startswith("Instruction:") for r in system for t in r["turns"])


def test_default_command_writes_mmmt_if_and_appended(tmp_path) -> None:
    import yaml

    out = tmp_path / "mmmt-if"
    result = CliRunner().invoke(cli, ["gen", "--turns", "3", "--conversations", "2", "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "wrote 4 conversations" in result.output
    assert "generating" in result.stderr and "images=" in result.stderr  # the progress bar
    readme = (out / "README.md").read_text()
    front = yaml.safe_load(readme.split("---")[1])
    assert [c["config_name"] for c in front["configs"]] == ["mmmt-if", "appended"]
    assert (out / "scoring.py").is_file() and (out / "manifest.json").is_file()
    again = CliRunner().invoke(cli, ["gen", "--turns", "3", "--conversations", "2", "--out", str(out), "--quiet"])
    assert again.exit_code == 2 and "--overwrite" in again.stderr


def test_generation_leaves_the_garbage_collector_as_it_was(tmp_path) -> None:
    import gc

    before = gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()
    result = CliRunner().invoke(cli, ["gen", "--turns", "3", "--conversations", "1", "--out", str(tmp_path / "one"),
                                      "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before



def test_a_run_refused_at_its_start_leaves_the_garbage_collector_and_the_lock_as_they_were(tmp_path) -> None:
    """Another run holds the output: the refused run must neither keep the collector's generation settings (a
    caller may keep the exception, and with it the frame) nor its lock."""
    import fcntl
    import gc
    import os

    from generator.common.errors import UserError
    from generator.generation.pipeline import GenerationRun, generate
    from generator.generation.variants import get_variant

    out = tmp_path / "one"
    configs = [get_variant("mmmt-if").replace(turns=2)]
    run = GenerationRun(seed=5, splits={"test": 1})
    before = gc.get_threshold(), gc.get_freeze_count()
    holder = os.open(tmp_path / ".one.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UserError) as refused:
            generate(out, configs, run, quiet=True)
        assert (gc.get_threshold(), gc.get_freeze_count()) == before, refused.value
    finally:
        os.close(holder)
    generate(out, configs, run, quiet=True)  # the refused run took no lock
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_card_and_manifest_carry_per_preset_statistics(all_presets) -> None:
    manifest = json.loads((all_presets / "manifest.json").read_text())
    extra = {name: info.get("extra_stats", {}) for name, info in manifest["configs"].items()}
    assert set(extra) == set(variant_names())
    assert extra["hard"]["conflicts_avoided"] > 0  # the extended catalogue has real conflicts to avoid
    assert extra["mmmt-if"]["conflicts_avoided"] == 0  # official categories never conflict across types
    assert manifest["arguments"]["seed"] == 11
    assert [v["name"] for v in manifest["arguments"]["variants"]] == variant_names()
    readme = (all_presets / "README.md").read_text()
    assert "conflicts avoided" in readme and "## Configs and their knobs" in readme


def test_config_file_knobs_end_to_end(tmp_path) -> None:
    knobs = tmp_path / "knobs.yaml"
    knobs.write_text(
        "variants:\n"
        "  - {name: spread, catalogue: all, schedule: uniform, max_active: 8, min_gap: 2, reminder_every: 3,\n"
        "     turns: 16, one_per_type: false}\n"
        "  - {name: fixed-end, base: end-only, instruction_turns: [2, 2, 5], schedule: fixed, turns: 6,\n"
        "     instructions_per_turn: 2, wording_style: paraphrased, images_per_chat: 1-2}\n")
    out = tmp_path / "ds"
    result = CliRunner().invoke(cli, ["gen", "--config", str(knobs), "--conversations", "3", "--seed", "5",
                                      "--out", str(out), "--quiet", "--num-proc", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    spread, fixed = _rows(out, "spread"), _rows(out, "fixed-end")
    for rows in (spread, fixed):
        assert _score(rows)["pif"] == 1.0
    for row in spread:
        turns = [t["turn"] for t in row["turns"] if t["new_instructions"]]
        assert all(b - a >= 2 for a, b in itertools.pairwise(turns))
        reminded = [t["turn"] for t in row["turns"] if "Remember to follow" in t["prompt"]]
        assert set(reminded) <= {1, 4, 7, 10, 13, 16}
    for row in fixed:
        assert [t["turn"] for t in row["turns"] for _ in t["new_instructions"]] == [2, 2, 5]
        assert all(not t["prompt"].startswith("Instruction:") for t in row["turns"])


def test_difficulty_is_recorded_and_still_satisfiable(tmp_path) -> None:
    out = tmp_path / "ds"
    result = CliRunner().invoke(cli, ["gen", "--difficulty", "3", "--variant", "mmmt-if", "--conversations", "2",
                                      "--turns", "5", "--out", str(out), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["arguments"]["difficulty"] == 3
    assert _score(_rows(out, "mmmt-if"))["pif"] == 1.0


def test_a_small_generation_imports_no_heavy_library(tmp_path):
    """What `mmmtif-gen --conversations 1` loads is its fixed cost: no pandas (pyarrow's first conversion would
    import it), no huggingface_hub client (the card), no jsonschema (rows that pass the compiled check), no
    datasets or matplotlib, no importlib.metadata (the version is a literal), no tqdm (a quiet run draws no bar).
    The folder is the one the full stack writes (same files as in-process)."""
    import hashlib
    import subprocess
    import sys

    out = tmp_path / "one"
    code = ("import sys; from generator.cli import gen_main; sys.argv = ['mmmtif-gen', '--conversations', '1', "
            "'--seed', '7', '--out', sys.argv[1], '--quiet']\n"
            "try:\n    gen_main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "heavy = ('pandas', 'huggingface_hub', 'jsonschema', 'datasets', 'matplotlib', 'requests', 'httpx',\n"
            "         'importlib.metadata', 'tqdm')\n"
            "loaded = sorted(m for m in heavy if m in sys.modules)\n"
            "assert not loaded, loaded")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    again = tmp_path / "again"
    result = CliRunner().invoke(cli, ["gen", "--conversations", "1", "--seed", "7", "--out", str(again), "--quiet"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output

    def digests(folder):
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    assert digests(out) == digests(again) and any(name.endswith(".parquet") for name in digests(out))


def test_pyarrow_settled_without_pandas_still_serves_pandas_later():
    import subprocess
    import sys

    code = ("import sys\nfrom generator.dataset.writer import settle_pyarrow_without_pandas\n"
            "assert settle_pyarrow_without_pandas()\nimport pyarrow as pa\n"
            "assert pa.array(['a']).to_pylist() == ['a'] and 'pandas' not in sys.modules\n"
            "assert pa.table({'x': [1, 2]}).to_pandas()['x'].sum() == 3  # pyarrow imports pandas when asked\n"
            "assert not settle_pyarrow_without_pandas()  # pandas loaded: nothing to do")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
