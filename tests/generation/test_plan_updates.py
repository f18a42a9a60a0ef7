"""Update and revoke semantics, end to end through rendering, row validation and the scorer.

A hand-made plan: turn 1 adds "start with S", turn 2 replaces it by "start with B", turn 3 adds "end with !",
turn 4 revokes it. Responses that follow the *current* active set score 1; following a replaced instruction or
ignoring a live one scores 0; dropping a revoked instruction is fine.
"""

from __future__ import annotations

import pytest

from generator.common.jsonutil import canonical_json
from generator.generation.config import GenConfig
from generator.generation.plan import (
    ActiveInstruction,
    ConversationPlan,
    InstructionEvent,
    PlannedInstruction,
    TurnPlan,
)


def _planned(type_id: str, **kwargs) -> PlannedInstruction:
    return PlannedInstruction(type_id, canonical_json(kwargs))


def _row(config: GenConfig) -> dict:
    from generator.generation.render import render_system_prompt, render_turns
    from generator.generation.sources.base import QA

    s, b = _planned("start:letter", letter="S"), _planned("start:letter", letter="B")
    bang = _planned("end:punctuation", mark="!")
    qa = QA("Describe Image1.", None, "open", [0])
    turns = (
        TurnPlan(1, qa, (InstructionEvent("add", s),), (ActiveInstruction(s, 1),)),
        TurnPlan(2, qa, (InstructionEvent("replace", b, replaces=s),), (ActiveInstruction(b, 2),)),
        TurnPlan(3, qa, (InstructionEvent("add", bang),), (ActiveInstruction(b, 2), ActiveInstruction(bang, 3))),
        TurnPlan(4, qa, (InstructionEvent("revoke", bang),), (ActiveInstruction(b, 2),)),
    )
    plan = ConversationPlan("test-000000", "test", 0, ({"kind": "test"},), turns)
    return {"id": plan.id, "config": config.name, "source": "test", "system_prompt": render_system_prompt(config, plan),
            "images": [b"\x89PNG fake"], "image_meta": [{"name": "Image1", "source": "test", "license": "CC0-1.0",
                                                         "attribution": "", "spec": "{}"}],
            "turns": render_turns(config, plan)}


@pytest.fixture
def row() -> dict:
    return _row(GenConfig(name="updates", update_rate=0.5))


def test_row_is_valid_and_messages_state_the_updates(row) -> None:
    from generator.dataset.schema import validate_row

    validate_row(row, config="updates")
    turns = row["turns"]
    assert [e["action"] for t in turns for e in t["new_instructions"]] == ["add", "replace", "add", "revoke"]
    for turn in turns:
        wording = turn["new_instructions"][0]["wording"]
        assert turn["prompt"] == f"Instruction: {wording} {turn['question']}"
    assert turns[1]["new_instructions"][0]["wording"] != turns[0]["new_instructions"][0]["wording"]
    assert [len(t["active_instructions"]) for t in turns] == [1, 1, 2, 1]


@pytest.mark.parametrize(("responses", "pif"), [
    (["Sure. So it is.", "Blue sky. Big sun.", "Blue sky! Big sun!", "Blue sky. Big sun."], 1.0),
    (["Sure. So it is.", "Sure. So it is.", "Blue sky! Big sun!", "Blue sky. Big sun."], 0.75),  # kept the old S
    (["Sure. So it is.", "Blue sky. Big sun.", "Blue sky. Big sun.", "Blue sky. Big sun."], 0.875),  # ignored the !
    (["Sure. So it is.", "Blue sky. Big sun.", "Blue sky! Big sun!", "Sure! So!"], 0.75),  # revived the S
])
def test_scorer_follows_replacements_and_revocations(row, responses, pif) -> None:
    from generator.scoring import score_rows

    records = [{"id": row["id"], "turn": n + 1, "response": text} for n, text in enumerate(responses)]
    report = score_rows([{"id": row["id"], "turns": row["turns"]}], records)
    assert report["pif"] == pytest.approx(pif)
