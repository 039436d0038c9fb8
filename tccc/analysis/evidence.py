"""Evidence of a fact: the span of normalised text, the raw words behind it, their audio time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tccc.events import Evidence, NormalisedText, Word


@dataclass(frozen=True)
class UtteranceText:
    """What the analyzer needs of one final transcript."""

    utterance_id: int
    text: NormalisedText
    words: tuple[Word, ...] = ()
    """Recognised words with session times (empty for text input)."""
    session_s: float = 0.0
    """Session time at the end of the utterance."""


def evidence(utt: UtteranceText, start: int, end: int) -> Evidence:
    """Evidence for `text[start:end]` of an utterance: raw text and audio time range."""
    norm = utt.text
    raw_start, raw_end = norm.raw_span(start, end)
    audio = _audio_range(norm.raw, utt.words, raw_start, raw_end)
    return Evidence(
        utterance_id=utt.utterance_id,
        start=start,
        end=end,
        text=norm.text[start:end],
        raw=norm.raw[raw_start:raw_end],
        audio_start=audio[0] if audio else None,
        audio_end=audio[1] if audio else None,
    )


def _audio_range(
    raw: str, words: Sequence[Word], start: int, end: int
) -> tuple[float, float] | None:
    """Session time of the words that overlap raw[start:end] (words appear in raw in order)."""
    if not words:
        return None
    pos = 0
    hits: list[Word] = []
    for w in words:
        token = w.text.strip()
        at = raw.find(token, pos) if token else -1
        if at < 0:
            continue
        pos = at + len(token)
        if at < end and pos > start:
            hits.append(w)
    if not hits:
        return None
    return hits[0].start, hits[-1].end
