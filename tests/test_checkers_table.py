"""Passing and failing texts for every instruction type (strict mode unless stated), plus loose mode."""

from __future__ import annotations

import pytest

from generator.common.errors import UnknownInstructionError
from generator.core.instructions import Instruction, all_types, check, get_type

# (type id, kwargs, text, expected ok)
CASES: list[tuple[str, dict, str, bool]] = [
    # length:sentences
    ("length:sentences", {"relation": "at_most", "n": 4}, "One. Two. Three. Four.", True),
    ("length:sentences", {"relation": "at_most", "n": 4}, "One. Two. Three. Four. Five.", False),
    ("length:sentences", {"relation": "at_most", "n": 2}, "Dr. Who met Mr. Smith at 3.5 p.m. today. Fine.", True),
    ("length:sentences", {"relation": "at_least", "n": 5}, "Intro:\n- a\n- b\n- c\n- d", True),
    ("length:sentences", {"relation": "at_least", "n": 5}, "One. Two. Three. Four.", False),
    ("length:sentences", {"relation": "exactly", "n": 2}, "Wait... What? ", True),
    # length:words_per_sentence
    ("length:words_per_sentence", {"relation": "at_most", "n": 5}, "Don't count me twice. Well-known 3.5 items.", True),
    ("length:words_per_sentence", {"relation": "at_most", "n": 3}, "This has four words.", False),
    ("length:words_per_sentence", {"relation": "at_least", "n": 4}, "Four words right here. And four more here!", True),
    ("length:words_per_sentence", {"relation": "at_least", "n": 4}, "Four words right here. Short.", False),
    ("length:words_per_sentence", {"relation": "at_most", "n": 18}, "", False),
    # length:words
    ("length:words", {"relation": "at_least", "n": 3}, "one two three", True),
    ("length:words", {"relation": "at_least", "n": 3}, "one two 😀 -", False),
    ("length:words", {"relation": "at_most", "n": 3}, "one two three four", False),
    # number:include
    ("number:include", {"parity": "odd", "greater_than": 5}, "There are 7 cats.", True),
    ("number:include", {"parity": "odd", "greater_than": 5}, "There are 5 or 8 cats.", False),
    ("number:include", {"parity": "odd", "greater_than": 5}, "See Image7 and seven cats.", False),
    ("number:include", {"parity": "odd", "greater_than": 5}, "It came 9th.", True),
    ("number:include", {"parity": "odd", "greater_than": 5}, "It is 7.5 meters.", False),
    ("number:include", {"parity": "even", "greater_than": 5}, "About 1,000 people.", True),
    ("number:include", {"parity": "even", "greater_than": 5}, "About -10 or 4 people.", False),
    ("number:include", {"parity": "any", "greater_than": 10, "less_than": 20}, "Roughly 12.5 kg.", True),
    ("number:include", {"parity": "any", "greater_than": 10, "less_than": 20}, "Roughly 20 kg.", False),
    ("number:include", {"parity": "any", "multiple_of": 7}, "We saw 21 birds.", True),
    ("number:include", {"parity": "any", "multiple_of": 7}, "We saw 20 birds.", False),
    # start:letter
    ("start:letter", {"letter": "S"}, "So it is. **Sure** thing! \"Same\" again.", True),
    ("start:letter", {"letter": "S"}, "so lower case counts. Sure.", True),
    ("start:letter", {"letter": "S"}, "Sure thing. But not this.", False),
    ("start:letter", {"letter": "S"}, "Summary:\n- Sun\n- Moon", False),
    ("start:letter", {"letter": "S"}, "Summary:\n- Sun\n1. Stars\n# Sky\nP.S. See you.", True),
    ("start:letter", {"letter": "E"}, "Émile est là. Ensuite.", True),
    ("start:letter", {"letter": "B"}, "5 birds. Blue.", False),
    ("start:letter", {"letter": "B"}, "", False),
    # end:punctuation
    ("end:punctuation", {"mark": "?"}, "Is it? Really (yes?) \"Sure?\"", True),
    ("end:punctuation", {"mark": "?"}, "Is it? No.", False),
    ("end:punctuation", {"mark": "?"}, "Is it?\n- a list item", False),
    ("end:punctuation", {"mark": "!"}, "Wow! So great! 😀", True),
    ("end:punctuation", {"mark": "!"}, "Wow! Really?!", True),
    ("end:punctuation", {"mark": "!"}, "Wow! It costs 3.5 dollars!", True),
    ("end:punctuation", {"mark": "."}, "One. Two", False),
    # keyword:include
    ("keyword:include", {"word": "like", "min_count": 1}, "I like it.", True),
    ("keyword:include", {"word": "like", "min_count": 1}, "It is likely unlike that.", False),
    ("keyword:include", {"word": "per se", "min_count": 1}, "Not PER SE wrong.", True),
    ("keyword:include", {"word": "per se", "min_count": 1}, "Not per-se wrong; persevere.", False),
    ("keyword:include", {"word": "itself", "min_count": 2}, "It itself, by itself.", True),
    ("keyword:include", {"word": "itself", "min_count": 2}, "It itself.", False),
    # keyword:frequency
    ("keyword:frequency", {"word": "color", "relation": "exactly", "n": 2}, "Color and color.", True),
    ("keyword:frequency", {"word": "color", "relation": "exactly", "n": 2}, "Color, color, COLOR.", False),
    ("keyword:frequency", {"word": "color", "relation": "at_most", "n": 1}, "colorful colors", True),
    ("keyword:frequency", {"word": "color", "relation": "at_least", "n": 2}, "one color", False),
    # keyword:forbidden
    ("keyword:forbidden", {"words": ["very", "really"]}, "Everything is fine.", True),
    ("keyword:forbidden", {"words": ["very", "really"]}, "It is Really fine.", False),
    ("keyword:forbidden", {"words": ["just"]}, "Justice is served; adjust it.", True),
    # start:phrase / end:phrase
    ("start:phrase", {"phrase": "My answer is"}, "  my  answer is yes.", True),
    ("start:phrase", {"phrase": "My answer is"}, "Well, my answer is yes.", False),
    ("end:phrase", {"phrase": "Any other questions?"}, "Done. Any other\nquestions?  \n", True),
    ("end:phrase", {"phrase": "Any other questions?"}, "Any other questions? Bye.", False),
    # case
    ("case:lowercase", {}, "all lower, ça va 123!", True),
    ("case:lowercase", {}, "all lower except É", False),
    ("case:uppercase", {}, "ALL CAPS 123 ÉTÉ!", True),
    ("case:uppercase", {}, "ALL CAPS but one", False),
    ("case:capital_words", {"relation": "at_least", "n": 2}, "NASA and ESA, not I or Image1.", True),
    ("case:capital_words", {"relation": "at_least", "n": 2}, "Only NASA here, I think.", False),
    ("case:capital_words", {"relation": "at_most", "n": 0}, "No Caps Here, I Said.", True),
    ("case:capital_words", {"relation": "at_most", "n": 0}, "It is OK.", False),
    # punctuation
    ("punctuation:no_commas", {}, "No commas here. 1000 items.", True),
    ("punctuation:no_commas", {}, "One, two.", False),
    ("punctuation:no_commas", {}, "全角，逗号", False),
    # format
    ("format:bullet_list", {"n": 2}, "Intro\n- one\n  * two\n***\n1. not a bullet", True),
    ("format:bullet_list", {"n": 2}, "- one\n- two\n• three", False),
    ("format:bullet_list", {"n": 1}, "-5 degrees\n*emphasis* only\n- real", True),
    ("format:numbered_list", {"n": 2}, "1. one\n2) two\n- bullet", True),
    ("format:numbered_list", {"n": 2}, "1. one\n2024. year\n3.5 is a number", False),
    ("format:json", {}, '{"a": [1, 2]}', True),
    ("format:json", {}, '```json\n{"a": 1}\n```', True),
    ("format:json", {}, 'Here: {"a": 1}', False),
    ("format:json", {}, '"just a string"', False),
    ("format:json", {}, "[" * 5000, False),
    ("format:quoted", {}, '  "Wrapped text."\n', True),
    ("format:quoted", {}, "“Curly quotes.”", True),
    ("format:quoted", {}, '"Only opening.', False),
    ("format:title", {}, "<<My Title>>\nBody.", True),
    ("format:title", {}, "<< >> and <<broken\ntitle>>", False),
    ("format:paragraphs", {"n": 3}, "One.\n\nTwo.\n***\nThree.", True),
    ("format:paragraphs", {"n": 3}, "One.\nStill one.\n\nTwo.", False),
    ("format:highlights", {"n": 2}, "A *key* and **bold** part.", True),
    ("format:highlights", {"n": 2}, "* bullet *\n2 * 3 * 4 and *one*", False),
    ("format:sections", {"marker": "Section", "n": 2}, "Section 1\nText.\n## SECTION 2\nMore.", True),
    ("format:sections", {"marker": "Section", "n": 2}, "Section 1\nSee section 2 below.", False),
    ("format:headings", {"n": 2}, "# One\ntext\n### Two", True),
    ("format:headings", {"n": 2}, "# One\n#hashtag", False),
    # content
    ("content:postscript", {"marker": "P.S."}, "Body.\n\np.s. see you", True),
    ("content:postscript", {"marker": "P.S."}, "Body.\nP.P.S. see you", False),
    ("content:postscript", {"marker": "P.P.S."}, "Body.\nP.P.S. see you", True),
    ("content:postscript", {"marker": "P.S."}, "Body with P.S. inside a line.", False),
    ("content:placeholders", {"n": 2}, "Dear [name], at [address].", True),
    ("content:placeholders", {"n": 2}, "Dear [name], at [ ].", False),
    ("content:image_names", {"n": 2}, "Image1 and image 3 differ.", True),
    ("content:image_names", {"n": 2}, "Image1 and Image1 again; myimage2.", False),
    ("content:quotation", {}, 'He said "hello there".', True),
    ("content:quotation", {}, 'He said " ".', False),
]


@pytest.mark.parametrize(("type_id", "kwargs", "text", "ok"), CASES)
def test_checker_table(type_id: str, kwargs: dict, text: str, ok: bool) -> None:
    verdict = check(Instruction(type_id, kwargs), text)
    assert verdict.ok is ok, verdict.reason
    assert isinstance(verdict.reason, str) and verdict.reason


def test_every_type_has_passing_and_failing_cases() -> None:
    passing = {c[0] for c in CASES if c[3]}
    failing = {c[0] for c in CASES if not c[3]}
    ids = {t.id for t in all_types()}
    assert ids <= passing, ids - passing
    assert ids <= failing, ids - failing


LOOSE_CASES = [
    ("start:letter", {"letter": "S"}, "Here is my answer:\nSo it is. Sure."),
    ("end:punctuation", {"mark": "?"}, "Is it? Yes?\nLet me know if you need more."),
    ("format:json", {}, 'Here is the JSON:\n{"a": 1}'),
    ("start:phrase", {"phrase": "My answer is"}, "**My answer is** yes."),
]


@pytest.mark.parametrize(("type_id", "kwargs", "text"), LOOSE_CASES)
def test_loose_mode_tolerates_preamble_signoff_and_emphasis(type_id: str, kwargs: dict, text: str) -> None:
    inst = Instruction(type_id, kwargs)
    assert not check(inst, text, mode="strict").ok
    assert check(inst, text, mode="loose").ok


def test_loose_mode_does_not_pass_by_dropping_everything() -> None:
    inst = Instruction("length:sentences", {"relation": "at_most", "n": 2})
    assert not check(inst, "One. Two. Three. Four.", mode="loose").ok


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError):
        check(Instruction("case:lowercase", {}), "x", mode="lenient")


def test_unknown_id_raises() -> None:
    with pytest.raises(UnknownInstructionError):
        get_type("start:nonsense")
    with pytest.raises(UnknownInstructionError):
        Instruction("nope:nothing", {})


@pytest.mark.parametrize(
    ("type_id", "kwargs"),
    [
        ("start:letter", {}),
        ("start:letter", {"letter": "#"}),
        ("start:letter", {"letter": "SS"}),
        ("length:sentences", {"relation": "at_most"}),
        ("length:sentences", {"relation": "around", "n": 3}),
        ("length:sentences", {"relation": "at_most", "n": "3"}),
        ("length:sentences", {"relation": "at_most", "n": True}),
        ("keyword:include", {"word": "like", "min_count": 1, "extra": 2}),
        ("keyword:include", {"word": "", "min_count": 1}),
        ("keyword:forbidden", {"words": []}),
        ("number:include", {"parity": "odd", "multiple_of": 2}),
        ("number:include", {"parity": "even", "greater_than": 10, "less_than": 11}),
    ],
)
def test_invalid_parameters_raise_on_construction(type_id: str, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Instruction(type_id, kwargs)
    with pytest.raises(ValueError):
        get_type(type_id).check(kwargs, "Some text.")
