"""Checker defects found by comparing verdicts with an independent implementation, each with its minimal text.

Every case failed before the fix (see docs/text-units.md for the definitions that changed).
"""

from __future__ import annotations

import pytest

from generator.core import text as textmod
from generator.core.instructions import Instruction, check


def _ok(type_id: str, kwargs: dict, text: str) -> bool:
    return check(Instruction(type_id, kwargs), text).ok


@pytest.mark.parametrize("text", [
    "Done.\n\nP.S.: The data is from 2024.",
    "Done.\n\n**P.S.:** The data is from 2024.",
    "Done.\n\nP.S.\nThe data is from 2024.",
    "Done.\n\n__P.S.__ The data is from 2024.",
])
def test_postscript_variants_the_docs_allow(text: str) -> None:
    assert _ok("content:postscript", {"marker": "P.S."}, text)


def test_postscript_pps_without_final_point() -> None:
    assert _ok("content:postscript", {"marker": "P.P.S."}, "Done.\n\nP.P.S: More.")
    assert not _ok("content:postscript", {"marker": "P.S."}, "Done.\n\nP.S.")  # a marker with nothing after it
    assert not _ok("content:postscript", {"marker": "P.S."}, "Done. P.S. inside a line.")


def test_postscript_line_is_its_own_block() -> None:
    assert textmod.sentences("Done.\n\nP.S.: The data is from 2024.") == ["Done.", "The data is from 2024."]


@pytest.mark.parametrize("text", ["<<Profit > Loss>>\nThe chart shows a gain.", "<<Why 3 < 5>>"])
def test_title_may_contain_angle_brackets(text: str) -> None:
    assert _ok("format:title", {}, text)


def test_title_still_needs_a_word_on_one_line() -> None:
    assert not _ok("format:title", {}, "<< >> and <<broken\ntitle>>")


@pytest.mark.parametrize("text", [
    "__Section 1__\nThe sky.\n__Section 2__\nThe sea.",
    "*Section 1*\nThe sky.\n*Section 2*\nThe sea.",
    "**Section 1**\nThe sky.\n_Section 2_\nThe sea.",
])
def test_sections_with_emphasis_markers(text: str) -> None:
    assert _ok("format:sections", {"marker": "Section", "n": 2}, text)


@pytest.mark.parametrize("text", [
    "It is not the chart per, se the colors.",
    "The price rose by 5 per. Se habla español.",
    "Not per-se either.",
])
def test_multi_word_keyword_does_not_match_across_punctuation(text: str) -> None:
    assert not _ok("keyword:include", {"word": "per se", "min_count": 1}, text)


def test_multi_word_keyword_across_whitespace_and_in_unicode_text() -> None:
    assert _ok("keyword:include", {"word": "per se", "min_count": 1}, "The chart per\nse is clear.")
    assert _ok("keyword:include", {"word": "per se", "min_count": 1}, "Das Café per  se ist schön.")
    assert not _ok("keyword:include", {"word": "per se", "min_count": 1}, "Das Café per, se ist schön.")


def test_keyword_frequency_counts_only_real_uses() -> None:
    kwargs = {"word": "per se", "relation": "exactly", "n": 1}
    assert not _ok("keyword:frequency", kwargs, "Costs per, se are low.")
    assert _ok("keyword:frequency", kwargs, "Costs per se are low.")
    assert textmod.phrase_count("Costs per, se are low. Per se, yes.", "per se") == 1


def test_decomposed_accents_stay_inside_the_word() -> None:
    assert textmod.word_count("A nai\u0308ve idea.") == 3
    assert textmod.words("Cafe\u0301 au lait") == ["Cafe\u0301", "au", "lait"]
    assert textmod.word_count("A naïve idea.") == 3


@pytest.mark.parametrize("text", ["the answer is 𝐀 in the chart.", "the set ℌ of real numbers is small.",
                                  "the ǅ digraph is title case."])
def test_capitals_without_a_case_mapping_fail_lowercase(text: str) -> None:
    assert not _ok("case:lowercase", {}, text)


def test_small_letters_without_a_case_mapping_fail_uppercase() -> None:
    assert not _ok("case:uppercase", {}, "THE ANSWER IS 𝐚 IN THE CHART.")
    assert _ok("case:uppercase", {}, "THE ANSWER IS 𝐀 IN THE CHART. 東京 IS FINE.")
    assert _ok("case:lowercase", {}, "the answer is ß and 東京.")


def test_end_phrase_needs_a_word_boundary() -> None:
    kwargs = {"phrase": "Any other questions?"}
    assert not _ok("end:phrase", kwargs, "That is the chart. Many other questions?")
    assert _ok("end:phrase", kwargs, "That is the chart. Any other questions?")
    assert _ok("end:phrase", kwargs, "That is the chart.\nany  other questions?")


def test_start_phrase_needs_a_word_boundary() -> None:
    kwargs = {"phrase": "Here is my answer"}
    assert not _ok("start:phrase", kwargs, "Here is my answering machine, not the chart.")
    assert _ok("start:phrase", kwargs, "Here is my answer: 7.")
    assert _ok("start:phrase", kwargs, "here is my answer. It is 7.")
