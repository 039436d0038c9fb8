"""The 9-line MEDEVAC request (GTA 08-01-004), filled only where the records or the medic say.

The casualty records can fill line 3 (patients by precedence), sometimes line 5 (litter or
ambulatory) and line 8 (nationality and status). Every other line comes from the document's
optional `medevac` dict or is sent as UNKNOWN: a guessed grid or frequency is worse than none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from tccc.reports.document import Casualty, Medevac, check_document

UNKNOWN = "UNKNOWN"
"""What a line the product cannot fill says."""

_PRECEDENCE = {
    "Urgent": ("A", "Urgent"),
    "Priority": ("C", "Priority"),
    "Routine": ("D", "Routine"),
}
"""Card category -> 9-line precedence. The card has no Urgent-Surgical, so Urgent stays A."""

_US_MILITARY = frozenset(
    {
        "USA",
        "USAF",
        "USCG",
        "USN",
        "USMC",
        "USSF",
        "US ARMY",
        "ARMY",
        "AIR FORCE",
        "NAVY",
        "MARINE CORPS",
        "MARINES",
        "COAST GUARD",
        "SPACE FORCE",
    }
)
_US_CIVILIAN = frozenset({"US CIV", "US CIVILIAN"})

# Responding to pain only, or not at all, rules out walking to the aircraft; the airways below
# are only tolerated by casualties who cannot protect their own airway.
_LITTER_AVPU = frozenset({"P", "U"})
_LITTER_AIRWAYS = frozenset({"CRIC", "ET-Tube", "SGA"})


@dataclass(frozen=True)
class Line:
    """One line of the request: its text and whether it was filled from known facts."""

    number: int
    title: str
    text: str
    known: bool


@dataclass(frozen=True)
class NineLine:
    """A 9-line MEDEVAC request."""

    line1: Line
    line2: Line
    line3: Line
    line4: Line
    line5: Line
    line6: Line
    line7: Line
    line8: Line
    line9: Line

    def lines(self) -> tuple[Line, ...]:
        """Lines 1-9 in order."""
        return (
            self.line1,
            self.line2,
            self.line3,
            self.line4,
            self.line5,
            self.line6,
            self.line7,
            self.line8,
            self.line9,
        )


_TITLES = {
    1: "Location of pickup site",
    2: "Radio frequency, call sign and suffix",
    3: "Number of patients by precedence",
    4: "Special equipment required",
    5: "Number of patients by type",
    6: "Security at pickup site",
    7: "Method of marking pickup site",
    8: "Patient nationality and status",
    9: "NBC contamination",
}


def nine_line(doc: Mapping[str, object]) -> NineLine:
    """The 9-line request for every casualty in the export."""
    checked = check_document(doc)
    medevac: Medevac = checked.get("medevac", {})
    casualties = checked["casualties"]

    def given(number: int, key: str) -> Line:
        value = medevac.get(key)
        if value is None or str(value).strip() == "":
            return _unknown(number)
        return Line(number, _TITLES[number], str(value).strip(), True)

    line5 = given(5, "patients_by_type")
    if not line5.known:
        line5 = _by_type(casualties)
    line8 = given(8, "nationality")
    if not line8.known:
        line8 = _nationality(casualties)
    return NineLine(
        line1=given(1, "location"),
        line2=given(2, "frequency"),
        line3=_precedence(casualties),
        line4=given(4, "special_equipment"),
        line5=line5,
        line6=given(6, "security"),
        line7=given(7, "marking"),
        line8=line8,
        line9=given(9, "nbc"),
    )


def format_nine_line(doc: Mapping[str, object]) -> str:
    """The 9-line request as plain text, one line each (lines 1-5 are the ones sent first)."""
    lines = ["9-LINE MEDEVAC REQUEST"]
    lines += [f"Line {line.number}. {line.title}: {line.text}" for line in nine_line(doc).lines()]
    return "\n".join(lines) + "\n"


def _unknown(number: int) -> Line:
    return Line(number, _TITLES[number], UNKNOWN, False)


def _summary(counts: Counter[tuple[str, str]], missing: int) -> str:
    parts = [f"{n}{letter} {name}" for (letter, name), n in sorted(counts.items())]
    if missing:
        parts.append(f"{missing} {UNKNOWN}")
    return ", ".join(parts)


def _precedence(casualties: list[Casualty]) -> Line:
    counts: Counter[tuple[str, str]] = Counter()
    missing = 0
    for casualty in casualties:
        precedence = _PRECEDENCE.get(casualty.get("evac_category") or "")
        if precedence is None:
            missing += 1
        else:
            counts[precedence] += 1
    if not counts:
        return _unknown(3)
    # A partial count is still worth sending, but the line is not complete, so not "known".
    return Line(3, _TITLES[3], _summary(counts, missing), missing == 0)


def _needs_litter(casualty: Casualty) -> bool:
    latest_avpu = next(
        (v["avpu"] for v in reversed(casualty.get("vitals") or []) if v.get("avpu")), None
    )
    airways = set(casualty.get("airway") or [])
    return latest_avpu in _LITTER_AVPU or bool(airways & _LITTER_AIRWAYS)


def _by_type(casualties: list[Casualty]) -> Line:
    # Ambulatory is never in the records, so only casualties who certainly need a litter count.
    litter = sum(1 for c in casualties if _needs_litter(c))
    if litter == 0:
        return _unknown(5)
    counts = Counter({("L", "Litter"): litter})
    missing = len(casualties) - litter
    return Line(5, _TITLES[5], _summary(counts, missing), missing == 0)


def _nationality(casualties: list[Casualty]) -> Line:
    counts: Counter[tuple[str, str]] = Counter()
    missing = 0
    for casualty in casualties:
        service = (casualty.get("service") or "").strip().upper()
        if service in _US_MILITARY:
            counts["A", "US military"] += 1
        elif service in _US_CIVILIAN:
            counts["B", "US civilian"] += 1
        else:
            # Non-US service does not say military or civilian (C or D), and none says nothing.
            missing += 1
    if not counts:
        return _unknown(8)
    return Line(8, _TITLES[8], _summary(counts, missing), missing == 0)
