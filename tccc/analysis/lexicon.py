"""The extraction vocabulary (tccc/data/extraction.toml) as compiled word patterns."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any phrase as whole words, longest first."""
    parts = sorted({p.lower() for p in phrases}, key=len, reverse=True)
    # Whisper may write a comma between the words of a slowly said phrase ("high, and tight").
    body = "|".join(re.escape(p).replace(r"\ ", r"[\s,-]+") for p in parts)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


@dataclass(frozen=True)
class Choice:
    """A set of canonical values, each with the phrases that say it."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def of(cls, table: Mapping[str, Iterable[str]]) -> Choice:
        """Build from {canonical: [phrases]}."""
        return cls(tuple((name, phrase_pattern(words)) for name, words in table.items()))

    def find(self, text: str) -> list[tuple[str, re.Match[str]]]:
        """Every (canonical, match) in text, in text order; overlapping shorter ones dropped."""
        found = [(name, m) for name, pat in self.patterns for m in pat.finditer(text)]
        found.sort(key=lambda x: (x[1].start(), -(x[1].end() - x[1].start())))
        out: list[tuple[str, re.Match[str]]] = []
        end = -1
        for name, m in found:
            if m.start() >= end:
                out.append((name, m))
                end = m.end()
        return out


@dataclass(frozen=True)
class Drug:
    """A drug the card records, with its category."""

    name: str
    category: str
    route_in_name: bool = False
    """The name says the route (OTFC): no route is taken from the words around it."""


@dataclass(frozen=True)
class Lexicon:
    """Everything the extractors match, compiled once."""

    version: int
    mechanism: Choice
    not_mechanism: re.Pattern[str]
    injury: Choice
    regions: Mapping[str, str]
    region_pattern: re.Pattern[str]
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
    services: Choice
    nkda: re.Pattern[str]
    evac: Choice


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
            name: Drug(name, str(d["category"]), bool(d.get("route_in_name", False)))
            for name, d in drugs.items()
        },
        fluids=Choice.of(data["fluids"]),
        routes=Choice.of(data["routes"]),
        ranks=phrase_pattern(ident["ranks"]),
        units=phrase_pattern(ident["units"]),
        services=Choice.of(ident["services"]),
        nkda=phrase_pattern(ident["nkda"]),
        evac=Choice.of(data["evac"]),
    )
