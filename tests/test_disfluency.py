"""Disfluencies in the normaliser: fillers between pauses and words said again are dropped (as
edits on raw words); numbers, digits, units and phonetic letters said twice are values."""

from __future__ import annotations

import pytest

from tccc.stt.normaliser import Normaliser

NORMALISER = Normaliser()


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("He's got a, a, a frag, frag wound.", "He's got a frag wound."),
        ("He, he fell off the, the back deck.", "He fell off the back deck."),
        ("Shrapnel to the, uh, left shin.", "Shrapnel to the  left shin."),
        ("on the right, uh, right hand", "on the right hand"),
        ("the back, the back of the neck", "the back of the neck"),
        ("No, no other wounds.", "No other wounds."),
    ],
)
def test_fillers_and_repeats_are_dropped(raw: str, text: str) -> None:
    result = NORMALISER.normalise(raw)
    assert result.text == text
    assert {e.rule for e in result.edits} == {"disfluency"}
    for edit in result.edits:  # every edit still stands on raw words
        span = result.raw[edit.raw_start : edit.raw_end]
        assert span and span == span.strip()


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("roster Oscar Oscar four four seven one", "roster OO4471"),
        ("four four seven one", "4471"),
        ("pulse is, uh, eighty-eight", "pulse is, uh, 88"),
        ("two grams, grams", "2 g, grams"),
        ("pulse, uh.", "pulse, uh."),
    ],
)
def test_values_said_twice_and_fillers_by_numbers_stay(raw: str, text: str) -> None:
    assert NORMALISER.normalise(raw).text == text


def test_a_second_pass_changes_nothing() -> None:
    for raw in ("He, he fell off the, uh, back deck, deck.", "a, a, a frag, frag wound"):
        once = NORMALISER.normalise(raw).text
        assert NORMALISER.normalise(once).text == once
