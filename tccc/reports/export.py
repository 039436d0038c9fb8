"""The DD 1380 JSON export (`tccc.dd1380/1`, ../shared/domain/EXPORT.md) from casualty records.

Card fields use exactly the export's names and vocabularies; the product's extras (rank,
service, burn area, GCS, pupils, tourniquet conversion, and every fact with its evidence) go in
extra keys, which the scorer ignores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from tccc.analysis.record import CasualtyRecord, Item, confirmed_ids
from tccc.events import Fact

SCHEMA = "tccc.dd1380/1"
SCENE = "*"
_CARD_VITALS = ("pulse", "bp", "resp_rate", "spo2", "avpu", "pain")
_SIDED = re.compile(r"\b(left|right|both|bilateral)\b")


def export_document(
    records: Mapping[str, CasualtyRecord], *, session: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The export document of a session: every casualty, scene facts given to each."""
    scene = records.get(SCENE)
    people = [r for label, r in records.items() if label != SCENE]
    if not people and scene is not None:
        people = [CasualtyRecord("1")]
    people.sort(key=lambda r: (r.first_s, _label_key(r.label)))
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "casualties": [export_casualty(r, scene) for r in people],
    }
    if session:
        doc["session"] = dict(session)
    return doc


def _label_key(label: str) -> tuple[int, str]:
    return (int(label), "") if label.isdigit() else (1 << 30, label)


def _values(items: Iterable[Item]) -> list[str]:
    out: list[str] = []
    for item in items:
        value = str(item.data["value"])
        if value not in out:
            out.append(value)
    return out


def export_casualty(record: CasualtyRecord, scene: CasualtyRecord | None = None) -> dict[str, Any]:
    """One casualty in the export shape."""
    ident = record.identity
    mechanisms = _values(
        (scene.of_kind("mechanism") if scene else []) + record.of_kind("mechanism")
    )
    tourniquets = [_tourniquet(i) for i in record.of_kind("tourniquet")]
    out: dict[str, Any] = {
        "label": record.label,
        "battle_roster": ident.get("battle_roster"),
        "last_name": ident.get("last_name"),
        "first_name": ident.get("first_name"),
        "last4": ident.get("last4"),
        "unit": ident.get("unit"),
        "allergies": ident.get("allergies"),
        "evac_category": record.evac_category,
        "time_of_injury": record.time_of_injury or (scene.time_of_injury if scene else None),
        "mechanism": mechanisms,
        "injuries": _injuries(record.of_kind("injury")),
        "tourniquets": [t for t in tourniquets if t["limb"] is not None],
        "hemorrhage_dressings": _values(record.of_kind("dressing")),
        "airway": _values(record.of_kind("airway")),
        "breathing": _values(record.of_kind("breathing")),
        "vitals": _vitals(record),
        "fluids": [
            {k: i.data.get(k) for k in ("name", "volume_ml", "route", "time")}
            | _extra(i, ("units", "rate_ml_h"))
            for i in record.of_kind("fluid")
        ],
        "medications": [
            {k: i.data.get(k) for k in ("category", "name", "dose", "route", "time")}
            for i in record.of_kind("medication")
        ],
        "other_treatments": _values(record.of_kind("treatment")),
    }
    for key in ("rank", "service", "weight_kg"):
        if key in ident:
            out[key] = ident[key]
    unplaced = [t for t in tourniquets if t["limb"] is None]
    if unplaced:
        # The card's tourniquet rows are limbs; one whose limb was not heard is still on the
        # casualty, so it is kept (and shown on the card's back), never dropped or guessed.
        out["tourniquets_unplaced"] = unplaced
    burn = record.of_kind("burn")
    if burn:
        out["burn_tbsa"] = burn[-1].data["tbsa"]
    confirmed = confirmed_ids(record.facts)
    suggested = [f for f in record.facts if f.status == "suggested" and f.id not in confirmed]
    if suggested:
        # A language model's suggestions are shown apart, as such, until the medic confirms.
        out["suggested"] = [
            {"fact": f.id, "kind": f.kind, **f.data, "source": f.source, "said": f.evidence.text}
            for f in suggested
        ]
    out["facts"] = [fact_json(f) for f in record.facts]
    return out


def _extra(item: Item, keys: Iterable[str]) -> dict[str, Any]:
    return {k: item.data[k] for k in keys if item.data.get(k) is not None}


def _injuries(items: list[Item]) -> list[dict[str, Any]]:
    """Injuries without repeats; a site said without a side is dropped when the same region
    was already given with one ("right chest" then "sucking chest wound")."""
    out: list[dict[str, Any]] = []
    for item in items:
        site = str(item.data["site"])
        if any(o["site"] == site for o in out):
            continue
        if not _SIDED.search(site) and any(o["site"].endswith(site) for o in out):
            continue
        out.append({"site": site, "kind": item.data.get("kind")})
    return out


def _tourniquet(item: Item) -> dict[str, Any]:
    data = item.data
    out = {k: data.get(k) for k in ("limb", "type", "time", "category")}
    out |= _extra(item, ("converted", "removed"))
    if data.get("high_and_tight"):
        out["high_and_tight"] = True
    return out


def _vitals(record: CasualtyRecord) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = []
    for column in record.vitals:
        values = column.values
        if not any(k in values for k in _CARD_VITALS) and column.location is None:
            continue
        row: dict[str, Any] = {"time": column.time}
        row["pulse"] = values.get("pulse")
        row["pulse_location"] = column.location
        for key in _CARD_VITALS[1:]:
            row[key] = values.get(key)
        for key in ("gcs", "pupils", "pulse_quality"):
            if key in values:
                row[key] = values[key]
        columns.append(row)
    return columns


def fact_json(fact: Fact) -> dict[str, Any]:
    """A fact as JSON (with its evidence)."""
    return asdict(fact)
