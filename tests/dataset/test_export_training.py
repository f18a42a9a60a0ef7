"""``mmmtif export``: turn-level training rows for TRL and verl, in Hub layout, readable by ``load_dataset``."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from generator.authoring.oracle import oracle_responses
from generator.cli import cli
from generator.rewards import score_response, verl_compute_score
from generator.scoring.spec import make_spec


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "data"
    code, output = _run("gen", "--quiet", "--variant", "mmmt-if,system", "--turns", "4", "--splits", "train=3",
                        "--seed", "2", "--out", str(out))
    assert code == 0, output
    return out


def _rows(source: Path, config: str) -> list[dict]:
    return [row for path in sorted((source / config).glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def exports(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    out = {}
    for name, extra in (("trl", []), ("verl", []), ("trl-text", ["--no-images"])):
        fmt = name.split("-")[0]
        code, output = _run("export", "--quiet", "--format", fmt, "--dataset", str(source), "--out",
                            str(root / name), *extra)
        assert code == 0, output
        out[name] = root / name
    return out


def test_trl_rows_load_and_carry_history_images_and_spec(source: Path, exports: dict[str, Path]) -> None:
    from datasets import load_dataset

    rows = _rows(source, "mmmt-if")
    loaded = load_dataset(str(exports["trl"]), "mmmt-if", split="train")
    assert len(loaded) == sum(len(row["turns"]) for row in rows)
    assert loaded.column_names == ["id", "turn", "prompt", "images", "reward_spec", "num_instructions"]
    row = rows[1]
    witnesses = [r["response"] for r in oracle_responses([row])]
    exported = [r for r in loaded if r["id"] == row["id"]]
    assert [r["turn"] for r in exported] == [t["turn"] for t in row["turns"]]
    last = exported[-1]
    roles = [m["role"] for m in last["prompt"]]
    assert roles == ["user", "assistant"] * (len(row["turns"]) - 1) + ["user"]
    assert last["prompt"][0]["content"] == row["turns"][0]["prompt"]
    assert [m["content"] for m in last["prompt"][1::2]] == witnesses[:-1]
    assert len(last["images"]) == len(row["images"])
    assert last["reward_spec"] == make_spec(row["id"], row["turns"][-1])
    # The reference history is what a perfect model would have said: it earns the full reward on its turn.
    for turn, witness in zip(row["turns"], witnesses, strict=True):
        value = score_response(witness, make_spec(row["id"], turn))
        assert value in (None, 1.0)


def test_system_prompt_and_text_only_rows(exports: dict[str, Path], source: Path) -> None:
    from datasets import load_dataset

    system = load_dataset(str(exports["trl-text"]), "system", split="train")
    assert "images" not in system.column_names
    prompt = system[0]["prompt"]
    assert prompt[0]["role"] == "system" and prompt[0]["content"] == _rows(source, "system")[0]["system_prompt"]
    assert isinstance(prompt[1]["content"], str)


def test_verl_rows_have_the_documented_fields(exports: dict[str, Path], source: Path) -> None:
    from datasets import load_dataset

    loaded = load_dataset(str(exports["verl"]), "mmmt-if", split="train")
    assert loaded.column_names == ["data_source", "prompt", "images", "ability", "reward_model", "extra_info"]
    rows = _rows(source, "mmmt-if")
    row = rows[0]
    first = loaded[0]
    assert first["data_source"] == "mmmt-if"
    assert first["prompt"][0]["content"].startswith("<image>" * len(row["images"]))
    assert first["reward_model"] == {"style": "rule", "ground_truth": make_spec(row["id"], row["turns"][0])}
    info = first["extra_info"]
    assert (info["id"], info["turn"], info["split"], info["index"]) == (row["id"], 1, "train", 0)
    planned = info["interaction_kwargs"]
    assert planned["name"] == "mmmtif"
    assert [t["prompt"] for t in planned["turns"]] == [t["prompt"] for t in row["turns"]]
    second = loaded[1]["extra_info"]["interaction_kwargs"]["turns"]
    assert [t["turn"] for t in second] == [t["turn"] for t in row["turns"][1:]]
    assert loaded["extra_info"][-1]["index"] == len(loaded) - 1
    witness = next(oracle_responses([row]))["response"]
    expected = 1.0 if row["turns"][0]["active_instructions"] else 0.0
    assert verl_compute_score("mmmt-if", witness, first["reward_model"]["ground_truth"]) == expected


def test_export_is_reproducible_and_hub_laid_out(exports: dict[str, Path], source: Path, tmp_path: Path) -> None:
    code, output = _run("export", "--quiet", "--format", "verl", "--dataset", str(source), "--out",
                        str(tmp_path / "again"))
    assert code == 0, output
    for path in sorted(exports["verl"].glob("*/*.parquet")):
        assert (tmp_path / "again" / path.relative_to(exports["verl"])).read_bytes() == path.read_bytes()
    readme = (exports["verl"] / "README.md").read_text()
    assert "configs:" in readme and "dataset_info:" in readme and "path: mmmt-if/train-*" in readme
    manifest = json.loads((exports["verl"] / "manifest.json").read_text())
    assert manifest["default_config"] == "mmmt-if"
    assert str(source) not in json.dumps(manifest)


def test_export_errors_are_one_line(source: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    code, output = _run("export", "--format", "trl", "--dataset", str(tmp_path / "none"), "--out",
                        str(tmp_path / "o"))
    assert code == 2 and "dataset folder not found" in output
    code, output = _run("export", "--format", "trl", "--dataset", str(source), "--config", "nope", "--out",
                        str(tmp_path / "o"))
    assert code == 2 and "no config 'nope'" in output
    code, output = _run("export", "--format", "trl", "--dataset", str(source), "--out", str(exports["trl"]))
    assert code == 2 and "not empty" in output
    code, output = _run("export", "--format", "trl", "--dataset", str(source), "--out", str(source),
                        "--overwrite")
    assert code == 2 and "Traceback" not in output
    assert (source / "manifest.json").is_file()
    assert not (tmp_path / "o").exists()


def test_export_uploads_to_a_hub_and_loads_back(exports: dict[str, Path], tmp_path: Path) -> None:
    """The export is a plain Hub dataset: upload_folder to the local Hub, then load_dataset from the repo."""
    import subprocess
    import sys

    from hubserver import HubServer
    from publish_helpers import TOKEN, hub_env

    script = (
        "import sys, json\n"
        "from huggingface_hub import HfApi\n"
        "import datasets\n"
        "datasets.config.USE_PARQUET_EXPORT = False\n"
        "api = HfApi()\n"
        "api.create_repo('test-org/mmmt-if-verl', repo_type='dataset')\n"
        "api.upload_folder(folder_path=sys.argv[1], repo_id='test-org/mmmt-if-verl', repo_type='dataset')\n"
        "loaded = datasets.load_dataset('test-org/mmmt-if-verl', 'mmmt-if', split='train')\n"
        "print(json.dumps({'rows': len(loaded), 'spec': loaded[0]['reward_model']['ground_truth'],"
        " 'images': len(loaded[0]['images'])}))\n"
    )
    local = json.loads((exports["verl"] / "manifest.json").read_text())["configs"]["mmmt-if"]["splits"]["train"]
    from datasets import load_dataset

    first = load_dataset(str(exports["verl"]), "mmmt-if", split="train")[0]
    with HubServer(tmp_path / "hub", token=TOKEN) as hub:
        done = subprocess.run([sys.executable, "-c", script, str(exports["verl"])], capture_output=True, text=True,
                              env=hub_env(hub, tmp_path / "home"), timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"rows": local["num_examples"], "spec": first["reward_model"]["ground_truth"],
                      "images": len(first["images"])}


def test_exporting_an_evaluation_split_warns(source: Path, tmp_path: Path) -> None:
    code, output = _run("gen", "--quiet", "--variant", "mmmt-if", "--turns", "2", "--splits", "test=2,validation=1",
                        "--seed", "4", "--out", str(tmp_path / "data"))
    assert code == 0, output
    result = CliRunner().invoke(cli, ["export", "--quiet", "--format", "trl", "--dataset", str(tmp_path / "data"),
                                      "--out", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "evaluation split(s) test, validation " in warnings[0]
    result = CliRunner().invoke(cli, ["export", "--quiet", "--format", "trl", "--dataset", str(source),
                                      "--out", str(tmp_path / "train")])
    assert result.exit_code == 0 and "warning" not in result.stderr
