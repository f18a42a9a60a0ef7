"""Witness responses score PIF 1.0 and answer accuracy 1.0 on chats built from the real catalogue."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from scoring_fakes import catalogue_rows, write_parquet_dataset

from generator.authoring.oracle import oracle_responses
from generator.cli import cli
from generator.common.errors import UserError
from generator.scoring import Target, evaluate_rows, score_rows


def test_oracle_scores_perfectly_across_the_catalogue():
    rows = catalogue_rows(11, chats=24, turns=8, add_chance=0.8)
    ev = evaluate_rows(rows, list(oracle_responses(rows, samples=2)))
    failures = [d for d in ev.details() if d["pif"] not in (None, 1.0) or (d["answer"] and not d["answer"]["correct"])]
    assert not failures, json.dumps(failures[:3], indent=1)
    report = ev.report()
    assert report["pif"] == 1.0
    assert report["PIF-2-1"] == report["PIF-2-2"] == 1.0
    assert report["answers"]["accuracy"] == 1.0
    assert report["counts"]["missing_responses"] == 0
    assert len(report["by_instruction"]) > 10  # the walk covered much of the catalogue


def test_oracle_samples_and_order():
    rows = catalogue_rows(3, chats=2, turns=3)
    records = list(oracle_responses(rows, samples=3))
    assert len(records) == 2 * 3 * 3
    assert [(r["id"], r["turn"], r["sample"]) for r in records[:4]] == [
        ("chat000", 1, 0), ("chat000", 1, 1), ("chat000", 1, 2), ("chat000", 2, 0)]
    assert records[0]["response"] == records[1]["response"]
    with pytest.raises(UserError):
        list(oracle_responses(rows, samples=0))


def test_oracle_and_score_commands(tmp_path):
    rows = catalogue_rows(5, chats=4, turns=5)
    dataset = write_parquet_dataset(tmp_path / "ds", {"cfg": rows})
    responses = tmp_path / "oracle.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli, ["oracle", "--dataset", str(dataset), "--out", str(responses), "--samples", "2"])
    assert result.exit_code == 0, result.output
    assert len(responses.read_text().splitlines()) == 4 * 5 * 2
    out = tmp_path / "report.json"
    result = runner.invoke(cli, ["score", "--dataset", str(dataset), "--responses", str(responses), "--out", str(out),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["pif"] == 1.0 and report["PIF-2-2"] == 1.0
    target = Target(dataset=str(dataset), config="cfg", split="test")
    assert report == score_rows(rows, [json.loads(line) for line in responses.read_text().splitlines()],
                                target=target)
