"""Procedural families: deterministic specs and PNGs, answers that score as right, ambiguity checks."""

from __future__ import annotations

import hashlib
import io
import json
import re
from decimal import Decimal

import pytest
from PIL import Image

from generator.common.rng import derive_rng
from generator.core.answers import answer_phrase, check_answer, list_items
from generator.generation.sources import QA, get_source, image_meta, render_image
from generator.generation.sources.families import all_families, family_by_name
from generator.generation.sources.mix import procedural_image_spec

FAMILIES = all_families()
FAMILY_IDS = [f.name for f in FAMILIES]
SEEDS = range(3)


def wrong_answer(reference: str, answer_type: str) -> str:
    """A response that gives a different answer of the same type."""
    if answer_type == "number":
        return f"The answer is {Decimal(reference) + 7}."
    if answer_type == "yes/no":
        return "No." if reference == "yes" else "Yes."
    if answer_type == "list":
        items = list_items(reference)
        return "The answer is " + " and ".join(items[1:]) + "." if len(items) > 1 else "There are none."
    if answer_type == "sequence":
        items = list_items(reference)
        return "The answer is " + " and ".join(reversed(items)) + "." if len(items) > 1 else "There are none."
    return "The answer is zzzqx."


def test_at_least_six_families_with_distinct_names():
    assert len(FAMILIES) >= 6
    assert len(set(FAMILY_IDS)) == len(FAMILY_IDS)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_family_walk(family, difficulty):
    for seed in SEEDS:
        spec = family.sample_valid(derive_rng(seed, "test", family.name, difficulty), difficulty)
        again = family.sample_valid(derive_rng(seed, "test", family.name, difficulty), difficulty)
        assert spec == again, "same RNG key must give the same spec"
        assert json.loads(json.dumps(spec)) == spec, "specs are pure JSON data"
        assert family.problems(spec) == []

        image_spec = procedural_image_spec(family, spec)
        data, fmt = render_image(image_spec)
        assert fmt == "png"
        assert render_image(json.loads(json.dumps(image_spec)))[0] == data, "rendering must be deterministic"
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format == "PNG"
            assert max(image.size) <= 512
            assert "icc_profile" not in image.info
        assert image_meta(image_spec)["license"]

        asks = family.questions(spec, "Image2", derive_rng(seed, "q"))
        assert len(asks) >= 4
        kinds = {t for _, _, t in asks}
        assert len(kinds) >= 2, "several kinds of question per image"
        for question, reference, answer_type in asks:
            assert "Image2" in question
            assert answer_type in family.question_types
            QA(question, reference, answer_type, [1])  # validates type and reference
            if answer_type in ("number", "yes/no"):
                # repeating the question must not count as giving the answer
                assert not check_answer(reference, answer_type, question), (question, reference)
            good = f"Looking closely, {answer_phrase(reference, answer_type)}."
            assert check_answer(reference, answer_type, good), (question, reference)
            assert not check_answer(reference, answer_type, wrong_answer(reference, answer_type)), (question, reference)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_family_compare_questions_name_winners(family):
    rng = derive_rng("compare", family.name)
    found = 0
    for _ in range(4):
        specs = [family.sample_valid(rng, 2) for _ in range(3)]
        for names in (["Image1", "Image3"], ["Image1", "Image2", "Image3"]):
            for question, reference, answer_type in family.compare(specs[: len(names)], names, rng):
                found += 1
                assert all(name in question for name in names), question
                if answer_type == "word" and re.fullmatch(r"Image\d", reference):
                    assert reference in names
                    # repeating the options of the question does not answer it
                    assert not check_answer(reference, answer_type, question), question
                    loser = next(name for name in names if name != reference)
                    assert not check_answer(reference, answer_type, f"{loser} does."), question
                assert check_answer(reference, answer_type, answer_phrase(reference, answer_type))
    assert found > 0


# ----------------------------------------------------------------------------- answers recomputed by hand
BAR = {"title": "Fruit sold", "labels": ["Apples", "Pears", "Plums"], "values": [12, 30, 7],
       "colors": ["red", "blue", "green"], "ymax": 30, "step": 5, "show_values": True, "font_size": 14}
SHAPES = {"level": 1, "background": 0, "shapes": [
    {"kind": "circle", "color": "red", "x": 60, "y": 60, "r": 30},
    {"kind": "circle", "color": "blue", "x": 200, "y": 60, "r": 30},
    {"kind": "square", "color": "red", "x": 60, "y": 300, "r": 30},
]}
CLOCK = {"hour": 3, "minute": 40, "numerals": "all", "face": 0, "rim": "black"}
CALENDAR = {"year": 2026, "month": 11, "marked": [3, 22], "color": "red", "shade_weekends": True}

HAND_CHECKED = [
    ("bar_chart", BAR, "which category has the highest value", "Pears"),
    ("bar_chart", BAR, "which category has the lowest value", "Plums"),
    ("bar_chart", BAR, "what is the sum of all the values", "49"),
    ("bar_chart", BAR, "list the categories from the highest", "Pears, Apples, Plums"),
    ("shapes", SHAPES, "How many circles", "2"),
    ("shapes", SHAPES, "How many red shapes", "2"),
    ("shapes", SHAPES, "How many shapes are there", "3"),
    ("clock", CLOCK, "What hour does the clock", "3"),
    ("clock", CLOCK, "How many minutes past the hour", "40"),
    ("clock", CLOCK, "minutes are left until the next full hour", "20"),
    ("calendar", CALENDAR, "begin", "Sunday"),  # 1 November 2026 is a Sunday
    ("calendar", CALENDAR, "How many days does the month", "30"),
    ("calendar", CALENDAR, "fall on a Saturday or Sunday", "1"),  # the 22nd is a Sunday, the 3rd a Tuesday
]


@pytest.mark.parametrize(("family_name", "spec", "fragment", "expected"), HAND_CHECKED)
def test_reference_answers_match_hand_computed(family_name, spec, fragment, expected):
    family = family_by_name(family_name)
    assert family.problems(spec) == []
    matches = []
    for seed in range(20):  # some questions are drawn at random: look across draws
        matches += [ref for q, ref, _ in family.questions(spec, "Image1", derive_rng(seed)) if fragment in q]
    assert matches, f"no question containing {fragment!r}"
    assert set(matches) == {expected}


# ----------------------------------------------------------------------------- ambiguity checks
AMBIGUOUS = [
    ("bar_chart", {**BAR, "values": [30, 30, 7]}),  # tie for the highest bar
    ("bar_chart", {**BAR, "labels": ["Apples", "Pears", "Supercalifragilistic"]}),  # label wider than its slot
    ("shapes", {**SHAPES, "shapes": [*SHAPES["shapes"], {"kind": "star", "color": "blue", "x": 80, "y": 70, "r": 30}]}),
    ("shapes", {**SHAPES, "shapes": [{"kind": "circle", "color": "red", "x": 5, "y": 60, "r": 30}, SHAPES["shapes"][1]]}),
    ("clock", {**CLOCK, "hour": 12, "minute": 0}),  # hands on top of each other
    ("pie_chart", {"title": "Trip to work", "labels": ["Car", "Bus", "Bike"], "values": [40, 35, 25],
                   "colors": ["red", "blue", "green"], "show_values": False}),  # 40 vs 35 too close to judge
    ("line_chart", {"title": "Members", "years": [2020, 2021, 2022], "step": 10, "ymax": 50, "show_values": True,
                    "font_size": 13, "series": [{"name": "North", "color": "blue", "values": [40, 10, 40]}]}),
    ("line_chart", {"title": "Members", "years": [2020, 2021, 2022], "step": 10, "ymax": 50, "show_values": True,
                    "font_size": 13, "series": [{"name": "North", "color": "blue", "values": [2, 30, 20]}]}),
    ("grid_map", {"size": 2, "terrain": ["blue"], "cells": [["blue", "white"], ["white", "white"]],
                  "star": [0, 1], "dot": [0, 1]}),
]


@pytest.mark.parametrize(("family_name", "spec"), AMBIGUOUS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(AMBIGUOUS)])
def test_ambiguity_check_rejects(family_name, spec):
    assert family_by_name(family_name).problems(spec)


def test_compare_skips_ties():
    family = family_by_name("bar_chart")
    a = {**BAR}
    b = {**BAR, "values": [1, 2, 3]}  # same number of bars as a
    asks = family.compare([a, b], ["Image1", "Image2"], derive_rng(0))
    assert not any("more bars" in q for q, _, _ in asks)
    c = {**BAR, "labels": ["Apples", "Pears"], "values": [3, 4], "colors": ["red", "blue"]}
    asks = family.compare([a, c], ["Image1", "Image2"], derive_rng(0))
    assert ("Which of Image1 and Image2 has more bars?", "Image1", "word") in asks


# ----------------------------------------------------------------------------- sources built on the families
@pytest.mark.parametrize("name", ["mix", *FAMILY_IDS])
def test_procedural_source_chat(name):
    source = get_source(name)
    assert source.kind == "procedural"
    first = source.sample_chat(derive_rng(5, "test", "material", 0), 4, 20)
    again = source.sample_chat(derive_rng(5, "test", "material", 0), 4, 20)
    assert first == again
    assert len(first.images) == 4 and len(first.qas) == 20
    assert len({qa.question for qa in first.qas}) == 20
    json.dumps(first.images)
    for qa in first.qas:
        assert qa.image_indices and all(0 <= i < 4 for i in qa.image_indices)
        for i in qa.image_indices:
            assert f"Image{i + 1}" in qa.question
        if len(qa.image_indices) > 1:
            assert len({first.images[i]["family"] for i in qa.image_indices}) == 1, "compare within a family"


def test_mix_uses_several_families_and_comparisons():
    source = get_source("mix")
    families, multi = set(), 0
    for index in range(30):
        material = source.sample_chat(derive_rng(1, "test", "material", index), 5, 20)
        families.update(image["family"] for image in material.images)
        multi += sum(len(qa.image_indices) > 1 for qa in material.qas)
    assert families == set(FAMILY_IDS)
    assert multi > 30


def test_difficulty_changes_scenes():
    easy = get_source("bar_chart", difficulty=1).sample_chat(derive_rng(0), 3, 5)
    hard = get_source("bar_chart", difficulty=3).sample_chat(derive_rng(0), 3, 5)
    assert all(image["spec"]["show_values"] for image in easy.images)
    assert not any(image["spec"]["show_values"] for image in hard.images)
    assert max(len(i["spec"]["values"]) for i in hard.images) > max(len(i["spec"]["values"]) for i in easy.images)


GOLDEN = {
    "mix": "be26ec6624151febcf8c9229fd977db5df48c678b7745351d1e9f3ac25992a06",
    "receipt": "326c14cf3becd1a78132bbb77141ba4f719d112f189d397cda4753b3f5c6b834",
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_material_is_stable(name):
    """A seed must keep giving the same chats across releases and machines (Faker en_US included).

    If a deliberate change to a family's sampling breaks this, datasets made with the same seed change too:
    update the digest and say so in the release notes.
    """
    material = get_source(name).sample_chat(derive_rng(7, "test", "plan", 0, "material"), 3, 6)
    blob = json.dumps({"images": material.images, "qas": [qa.to_dict() for qa in material.qas]}, sort_keys=True)
    assert hashlib.sha256(blob.encode()).hexdigest() == GOLDEN[name]


ORDERED_WORDING = re.compile(r"\border\b|\bfrom the \w+ \w* ?to\b|\bfrom left to right\b|\bfrom the highest\b")


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_ordered_questions_are_sequences(family):
    """A question that asks for an order is checked in that order; other lists are checked in any order."""
    for seed in range(6):
        spec = family.sample_valid(derive_rng(seed, "order", family.name), 2)
        for question, reference, answer_type in family.questions(spec, "Image1", derive_rng(seed, "q")):
            if answer_type not in ("list", "sequence"):
                continue
            ordered = bool(ORDERED_WORDING.search(question))
            assert answer_type == ("sequence" if ordered else "list"), question
            items = list_items(reference)
            if ordered and len(set(items)) > 1:
                reordered = items[1:] + items[:1]
                assert not check_answer(reference, answer_type, " and ".join(reordered)), question


@pytest.mark.parametrize(("values", "question", "expected", "wrong"), [
    ([40, 20, 10], "how much lower is the value of", "30", "-30"),
    ([10, 20, 50], "how much higher is the value of", "40", "-40"),
])
def test_line_chart_differences_state_their_direction(values, question, expected, wrong):
    """The question names the direction, so the answer is one unsigned amount and a signed one is wrong."""
    family = family_by_name("line_chart")
    spec = family.sample_valid(derive_rng(0, "line"), 1)
    spec["series"] = [dict(spec["series"][0], values=values)]
    spec["years"] = spec["years"][:3]
    found = []
    for seed in range(30):
        for text, reference, answer_type in family.questions(spec, "Image1", derive_rng(seed, "q")):
            assert "change" not in text
            if question in text and text.endswith(f"in {spec['years'][2]} than in {spec['years'][0]}?"):
                found.append((reference, answer_type))
                assert check_answer(reference, answer_type, f"It is {expected}.")
                assert not check_answer(reference, answer_type, f"It is {wrong}.")
    assert found and all(reference == expected for reference, _ in found)


def test_receipt_faker_gives_what_the_full_faker_gives():
    """The receipts' Faker has three providers, not all of them: the same seeds must give the same names."""
    from faker import Faker

    from generator.generation.sources.families.receipt import _faker

    full, reduced = Faker("en_US"), _faker()
    for seed in range(0, 2**62, 2**62 // 1500):
        full.seed_instance(seed)
        reduced.seed_instance(seed)
        assert (full.company(), full.city(), full.state_abbr(), full.first_name()) == \
            (reduced.company(), reduced.city(), reduced.state_abbr(), reduced.first_name()), seed
