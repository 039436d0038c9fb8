"""The DD Form 1380 (TCCC Card) as a PDF: a front and a back page per casualty.

Laid out like the JUN 2014 card, with the body diagram replaced by a list of injury sites.
Only recorded values are written; every other field stays blank for the medic's pen. The core
Helvetica font covers Latin-1 only, so other characters are transliterated or replaced.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from tccc.reports.document import (
    Casualty,
    Medication,
    Vitals,
    all_tourniquets,
    casualty_id,
    check_document,
    clock_to_datetime,
    number_text,
    session_start,
    suggestion_lines,
)

_LOGGER = logging.getLogger(__name__)

MECHANISMS = (
    "Artillery",
    "Blunt",
    "Burn",
    "Fall",
    "Grenade",
    "GSW",
    "IED",
    "Landmine",
    "MVC",
    "RPG",
    "Other",
)
"""The card's mechanism-of-injury checkboxes, in card order."""

_LIMBS = ("R Arm", "L Arm", "R Leg", "L Leg")
_DRESSINGS = ("Hemostatic", "Pressure", "Other")
_AIRWAY = ("Intact", "NPA", "CRIC", "ET-Tube", "SGA")
_BREATHING = ("O2", "Needle-D", "Chest-Tube", "Chest-Seal")
_MED_CATEGORIES = ("Analgesic", "Antibiotic", "Other")
_OTHER = ("Combat-Pill-Pack", "Eye-Shield-R", "Eye-Shield-L", "Splint", "Hypothermia-Prevention")

_MARGIN = 10.0
_WIDTH = 195.9  # letter width (215.9 mm) less both margins
_BOTTOM = 269.4  # letter height (279.4 mm) less the bottom margin
_ROW = 6.0
_BOX = 3.2
_SS_COLUMNS = 5
"""Readings per block of the Signs & Symptoms table (more readings add another block)."""

# Typographic characters that speech-to-text and prompt texts produce, spelled in Latin-1.
_ASCII = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "→": "->", "≥": ">=", "≤": "<="}
)


def clean(text: object) -> str:
    """`text` in characters Helvetica can draw (Latin-1); anything else becomes '?'."""
    normal = unicodedata.normalize("NFKC", str(text)).translate(_ASCII)
    return normal.encode("latin-1", "replace").decode("latin-1")


def dd1380_pdf(
    doc: Mapping[str, object], path: str | os.PathLike[str], compress: bool = True
) -> None:
    """Write the DD 1380 card of every casualty to `path` (`compress=False` keeps text readable)."""
    checked = check_document(doc)
    casualties = checked["casualties"]
    pdf = FPDF(orientation="P", unit="mm", format="letter")
    pdf.set_compression(compress)
    pdf.set_auto_page_break(False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_title("TCCC Card (DD Form 1380)")
    pdf.set_creator("tccc")
    card = _Card(pdf, session_start(checked))
    for casualty in casualties:
        card.front(casualty)
        card.back(casualty)
    if not casualties:
        # An empty session still yields a (blank) card rather than a PDF with no pages.
        card.front(_blank())
        card.back(_blank())
    pdf.output(str(path))
    _LOGGER.debug("wrote DD 1380 PDF: %d casualties, %d pages", len(casualties), pdf.pages_count)


def _blank() -> Casualty:
    return {"label": ""}  # type: ignore[typeddict-item]  # every reader uses .get()


def _hhmm(value: str | None) -> str:
    return value or ""


class _Card:
    """Draws card sections top to bottom, starting a continuation page when one is full."""

    def __init__(self, pdf: FPDF, start: datetime | None) -> None:
        self.pdf = pdf
        self.start = start
        self.header = ""

    # --- drawing primitives -------------------------------------------------------------

    def page(self, title: str) -> None:
        self.pdf.add_page()
        self.header = title
        self._title(title)

    def _title(self, title: str) -> None:
        self.pdf.set_font("Helvetica", "B", 11)
        self.pdf.cell(_WIDTH, 7, clean(title), border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(2)

    def ensure(self, height: float) -> None:
        """Continue on a new page when `height` more millimetres do not fit."""
        if self.pdf.get_y() + height > _BOTTOM:
            self.pdf.add_page()
            self._title(f"{self.header} (continued)")

    def section(self, title: str, height: float) -> None:
        self.ensure(height + 6)
        self.pdf.ln(1)
        self.pdf.set_font("Helvetica", "B", 9)
        self.pdf.set_fill_color(225, 225, 225)
        self.pdf.cell(_WIDTH, 5, clean(title), fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def text(self, w: float, h: float, value: object, style: str = "", size: float = 9) -> None:
        """A cell of width `w` whose font shrinks (to 5 pt) until `value` fits."""
        content = clean(value) if value is not None else ""
        while size > 5 and self.pdf.get_string_width(content) > w - 2:
            size -= 0.5
            self.pdf.set_font("Helvetica", style, size)
        self.pdf.set_font("Helvetica", style, size)
        self.pdf.cell(w, h, content, border=1)

    def field(self, w: float, label: str, value: object) -> None:
        """A boxed field: small label on top, value under it."""
        x, y = self.pdf.get_x(), self.pdf.get_y()
        self.pdf.rect(x, y, w, 11)
        self.pdf.set_font("Helvetica", "B", 6)
        self.pdf.set_xy(x + 0.5, y + 0.5)
        self.pdf.cell(w - 1, 3, clean(label))
        self.pdf.set_xy(x + 0.5, y + 4)
        size = 10.0
        content = clean(value) if value else ""
        self.pdf.set_font("Helvetica", "", size)
        while size > 5 and self.pdf.get_string_width(content) > w - 2:
            size -= 0.5
            self.pdf.set_font("Helvetica", "", size)
        self.pdf.cell(w - 1, 6, content)
        self.pdf.set_xy(x + w, y)

    def checkbox(self, label: str, checked: bool, w: float) -> None:
        """A checkbox (X when checked) followed by its label, `w` wide in all."""
        x, y = self.pdf.get_x(), self.pdf.get_y()
        top = y + (_ROW - _BOX) / 2
        self.pdf.rect(x + 1, top, _BOX, _BOX)
        if checked:
            self.pdf.set_font("Helvetica", "B", 8)
            self.pdf.set_xy(x + 1, top)
            self.pdf.cell(_BOX, _BOX, "X", align="C")
        self.pdf.set_font("Helvetica", "", 8)
        self.pdf.set_xy(x + 2 + _BOX, y)
        self.pdf.cell(w - 2 - _BOX, _ROW, clean(label))
        self.pdf.set_xy(x + w, y)

    def checkboxes(self, head: str, options: Sequence[str], chosen: Sequence[str]) -> None:
        """One row: a label, then a checkbox per option; values off the card follow as text."""
        self.ensure(_ROW)
        self.pdf.set_font("Helvetica", "B", 8)
        self.pdf.cell(22, _ROW, clean(head))
        for option in options:
            self.checkbox(option, option in chosen, max(18.0, len(option) * 1.7 + 8))
        extra = [c for c in chosen if c not in options]
        if extra:
            self.pdf.set_font("Helvetica", "", 8)
            self.pdf.cell(0, _ROW, clean(f"Also: {', '.join(extra)}"))
        self.pdf.ln(_ROW)

    def table(
        self, widths: Sequence[float], header: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """A bordered table with a bold header row."""
        self.ensure(_ROW * 2)
        for w, name in zip(widths, header, strict=True):
            self.text(w, _ROW, name, style="B", size=8)
        self.pdf.ln(_ROW)
        for row in rows:
            self.ensure(_ROW)
            for w, value in zip(widths, row, strict=True):
                self.text(w, _ROW, value)
            self.pdf.ln(_ROW)

    def lines(self, lines: Sequence[str], h: float = 4.5) -> None:
        """Wrapped free text, one paragraph per line."""
        for line in lines:
            text = clean(line)
            self.pdf.set_font("Helvetica", "", 8.5)
            # With output=HEIGHT a dry run returns just the height the text will take.
            height = self.pdf.multi_cell(
                _WIDTH, h, text, align="L", dry_run=True, output=MethodReturnValue.HEIGHT
            )
            self.ensure(cast(float, height))
            # After a page break the title's font is current, so set ours again.
            self.pdf.set_font("Helvetica", "", 8.5)
            self.pdf.multi_cell(_WIDTH, h, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # --- the card -----------------------------------------------------------------------

    def front(self, c: Casualty) -> None:
        """The front of the card: identity, mechanism, injuries, tourniquets, vitals."""
        self.page(f"TCCC CARD (DD FORM 1380) - FRONT - {casualty_id(c)}")
        pdf = self.pdf
        pdf.set_font("Helvetica", "B", 8)
        self.field(50, "BATTLE ROSTER #", c.get("battle_roster"))
        x, y = pdf.get_x(), pdf.get_y()
        pdf.rect(x, y, _WIDTH - 50, 11)
        pdf.set_font("Helvetica", "B", 6)
        pdf.set_xy(x + 0.5, y + 0.5)
        pdf.cell(20, 3, "EVAC")
        pdf.set_xy(x + 2, y + 4.5)
        for category in ("Urgent", "Priority", "Routine"):
            self.checkbox(category, c.get("evac_category") == category, 30)
        pdf.set_xy(_MARGIN, y + 11)

        name = ", ".join(n for n in (c.get("last_name"), c.get("first_name")) if n)
        if name and c.get("rank"):
            name = f"{name} ({c.get('rank')})"
        self.field(140, "NAME (Last, First)", name)
        self.field(_WIDTH - 140, "LAST 4", c.get("last4"))
        pdf.set_xy(_MARGIN, pdf.get_y() + 11)
        self.field(35, "GENDER", "")
        self.field(40, "DATE (DD-MMM-YY)", self.date(c))
        self.field(35, "TIME (of injury)", c.get("time_of_injury"))
        self.field(_WIDTH - 110, "SERVICE", c.get("service"))
        pdf.set_xy(_MARGIN, pdf.get_y() + 11)
        self.field(95, "UNIT", c.get("unit"))
        self.field(_WIDTH - 95, "ALLERGIES", c.get("allergies"))
        pdf.set_xy(_MARGIN, pdf.get_y() + 11)

        mechanisms = c.get("mechanism") or []
        extra = [m for m in mechanisms if m not in MECHANISMS]
        self.section("MECHANISM OF INJURY (X all that apply)", _ROW * 2)
        for row in (MECHANISMS[:6], MECHANISMS[6:]):
            for mechanism in row:
                checked = mechanism in mechanisms or (mechanism == "Other" and bool(extra))
                self.checkbox(mechanism, checked, 32)
            pdf.ln(_ROW)
        if extra:
            self.lines([f"Other: {', '.join(extra)}"])

        injuries = c.get("injuries") or []
        self.section("INJURY (sites marked on the body diagram)", _ROW)
        marks = [
            " - ".join(p for p in (i.get("site"), i.get("kind")) if p) or "injury" for i in injuries
        ]
        self.lines([f"X  {m}" for m in marks])
        tbsa = c.get("burn_tbsa")
        burn = number_text(tbsa) if tbsa is not None else "    "
        self.lines([f"Burn: {burn} % TBSA"])

        self.section("TQ (tourniquets)", _ROW * 5)
        rows: list[list[object]] = []
        tourniquets = c.get("tourniquets") or []
        for limb in _LIMBS:
            on_limb = [t for t in tourniquets if t.get("limb") == limb]
            rows += [
                [
                    f"TQ: {limb}",
                    tq.get("type") or "",
                    _hhmm(tq.get("time")),
                    _hhmm(tq.get("converted")),
                    _hhmm(tq.get("removed")),
                ]
                for tq in on_limb
            ] or [[f"TQ: {limb}", "", "", "", ""]]
        self.table(
            (35, 55, 35, 35, _WIDTH - 160), ("", "TYPE", "TIME", "CONVERTED", "REMOVED"), rows
        )

        self.signs(c.get("vitals") or [])

    def date(self, c: Casualty) -> str:
        """The card date: the day of injury when its time is known, else the session's day."""
        if self.start is None:
            return ""
        day = clock_to_datetime(c.get("time_of_injury"), self.start) or self.start
        return day.strftime("%d-%b-%y").upper()

    def signs(self, vitals: Sequence[Vitals]) -> None:
        """The Signs & Symptoms table, one column per timed reading."""
        labels = (
            ("Time", lambda v: v.get("time")),
            ("BP", lambda v: v.get("bp")),
            (
                "Pulse (Rate & Location)",
                lambda v: " ".join(
                    str(p) for p in (v.get("pulse"), v.get("pulse_location")) if p is not None
                ),
            ),
            ("Resp Rate", lambda v: v.get("resp_rate")),
            ("SpO2", lambda v: v.get("spo2")),
            ("AVPU", lambda v: v.get("avpu")),
            ("Pain Scale (0-10)", lambda v: v.get("pain")),
        )
        blocks = [vitals[i : i + _SS_COLUMNS] for i in range(0, len(vitals), _SS_COLUMNS)] or [[]]
        column = (_WIDTH - 38) / _SS_COLUMNS
        for block in blocks:
            self.section("SIGNS & SYMPTOMS (fill in the blank)", _ROW * len(labels))
            for label, read in labels:
                self.text(38, _ROW, label, style="B", size=8)
                for i in range(_SS_COLUMNS):
                    value = read(block[i]) if i < len(block) else None
                    self.text(column, _ROW, "" if value is None else value)
                self.pdf.ln(_ROW)

    def back(self, c: Casualty) -> None:
        """The back of the card: treatments (C-A-B-C), meds, other, notes."""
        self.page(f"TCCC CARD (DD FORM 1380) - BACK - {casualty_id(c)}")
        tourniquets = all_tourniquets(c)
        tq_categories = [
            t.get("category") or ("Extremity" if t.get("limb") in _LIMBS else t.get("limb") or "")
            for t in tourniquets
        ]
        self.section("TREATMENTS (X all that apply, and fill in the blank)", _ROW * 4)
        self.checkboxes("C: TQ", ("Extremity", "Junctional", "Truncal"), tq_categories)
        # Junctional and truncal tourniquets have no row on the front, so their details go here.
        trunk = [
            " ".join(
                p
                for p in (
                    t.get("limb") or t.get("category"),
                    t.get("type"),
                    t.get("time"),
                    f"converted {t.get('converted')}" if t.get("converted") else None,
                    f"removed {t.get('removed')}" if t.get("removed") else None,
                )
                if p
            )
            for t in tourniquets
            if t.get("limb") not in _LIMBS
        ]
        if trunk:
            self.lines([f"TQ details: {'; '.join(trunk)}"])
        self.checkboxes("   Dressing", _DRESSINGS, c.get("hemorrhage_dressings") or [])
        self.checkboxes("A:", _AIRWAY, c.get("airway") or [])
        self.checkboxes("B:", _BREATHING, c.get("breathing") or [])

        fluids = c.get("fluids") or []
        rows: list[list[object]] = [
            [
                f.get("name") or "",
                f"{f.get('volume_ml')} mL" if f.get("volume_ml") is not None else "",
                f.get("route") or "",
                _hhmm(f.get("time")),
            ]
            for f in fluids
        ]
        rows += [["", "", "", ""]] * max(0, 3 - len(rows))
        self.section("C: FLUID & BLOOD PRODUCT", _ROW * 4)
        self.table((75, 40, 40, _WIDTH - 155), ("NAME", "VOLUME", "ROUTE", "TIME"), rows)

        self.section("MEDS", _ROW * 4)
        self.table(
            (30, 60, 35, 35, _WIDTH - 160),
            ("", "NAME", "DOSE", "ROUTE", "TIME"),
            _med_rows(c.get("medications") or []),
        )

        others = c.get("other_treatments") or []
        self.section("OTHER", _ROW)
        self.checkboxes("", _OTHER, others)

        self.section("NOTES", _ROW * 2)
        self.lines(_notes(c))
        self.section("FIRST RESPONDER", 11)
        self.field(140, "NAME (Last, First)", "")
        self.field(_WIDTH - 140, "LAST 4", "")
        self.pdf.set_xy(_MARGIN, self.pdf.get_y() + 11)


def _med_rows(meds: Sequence[Medication]) -> list[list[object]]:
    rows: list[list[object]] = []
    for category in _MED_CATEGORIES:
        # Drugs without a card category go under Other rather than off the card.
        mine = [
            m
            for m in meds
            if (m.get("category") if m.get("category") in _MED_CATEGORIES else "Other") == category
        ]
        rows += [
            [
                category if n == 0 else "",
                med.get("name") or "",
                med.get("dose") or "",
                med.get("route") or "",
                _hhmm(med.get("time")),
            ]
            for n, med in enumerate(mine)
        ] or [[category, "", "", "", ""]]
    return rows


def _notes(c: Casualty) -> list[str]:
    notes = []
    for prompt in c.get("prompts") or []:
        deadline = f" (by {prompt['deadline']})" if prompt.get("deadline") else ""
        notes.append(f"[{prompt.get('rule', '')}] {prompt.get('text', '')}{deadline}")
    march = c.get("march") or {}
    if march:
        notes.append("MARCH: " + ", ".join(f"{step} {state}" for step, state in march.items()))
    return notes + suggestion_lines(c)
