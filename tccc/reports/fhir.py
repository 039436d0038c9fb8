"""An HL7 FHIR R4 Bundle of the casualty records, validated with fhir.resources (R4B models).

Per casualty: a Patient, a field Encounter, a Condition per injury, an AllergyIntolerance when
allergies were stated, an Observation per vital-sign value, a Procedure per intervention and a
MedicationAdministration per drug, fluid or blood product. Codes appear only where they are
certain (LOINC for the vital signs, HL7 terminologies); everything else is text, since a wrong
code is worse than none. Ids are uuid5 of the session and the content, so the same export
always gives the same bundle.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from fhir.resources.R4B.bundle import Bundle

from tccc.reports.document import (
    Casualty,
    Dd1380Document,
    Injury,
    ReportError,
    Vitals,
    all_tourniquets,
    check_document,
    clock_to_datetime,
    session_start,
)

Resource = dict[str, Any]

_NAMESPACE = uuid.UUID("0b6f3a52-4d0e-5c1a-9a57-2f1f8c3d7e10")
"""uuid5 namespace of this product's FHIR ids (any fixed value; it only has to never change)."""

_LOINC = "http://loinc.org"
_UCUM = "http://unitsofmeasure.org"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

_AVPU = {"A": "alert", "V": "responds to voice", "P": "responds to pain", "U": "unresponsive"}

_PROCEDURE_TEXT = {
    "Hemostatic": "Hemostatic dressing",
    "Pressure": "Pressure dressing",
    "Other": "Dressing (other)",
    "Intact": "Airway assessment",
    "NPA": "Nasopharyngeal airway (NPA)",
    "CRIC": "Surgical cricothyroidotomy (CRIC)",
    "ET-Tube": "Endotracheal tube (ET-Tube)",
    "SGA": "Supraglottic airway (SGA)",
    "O2": "Oxygen (O2)",
    "Needle-D": "Needle decompression of the chest (Needle-D)",
    "Chest-Tube": "Chest tube",
    "Chest-Seal": "Chest seal",
    "Combat-Pill-Pack": "Combat wound medication pack",
    "Eye-Shield-R": "Rigid eye shield, right eye",
    "Eye-Shield-L": "Rigid eye shield, left eye",
    "Splint": "Splint",
    "Hypothermia-Prevention": "Hypothermia prevention",
}
"""Card vocabulary -> procedure text (no SNOMED codes: none is certain enough to send)."""

_DOSE_UNITS = {
    "g": "g",
    "gram": "g",
    "grams": "g",
    "mg": "mg",
    "milligrams": "mg",
    "mcg": "ug",
    "ug": "ug",
    "micrograms": "ug",
    "ml": "mL",
    "l": "L",
    "iu": "[iU]",
}
"""Spoken or written dose units -> UCUM; a dose in any other unit stays text only."""
_DOSE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")


def fhir_bundle(doc: Mapping[str, object]) -> dict[str, Any]:
    """A validated FHIR R4 collection Bundle (as JSON-ready dict) of every casualty."""
    checked = check_document(doc)
    seed = _seed(checked)
    start = session_start(checked)
    entries: list[Resource] = []
    for index, casualty in enumerate(checked["casualties"]):
        entries += _Casualty(seed, index, casualty, start).resources()
    bundle: Resource = {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_uuid(seed)}"},
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }
    # Validating through the models catches a wrong field or cardinality here, not at the
    # receiving facility; the validated model's JSON is what goes out.
    try:
        validated = Bundle.model_validate(bundle)
    except ValueError as exc:  # pydantic's ValidationError; its text quotes patient data
        raise ReportError(
            "the casualty records do not make a valid FHIR bundle", code="report_invalid_fhir"
        ) from exc
    return cast(dict[str, Any], json.loads(validated.model_dump_json()))


def _seed(doc: Dd1380Document) -> str:
    session_id = doc.get("session", {}).get("id")
    if session_id:
        return f"session:{session_id}"
    # Without a session id the content itself names the bundle, so two unrelated exports
    # never share ids while the same export always gets the same ones.
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return f"content:{hashlib.sha256(canonical.encode()).hexdigest()}"


def _uuid(*parts: object) -> str:
    text = "|".join(json.dumps(p, sort_keys=True, default=str) for p in parts)
    return str(uuid.uuid5(_NAMESPACE, text))


def _text(text: str) -> dict[str, str]:
    return {"text": text}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": _UCUM, "code": code}


def _dose(dose: str | None) -> dict[str, Any] | None:
    match = _DOSE.match(dose or "")
    if match is None:
        return None
    unit = match[2]
    code = _DOSE_UNITS.get(unit.lower())
    if code is None:
        return None
    number = float(match[1])
    return _quantity(int(number) if number.is_integer() else number, unit, code)


def _volume(volume_ml: int) -> dict[str, Any]:
    return _quantity(volume_ml, "mL", "mL")


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": _OBS_CATEGORY, "code": code, "display": display}]}]


def _loinc(code: str, display: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": _LOINC, "code": code, "display": display}], "text": text}


class _Casualty:
    """Builds the resources of one casualty (holds the ids every resource refers to)."""

    def __init__(self, seed: str, index: int, casualty: Casualty, start: datetime | None):
        self.seed = seed
        self.index = index
        self.casualty = casualty
        self.start = start
        self.patient_id = _uuid(seed, index, "Patient", casualty)
        self.encounter_id = _uuid(seed, index, "Encounter", casualty)
        self.subject = {"reference": f"urn:uuid:{self.patient_id}"}
        self.encounter = {"reference": f"urn:uuid:{self.encounter_id}"}

    def resources(self) -> list[Resource]:
        """Every resource of this casualty, Patient and Encounter first."""
        c = self.casualty
        out = [self._patient(), self._encounter()]
        out += [self._condition(n, i) for n, i in enumerate(c.get("injuries") or [])]
        if c.get("allergies"):
            out.append(self._allergy(c.get("allergies") or ""))
        for n, column in enumerate(c.get("vitals") or []):
            out += self._observations(n, column)
        tbsa = c.get("burn_tbsa")
        # bool is an int to Python, but True is no burn area.
        if isinstance(tbsa, int | float) and not isinstance(tbsa, bool):
            out.append(self._burn_extent(float(tbsa)))
        out += self._procedures()
        out += self._administrations()
        return out

    def _id(self, kind: str, *content: object) -> str:
        return _uuid(self.seed, self.index, kind, *content)

    def _when(self, hhmm: str | None) -> str | None:
        moment = clock_to_datetime(hhmm, self.start)
        return moment.isoformat() if moment is not None else None

    def _patient(self) -> Resource:
        c = self.casualty
        identifiers = []
        if c.get("battle_roster"):
            identifiers.append({"type": _text("Battle roster number"), "value": c["battle_roster"]})
        else:
            identifiers.append({"type": _text("Casualty label"), "value": c.get("label") or "?"})
        if c.get("last4"):
            identifiers.append({"type": _text("Last 4 of SSN"), "value": c["last4"]})
        patient: Resource = {
            "resourceType": "Patient",
            "id": self.patient_id,
            "identifier": identifiers,
        }
        last, first = c.get("last_name"), c.get("first_name")
        if last or first:
            name: dict[str, Any] = {"text": ", ".join(n for n in (last, first) if n)}
            if last:
                name["family"] = last
            if first:
                name["given"] = [first]
            patient["name"] = [name]
        return patient

    def _encounter(self) -> Resource:
        c = self.casualty
        encounter: Resource = {
            "resourceType": "Encounter",
            "id": self.encounter_id,
            # Care at the point of injury ends when the casualty is handed off.
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "FLD",
                "display": "field",
            },
            "subject": self.subject,
        }
        if c.get("evac_category"):
            encounter["priority"] = _text(f"Evacuation category {c.get('evac_category')}")
        if c.get("mechanism"):
            encounter["reasonCode"] = [_text(f"Mechanism of injury: {m}") for m in c["mechanism"]]
        if self.start is not None:
            encounter["period"] = {"start": self.start.isoformat()}
        return encounter

    def _condition(self, n: int, injury: Injury) -> Resource:
        condition: Resource = {
            "resourceType": "Condition",
            "id": self._id("Condition", n, injury),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": _text(injury.get("kind") or "Injury"),
            "subject": self.subject,
            "encounter": self.encounter,
        }
        if injury.get("site"):
            condition["bodySite"] = [_text(injury.get("site") or "")]
        onset = self._when(self.casualty.get("time_of_injury"))
        if onset is not None:
            condition["onsetDateTime"] = onset
        return condition

    def _allergy(self, allergies: str) -> Resource:
        text = "NKDA (no known drug allergies)" if allergies.upper() == "NKDA" else allergies
        return {
            "resourceType": "AllergyIntolerance",
            "id": self._id("AllergyIntolerance", allergies),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": (
                            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
                        ),
                        "code": "active",
                    }
                ]
            },
            "code": _text(text),
            "patient": self.subject,
            "encounter": self.encounter,
        }

    def _observation(self, kind: str, n: int, column: Vitals, body: Resource) -> Resource:
        obs: Resource = {
            "resourceType": "Observation",
            "id": self._id("Observation", kind, n, column),
            "status": "final",
            **body,
            "subject": self.subject,
            "encounter": self.encounter,
        }
        when = self._when(column.get("time"))
        if when is not None:
            obs["effectiveDateTime"] = when
        return obs

    def _observations(self, n: int, column: Vitals) -> list[Resource]:
        vital = _category("vital-signs", "Vital Signs")
        out = []
        if column.get("pulse") is not None:
            body: Resource = {
                "category": vital,
                "code": _loinc("8867-4", "Heart rate", "Pulse"),
                "valueQuantity": _quantity(column["pulse"] or 0, "beats/minute", "/min"),
            }
            if column.get("pulse_location"):
                body["bodySite"] = _text(column.get("pulse_location") or "")
            out.append(self._observation("pulse", n, column, body))
        elif column.get("pulse_location"):
            # A pulse found at a site without a rate counted ("strong radial pulse").
            body = {
                "category": _category("exam", "Exam"),
                "code": _text("Pulse location (rate not recorded)"),
                "valueString": column.get("pulse_location") or "",
            }
            out.append(self._observation("pulse_location", n, column, body))
        bp = column.get("bp")
        if bp:
            out.append(self._observation("bp", n, column, self._bp(bp, vital)))
        if column.get("resp_rate") is not None:
            body = {
                "category": vital,
                "code": _loinc("9279-1", "Respiratory rate", "Respiratory rate"),
                "valueQuantity": _quantity(column["resp_rate"] or 0, "breaths/minute", "/min"),
            }
            out.append(self._observation("resp_rate", n, column, body))
        if column.get("spo2") is not None:
            body = {
                "category": vital,
                "code": {
                    "coding": [
                        {
                            "system": _LOINC,
                            "code": "59408-5",
                            "display": "Oxygen saturation in Arterial blood by Pulse oximetry",
                        },
                        {
                            "system": _LOINC,
                            "code": "2708-6",
                            "display": "Oxygen saturation in Arterial blood",
                        },
                    ],
                    "text": "SpO2",
                },
                "valueQuantity": _quantity(column["spo2"] or 0, "%", "%"),
            }
            out.append(self._observation("spo2", n, column, body))
        avpu = column.get("avpu")
        if avpu:
            body = {
                "category": _category("exam", "Exam"),
                "code": _text("AVPU level of consciousness"),
                "valueString": f"{avpu} ({_AVPU[avpu]})" if avpu in _AVPU else avpu,
            }
            out.append(self._observation("avpu", n, column, body))
        if column.get("pain") is not None:
            body = {
                "category": _category("survey", "Survey"),
                "code": _loinc(
                    "72514-3",
                    "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                    "Pain (0-10)",
                ),
                "valueInteger": column["pain"],
            }
            out.append(self._observation("pain", n, column, body))
        return out

    @staticmethod
    def _bp(bp: str, category: list[dict[str, Any]]) -> Resource:
        code = _loinc("85354-9", "Blood pressure panel with all children optional", "BP")
        parts = bp.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            # Not "systolic/diastolic": hand the words on rather than guess the numbers.
            return {"category": category, "code": code, "valueString": bp}
        systolic, diastolic = (int(p) for p in parts)
        return {
            "category": category,
            "code": code,
            "component": [
                {
                    "code": _loinc("8480-6", "Systolic blood pressure", "Systolic"),
                    "valueQuantity": _quantity(systolic, "mmHg", "mm[Hg]"),
                },
                {
                    "code": _loinc("8462-4", "Diastolic blood pressure", "Diastolic"),
                    "valueQuantity": _quantity(diastolic, "mmHg", "mm[Hg]"),
                },
            ],
        }

    def _burn_extent(self, tbsa: float) -> Resource:
        return {
            "resourceType": "Observation",
            "id": self._id("Observation", "burn_tbsa", tbsa),
            "status": "final",
            "category": _category("exam", "Exam"),
            "code": _text("Burn extent (% total body surface area)"),
            "valueQuantity": _quantity(int(tbsa) if tbsa.is_integer() else tbsa, "%", "%"),
            "subject": self.subject,
            "encounter": self.encounter,
        }

    def _procedure(self, kind: str, n: int, text: str, category: str) -> Resource:
        return {
            "resourceType": "Procedure",
            "id": self._id("Procedure", kind, n, text),
            "status": "completed",
            "category": _text(category),
            "code": _text(_PROCEDURE_TEXT.get(text, text)),
            "subject": self.subject,
            "encounter": self.encounter,
        }

    def _procedures(self) -> list[Resource]:
        c = self.casualty
        out = []
        for n, tq in enumerate(all_tourniquets(c)):
            proc = self._procedure("tourniquet", n, "Tourniquet", "Hemorrhage control")
            proc["id"] = self._id("Procedure", "tourniquet", n, tq)
            if tq.get("type"):
                proc["usedCode"] = [_text(tq.get("type") or "")]
            site = tq.get("limb") or tq.get("category")
            if site:
                proc["bodySite"] = [_text(site)]
            when = self._when(tq.get("time"))
            if when is not None:
                proc["performedDateTime"] = when
            stamps = (
                ("applied", tq.get("time")),
                ("converted", tq.get("converted")),
                ("removed", tq.get("removed")),
            )
            notes = [f"{label} {hhmm}" for label, hhmm in stamps if hhmm]
            if notes:
                # Clock times stay readable even when no date lets them be effective times.
                proc["note"] = [{"text": "; ".join(notes)}]
            out.append(proc)
        for category, items in (
            ("Hemorrhage control", c.get("hemorrhage_dressings") or []),
            ("Airway", c.get("airway") or []),
            ("Breathing", c.get("breathing") or []),
            ("Other treatment", c.get("other_treatments") or []),
        ):
            for n, item in enumerate(items):
                proc = self._procedure(category, n, item, category)
                if item == "Intact":
                    proc["outcome"] = _text("Airway intact")
                side = {"Eye-Shield-R": "right eye", "Eye-Shield-L": "left eye"}.get(item)
                if side:
                    proc["bodySite"] = [_text(side)]
                out.append(proc)
        return out

    def _administration(
        self,
        kind: str,
        n: int,
        item: Mapping[str, Any],
        category: str,
        amount: str | None,
        dose: dict[str, Any] | None,
    ) -> Resource:
        dosage: dict[str, Any] = {}
        text = " ".join(v for v in (amount, item.get("route")) if v)
        if text:
            dosage["text"] = text
        if item.get("route"):
            dosage["route"] = _text(str(item["route"]))
        if dose is not None:
            dosage["dose"] = dose
        admin: Resource = {
            "resourceType": "MedicationAdministration",
            "id": self._id("MedicationAdministration", kind, n, item),
            "status": "completed",
            "category": _text(category),
            "medicationCodeableConcept": _text(str(item.get("name") or "unnamed")),
            "subject": self.subject,
            "context": self.encounter,
        }
        when = self._when(item.get("time"))
        if when is not None:
            admin["effectiveDateTime"] = when
        else:
            # R4 requires effective[x]; without a dated time the standard extension says
            # "unknown" instead of a made-up time.
            admin["effectivePeriod"] = {
                "extension": [{"url": _DATA_ABSENT, "valueCode": "unknown"}]
            }
        if item.get("time"):
            admin["note"] = [{"text": f"given {item['time']}"}]
        if dosage:
            admin["dosage"] = dosage
        return admin

    def _administrations(self) -> list[Resource]:
        c = self.casualty
        out = []
        for n, fluid in enumerate(c.get("fluids") or []):
            volume = fluid.get("volume_ml")
            amount, dose = (None, None) if volume is None else (f"{volume} mL", _volume(volume))
            out.append(
                self._administration("fluid", n, fluid, "Fluid or blood product", amount, dose)
            )
        for n, med in enumerate(c.get("medications") or []):
            category = f"Medication: {med.get('category') or 'uncategorised'}"
            amount = med.get("dose")
            out.append(self._administration("med", n, med, category, amount, _dose(amount)))
        return out
