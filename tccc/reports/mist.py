"""The MIST / ZMIST hand-off: Mechanism, Injuries, Signs (with trend), Treatment.

Plain text in short lines, read over a radio or handed to the receiving team. Every value comes
from the casualty record; nothing is added, not even a scale maximum ("pain 7", not "7/10").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tccc.reports.document import (
    Casualty,
    Vitals,
    all_tourniquets,
    casualty_id,
    check_document,
    number_text,
)

NONE_RECORDED = "none recorded"
"""What an empty section says."""

_SIGN_NAMES = (
    ("pulse", "pulse"),
    ("bp", "BP"),
    ("resp_rate", "RR"),
    ("spo2", "SpO2"),
    ("avpu", "AVPU"),
    ("pain", "pain"),
    ("gcs", "GCS"),
    ("pupils", "pupils"),
)


@dataclass(frozen=True)
class Mist:
    """One casualty's hand-off: Z (roster or label) and the M, I, S, T lines."""

    zap: str
    mechanism: tuple[str, ...]
    injuries: tuple[str, ...]
    signs: tuple[str, ...]
    treatment: tuple[str, ...]


def mist(casualty: Casualty) -> Mist:
    """The MIST sections of one casualty record."""
    return Mist(
        zap=casualty_id(casualty),
        mechanism=_mechanism(casualty),
        injuries=_injuries(casualty),
        signs=_signs(casualty.get("vitals") or []),
        treatment=_treatment(casualty),
    )


def format_mist(doc: Mapping[str, object], zap: bool = False) -> str:
    """MIST (or ZMIST with `zap`) for every casualty, blocks separated by a blank line."""
    blocks = []
    for casualty in check_document(doc)["casualties"]:
        report = mist(casualty)
        head = f"Z  {report.zap}" if zap else f"MIST {report.zap}"
        lines = [head]
        for letter, section in (
            ("M", report.mechanism),
            ("I", report.injuries),
            ("S", report.signs),
            ("T", report.treatment),
        ):
            body = section or (NONE_RECORDED,)
            lines.append(f"{letter}  {body[0]}")
            lines += [f"   {line}" for line in body[1:]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _mechanism(casualty: Casualty) -> tuple[str, ...]:
    lines = []
    if casualty.get("mechanism"):
        lines.append(", ".join(casualty["mechanism"]))
    if casualty.get("time_of_injury"):
        lines.append(f"injured {casualty['time_of_injury']}")
    return tuple(lines)


def _injuries(casualty: Casualty) -> tuple[str, ...]:
    lines = [
        text
        for injury in casualty.get("injuries") or []
        if (text := _join(injury.get("kind"), injury.get("site")))
    ]
    tbsa = casualty.get("burn_tbsa")
    if tbsa is not None:
        lines.append(f"burns {number_text(tbsa)}% TBSA")
    return tuple(lines)


def _reading(vitals: Vitals, sign: str) -> str | None:
    value = vitals.get(sign)
    location = vitals.get("pulse_location") if sign == "pulse" else None
    if value is None and not location:
        return None
    if value is None:
        # A pulse felt at a site without a rate counted is still a finding worth handing on.
        text = f"{location}, rate not recorded"
    else:
        text = f"{number_text(value)}%" if sign == "spo2" else number_text(value)
        if location:
            text += f" {location}"
        if sign == "pulse" and vitals.get("pulse_quality"):
            text += f" {vitals.get('pulse_quality')}"
    if vitals.get("time"):
        text += f" ({vitals['time']})"
    return text


def _signs(columns: list[Vitals]) -> tuple[str, ...]:
    # Every reading is listed oldest to latest, so the trend shows and no reading is dropped.
    lines = []
    for sign, name in _SIGN_NAMES:
        readings = [r for column in columns if (r := _reading(column, sign))]
        if readings:
            lines.append(f"{name} {' -> '.join(readings)}")
    return tuple(lines)


def _treatment(casualty: Casualty) -> tuple[str, ...]:
    lines = []
    for tq in all_tourniquets(casualty):
        converted = tq.get("converted")
        removed = tq.get("removed")
        lines.append(
            _join(
                "TQ",
                tq.get("limb") or tq.get("category"),
                tq.get("type"),
                tq.get("time"),
                f"converted {converted}" if converted else None,
                f"removed {removed}" if removed else None,
            )
        )
    for name, items in (
        ("dressing", casualty.get("hemorrhage_dressings") or []),
        ("airway", casualty.get("airway") or []),
        ("breathing", casualty.get("breathing") or []),
    ):
        if items:
            lines.append(f"{name} {', '.join(items)}")
    for fluid in casualty.get("fluids") or []:
        volume = fluid.get("volume_ml")
        lines.append(
            _join(
                fluid.get("name") or "fluid",
                f"{volume} mL" if volume is not None else None,
                fluid.get("route"),
                fluid.get("time"),
            )
        )
    for med in casualty.get("medications") or []:
        lines.append(
            _join(med.get("name") or "drug", med.get("dose"), med.get("route"), med.get("time"))
        )
    if casualty.get("other_treatments"):
        lines.append(", ".join(casualty["other_treatments"]))
    return tuple(lines)
