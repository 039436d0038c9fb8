"""Text helpers for the extractors: sentences and clauses with their spans, times, negation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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
    r"\b(?:at|@|time|since|started|applied|given|injury|around|about|approximately|approx"
    r"|roughly|by)\s*$|^\s*$",
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
    """Sentences of a transcript (split at . ! ? ; : but not inside numbers like 3.25).

    A colon after a card field's label ("Allergies: penicillin", "TQ row: right leg, CAT")
    introduces its value: the label and the value are one sentence.
    """
    out: list[Span] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group(0) == ":" and _FIELD_LABEL.fullmatch(text[pos : m.start()]):
            continue
        out.append(Span(text[pos : m.start()], pos))
        pos = m.end()
    out.append(Span(text[pos:], pos))
    return [_strip(s) for s in out if s.text.strip()]


_FIELD_LABEL = re.compile(
    r"\s*(?:known\s+)?(?:allerg(?:y|ies)|mechanism(?:\s+of\s+injury)?|moi|unit|airway|breathing"
    r"|meds?|medications?|drugs|dressings?|tq(?:\s+row)?|tourniquets?|injur(?:y|ies)|wounds?"
    r"|evac(?:\s+category)?|category|precedence|name|last\s+name|first\s+name|roster"
    r"|battle\s+roster|last\s+four|fluids?|blood|other|treatments?|avpu|pain|gcs)\s*",
    re.I,
)


def comma_pieces(sentence: Span) -> list[Span]:
    """The pieces of a sentence between commas, each as said ("Confused", "urgent")."""
    return _split(sentence.text, sentence.start, _CLAUSE_END)


def clauses(sentence: Span) -> list[Span]:
    """Comma-separated clauses of a sentence, with offsets in the whole text.

    A comma next to a lone word, or between a side and what follows, is no clause boundary:
    slow, spaced dictation makes Whisper write one after nearly every word ("gunshot, wound, to
    the left, thigh"), which would cut a finding from its site or time.
    """
    return list(_clauses(sentence))


@lru_cache(maxsize=2048)
def _clauses(sentence: Span) -> tuple[Span, ...]:
    # Every extractor asks for the clauses of the same sentence: they are cut once.
    out: list[Span] = []
    lone_before = False
    for i, piece in enumerate(comma_pieces(sentence)):
        lone = _LONE_WORD.fullmatch(piece.text) is not None
        site = bool(_SITE_ONLY.fullmatch(piece.text) or _SITE_LIST.fullmatch(piece.text))
        # A sentence opening on sites alone says what comes next of them: "right hip and right
        # lower abdomen, entry wounds only".
        opening_site = i == 1 and len(out) == 1 and _SITES_OPENING.fullmatch(out[0].text)
        if out and (lone_before or lone or site or opening_site or _SIDE_END.search(out[-1].text)):
            prev = out.pop()
            piece = Span(
                sentence.text[prev.start - sentence.start : piece.end - sentence.start], prev.start
            )
        out.append(piece)
        lone_before = lone
    return tuple(out)


# "traumatic amputation, left lower leg", "CAT, right leg, 1504": a site said on its own
# after a pause belongs to what was said before it.
# A site listed on its own: "right forearm", "her right forearm", "and the front of her right
# thigh".
_SITE_ONLY = re.compile(
    r"\s*(?:and\s+)?(?:(?:on|to|in|over)\s+)?(?:(?:the|his|her)\s+)?"
    r"(?:(?:front|back|side|top|outside|inside)\s+of\s+"
    r"(?:(?:the|his|her)\s+)?)?(?:left|right|both|bilateral)\s+(?:[a-z'-]+\s+){0,2}[a-z'-]+\s*",
    re.I,
)
_SITE_WORD = r"(?!(?:is|are|was|were|has|had|got|looks)\b)[a-z'-]+"
_ONE_SITE = (
    rf"(?:(?:the|his|her)\s+)?(?:left|right|both|bilateral)\s+(?:{_SITE_WORD}\s+)?{_SITE_WORD}"
)
_SITES_OPENING = re.compile(rf"\s*{_ONE_SITE}(?:\s+(?:and|&)\s+{_ONE_SITE})*\s*", re.I)
_POSITIONED = (
    rf"(?:the|his|her)\s+(?:front|back|side|top|outside|inside)\s+of\s+(?:(?:the|his|her)\s+)?"
    rf"(?:(?:left|right)\s+)?{_SITE_WORD}"
)
# Sites listed on their own: "both hands and the front of the chest".
_SITE_LIST = re.compile(
    rf"\s*(?:and\s+)?{_ONE_SITE}(?:\s*(?:,|and|&)\s+(?:and\s+)?(?:{_ONE_SITE}|{_POSITIONED}))+\s*",
    re.I,
)
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


def negated(
    clause: Span, start: int, end: int, sentence: Span | None = None, kind: str | None = None
) -> bool:
    """True when the words at [start, end) (offsets in the text) are no stated fact of the
    casualty: denied, planned, said to or of someone else, historical or uncertain ("no
    tourniquet needed", "holding off on ketamine", "Jonesy, get a tourniquet out"). The rules
    are tccc/data/assertion.toml (see tccc.analysis.assertion); `sentence`, the sentence holding
    the clause, lets a condition reach over a comma ("if pain gets worse, ketamine"); `kind`
    ("evac") skips rules that do not apply to that kind of finding."""
    # Imported here: assertion.py builds on Span, defined above.
    from tccc.analysis.assertion import assertion

    return not assertion(clause, start, end, sentence, kind).recorded
