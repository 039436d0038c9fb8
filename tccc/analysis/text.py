"""Text helpers for the extractors: sentences and clauses with their spans, times, negation."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A colon ends a sentence ("Vitals at 1040: pulse 128") unless a value follows it, as in
# "AVPU: V", "Pulse: 110" or "Allergies: none".
_SENTENCE_END = re.compile(
    r"[.!?;](?=\s|$)|:(?=\s|$)(?!\s*(?:\d|[a-z]\b|none\b|nil\b|nkda\b|nka\b))", re.IGNORECASE
)
_CLAUSE_END = re.compile(r",(?=\s|$)")
_TIME = re.compile(
    r"(?<![\w/.])(?:at\s+|@\s*)?((?:[01]\d|2[0-3])[0-5]\d)(?:\s*(?:hours|hrs|zulu|local|z\b|l\b))?"
    r"(?![\w/.%])(?!\s*(?:%|percent|[mk]?g|grams?|mcg|ml|cc|l|liters?|units?|kilos?|lbs?|pounds"
    r"|[ckm]?m|meters?|ga|gauge|inch(?:es)?|bpm|times|x)\b)",
    re.IGNORECASE,
)
_TIME_CUE = re.compile(
    r"\b(?:at|@|time|since|started|applied|given|injury)\s*$|^\s*$", re.IGNORECASE
)
_NEGATION = re.compile(
    r"\b(?:no|not|without|never|denies|denied|negative for|none)\b(?:\W+\w+){0,2}\W*$",
    re.IGNORECASE,
)
# Words before a term that say it was not done, or not yet: "holding off on ketamine", "will
# need a chest seal", "didn't give TXA". A plan is not a fact of the card.
_NOT_DONE = re.compile(
    r"\b(?:hold(?:ing)?\s+off(?:\s+on)?|held\s+off(?:\s+on)?|withh[eo]ld(?:ing)?|consider(?:ing)?"
    r"|prepar(?:e|ing)|ready\s+to|going\s+to|will|would|should|may|might|needs?"
    r"|plan(?:ning)?\s+(?:to|on)|don't|didn't|doesn't|unable\s+to|couldn't|can't|cannot|refused"
    r"|ran\s+out\s+of)\b"
    r"(?:\W+\w+){0,3}\W*$",
    re.IGNORECASE,
)
# Words after a term with the same meaning: "no tourniquet needed", "TXA not given yet",
# "naloxone on standby", "ketamine if pain gets worse".
_NOT_DONE_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:is\s+|are\s+|was\s+)?(?:not\s+(?:yet\s+)?)?"
    r"(?:needed|required|indicated|available|ready|due|contraindicated|withheld|if"
    r"|should|may\s+need|on\s+standby|standing\s+by"
    r"|not\s+(?:given|applied|done|attempted|possible|performed|placed))\b",
    re.IGNORECASE,
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


def comma_pieces(sentence: Span) -> list[Span]:
    """The pieces of a sentence between commas, each as said ("Confused", "urgent")."""
    return _split(sentence.text, sentence.start, _CLAUSE_END)


def clauses(sentence: Span) -> list[Span]:
    """Comma-separated clauses of a sentence, with offsets in the whole text.

    A comma next to a lone word, or between a side and what follows, is no clause boundary:
    slow, spaced dictation makes Whisper write one after nearly every word ("gunshot, wound, to
    the left, thigh"), which would cut a finding from its site or time.
    """
    out: list[Span] = []
    lone_before = False
    for piece in comma_pieces(sentence):
        lone = _LONE_WORD.fullmatch(piece.text) is not None
        if out and (lone_before or lone or _SIDE_END.search(out[-1].text)):
            prev = out.pop()
            piece = Span(
                sentence.text[prev.start - sentence.start : piece.end - sentence.start], prev.start
            )
        out.append(piece)
        lone_before = lone
    return out


_LONE_WORD = re.compile(r"\s*[a-z][a-z'-]*[.!?]?\s*", re.IGNORECASE)
_SIDE_END = re.compile(r"\b(?:left|right)\s*$", re.IGNORECASE)  # "to the left, thigh"


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
    """True when the words at [start, end) (offsets in the text) are denied or only planned:
    "no tourniquet needed", "without a chest seal", "holding off on ketamine"."""
    before = clause.text[: start - clause.start]
    after = clause.text[end - clause.start :]
    return bool(
        _NEGATION.search(before) or _NOT_DONE.search(before) or _NOT_DONE_AFTER.match(after)
    )
