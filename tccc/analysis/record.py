"""Casualty records: the fold of a session's facts, in the order they were stated.

A record is never edited in place by the analyzer: it is rebuilt from the append-only fact
log, so a correction replaces a value while the replaced fact stays in the history, and a
vital sign keeps every reading as a time series.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tccc.events import Evidence, Fact, Scalar

VITAL_SIGNS = ("pulse", "bp", "resp_rate", "spo2", "avpu", "pain", "gcs", "pupils")
"""Signs of one column of the card's Signs & Symptoms table (plus GCS and pupils)."""


@dataclass
class Item:
    """One entry of a record list (a tourniquet, a drug, ...): its fields and evidence."""

    kind: str
    data: dict[str, Scalar]
    fact_ids: list[int]
    evidence: list[Evidence]


@dataclass
class VitalsColumn:
    """One timed column of vital signs."""

    time: str | None = None
    values: dict[str, Scalar] = field(default_factory=dict)
    location: str | None = None
    """Where the pulse was taken (radial, carotid, femoral)."""
    fact_ids: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    session_s: float = 0.0


@dataclass
class CasualtyRecord:
    """Everything known about one casualty."""

    label: str
    identity: dict[str, Scalar] = field(default_factory=dict)
    identity_evidence: dict[str, Evidence] = field(default_factory=dict)
    evac_category: str | None = None
    time_of_injury: str | None = None
    items: list[Item] = field(default_factory=list)
    """Mechanisms, injuries, tourniquets, dressings, airway, breathing, fluids, drugs, ..."""
    vitals: list[VitalsColumn] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    """Every fact applied to this record, corrections and retracted ones included."""
    first_s: float = 0.0
    """Session time of the first fact about this casualty."""

    def of_kind(self, kind: str) -> list[Item]:
        """The items of one kind, in the order stated."""
        return [i for i in self.items if i.kind == kind]

    def vital_series(self, sign: str) -> list[tuple[str | None, Scalar]]:
        """Every reading of one vital sign as (time, value), oldest first."""
        return [(c.time, c.values[sign]) for c in self.vitals if sign in c.values]


# Kinds whose items are lists of distinct values (a repeated value adds evidence, not an item).
_SET_KINDS = frozenset({"mechanism", "dressing", "airway", "breathing", "treatment"})
_SINGLE_KINDS = frozenset({"burn"})


def fold(facts: Iterable[Fact], *, suggested: bool = False) -> dict[str, CasualtyRecord]:
    """Casualty records from facts in order (corrections replace, retractions withdraw).

    A correction takes the place of the fact it corrects: a corrected vital stays in the
    column it was said in, a corrected tourniquet keeps its place in the list. Facts a language
    model suggested stay off the card (listed with the record's facts) unless confirmed or
    `suggested`; rejected ones (a model's proposal that contradicted a stated fact) never count."""
    every = sorted(facts, key=lambda f: f.id)
    confirmed = confirmed_ids(every)
    ordered = [
        f
        for f in every
        if f.status == "stated" or (f.status == "suggested" and (suggested or f.id in confirmed))
    ]
    slots = _slots(ordered)
    by_id = {f.id: f for f in ordered}
    records: dict[str, CasualtyRecord] = {}
    for fact in every:
        # Every fact is listed with its record; only those that count are applied.
        _record(records, fact).facts.append(fact)
        if fact.id in slots and fact.id in by_id:
            stands = by_id[slots[fact.id]]
            _apply(_record(records, stands), stands)
    return records


def confirmed_ids(facts: Iterable[Fact]) -> set[int]:
    """Ids of suggested facts the medic confirmed (they count as stated)."""
    return {int(str(f.data["fact"])) for f in facts if f.kind == "confirm"}


def _record(records: dict[str, CasualtyRecord], fact: Fact) -> CasualtyRecord:
    record = records.get(fact.casualty)
    if record is None:
        record = records[fact.casualty] = CasualtyRecord(fact.casualty, first_s=fact.session_s)
    return record


def _slots(ordered: list[Fact]) -> dict[int, int]:
    """{id of a fact first stated: id of the fact that stands in its place now}. Withdrawn
    facts hold no place: a withdrawn correction leaves the value it corrected standing."""
    withdrawn = {int(str(f.data["fact"])) for f in ordered if f.kind == "retract"}
    by_id = {f.id: f for f in ordered}
    slots: dict[int, int] = {}
    place: dict[int, int] = {}
    for fact in ordered:
        if fact.kind == "retract" or fact.id in withdrawn:
            continue
        target = fact.replaces
        # Correcting a withdrawn correction corrects what that one corrected.
        while target in withdrawn and target in by_id:
            target = by_id[target].replaces
        anchor = place.get(target, fact.id) if target is not None else fact.id
        slots[anchor] = fact.id
        place[fact.id] = anchor
    return slots


def _apply(record: CasualtyRecord, fact: Fact) -> None:
    data = fact.data
    if fact.kind == "casualty":
        for key in ("battle_roster", "last_name"):
            if data.get(key):
                record.identity.setdefault(key, data[key])
                record.identity_evidence.setdefault(key, fact.evidence)
    elif fact.kind == "identity":
        key = str(data["field"])
        record.identity[key] = data["value"]
        record.identity_evidence[key] = fact.evidence
    elif fact.kind == "evac":
        record.evac_category = str(data["category"])
    elif fact.kind == "time_of_injury":
        record.time_of_injury = str(data["time"])
    elif fact.kind == "vitals_time":
        _new_column(record, fact, data.get("time"))
    elif fact.kind == "vital":
        _add_vital(record, fact)
    elif fact.kind == "tourniquet_change":
        _change_tourniquet(record, fact)
    elif fact.kind in _SET_KINDS:
        same = next((i for i in record.of_kind(fact.kind) if i.data == data), None)
        if same is not None:
            same.fact_ids.append(fact.id)
            same.evidence.append(fact.evidence)
        else:
            record.items.append(Item(fact.kind, dict(data), [fact.id], [fact.evidence]))
    elif fact.kind in _SINGLE_KINDS:
        record.items = [i for i in record.items if i.kind != fact.kind]
        record.items.append(Item(fact.kind, dict(data), [fact.id], [fact.evidence]))
    else:
        record.items.append(Item(fact.kind, dict(data), [fact.id], [fact.evidence]))


def _new_column(record: CasualtyRecord, fact: Fact, time: Scalar) -> VitalsColumn:
    last = record.vitals[-1] if record.vitals else None
    if last is not None and not last.values and last.time is None:
        # An announced column with nothing in it yet just takes the time.
        last.time = None if time is None else str(time)
        return last
    column = VitalsColumn(None if time is None else str(time), session_s=fact.session_s)
    record.vitals.append(column)
    return column


def _add_vital(record: CasualtyRecord, fact: Fact) -> None:
    sign = str(fact.data["sign"])
    column = record.vitals[-1] if record.vitals else None
    # A sign already in the current column is a new reading: it starts the next column.
    if column is None or sign in column.values:
        column = _new_column(record, fact, fact.data.get("time"))
    column.values[sign] = fact.data["value"]
    column.fact_ids[sign] = fact.id
    column.evidence[sign] = fact.evidence
    # Where the pulse was felt; "no radial pulse" is a finding, not a place it was taken.
    if fact.data.get("location") and fact.data.get("value") != "absent":
        column.location = str(fact.data["location"])


def _change_tourniquet(record: CasualtyRecord, fact: Fact) -> None:
    limb = fact.data.get("limb")
    candidates = [
        i for i in record.of_kind("tourniquet") if limb is None or i.data.get("limb") == limb
    ]
    if not candidates:
        return
    target = candidates[-1]
    if fact.data["action"] == "type":
        if target.data.get("type") is not None:
            return  # the type was said with the tourniquet; "it's a ..." is not a correction
        target.data["type"] = fact.data.get("type")
    else:
        target.data[str(fact.data["action"])] = fact.data.get("time")
    target.fact_ids.append(fact.id)
    target.evidence.append(fact.evidence)
