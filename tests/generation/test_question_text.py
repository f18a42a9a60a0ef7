"""Question texts: no defects a reader would notice, and never a form that fights a standing instruction.

The clash scan reads the form a question asks for from its *text* ("in two sentences", "a short title", "what
caption") and runs it through the planner's conflict rules against the active instructions of that turn; it finds
none in at least 10,000 turns of every preset and source. The lint looks for doubled words, a/an, superlatives for
two items and a singular verb before a plural name.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from typing import Any

import pytest

from generator.authoring.lint import lint_question
from generator.generation.pipeline import GenerationRun, _source
from generator.generation.plan import PlannedInstruction, form_fits, plan_conversation
from generator.generation.sources.base import FORM_CAPTION, FORM_TITLE, QA, fallback_question
from generator.generation.sources.families import all_families
from generator.generation.variants import get_variant, variant_names

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_SENTENCES = re.compile(r"\bin (one|two|three|four|five|\d+) sentences?\b", re.IGNORECASE)


def form_in_text(question: str) -> tuple[tuple[str, str], ...]:
    """The form a question's wording asks for, found from the text alone (independent of the planner's QA.form)."""
    form: list[tuple[str, str]] = []
    match = _SENTENCES.search(question)
    if match:
        word = match.group(1).lower()
        n = _NUMBERS.get(word) or int(word)
        form.append(("length:sentences", f'{{"n":{n},"relation":"exactly"}}'))
    if re.search(r"\btitle\b", question, re.IGNORECASE):
        form += FORM_TITLE
    if re.search(r"\bcaption\b", question, re.IGNORECASE):
        form += FORM_CAPTION
    if re.search(r"\b(?:in one word|one-word|in a word)\b", question, re.IGNORECASE):
        form.append(("length:words", '{"n":3,"relation":"at_most"}'))
    return tuple(form)


def _turns(preset: str, source: str, count: int, seed: int = 5) -> Iterator[tuple[str, list[PlannedInstruction]]]:
    cfg = get_variant(preset)
    material = _source(GenerationRun(seed=seed, source=source))
    for index in range(count):
        plan = plan_conversation(cfg, seed=seed, split="test", index=index, source=material)
        for turn in plan.turns:
            yield turn.qa.question, [a.instruction for a in turn.active]


# Conversations per preset on the default mix: at least 10,000 turns each (turns per conversation differ).
_SCAN = {"mmmt-if": 500, "appended": 500, "end-only": 500, "system": 500, "hard": 250, "updates": 500,
         "distractors": 500, "long": 100, "grounded": 500}


def _scan(preset: str, source: str, count: int) -> tuple[int, int, int, collections.Counter]:
    turns = formed = clashes = 0
    lint: collections.Counter = collections.Counter()
    for question, active in _turns(preset, source, count):
        turns += 1
        form = form_in_text(question)
        formed += bool(form)
        if form and not form_fits(form, active):
            clashes += 1
        for problem in lint_question(question):
            lint[problem] += 1
    return turns, formed, clashes, lint


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(_SCAN))
def test_no_question_clashes_with_an_instruction_in_10000_turns(preset: str) -> None:
    turns, formed, clashes, lint = _scan(preset, "mix", _SCAN[preset])
    print(f"{preset}: {turns} turns, {formed} ask for a form, {clashes} clashes, {sum(lint.values())} lint")
    assert turns >= 10_000
    assert formed > 0  # the scan sees forms at all
    assert clashes == 0
    assert not lint, lint.most_common(5)


@pytest.mark.parametrize("source", ["photos", "folder", *[family.name for family in all_families()]])
def test_no_clash_and_no_defect_in_every_source(source: str, user_folder_source: str) -> None:
    if source == "photos":
        pytest.importorskip("skimage")
    spec = user_folder_source if source == "folder" else source
    for preset in ("mmmt-if", "hard"):
        turns, _, clashes, lint = _scan(preset, spec, 40 if preset == "mmmt-if" else 15)
        assert turns >= 600 and clashes == 0 and not lint, (preset, clashes, lint.most_common(5))


def test_every_preset_is_scanned() -> None:
    assert set(_SCAN) == set(variant_names())


def test_form_detection_and_rules() -> None:
    at_least_5 = PlannedInstruction("length:sentences", '{"n":5,"relation":"at_least"}')
    long_sentences = PlannedInstruction("length:words_per_sentence", '{"n":18,"relation":"at_least"}')
    at_most_4 = PlannedInstruction("length:sentences", '{"n":4,"relation":"at_most"}')
    assert not form_fits(form_in_text("Describe Image2 in two sentences."), [at_least_5])
    assert form_fits(form_in_text("Describe Image2 in two sentences."), [at_most_4])
    assert not form_fits(form_in_text("Give Image3 a short title."), [at_least_5])
    assert not form_fits(form_in_text("Give Image3 a short title."), [long_sentences])
    assert not form_fits(form_in_text("If Image1 and Image2 were side by side, what caption would fit both?"),
                         [at_least_5])
    assert form_in_text("What is the most prominent element in Image1?") == ()


def test_planner_rephrases_or_replaces_a_clashing_question() -> None:
    from generator.generation.plan import ActiveInstruction, place_question
    from generator.generation.sources.base import FORM_TWO_SENTENCES

    at_least_5 = ActiveInstruction(PlannedInstruction("length:sentences", '{"n":5,"relation":"at_least"}'), 1)
    described = QA("Describe Image2 in two sentences.", None, "open", [1], FORM_TWO_SENTENCES, "Describe Image2.")
    assert place_question(described, [at_least_5], "test-000001", 3).question == "Describe Image2."
    titled = QA("Give Image2 a short title.", None, "open", [1], FORM_TITLE, None)
    placed = place_question(titled, [at_least_5], "test-000001", 3)
    assert placed == fallback_question([1], 3) and not form_in_text(placed.question)
    assert place_question(titled, [], "test-000001", 3) is titled


@pytest.mark.parametrize(("text", "problem"), [
    ("Which of Image3 and Image4 shows the earliest month?", "superlative"),
    ("Which of Image1 and Image2 shows the receipt with the the highest total?", "doubled"),
    ("Is Bananas on the receipt in Image2?", "singular verb"),
    ("Is there a orange circle in Image1?", "'a' before"),
    ("Is there an red square in Image1?", "'an' before"),
])
def test_question_lint_catches_each_defect(text: str, problem: str) -> None:
    assert any(problem in finding for finding in lint_question(text)), lint_question(text)


def test_question_lint_accepts_clean_text() -> None:
    for text in ("Which of Image1 and Image2 shows the earlier month?", "Which of Image1, Image2 and Image3 has "
                 "the most bars?", "Does the receipt in Image2 list Bananas?", "Is there an orange circle?",
                 "Is there a unit price on the receipt?"):
        assert not lint_question(text), text


def test_clock_comparisons_never_hinge_on_twelve_o_clock() -> None:
    from generator.generation.sources.families.clock import Clock

    clock = Clock()
    import random

    specs = [{"hour": 12, "minute": 50}, {"hour": 3, "minute": 55}]
    assert clock.compare(specs, ["Image1", "Image2"], random.Random(0)) == []
    asks = clock.compare([{"hour": 3, "minute": 50}, {"hour": 11, "minute": 5}], ["Image1", "Image2"],
                         random.Random(0))
    assert any(answer == "Image2" and "later" in question for question, answer, _ in asks)


def _line_spec(rng_seed: int) -> dict[str, Any]:
    import random

    from generator.generation.sources.families.line_chart import LineChart

    return LineChart().sample_valid(random.Random(rng_seed), 1)


def test_single_line_legend_matches_the_title() -> None:
    for seed in range(20):
        spec = _line_spec(seed)
        if len(spec["series"]) == 1:
            assert spec["series"][0]["name"] == spec["title"]
