"""The one definition of sentences, words and numbers (generator/text.py), table-driven."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generator.core import text as T

SENTENCE_CASES = [
    ("plain", "One. Two! Three?", ["One.", "Two!", "Three?"]),
    ("title abbreviations", "Dr. Smith met Mr. Jones. They talked.", ["Dr. Smith met Mr. Jones.", "They talked."]),
    ("e.g. and i.e.", "Use fruit, e.g. apples. Or i.e. pears.", ["Use fruit, e.g. apples.", "Or i.e. pears."]),
    ("upper acronym", "The U.S. Army is large. It is old.", ["The U.S. Army is large.", "It is old."]),
    ("answer no", "The answer is no. Then stop.", ["The answer is no.", "Then stop."]),
    ("acronym at end", "He lives in the U.S.", ["He lives in the U.S."]),
    ("p.m. before capital", "We met at 5 p.m. Then we left.", ["We met at 5 p.m.", "Then we left."]),
    ("p.m. before lower", "At 5 p.m. we left.", ["At 5 p.m. we left."]),
    ("etc. before capital", "Cats, dogs, etc. They all sleep.", ["Cats, dogs, etc.", "They all sleep."]),
    ("decimal", "It costs 3.5 dollars. Cheap.", ["It costs 3.5 dollars.", "Cheap."]),
    ("number at end", "The year was 2024. Next.", ["The year was 2024.", "Next."]),
    ("ellipsis lower", "I was... thinking about it.", ["I was... thinking about it."]),
    ("ellipsis capital", "Wait... What happened?", ["Wait...", "What happened?"]),
    ("unicode ellipsis", "Hmm… Maybe.", ["Hmm…", "Maybe."]),
    ("closing quote", 'He said "Stop!" Then he ran.', ['He said "Stop!"', "Then he ran."]),
    ("closing bracket", "(It was late.) Fine.", ["(It was late.)", "Fine."]),
    ("emphasis after mark", "**Done.** Next one.", ["**Done.**", "Next one."]),
    ("title brackets", "<<Sunny day!>> So it goes!", ["<<Sunny day!>>", "So it goes!"]),
    ("interrobang", "Really?! Yes.", ["Really?!", "Yes."]),
    ("no final mark", "First. Second without mark", ["First.", "Second without mark"]),
    ("emoji only fragment", "Great! 😀", ["Great!"]),
    ("emoji starts sentence", "Great! 😀 Wow!", ["Great!", "😀 Wow!"]),
    ("hard wrap", "This line\nis wrapped. Next.", ["This line is wrapped.", "Next."]),
    ("blank line", "First para\n\nSecond para", ["First para", "Second para"]),
    ("thematic break", "One\n***\nTwo", ["One", "Two"]),
    ("bullets", "Intro:\n- Sun is hot\n* Moon is cold.\n• Stars", ["Intro:", "Sun is hot", "Moon is cold.", "Stars"]),
    ("numbered", "1. First item. Extra.\n2) Second", ["First item.", "Extra.", "Second"]),
    ("heading", "# Title here\nBody text.", ["Title here", "Body text."]),
    ("postscript", "Body.\nP.S. See you.", ["Body.", "See you."]),
    ("url", "See example.com for more. Then stop.", ["See example.com for more.", "Then stop."]),
    ("non-ascii", "Émile est là. Ça va!", ["Émile est là.", "Ça va!"]),
    ("cjk", "这是一个句子。 Next one.", ["这是一个句子。 Next one."]),
    ("empty", "", []),
    ("only markup", "***\n- \n", []),
]


@pytest.mark.parametrize(("name", "text", "expected"), SENTENCE_CASES, ids=[c[0] for c in SENTENCE_CASES])
def test_sentences(name: str, text: str, expected: list[str]) -> None:
    assert T.sentences(text) == expected


WORD_CASES = [
    ("don't stop", ["don't", "stop"]),
    ("it’s well-known", ["it’s", "well-known"]),
    ("3.5 and 1,000 items", ["3.5", "and", "1,000", "items"]),
    ("a,b", ["a", "b"]),
    ("**bold** _it_ snake_case", ["bold", "it", "snake", "case"]),
    ("emoji 😀 here", ["emoji", "here"]),
    ("Image1 e.g.", ["Image1", "e", "g"]),
    ("naïve café", ["naïve", "café"]),
    ("--- ... !!!", []),
    ("end-", ["end"]),
]


@pytest.mark.parametrize(("text", "expected"), WORD_CASES)
def test_words(text: str, expected: list[str]) -> None:
    assert T.words(text) == expected
    assert T.word_count(text) == len(expected)


NUMBER_CASES = [
    ("Image1 and Image7", []),
    ("the 7th place", [Decimal(7)]),
    ("-3.5 degrees", [Decimal("-3.5")]),
    ("1,000,000 people", [Decimal(1000000)]),
    ("5-10 items", [Decimal(5), Decimal(10)]),
    ("COVID-19", [Decimal(19)]),
    ("$5 or 90%", [Decimal(5), Decimal(90)]),
    ("version 1.2.3", [Decimal("1.2")]),
    ("x2 3D", [Decimal(3)]),
    ("12,34", [Decimal(12), Decimal(34)]),
    ("seven apples", []),
    ("year 2024.", [Decimal(2024)]),
    ("−4 with a unicode minus", [Decimal(-4)]),
]


@pytest.mark.parametrize(("text", "expected"), NUMBER_CASES)
def test_numbers(text: str, expected: list[Decimal]) -> None:
    assert T.numbers(text) == expected


@pytest.mark.parametrize(
    ("sentence", "letter", "mark"),
    [
        ('"Sure," she said.', "S", "."),
        ("**Bold** start!", "B", "!"),
        ("(Maybe) yes?)", "M", "?"),
        ("😀 Wow!", "W", "!"),
        ("Émile est là.", "É", "."),
        ("7 swans", "7", "s"),
        ("<<Title?>>", "T", "?"),
    ],
)
def test_first_letter_and_end_mark(sentence: str, letter: str, mark: str) -> None:
    assert T.first_letter(sentence) == letter
    assert T.end_mark(sentence) == mark


def test_normalize_letter_folds_case_and_accents() -> None:
    assert T.normalize_letter("É") == "e"
    assert T.normalize_letter("s") == T.normalize_letter("S")
    assert T.normalize_letter("B") != T.normalize_letter("S")


@pytest.mark.parametrize(
    ("text", "phrase", "count"),
    [
        ("I like it, likely unlike you. Like!", "like", 2),
        ("Per  se, it is not per-se fine; per se.", "per se", 2),
        ("ITSELF itself itselfish", "itself", 2),
        ("nothing here", "like", 0),
        ("ha ha ha, HA-ha ha", "ha ha", 2),
        ("don't dont don't-go 'don't'", "don't", 2),
        ("3.5 3,5 13.5 3.55 x3.5 3.5.1 -3.5", "3.5", 2),
        ("well-known well - known well--known", "well known", 2),
        ("Straße STRASSE strasse", "straße", 3),
        ("café CAFÉ cafe", "café", 2),
        ("per\nse per *se* per_se", "per se", 3),
    ],
)
def test_phrase_count_matches_whole_words(text: str, phrase: str, count: int) -> None:
    assert T.phrase_count(text, phrase) == count


def _phrase_count_over_word_list(text: str, phrase: str) -> int:
    """The definition: runs of case-folded words equal to the phrase's case-folded words, with no clause or
    sentence punctuation (. , ; : ! ? …) between two words of the run."""
    import re

    target = [w.casefold() for w in T.words(phrase)]
    spans = [m.span() for m in re.finditer(r"[^\W_]+(?:(?:['’\-]|(?<=[0-9])[.,](?=[0-9]))[^\W_]+)*", text)]
    tokens = [text[a:b].casefold() for a, b in spans]
    assert tokens == [w.casefold() for w in T.words(text)]
    joined = [not any(c in ".,;:!?…" for c in text[spans[i][1]:spans[i + 1][0]]) for i in range(len(spans) - 1)]
    if not target:
        return 0
    return sum(1 for i in range(len(tokens))
               if tokens[i:i + len(target)] == target and all(joined[i:i + len(target) - 1]))


_ATOMS = ["a", "B", "ab", "1", "23", "-", "'", ".", ",", " ", "\n", "*", "_", "’", "é", "ß", "SS", "İ", "ﬁ", "--"]


@pytest.mark.parametrize("seed", range(4))
def test_phrase_count_agrees_with_the_word_list_definition(seed: int) -> None:
    # ASCII responses take a regex path that never builds the word list; it must count exactly the same.
    import random

    rng = random.Random(seed)
    for _ in range(1500):
        pool = _ATOMS[:12] if rng.random() < 0.8 else _ATOMS
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 24)))
        found = T.words(text)
        if found and rng.random() < 0.7:
            start = rng.randrange(len(found))
            phrase = rng.choice([" ", ", ", "-"]).join(found[start:start + rng.randint(1, 3)])
            phrase = phrase.upper() if rng.random() < 0.3 else phrase
        else:
            phrase = "".join(rng.choice(pool) for _ in range(rng.randint(1, 5)))
        assert T.phrase_count(text, phrase) == _phrase_count_over_word_list(text, phrase), (text, phrase)


def test_ascii_and_unicode_word_rules_agree_on_ascii_text() -> None:
    text = "Don't stop: well-known 3.5 1,000 a--b x'-y 7th, snake_case! " * 3
    assert T.words(text) == T._WORD.findall(text)
    assert T.word_count(text) == len(T._WORD.findall(text))
    assert T.words("naïve don’t") == ["naïve", "don’t"]


def test_sentence_word_counts_follow_sentences() -> None:
    text = "Don't count me twice. Well-known 3.5 items!\n- A list item here"
    assert T.sentence_word_counts(text) == tuple(T.word_count(s) for s in T.sentences(text)) == (4, 3, 4)
    assert T.sentence_word_counts("") == ()


def test_paragraphs() -> None:
    text = "One line\nsame para\n\n\nTwo\n***\nThree\n---\n\n   \n"
    assert T.paragraphs(text) == ["One line\nsame para", "Two", "Three"]


def test_strip_markdown_keeps_inner_underscores_and_bullets() -> None:
    assert T.strip_markdown("**bold** and *it* and snake_case and __u__") == "bold and it and snake_case and u"
    assert T.strip_markdown("* bullet") == "* bullet"


def test_loose_variants_drop_first_and_last_lines() -> None:
    variants = T.loose_variants("Sure:\n**Body.**\nBye")
    assert "Sure:\n**Body.**\nBye" in variants
    assert "**Body.**" in variants
    assert "Body." in variants


def test_clear_caches_empties_every_cache_of_the_module() -> None:
    text = "A light. Another light here!"
    for warm in (T.sentences, T.word_count, T.sentence_word_counts, T.loose_variants):
        warm(text)
    assert T.phrase_count(text, "light") == 2  # ASCII text: compiled phrase pattern
    assert T.phrase_count("Ünïcode light", "light") == 1  # other text: case-folded word list
    cached = [value for value in vars(T).values() if hasattr(value, "cache_info")]
    assert len(cached) >= 6
    assert all(value.cache_info().currsize for value in cached)
    T.clear_caches()
    assert not any(value.cache_info().currsize for value in cached)


_UNIT_ATOMS = ["a", "B", "Dr", "U.S", "etc", "p.m", "3.5", " ", " ", "\n", "\n\n", ".", "!", "?", "…", "...", '"', ")",
               "*", "_", "- ", "1. ", "# ", "P.S. ", "***", "😀", "é", "\t", "\u2028"]


def _random_texts(seed: int, count: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return ["".join(rng.choice(_UNIT_ATOMS) for _ in range(rng.randint(0, 30))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(3))
def test_most_sentences_never_undercounts(seed: int) -> None:
    # The reference writer trusts the bound to call a draft too short without splitting it.
    texts = [case[1] for case in SENTENCE_CASES] + _random_texts(seed, 3000)
    for text in texts:
        assert T.most_sentences(text) >= len(T.sentences(text)), text
    assert T.most_sentences("The answer is the red box.") == 1
    assert T.most_sentences("The answer is the red box") == 1


def test_no_line_opening_with_a_letter_but_p_is_markup() -> None:
    # blocks() treats a line that opens with such a letter as plain text without trying the marker patterns.
    import sys

    letters = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isalpha() and chr(code) not in "Pp"]
    for letter in letters:
        line = f"{letter}.S. * - 1. text"
        assert not (T._THEMATIC_BREAK.fullmatch(line) or T._HEADING.match(line) or T._LIST_ITEM.match(line)
                    or T._POSTSCRIPT.match(line)), repr(letter)


@pytest.mark.parametrize("seed", range(2))
def test_cached_units_are_the_units_of_a_cold_start(seed: int) -> None:
    # Blocks and sentence word counts are cached across responses; a warm run must give what a cold one gives.
    texts = [case[1] for case in SENTENCE_CASES] + _random_texts(seed, 1500)
    cold = []
    for text in texts:
        T.clear_caches()
        cold.append((T.sentences(text), T.sentence_word_counts(text), T.most_sentences(text)))
    T.clear_caches()
    for _ in range(2):
        warm = [(T.sentences(text), T.sentence_word_counts(text), T.most_sentences(text)) for text in texts]
        assert warm == cold
        texts.reverse()
        cold.reverse()
