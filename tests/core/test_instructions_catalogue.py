"""Registry, official wordings, wording templates, conflict rules and the `mmmtif instructions` command."""

from __future__ import annotations

import itertools
import json
import textwrap

import pytest
from click.testing import CliRunner

from generator.authoring import conflicts, official_catalogue, parse_official, revoke_wording, update_wording
from generator.authoring.wording import phrasing_count, render_wording
from generator.common.rng import derive_rng
from generator.core.instructions import Instruction, all_types, get_type, instruction_set, vocab

# The 13 wordings of the official release, typed out independently of the catalogue module.
OFFICIAL_TEXTS = [
    "Make all the following responses no more than 4 sentences.",
    "Make all the following responses at least 5 sentences.",
    "Include at least one odd number bigger than 5 in each of your responses.",
    "Include at least one even number in the range bigger than 5 in each of your responses.",
    "Start every sentence with the letter (S).",
    "Start every sentence with the letter (B).",
    "End every sentence with a question mark (?).",
    "End every sentence with a exclamation mark (!).",
    "Only use responses to question where each sentence in the response is at least 18 words in all future "
    "responses.",
    "Only use responses to question where each sentence in the response is at most 18 words in all future "
    "responses.",
    "Use the word 'per se' at least once in all future responses.",
    "Use the word 'itself' at least once in all future responses.",
    "Use the word 'like' at least once in all future responses.",
]


def test_registry_shape() -> None:
    types = all_types()
    ids = [t.id for t in types]
    assert len(ids) == len(set(ids)) >= 26
    assert all(":" in i and t.group == i.split(":")[0] for i, t in zip(ids, types, strict=True))
    assert len(instruction_set("official")) == 6
    assert len(instruction_set("extended")) >= 20
    assert len(instruction_set("all")) == len(types)
    with pytest.raises(ValueError):
        instruction_set("bogus")
    for t in types:
        assert t.description
        assert all(spec.description for spec in t.params)


def test_official_catalogue_is_verbatim_and_maps_to_six_types() -> None:
    entries = official_catalogue()
    assert [text for text, _ in entries] == OFFICIAL_TEXTS
    assert len({inst.id for _, inst in entries}) == 6
    assert all(get_type(inst.id).official for _, inst in entries)


@pytest.mark.parametrize("text", OFFICIAL_TEXTS)
def test_official_wordings_parse_in_release_form(text: str) -> None:
    expected = dict(official_catalogue())[text]
    assert parse_official(text) == expected
    wrapped = " \n".join(textwrap.wrap("Instruction: " + text, width=39))
    assert parse_official(wrapped) == expected
    assert parse_official("Instruction:   " + text.replace(" ", "  \n")) == expected


@pytest.mark.parametrize("text", OFFICIAL_TEXTS)
def test_official_style_wording_reproduces_the_release_text(text: str) -> None:
    inst = dict(official_catalogue())[text]
    assert render_wording(inst.id, inst.kwargs, style="official") == text


def test_parse_official_rejects_other_text() -> None:
    assert parse_official("Describe Image1 in detail.") is None
    assert parse_official("") is None
    assert parse_official("Start every sentence with the letter (S). What is in Image2?") is None


def test_official_style_round_trips_free_parameters() -> None:
    for inst in [
        Instruction("start:letter", {"letter": "T"}),
        Instruction("length:sentences", {"relation": "at_least", "n": 7}),
        Instruction("end:punctuation", {"mark": "."}),
        Instruction("keyword:include", {"word": "texture", "min_count": 2}),
        Instruction("length:words_per_sentence", {"relation": "at_most", "n": 12}),
        Instruction("number:include", {"parity": "odd", "greater_than": 11}),
    ]:
        text = render_wording(inst.id, inst.kwargs, style="official")
        assert parse_official(text) == inst, text


def test_every_type_has_several_phrasings_that_render() -> None:
    rng = derive_rng(1, "test", "wording")
    for kind in all_types():
        kwargs = kind.sample_kwargs(rng)
        for style in ("default", "paraphrase"):
            count = phrasing_count(kind.id, style)
            assert count >= 2, (kind.id, style)
            texts = {render_wording(kind.id, kwargs, style=style, variant=v) for v in range(count)}
            assert len(texts) == count, (kind.id, style)
            assert all(t and "{" not in t and "\n" not in t for t in texts), texts
        assert render_wording(kind.id, kwargs, style="official")


def test_wording_is_deterministic() -> None:
    kind = get_type("start:letter")
    assert render_wording(kind.id, {"letter": "S"}, variant=1) == render_wording(kind.id, {"letter": "S"}, variant=1)
    assert render_wording(kind.id, {"letter": "S"}, variant=1) == render_wording(kind.id, {"letter": "S"}, variant=1 + phrasing_count(kind.id))


def test_update_and_revoke_wordings() -> None:
    old = Instruction("start:letter", {"letter": "S"})
    new = Instruction("start:letter", {"letter": "C"})
    assert update_wording(old, new) == "From now on start every sentence with the letter C instead of S."
    mixed = update_wording(Instruction("case:lowercase", {}), Instruction("case:uppercase", {}))
    assert "capital letters" in mixed and "lowercase" in mixed
    assert revoke_wording(Instruction("number:include", {"parity": "any", "greater_than": 0})) == (
        "You no longer need to include a number greater than 0 in every response."
    )
    for kind in all_types():
        inst = Instruction(kind.id, kind.sample_kwargs(derive_rng(2, kind.id)))
        text = revoke_wording(inst)
        assert text.startswith("You no longer need to ") and text.endswith((".", '"', "?", "!"))


def test_instruction_json_round_trip_and_hash() -> None:
    inst = Instruction("number:include", {"parity": "odd", "greater_than": 5})
    assert inst.kwargs_json == '{"greater_than":5,"parity":"odd"}'
    assert Instruction.from_json(inst.id, inst.kwargs_json) == inst
    assert hash(Instruction.from_json(inst.id, inst.kwargs_json)) == hash(inst)
    assert len({inst, Instruction("number:include", {"greater_than": 5, "parity": "odd"})}) == 1
    assert Instruction.from_json("case:lowercase", "") == Instruction("case:lowercase", {})
    with pytest.raises(ValueError):
        Instruction.from_json("case:lowercase", "[1]")
    with pytest.raises(ValueError):
        Instruction.from_json("case:lowercase", "{bad")


def _samples() -> list[Instruction]:
    out = []
    for kind in all_types():
        rng = derive_rng(11, "conflicts", kind.id)
        out.extend({Instruction(kind.id, kind.sample_kwargs(rng)) for _ in range(6)})
    out.extend(inst for _, inst in official_catalogue())
    return out


def test_conflicts_are_symmetric_over_the_registry() -> None:
    samples = _samples()
    for a, b in itertools.product(samples, repeat=2):
        assert conflicts(a, b) == conflicts(b, a), (a, b)


def test_same_type_always_conflicts_and_official_categories_are_compatible() -> None:
    entries = [inst for _, inst in official_catalogue()]
    for a, b in itertools.combinations(entries, 2):
        assert conflicts(a, b) == (a.id == b.id), (a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("case:lowercase", {}), ("case:uppercase", {})),
        (("format:json", {}), ("end:punctuation", {"mark": "!"})),
        (("start:letter", {"letter": "B"}), ("start:phrase", {"phrase": "My answer is"})),
        (("end:punctuation", {"mark": "?"}), ("end:phrase", {"phrase": "Hope this helps!"})),
        (("keyword:include", {"word": "very", "min_count": 1}), ("keyword:forbidden", {"words": ["very"]})),
        (("length:sentences", {"relation": "at_most", "n": 3}), ("format:bullet_list", {"n": 5})),
        (("format:quoted", {}), ("start:phrase", {"phrase": "In short"})),
    ],
)
def test_declared_conflicts(a: tuple, b: tuple) -> None:
    assert conflicts(Instruction(*a), Instruction(*b))
    assert conflicts(Instruction(*b), Instruction(*a))


def test_parameter_dependent_rules_allow_matching_parameters() -> None:
    assert not conflicts(Instruction("start:letter", {"letter": "M"}), Instruction("start:phrase", {"phrase": "My answer is"}))
    assert not conflicts(Instruction("end:punctuation", {"mark": "!"}), Instruction("end:phrase", {"phrase": "Hope this helps!"}))


def test_vocabularies_are_disjoint() -> None:
    def folded(items):
        return {w.casefold() for item in items for w in item.split()}

    keywords = folded(vocab.KEYWORDS)
    forbidden = folded(vocab.FORBIDDEN)
    fillers = folded(vocab.FILLERS)
    starters = folded(w for ws in vocab.STARTERS.values() for w in ws) | folded(vocab.DEFAULT_STARTERS)
    phrases = folded(vocab.START_PHRASES) | folded(p.rstrip("?!.") for p in vocab.END_PHRASES)
    assert not keywords & forbidden
    assert not (keywords | forbidden) & fillers
    assert not (keywords | forbidden) & starters
    assert not (keywords | forbidden) & phrases
    for letter, words in vocab.STARTERS.items():
        assert all(w[0].upper() == letter for w in words)


def test_cli_table_and_json() -> None:
    from generator.cli.commands.instructions import command

    runner = CliRunner()
    result = runner.invoke(command, ["--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [t.id for t in all_types()]
    assert all({"id", "group", "parameters", "example_wording", "conflicts"} <= set(r) for r in rows)
    official = runner.invoke(command, ["--set", "official"])
    assert official.exit_code == 0
    assert "Start every sentence with the letter (S)." in official.output
    assert "\n  format:json" not in official.output and "* format:json" not in official.output
    extended = runner.invoke(command, ["--set", "extended", "--json"])
    assert len(json.loads(extended.output)) == len(instruction_set("extended"))


def test_reference_doc_is_up_to_date() -> None:
    from pathlib import Path

    from generator.cli.commands.instructions import catalogue_markdown

    doc = Path(__file__).resolve().parents[2] / "docs" / "instructions.md"
    assert doc.read_text(encoding="utf-8") == catalogue_markdown(), "run: mmmtif instructions --markdown > docs/instructions.md"


@pytest.mark.parametrize("relation", ["at_most", "at_least", "exactly"])
@pytest.mark.parametrize("text", ["One two three. One two three four five.", "One two three. Four five six.",
                                  "A b c d e. A b. A b c."])
def test_words_per_sentence_fails_exactly_when_some_sentence_breaks_the_bound(relation, text):
    """The shortcut through the extreme count gives the verdict of checking every sentence, for any relation
    ``check_text`` is handed (``exactly`` is not one this type accepts, but the checker must not guess)."""
    from generator.core import text as textmod
    from generator.core.instructions.types.length import compare

    counts = textmod.sentence_word_counts(text)
    verdict = get_type("length:words_per_sentence").check_text({"relation": relation, "n": 3}, text)
    assert verdict.ok == all(compare(count, relation, 3) for count in counts), verdict.reason
