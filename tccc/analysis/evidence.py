"""Evidence of a fact: the span of normalised text, the raw words behind it, their audio time."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tccc.events import Evidence, NormalisedText, Word

# Words whose mishearing changes no fact: a fact rests on its other words.
_FUNCTION = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "at",
        "on",
        "in",
        "for",
        "with",
        "by",
        "from",
        "his",
        "her",
        "him",
        "he",
        "she",
        "it",
        "is",
        "was",
        "are",
        "were",
        "has",
        "had",
        "got",
        "gave",
        "given",
        "put",
        "placed",
        "uh",
        "um",
        "okay",
        "so",
        "then",
        "now",
    ]
)


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
    hits = _words_in(norm.raw, utt.words, raw_start, raw_end)
    return Evidence(
        utterance_id=utt.utterance_id,
        start=start,
        end=end,
        text=norm.text[start:end],
        raw=norm.raw[raw_start:raw_end],
        audio_start=hits[0].start if hits else None,
        audio_end=hits[-1].end if hits else None,
        confidence=_confidence(norm, hits, start, end),
    )


def span_confidence(utt: UtteranceText, start: int, end: int) -> float | None:
    """How sure the recogniser was of the words behind `text[start:end]` (None: all sure)."""
    raw_start, raw_end = utt.text.raw_span(start, end)
    return _confidence(utt.text, _words_in(utt.text.raw, utt.words, raw_start, raw_end), start, end)


def _words_in(raw: str, words: Sequence[Word], start: int, end: int) -> list[Word]:
    """The recognised words that overlap raw[start:end] (words appear in raw in order)."""
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
    return hits


def _confidence(norm: NormalisedText, words: Sequence[Word], start: int, end: int) -> float | None:
    """The lowest certainty among the content words behind a span and the normaliser's
    rewrites inside it; None when every one of them is certain (or there is none)."""
    sure = [
        w.probability
        for w in words
        if re.sub(r"[^\w']", "", w.text.lower()) not in _FUNCTION and w.probability < 1.0
    ]
    sure += [
        e.confidence for e in norm.edits if e.start < end and e.end > start and e.confidence < 1.0
    ]
    return min(sure) if sure else None
