"""Image-grounded instructions: checkers (table-driven), parameters true of the scenes they came from, witnesses
and perturbations over chat-sampled parameters, responses that ignore the images, sources without facts, the
grounded preset end to end, and the image-grounded vs text-only split of the report."""

from __future__ import annotations

import calendar
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.authoring import compatible, compose_witness, conflicts
from generator.cli import cli
from generator.common.rng import derive_rng
from generator.core.instructions import Instruction, all_types, check, get_type, instruction_set, is_grounded
from generator.core.instructions.facts import ChatFacts, ImageFacts
from generator.core.instructions.types.grounded import EXAMPLE_FACTS, term_count
from generator.generation.plan import plan_conversation
from generator.generation.sources import get_source
from generator.generation.sources.examples import EXAMPLE_SCENES, example_chat_facts, example_image_path
from generator.generation.variants import get_variant

GROUNDED = [kind for kind in all_types() if is_grounded(kind)]
DOCS = Path(__file__).resolve().parents[2] / "docs"

# (type id, kwargs, text, expected ok)
CASES: list[tuple[str, dict, str, bool]] = [
    ("grounded:image_count", {"n": 3}, "You showed me three images. Fine.", True),
    ("grounded:image_count", {"n": 3}, "**3 images** in all.", True),
    ("grounded:image_count", {"n": 3}, "Image3 is a chart. There are 3 images.", False),
    ("grounded:image_count", {"n": 3}, "I see 13 images.", False),
    ("grounded:image_count", {"n": 1}, "One image only.", True),
    ("grounded:image_count", {"n": 3}, "", False),
    ("grounded:quoted_title", {"titles": ["Fruit sold"]}, "The chart ‘Fruit sold’ is clear.", True),
    ("grounded:quoted_title", {"titles": ["Fruit sold"]}, "'FRUIT SOLD' and 'fruit sold'.", True),
    ("grounded:quoted_title", {"titles": ["Fruit sold"]}, "'Fruit sold' then Fruit sold.", False),
    ("grounded:quoted_title", {"titles": ["Fruit sold"]}, "'Fruit' sold.", False),
    ("grounded:quoted_title", {"titles": ["Fruit sold"]}, "Fruit sold well.", False),
    ("grounded:colour_caps", {"colours": ["red", "blue"]}, "A RED bar. Reddish? BLUE.", True),
    ("grounded:colour_caps", {"colours": ["red", "blue"]}, "A RED bar and a Blue one.", False),
    ("grounded:colour_caps", {"colours": ["red", "blue"]}, "A green bar.", False),
    ("grounded:chart_maximum", {"image": 1, "title": "Fruit sold", "value": 7}, "Seven at most.", True),
    ("grounded:chart_maximum", {"image": 1, "title": "Fruit sold", "value": 7}, "Image7 and 17 and 7.5.", False),
    ("grounded:chart_maximum", {"image": 1, "title": "Fruit sold", "value": 30}, "Up to 30%.", True),
    ("grounded:top_category", {"image": 1, "title": "Fruit sold", "category": "Peaches"}, "A peach.", True),
    ("grounded:top_category", {"image": 1, "title": "Fruit sold", "category": "Peaches"}, "Pea.", False),
    ("grounded:closed_vocabulary", {"shown": ["Cats"], "absent": ["Dogs", "Fish"]}, "A cat.", True),
    ("grounded:closed_vocabulary", {"shown": ["Cats"], "absent": ["Dogs", "Fish"]}, "Cats, not dogs.", False),
    ("grounded:closed_vocabulary", {"shown": ["Cats"], "absent": ["Dogs", "Fish"]}, "Fishes and cats.", False),
    ("grounded:closed_vocabulary", {"shown": ["Cats"], "absent": ["Dogs", "Fish"]}, "Catfish? No: a hotdog.", False),
    ("grounded:clock_time", {"image": 1, "hour": 9, "minute": 5}, "At 9:05 sharp.", True),
    ("grounded:clock_time", {"image": 1, "hour": 9, "minute": 5}, "At 9:5 or 19:05.", False),
    ("grounded:receipt_items", {"image": 1, "items": ["Milk", "Tea"]}, "Tea? First milk, then tea.", True),
    ("grounded:receipt_items", {"image": 1, "items": ["Milk", "Tea"]}, "Tea, then milk.", False),
    ("grounded:receipt_total", {"image": 1, "total": "7.05"}, "Total: $7.05!", True),
    ("grounded:receipt_total", {"image": 1, "total": "7.05"}, "Total: $7.5 or 7.05.", False),
    ("grounded:circled_weekday", {"image": 1, "year": 2024, "month": 2, "days": [29]}, "Thursday the 29th.", True),
    ("grounded:circled_weekday", {"image": 1, "year": 2024, "month": 2, "days": [29]}, "Friday the 29th.", False),
    ("grounded:circled_weekday", {"image": 1, "year": 2024, "month": 2, "days": [29]},
     "Thursday the 29th, Friday the 1st.", True),
    ("grounded:star_cell", {"image": 1, "cell": "B3"}, "Star at b3.", True),
    ("grounded:star_cell", {"image": 1, "cell": "B3"}, "Star at B 3 or B33.", False),
    ("grounded:shape_count", {"image": 1, "n": 12}, "Twelve shapes.", True),
    ("grounded:shape_count", {"image": 1, "n": 12}, "12 circles, not shapes.", False),
    ("grounded:peak_year", {"image": 1, "title": "Members", "year": 2019}, "In 2019.", True),
    ("grounded:peak_year", {"image": 1, "title": "Members", "year": 2019}, "In 2018-2020.", False),
]


@pytest.mark.parametrize(("type_id", "kwargs", "text", "expected"), CASES)
def test_checker_table(type_id: str, kwargs: dict, text: str, expected: bool) -> None:
    verdict = check(Instruction(type_id, kwargs), text)
    assert verdict.ok is expected, verdict.reason
    assert verdict.reason


def test_every_grounded_type_has_table_cases_both_ways() -> None:
    assert len(GROUNDED) >= 12
    for kind in GROUNDED:
        outcomes = {ok for type_id, _, _, ok in CASES if type_id == kind.id}
        assert outcomes == {True, False}, kind.id


@pytest.mark.parametrize(("type_id", "kwargs"), [
    ("grounded:receipt_total", {"image": 1, "total": "7.5"}),
    ("grounded:circled_weekday", {"image": 1, "year": 2023, "month": 2, "days": [29]}),
    ("grounded:star_cell", {"image": 1, "cell": "b3"}),
    ("grounded:closed_vocabulary", {"shown": ["Cats"], "absent": ["cats"]}),
    ("grounded:quoted_title", {"titles": []}),
    ("grounded:circled_weekday", {"image": 1, "year": 2024, "month": 2, "days": [True]}),
])
def test_impossible_parameters_are_refused(type_id: str, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Instruction(type_id, kwargs)


def test_catalogue_sets_and_json_mark_grounded_types() -> None:
    assert {k.id for k in instruction_set("grounded")} == {k.id for k in GROUNDED} | {
        k.id for k in instruction_set("official")}
    assert not any(is_grounded(k) for k in instruction_set("extended"))
    result = CliRunner().invoke(cli, ["instructions", "--json", "--set", "grounded"])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.output)}
    for kind in GROUNDED:
        assert rows[kind.id]["image_grounded"] is True
        assert rows[kind.id]["facts"] and rows[kind.id]["facts"] == list(kind.facts_used)
    assert rows["start:letter"]["image_grounded"] is False and rows["start:letter"]["facts"] == []


# ------------------------------------------------------------------------------------ the example chat and docs
def test_example_facts_are_derived_from_the_example_scenes() -> None:
    assert example_chat_facts() == EXAMPLE_FACTS


def test_documented_examples_are_true_of_the_example_chat() -> None:
    for kind in GROUNDED:
        example = kind.examples[0]
        assert _true_of_example(kind.id, dict(example.kwargs)), kind.id
        assert kind.sample_for_chat(derive_rng(0, "example", kind.id), EXAMPLE_FACTS) is not None


def _true_of_example(type_id: str, kwargs: dict) -> bool:
    scenes = [dict(spec, family=family) for family, spec in EXAMPLE_SCENES]
    return _supported(type_id, kwargs, scenes, list(EXAMPLE_FACTS.questions))


def test_example_images_in_docs_are_the_rendered_scenes() -> None:
    from generator.generation.sources import drawing
    from generator.generation.sources.families import FAMILIES

    for position, (family, spec) in enumerate(EXAMPLE_SCENES, start=1):
        stored = (DOCS / example_image_path(position)).read_bytes()
        assert stored == drawing.encode_png(FAMILIES.get(family).render(spec)), position
    text = (DOCS / "instructions.md").read_text()
    for kind in GROUNDED:
        assert f"### `{kind.id}`" in text


# ------------------------------------------------------------------- parameters re-derived from the raw specs
def _title(scene: dict) -> str | None:
    family = scene["family"]
    if family in ("bar_chart", "line_chart", "pie_chart"):
        return scene["title"]
    if family == "receipt":
        return scene["store"]
    if family == "calendar":
        return f"{calendar.month_name[scene['month']]} {scene['year']}"
    return None


def _colours(scene: dict) -> set[str]:
    family = scene["family"]
    if family in ("bar_chart", "pie_chart"):
        return set(scene["colors"])
    if family == "line_chart":
        return {s["color"] for s in scene["series"]}
    if family == "shapes":
        return {s["color"] for s in scene["shapes"]}
    if family == "clock":
        return {scene["rim"]}
    if family == "calendar":
        return {scene["color"]}
    if family == "grid_map":
        return {c for row in scene["cells"] for c in row} | {"yellow", "red"}
    return set()


def _names(scene: dict) -> set[str]:
    family = scene["family"]
    if family in ("bar_chart", "pie_chart"):
        return set(scene["labels"])
    if family == "receipt":
        return {item["name"] for item in scene["items"]}
    if family == "shapes":
        return {s["kind"] for s in scene["shapes"]}
    if family == "line_chart":
        return {s["name"] for s in scene["series"]}
    if family == "grid_map":
        return {"star", "dot"}
    return set()


def _supported(type_id: str, kw: dict, scenes: list[dict], questions: list[str]) -> bool:
    """Whether ``kw`` is true of the raw scene specs, computed here from the specs alone."""
    scene = scenes[kw["image"] - 1] if "image" in kw else None
    family = scene["family"] if scene else None
    if type_id == "grounded:image_count":
        return kw["n"] == len(scenes)
    if type_id == "grounded:quoted_title":
        titles = [_title(s) for s in scenes]
        return all(titles.count(t) == 1 for t in kw["titles"])
    if type_id == "grounded:colour_caps":
        return all(any(c in _colours(s) for s in scenes) for c in kw["colours"])
    if type_id == "grounded:closed_vocabulary":
        everything = {n.casefold() for s in scenes for n in _names(s)}
        return (all(n.casefold() in everything for n in kw["shown"])
                and not any(a.casefold() in everything for a in kw["absent"])
                and not any(a.casefold() in q.casefold() for a in kw["absent"] for q in questions))
    assert scene is not None
    if "title" in kw and kw["title"] != _title(scene):
        return False
    if type_id == "grounded:chart_maximum":
        if family == "line_chart":
            return kw["value"] == max(v for s in scene["series"] for v in s["values"])
        # bar values are printed or sit on gridlines; pie shares are readable only when printed
        readable = family == "bar_chart" or (family == "pie_chart" and scene["show_values"])
        return readable and kw["value"] == max(scene["values"])
    if type_id == "grounded:top_category":
        values = scene["values"]
        return family in ("bar_chart", "pie_chart") and kw["category"] == scene["labels"][values.index(max(values))]
    if type_id == "grounded:peak_year":
        points = [(v, scene["years"][i]) for s in scene["series"] for i, v in enumerate(s["values"])]
        return kw["year"] == max(points)[1]
    if type_id == "grounded:clock_time":
        return family == "clock" and (kw["hour"], kw["minute"]) == (scene["hour"], scene["minute"])
    if type_id == "grounded:receipt_items":
        return family == "receipt" and kw["items"] == [item["name"] for item in scene["items"]]
    if type_id == "grounded:receipt_total":
        cents = sum(item["qty"] * item["unit_cents"] for item in scene["items"])
        return family == "receipt" and kw["total"] == f"{cents // 100}.{cents % 100:02d}"
    if type_id == "grounded:circled_weekday":
        return family == "calendar" and (kw["year"], kw["month"], kw["days"]) == (
            scene["year"], scene["month"], sorted(scene["marked"]))
    if type_id == "grounded:star_cell":
        row, col = scene["star"]
        return family == "grid_map" and kw["cell"] == f"{chr(ord('A') + col)}{row + 1}"
    if type_id == "grounded:shape_count":
        return family == "shapes" and kw["n"] == len(scene["shapes"])
    raise AssertionError(f"no re-derivation for {type_id}")


def _plans(count: int, difficulty: int, source: str = "mix"):
    cfg = get_variant("grounded")
    src = get_source(source, difficulty=difficulty)
    return [plan_conversation(cfg, seed=11, split="test", index=i, source=src) for i in range(count)]


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_every_sampled_parameter_is_true_of_its_scene(difficulty: int) -> None:
    seen: set[str] = set()
    for plan in _plans(40, difficulty):
        scenes = [dict(image["spec"], family=image["family"]) for image in plan.images]
        questions = [turn.qa.question for turn in plan.turns]
        for active in plan.turns[-1].active:
            inst = active.instruction
            if inst.id.startswith("grounded:"):
                seen.add(inst.id)
                assert _supported(inst.id, json.loads(inst.kwargs), scenes, questions), (plan.id, inst)
    assert len(seen) >= 10, seen


def test_single_family_chats_host_only_what_their_images_support() -> None:
    allowed = {
        "clock": {"grounded:image_count", "grounded:colour_caps", "grounded:clock_time"},
        "shapes": {"grounded:image_count", "grounded:colour_caps", "grounded:shape_count",
                   "grounded:closed_vocabulary"},
        "receipt": {"grounded:image_count", "grounded:quoted_title", "grounded:closed_vocabulary",
                    "grounded:receipt_items", "grounded:receipt_total"},
    }
    for family, ids in allowed.items():
        used = {a.instruction.id for plan in _plans(15, 1, family) for a in plan.turns[-1].active}
        grounded = {i for i in used if i.startswith("grounded:")}
        assert grounded and grounded <= ids, (family, grounded)


# ---------------------------------------------------------------- witnesses, perturbations and blind responses
def _chat_samples() -> list[tuple[Instruction, ChatFacts]]:
    source = get_source("mix", difficulty=2)
    out = []
    for index in range(30):
        rng = derive_rng(5, "grounded-test", index)
        material = source.sample_chat(rng, rng.randint(2, 5), 20)
        facts = source.chat_facts(material)
        for kind in GROUNDED:
            kwargs = kind.sample_for_chat(derive_rng(5, "grounded-test", kind.id, index), facts)
            if kwargs is not None:
                out.append((Instruction(kind.id, kwargs), facts))
    return out


ANSWERS = [None, "12", "Image2", "red, green and blue", "yes", "1, 2, 23", "Apples"]


def _answer(active: list[Instruction], index: int) -> str | None:
    """One of ANSWERS; a reference answer comes from the chat's images, so never a name they do not show."""
    answer = ANSWERS[index % len(ANSWERS)]
    for inst in active:
        if inst.id == "grounded:closed_vocabulary" and answer and any(
                term_count(answer, name) for name in inst.kwargs["absent"]):
            return None
    return answer


def test_chat_sampled_parameters_have_witnesses_that_perturbations_break() -> None:
    samples = _chat_samples()
    assert {inst.id for inst, _ in samples} == {k.id for k in GROUNDED}
    for number, (inst, _) in enumerate(samples):
        text = compose_witness([inst], answer=_answer([inst], number))
        assert check(inst, text).ok, (inst, text)
        broken = get_type(inst.id).perturb(dict(inst.kwargs), text)
        assert not check(inst, broken).ok, (inst, broken)


def test_grounded_types_pair_with_every_other_type_in_both_directions() -> None:
    samples = _chat_samples()
    others = []
    for kind in all_types():
        rng = derive_rng(9, "pairs", kind.id)
        others.extend(Instruction(kind.id, kind.sample_kwargs(rng)) for _ in range(2))
    checked = 0
    for number, (grounded, _) in enumerate(samples[::3]):
        for other in others:
            if other.id == grounded.id or conflicts(grounded, other):
                assert conflicts(other, grounded) if other.id != grounded.id else True
                continue
            assert not conflicts(other, grounded)
            answer = _answer([grounded, other], number + checked)
            if not compatible([grounded, other]):
                continue
            text = compose_witness([grounded, other], answer=answer)
            assert check(grounded, text).ok and check(other, text).ok, (grounded, other, text)
            checked += 1
    assert checked > 500


def test_responses_that_ignore_the_images_fail() -> None:
    """A response that follows every text-only rule but never looks at the images breaks every grounded rule."""
    blind = [compose_witness([inst]) for _, inst in _official()]
    blind += ["I cannot see any images, but I am happy to help with your question.",
              "The chart shows several categories with different values; the largest one stands out."]
    failures = 0
    total = 0
    for inst, _ in _chat_samples():
        for text in blind:
            total += 1
            failures += not check(inst, text).ok
    assert failures == total


def _official():
    from generator.authoring import official_catalogue

    return official_catalogue()


# ------------------------------------------------------------------------------------ sources without facts
def test_sources_without_scene_facts_offer_only_the_image_count(tmp_path, png) -> None:
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(png("red"))
    lines = [{"file_name": n, "question": "What is shown?"} for n in ("a.png", "b.png", "c.png")]
    (tmp_path / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    source = get_source(f"folder:{tmp_path}")
    material = source.sample_chat(derive_rng(0, "t"), 3, 4)
    facts = source.chat_facts(material)
    hosted = {k.id for k in GROUNDED if k.sample_for_chat(derive_rng(0, k.id), facts) is not None}
    assert hosted == {"grounded:image_count"}
    photos = get_source("photos")
    photo_facts = photos.chat_facts(photos.sample_chat(derive_rng(0, "p"), 2, 3))
    assert {k.id for k in GROUNDED if k.sample_for_chat(derive_rng(0, k.id), photo_facts)} == {
        "grounded:image_count"}


def test_folder_metadata_gives_titles_and_objects(tmp_path, png) -> None:
    records = [
        {"file_name": "a.png", "question": "What is shown?", "title": "Harbour at dawn", "objects": ["boat", "gull"]},
        {"file_name": "b.png", "question": "What is shown?", "title": "Old mill", "objects": ["mill"]},
        {"file_name": "c.png", "question": "What is shown?", "objects": ["tractor"]},
    ]
    for record in records:
        (tmp_path / record["file_name"]).write_bytes(png("blue"))
    (tmp_path / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    source = get_source(f"folder:{tmp_path}")
    material = source.sample_chat(derive_rng(0, "t"), 2, 3)
    facts = source.chat_facts(material)
    files = [spec["file"] for spec in material.images]
    titles = get_type("grounded:quoted_title").sample_for_chat(derive_rng(0, "q"), facts)
    expected_titles = [r["title"] for f in files for r in records if r["file_name"] == f and "title" in r]
    assert (titles or {}).get("titles", []) == expected_titles
    vocab = get_type("grounded:closed_vocabulary").sample_for_chat(derive_rng(0, "v"), facts)
    assert vocab is not None
    shown = {o for f in files for r in records if r["file_name"] == f for o in r["objects"]}
    assert set(vocab["shown"]) == shown
    assert set(vocab["absent"]) == {"boat", "gull", "mill", "tractor"} - shown


def test_hf_rows_give_titles_and_objects(tmp_path) -> None:
    import datasets
    from PIL import Image

    images = [Image.new("RGB", (8, 8), c) for c in ("red", "blue", "green")]
    ds = datasets.Dataset.from_dict({"img": images, "q": ["What is it?"] * 3, "name": ["Red card", None, "Green card"],
                                     "things": [["card"], ["sky"], ["grass", "card"]]})
    ds.cast_column("img", datasets.Image()).save_to_disk(str(tmp_path / "saved"))
    source = get_source(f"hf:{tmp_path / 'saved'}", column_map="image=img,question=q,title=name,objects=things")
    material = source.sample_chat(derive_rng(1), 2, 3)
    facts = source.chat_facts(material)
    rows = [spec["row"] for spec in material.images]
    names = ["Red card", None, "Green card"]
    things = [["card"], ["sky"], ["grass", "card"]]
    assert [f.title for f in facts.images] == [names[r] for r in rows]
    assert [list(f.categories) for f in facts.images] == [things[r] for r in rows]
    assert all(f.category_pool == ("card", "grass", "sky") for f in facts.images)
    bad = datasets.Dataset.from_dict({"img": images[:1], "q": ["Q?"], "things": ["card"]})
    bad.cast_column("img", datasets.Image()).save_to_disk(str(tmp_path / "bad"))
    from generator.common.errors import UserError

    with pytest.raises(UserError, match="objects"):
        get_source(f"hf:{tmp_path / 'bad'}", column_map="image=img,question=q,objects=things")


def test_folder_metadata_errors_name_the_field(tmp_path, png) -> None:
    from generator.common.errors import UserError

    (tmp_path / "a.png").write_bytes(png("red"))
    (tmp_path / "metadata.jsonl").write_text(json.dumps({"file_name": "a.png", "question": "Q?", "objects": "boat"})
                                             + "\n")
    with pytest.raises(UserError, match="objects") as info:
        get_source(f"folder:{tmp_path}")
    assert "line 1" in str(info.value)


def test_image_facts_default_is_unknown_content() -> None:
    assert ImageFacts().to_dict() == {"kind": "image"}


# ---------------------------------------------------------------------------------------------- end to end
def test_grounded_variant_dataset_is_valid_and_its_oracle_scores_one(tmp_path) -> None:
    out = tmp_path / "ds"
    runner = CliRunner()
    result = runner.invoke(cli, ["gen", "--variant", "grounded", "--conversations", "8", "--turns", "10",
                                 "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["validate", str(out)]).exit_code == 0
    responses = tmp_path / "oracle.jsonl"
    assert runner.invoke(cli, ["oracle", "--dataset", str(out), "--out", str(responses), "--quiet"]).exit_code == 0
    report_path = tmp_path / "report.json"
    result = runner.invoke(cli, ["score", "--dataset", str(out), "--responses", str(responses),
                                 "--out", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["pif"] == 1.0
    assert report["answers"]["accuracy"] == 1.0
    split = report["by_grounding"]
    assert split["image_grounded"]["responses"] > 0 and split["image_grounded"]["pif"] == 1.0
    assert split["text_only"]["pif"] == 1.0
    assert "image-grounded PIF: 1.000" in result.output and "text-only PIF: 1.000" in result.output


def test_report_splits_grounded_and_text_only_pif() -> None:
    from generator.scoring.evaluation import score_rows

    turn = {"turn": 1, "question": "Q?", "reference_answer": "", "answer_type": "open", "distractors": [],
            "active_instructions": [
                {"id": "grounded:star_cell", "kwargs": json.dumps({"image": 1, "cell": "C4"}), "given_at": 1},
                {"id": "grounded:shape_count", "kwargs": json.dumps({"image": 2, "n": 5}), "given_at": 1},
                {"id": "start:letter", "kwargs": json.dumps({"letter": "S"}), "given_at": 1}]}
    rows = [{"id": "c1", "turns": [turn]}, {"id": "c2", "turns": [dict(turn, active_instructions=[
        turn["active_instructions"][2]])]}]
    responses = [{"id": "c1", "turn": 1, "response": "So the star is in C4."},
                 {"id": "c2", "turn": 1, "response": "Yes."}]
    report = score_rows(rows, responses)
    image, text = report["by_grounding"]["image_grounded"], report["by_grounding"]["text_only"]
    assert {k: image[k] for k in ("responses", "pif", "checks", "followed", "rate")} == {
        "responses": 1, "pif": 0.5, "checks": 2, "followed": 1, "rate": 0.5}
    assert {k: text[k] for k in ("responses", "pif", "checks", "followed", "rate")} == {
        "responses": 2, "pif": 0.5, "checks": 2, "followed": 1, "rate": 0.5}
    assert image["ci95"] == report["intervals"]["image_grounded_pif"]
    from generator.scoring.report import validate_report

    assert validate_report(report)


def test_grounded_intervals_resample_conversations() -> None:
    """Each kind's PIF has a bootstrap interval over conversations that contains the reported value."""
    from generator.scoring.evaluation import score_rows

    star = {"id": "grounded:star_cell", "kwargs": json.dumps({"image": 1, "cell": "C4"}), "given_at": 1}
    letter = {"id": "start:letter", "kwargs": json.dumps({"letter": "S"}), "given_at": 1}
    base = {"question": "Q?", "reference_answer": "", "answer_type": "open", "distractors": []}
    rows, responses = [], []
    for index in range(12):
        rows.append({"id": f"c{index}", "turns": [dict(base, turn=1, active_instructions=[star, letter])]})
        text = "So C4." if index % 3 else "No cell here."
        responses.append({"id": f"c{index}", "turn": 1, "response": text})
    report = score_rows(rows, responses)
    for kind in ("image_grounded", "text_only"):
        part = report["by_grounding"][kind]
        low, high = part["ci95"]
        assert low <= part["pif"] <= high
    assert report["by_grounding"]["image_grounded"]["pif"] == 8 / 12
