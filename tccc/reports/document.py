"""The DD 1380 export document (`tccc.dd1380/1`) every report is built from, as TypedDicts.

The shape is the one in the shared EXPORT.md. Keys the product adds beyond the scored shape
(first name, rank, service, burn %TBSA, tourniquet conversion and removal, prompts, MARCH
status, session, MEDEVAC details) are optional. Readers use `.get()` throughout so a record
with nothing recorded (or an older export missing a list) still produces every report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, TypedDict, cast

from tccc.errors import TcccError

SCHEMA = "tccc.dd1380/1"
"""The `schema` value of a DD 1380 export document."""

VITAL_SIGNS = ("pulse", "bp", "resp_rate", "spo2", "avpu", "pain")
"""The value keys of one Signs & Symptoms column (`time` and `pulse_location` qualify them)."""

MarchStatus = Literal["done", "in progress", "not assessed"]


class ReportError(TcccError):
    """A document could not be turned into a hand-off report."""

    code = "report_error"


class Injury(TypedDict):
    """One injury: where, and what kind (null when not said)."""

    site: str | None
    kind: str | None


class _TourniquetRequired(TypedDict):
    limb: str | None
    type: str | None
    time: str | None
    category: str | None


class Tourniquet(_TourniquetRequired, total=False):
    """One tourniquet; conversion and removal times are product extensions."""

    converted: str | None
    removed: str | None
    high_and_tight: bool


class _VitalsRequired(TypedDict):
    time: str | None
    pulse: int | None
    pulse_location: str | None
    bp: str | None
    resp_rate: int | None
    spo2: int | None
    avpu: str | None
    pain: int | None


class Vitals(_VitalsRequired, total=False):
    """One timed column of the Signs & Symptoms table (GCS, pupils, pulse quality extra)."""

    gcs: int | None
    pupils: str | None
    pulse_quality: str | None


class Fluid(TypedDict):
    """One fluid or blood product given."""

    name: str | None
    volume_ml: int | None
    route: str | None
    time: str | None


class Medication(TypedDict):
    """One drug given."""

    category: str | None
    name: str | None
    dose: str | None
    route: str | None
    time: str | None


class Prompt(TypedDict):
    """A decision-support prompt that fired for the casualty."""

    rule: str
    text: str
    deadline: str | None


class March(TypedDict, total=False):
    """Where each MARCH step stands."""

    M: MarchStatus
    A: MarchStatus
    R: MarchStatus
    C: MarchStatus
    H: MarchStatus


class _CasualtyRequired(TypedDict):
    label: str
    battle_roster: str | None
    last_name: str | None
    last4: str | None
    unit: str | None
    allergies: str | None
    evac_category: str | None
    time_of_injury: str | None
    mechanism: list[str]
    injuries: list[Injury]
    tourniquets: list[Tourniquet]
    hemorrhage_dressings: list[str]
    airway: list[str]
    breathing: list[str]
    vitals: list[Vitals]
    fluids: list[Fluid]
    medications: list[Medication]
    other_treatments: list[str]


class Casualty(_CasualtyRequired, total=False):
    """One casualty record of the export (optional keys are product extensions)."""

    first_name: str | None
    rank: str | None
    service: str | None
    weight_kg: float | None
    burn_tbsa: float | None
    suggested: list[dict[str, Any]]
    """Facts a language model suggested (with source and the words said): not card values."""
    tourniquets_unplaced: list[Tourniquet]
    """Tourniquets whose limb was not heard: no row of the card, but on it all the same."""
    prompts: list[Prompt]
    march: March


def all_tourniquets(casualty: Casualty) -> list[Tourniquet]:
    """Every tourniquet on the casualty: the card's rows, then those whose limb is unknown."""
    return [*(casualty.get("tourniquets") or []), *(casualty.get("tourniquets_unplaced") or [])]


def suggestion_lines(casualty: Casualty) -> list[str]:
    """Suggestions (a language model's, or facts heard with little certainty), each marked as
    such: "SUGGESTED by M (unconfirmed, fact N): ..."."""
    out = []
    for item in casualty.get("suggested") or []:
        values = ", ".join(
            f"{k} {v}" for k, v in item.items() if k not in ("fact", "kind", "source", "said") and v
        )
        out.append(
            f"SUGGESTED by {item.get('source')} (unconfirmed, fact {item.get('fact')}): "
            f'{item.get("kind")} {values} ("{item.get("said")}")'
        )
    return out


class Session(TypedDict, total=False):
    """The recording session the export came from."""

    id: str
    started: str


class Medevac(TypedDict, total=False):
    """9-line details a later stage (or the medic) supplies; the casualty records lack them."""

    location: str
    frequency: str
    special_equipment: str
    patients_by_type: str
    security: str
    marking: str
    nationality: str
    nbc: str


class _DocumentRequired(TypedDict):
    schema: str
    casualties: list[Casualty]


class Dd1380Document(_DocumentRequired, total=False):
    """A `tccc.dd1380/1` export: every casualty of one session."""

    session: Session
    medevac: Medevac


def check_document(doc: Mapping[str, object]) -> Dd1380Document:
    """`doc` typed as an export, after checking its schema and casualty list."""
    if doc.get("schema") != SCHEMA:
        raise ReportError(f"not a {SCHEMA} document", code="report_bad_schema")
    casualties = doc.get("casualties")
    if not isinstance(casualties, list) or not all(isinstance(c, dict) for c in casualties):
        raise ReportError("casualties must be a list of records", code="report_bad_schema")
    return cast(Dd1380Document, doc)


def casualty_id(casualty: Casualty) -> str:
    """How to name the casualty in a report: battle roster number, else the medic's label."""
    roster = casualty.get("battle_roster")
    if roster:
        return roster
    return f"casualty {casualty.get('label') or '?'}"


def number_text(value: object) -> str:
    """A number as a report writes it: 18.0 -> "18", 2.5 -> "2.5"; other values as given."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_HHMM = re.compile(r"^([01]\d|2[0-3])([0-5]\d)$")


def session_start(doc: Dd1380Document) -> datetime | None:
    """When the session started, if the document says so with a time zone."""
    started = doc.get("session", {}).get("started")
    if not started:
        return None
    try:
        when = datetime.fromisoformat(started)
    except ValueError:
        return None
    # A clock time without a zone cannot be placed on a timeline, so a naive start is no start.
    return when if when.tzinfo is not None else None


def clock_to_datetime(hhmm: str | None, start: datetime | None) -> datetime | None:
    """The moment an HHMM clock time names, on the session's timeline (None if unplaceable).

    Card times carry no date: the nearest occurrence within 12 hours of the session start is
    taken, so a session that started at 2350 puts 0010 on the next day and 2340 on the same day.
    Clock times are read in the session start's zone.
    """
    if hhmm is None or start is None:
        return None
    match = _HHMM.match(hhmm)
    if match is None:
        return None
    when = start.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
    if when - start > timedelta(hours=12):
        when -= timedelta(days=1)
    elif start - when > timedelta(hours=12):
        when += timedelta(days=1)
    return when
