"""Dataset statistics: exact values on hand-built rows; the streaming and the from-disk paths agree."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from dataset_rows import ENDING, LETTER, make_row, placeholder_scoring_script

from generator.cli import cli
from generator.dataset.stats import (
    StatsAccumulator,
    bucket_histogram,
    compute_stats,
    format_stats,
    stats_from_dir,
)


def test_values_on_known_rows():
    stats = compute_stats({"test": [make_row(0), make_row(1)], "validation": [make_row(2, n_turns=5, n_images=3)]})
    assert stats["conversations"] == 3
    assert stats["splits"] == {"test": 2, "validation": 1}
    assert stats["turns"] == 11 and stats["images"] == 7
    # active per turn: 3-turn rows [1, 1, 2]; 5-turn row [1, 1, 2, 2, 2]
    assert stats["active_per_turn"]["histogram"] == {"1": 6, "2": 5}
    assert stats["active_per_turn"]["max"] == 2
    assert stats["active_per_turn"]["mean"] == round(16 / 11, 4)
    assert stats["mean_active_by_turn"] == {"1": 1.0, "2": 1.0, "3": 2.0, "4": 2.0, "5": 2.0}
    # ages: each 3-turn row 0, 1, 2, 0; the 5-turn row 0, 1, 2, 0, 3, 1, 4, 2
    assert stats["instruction_age"]["histogram"] == {"0": 6, "1": 4, "2": 4, "3": 1, "4": 1}
    assert stats["instructions_per_conversation"]["histogram"] == {"2": 3}
    assert stats["first_instruction_turn"]["histogram"] == {"1": 3}
    assert stats["insertion_gap"]["histogram"] == {"2": 3}
    assert stats["instruction_ids"] == {"end:punctuation": 3, "start:letter": 3}
    assert stats["instruction_groups"] == {"end": 3, "start": 3}
    assert stats["events"] == {"add": 6, "replace": 0, "revoke": 0}
    assert stats["image_licenses"] == {"CC0-1.0": 7}
    assert stats["conversations_without_instructions"] == 0


def test_updates_revokes_distractors_and_chats_without_instructions():
    row = make_row(1)
    new = {"id": "start:letter", "kwargs": '{"letter":"C"}', "wording": "C instead."}
    row["turns"][1]["new_instructions"] = [{**new, "action": "replace"}]
    row["turns"][2]["new_instructions"].append({**LETTER, "action": "revoke"})
    row["turns"][0]["distractors"] = [{"id": "case:upper", "kwargs": "{}", "wording": "SHOUT"}]
    plain = make_row(2)
    for turn in plain["turns"]:
        turn["new_instructions"], turn["active_instructions"] = [], []
    acc = StatsAccumulator()
    acc.add(row, "test")
    acc.add(plain, "test")
    stats = acc.result({"conflicts_avoided": 4})
    assert stats["events"] == {"add": 2, "replace": 1, "revoke": 1}
    assert stats["instruction_ids"] == {"end:punctuation": 1, "start:letter": 2}
    assert stats["insertion_gap"]["histogram"] == {"1": 2}
    assert stats["distractors"] == {"total": 1, "turns_with_distractors": 1, "ids": {"case:upper": 1}}
    assert stats["conversations_without_instructions"] == 1
    assert stats["turns_without_instructions"] == 3
    assert stats["extra"] == {"conflicts_avoided": 4}
    assert "conflicts avoided: 4" in format_stats({"updates": stats})


def test_summaries_have_median_and_p90():
    stats = compute_stats({"test": [make_row(0), make_row(1)], "validation": [make_row(2, n_turns=5, n_images=3)]})
    # 16 ages: six 0, four 1, four 2, one 3, one 4; nearest rank: median the 8th (1), p90 the 15th (3)
    assert (stats["instruction_age"]["median"], stats["instruction_age"]["p90"]) == (1, 3)
    assert (stats["active_per_turn"]["median"], stats["active_per_turn"]["p90"]) == (1, 2)


@pytest.mark.parametrize(("histogram", "bins"), [
    ({}, []),
    ({"3": 2}, [("3", 2)]),
    ({"0": 1, "3": 2}, [("0", 1), ("1", 0), ("2", 0), ("3", 2)]),  # gaps show as zeros
    ({str(k): 1 for k in range(20)}, [(str(k), 1) for k in range(20)]),  # a 20-turn chat's ages, exactly
    ({str(k): 1 for k in range(21)}, [(f"{k}-{k + 1}", 2 if k < 20 else 1) for k in range(0, 21, 2)]),
    ({"0": 5, "99": 1}, [(f"{k}-{k + 4}", 5 if k == 0 else (1 if k == 95 else 0)) for k in range(0, 100, 5)]),
    ({"0": 5, "199": 1}, [(f"{k}-{k + 9}", 5 if k == 0 else (1 if k == 190 else 0)) for k in range(0, 200, 10)]),
    ({"12": 1, "39": 3}, [("12-13", 1), *((f"{k}-{k + 1}", 0) for k in range(14, 38, 2)), ("38-39", 3)]),
    ({"12": 1, "109": 3}, [("10-14", 1), *((f"{k}-{k + 4}", 0) for k in range(15, 105, 5)), ("105-109", 3)]),
    ({"0": 0, "4": 2}, [("4", 2)]),  # empty keys are ignored
])
def test_bucket_histogram(histogram, bins):
    assert bucket_histogram(histogram) == bins
    assert sum(n for _, n in bins) == sum(histogram.values())


def test_bucket_histogram_very_wide_range_stays_small():
    bins = bucket_histogram({"0": 1, "100000": 1})
    assert len(bins) <= 20 and bins[0] == ("0-5000", 1) and bins[-1][1] == 1


def test_format_stats_prints_every_measure():
    row = make_row(1)
    row["turns"][0]["distractors"] = [{"id": "case:upper", "kwargs": "{}", "wording": "SHOUT"}]
    text = format_stats({"mmmt-if": compute_stats({"test": [row]}, {"conflicts_avoided": 2})})
    for needle in ("active instructions per turn: mean 1.3333, median 1, max 2",
                   "histogram (active: turns): 1: 2, 2: 1",
                   "instruction age (turns since given): mean 0.75, median 0, p90 2, max 2",
                   "histogram (age: active instructions): 0: 2, 1: 1, 2: 1",
                   "histogram (instructions: conversations): 2: 1",
                   "histogram (turn: conversations): 1: 1",
                   "events: add 2, replace 0, revoke 0",
                   "distractors: 1 in 1 turns (case:upper 1)",
                   "instruction groups: end 1, start 1",
                   "conflicts avoided: 2"):
        assert needle in text


def test_empty_config_has_zero_summaries():
    stats = StatsAccumulator().result()
    assert stats["conversations"] == 0 and stats["active_per_turn"]["mean"] == 0.0


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    from generator.dataset.writer import write_dataset

    with placeholder_scoring_script():
        out = tmp_path_factory.mktemp("s") / "mmmt-if"
        result = write_dataset(out, {"mmmt-if": {"test": [make_row(i) for i in range(5)],
                                                 "validation": [make_row(9, n_turns=4)]},
                                     "appended": {"test": [make_row(i, "appended") for i in range(5)]}},
                               quiet=True, card_context={"extra_stats": {"mmmt-if": {"conflicts_avoided": 2}}})
    return out, result


def test_from_dir_equals_streaming(written):
    out, result = written
    from_dir = stats_from_dir(out)
    assert list(from_dir) == ["mmmt-if", "appended"]
    assert from_dir == result.stats
    assert from_dir["mmmt-if"]["extra"] == {"conflicts_avoided": 2}


def test_cli_json(written):
    out, _ = written
    result = CliRunner().invoke(cli, ["stats", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["appended"]["conversations"] == 5
    assert data["mmmt-if"]["splits"] == {"test": 5, "validation": 1}


def test_cli_text_and_config_filter(written):
    out, _ = written
    result = CliRunner().invoke(cli, ["stats", "-q", str(out), "--config", "appended"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("[appended] 5 conversations")
    assert "active instructions per turn: mean" in result.output and "[mmmt-if]" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "nope"], "unknown config(s) nope"),
])
def test_cli_errors(written, args, message):
    out, _ = written
    result = CliRunner().invoke(cli, ["stats", "-q", str(out), *args])
    assert result.exit_code == 2 and message in result.output


def test_cli_missing_or_empty_folder(tmp_path):
    assert CliRunner().invoke(cli, ["stats", str(tmp_path / "nope")]).exit_code == 2
    result = CliRunner().invoke(cli, ["stats", str(tmp_path)])
    assert result.exit_code == 2 and "no parquet shards" in result.output


def test_official_example_counts_match_known_facts():
    """Sanity: a chat with instructions at turns 1, 3, 8 has gaps 2 and 5 and first-instruction turn 1."""
    row = make_row(0, n_turns=8)
    extra = {"id": "words:max", "kwargs": '{"n":18}', "wording": "At most 18 words."}
    row["turns"][7]["new_instructions"] = [{**extra, "action": "add"}]
    row["turns"][7]["active_instructions"].append({**extra, "given_at": 8})
    stats = compute_stats({"test": [row]})
    assert stats["insertion_gap"]["histogram"] == {"2": 1, "5": 1}
    assert stats["instructions_per_conversation"]["histogram"] == {"3": 1}
    assert ENDING["id"] in stats["instruction_ids"]
