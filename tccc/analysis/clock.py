"""Session clock: spoken 24-hour clock times to and from seconds since the session began.

Decision support runs on session time, so a replayed recording gives the same prompts at the
same moments. Spoken times ("tourniquet at fourteen thirty-two") are placed on the session
timeline through one anchor: the latest fact that carries a spoken time, taken as said at that
clock minute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tccc.events import Fact, Scalar

MINUTES_PER_DAY = 24 * 60
_HALF_DAY_MIN = MINUTES_PER_DAY // 2
_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):?([0-5]\d)\s*(?:[LZlz]|hours|hrs)?\s*$")

# The time of injury is in the past by nature, not a reading of the clock as it is said, so it
# anchors the clock only when no other fact carries a spoken time.
_WEAK_ANCHOR_KINDS = frozenset({"time_of_injury"})


def parse_hhmm(value: Scalar) -> int | None:
    """Minutes after midnight of a 24-hour time ("1432", "14:32", "0830Z", 830); else None."""
    if value is None or isinstance(value, bool | float):
        return None
    if isinstance(value, int):
        if not 0 <= value <= 2359:
            return None
        value = f"{value:04d}"
    match = _HHMM.match(value)
    if match is None:
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def format_hhmm(minutes: int) -> str:
    """The 24-hour "HHMM" form of a minute of the day (wrapping past midnight)."""
    minutes %= MINUTES_PER_DAY
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def live_facts(facts: Iterable[Fact]) -> list[Fact]:
    """The facts still in force: not retracted, not replaced by a correction, not a retraction."""
    ordered = sorted(facts, key=lambda f: f.id)
    withdrawn = {_fact_ref(f) for f in ordered if f.kind == "retract"}
    # As in record.fold: a withdrawn correction replaces nothing.
    replaced = {f.replaces for f in ordered if f.replaces is not None and f.id not in withdrawn}
    return [
        f for f in ordered if f.kind != "retract" and f.id not in withdrawn and f.id not in replaced
    ]


def _fact_ref(fact: Fact) -> int | None:
    value = fact.data.get("fact")
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SessionClock:
    """Maps spoken HHMM times to session seconds and back through one anchor.

    Without an anchor (no time was spoken yet) both conversions return None.
    """

    anchor_min: int | None = None
    """Minute of the day (0..1439) that the anchor fact names."""
    anchor_s: float | None = None
    """Session seconds at which that minute began (when the anchor fact was stated)."""

    def __post_init__(self) -> None:
        if (self.anchor_min is None) != (self.anchor_s is None):
            raise ValueError("SessionClock needs both anchor_min and anchor_s, or neither")
        if self.anchor_min is not None and not 0 <= self.anchor_min < MINUTES_PER_DAY:
            raise ValueError(f"anchor_min must be 0..{MINUTES_PER_DAY - 1}")

    @classmethod
    def from_facts(cls, facts: Iterable[Fact]) -> SessionClock:
        """Anchored on the latest live fact (by session_s) with a spoken `time`; unanchored if none.

        A time of injury anchors only when no other fact carries a time (it is a past time).
        """
        best: tuple[tuple[bool, float, int], int, float] | None = None
        for fact in live_facts(facts):
            minute = parse_hhmm(fact.data.get("time"))
            if minute is None:
                continue
            key = (fact.kind not in _WEAK_ANCHOR_KINDS, fact.session_s, fact.id)
            if best is None or key > best[0]:
                best = (key, minute, fact.session_s)
        return cls() if best is None else cls(best[1], best[2])

    @property
    def anchored(self) -> bool:
        """True when a spoken time anchors the clock."""
        return self.anchor_min is not None

    def to_session_s(self, hhmm: Scalar) -> float | None:
        """Session seconds of a spoken time: the occurrence nearest the anchor (within 12 h).

        Nearest-occurrence handles midnight: with the anchor at 2350, "0010" is 20 minutes
        later and "2330" 20 minutes earlier.
        """
        minute = parse_hhmm(hhmm)
        if minute is None or self.anchor_min is None or self.anchor_s is None:
            return None
        delta = (minute - self.anchor_min) % MINUTES_PER_DAY
        if delta >= _HALF_DAY_MIN:
            delta -= MINUTES_PER_DAY
        return self.anchor_s + delta * 60.0

    def to_clock(self, session_s: float) -> str | None:
        """The HHMM clock time of a session time (the minute it falls in); None if unanchored."""
        if self.anchor_min is None or self.anchor_s is None:
            return None
        # The epsilon keeps an exact minute boundary (anchor + 7200.0 s) from flooring below it.
        elapsed_min = math.floor((session_s - self.anchor_s) / 60.0 + 1e-9)
        return format_hhmm(self.anchor_min + elapsed_min)
