"""The casualty cards as the medic's page shows them: a pure function of a session's facts.

Each value on a card names the fact that stands behind it (to correct it or confirm it) and the
words that produced it. Suggestions (a language model's, or facts heard with little certainty)
are shown on the card where they belong, marked unconfirmed, but raise no prompt until the
medic confirms them: prompts and MARCH-PAWS come from the fold without them, as in the export.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from tccc.analysis.analyzer import SCENE
from tccc.analysis.clock import SessionClock, live_facts
from tccc.analysis.march import STEPS, march_status
from tccc.analysis.record import CasualtyRecord, Item, confirmed_ids, fold
from tccc.analysis.rules import evaluate
from tccc.events import Evidence, Fact, Scalar

SECTIONS = (
    ("mechanism", "Mechanism"),
    ("injury", "Injuries"),
    ("tourniquet", "Tourniquets"),
    ("dressing", "Dressings"),
    ("airway", "Airway"),
    ("breathing", "Breathing"),
    ("access", "Access"),
    ("finding", "Findings"),
    ("fluid", "Fluids"),
    ("medication", "Medications"),
    ("treatment", "Other treatment"),
    ("burn", "Burns"),
)
"""Card sections of record items, in the order a medic reads the card (MARCH first)."""

IDENTITY = (
    ("rank", "Rank"),
    ("last_name", "Last name"),
    ("first_name", "First name"),
    ("battle_roster", "Roster"),
    ("last4", "Last 4"),
    ("unit", "Unit"),
    ("service", "Service"),
    ("allergies", "Allergies"),
    ("weight_kg", "Weight kg"),
)
VITALS = (
    ("pulse", "Pulse"),
    ("bp", "BP"),
    ("resp_rate", "Resp"),
    ("spo2", "SpO2"),
    ("avpu", "AVPU"),
    ("pain", "Pain"),
    ("gcs", "GCS"),
    ("pupils", "Pupils"),
)
EDITABLE: dict[str, tuple[str, ...]] = {
    "identity": ("value",),
    "evac": ("category",),
    "time_of_injury": ("time",),
    "mechanism": ("value",),
    "injury": ("site", "kind"),
    "tourniquet": ("limb", "type", "time"),
    "dressing": ("value", "product"),
    "airway": ("value",),
    "breathing": ("value", "side", "time"),
    "access": ("route", "site", "gauge"),
    "finding": ("value", "side"),
    "vital": ("value",),
    "vitals_time": ("time",),
    "fluid": ("name", "volume_ml", "route", "time"),
    "medication": ("name", "dose", "route", "time"),
    "treatment": ("value",),
    "burn": ("tbsa",),
}
"""Fields of each fact kind the medic may correct by hand (the others are kept as they are)."""


def card_view(facts: Sequence[Fact], now_s: float) -> dict[str, Any]:
    """Every casualty's card, prompts and MARCH-PAWS status at session time `now_s`."""
    by_id = {f.id: f for f in facts}
    confirmed = confirmed_ids(facts)
    shown = fold(facts, suggested=True)
    stated = fold(facts)
    clock = SessionClock.from_facts(facts)
    scene_shown, scene_stated = shown.get(SCENE), stated.get(SCENE)
    people = [r for label, r in shown.items() if label != SCENE]
    people.sort(key=lambda r: (r.first_s, _label_key(r.label)))
    cards = []
    for record in people:
        counted = stated.get(record.label)
        prompts = evaluate(counted, now_s, clock, scene=scene_stated) if counted is not None else []
        march = march_status(counted, scene=scene_stated) if counted is not None else {}
        cards.append(
            {
                "label": record.label,
                "title": _title(record),
                "identity": _identity(record, by_id, confirmed),
                "evac": _single(record, "evac", "category", by_id, confirmed),
                "time_of_injury": _single(record, "time_of_injury", "time", by_id, confirmed)
                or (
                    _single(scene_shown, "time_of_injury", "time", by_id, confirmed)
                    if scene_shown
                    else None
                ),
                "sections": _sections(record, scene_shown, by_id, confirmed),
                "vitals": _vitals(record, by_id, confirmed),
                "suggestions": [
                    _suggestion(f)
                    for f in record.facts
                    if f.status == "suggested" and f.id not in confirmed
                ],
                "prompts": [
                    {
                        "rule": p.rule,
                        "title": p.title,
                        "text": p.text,
                        "deadline": p.deadline,
                        "deadline_s": p.deadline_s,
                        "severity": p.severity,
                    }
                    for p in prompts
                ],
                "march": [
                    {"key": key, "letter": letter, "status": march.get(key, "not assessed")}
                    for key, letter in STEPS
                ],
            }
        )
    return {
        "casualties": cards,
        "clock": {"anchor_min": clock.anchor_min, "anchor_s": clock.anchor_s},
        "facts": len(facts),
    }


def _label_key(label: str) -> tuple[int, str]:
    return (int(label), "") if label.isdigit() else (1 << 30, label)


def _title(record: CasualtyRecord) -> str:
    ident = record.identity
    bits = [str(ident[k]) for k in ("rank", "last_name", "battle_roster") if ident.get(k)]
    return f"Casualty {record.label}" + (f" · {' '.join(bits)}" if bits else "")


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    """The words behind a value (its utterance, span, audio range and confidence)."""
    return asdict(evidence)


def _value(
    fact: Fact | None,
    text: str,
    by_id: dict[int, Fact],
    confirmed: set[int],
    evidence: Iterable[Evidence] = (),
    label: str | None = None,
) -> dict[str, Any]:
    """One value on a card: its text, the fact to correct, whether it awaits confirmation."""
    unconfirmed = fact is not None and fact.status == "suggested" and fact.id not in confirmed
    said = list(evidence) or ([fact.evidence] if fact is not None else [])
    out: dict[str, Any] = {
        "text": text,
        "fact": fact.id if fact is not None else None,
        "kind": fact.kind if fact is not None else None,
        "unconfirmed": unconfirmed,
        "corrected": fact is not None and fact.replaces is not None,
        "source": fact.source if fact is not None else None,
        "evidence": [evidence_json(e) for e in said],
        "edit": _editable(fact),
    }
    if label is not None:
        out["label"] = label
    return out


def _editable(fact: Fact | None) -> dict[str, Scalar]:
    if fact is None:
        return {}
    keys = EDITABLE.get(fact.kind, ())
    return {k: fact.data.get(k) for k in keys if k in fact.data or k in keys[:1]}


def _standing(record: CasualtyRecord, kind: str, match: dict[str, Scalar] | None = None) -> Fact:
    """The last live fact of a kind on the record (the one the card's value comes from)."""
    found = [
        f
        for f in live_facts(record.facts)
        if f.kind == kind
        and f.status != "rejected"
        and all(f.data.get(k) == v for k, v in (match or {}).items())
    ]
    return found[-1]


def _identity(
    record: CasualtyRecord, by_id: dict[int, Fact], confirmed: set[int]
) -> list[dict[str, Any]]:
    rows = []
    for key, label in IDENTITY:
        if key not in record.identity:
            continue
        try:
            fact: Fact | None = _standing(record, "identity", {"field": key})
        except IndexError:  # from a "casualty" fact (a roster number said when switching)
            fact = None
        evidence = [record.identity_evidence[key]] if key in record.identity_evidence else []
        rows.append(
            _value(fact, str(record.identity[key]), by_id, confirmed, evidence, label=label)
        )
    return rows


def _single(
    record: CasualtyRecord, kind: str, field: str, by_id: dict[int, Fact], confirmed: set[int]
) -> dict[str, Any] | None:
    try:
        fact = _standing(record, kind)
    except IndexError:
        return None
    return _value(fact, str(fact.data.get(field)), by_id, confirmed)


def item_text(item: Item) -> str:
    """A record item in a few words, as the card shows it."""
    d = item.data

    def join(*keys: str) -> str:
        return " · ".join(str(d[k]) for k in keys if d.get(k) not in (None, "", False))

    match item.kind:
        case "injury":
            return join("site", "kind")
        case "tourniquet":
            text = join("limb", "type", "time")
            if d.get("high_and_tight"):
                text += " · high & tight"
            for action in ("converted", "removed"):
                if d.get(action):
                    text += f" · {action} {d[action]}"
            return text
        case "dressing":
            return join("value", "product")
        case "breathing":
            return join("value", "side", "time")
        case "access":
            return join("route", "site", "gauge")
        case "finding":
            return join("value", "side")
        case "fluid":
            volume = f"{d['volume_ml']} ml" if d.get("volume_ml") else None
            return " · ".join(
                str(v) for v in (d.get("name"), volume, d.get("route"), d.get("time")) if v
            )
        case "medication":
            return join("name", "dose", "route", "time")
        case "burn":
            return f"{d.get('tbsa')} % TBSA"
        case _:
            return join("value") or join(*d.keys())


def _sections(
    record: CasualtyRecord,
    scene: CasualtyRecord | None,
    by_id: dict[int, Fact],
    confirmed: set[int],
) -> list[dict[str, Any]]:
    out = []
    for kind, title in SECTIONS:
        items = record.of_kind(kind)
        if kind == "mechanism" and scene is not None:
            items = scene.of_kind("mechanism") + items
        if not items:
            continue
        rows = [
            _value(by_id.get(i.fact_ids[0]), item_text(i), by_id, confirmed, i.evidence)
            for i in items
        ]
        out.append({"kind": kind, "title": title, "rows": rows})
    return out


def _vitals(record: CasualtyRecord, by_id: dict[int, Fact], confirmed: set[int]) -> dict[str, Any]:
    signs = [(k, label) for k, label in VITALS if any(k in c.values for c in record.vitals)]
    columns = []
    for column in record.vitals:
        if not column.values:
            continue
        cells: dict[str, Any] = {}
        for sign, _label in signs:
            if sign not in column.values:
                continue
            text = str(column.values[sign])
            if sign == "pulse" and column.location:
                text += f" {column.location}"
            fact = by_id.get(column.fact_ids[sign])
            evidence = [column.evidence[sign]] if sign in column.evidence else []
            cells[sign] = _value(fact, text, by_id, confirmed, evidence)
        columns.append({"time": column.time, "at_s": round(column.session_s, 1), "cells": cells})
    return {"signs": [{"key": k, "label": label} for k, label in signs], "columns": columns}


def _suggestion(fact: Fact) -> dict[str, Any]:
    values = ", ".join(
        f"{k} {v}" for k, v in fact.data.items() if v not in (None, "", False) and k != "word"
    )
    return {
        "fact": fact.id,
        "kind": fact.kind,
        "text": f"{fact.kind}: {values}",
        "source": fact.source,
        "evidence": evidence_json(fact.evidence),
    }
