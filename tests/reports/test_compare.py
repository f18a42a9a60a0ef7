"""``mmmtif compare``: the side-by-side table, labels, bad inputs and the plot hook."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.reports.compare import compare_markdown, compare_rows, default_labels, load_report


def make_report(pif: float, *, n: int = 1, turns: int = 3, digest: str = "a" * 64, mode: str = "strict",
                accuracy: float | None = 0.5, model: str | None = None) -> dict:
    """A report with the shape `mmmtif score` writes (validated against the schema when available)."""
    by_turn = [{"turn": t, "responses": 2 * n, "pif": round(pif - 0.1 * (t - 1), 4),
                "perfect_rate": 0.5, "mean_active": float(t), "no_instruction_responses": 0, "conversations": 2,
                "ci95": [round(pif - 0.1 * t, 4), round(pif - 0.1 * (t - 2), 4)]}
               for t in range(1, turns + 1)]
    intervals = {"method": "percentile bootstrap over conversations", "level": 0.95, "resamples": 1000, "seed": 0,
                 "conversations": 2, "pif": [round(pif - 0.05, 4), round(pif + 0.05, 4)],
                 "answer_accuracy": None if accuracy is None else [accuracy - 0.2, accuracy + 0.2],
                 **{f"PIF-{n}-{k}": None for k in range(1, n + 1)}}
    report = {
        "report_format": 2, "scorer_version": "0.1.0", "mode": mode, "partial": False, "intervals": intervals,
        "pif": pif, "pif_instruction_level": pif,
        "perfect_rate": 0.5, "samples_per_turn": n,
        **{f"PIF-{n}-{k}": round(pif / k, 4) for k in range(1, n + 1)},
        "release_convention": {"pif": pif},
        "no_instruction": {"dataset_turns": 0, "responses": 0, "answer_checked": 0, "answer_correct": 0},
        "counts": {"conversations": 2, "dataset_turns": 2 * turns, "responses": 2 * turns * n,
                   "scored_responses": 2 * turns * n, "responded_turns": 2 * turns, "complete_turns": 2 * turns,
                   "incomplete_turns": 0, "missing_turns": 0, "expected_responses": 2 * turns * n,
                   "missing_responses": 0, "think_stripped": 0},
        "by_turn": by_turn,
        "by_active_count": [{"active": t, "responses": 2 * n, "pif": row["pif"], "perfect_rate": 0.5,
                             "conversations": 2, "ci95": None} for t, row in enumerate(by_turn, start=1)],
        "by_instruction": [], "by_group": [], "by_age": [],
        "by_grounding": {kind: {"responses": 0, "pif": None, "checks": 0, "followed": 0, "rate": None, "ci95": None}
                         for kind in ("image_grounded", "text_only")},
        "answers": {"checked": 4, "correct": 2, "accuracy": accuracy, "by_type": []},
        "distractors": {"responses": 0, "checks": 0, "adopted": 0, "rate": None, "by_instruction": []},
        "inputs": {"dataset": "mmmt-if", "revision": None, "config": "mmmt-if", "split": "test", "model": model,
                   "history": "model", "dataset_sha256": digest, "responses_sha256": "c" * 64,
                   "fingerprinted_responses": 2 * turns * n},
    }
    return report


def test_fixture_report_matches_the_schema():
    validate = pytest.importorskip("generator.scoring").validate_report
    assert validate(make_report(0.8, n=4))


def _write(tmp_path, name, report):
    path = tmp_path / name
    path.write_text(json.dumps(report))
    return path


def test_rows_cover_headline_numbers_side_by_side():
    rows = dict(compare_rows([("a", make_report(0.8, n=4)), ("b", make_report(0.6, n=1, accuracy=None))]))
    assert rows["PIF (turns with instructions)"] == ["0.800 [0.750, 0.850]", "0.600 [0.550, 0.650]"]
    assert rows["PIF-4-4"] == ["0.200", "–"]  # keys present in any report, blank where absent
    assert rows["PIF-1-1"] == ["–", "0.600"]
    assert rows["PIF at the first turn"] == ["0.800 (turn 1)", "0.600 (turn 1)"]
    assert rows["PIF at the last turn"] == ["0.600 (turn 3)", "0.400 (turn 3)"]
    assert rows["answer accuracy"] == ["0.500 [0.300, 0.700]", "–"]
    assert rows["responses"] == ["24", "6"]
    keys = [k for k, _ in compare_rows([("a", make_report(0.8, n=4))]) if k.startswith("PIF-")]
    assert keys == ["PIF-4-1", "PIF-4-2", "PIF-4-3", "PIF-4-4"]


def test_markdown_table_shape_and_dataset_warning():
    text = compare_markdown([("m|1", make_report(0.8)), ("m2", make_report(0.7))])
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table[0] == "| metric | m\\|1 | m2 |"
    assert all(line.count(" | ") == 2 for line in table[2:])
    assert "not directly comparable" not in text
    other = compare_markdown([("a", make_report(0.8)), ("b", make_report(0.7, digest="b" * 64, mode="loose"))])
    assert "not directly comparable" in other and "scoring modes" in other


@pytest.mark.parametrize(("paths", "labels"), [
    (["runs/a.json", "runs/b.json"], ["a", "b"]),
    (["gpt/report.json", "qwen/report.json"], ["gpt/report", "qwen/report"]),
    (["x/report.json", "x/report.json"], ["x/report (1)", "x/report (2)"]),
])
def test_default_labels(paths, labels):
    assert default_labels(paths) == labels


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"), ("{", "malformed JSON"), ('{"pif": 1}', "not a score report"), ("[]", "not a score report"),
])
def test_load_report_rejects(tmp_path, content, message):
    from generator.common.errors import UserError

    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message):
        load_report(path)


def test_cli_prints_writes_and_plots(tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("generator.reports.plots")

    def plot_writer(reports, path):
        calls.append(([label for label, _ in reports], str(path)))
        return lambda tmp: Path(tmp).write_bytes(b"png")

    fake.plot_writer = plot_writer
    monkeypatch.setitem(sys.modules, "generator.reports.plots", fake)
    a = _write(tmp_path, "a.json", make_report(0.9, n=4))
    b = _write(tmp_path, "b.json", make_report(0.7, n=4))
    out, plot = tmp_path / "cmp.md", tmp_path / "cmp.png"
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--labels", "big,small", "--out", str(out),
                                      "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert result.output == out.read_text()
    assert "| metric | big | small |" in result.output and "| PIF-4-4 | 0.225 | 0.175 |" in result.output
    assert "| config | mmmt-if | mmmt-if |" in result.output
    assert calls == [(["big", "small"], str(plot))]
    assert plot.read_bytes() == b"png"


@pytest.mark.parametrize("labels", ["one", "a,b,c", "a,"])
def test_cli_rejects_wrong_label_count(tmp_path, labels):
    a = _write(tmp_path, "a.json", make_report(0.9))
    b = _write(tmp_path, "b.json", make_report(0.7))
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--labels", labels])
    assert result.exit_code == 2 and "--labels" in result.output


def test_cli_with_the_real_plotter(tmp_path):
    pytest.importorskip("generator.reports.plots", reason="plotting module not available")
    a = _write(tmp_path, "a.json", make_report(0.9, n=2))
    b = _write(tmp_path, "b.json", make_report(0.7, n=2))
    plot = tmp_path / "cmp.png"
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_columns_say_what_they_are_and_overlapping_intervals_are_noted():
    text = compare_markdown([("a", make_report(0.8, model="m-a")), ("b", make_report(0.75, model="m-b")),
                             ("c", make_report(0.5))])
    assert "| model | m-a | m-b | – |" in text and "| dataset | mmmt-if | mmmt-if | mmmt-if |" in text
    assert "PIF: the 95% intervals of a and b overlap" in text
    assert "a and c" not in text.split("PIF:")[1].splitlines()[0]


def test_cli_refuses_reports_of_different_datasets_unless_across(tmp_path):
    a = _write(tmp_path, "a.json", make_report(0.9))
    b = _write(tmp_path, "b.json", make_report(0.7, digest="b" * 64))
    refused = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert refused.exit_code == 2 and "different datasets or configs" in refused.output
    assert "--across" in refused.output and "Traceback" not in refused.output
    allowed = CliRunner().invoke(cli, ["compare", str(a), str(b), "--across"])
    assert allowed.exit_code == 0 and "not directly comparable" in allowed.output
