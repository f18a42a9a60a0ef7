"""Answer checks resist gaming and accept natural answers: tables per answer type.

Each answer type has a documented rule for what a response commits to (docs/scoring.md, "What an answer commits
to"). Natural answers, right and wrong, are judged by it; gaming responses (every candidate listed, alternatives
offered, both options named) never count.
"""

from __future__ import annotations

import pytest

from generator.core.answers import MAX_OTHER_VALUES, check_answer

# (reference, answer type, question, response, expected)
NATURAL_RIGHT = [
    ("9", "number", "What hour will the clock in Image3 show 3 hours from now?", "In 3 hours it will show 9.", True),
    ("9", "number", "What hour will the clock in Image3 show 3 hours from now?",
     "It shows 6 now, so 3 hours later it will be 9 o'clock.", True),
    ("107", "number", "In Image2, what is the sum of all the values?", "The values 40, 30 and 37 add up to 107.",
     True),
    ("12", "number", "How many bars are there in Image1 and Image2 together?",
     "Image1 has 5 bars and Image2 has 7, so there are 12 in total. As requested, here is an odd number: 7.", True),
    ("Image4", "word", "Which of Image2 and Image4 has more bars?", "Image2 has fewer bars than Image4.", True),
    ("Image4", "word", "Which of Image2 and Image4 has more bars?", "Image4 has more bars than Image2.", True),
    ("Image3", "word", "Which of Image1, Image2 and Image3 shows the latest time?",
     "Comparing Image1, Image2 and Image3, the latest time is in Image3.", True),
    ("Cats", "word", "In Image4, which category has the lowest value?",
     "Cats has the lowest value; Dogs and Birds are both higher.", True),
    ("yes", "yes/no", "Is there a green triangle in Image1?", "Yes, there is a green triangle near the top.", True),
    ("no", "yes/no", "Do the clocks in Image1 and Image2 show the same hour?", "No. Image1 shows 3 and Image2 shows 5.",
     True),
    ("Apples, Figs", "list", "Which products on the receipt in Image2 cost more than $3?",
     "Apples ($4) and Figs ($5) cost more than $3.", True),
    ("2013, 2015, 2017", "sequence", "In Image1, list in increasing order the years in which Sales is higher "
     "than in the year before.", "Sales rose in 2013, 2015 and 2017.", True),
]
NATURAL_WRONG = [
    ("9", "number", "What hour will the clock in Image3 show 3 hours from now?", "In 3 hours it will show 8.", False),
    ("Image4", "word", "Which of Image2 and Image4 has more bars?", "Image2 has more bars than Image4.", False),
    ("Image4", "word", "Which of Image2 and Image4 has more bars?", "Image4 has fewer bars than Image2.", False),
    ("Cats", "word", "In Image4, which category has the lowest value?", "Dogs has the lowest value.", False),
    ("yes", "yes/no", "Is there a green triangle in Image1?", "No, the triangle is red.", False),
    ("Apples, Figs", "list", "Which products cost more than $3?", "Only Apples costs more than $3.", False),
    ("2013, 2015, 2017", "sequence", "List the years in increasing order.", "2017, 2015 and 2013.", False),
]
GAMING = [
    ("42", "number", "How many cells are green in Image1?", " ".join(str(i) for i in range(101)), False),
    ("42", "number", "How many cells are green in Image1?", "It could be 40, 41, 42, 43 or 44.", False),
    ("6", "number", "How many bars are in Image2?", "It is 5 or 6.", False),
    ("6", "number", "How many bars are in Image2?", "Somewhere between 5-6.", False),
    ("6", "number", "How many bars are in Image2?", "5/6", False),
    ("Cats", "word", "Which category has the lowest value?", "Cats or Dogs.", False),
    ("Cats", "word", "Which category has the lowest value?", "It is Birds, Cats, Dogs or Fish.", False),
    ("Cats", "word", "Which category has the lowest value?", "Cats/Dogs/Birds", False),
    ("Image4", "word", "Which of Image2 and Image4 has more bars?", "Image2 or Image4.", False),
    ("Image4", "word", "Which of Image2 and Image4 has more bars?", "Image2, Image4", False),
    ("yes", "yes/no", "Is there a green triangle in Image1?", "Yes or no, hard to say.", False),
    ("no", "yes/no", "Is there a green triangle in Image1?", "yes/no", False),
    ("11, 18, 20", "list", "Which circled dates fall on a weekend?", " ".join(str(i) for i in range(1, 32)), False),
    ("11, 18, 20", "sequence", "List the circled dates in increasing order.",
     " ".join(str(i) for i in range(1, 32)), False),
]


@pytest.mark.parametrize(("reference", "answer_type", "question", "response", "expected"),
                         NATURAL_RIGHT + NATURAL_WRONG + GAMING)
def test_answer_tables(reference: str, answer_type: str, question: str, response: str, expected: bool) -> None:
    assert check_answer(reference, answer_type, response, question) is expected


def test_every_answer_type_has_rows_in_every_table() -> None:
    for table in (NATURAL_RIGHT, NATURAL_WRONG, GAMING):
        assert {row[1] for row in table} == {"number", "word", "yes/no", "list", "sequence"}


def test_other_values_up_to_the_limit_are_natural() -> None:
    extra = " ".join(str(100 + k) for k in range(MAX_OTHER_VALUES))
    assert check_answer("7", "number", f"The answer is 7. For reference: {extra}.")
    extra += f" {100 + MAX_OTHER_VALUES}"
    assert not check_answer("7", "number", f"The answer is 7. For reference: {extra}.")


def test_question_numbers_are_context_not_candidates() -> None:
    question = "Of 12, 15, 18, 21 and 24, which number is shown in Image1?"
    assert check_answer("18", "number", "Of 12, 15, 18, 21 and 24, Image1 shows 18.", question)
    assert not check_answer("18", "number", "Of 12, 15, 18, 21 and 24, Image1 shows 18.")


def test_equal_references_with_different_places_keep_their_own_tolerance() -> None:
    # 5 and 5.0 are equal decimals but "5" allows half a unit and "5.0" half a tenth: asked in either order, a
    # tolerance remembered for one must not serve the other.
    for order in (("5", "5.0"), ("5.0", "5")):
        for reference in order:
            assert check_answer(reference, "number", "It shows 5.3.") is (reference == "5")


def test_list_markers_open_lines_after_a_newline_only() -> None:
    # The marker pattern's "^" holds after "\n" only: behind a carriage return or a line separator "2." is a
    # stated number, on a text of one line as on a text of several.
    for text in ("1. Red bars: 5\r2. Blue bars: 7", "1. Red bars: 5\u20282. Blue bars: 7",
                 "Note.\n1. Red bars: 5\r2. Blue bars: 7"):
        assert check_answer("2", "number", text)
    assert not check_answer("2", "number", "1. Red bars: 5\n2. Blue bars: 7")


def test_question_numbers_are_context_for_a_list_of_numbers() -> None:
    question = "Of 9, 12, 15, 18, 21 and 24, which numbers are shown in Image1?"
    response = "Of 9, 12, 15, 18, 21 and 24, Image1 shows 18 and 21."
    assert check_answer("18, 21", "list", response, question)
    assert not check_answer("18, 21", "list", response)


def test_image_answers_found_by_the_needle_match_the_full_scan() -> None:
    # ASCII responses look for "image" with str.find; mixed-case names and the non-ASCII path agree with it.
    assert check_answer("Image2", "word", "IMAGE2 has more bars than image1.", "Which has more bars?")
    assert check_answer("Image2", "word", "IMAGE2 has more bars than image1 — clearly.", "Which has more bars?")
    assert not check_answer("Image2", "word", "Image1 has more bars than IMAGE 2.", "Which has more bars?")
    assert check_answer("Image2", "word", "Image1 has fewer bars than image two.", "Which has more bars?")
