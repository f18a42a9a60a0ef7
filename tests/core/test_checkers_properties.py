"""Property tests: checkers never raise on arbitrary text and handle megabyte inputs (run once, no timing)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.authoring import official_catalogue
from generator.common.rng import derive_rng
from generator.core import text as T
from generator.core.instructions import Instruction, Verdict, all_types, check


def _instances() -> list[Instruction]:
    out = [inst for _, inst in official_catalogue()]
    for kind in all_types():
        rng = derive_rng(3, "properties", kind.id)
        out.extend(Instruction(kind.id, kind.sample_kwargs(rng)) for _ in range(2))
    return out


INSTANCES = _instances()
MARKUP = st.sampled_from(["\n", "\n\n", "- ", "* ", "1. ", "# ", "P.S. ", "**", "*", "<<", ">>", "[", "]", '"', "...",
                          ". ", "! ", "? ", "```json\n", "{", "}", ",", "Dr. ", "U.S. ", "3.5", "-7", "1,000", "😀",
                          "É", "\u200b", "\r\n", "\t"])
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(MARKUP, st.text(max_size=8)), max_size=60).map("".join),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_checkers_never_raise_on_arbitrary_text(text: str) -> None:
    for inst in INSTANCES:
        for mode in ("strict", "loose"):
            verdict = check(inst, text, mode=mode)
            assert isinstance(verdict, Verdict)
            assert isinstance(verdict.ok, bool)


@settings(max_examples=60, deadline=None)
@given(TEXTS)
def test_text_units_are_consistent(text: str) -> None:
    units = T.sentences(text)
    for sentence in units:
        assert sentence == sentence.strip() and sentence
        assert T.first_letter(sentence) is not None
    assert T.word_count(text) == len(T.words(text))
    # Lines end at every Unicode line break (U+0085, U+2028, ...), as str.splitlines defines them.
    assert len(T.paragraphs(text)) <= max(1, len(text.splitlines()))
    T.numbers(text)
    T.strip_markdown(text)


ADVERSARIAL = [
    "word " * 200_000,
    "." * 1_000_000,
    "*" * 1_000_000,
    "a" * 1_000_000,
    " " * 999_999 + "x",
    "[" * 500_000 + "]" * 500_000,
    '"' + "a" * 1_000_000,
    "<<" + "a" * 1_000_000,
    "1," * 500_000,
    "- item.\n" * 125_000,
    "Dr. " * 250_000,
    "😀" * 500_000,
    "_a" * 500_000,
    "{" * 1_000_000,
]


def test_megabyte_inputs_finish() -> None:
    """One pass of every checker over about 1 MB of adversarial text, and over each pattern at 100 KB."""
    mixed = "".join(text[:75_000] for text in ADVERSARIAL)
    assert len(mixed) >= 1_000_000
    one_per_type = {inst.id: inst for inst in INSTANCES}.values()
    for inst in one_per_type:
        assert isinstance(check(inst, mixed).ok, bool)
    for text in ADVERSARIAL:
        for inst in one_per_type:
            assert isinstance(check(inst, text[:100_000]).ok, bool)


def test_loose_mode_does_not_depend_on_string_identity() -> None:
    """Loose readings are cached per text; an equal text given as another object must be read the same way."""
    first = "\n\n"
    second = "".join(["\n", "\n"])
    assert first == second and first is not second
    for inst in INSTANCES:
        verdicts = [check(inst, text, mode="loose") for text in (first, second, first)]
        assert verdicts[0] == verdicts[1] == verdicts[2], inst.id
        assert verdicts[0] == check(inst, first, mode="loose")
