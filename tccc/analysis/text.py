"""Text helpers for the extractors: sentences and clauses with their spans, times, negation."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<!\d)[.!?;:](?=\s|$)|(?<=\d)[.!?;:](?=\s|$)")
_CLAUSE_END = re.compile(r",(?=\s|$)")
_TIME = re.compile(
    r"(?<![\w/.])(?:at\s+|@\s*)?((?:[01]\d|2[0-3])[0-5]\d)(?:\s*(?:hours|hrs|zulu|local|z\b|l\b))?(?![\w/.%])",
    re.IGNORECASE,
)
_TIME_CUE = re.compile(r"\b(?:at|@|time|since|started|applied|given)\s*$|^\s*$", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:no|not|without|never|denies|denied|negative for|none)\b(?:\W+\w+){0,2}\W*$",
    re.IGNORECASE,
)
_NOT_NEEDED = re.compile(
    r"^\W*(?:\w+\W+){0,2}?(?:not|wasn't|isn't)?\s*(?:needed|required|indicated)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Span:
    """A piece of the analysed text and where it starts in it."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """Offset just after the piece."""
        return self.start + len(self.text)


def _split(text: str, start: int, pattern: re.Pattern[str]) -> list[Span]:
    out: list[Span] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(Span(text[pos : m.start()], start + pos))
        pos = m.end()
    out.append(Span(text[pos:], start + pos))
    return [_strip(s) for s in out if s.text.strip()]


def _strip(span: Span) -> Span:
    lead = len(span.text) - len(span.text.lstrip())
    return Span(span.text.strip(), span.start + lead)


def sentences(text: str) -> list[Span]:
    """Sentences of a transcript (split at . ! ? ; : but not inside numbers like 3.25)."""
    return _split(text, 0, _SENTENCE_END)


def clauses(sentence: Span) -> list[Span]:
    """Comma-separated clauses of a sentence, with offsets in the whole text."""
    return _split(sentence.text, sentence.start, _CLAUSE_END)


@dataclass(frozen=True)
class ClockTime:
    """A 24-hour clock time said in the text."""

    hhmm: str
    start: int
    end: int


def times(span: Span) -> list[ClockTime]:
    """Clock times in a span: four digits that read as HHMM after a cue ("at", "time") or a
    zone word ("zulu", "local", "hours"), so counts like "1 unit" or "500 mL" never match."""
    out: list[ClockTime] = []
    for m in _TIME.finditer(span.text):
        whole = m.group(0).lower()
        cued = whole.startswith(("at", "@")) or whole.rstrip().endswith(
            ("hours", "hrs", "zulu", "local", "z", "l")
        )
        before = span.text[: m.start()]
        if cued or _TIME_CUE.search(before) or re.search(r"\b(?:and|then|,)\s*$", before):
            out.append(ClockTime(m.group(1), span.start + m.start(1), span.start + m.end(1)))
    return out


def negated(clause: Span, start: int, end: int) -> bool:
    """True when the words at [start, end) (offsets in the text) are denied in the clause:
    "no tourniquet needed", "denies allergies", "without a chest seal"."""
    before = clause.text[: start - clause.start]
    after = clause.text[end - clause.start :]
    return bool(_NEGATION.search(before)) or bool(
        re.match(r"^\W*(?:\w+\W+){0,2}?(?:not\s+)?(?:needed|required|indicated)\b", after)
        and re.search(r"\bno\b|\bnot\b", clause.text, re.IGNORECASE)
    )
