"""Small synthetic conversation rows shared by the dataset-format tests (features, schema, writer, card, stats)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pngs import png_bytes

#: What the written folders carry as ``scoring.py`` in these tests: the writer is under test, not the bundle.
PLACEHOLDER_SCORER = "print('scoring')\n"


@contextmanager
def placeholder_scoring_script(text: str = PLACEHOLDER_SCORER) -> Iterator[None]:
    """Let ``write_dataset`` bundle ``text`` instead of building the standalone scorer (slow, and tested apart),
    for fixtures wider than one test, where the ``monkeypatch`` fixture cannot reach."""
    import generator.dataset.bundle

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generator.dataset.bundle, "build_scoring_script", lambda: text)
        yield


def _instruction(instruction_id: str, kwargs: dict, wording: str) -> dict:
    return {"id": instruction_id, "kwargs": json.dumps(kwargs, sort_keys=True, separators=(",", ":")),
            "wording": wording}


LETTER = _instruction("start:letter", {"letter": "S"}, "Start every sentence with the letter (S).")
ENDING = _instruction("end:punctuation", {"mark": "?"}, "End every sentence with a question mark (?).")


def make_row(index: int = 0, config: str = "mmmt-if", n_turns: int = 3, n_images: int = 2) -> dict:
    """A valid conversation: instruction at turn 1 (start:letter) and turn 3 (end:punctuation)."""
    events = {1: LETTER, 3: ENDING}
    active: list[dict] = []
    turns = []
    for number in range(1, n_turns + 1):
        new = []
        question = f"How many shapes are in Image{(number - 1) % n_images + 1}?"
        prompt = question
        if number in events:
            new = [{**events[number], "action": "add"}]
            active = [*active, {**events[number], "given_at": number}]
            prompt = f"Instruction: {events[number]['wording']} {question}"
        if config == "appended" and active:
            prompt += "\n\n" + " ".join(a["wording"] for a in active)
        turns.append({
            "turn": number, "question": question, "prompt": prompt,
            "new_instructions": new, "active_instructions": [dict(a) for a in active], "distractors": [],
            "reference_answer": str(number + index), "answer_type": "number",
            "image_indices": [(number - 1) % n_images],
        })
    return {
        "id": f"chat-{index:04d}", "config": config, "source": "synthetic", "system_prompt": "",
        "images": [png_bytes(((40 * index + 60 * k) % 256, 80, 120), 16, outline=True) for k in range(n_images)],
        "image_meta": [{"name": f"Image{k + 1}", "source": "synthetic", "license": "CC0-1.0",
                        "attribution": "", "spec": json.dumps({"k": k})} for k in range(n_images)],
        "turns": turns,
    }
