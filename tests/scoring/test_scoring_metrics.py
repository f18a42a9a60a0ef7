"""PIF, PIF-N-K and breakdowns on hand-built datasets with a stand-in catalogue (hand-computed expectations)."""

from __future__ import annotations

import pytest
from scoring_fakes import FAKE_CATALOGUE, active, turn

from generator.scoring import evaluate_rows, score_rows

ROWS = [
    {"id": "c1", "turns": [
        turn(1, [active("t:contains", 1, word="cat")]),
        turn(2, [active("t:contains", 1, word="cat"), active("t:upper", 2)]),
        turn(3, [active("t:contains", 1, word="cat"), active("t:upper", 2)], reference="3", answer_type="number"),
    ]},
    {"id": "c2", "turns": [
        turn(1, [], reference="yes", answer_type="yes/no"),
        turn(2, [active("t:short", 2, max_words=3)]),
    ]},
]


def r(cid, t, s, text):
    return {"id": cid, "turn": t, "sample": s, "response": text}


def score(responses, mode="strict"):
    return score_rows(ROWS, responses, mode, catalogue=FAKE_CATALOGUE)


def test_pif_n_k_hand_computed():
    responses = [
        # c1 t1 (1 instruction): samples pass, pass, fail -> 2 perfect
        r("c1", 1, 0, "a cat"), r("c1", 1, 1, "cat"), r("c1", 1, 2, "dog"),
        # c1 t2 (2 instructions): all perfect -> 3
        r("c1", 2, 0, "CAT"), r("c1", 2, 1, "A CAT"), r("c1", 2, 2, "CAT"),
        # c1 t3: PIF 0.5, 0.5, 0 -> 0 perfect
        r("c1", 3, 0, "DOG"), r("c1", 3, 1, "a cat"), r("c1", 3, 2, "a dog"),
        # c2 t1 has no instruction (reported apart)
        r("c2", 1, 0, "Yes"), r("c2", 1, 1, "no"), r("c2", 1, 2, "yes indeed"),
        # c2 t2: only two samples -> incomplete, not in PIF-N-K
        r("c2", 2, 0, "one two"), r("c2", 2, 1, "one two three four"),
    ]
    rep = score(responses)
    assert rep["samples_per_turn"] == 3
    assert rep["PIF-3-1"] == pytest.approx(2 / 3)
    assert rep["PIF-3-2"] == pytest.approx(2 / 3)
    assert rep["PIF-3-3"] == pytest.approx(1 / 3)
    # release convention: the no-instruction turn counts as perfect for every K
    assert rep["release_convention"]["PIF-3-1"] == pytest.approx(3 / 4)
    assert rep["release_convention"]["PIF-3-3"] == pytest.approx(2 / 4)
    pifs = [1, 1, 0, 1, 1, 1, 0.5, 0.5, 0, 1, 0]
    assert rep["pif"] == pytest.approx(sum(pifs) / len(pifs))
    assert rep["release_convention"]["pif"] == pytest.approx((sum(pifs) + 3) / 14)
    assert rep["pif_instruction_level"] == pytest.approx((2 + 6 + 2 + 1) / (3 + 6 + 6 + 2))
    assert rep["counts"]["responses"] == 14
    assert rep["counts"]["complete_turns"] == 4
    assert rep["counts"]["incomplete_turns"] == 1
    assert rep["counts"]["missing_responses"] == 5 * 3 - 14
    assert rep["no_instruction"] == {"dataset_turns": 1, "responses": 3, "answer_checked": 3, "answer_correct": 2}
    assert rep["answers"]["checked"] == 6 and rep["answers"]["correct"] == 2


def test_breakdowns_by_turn_count_id_group_age():
    responses = [r("c1", 1, 0, "cat"), r("c1", 2, 0, "cat"), r("c1", 3, 0, "CAT 3"), r("c2", 2, 0, "a b c d")]
    rep = score(responses)
    assert rep["samples_per_turn"] == 1
    assert rep["PIF-1-1"] == pytest.approx(2 / 4)
    by_turn = {row["turn"]: row for row in rep["by_turn"]}
    assert by_turn[1]["pif"] == 1.0 and by_turn[1]["responses"] == 1
    assert by_turn[2]["pif"] == pytest.approx((0.5 + 0.0) / 2)
    assert by_turn[2]["mean_active"] == pytest.approx(1.5)
    assert by_turn[3]["pif"] == 1.0
    by_count = {row["active"]: row["pif"] for row in rep["by_active_count"]}
    assert by_count == {1: pytest.approx(0.5), 2: pytest.approx(0.75)}
    by_id = {row["id"]: (row["checks"], row["followed"], row["group"]) for row in rep["by_instruction"]}
    assert by_id == {"t:contains": (3, 3, "words"), "t:upper": (2, 1, "case"), "t:short": (1, 0, "length")}
    by_group = {row["group"]: row["rate"] for row in rep["by_group"]}
    assert by_group["case"] == 0.5 and by_group["length"] == 0.0
    by_age = {row["age"]: (row["checks"], row["followed"]) for row in rep["by_age"]}
    # ages: c1t1 contains 0 ok; c1t2 contains 1 ok, upper 0 fail; c1t3 contains 2 ok, upper 1 ok; c2t2 short 0 fail
    assert by_age == {0: (3, 1), 1: (2, 2), 2: (1, 1)}
    assert rep["answers"]["by_type"] == [{"answer_type": "number", "checked": 1, "correct": 1, "accuracy": 1.0}]
    assert rep["counts"]["missing_turns"] == 1


def test_missing_turns_are_reported_not_passed():
    rep = score([r("c1", 1, 0, "dog")])
    assert rep["pif"] == 0.0
    assert rep["counts"]["missing_responses"] == 4
    assert rep["counts"]["missing_turns"] == 4


def test_only_no_instruction_turns_gives_null_pif():
    rep = score([r("c2", 1, 0, "yes")])
    assert rep["pif"] is None and rep["PIF-1-1"] is None
    assert rep["release_convention"]["pif"] == 1.0


def test_loose_mode_changes_verdicts():
    responses = [r("c1", 1, 0, "*cat*")]
    assert score(responses, "strict")["pif"] == 0.0
    assert score(responses, "loose")["pif"] == 1.0


def test_think_block_stripped_before_checking_and_kept_in_details():
    text = "<think>dog dog dog</think>\nCAT"
    ev = evaluate_rows(ROWS, [r("c1", 2, 0, text)], catalogue=FAKE_CATALOGUE)
    (detail,) = ev.details()
    assert detail["pif"] == 1.0 and detail["think_stripped"] is True and detail["response"] == text
    ev = evaluate_rows(ROWS, [r("c1", 1, 0, "<think>cat, cat")], catalogue=FAKE_CATALOGUE)
    assert ev.details()[0]["pif"] == 0.0


def test_details_records_verdicts_and_answers():
    ev = evaluate_rows(ROWS, [r("c1", 3, 0, "cat 3"), r("c1", 1, 0, "cat")], catalogue=FAKE_CATALOGUE)
    first, second = ev.details()
    assert (first["id"], first["turn"], second["turn"]) == ("c1", 1, 3)  # dataset order
    assert second["verdicts"]["t:upper"]["ok"] is False
    assert second["verdicts"]["t:upper"]["reason"] == "t:upper not met"
    assert second["verdicts"]["t:contains"] == {"ok": True, "reason": "ok", "age": 2}
    assert second["answer"] == {"reference": "3", "answer_type": "number", "correct": True}
    assert second["pif"] == 0.5 and second["active"] == 2 and second["followed"] == 1


def test_distractor_adoption_rate():
    rows = [{"id": "d", "turns": [
        turn(1, [active("t:short", 1, max_words=5)], distractors=[
            {"id": "t:upper", "kwargs": "{}", "wording": "WRITE IN CAPITALS"},
            {"id": "t:contains", "kwargs": '{"word":"zebra"}', "wording": "say zebra"}]),
    ]}]
    rep = score_rows(rows, [{"id": "d", "turn": 1, "response": "TIGER TIME"}], catalogue=FAKE_CATALOGUE)
    assert rep["distractors"]["checks"] == 2 and rep["distractors"]["adopted"] == 1
    assert rep["distractors"]["rate"] == 0.5
    assert rep["pif"] == 1.0


def test_same_instruction_id_twice_gets_distinct_keys():
    rows = [{"id": "x", "turns": [turn(1, [active("t:contains", 1, word="a"), active("t:contains", 1, word="b")])]}]
    ev = evaluate_rows(rows, [{"id": "x", "turn": 1, "response": "a"}], catalogue=FAKE_CATALOGUE)
    assert set(ev.details()[0]["verdicts"]) == {"t:contains", "t:contains#2"}
    assert ev.report()["pif"] == 0.5


def test_report_is_deterministic_regardless_of_response_order():
    responses = [r("c1", 1, 0, "cat"), r("c2", 2, 0, "x"), r("c1", 3, 0, "CAT")]
    assert score(responses) == score(list(reversed(responses)))
