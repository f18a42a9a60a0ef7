"""Scoring with the real catalogue: official instructions, strict vs loose, think stripping, distractors."""

from __future__ import annotations

import pytest
from scoring_fakes import full_row

from generator.common.errors import ValidationError
from generator.core.instructions import Instruction
from generator.scoring import evaluate_rows, score_rows

START_S = Instruction("start:letter", {"letter": "S"})
END_Q = Instruction("end:punctuation", {"mark": "?"})
KEYWORD = Instruction("keyword:include", {"min_count": 1, "word": "itself"})


def entry(instruction, given_at):
    return {"id": instruction.id, "kwargs": instruction.kwargs_json, "wording": "w", "given_at": given_at}


def chat(distractors=()):
    turns = [
        {"turn": 1, "question": "q", "prompt": "q", "new_instructions": [], "image_indices": [],
         "active_instructions": [entry(START_S, 1)], "distractors": [],
         "reference_answer": "7", "answer_type": "number"},
        {"turn": 2, "question": "q", "prompt": "q", "new_instructions": [], "image_indices": [],
         "active_instructions": [entry(START_S, 1), entry(END_Q, 2)],
         "distractors": [{"id": d.id, "kwargs": d.kwargs_json, "wording": "w"} for d in distractors],
         "reference_answer": "", "answer_type": "open"},
    ]
    return [full_row("c1", turns)]


@pytest.mark.parametrize(("text", "strict", "loose"), [
    ("So seven it is.", 1.0, 1.0),
    ("Okay, here it is:\nSo seven it is.", 0.0, 1.0),          # preamble line: loose only
    ("**Seven** sits there.", 1.0, 1.0),
    ("Seven sits there.\nOkay?", 0.0, 1.0),                     # closing line: loose only
    ("Birds fly. So seven.", 0.0, 0.0),
])
def test_strict_and_loose_on_official_start_letter(text, strict, loose):
    rows = chat()
    responses = [{"id": "c1", "turn": 1, "response": text}]
    assert score_rows(rows, responses, "strict")["pif"] == strict
    assert score_rows(rows, responses, "loose")["pif"] == loose


def test_think_trace_is_not_scored():
    rows = chat()
    trace = "<think>Maybe the user wants digits. Let me count: 1, 2, 3.</think>\n"
    ev = evaluate_rows(rows, [{"id": "c1", "turn": 1, "response": trace + "Seven, surely."},
                              {"id": "c1", "turn": 2, "response": "<think>Seven?"}])
    first, second = ev.details()
    assert first["pif"] == 1.0 and first["answer"]["correct"] is True and first["think_stripped"]
    assert second["pif"] == 0.0


def test_distractor_adoption_with_real_checkers():
    rows = chat(distractors=[KEYWORD])
    rep = score_rows(rows, [{"id": "c1", "turn": 2, "response": "So is it itself?"}])
    assert rep["distractors"]["adopted"] == 1 and rep["distractors"]["rate"] == 1.0
    assert rep["pif"] == 1.0
    assert rep["by_instruction"] == [
        {"id": "end:punctuation", "group": "end", "checks": 1, "followed": 1, "rate": 1.0},
        {"id": "start:letter", "group": "start", "checks": 1, "followed": 1, "rate": 1.0},
    ]
    assert rep["by_age"] == [{"age": 0, "checks": 1, "followed": 1, "rate": 1.0},
                             {"age": 1, "checks": 1, "followed": 1, "rate": 1.0}]


def test_bad_parameters_in_dataset_are_reported():
    rows = chat()
    rows[0]["turns"][0]["active_instructions"][0]["kwargs"] = '{"letter": "SS"}'
    with pytest.raises(ValidationError, match=r"turn 1: field active_instructions\[0\]\.kwargs"):
        score_rows(rows, [{"id": "c1", "turn": 1, "response": "x"}])
