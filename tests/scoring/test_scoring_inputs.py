"""Scores bound to their inputs: fingerprints, declared samples, partial files, provenance, streaming, intervals.

A generated folder with the ``mmmt-if`` and ``appended`` configs (same ids, questions and images, instructions
placed differently) and a second seed stand in for the mix-ups a user can make.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from generator.authoring.oracle import oracle_responses
from generator.cli import cli
from generator.scoring import Target, conversation_fingerprint, load_rows, report_json, run_score, score_rows
from generator.scoring.intervals import ClusterMean, bootstrap_intervals


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("inputs")
    made = {}
    for seed in (7, 8):
        out = base / f"seed{seed}"
        result = CliRunner().invoke(cli, ["gen", "--variant", "mmmt-if,appended", "--seed", str(seed), "--turns",
                                          "4", "--conversations", "5", "--out", str(out), "--quiet"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        made[seed] = out
    return made


def _write(path, rows, *, samples=1, fingerprint=True, declare=True, drop=None):
    """Oracle responses of ``rows`` as `mmmtif run` would write them (fingerprint and declared samples)."""
    lines = []
    prints = {row["id"]: conversation_fingerprint(row) for row in rows}
    for record in oracle_responses(rows, samples=samples):
        if drop is not None and drop(record):
            continue
        if fingerprint:
            record["fingerprint"] = prints[record["id"]]
        if declare:
            record["samples"] = samples
        lines.append(json.dumps(record))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _score(folder, config, responses, tmp_path, *extra):
    return CliRunner().invoke(cli, ["score", "--dataset", str(folder), "--config", config, "--responses",
                                    str(responses), "--out", str(tmp_path / "report.json"), "--quiet", *extra])


def test_fingerprint_differs_between_configs_and_seeds(folders):
    inline = load_rows(folders[7], "mmmt-if")
    appended = load_rows(folders[7], "appended")
    other_seed = load_rows(folders[8], "mmmt-if")
    assert [r["id"] for r in inline] == [r["id"] for r in appended]
    for a, b, c in zip(inline, appended, other_seed, strict=True):
        assert len({conversation_fingerprint(a), conversation_fingerprint(b), conversation_fingerprint(c)}) == 3
    assert conversation_fingerprint(inline[0]) == conversation_fingerprint(load_rows(folders[7], "mmmt-if")[0])


def test_inline_responses_against_appended_are_refused_naming_the_config(folders, tmp_path):
    responses = _write(tmp_path / "inline.jsonl", load_rows(folders[7], "mmmt-if"))
    assert _score(folders[7], "mmmt-if", responses, tmp_path).exit_code == 0
    result = _score(folders[7], "appended", responses, tmp_path)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert f"{responses}:line 1: field fingerprint" in lines[0]
    assert "it answers config 'mmmt-if' split 'test'" in lines[0]


def test_responses_of_another_seed_are_refused(folders, tmp_path):
    responses = _write(tmp_path / "seed8.jsonl", load_rows(folders[8], "mmmt-if"))
    result = _score(folders[7], "mmmt-if", responses, tmp_path)
    assert result.exit_code == 2 and "matches no config of this dataset" in result.output


def test_one_response_of_sixty_is_refused_with_counts_unless_partial(folders, tmp_path):
    rows = load_rows(folders[7], "mmmt-if")
    first = _write(tmp_path / "one.jsonl", rows, samples=3, drop=lambda r: (r["turn"], r["sample"]) != (1, 0)
                   or r["id"] != rows[0]["id"])
    result = _score(folders[7], "mmmt-if", first, tmp_path)
    assert result.exit_code == 2
    assert "59 of 60 responses missing (19 turns without any response, 1 with fewer than 3 samples)" in result.output
    assert "--allow-partial" in result.output and not (tmp_path / "report.json").exists()
    result = CliRunner().invoke(cli, ["score", "--dataset", str(folders[7]), "--config", "mmmt-if", "--responses",
                                      str(first), "--out", str(tmp_path / "report.json"), "--allow-partial"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partial"] is True and report["pif"] == 1.0
    assert "PIF: 1.000 (partial)" in result.output and "PIF-3-3: " in result.output
    assert all(f"PIF-3-{k}: " in result.output for k in (1, 2, 3))


def test_a_file_that_lost_every_second_sample_is_not_scored_as_one_sample(folders, tmp_path):
    rows = load_rows(folders[7], "mmmt-if")
    responses = _write(tmp_path / "lost.jsonl", rows, samples=2, drop=lambda r: r["sample"] == 1)
    result = _score(folders[7], "mmmt-if", responses, tmp_path)
    assert result.exit_code == 2 and "20 of 40 responses missing" in result.output
    undeclared = _write(tmp_path / "undeclared.jsonl", rows, samples=2, declare=False,
                        drop=lambda r: r["sample"] == 1)
    assert _score(folders[7], "mmmt-if", undeclared, tmp_path, "--samples", "2").exit_code == 2


@pytest.mark.parametrize("declared", [["--samples", "4"], []])
def test_a_huge_sample_index_is_refused_at_once(folders, tmp_path, declared):
    rows = load_rows(folders[7], "mmmt-if")
    responses = _write(tmp_path / "huge.jsonl", rows, declare=False)
    lines = responses.read_text().splitlines()
    lines[2] = json.dumps({**json.loads(lines[2]), "sample": 1_000_000_000})
    responses.write_text("\n".join(lines) + "\n")
    started = time.process_time()
    result = _score(folders[7], "mmmt-if", responses, tmp_path, *declared)
    assert time.process_time() - started < 30  # it used to loop for ever; any bound shows it stops
    assert result.exit_code == 2 and f"{responses}:line 3: field sample" in result.output
    assert "sample 1000000000" in result.output


def test_a_line_beyond_its_declared_samples_is_refused(folders, tmp_path):
    rows = load_rows(folders[7], "mmmt-if")
    responses = _write(tmp_path / "r.jsonl", rows, samples=1)
    lines = responses.read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "sample": 1})
    responses.write_text("\n".join(lines) + "\n")
    result = _score(folders[7], "mmmt-if", responses, tmp_path)
    assert result.exit_code == 2 and "line 1: field sample" in result.output and "outside 0..0" in result.output


def test_report_records_what_was_scored(folders, tmp_path):
    rows = load_rows(folders[7], "appended")
    responses = _write(tmp_path / "r.jsonl", rows, samples=2)
    lines = [{**json.loads(line), "model": "m1", "history": "reference"}
             for line in responses.read_text().splitlines()]
    responses.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _score(folders[7], "appended", responses, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["inputs"]["dataset"] == str(folders[7]) and report["inputs"]["revision"] is None
    assert (report["inputs"]["config"], report["inputs"]["split"]) == ("appended", "test")
    assert (report["inputs"]["model"], report["inputs"]["history"]) == ("m1", "reference")
    assert report["inputs"]["fingerprinted_responses"] == 40 and report["mode"] == "strict"
    assert report["scorer_version"] and report["samples_per_turn"] == 2
    inline = _write(tmp_path / "i.jsonl", load_rows(folders[7], "mmmt-if"), samples=2)
    assert _score(folders[7], "mmmt-if", inline, tmp_path).exit_code == 0
    assert json.loads((tmp_path / "report.json").read_text())["inputs"]["dataset_sha256"] != \
        report["inputs"]["dataset_sha256"]


def test_mixed_models_are_refused(folders, tmp_path):
    responses = _write(tmp_path / "r.jsonl", load_rows(folders[7], "mmmt-if"))
    lines = [{**json.loads(line), "model": f"m{i % 2}"} for i, line in enumerate(responses.read_text().splitlines())]
    responses.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _score(folders[7], "mmmt-if", responses, tmp_path)
    assert result.exit_code == 2 and "several models (m0, m1)" in result.output


def test_streamed_report_is_byte_identical_to_the_in_memory_computation(folders, tmp_path):
    """The streaming path (pyarrow, offsets, details as made) against rows and responses held in memory."""
    import datasets

    loaded = datasets.load_dataset(str(folders[7]), "mmmt-if", split="test")
    loaded = loaded.cast_column("images", datasets.List(datasets.Image(decode=False)))
    rows = [dict(row) for row in loaded]
    responses = _write(tmp_path / "r.jsonl", rows, samples=3)
    lines = responses.read_text().splitlines()
    edited = [json.dumps({**json.loads(line), "response": json.loads(line)["response"].upper() + f" ({i})"})
              if i % 3 == 0 else line for i, line in enumerate(lines)]
    responses.write_text("".join(line + "\n" for line in reversed(edited)))  # file order must not matter
    out, details = tmp_path / "streamed.json", tmp_path / "details.jsonl"
    streamed = run_score(str(folders[7]), config="mmmt-if", responses_path=responses, out=out, details=details,
                         echo=None)
    target = Target(dataset=str(folders[7]), config="mmmt-if", split="test")
    in_memory = score_rows(rows, [json.loads(line) for line in edited], target=target)
    assert out.read_text(encoding="utf-8") == report_json(in_memory)
    assert streamed == in_memory and 0 < streamed["pif"] < 1
    records = [json.loads(line) for line in details.read_text().splitlines()]
    assert [(r["id"], r["turn"], r["sample"]) for r in records] == sorted(
        (r["id"], r["turn"], r["sample"]) for r in records)


def test_intervals_are_seeded_contain_the_estimate_and_shrink_with_more_conversations():
    import random

    rng = random.Random(5)
    small = ([rng.random() * 4 for _ in range(20)], [4] * 20)
    large = ([rng.random() * 4 for _ in range(400)], [4] * 400)
    first, again = bootstrap_intervals({"x": small}), bootstrap_intervals({"x": small})
    assert first == again and first["x"] is not None
    estimate = sum(small[0]) / sum(small[1])
    assert first["x"][0] < estimate < first["x"][1]
    wide = first["x"][1] - first["x"][0]
    narrow = bootstrap_intervals({"x": large})["x"]
    assert narrow[1] - narrow[0] < wide / 2
    assert bootstrap_intervals({"x": ([1.0], [1])})["x"] is None  # one conversation: no interval
    assert bootstrap_intervals({"x": ([0, 0], [0, 0])})["x"] is None  # nothing to count
    cluster = ClusterMean()
    for total, count in ((3.0, 4), (1.0, 4), (4.0, 4)):
        cluster.add(total, count)
    low, high = cluster.interval()
    assert 0 <= low < 8 / 12 < high <= 1


def test_report_intervals_on_a_generated_set(folders, tmp_path):
    rows = load_rows(folders[7], "mmmt-if")
    responses = _write(tmp_path / "r.jsonl", rows, samples=2)
    lines = responses.read_text().splitlines()
    lines = [json.dumps({**json.loads(line), "response": "no"}) if i % 4 == 0 else line
             for i, line in enumerate(lines)]
    responses.write_text("".join(line + "\n" for line in lines))
    result = _score(folders[7], "mmmt-if", responses, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    intervals = report["intervals"]
    assert intervals["conversations"] == 5 and intervals["resamples"] == 1000
    for key in ("pif", "PIF-2-1", "PIF-2-2", "answer_accuracy"):
        value = report["answers"]["accuracy"] if key == "answer_accuracy" else report[key]
        assert intervals[key][0] <= value <= intervals[key][1], key
    assert all(1 <= row["conversations"] <= 5 for row in report["by_turn"])
    assert report["by_turn"][-1]["conversations"] == 5


#: What a quiet score of a local folder does without: the Hub reader, plots, the schema library (the report schema
#: is compiled; jsonschema only words a failure), the progress bar, and the other commands' layers.
UNUSED_BY_A_QUIET_SCORE = ("datasets", "matplotlib", "pandas", "jsonschema", "tqdm", "generator.reports",
                           "generator.running", "generator.dataset", "generator.generation", "generator.authoring")


def test_a_quiet_score_of_a_local_folder_imports_only_what_it_uses(folders, tmp_path):
    responses = _write(tmp_path / "r.jsonl", load_rows(folders[7], "mmmt-if"))
    code = ("import sys; from generator.cli import main; sys.argv = ['mmmtif', 'score', '--dataset', sys.argv[1], "
            "'--config', 'mmmt-if', '--responses', sys.argv[2], '--out', sys.argv[3], '--quiet']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            f"heavy = sorted(m for m in {UNUSED_BY_A_QUIET_SCORE!r} if m in sys.modules)\n"
            "assert not heavy, heavy")
    proc = subprocess.run([sys.executable, "-c", code, str(folders[7]), str(responses), str(tmp_path / "o.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("declared", [10**6, 10**9 + 1])
def test_a_huge_declared_sample_count_is_refused_at_once(declared: int) -> None:
    """A declaration no file of this size could be running towards would make the per-K work grow with it."""
    from generator.common.errors import ValidationError
    from generator.scoring.responses import collect_responses

    lines = [{"id": "c1", "turn": 1, "sample": 0, "samples": declared, "response": "A."}]
    store = collect_responses(lines)
    with pytest.raises(ValidationError, match="samples per turn cannot describe a file of 1 responses"):
        store.samples_per_turn()
    partial = collect_responses([{**lines[0], "samples": 3}])
    assert partial.samples_per_turn() == 3  # a partial run of a few samples stays possible


def test_the_summary_says_when_no_line_is_bound_to_the_dataset() -> None:
    from generator.scoring.evaluation import score_rows
    from generator.scoring.report import format_summary

    rows = [{"id": "c1", "turns": [{"turn": 1, "question": "Q?", "reference_answer": "", "answer_type": "open",
                                    "distractors": [], "active_instructions": []}]}]
    report = score_rows(rows, [{"id": "c1", "turn": 1, "response": "A."}])
    assert "not bound: no response line carries a conversation fingerprint" in format_summary(report)


def _without(row: dict, unread: tuple[tuple[str, ...], ...]) -> dict:
    """``row`` without the fields at the given paths (lists are walked through)."""
    def drop(value, path):
        if isinstance(value, list):
            return [drop(item, path) for item in value]
        if not isinstance(value, dict):
            return value
        return {key: drop(sub, path[1:]) if path and key == path[0] else sub
                for key, sub in value.items() if not (len(path) == 1 and key == path[0])}

    for path in unread:
        row = drop(row, path)
    return row


def test_rows_read_for_scoring_leave_out_only_what_scoring_never_reads(folders):
    from generator.scoring.loader import UNREAD_BY_SCORING, open_rows

    full = load_rows(folders[7], "mmmt-if")
    assert all("wording" in item for turn in full[0]["turns"] for item in turn["active_instructions"])
    scored = list(open_rows(folders[7], "mmmt-if", for_scoring=True).rows())
    assert scored == [_without(row, UNREAD_BY_SCORING) for row in full]
    turn = scored[0]["turns"][0]
    assert {"new_instructions", "image_indices"}.isdisjoint(turn) and turn["active_instructions"]
    assert all("wording" not in item for item in turn["active_instructions"])


def test_a_file_whose_leaves_cannot_be_matched_is_read_whole(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from generator.scoring.loader import UNREAD_BY_SCORING, _iter_parquet

    turns = [[{"turn": 1, "image_indices": [0], "extra": {"a": "b"}}]]
    table = pa.table({"id": ["c1"], "turns": turns})
    plain = tmp_path / "plain.parquet"
    pq.write_table(table, plain)
    assert next(_iter_parquet([plain], "x", UNREAD_BY_SCORING))["turns"] == [{"turn": 1, "extra": {"a": "b"}}]
    mapped = tmp_path / "mapped.parquet"
    kind = pa.list_(pa.struct([("turn", pa.int32()), ("image_indices", pa.list_(pa.int32())),
                               ("extra", pa.map_(pa.string(), pa.string()))]))
    pq.write_table(pa.table({"id": ["c1"], "turns": pa.array(
        [[{"turn": 1, "image_indices": [0], "extra": [("a", "b")]}]], type=kind)}), mapped)
    row = next(_iter_parquet([mapped], "x", UNREAD_BY_SCORING))
    assert row["turns"][0]["image_indices"] == [0]  # a map column: nothing is left out
