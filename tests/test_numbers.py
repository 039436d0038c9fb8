"""Spoken numbers to digits (tccc.stt.numbers): pure tests on the bundled word tables."""

from __future__ import annotations

import pytest

from tccc.errors import ConfigError
from tccc.stt.numbers import (
    NumberLexicon,
    load_normaliser_tables,
    load_number_lexicon,
    parse_spoken_number,
    words_to_digits,
)


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        # cardinals
        ("twenty", "20"),
        ("ninety-seven", "97"),
        ("ninety seven", "97"),
        ("one hundred and two", "102"),
        ("one hundred two", "102"),
        ("a hundred and ten", "110"),
        ("two hundred fifty", "250"),
        ("eight hundred", "800"),
        ("hundred", "100"),
        ("one thousand", "1000"),
        ("a thousand", "1000"),
        ("one thousand two hundred", "1200"),
        ("one thousand and fifty", "1050"),
        ("twelve thousand five hundred and ten", "12510"),
        ("fourteen hundred", "1400"),
        ("twenty-two hundred", "2200"),
        ("zero", "0"),
        ("niner", "9"),
        # pairs: vitals and clock times
        ("one ten", "110"),
        ("one twenty", "120"),
        ("one sixty-eight", "168"),
        ("one thirty-six", "136"),
        ("fourteen thirty-two", "1432"),
        ("fourteen forty-five", "1445"),
        ("twenty-two twenty-five", "2225"),
        ("ten twelve", "1012"),
        ("thirteen ten", "1310"),
        # digit by digit, with zeros
        ("four four one seven", "4417"),
        ("zero eight fifteen", "0815"),
        ("oh eight fifteen", "0815"),
        ("zero six forty-two", "0642"),
        ("ten oh five", "1005"),
        ("fourteen oh eight", "1408"),
        ("twenty-two zero five", "2205"),
        ("twenty oh five", "2005"),
        ("oh nine hundred", "0900"),
        ("zero nine hundred", "0900"),
        ("niner three zero six", "9306"),
        # radio digits inside a digit sequence
        ("four four one tree", "4413"),
        ("fife fife one two", "5512"),
        ("two tree fife", "235"),
        # decimals and fractions
        ("zero point four", "0.4"),
        ("twenty-three point four", "23.4"),
        ("three point two five", "3.25"),
        ("three and a quarter", "3.25"),
        ("two and a half", "2.5"),
        ("one and a half", "1.5"),
        # case does not matter
        ("Fourteen Thirty-Two", "1432"),
    ],
)
def test_spoken_numbers(spoken: str, digits: str) -> None:
    assert words_to_digits(spoken) == digits


@pytest.mark.parametrize(
    "spoken",
    [
        "a",  # the article alone
        "and",
        "oh",  # an interjection
        "oh one",  # "oh" leads only before two more numbers
        "tree",  # "fell out of a tree"
        "one tree",  # radio digits need a run of three
        "fife",
        "point five",  # no number before the point
        "twenty-first",  # ordinals stay words
        "twenty first",
        "second",
        "one two hundred",  # two numbers, not 1200
        "ten oh",  # "oh" needs a digit after it
        "two hundred three hundred",
    ],
)
def test_not_a_single_number(spoken: str) -> None:
    assert words_to_digits(spoken) is None


@pytest.mark.parametrize(
    ("previous", "words"),
    [
        ("no", ["one"]),
        ("this", ["one"]),
        ("the", ["one", "on", "the", "left"]),
        ("which", ["one"]),
        (None, ["one", "of", "the", "casualties"]),
        (None, ["one", "another"]),
        ("every", ["one"]),
    ],
)
def test_pronoun_one_stays_a_word(previous: str | None, words: list[str]) -> None:
    assert parse_spoken_number(words, load_number_lexicon(), previous) is None


@pytest.mark.parametrize(
    ("previous", "words", "text"),
    [
        ("casualty", ["one"], "1"),
        ("gave", ["one", "gram"], "1"),
        (None, ["one", "unit", "of", "blood"], "1"),
        ("the", ["one", "ten"], "110"),  # not a lone "one": a pulse read as a pair
        ("no", ["one", "and", "a", "half"], "1.5"),
    ],
)
def test_counting_one_converts(previous: str | None, words: list[str], text: str) -> None:
    found = parse_spoken_number(words, load_number_lexicon(), previous)
    assert found is not None and found.text == text


def test_parse_reports_words_consumed_and_stops_at_other_words() -> None:
    found = parse_spoken_number(
        ["one", "ten", "and", "strong"], load_number_lexicon(), previous="pulse"
    )
    assert found is not None
    assert (found.consumed, found.text, found.integer) == (2, "110", True)
    decimal = parse_spoken_number(["zero", "point", "four", "mg"], load_number_lexicon())
    assert decimal is not None and (decimal.consumed, decimal.integer) == (3, False)


@pytest.mark.parametrize(
    ("spoken", "clock"),
    [
        ("nine thirty", "0930"),
        ("nine oh five", "0905"),
        ("nine three zero", "0930"),
        ("one ten", "0110"),  # the normaliser reads this as a time only after a strong cue
        ("nine thirty-five", "0935"),
        # not an hour and minutes: already four digits, a cardinal, or no minutes
        ("fourteen thirty", None),
        ("oh nine thirty", None),
        ("nine hundred", None),
        ("nine seventy", None),
        ("nine three", None),
        ("nine", None),
        ("nine thirty point five", None),
        ("five one two three", None),
    ],
)
def test_hour_and_minutes_have_a_clock_reading(spoken: str, clock: str | None) -> None:
    found = parse_spoken_number(spoken.replace("-", " ").split(), load_number_lexicon())
    assert found is not None and found.clock == clock


def test_and_joins_only_after_a_multiplier() -> None:
    lexicon = load_number_lexicon()
    found = parse_spoken_number(["thirteen", "ten", "and", "thirteen", "twelve"], lexicon)
    assert found is not None and (found.consumed, found.text) == (2, "1310")
    trailing = parse_spoken_number(["one", "hundred", "and", "then"], lexicon)
    assert trailing is not None and (trailing.consumed, trailing.text) == (2, "100")


def test_radio_flag_accepts_tree_and_fife_anywhere() -> None:
    lexicon = load_number_lexicon()
    assert parse_spoken_number(["tree", "two"], lexicon) is None
    found = parse_spoken_number(["tree", "two"], lexicon, radio=True)
    assert found is not None and found.text == "32"


def test_lexicon_is_the_bundled_data() -> None:
    lexicon = load_number_lexicon()
    assert lexicon.digits["niner"] == 9
    assert lexicon.radio_digits == {"tree": 3, "fife": 5}
    assert "over" in lexicon.ratio_words
    assert all(lexicon.is_number_word(w) for w in ("one", "eleven", "ninety", "hundred", "oh"))
    assert not lexicon.is_number_word("second")
    assert load_number_lexicon() is lexicon  # compiled once


def test_broken_number_table_is_a_config_error() -> None:
    table = dict(load_normaliser_tables()["numbers"])
    del table["teens"]
    with pytest.raises(ConfigError, match="numbers"):
        NumberLexicon.from_table(table)
    table = dict(load_normaliser_tables()["numbers"])
    table["digits"] = {"one": "not a number"}
    with pytest.raises(ConfigError):
        NumberLexicon.from_table(table)
