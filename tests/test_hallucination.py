"""Suppression of invented text (pure)."""

from __future__ import annotations

from tccc.events import Segment
from tccc.stt.hallucination import (
    HallucinationFilter,
    compression_ratio,
    has_repetition_loop,
    is_prompt_echo,
)

PROMPT = "TXA, CAT tourniquet, NPA, needle decompression, chest seal, ketamine, SpO2"


def seg(text: str, *, no_speech: float = 0.1, logprob: float = -0.3) -> Segment:
    return Segment(0, 0.0, 1.0, text, logprob, no_speech, compression_ratio(text), 0.0)


def test_real_speech_is_kept() -> None:
    f = HallucinationFilter(prompt=PROMPT)
    kept = f.filter([seg("CAT tourniquet on the right thigh, bleeding stopped.")])
    assert len(kept) == 1 and f.suppressed == 0


def test_silence_with_unsure_decode_is_dropped_and_counted() -> None:
    f = HallucinationFilter()
    assert f.filter([seg("Thank you.", no_speech=0.9, logprob=-1.5)]) == ()
    assert f.counts["no_speech"] == 1


def test_confident_speech_survives_a_high_no_speech_probability() -> None:
    # Whisper's own rule: drop only when no-speech is likely AND the decode is unsure.
    f = HallucinationFilter()
    assert len(f.filter([seg("Pulse is one ten.", no_speech=0.8, logprob=-0.2)])) == 1


def test_silence_phrase_is_dropped_when_suspect() -> None:
    f = HallucinationFilter()
    assert f.filter([seg("Thanks for watching!", no_speech=0.4)]) == ()
    assert f.counts["silence_phrase"] == 1
    # ... but a medic saying "thank you" clearly is kept.
    assert len(f.filter([seg("Thank you.", no_speech=0.05)])) == 1


def test_repetition_loop() -> None:
    assert has_repetition_loop(["the", "the", "the", "the"])
    assert has_repetition_loop(["go", "to", "the", "go", "to", "the", "go", "to", "the"])
    assert not has_repetition_loop(["no", "no", "no"])  # real speech
    assert not has_repetition_loop(["two", "grams", "TXA", "two", "grams", "given"])
    f = HallucinationFilter()
    assert f.filter([seg("and then and then and then and then")]) == ()


def test_compression_ratio_loop() -> None:
    f = HallucinationFilter()
    text = "I'm going to go to the store. " * 8
    assert compression_ratio(text) > 2.4
    assert f.filter([seg(text)]) == ()
    assert f.counts["compression"] == 1


def test_prompt_echo() -> None:
    assert is_prompt_echo("needle decompression, chest seal, ketamine", PROMPT)
    assert not is_prompt_echo("needle decompression on the left", PROMPT)
    assert not is_prompt_echo("TXA", PROMPT)  # a single term is plausible speech
    f = HallucinationFilter(prompt=PROMPT)
    assert f.filter([seg("TXA, CAT tourniquet, NPA")]) == ()
    assert f.counts["prompt_echo"] == 1
