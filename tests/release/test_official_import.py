"""Import of the official MMMT-IF release: parsing, active sets, defects, the released PIF, the CLI."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pngs import png_bytes

from generator.cli import cli
from generator.release import official_import as official

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "official"
CSV_PATH = REFERENCE / "mmmt_if_public_release.csv"
JSONL_PATH = REFERENCE / "mmmt_if_turns.jsonl.gz"
CATALOGUE_PATH = REFERENCE / "instruction_catalogue.json"

# (conversation, turn, kind): the release's documented defects, nothing more, nothing less.
KNOWN_DEFECTS = {
    ("32", 11, "turn_gap"),
    ("43", 14, "turn_gap"),
    ("86", 10, "turn_gap"),
    ("93", 5, "all_instructions"),
}


@pytest.fixture(scope="module")
def release() -> official.OfficialRelease:
    return official.read_official(CSV_PATH)


@pytest.fixture(scope="module")
def reference_turns() -> dict[tuple[str, int], dict]:
    text = gzip.decompress(JSONL_PATH.read_bytes()).decode("utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {(str(r["conversation_id"]), int(r["turn"])): r for r in rows}


def _strip_marker(text: str) -> str:
    return text[len("Instruction:"):].strip() if text.startswith("Instruction:") else text


# ------------------------------------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(("raw", "expected"), [
    ("Start every sentence \nwith the letter (S).", "Start every sentence with the letter (S)."),
    ("  a \n\n b\tc  ", "a b c"),
    ("", ""),
])
def test_collapse_undoes_hard_wraps(raw: str, expected: str) -> None:
    assert official.collapse(raw) == expected


@pytest.mark.parametrize(("prompt", "wordings", "known", "question"), [
    ("Instruction: Start every sentence with the letter (S). What is in Image1?",
     ["Start every sentence with the letter (S)."], [True], "What is in Image1?"),
    ("Instruction: End every sentence with a question mark (?). Compare Image1 and Image2.",
     ["End every sentence with a question mark (?)."], [True], "Compare Image1 and Image2."),
    ("Instruction: Use the word 'per se' at least once in all future responses. Why? Explain.",
     ["Use the word 'per se' at least once in all future responses."], [True], "Why? Explain."),
    ("What colour is the car in Image2?", [], [], "What colour is the car in Image2?"),
    ("Instruction: Answer in French. What is in Image1?", ["Answer in French."], [False], "What is in Image1?"),
    # two prefixes (not in the release, but neither may pass as question text)
    ("Instruction: Start every sentence with the letter (B). Instruction: Answer in French. Why?",
     ["Start every sentence with the letter (B).", "Answer in French."], [True, False], "Why?"),
    ("Instruction: Make all the following responses at least 5 sentences. Instruction: Use the word 'like' at "
     "least once in all future responses. Describe Image4.",
     ["Make all the following responses at least 5 sentences.",
      "Use the word 'like' at least once in all future responses."], [True, True], "Describe Image4."),
])
def test_split_prompt(prompt: str, wordings: list[str], known: list[bool], question: str) -> None:
    got_wordings, instructions, got_question = official.split_prompt(prompt)
    assert got_wordings == wordings
    assert [i is not None for i in instructions] == known
    assert got_question == question


@pytest.mark.parametrize(("question", "indices"), [
    ("Compare Image1 and Image3.", [0, 2]),
    ("What is in Image2? And Image2 again.", [1]),
    ("No images named here.", []),
])
def test_image_indices(question: str, indices: list[int]) -> None:
    assert official.image_indices(question) == indices


def _turn(count: int, pifs: dict[str, float]) -> official.OfficialTurn:
    return official.OfficialTurn(
        conversation="x", turn=1, row=1, prompt="", question="", new_wordings=[], new_instructions=[],
        active=[], csv_all_instructions="", csv_instruction_count=count, question_topic="", capability="",
        release_pif=dict(pifs))


def test_hidden_unit_starts_at_first_proof_and_persists() -> None:
    turns = [
        _turn(2, {"A": 1.0}),  # ambiguous (1.0 fits both forms)
        _turn(2, {"A": 0.5}),  # 1/2: plain
        _turn(3, {"A": 0.75}),  # 3/4 with 3 instructions: only (2+1)/(3+1) fits -> hidden from here
        _turn(3, {"A": 1.0}),  # ambiguous but after the start
        _turn(4, {"A": 0.6}),  # 3/5 = (2+1)/(4+1)
    ]
    official.infer_hidden_unit(turns)
    assert [t.hidden_unit for t in turns] == [False, False, True, True, True]
    assert turns[2].release_pif_without_hidden() == {"A": pytest.approx(2 / 3)}
    assert turns[3].release_pif_without_hidden() == {"A": 1.0}
    assert turns[4].release_pif_without_hidden() == {"A": pytest.approx(0.5)}
    assert turns[1].release_pif_without_hidden() == {"A": 0.5}


# ------------------------------------------------------------------------------------------ the real release


def test_release_shape_and_every_instruction_recognised(release: official.OfficialRelease) -> None:
    assert len(release.chats) == 71
    assert len(release.turns) == 990
    assert release.unknown == []
    recognised, total = release.instruction_texts()
    assert recognised == total == 412
    assert all(isinstance(chat.id, str) for chat in release.chats)
    assert {"0", "93", "99"} <= {chat.id for chat in release.chats}


def test_reported_discrepancies_are_exactly_the_known_defects(release: official.OfficialRelease) -> None:
    found = {(d.conversation, d.turn, d.kind) for d in release.discrepancies}
    assert found == KNOWN_DEFECTS
    pasted = next(d for d in release.discrepancies if d.kind == "all_instructions")
    assert "Significance of Image2" in pasted.message


def test_active_set_size_matches_instruction_count(release: official.OfficialRelease) -> None:
    defect_rows = {(c, t) for c, t, _ in KNOWN_DEFECTS}
    mismatched = {(t.conversation, t.turn) for t in release.turns if len(t.active) != t.csv_instruction_count}
    assert mismatched <= defect_rows
    assert sum(len(t.active) for t in release.turns) == sum(t.csv_instruction_count for t in release.turns)


def test_official_turn_numbers_are_kept(release: official.OfficialRelease) -> None:
    chats = {chat.id: [t.turn for t in chat.turns] for chat in release.chats}
    assert 10 not in chats["32"] and chats["32"][-1] == 20
    assert 13 not in chats["43"]
    assert 9 not in chats["86"]
    assert chats["0"] == list(range(1, 13))


def test_prompts_give_the_reference_active_sets_and_questions(
        release: official.OfficialRelease, reference_turns: dict) -> None:
    assert len(reference_turns) == len(release.turns)
    for turn in release.turns:
        ref = reference_turns[(turn.conversation, turn.turn)]
        assert turn.question == ref["question"], (turn.conversation, turn.turn)
        assert [a.wording for a in turn.active] == [_strip_marker(x) for x in ref["active_instructions"]]
        new = ref["new_instruction"]
        assert turn.new_wordings == ([_strip_marker(new)] if new else [])
        assert all(a.given_at <= turn.turn for a in turn.active)


def test_categories_never_repeat_within_a_chat(release: official.OfficialRelease) -> None:
    category = {_strip_marker(e["template"]): e["category"]
                for e in json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))}
    for chat in release.chats:
        final = chat.turns[-1].active
        groups = [category[a.wording] for a in final]
        assert len(groups) == len(set(groups)), chat.id
        # each official category is one instruction type of the catalogue
        pairs = {(category[a.wording], a.instruction.id) for a in final}
        assert len({p[0] for p in pairs}) == len({p[1] for p in pairs}) == len(pairs)


def test_hidden_unit_rows_match_reference(release: official.OfficialRelease, reference_turns: dict) -> None:
    assert sum(t.hidden_unit for t in release.turns) == 575
    for turn in release.turns:
        ref = reference_turns[(turn.conversation, turn.turn)]
        assert turn.hidden_unit == ref["hidden_extra_unit_in_pif_denominator"], (turn.conversation, turn.turn)
        for model, value in turn.release_pif_without_hidden().items():
            assert value == pytest.approx(ref["pif_without_hidden_unit"][model], abs=1e-6)


def _independent_means(reference_turns: dict, key: str, model: str) -> dict[str, float]:
    rows = list(reference_turns.values())

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    return {
        "turn_1": mean([r[key][model] for r in rows if r["turn"] == 1]),
        "turn_20": mean([r[key][model] for r in rows if r["turn"] == 20]),
        "overall": mean([r[key][model] for r in rows]),
        "instructed": mean([r[key][model] for r in rows if r["instruction_count"] > 0]),
    }


def test_release_pif_table_matches_an_independent_computation(
        release: official.OfficialRelease, reference_turns: dict) -> None:
    table = official.release_pif_table(release)
    assert {(e["model"], e["variant"]) for e in table} == {
        (m, v) for m in ("Gemini", "GPT-4o", "Sonnet") for v in ("released", "without_hidden_unit")}
    for entry in table:
        key = "pif" if entry["variant"] == "released" else "pif_without_hidden_unit"
        expected = _independent_means(reference_turns, key, entry["model"])
        for metric, value in expected.items():
            assert entry[metric] == pytest.approx(value, abs=1e-9), (entry["model"], entry["variant"], metric)
        assert entry["n_turn_1"] == 71
        assert entry["n_turn_20"] == 11
    # the hidden unit inflates every model's late-turn score
    by = {(e["model"], e["variant"]): e for e in table}
    for model in ("Gemini", "GPT-4o", "Sonnet"):
        assert by[(model, "released")]["turn_20"] > by[(model, "without_hidden_unit")]["turn_20"]
    markdown = official.format_pif_table(table)
    assert markdown.count("\n") == len(table) + 1


def test_rows_follow_the_row_contract(release: official.OfficialRelease) -> None:
    from generator.dataset.features import ROW_SPEC

    rows = official.to_rows(release)
    assert len(rows) == 71
    turn_keys = set(ROW_SPEC["turns"][0])
    for row in rows:
        assert set(row) == set(ROW_SPEC)
        assert row["images"] == []
        assert [m["name"] for m in row["image_meta"]] == [f"Image{i}" for i in range(1, 6)]
        assert all(m["source"] == "MMDU (not released)" for m in row["image_meta"])
        for turn in row["turns"]:
            assert set(turn) == turn_keys
            assert turn["answer_type"] == "open" and turn["reference_answer"] == ""
            assert len(turn["new_instructions"]) <= 1
            for item in turn["active_instructions"]:
                assert json.loads(item["kwargs"]) is not None
    row93 = next(r for r in rows if r["id"] == "93")
    assert [t["turn"] for t in row93["turns"]] == list(range(1, 20))
    fifth = row93["turns"][4]
    assert len(fifth["active_instructions"]) == 5
    assert fifth["new_instructions"][0]["wording"] == "Make all the following responses no more than 4 sentences."


# ------------------------------------------------------------------------------------------------- the CLI


def _copy_csv(tmp_path: Path, edit) -> Path:
    """Write a copy of the release with ``edit(header, rows)`` applied."""
    with CSV_PATH.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    header, rows = records[0], records[1:]
    edit(header, rows)
    target = tmp_path / "broken.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return target


def _drop_column(name: str):
    def edit(header: list[str], rows: list[list[str]]) -> None:
        i = header.index(name)
        del header[i]
        for row in rows:
            del row[i]
    return edit


def _set_cell(row_index: int, name: str, value: str):
    def edit(header: list[str], rows: list[list[str]]) -> None:
        rows[row_index][header.index(name)] = value
    return edit


@pytest.mark.parametrize(("edit", "needles"), [
    (_drop_column("instruction count"), ["missing column 'instruction count'"]),
    (_drop_column("prompt"), ["missing column 'prompt'"]),
    (_set_cell(4, "turn count (which turn in this conversation)", "five"),
     ["row 5", "turn count (which turn in this conversation)", "'five'"]),
    (_set_cell(9, "instruction count", "2.5"), ["row 10", "instruction count", "integer"]),
    (_set_cell(2, "Programmatic Instruction Following Sonnet", "high"), ["row 3", "Sonnet", "number"]),
    (_set_cell(1, "turn count (which turn in this conversation)", "1"), ["turn 1 twice", "row 2"]),
    (_set_cell(0, "prompt", "Instruction: Answer only in French. Describe Image3."),
     ["not recognised", "row 1", "Answer only in French.", "--allow-unknown"]),
])
def test_cli_rejects_a_broken_csv_with_one_line(tmp_path: Path, edit, needles: list[str]) -> None:
    broken = _copy_csv(tmp_path, edit)
    result = CliRunner().invoke(cli, ["import-official", str(broken), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert str(broken) in message
    for needle in needles:
        assert needle in message
    assert not (tmp_path / "out").exists()


def test_cli_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["import-official", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no such file" in result.output


# ------------------------------------------------------------------------------------ the imported dataset


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("official") / "mmmt-if-official"
    result = CliRunner().invoke(cli, ["import-official", str(CSV_PATH), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "chats: 71" in result.output and "turns: 990" in result.output
    assert "recognised: 412/412 (100%)" in result.output
    assert "discrepancies in the CSV's bookkeeping: 4" in result.output
    return out


def test_imported_folder_loads_with_datasets(imported: Path) -> None:
    from datasets import load_dataset

    loaded = load_dataset(str(imported), "official")
    assert list(loaded) == ["test"]
    split = loaded["test"]
    assert split.num_rows == 71
    row = split[next(i for i, value in enumerate(split["id"]) if value == "93")]
    assert row["images"] == []
    assert [m["name"] for m in row["image_meta"]] == [f"Image{i}" for i in range(1, 6)]
    assert [t["turn"] for t in row["turns"]] == list(range(1, 20))
    gap = split[next(i for i, value in enumerate(split["id"]) if value == "32")]
    assert 10 not in [t["turn"] for t in gap["turns"]]


def test_imported_folder_validates_with_its_recorded_departures(imported: Path) -> None:
    from generator.dataset.checks import validate_dataset
    from generator.release.publish import check_release_folder

    manifest = json.loads((imported / "manifest.json").read_text())
    assert manifest["departures"] == ["turn-gaps", "unreleased-images"]
    assert validate_dataset(imported) == []
    assert check_release_folder(imported, "mmmt-if-official") == []
    result = CliRunner().invoke(cli, ["validate", str(imported), "-q"])
    assert result.exit_code == 0, result.output
    assert "declared departures: turn-gaps, unreleased-images" in result.output


def test_imported_card_counts_embedded_images_and_says_they_were_not_released(imported: Path) -> None:
    from generator.dataset.card import render_card_for_folder

    card = (imported / "README.md").read_text()
    assert "| `official` (default) | test 71 | 71 | 990 | 0 |" in card
    assert "| images embedded (total; conversations without any) | 0; 71 |" in card
    assert "## Images not included" in card and "images were not released" in card
    assert "71 of 71 conversations have an empty `images` list" in card
    assert "--images ./mmdu-images" in card and "docs/official-release.md" in card
    assert "the source skips some" in card
    assert render_card_for_folder(imported) == card  # publishing re-renders the same statements


@pytest.mark.parametrize("allow", [[], ["turn-gaps"], ["unreleased-images"]])
def test_official_rows_are_refused_without_their_departures(release: official.OfficialRelease, allow) -> None:
    from generator.common.errors import ValidationError

    rows = official.to_rows(release)
    with pytest.raises(ValidationError):
        official.validate_rows(rows, allow=allow)
    assert official.validate_rows(rows) == ["turn-gaps", "unreleased-images"]


def _keep_chats(*ids: str):
    def edit(header: list[str], rows: list[list[str]]) -> None:
        column = header.index("conversation id")
        rows[:] = [row for row in rows if row[column].strip() in ids]
    return edit


@pytest.mark.parametrize(("chats", "departures"), [
    (("0",), []),
    (("0", "32"), ["turn-gaps"]),
])
def test_attached_images_leave_only_the_turn_gaps(tmp_path: Path, chats: tuple[str, ...],
                                                  departures: list[str]) -> None:
    from generator.dataset.checks import validate_dataset

    subset = _copy_csv(tmp_path, _keep_chats(*chats))
    release = official.read_official(subset)
    embedded = 0
    for chat in chats:
        folder = tmp_path / "images" / chat
        folder.mkdir(parents=True)
        for k in range(1, _named_images(release, chat) + 1):
            (folder / f"Image{k}.png").write_bytes(png_bytes((10 * k, 0, 0)))
            embedded += 1
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["import-official", str(subset), "--out", str(out),
                                      "--images", str(tmp_path / "images")])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["departures"] == departures
    assert validate_dataset(out) == []
    card = (out / "README.md").read_text()
    assert "## Images not included" not in card and "not released" not in card.split("## Image licences")[0]
    assert f"| images embedded (total; conversations without any) | {embedded}; 0 |" in card
    assert ("the source skips some" in card) == ("turn-gaps" in departures)


def test_import_refuses_to_overwrite_without_flag(imported: Path) -> None:
    result = CliRunner().invoke(cli, ["import-official", str(CSV_PATH), "--out", str(imported), "--quiet"])
    assert result.exit_code == 2
    assert "--overwrite" in result.output


def test_oracle_responses_score_pif_one(imported: Path) -> None:
    from generator.authoring import compose_witness
    from generator.core.instructions import Instruction
    from generator.scoring import load_rows, score_rows

    rows = load_rows(imported, "official", "test")
    responses = []
    for row in rows:
        for turn in row["turns"]:
            active = [Instruction(a["id"], json.loads(a["kwargs"])) for a in turn["active_instructions"]]
            responses.append({"id": row["id"], "turn": turn["turn"], "response": compose_witness(active)})
    assert len(responses) == 990
    report = score_rows(rows, responses, mode="strict")
    assert report["pif"] == pytest.approx(1.0)
    # a response that ignores the instructions must not score 1
    lazy = [{**r, "response": "Fine."} for r in responses]
    assert score_rows(rows, lazy, mode="strict")["pif"] < 0.5


def _named_images(release: official.OfficialRelease, conversation: str) -> int:
    chat = next(c for c in release.chats if c.id == conversation)
    return max(int(k) for t in chat.turns for k in re.findall(r"Image(\d)", t.prompt))


def test_user_images_are_attached_per_conversation(tmp_path: Path, release: official.OfficialRelease) -> None:
    needed = _named_images(release, "0")
    folder = tmp_path / "images" / "0"
    folder.mkdir(parents=True)
    for k in range(1, needed + 1):
        (folder / f"Image{k}.png").write_bytes(png_bytes((10 * k, 0, 0)))
    (folder / "notes.txt").write_text("ignored")
    rows = official.to_rows(release)
    assert official.attach_images(rows, tmp_path / "images") == 1
    chat = next(r for r in rows if r["id"] == "0")
    assert len(chat["images"]) == needed
    assert [m["name"] for m in chat["image_meta"]] == [f"Image{k}" for k in range(1, needed + 1)]
    assert all(m["source"] == "MMDU (user-supplied)" for m in chat["image_meta"])
    assert all(r["images"] == [] for r in rows if r["id"] != "0")
    assert official.validate_rows(rows) == ["turn-gaps", "unreleased-images"]

    (folder / f"Image{needed}.png").unlink()
    with pytest.raises(official.UserError, match=f"needs Image{needed}"):
        official.attach_images(official.to_rows(release), tmp_path / "images")


def test_cli_embeds_user_images(tmp_path: Path, release: official.OfficialRelease) -> None:
    from datasets import load_dataset

    needed = _named_images(release, "6")
    folder = tmp_path / "images" / "6"
    folder.mkdir(parents=True)
    for k in range(1, needed + 1):
        (folder / f"image{k}.PNG").write_bytes(png_bytes((0, 20 * k, 0)))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["import-official", str(CSV_PATH), "--out", str(out),
                                      "--images", str(tmp_path / "images")])
    assert result.exit_code == 0, result.output
    assert "chats with images attached" in result.output and "1/71" in result.output
    split = load_dataset(str(out), "official", split="test")
    row = split[next(i for i, value in enumerate(split["id"]) if value == "6")]
    assert len(row["images"]) == needed
    assert row["images"][0].size == (4, 4)
    # the other 70 chats still have no images: the departure stays, and the card says how many lack them
    assert json.loads((out / "manifest.json").read_text())["departures"] == ["turn-gaps", "unreleased-images"]
    card = (out / "README.md").read_text()
    assert "70 of 71 conversations have an empty `images` list" in card
    assert f"(the others carry {needed} images supplied by the user)" in card


def test_cli_allow_unknown_imports_and_warns(tmp_path: Path) -> None:
    broken = _copy_csv(tmp_path, _set_cell(0, "prompt", "Instruction: Answer only in French. Describe Image3."))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["import-official", str(broken), "--out", str(out), "--allow-unknown"])
    assert result.exit_code == 0, result.output
    assert "not recognised" in result.output and "411/412 (99.8%)" in result.output
    release = official.read_official(broken)
    first = release.chats[0].turns[0]
    assert first.question == "Describe Image3." and first.active == []
    # the CSV still counts the instruction, so the cross-check reports every turn of that chat
    counts = [d for d in release.discrepancies if d.kind == "instruction_count" and d.conversation == "0"]
    assert len(counts) == len(release.chats[0].turns)


def test_cli_rejects_non_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(CSV_PATH.read_bytes()[:2000] + "é".encode("latin-1") + b"\n")
    result = CliRunner().invoke(cli, ["import-official", str(bad), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 2
    assert str(bad) in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("edit", "expected"), [
    (_set_cell(0, "instruction count", "2"), ("0", 1, "instruction_count")),
    (_set_cell(0, "all instructions", "Instruction: Start every sentence with the letter (B)."),
     ("0", 1, "all_instructions")),
    (_set_cell(1, "prompt", "Instruction: Include at least one odd number bigger than 5 in each of your "
                             "responses. What type of lace is shown in the Image3?"),
     ("0", 2, "repeated_instruction")),
    (_set_cell(1, "prompt", "Instruction: Include at least one even number in the range bigger than 5 in each of "
                             "your responses. What type of lace is shown in the Image3?"),
     ("0", 2, "repeated_category")),
    (_set_cell(11, "turn count (which turn in this conversation)", "14"), ("0", 14, "turn_gap")),
])
def test_bookkeeping_disagreements_are_reported(tmp_path: Path, edit, expected: tuple[str, int, str]) -> None:
    release = official.read_official(_copy_csv(tmp_path, edit))
    found = {(d.conversation, d.turn, d.kind) for d in release.discrepancies}
    assert expected in found
    assert found - {expected} - KNOWN_DEFECTS <= {(c, t, k) for c, t, k in found if c == "0"}


def test_two_instructions_in_one_prompt_are_both_active(tmp_path: Path) -> None:
    prompt = ("Instruction: Include at least one odd number bigger than 5 in each of your responses. "
              "Instruction: Start every sentence with the letter (B). Describe the patterns in the Image3.")
    release = official.read_official(_copy_csv(tmp_path, _set_cell(0, "prompt", prompt)))
    first = release.chats[0].turns[0]
    assert first.question == "Describe the patterns in the Image3."
    assert [a.wording for a in first.active] == [
        "Include at least one odd number bigger than 5 in each of your responses.",
        "Start every sentence with the letter (B)."]
    rows = official.to_rows(release)
    assert len(rows[0]["turns"][0]["new_instructions"]) == 2
    assert all(len(t["active_instructions"]) >= 2 for t in rows[0]["turns"])
    official.validate_rows(rows)
    assert ("0", 1, "instruction_count") in {(d.conversation, d.turn, d.kind) for d in release.discrepancies}
