"""``mmmtif score`` end to end on a small parquet dataset folder: report, details, plot, summary, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from scoring_fakes import catalogue_rows, write_parquet_dataset

from generator.authoring.oracle import oracle_responses
from generator.cli import cli
from generator.scoring import Target, load_rows, report_json, score_rows, validate_report


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoring-cli")
    rows = catalogue_rows(21, chats=3, turns=4)
    other = catalogue_rows(22, chats=2, turns=2)
    write_parquet_dataset(folder / "ds", {"cfg": rows, "other": other})
    responses = list(oracle_responses(rows))
    responses[0] = {**responses[0], "response": "<think>thinking</think>" + responses[0]["response"]}
    responses[1] = {**responses[1], "response": "x"}
    path = folder / "responses.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in responses[:-1]), encoding="utf-8")
    return folder, rows, responses[:-1], path


def invoke(*args):
    return CliRunner().invoke(cli, ["score", *map(str, args)])


def test_score_writes_report_details_plot_and_summary(dataset, tmp_path):
    folder, rows, responses, path = dataset
    out, details, plot = tmp_path / "report.json", tmp_path / "details.jsonl", tmp_path / "pif.png"
    result = invoke("--dataset", folder / "ds", "--config", "cfg", "--responses", path, "--out", out,
                    "--details", details, "--plot", plot, "--allow-partial")
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    validate_report(report)
    target = Target(dataset=str(folder / "ds"), config="cfg", split="test")
    assert out.read_text() == report_json(score_rows(rows, responses, target=target))
    assert report["partial"] is True
    assert report["counts"]["missing_responses"] == 1 and report["counts"]["think_stripped"] == 1
    assert report["pif"] < 1.0
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert len(lines) == len(responses)
    assert lines[0]["think_stripped"] and lines[0]["response"].startswith("<think>")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "PIF:" in result.output and "PIF-1-1:" in result.output and "partial: 1 of" in result.output
    assert "PIF-1-1: " in result.output and "(partial)" in result.output


def test_quiet_prints_nothing(dataset, tmp_path):
    folder, _, _, path = dataset
    result = invoke("--dataset", folder / "ds", "--config", "cfg", "--responses", path, "--out",
                    tmp_path / "r.json", "--quiet", "--mode", "loose", "--allow-partial")
    assert result.exit_code == 0 and result.output == ""
    assert json.loads((tmp_path / "r.json").read_text())["mode"] == "loose"


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "cfg", "--mode", "lenient"], "lenient"),
    ([], "available configs: cfg, other"),
    (["--config", "nope"], "nope"),
    (["--config", "cfg", "--split", "train"], "no split 'train'"),
])
def test_argument_errors_are_one_line(dataset, tmp_path, args, message):
    folder, _, _, path = dataset
    result = invoke("--dataset", folder / "ds", "--responses", path, "--out", tmp_path / "r.json", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.json").exists()


def test_bad_responses_exit_2_naming_the_line(dataset, tmp_path):
    folder, _, responses, _ = dataset
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(responses[0]) + "\n" + json.dumps(responses[0]) + "\n", encoding="utf-8")
    result = invoke("--dataset", folder / "ds", "--config", "cfg", "--responses", bad, "--out", tmp_path / "r.json")
    assert result.exit_code == 2
    assert f"{bad}:line 2" in result.output and "duplicate" in result.output


@pytest.mark.parametrize(("extra", "message"), [
    (["--details", "absent/d.jsonl"], "output folder does not exist"),
    (["--plot", "p.gif"], "unsupported plot format"),
])
def test_bad_output_paths_fail_before_scoring(dataset, tmp_path, extra, message):
    folder, _, _, path = dataset
    extra = [str(tmp_path / x) if x.endswith(("jsonl", "gif")) else x for x in extra]
    result = invoke("--dataset", folder / "ds", "--config", "cfg", "--responses", path, "--out",
                    tmp_path / "r.json", *extra)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(("role", "message"), [
    ("--out", "--out and --responses name the same file"),
    ("--details", "--details and --responses name the same file"),
    ("--plot", "--plot and --responses name the same file"),
])
def test_outputs_never_overwrite_the_responses(dataset, tmp_path, role, message):
    folder, _, _, path = dataset
    same = tmp_path / "answers.png"  # a name every output role accepts
    same.write_bytes(Path(path).read_bytes())
    before = same.read_bytes()
    args = ["--dataset", folder / "ds", "--config", "cfg", "--responses", same]
    args += ["--out", same] if role == "--out" else ["--out", tmp_path / "r.json", role, same]
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert same.read_bytes() == before


def test_missing_dataset_folder(dataset, tmp_path):
    _, _, _, path = dataset
    result = invoke("--dataset", tmp_path / "absent", "--responses", path, "--out", tmp_path / "o.json")
    assert result.exit_code == 2 and "dataset folder not found" in result.output


def test_load_rows_reads_only_the_scoring_columns(dataset):
    folder = dataset[0]
    loaded = load_rows(folder / "ds", "other")
    assert [set(row) for row in loaded] == [{"id", "config", "system_prompt", "images", "turns"}] * 2
    assert loaded[0]["turns"][0]["active_instructions"] == catalogue_rows(22, chats=2, turns=2)[0]["turns"][0][
        "active_instructions"]
