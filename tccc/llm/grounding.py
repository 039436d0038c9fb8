"""The grounding check: a fact a language model proposes is kept only if the utterance says it.

A proposal names a kind, a value and the words it was read from (`quote`). It passes when the
quote is in the utterance's normalised (or raw) text, the value is in the quote, and the value
passes the same type checks as a rule fact (a vital in its physiological range, a known drug,
a limb, a card mechanism or evacuation category). Anything else is rejected with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tccc.analysis.evidence import UtteranceText
from tccc.analysis.extractors import limb_row, site_at
from tccc.analysis.lexicon import Lexicon
from tccc.analysis.measures import valid_vital
from tccc.analysis.text import Span
from tccc.events import Scalar

VITAL_KINDS = ("pulse", "bp", "resp_rate", "spo2", "pain", "avpu")
KINDS = (*VITAL_KINDS, "medication", "tourniquet", "evac", "mechanism")
"""What the model may propose: the card fields rules most often miss in misheard speech."""

REASONS = (
    "malformed",
    "unknown_kind",
    "no_quote",
    "value_not_in_quote",
    "wrong_kind",
    "invalid_value",
)

# The words that name each vital sign. A number is that sign only when its nearest sign word
# before it (in its clause) is one of these: "resp rate 20" is no pulse of 20.
_CUES = {
    "pulse": r"pulse|heart\s+rate|hr|radial|carotid|femoral",
    "bp": r"bp|blood\s+pressure|pressure",
    "resp_rate": r"resp(?:iratory)?(?:\s+rate)?|rr|respirations?|breathing|breaths",
    "spo2": r"sats?|spo2|saturation|sating|pulse\s+ox",
    "pain": r"pain",
}
_ANY_CUE = re.compile(r"\b(?:" + "|".join(_CUES.values()) + r")\b", re.I)

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_BP = re.compile(r"(\d{2,3})\s*/\s*(\d{2,3})")
_DOSE = re.compile(r"(\d+(?:\.\d+)?)\s*(mg|g|mcg)\b", re.I)
_AVPU = {"a": "A", "alert": "A", "v": "V", "voice": "V", "verbal": "V", "p": "P", "pain": "P",
         "u": "U", "unresponsive": "U"}  # fmt: skip


@dataclass(frozen=True)
class Grounded:
    """A proposal that passed: the fact's kind and data, and its span in the normalised text."""

    kind: str
    data: dict[str, Scalar]
    start: int
    end: int


@dataclass(frozen=True)
class Rejected:
    """A proposal that failed, and why (one of REASONS)."""

    reason: str


def ground(proposal: Any, utt: UtteranceText, lex: Lexicon) -> Grounded | Rejected:
    """Check one proposal ({kind, value, quote}) against the utterance it was read from."""
    if not isinstance(proposal, dict):
        return Rejected("malformed")
    kind, value, quote = (str(proposal.get(k) or "").strip() for k in ("kind", "value", "quote"))
    if kind not in KINDS:
        return Rejected("unknown_kind")
    if not value or not quote:
        return Rejected("malformed")
    span = _find(quote, utt)
    if span is None:
        return Rejected("no_quote")
    start, end = span
    cited = utt.text.text[start:end]
    if not _mentions(cited, value):
        return Rejected("value_not_in_quote")
    if kind in _CUES and not _cued(kind, value, utt.text.text, start, end):
        return Rejected("wrong_kind")
    data = _typed(kind, value, cited, start, lex)
    if data is None:
        return Rejected("invalid_value")
    fact_kind = "vital" if kind in VITAL_KINDS else kind
    return Grounded(fact_kind, data, start, end)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[\w/.%'-]+", text.lower()))


def _find(quote: str, utt: UtteranceText) -> tuple[int, int] | None:
    """Span of the quote in the normalised text, or of the normalised words the raw quote became."""
    norm = utt.text.text
    for text in (norm, utt.text.raw):
        pattern = r"[\W_]*".join(re.escape(w) for w in _words(quote).split())
        m = re.search(pattern, text, re.I) if pattern else None
        if m is None:
            continue
        if text is norm:
            return m.start(), m.end()
        return _norm_span(utt, m.start(), m.end())
    return None


def _norm_span(utt: UtteranceText, raw_start: int, raw_end: int) -> tuple[int, int]:
    """The normalised span that covers raw[raw_start:raw_end] (a partly covered edit counts)."""
    return _to_norm(utt, raw_start, at_end=False), _to_norm(utt, raw_end, at_end=True)


def _to_norm(utt: UtteranceText, offset: int, *, at_end: bool) -> int:
    shift = 0
    for edit in utt.text.edits:
        if offset >= edit.raw_end:
            shift = edit.end - edit.raw_end
            continue
        if offset > edit.raw_start:
            return edit.end if at_end else edit.start
        break
    return offset + shift


def _cued(kind: str, value: str, text: str, start: int, end: int) -> bool:
    """Whether the value's nearest sign word before it, in its clause, names this sign."""
    number = _NUMBER.search(value)
    if number is None:
        return False
    at = re.search(rf"(?<![\d.]){re.escape(number.group(0))}(?![\d])", text[start:end])
    if at is None:
        return False
    head = re.split(r"[.;,]\s", text[: start + at.start()])[-1]
    cues = list(_ANY_CUE.finditer(head))
    return bool(cues) and re.fullmatch(_CUES[kind], cues[-1].group(0), re.I) is not None


def _mentions(cited: str, value: str) -> bool:
    """Whether the value is said in the cited words (each number as a whole number)."""
    low, want = cited.lower(), value.lower().strip()
    numbers = _NUMBER.findall(want)
    if numbers:
        said = _NUMBER.findall(low)
        return all(n in said for n in numbers)
    return re.search(rf"(?<!\w){re.escape(want)}(?!\w)", low) is not None


def _typed(kind: str, value: str, cited: str, start: int, lex: Lexicon) -> dict[str, Scalar] | None:
    """The fact data for a proposal, or None when the value fails the rule facts' checks."""
    low = value.lower().strip()
    if kind == "bp":
        m = _BP.fullmatch(low.replace(" ", ""))
        if m is None:
            return None
        systolic, diastolic = int(m.group(1)), int(m.group(2))
        if not (40 <= systolic <= 300 and 20 <= diastolic <= 200 and diastolic < systolic):
            return None
        return {"sign": "bp", "value": f"{systolic}/{diastolic}"}
    if kind == "avpu":
        letter = _AVPU.get(low)
        return None if letter is None else {"sign": "avpu", "value": letter}
    if kind in VITAL_KINDS:
        if not low.isdigit() or not valid_vital(kind, int(low)):
            return None
        return {"sign": kind, "value": int(low)}
    if kind == "medication":
        found = lex.drugs.find(low)
        if not found:
            return None
        name = found[0][0]
        dose = _DOSE.search(cited)
        return {
            "category": lex.drug_info[name].category if name in lex.drug_info else "Other",
            "name": name,
            "dose": f"{dose.group(1)} {dose.group(2).lower()}" if dose else None,
            "route": None,
            "time": None,
        }
    if kind == "tourniquet":
        site = site_at(Span(low, 0), lex)
        limb = limb_row(site[0], site[1]) if site else None
        if limb is None:
            return None
        category = "Junctional" if limb == "Junctional" else "Extremity"
        return {"limb": limb, "type": None, "time": None, "category": category}
    if kind == "evac":
        found = lex.evac.find(low)
        return {"category": found[0][0]} if found else None
    found = lex.mechanism.find(low)  # mechanism
    return {"value": found[0][0], "word": low} if found else None
