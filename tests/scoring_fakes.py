"""A tiny stand-in instruction catalogue with obvious rules, so metric tests do not depend on real checkers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace

from generator.common.errors import UnknownInstructionError


@dataclass(frozen=True)
class FakeInstruction:
    id: str
    kwargs: dict

    def __post_init__(self):
        if self.id == "t:contains" and not isinstance(self.kwargs.get("word"), str):
            raise ValueError("t:contains: missing parameter 'word'")

    @property
    def kwargs_json(self) -> str:
        return json.dumps(self.kwargs, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class FakeVerdict:
    ok: bool
    reason: str


def _check_contains(kwargs, text):
    return kwargs["word"] in text.lower().split()


def _check_upper(kwargs, text):
    return text == text.upper()


def _check_short(kwargs, text):
    return len(text.split()) <= kwargs["max_words"]


_RULES = {
    "t:contains": ("words", _check_contains),
    "t:upper": ("case", _check_upper),
    "t:short": ("length", _check_short),
}


def _get_type(instruction_id):
    if instruction_id not in _RULES:
        raise UnknownInstructionError(f"unknown instruction {instruction_id!r}")
    group, rule = _RULES[instruction_id]
    return SimpleNamespace(id=instruction_id, group=group, rule=rule)


def _check(instruction, text, mode="strict"):
    if mode == "loose":
        text = text.replace("*", "")
    ok = _get_type(instruction.id).rule(instruction.kwargs, text)
    return FakeVerdict(ok, "ok" if ok else f"{instruction.id} not met")


FAKE_CATALOGUE = SimpleNamespace(Instruction=FakeInstruction, get_type=_get_type, check=_check)


def active(instruction_id, given_at, **kwargs):
    return {"id": instruction_id, "kwargs": json.dumps(kwargs, sort_keys=True), "wording": "w", "given_at": given_at}


def turn(number, actives=(), reference="", answer_type="open", distractors=()):
    return {"turn": number, "question": f"q{number}", "prompt": f"q{number}", "new_instructions": [],
            "active_instructions": list(actives), "distractors": list(distractors),
            "reference_answer": reference, "answer_type": answer_type, "image_indices": []}


def full_row(cid, turns):
    """A complete dataset row (every column of the row contract) around the given turns; no images."""
    return {"id": cid, "config": "cfg", "source": "test", "system_prompt": "", "images": [], "image_meta": [],
            "turns": turns}


def write_parquet_dataset(folder, configs):
    """Write ``{config: rows}`` as a Hub-layout folder (one test split per config) that load_dataset reads."""
    import datasets

    from generator.dataset.features import build_features

    features = build_features()
    lines = ["---", "configs:"]
    for config, rows in configs.items():
        (folder / config).mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_list(rows, features=features).to_parquet(
            str(folder / config / "test-00000-of-00001.parquet"))
        lines += [f"- config_name: {config}", "  data_files:", "  - split: test", f"    path: {config}/test-*.parquet"]
    lines.append("---")
    (folder / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


ANSWERS = [("7", "number"), ("red", "word"), ("yes", "yes/no"), ("red, blue", "list"), ("", "open"),
           ("3.5", "number"), ("no", "yes/no"), ("dark green", "word"), ("12", "number")]


def catalogue_rows(seed, chats, turns, *, add_chance=0.7, ids=None):
    """Chats built from the real catalogue: compatible instructions accumulate, answers cycle through ANSWERS.

    ``ids`` restricts the instruction types (default: the whole catalogue, sorted by id).
    """
    from generator.authoring import compatible
    from generator.common.rng import derive_rng
    from generator.core import instructions as catalogue

    types = sorted((t for t in catalogue.all_types() if ids is None or t.id in ids), key=lambda t: t.id)
    rows = []
    for c in range(chats):
        rng = derive_rng(seed, "test", "scoring-chat", c)
        active_list = []  # (Instruction, given_at)
        turns_out = []
        for t in range(1, turns + 1):
            if rng.random() < add_chance:
                for _ in range(12):
                    itype = rng.choice(types)
                    candidate = catalogue.Instruction(itype.id, itype.sample_kwargs(rng))
                    if compatible([a for a, _ in active_list] + [candidate]):
                        active_list.append((candidate, t))
                        break
            reference, answer_type = ANSWERS[(c + t) % len(ANSWERS)]
            turns_out.append({
                "turn": t, "question": f"Question {t} about Image1?", "prompt": f"Question {t} about Image1?",
                "new_instructions": [{"id": a.id, "kwargs": a.kwargs_json, "wording": "w", "action": "add"}
                                     for a, g in active_list if g == t],
                "active_instructions": [{"id": a.id, "kwargs": a.kwargs_json, "wording": "w", "given_at": g}
                                        for a, g in active_list],
                "distractors": [], "reference_answer": reference, "answer_type": answer_type,
                "image_indices": [0],
            })
        rows.append(full_row(f"chat{c:03d}", turns_out))
    return rows
