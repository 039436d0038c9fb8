"""The extraction vocabulary (tccc/data/extraction.toml) as compiled word patterns."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any phrase as whole words, longest first."""
    parts = sorted({p.lower() for p in phrases}, key=len, reverse=True)
    return re.compile(rf"(?<![\w-])(?:{'|'.join(_said(p) for p in parts)})(?![\w-])", re.I)


def _said(phrase: str) -> str:
    """The pattern of one phrase as it is said: Whisper may write a comma between the words of
    a slowly said phrase ("high, and tight"); "is" may be contracted ("airway's intact"); the
    last word may be plural ("pressure dressings", "hypothermia blankets")."""
    body = re.escape(phrase).replace(r"\ is\ ", r"(?:[\s,]+is|['’]s)[\s,]+")
    body = body.replace(r"\ ", r"[\s,-]+")
    return body + ("(?:e?s)?" if phrase[-1:].isalpha() and len(phrase) > 3 else "")


@dataclass(frozen=True)
class Choice:
    """A set of canonical values, each with the phrases that say it."""

    names: tuple[str, ...]
    pattern: re.Pattern[str]
    """Every phrase of every value, longest first, in a group named after its value's index:
    one scan of the text finds them all."""

    @classmethod
    def of(cls, table: Mapping[str, Iterable[str]]) -> Choice:
        """Build from {canonical: [phrases]}."""
        names = tuple(table)
        phrases = sorted(
            {(p.lower(), i) for i, words in enumerate(table.values()) for p in words},
            key=lambda x: (-len(x[0]), x[0]),
        )
        body = "|".join(f"(?P<v{i}_{n}>{_said(p)})" for n, (p, i) in enumerate(phrases))
        return cls(names, re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE))

    def find(self, text: str) -> list[tuple[str, re.Match[str]]]:
        """Every (canonical, match) in text, in text order, the longest phrase at each place."""
        # Several extractors ask the same choice about the same clause: scanned once.
        return list(_scan(self.names, self.pattern, text))


@lru_cache(maxsize=4096)
def _scan(
    names: tuple[str, ...], pattern: re.Pattern[str], text: str
) -> tuple[tuple[str, re.Match[str]], ...]:
    out: list[tuple[str, re.Match[str]]] = []
    for m in pattern.finditer(text):
        group = m.lastgroup or "v0_0"
        out.append((names[int(group[1 : group.index("_")])], m))
    return tuple(out)


@dataclass(frozen=True)
class Drug:
    """A drug the card records, with its category."""

    name: str
    category: str
    route_in_name: bool = False
    """The name says the route (OTFC): no route is taken from the words around it."""
    unit: str | None = None
    """The unit of a dose said without one."""
    unitless: tuple[float, float] | None = None
    """The range within which a number said without a unit is a dose in `unit`."""


@dataclass(frozen=True)
class Lexicon:
    """Everything the extractors match, compiled once."""

    version: int
    mechanism: Choice
    not_mechanism: re.Pattern[str]
    injury: Choice
    regions: Mapping[str, str]
    region_pattern: re.Pattern[str]
    region_terms: Mapping[str, str]
    """A region said in other words and the card's term for it ("shin": "lower leg")."""
    tourniquet: re.Pattern[str]
    tourniquet_types: Choice
    junctional: re.Pattern[str]
    high_and_tight: re.Pattern[str]
    converted: re.Pattern[str]
    tourniquet_reference: re.Pattern[str]
    removed: re.Pattern[str]
    dressings: Choice
    packing: re.Pattern[str]
    airway: Choice
    breathing: Choice
    treatments: Choice
    drugs: Choice
    drug_info: Mapping[str, Drug]
    fluids: Choice
    routes: Choice
    ranks: re.Pattern[str]
    units: re.Pattern[str]
    unit_names: re.Pattern[str]
    unit_roles: tuple[str, ...]
    services: Choice
    nkda: re.Pattern[str]
    evac: Choice
    casualty_roles: re.Pattern[str]
    """Descriptions a casualty can be introduced by and referred back to ("the interpreter")."""
    casualty_role_words: frozenset[str]
    not_names: frozenset[str]
    """Capitalised words that say someone is hurt but are no name ("She's hit", "It's Okay")."""


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """The bundled lexicon, or one from a TOML file of the same shape."""
    if path is None:
        return _bundled()
    return _build(tomllib.loads(Path(path).read_text(encoding="utf-8")))


@cache
def _bundled() -> Lexicon:
    text = resources.files("tccc.data").joinpath("extraction.toml").read_text(encoding="utf-8")
    return _build(tomllib.loads(text))


def _build(data: Mapping[str, Any]) -> Lexicon:
    tq = data["tourniquet"]
    drugs = data["drugs"]
    ident = data["identity"]
    regions = {str(k).lower(): str(v) for k, v in data["regions"].items()}
    return Lexicon(
        version=int(data.get("version", 1)),
        mechanism=Choice.of(data["mechanism"]),
        not_mechanism=phrase_pattern(data["not_mechanism"]["phrases"]),
        injury=Choice.of(data["injury"]),
        regions=regions,
        region_pattern=phrase_pattern(regions),
        region_terms={str(k).lower(): str(v) for k, v in data.get("region_terms", {}).items()},
        tourniquet=phrase_pattern(tq["words"]),
        tourniquet_types=Choice.of(tq["types"]),
        junctional=phrase_pattern(tq["junctional"]),
        high_and_tight=phrase_pattern(tq["high_and_tight"]),
        converted=phrase_pattern(tq["converted"]),
        tourniquet_reference=phrase_pattern(tq["reference"]),
        removed=phrase_pattern(tq["removed"]),
        dressings=Choice.of(data["dressings"]),
        packing=phrase_pattern(data["packing"]["phrases"]),
        airway=Choice.of(data["airway"]),
        breathing=Choice.of(data["breathing"]),
        treatments=Choice.of(data["treatments"]),
        drugs=Choice.of({name: d["names"] for name, d in drugs.items()}),
        drug_info={
            name: Drug(
                name,
                str(d["category"]),
                bool(d.get("route_in_name", False)),
                d.get("unit"),
                (float(d["unitless"][0]), float(d["unitless"][1])) if "unitless" in d else None,
            )
            for name, d in drugs.items()
        },
        fluids=Choice.of(data["fluids"]),
        routes=Choice.of(data["routes"]),
        ranks=phrase_pattern(ident["ranks"]),
        units=phrase_pattern(ident["units"]),
        unit_names=phrase_pattern(ident["unit_names"]),
        unit_roles=tuple(str(r) for r in ident["unit_roles"]),
        services=Choice.of(ident["services"]),
        nkda=phrase_pattern(ident["nkda"]),
        evac=Choice.of(data["evac"]),
        casualty_roles=phrase_pattern(data["casualties"]["roles"]),
        casualty_role_words=frozenset(
            w for role in data["casualties"]["roles"] for w in str(role).lower().split()
        ),
        not_names=frozenset(str(w).lower() for w in data["casualties"]["not_names"]),
    )
