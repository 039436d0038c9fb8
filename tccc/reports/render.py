"""Reports of an export document as text, and every hand-off document of a session on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tccc.reports.document import all_tourniquets, suggestion_lines

FORMATS = ("dd1380-json", "text", "nine-line", "mist", "zmist", "fhir")
"""Report formats of `analyze` and `report`."""


def render(doc: dict[str, Any], fmt: str) -> str:
    """One report of an export document, as text."""
    if fmt == "dd1380-json":
        return json.dumps(doc, indent=2, default=str)
    if fmt == "text":
        return card_text(doc)
    if fmt == "nine-line":
        from tccc.reports.nine_line import format_nine_line

        return format_nine_line(doc)
    if fmt in ("mist", "zmist"):
        from tccc.reports.mist import format_mist

        return format_mist(doc, zap=fmt == "zmist")
    if fmt == "fhir":
        from tccc.reports.fhir import fhir_bundle

        return json.dumps(fhir_bundle(doc), indent=2)
    raise ValueError(f"unknown format {fmt!r}")


def card_text(doc: dict[str, Any]) -> str:
    """A compact human-readable card per casualty."""
    lines: list[str] = []
    for cas in doc["casualties"]:
        who = " ".join(str(cas[k]) for k in ("battle_roster", "last_name") if cas.get(k))
        lines.append(f"Casualty {cas['label']}" + (f" ({who})" if who else ""))
        for key in ("evac_category", "allergies", "time_of_injury", "unit"):
            if cas.get(key):
                lines.append(f"  {key.replace('_', ' ')}: {cas[key]}")
        if cas["mechanism"]:
            lines.append(f"  mechanism: {', '.join(cas['mechanism'])}")
        for inj in cas["injuries"]:
            lines.append(f"  injury: {inj['site']}" + (f" ({inj['kind']})" if inj["kind"] else ""))
        for tq in all_tourniquets(cas):
            bits = [tq["limb"] or "limb?", tq["type"] or "", tq["time"] or "time?"]
            lines.append("  tourniquet: " + " ".join(b for b in bits if b))
        for key in ("hemorrhage_dressings", "airway", "breathing", "other_treatments"):
            if cas[key]:
                lines.append(f"  {key.replace('_', ' ')}: {', '.join(cas[key])}")
        for v in cas["vitals"]:
            vals = [f"{k} {v[k]}" for k in ("pulse", "bp", "resp_rate", "spo2", "avpu", "pain")]
            shown = [
                s
                for s, k in zip(
                    vals, ("pulse", "bp", "resp_rate", "spo2", "avpu", "pain"), strict=True
                )
                if v[k] is not None
            ]
            when = f" {v['time']}" if v["time"] else ""
            lines.append(f"  vitals{when}: " + ", ".join(shown))
        for f in cas["fluids"]:
            lines.append(
                "  fluid: "
                + " ".join(str(f[k]) for k in ("name", "volume_ml", "route", "time") if f[k])
            )
        lines += [f"  {line}" for line in suggestion_lines(cas)]
        for m in cas["medications"]:
            lines.append(
                "  med: " + " ".join(str(m[k]) for k in ("name", "dose", "route", "time") if m[k])
            )
        if cas.get("march"):
            lines.append("  MARCH-PAWS: " + ", ".join(f"{k} {v}" for k, v in cas["march"].items()))
        for p in cas.get("prompts", []):
            deadline = f" (by {p['deadline']})" if p.get("deadline") else ""
            lines.append(f"  PROMPT {p['rule']} [{p['severity']}]: {p['text']}{deadline}")
    return "\n".join(lines)


def write_reports(doc: dict[str, Any], folder: Path) -> list[Path]:
    """Every hand-off document of a session into `folder` (created, owner-only)."""
    from tccc.reports.pdf import dd1380_pdf

    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    written: list[Path] = []
    for name, fmt in (
        ("dd1380.json", "dd1380-json"),
        ("card.txt", "text"),
        ("nine-line.txt", "nine-line"),
        ("mist.txt", "mist"),
        ("zmist.txt", "zmist"),
        ("fhir.json", "fhir"),
    ):
        path = folder / name
        path.write_text(render(doc, fmt) + "\n", encoding="utf-8")
        written.append(path)
    pdf = folder / "dd1380.pdf"
    dd1380_pdf(doc, pdf)
    written.append(pdf)
    return written
