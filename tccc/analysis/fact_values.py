"""Reading free-form fact values: words, numbers, AVPU letters, flags, and showing values."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tccc.events import Evidence, Scalar

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_AVPU_WORDS = {"alert": "A", "voice": "V", "verbal": "V", "pain": "P", "painful": "P"}
_AVPU_WORDS |= {"unresponsive": "U", "unconscious": "U"}
AVPU_RANK = {"A": 0, "V": 1, "P": 2, "U": 3}
"""AVPU letters from most (A, 0) to least (U, 3) responsive."""


def normalise_words(text: str) -> str:
    """Lower case, apostrophes dropped, every other non-alphanumeric run a single space."""
    return " ".join(_NON_ALNUM.sub(" ", text.lower().replace("'", "").replace("’", "")).split())


def display(value: object) -> str:
    """A value as prompt text: whole floats without ".0", tuples comma-separated."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(display(v) for v in value)
    return str(value)


def as_number(value: Scalar) -> float | None:
    """A number from a fact value: 130, 84.0, "84%", "7/10" (the first number)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER.search(value)
    return float(match.group()) if match else None


def avpu_letter(value: Scalar) -> str | None:
    """A, V, P or U from a recorded AVPU value ("V", "verbal", "responds to pain")."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if text.upper() in AVPU_RANK:
        return text.upper()
    for word in normalise_words(text).split():
        if word in _AVPU_WORDS:
            return _AVPU_WORDS[word]
    return None


def truthy(value: Scalar) -> bool:
    """A flag that is set: True, or the text "true", "yes" or "1"."""
    return value is True or (isinstance(value, str) and value.lower() in ("true", "yes", "1"))


def as_text(value: Scalar) -> str:
    """A fact value as text ("" for None)."""
    return "" if value is None else str(value)


def dedupe(evidence: Iterable[Evidence | None]) -> tuple[Evidence, ...]:
    """The evidence without Nones and repeats, in first-seen order."""
    seen: dict[Evidence, None] = {}
    for item in evidence:
        if item is not None:
            seen.setdefault(item, None)
    return tuple(seen)
