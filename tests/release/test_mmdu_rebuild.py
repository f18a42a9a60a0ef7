"""Rebuilding the official benchmark with MMDU images: matcher rules, the import command, running it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from mmdu_fixtures import DECOYS, EXPECTED, official_questions, zip_folder

from generator.cli import cli
from generator.release import mmdu_match as mm


def _import(csv_path: Path, source: str, out: Path, *extra: str):
    result = CliRunner().invoke(cli, ["import-official", str(csv_path), "--mmdu", source, "--out", str(out),
                                      *extra])
    assert result.exit_code == 0, result.output
    return result


def _mapping(folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((folder / mm.MAPPING_FILE).read_text(encoding="utf-8"))))


def _rows(folder: Path) -> dict[str, dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(sorted((folder / "official").glob("*.parquet"))).to_pylist()
    return {row["id"]: row for row in table}


# ------------------------------------------------------------------------------------------------ matcher rules


def test_normalise_and_similarity_absorb_formatting_not_content():
    a = mm.normalise("What’s shown in the Image 3?")
    assert a == mm.normalise("Image1: <ImageHere>; what's  SHOWN in the image3 !")
    assert a == ("whats", "shown", "in", "the", "image3")
    assert mm.similarity(a, a) == 1.0
    edited = mm.normalise("What is shown in the Image3?")
    assert mm.QUESTION_MIN <= mm.similarity(a, edited) < 1.0
    assert mm.similarity(a, mm.normalise("Which colours dominate Image2 overall?")) < mm.QUESTION_MIN


def test_alignment_keeps_order_skips_extra_turns_and_counts_missing_as_zero():
    official = [mm.normalise(q) for q in ("red apples on a table in Image1", "a blue car parked by the road",
                                          "three dogs running in the park")]
    mmdu = [mm.normalise(q) for q in ("red apples on a table in Image1", "something else entirely here",
                                      "a blue car parked by the road")]
    score, pairs = mm.align(official, mmdu)
    assert [index for index, _ in pairs] == [0, 2, None]
    assert score == pytest.approx(2 / 3)
    # the same questions in another order do not align fully: order is evidence
    swapped, _ = mm.align(official[:2], [mmdu[2], mmdu[0]])
    assert swapped == pytest.approx(0.5)


def _decide(scores: dict[str, float], images: dict[str, tuple[str, ...]]) -> mm.Match:
    conversation = mm.OfficialQuestions("c", ((1, "question about Image1"),))

    class D:
        def __init__(self, key: str) -> None:
            self.key, self.images = key, ("x", "y")

    dialogues = [D(k) for k in scores]
    candidates = [mm.Candidate(p, k, s, [(0, s)]) for p, (k, s) in enumerate(scores.items())]
    candidates.sort(key=lambda c: (-c.score, c.position))
    return mm._decide(conversation, candidates, dialogues, lambda p: images[dialogues[p].key])


def test_ambiguity_is_decided_by_margin_and_image_identity():
    same, other = ("h1", "h2"), ("h3", "h4")
    assert _decide({"a": 0.97, "b": 0.91}, {"a": same, "b": other}).status == mm.MATCHED
    tie = _decide({"a": 0.97, "b": 0.95}, {"a": same, "b": other})
    assert tie.status == mm.AMBIGUOUS and "a" in tie.reason and "b" in tie.reason
    copy = _decide({"a": 0.97, "b": 0.97}, {"a": same, "b": same})
    assert copy.status == mm.MATCHED and copy.equivalent == ["b"]
    low = _decide({"a": 0.79}, {"a": same})
    assert low.status == mm.NO_MATCH and "0.790 < 0.8" in low.reason
    # a runner-up below the acceptance score but within the margin still makes the match ambiguous
    assert _decide({"a": 0.82, "b": 0.78}, {"a": same, "b": other}).status == mm.AMBIGUOUS


# ------------------------------------------------------------------------------------------------ import command


@pytest.fixture(scope="module")
def rebuilt(mmdu_folder, official_subset, tmp_path_factory) -> tuple[Path, str]:
    root, _ = mmdu_folder
    out = tmp_path_factory.mktemp("rebuilt") / "official"
    return out, _import(official_subset, str(root), out).output


def test_every_fixture_conversation_is_decided_as_built(rebuilt, mmdu_folder):
    out, output = rebuilt
    mapping = _mapping(out)
    decided: dict[str, set[tuple[str, str]]] = {}
    for line in mapping:
        decided.setdefault(line["conversation_id"], set()).add(
            (line["status"], f"{line['mmdu_file']}#{line['mmdu_id']}" if line["mmdu_id"] else ""))
    for conversation, (status, key) in EXPECTED.items():
        assert decided[conversation] == {(status, key or "")}, conversation
    chosen = {f"{line['mmdu_file']}#{line['mmdu_id']}" for line in mapping if line["mmdu_id"]}
    assert chosen.isdisjoint(DECOYS)  # every decoy refused
    matched = sum(1 for status, _ in EXPECTED.values() if status == "matched")
    turns = sum(len(official_questions()[c]) for c, (s, _) in EXPECTED.items() if s == "matched")
    assert f"MMDU match rate: {matched}/{len(EXPECTED)} conversations" in output
    assert f"{turns}/" in output  # every turn of the matched conversations aligned
    assert "conversation 3: ambiguous: benchmark.json#twin-3a scores 1.000 and mmdu-45k.json#twin-3b" in output
    assert "conversation 4: no-match: best candidate benchmark.json#partial-4" in output


def test_rows_carry_images_in_marker_order_official_ids_turns_and_the_mmdu_match(rebuilt, mmdu_folder):
    out, _ = rebuilt
    _, digests = mmdu_folder
    rows = _rows(out)
    questions = official_questions()
    assert set(rows) == set(EXPECTED)
    for conversation, (status, key) in EXPECTED.items():
        row = rows[conversation]
        assert [t["turn"] for t in row["turns"]] == [turn for turn, _ in questions[conversation]]
        if status != "matched":
            assert row["images"] == []
            assert all(json.loads(m["spec"]) == {"official_name": m["name"], "released": False, "mmdu_match": status}
                       for m in row["image_meta"])
            continue
        got = [hashlib.sha256(image["bytes"]).hexdigest() for image in row["images"]]
        assert got == digests[key]
        spec = json.loads(row["image_meta"][0]["spec"])
        assert f"{spec['mmdu_file']}#{spec['mmdu_id']}" == key
        assert spec["sha256"] == digests[key][0] and row["image_meta"][0]["license"] == "CC-BY-NC-4.0"
        mapping = [line for line in _mapping(out) if line["conversation_id"] == conversation]
        assert spec["mmdu_turns"] == [int(line["mmdu_turn"]) for line in mapping]
    assert [t["turn"] for t in rows["32"]["turns"]][8:10] == [9, 11]  # the official gap is kept
    # the interleaved dialogue: MMDU turns 2 and 6 are extra questions, skipped by the alignment
    assert json.loads(rows["1"]["image_meta"][0]["spec"])["mmdu_turns"][:6] == [0, 1, 3, 4, 5, 7]


def test_folder_is_valid_loadable_and_publishes_the_mapping(rebuilt):
    out, _ = rebuilt
    manifest = json.loads((out / "manifest.json").read_text())
    assert mm.MAPPING_FILE in manifest["files"]  # listed and hashed like every other file
    assert manifest["arguments"]["mmdu"]["source"] == "MMDU"  # the folder's name, never a machine path
    assert manifest["departures"] == ["turn-gaps", "unreleased-images"]
    readme = (out / "README.md").read_text()
    assert "license: cc-by-nc-4.0" in readme and "CC-BY-NC-4.0" in readme and mm.MAPPING_FILE in readme
    assert str(out.parent) not in readme and str(out.parent) not in (out / mm.MAPPING_FILE).read_text()
    result = CliRunner().invoke(cli, ["validate", str(out), "--quiet"])
    assert result.exit_code == 0, result.output


def test_zip_source_gives_the_same_mapping(rebuilt, mmdu_folder, official_subset, tmp_path):
    out, _ = rebuilt
    root, _ = mmdu_folder
    archive = zip_folder(root, tmp_path / "MMDU.zip")
    again = tmp_path / "again"
    _import(official_subset, str(archive), again, "--quiet")
    assert (again / mm.MAPPING_FILE).read_text() == (out / mm.MAPPING_FILE).read_text()


def test_option_mistakes_are_one_line(official_subset, mmdu_folder, tmp_path):
    root, _ = mmdu_folder
    runner = CliRunner()
    both = runner.invoke(cli, ["import-official", str(official_subset), "--mmdu", str(root), "--images",
                               str(tmp_path), "--out", str(tmp_path / "x")])
    assert both.exit_code != 0 and "either --images" in both.output and "Traceback" not in both.output
    revision = runner.invoke(cli, ["import-official", str(official_subset), "--mmdu", str(root), "--revision",
                                   "main", "--out", str(tmp_path / "y")])
    assert revision.exit_code != 0 and "only to a Hub source" in revision.output


# ------------------------------------------------------------------------------------------------ running it


def test_run_sends_rebuilt_images_and_warns_once_for_imageless_conversations(rebuilt, tmp_path):
    from fake_openai_server import FakeServer

    out, _ = rebuilt
    rows = _rows(out)
    with FakeServer(tmp_path / "log.jsonl") as server:
        result = CliRunner().invoke(cli, ["run", "--dataset", str(out), "--model", "m", "--base-url",
                                          server.base_url, "--out", str(tmp_path / "r.jsonl"), "--quiet",
                                          "--concurrency", "2"])
        requests = server.requests()
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: 2 of 7 conversations have no images and are sent as text only (the official "
                        "release publishes none: rebuild it with `mmmtif import-official CSV --mmdu SOURCE`)"]
    by_first_text = {}
    for request in requests:
        by_first_text.setdefault(request["texts"][0], request["images"][0])
    for row in rows.values():
        assert by_first_text[row["turns"][0]["prompt"]] == len(row["images"])
    assert sum(len(r["turns"]) for r in rows.values()) == len(requests)


def test_comparison_with_the_released_pif_uses_the_same_turns(rebuilt, official_subset, tmp_path):
    """Fed the release's own GPT-4o numbers (hidden unit removed) as 'ours', the script reproduces that row."""
    import subprocess
    import sys

    from generator.release.official_import import read_official

    out, _ = rebuilt
    release = read_official(official_subset)
    details = tmp_path / "details.jsonl"
    with details.open("w") as handle:
        for t in release.turns:
            value = t.release_pif_without_hidden()["GPT-4o"] if t.active else None
            handle.write(json.dumps({"id": t.conversation, "turn": t.turn, "sample": 0, "pif": value}) + "\n")
    script = Path(__file__).resolve().parents[2] / "scripts" / "compare_official_pif.py"
    done = subprocess.run([sys.executable, str(script), str(official_subset), str(details), "--label", "echo",
                           "--mapping", str(out / mm.MAPPING_FILE)], capture_output=True, text=True, timeout=120,
                          cwd=script.parent.parent)
    assert done.returncode == 0, done.stderr
    lines = {line.split("|")[1].strip() + "/" + line.split("|")[2].strip(): line.split("|")[3:-1]
             for line in done.stdout.splitlines()[2:]}
    assert lines["echo/ours"] == lines["GPT-4o/without hidden unit"]
    from generator.release.official_import import compare_with_release

    matched = {c for c, (s, _) in EXPECTED.items() if s == "matched"}
    table = compare_with_release(release, [json.loads(x) for x in details.read_text().splitlines()], "echo",
                                 only=matched)
    assert table[0]["n_overall"] == sum(len(official_questions()[c]) for c in matched)
    bad = subprocess.run([sys.executable, str(script), str(official_subset), str(tmp_path / "none.jsonl")],
                         capture_output=True, text=True, timeout=120, cwd=script.parent.parent)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_many_equally_good_dialogues_are_ambiguous_not_cut_from_the_shortlist():
    """Twelve dialogues carry the same questions with different images: more than the shortlist, still ambiguous."""
    from generator.generation.sources.mmdu import MMDUDialogue, MMDUTurn

    questions = [q for _, q in official_questions()["2"]]
    conversation = mm.OfficialQuestions("2", tuple(official_questions()["2"]))
    many = [MMDUDialogue(f"d{k}", "x.json", ("a", "b", "c"), tuple(MMDUTurn(q, q, None, ()) for q in questions))
            for k in range(12)]
    assert len(mm.shortlist([conversation], [[mm.normalise(q) for q in questions]] * 12)[0]) == 12
    [match] = mm.match_conversations([conversation], many, lambda p: (str(p),))
    assert match.status == mm.AMBIGUOUS
    [single] = mm.match_conversations([conversation], many[:1], lambda p: (str(p),))
    assert single.status == mm.MATCHED and single.best is not None and single.best.key == "x.json#d0"


def _dialogue(did: str, questions: list[str], images: tuple[str, ...] = ("a", "b")):
    from generator.generation.sources.mmdu import MMDUDialogue, MMDUTurn

    return MMDUDialogue(did, "x.json", images, tuple(MMDUTurn(q, q, None, ()) for q in questions))


@pytest.mark.parametrize("rival_edit", [False, True])
def test_a_rival_behind_many_better_covered_dialogues_is_still_scored(rival_edit):
    """Forty fillers hold every word pair of the questions (full coverage) but score nothing; a rival read after
    them, with the same questions (or one word changed, so less coverage than the fillers), is within the margin
    of the true dialogue: the conversation is ambiguous however many fillers come first."""
    first = "What is the central action depicted in the Image1 and who performs it?"
    second = "Compare the lighting of the street scene in Image2 with the harbour at dusk."
    conversation = mm.OfficialQuestions("c", ((1, first), (2, second)))
    tail = " Also explain at length how the composition, the colours, the textures and the mood tell the story"
    fillers = [_dialogue(f"filler{k:02d}", [first + tail + f" variant {k}.", second + tail + f" case {k}."],
                         (f"f{k}", f"g{k}")) for k in range(40)]
    rival_first = first.replace("central", "main") if rival_edit else first
    dialogues = [_dialogue("true", [first, second]), *fillers,
                 _dialogue("rival", [rival_first, second], ("c", "d"))]
    [match] = mm.match_conversations([conversation], dialogues, lambda p: (dialogues[p].images[0],))
    assert match.status == mm.AMBIGUOUS, match.reason
    assert match.top is not None and match.top.key == "x.json#true"
    assert match.runner_up is not None and match.runner_up.key == "x.json#rival"
    # without the rival the true dialogue is matched, the fillers' best score is the runner-up
    [alone] = mm.match_conversations([conversation], dialogues[:-1], lambda p: (dialogues[p].images[0],))
    assert alone.status == mm.MATCHED and alone.best is not None and alone.best.key == "x.json#true"


def test_upper_bound_never_falls_below_the_alignment_score():
    questions = [q for _, q in official_questions()["1"]]
    official = [mm.normalise(q) for q in questions]
    for variant in ([q.upper() + " now" for q in questions], questions[::-1], questions[1::2], [questions[0]] * 3):
        mmdu = [mm.normalise(q) for q in variant]
        score, _ = mm.align(official, mmdu)
        assert mm.upper_bound([mm._counts(q) for q in official], [mm._counts(q) for q in mmdu]) >= score - 1e-12


def test_mapping_records_each_match_score_and_runner_up(rebuilt):
    out, _ = rebuilt
    lines = {line["conversation_id"]: line for line in _mapping(out)}
    assert lines["0"]["score"] == "1.000"
    # the decoy with two words changed per question is the runner-up of conversation 0
    assert lines["0"]["runner_up"] == "mmdu-45k.json#decoy-0" and float(lines["0"]["runner_up_score"]) < 0.95
    assert lines["3"]["status"] == mm.AMBIGUOUS and lines["3"]["runner_up"] == "mmdu-45k.json#twin-3b"
    assert lines["4"]["status"] == mm.NO_MATCH and lines["4"]["score"] == "0.455"
    assert all(line["shared_with"] == "" for line in lines.values())


def test_a_decoy_alone_is_matched_and_its_score_says_so(mmdu_folder, official_subset, tmp_path):
    """Without the genuine dialogue, the decoy with two words changed in every question clears the acceptance
    score (it tolerates curator edits): the mapping's score column is what tells such a match from an exact one."""
    root, _ = mmdu_folder
    records = [r for r in json.loads((root / "mmdu-45k.json").read_text()) if r["id"] == "decoy-0"]
    source = tmp_path / "decoy"
    (source / "mmdu-45k_pics").mkdir(parents=True)
    for path in records[0]["image"]:
        (source / path.lstrip("/")).write_bytes((root / path.lstrip("/")).read_bytes())
    (source / "mmdu-45k.json").write_text(json.dumps(records))
    out = tmp_path / "out"
    _import(official_subset, str(source), out, "--quiet")
    line = next(line for line in _mapping(out) if line["conversation_id"] == "0")
    assert line["status"] == mm.MATCHED and line["mmdu_id"] == "decoy-0"
    assert mm.ACCEPT <= float(line["score"]) < 0.95


def test_one_dialogue_matched_by_two_conversations_is_reported(official_subset, tmp_path):
    from mmdu_fixtures import Dialogue, image_bytes, needed_images, record, write_official_subset

    questions = official_questions()
    merged = [q for _, q in questions["0"]] + [q for _, q in questions["2"]]
    dialogue = Dialogue("merged", "mmdu-45k.json", merged, list(range(max(needed_images(merged), 5))))
    source = tmp_path / "MMDU"
    rec = record(dialogue, ("human", "gpt"), "pics")
    for path, seed in zip(rec["image"], dialogue.images, strict=True):
        (source / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (source / path.lstrip("/")).write_bytes(image_bytes(seed))
    (source / "mmdu-45k.json").write_text(json.dumps([rec]))
    csv_path = write_official_subset(tmp_path / "two.csv", ("0", "2"))
    out = tmp_path / "out"
    result = _import(csv_path, str(source), out)
    assert "MMDU dialogue mmdu-45k.json#merged is matched by conversations 0, 2" in result.output
    shared = {line["conversation_id"]: line["shared_with"] for line in _mapping(out)}
    assert shared == {"0": "2", "2": "0"}


@pytest.fixture(scope="module")
def broken_images(mmdu_folder, tmp_path_factory) -> Path:
    """The fixture with one undecodable image (45k-1) and one over Pillow's limit (45k-32, a size Pillow only
    warns about)."""
    import shutil

    from mmdu_fixtures import bomb_png

    root, _ = mmdu_folder
    copy = tmp_path_factory.mktemp("broken") / "MMDU"
    shutil.copytree(root, copy)
    (copy / "mmdu-45k_pics" / "45k-1_0.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (copy / "mmdu-45k_pics" / "45k-32_1.jpg").write_bytes(bomb_png(10000))
    return copy


BROKEN = ("warning: left out: mmdu-45k.json: record 45k-1: field image[0]: ",
          "warning: left out: mmdu-45k.json: record 45k-32: field image[1]: ")


def _check_broken_lines(stderr: str, root: Path) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("warning: left out")]
    assert len(lines) == 2 and all(line.startswith(start) for line, start in zip(lines, BROKEN, strict=True))
    assert "cannot read the image" in lines[0] and "decompression bomb" in lines[1]
    assert "DecompressionBombWarning" not in stderr and "object at 0x" not in stderr and str(root) not in stderr


def test_an_image_that_does_not_decode_leaves_its_record_out_of_the_import(broken_images, official_subset,
                                                                           tmp_path):
    out = tmp_path / "out"
    result = _import(official_subset, str(broken_images), out)
    _check_broken_lines(result.stderr, broken_images)
    decided = {line["conversation_id"]: (line["status"], line["mmdu_id"]) for line in _mapping(out)}
    assert decided["1"][0] == decided["32"][0] == mm.NO_MATCH  # their dialogues were left out
    for conversation, (status, key) in EXPECTED.items():
        if conversation not in ("1", "32"):
            assert decided[conversation] == (status, key.split("#")[1] if key else "")
    assert json.loads((out / "manifest.json").read_text())["arguments"]["mmdu"]["malformed"] == 2


def test_generation_leaves_the_same_records_out(broken_images, tmp_path):
    out = tmp_path / "gen"
    result = CliRunner().invoke(cli, ["gen", "--source", f"mmdu:{broken_images}", "--turns", "5",
                                      "--conversations", "8", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _check_broken_lines(result.stderr, broken_images)
    used = {json.loads(meta["spec"])["dialogue"] for row in _rows_of(out, "mmmt-if") for meta in row["image_meta"]}
    assert used and used.isdisjoint({"45k-1", "45k-32"})


def _rows_of(folder: Path, config: str) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(sorted((folder / config).glob("*.parquet")), columns=["id", "image_meta", "turns"]
                         ).to_pylist()


@pytest.mark.parametrize(("name", "details", "mapping", "expected"), [
    ("missing mapping", '{"id": "0", "turn": 1, "pif": 1.0}\n', "", "mapping.csv: cannot read the mapping file"),
    ("no status column", '{"id": "0", "turn": 1, "pif": 1.0}\n', "conversation_id,turn\n0,1\n",
     "mapping.csv: line 1: not an MMDU mapping: no column 'status'"),
    ("header only, wrong columns", '{"id": "0", "turn": 1, "pif": 1.0}\n', "a,b\n",
     "mapping.csv: line 1: not an MMDU mapping: no column 'conversation_id', 'status'"),
    ("unknown status", '{"id": "0", "turn": 1, "pif": 1.0}\n', "conversation_id,status\n0,maybe\n",
     "mapping.csv: line 2: field 'status': unknown value 'maybe'"),
    ("no id", '{"id": "0", "turn": 1, "pif": 1.0}\n{"turn": 2, "pif": 0.5}\n', "",
     "details.jsonl:line 2: field 'id': missing"),
    ("pif not a number", '{"id": "0", "turn": 1, "pif": "high"}\n', None,
     "details.jsonl:line 1: field 'pif': expected a number"),
    ("turn not an integer", '{"id": "0", "turn": "one", "pif": 1}\n', None,
     "details.jsonl:line 1: field 'turn'"),
    ("not an object", '[1, 2]\n', None,
     "details.jsonl:line 1: expected a JSON object"),
])
def test_the_comparison_script_refuses_bad_input_in_one_line(official_subset, tmp_path, name, details, mapping,
                                                              expected):
    import subprocess
    import sys

    (tmp_path / "details.jsonl").write_text(details)
    argv = [str(official_subset), str(tmp_path / "details.jsonl")]
    if mapping is not None:  # "" names a mapping file that does not exist
        if mapping:
            (tmp_path / "mapping.csv").write_text(mapping)
        argv += ["--mapping", str(tmp_path / "mapping.csv")]
    script = Path(__file__).resolve().parents[2] / "scripts" / "compare_official_pif.py"
    done = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True, timeout=120,
                          cwd=script.parent.parent)
    assert done.returncode == 2, (name, done.stdout)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert expected in done.stderr, done.stderr
