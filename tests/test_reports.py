"""Hand-off reports (9-line, MIST/ZMIST, FHIR R4, DD 1380 PDF) built from DD 1380 exports.

The inputs are the expected exports of the shared development narrations: what a correct
product export looks like. The reports are checked against the records they came from, with
the real fhir.resources and fpdf2 libraries.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from tccc.reports.document import (
    VITAL_SIGNS,
    Casualty,
    Dd1380Document,
    ReportError,
    Vitals,
    all_tourniquets,
    clock_to_datetime,
)
from tccc.reports.fhir import fhir_bundle
from tccc.reports.mist import NONE_RECORDED, format_mist, mist
from tccc.reports.nine_line import UNKNOWN, format_nine_line, nine_line
from tccc.reports.pdf import dd1380_pdf

DEV_JSON = Path(__file__).parents[1].parent / "shared" / "domain" / "narrations" / "dev.json"
NO_DEV = f"no development narrations at {DEV_JSON}"


def _load_cases() -> dict[str, Dd1380Document]:
    if not DEV_JSON.is_file():
        return {}
    data = json.loads(DEV_JSON.read_text(encoding="utf-8"))
    return {case["id"]: case["expected"] for case in data["cases"]}


CASES = _load_cases()
CASE_PARAMS = [pytest.param(name, id=name) for name in CASES] or [
    pytest.param("", marks=pytest.mark.skip(reason=NO_DEV), id="no-dev-json")
]


def case(name: str) -> Dd1380Document:
    """A deep copy of one case's expected export (skips when the file is absent)."""
    if name not in CASES:
        pytest.skip(NO_DEV if not CASES else f"case {name} is not in {DEV_JSON}")
    return copy.deepcopy(CASES[name])


def single(casualty: Casualty) -> Dd1380Document:
    """A document holding one casualty."""
    return {"schema": "tccc.dd1380/1", "casualties": [casualty]}


def blank_casualty() -> Casualty:
    """A casualty with every card field present and nothing recorded."""
    return {
        "label": "1",
        "battle_roster": None,
        "last_name": None,
        "last4": None,
        "unit": None,
        "allergies": None,
        "evac_category": None,
        "time_of_injury": None,
        "mechanism": [],
        "injuries": [],
        "tourniquets": [],
        "hemorrhage_dressings": [],
        "airway": [],
        "breathing": [],
        "vitals": [],
        "fluids": [],
        "medications": [],
        "other_treatments": [],
    }


def blank_vitals() -> Vitals:
    """A Signs & Symptoms column with nothing in it."""
    return {
        "time": None,
        "pulse": None,
        "pulse_location": None,
        "bp": None,
        "resp_rate": None,
        "spo2": None,
        "avpu": None,
        "pain": None,
    }


def vital_values(casualty: Casualty) -> int:
    """How many vital-sign values the record holds (a pulse site without a rate counts)."""
    count = 0
    for column in casualty["vitals"]:
        count += sum(1 for sign in VITAL_SIGNS if column.get(sign) is not None)
        if column.get("pulse") is None and column.get("pulse_location"):
            count += 1
    return count


# --- 9-line ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_nine_line_unfillable_lines_stay_unknown(name: str) -> None:
    doc = case(name)
    request = nine_line(doc)
    # Nothing in a casualty record says where, which frequency, what equipment, security,
    # marking or contamination; the dev exports carry no service, so line 8 is unknown too.
    for line in (
        request.line1,
        request.line2,
        request.line4,
        request.line6,
        request.line7,
        request.line8,
        request.line9,
    ):
        assert line.text == UNKNOWN and not line.known, line
    litter_evident = any(
        [v["avpu"] for v in c["vitals"] if v["avpu"]][-1:] in (["P"], ["U"])
        or {"CRIC", "ET-Tube", "SGA"} & set(c["airway"])
        for c in doc["casualties"]
    )
    if not litter_evident:
        assert request.line5.text == UNKNOWN and not request.line5.known
    text = format_nine_line(doc)
    assert len(text.splitlines()) == 10
    for number in (1, 2, 4, 6, 7, 8, 9):
        assert f"Line {number}. " in text
        assert next(ln for ln in text.splitlines() if ln.startswith(f"Line {number}. ")).endswith(
            UNKNOWN
        )


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_nine_line_line3_counts_match_evac_categories(name: str) -> None:
    doc = case(name)
    line3 = nine_line(doc).line3
    categories = [c["evac_category"] for c in doc["casualties"]]
    if all(c is None for c in categories):
        assert line3.text == UNKNOWN and not line3.known
        return
    for letter, category in (("A", "Urgent"), ("C", "Priority"), ("D", "Routine")):
        count = categories.count(category)
        if count:
            assert f"{count}{letter} {category}" in line3.text
        else:
            assert f"{letter} {category}" not in line3.text
    assert line3.known == (None not in categories)


def test_nine_line_three_casualties_one_of_each_precedence() -> None:
    line3 = nine_line(case("multi_cas_05")).line3
    assert line3.text == "1A Urgent, 1C Priority, 1D Routine"
    assert line3.known


def test_nine_line_partial_precedence_is_not_known() -> None:
    doc = case("multi_cas_05")
    doc["casualties"][2]["evac_category"] = None
    line3 = nine_line(doc).line3
    assert line3.text == f"1A Urgent, 1C Priority, 1 {UNKNOWN}"
    assert not line3.known


def test_nine_line_medevac_dict_fills_its_lines() -> None:
    doc = case("gsw_tq_01")
    doc["medevac"] = {
        "location": "38SMB4455667788",
        "frequency": "45.750 Dustoff 6",
        "special_equipment": "A None",
        "patients_by_type": "1L",
        "security": "N",
        "marking": "C Smoke",
        "nationality": "A",
        "nbc": "N",
    }
    request = nine_line(doc)
    assert all(line.known for line in request.lines())
    assert request.line1.text == "38SMB4455667788"
    assert request.line2.text == "45.750 Dustoff 6"
    assert request.line3.text == "1A Urgent"  # line 3 always comes from the records
    assert request.line4.text == "A None"
    assert request.line5.text == "1L"
    assert request.line6.text == "N"
    assert request.line7.text == "C Smoke"
    assert request.line8.text == "A"
    assert request.line9.text == "N"
    assert UNKNOWN not in format_nine_line(doc)


def test_nine_line_nationality_only_from_a_us_service() -> None:
    doc = case("multi_cas_05")
    for casualty in doc["casualties"]:
        casualty["service"] = "USMC"
    assert nine_line(doc).line8.text == "3A US military"
    assert nine_line(doc).line8.known
    doc["casualties"][1]["service"] = "GBR"
    line8 = nine_line(doc).line8
    assert line8.text == f"2A US military, 1 {UNKNOWN}" and not line8.known


def test_nine_line_litter_only_when_evident() -> None:
    # Responds to pain only: certainly cannot walk to the aircraft.
    assert nine_line(case("tbi_04")).line5.text == "1L Litter"
    assert nine_line(case("mvc_airway_08")).line5.known
    # Alert with a leg tourniquet might still be carried, but the record does not say so.
    assert nine_line(case("gsw_tq_01")).line5.text == UNKNOWN


def test_reports_refuse_another_schema() -> None:
    with pytest.raises(ReportError):
        nine_line({"schema": "something/2", "casualties": []})
    with pytest.raises(ReportError):
        format_mist({"schema": "tccc.dd1380/1", "casualties": "none"})


# --- MIST --------------------------------------------------------------------------------------


def record_values(casualty: Casualty) -> list[str]:
    """Every stated value of a record, as the text a hand-off must carry."""
    c = casualty
    values: list[object] = [*c["mechanism"], c["time_of_injury"]]
    values += [v for i in c["injuries"] for v in (i["site"], i["kind"])]
    values += [v for t in c["tourniquets"] for v in (t["limb"], t["type"], t["time"])]
    values += c["hemorrhage_dressings"] + c["airway"] + c["breathing"] + c["other_treatments"]
    values += [v for col in c["vitals"] for v in col.values()]
    values += [v for f in c["fluids"] for v in f.values()]
    values += [v for m in c["medications"] for k, v in m.items() if k != "category"]
    return [str(v) for v in values if v is not None]


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_mist_states_every_recorded_value(name: str) -> None:
    for casualty in case(name)["casualties"]:
        text = format_mist(single(casualty))
        for value in record_values(casualty):
            assert value in text, f"{value!r} missing from:\n{text}"


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_mist_invents_no_numbers(name: str) -> None:
    number = re.compile(r"\d+(?:\.\d+)?")
    for zap in (False, True):
        for casualty in case(name)["casualties"]:
            text = format_mist(single(casualty), zap=zap)
            allowed = set(number.findall(json.dumps(casualty)))
            invented = set(number.findall(text)) - allowed
            assert not invented, f"numbers {invented} are not in the record:\n{text}"


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_zmist_starts_with_the_roster(name: str) -> None:
    doc = case(name)
    blocks = format_mist(doc, zap=True).strip().split("\n\n")
    assert len(blocks) == len(doc["casualties"])
    for block, casualty in zip(blocks, doc["casualties"], strict=True):
        first = block.splitlines()[0]
        if casualty["battle_roster"]:
            assert first == f"Z  {casualty['battle_roster']}"
        else:
            assert first == f"Z  casualty {casualty['label']}"
        assert [ln[0] for ln in block.splitlines() if not ln.startswith(" ")] == list("ZMIST")


def test_zmist_of_a_rostered_casualty_opens_with_its_roster() -> None:
    assert format_mist(case("gsw_tq_01"), zap=True).startswith("Z  RM4417\n")
    assert format_mist(case("gsw_tq_01")).startswith("MIST RM4417\n")


def test_mist_trend_lists_every_reading_in_order() -> None:
    report = mist(case("chest_gsw_trend_10")["casualties"][0])
    assert "SpO2 91% (1400) -> 85% -> 94% (1415)" in report.signs
    assert "pulse 120 (1400) -> 110 (1415)" in report.signs
    assert "BP 100/68 (1415)" in report.signs


def test_mist_treatment_lines() -> None:
    report = mist(case("landmine_12")["casualties"][0])
    assert report.treatment == (
        "TQ R Leg CAT 0642",
        "TQ R Leg CAT 0645",
        "Hextend 500 mL IV 0655",
        "Ertapenem 1 g IV",
        "Ketamine 50 mg IM",
    )


def test_mist_empty_sections_say_none_recorded() -> None:
    text = format_mist(single(blank_casualty()), zap=True)
    assert text.splitlines() == ["Z  casualty 1"] + [f"{s}  {NONE_RECORDED}" for s in "MIST"]


def test_mist_carries_product_extensions() -> None:
    casualty = case("gsw_tq_01")["casualties"][0]
    casualty["burn_tbsa"] = 18
    casualty["tourniquets"][0]["converted"] = "1610"
    casualty["tourniquets"][0]["removed"] = "1630"
    casualty["vitals"][0]["pulse_quality"] = "strong"
    casualty["vitals"][0]["gcs"] = 15
    casualty["vitals"].append({**blank_vitals(), "time": "1450", "gcs": 13, "pupils": "equal"})
    report = mist(casualty)
    assert "burns 18% TBSA" in report.injuries
    assert "TQ R Leg CAT 1432 converted 1610 removed 1630" in report.treatment
    assert "pulse 110 radial strong" in report.signs
    assert "GCS 15 -> 13 (1450)" in report.signs
    assert "pupils equal (1450)" in report.signs


# --- FHIR --------------------------------------------------------------------------------------


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The bundle's resources of one type."""
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def references(node: object) -> list[str]:
    """Every Reference.reference anywhere in a JSON tree."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found += references(value)
    elif isinstance(node, list):
        for item in node:
            found += references(item)
    return found


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_fhir_bundle_validates_and_counts(name: str) -> None:
    doc = case(name)
    bundle = fhir_bundle(doc)
    parsed = Bundle.model_validate(bundle)  # raises on any invalid element
    assert parsed.type == "collection"
    assert json.loads(parsed.model_dump_json()) == bundle
    casualties = doc["casualties"]
    assert len(resources(bundle, "Patient")) == len(casualties)
    assert len(resources(bundle, "Encounter")) == len(casualties)
    assert len(resources(bundle, "Observation")) == sum(vital_values(c) for c in casualties)
    assert len(resources(bundle, "MedicationAdministration")) == sum(
        len(c["medications"]) + len(c["fluids"]) for c in casualties
    )
    assert len(resources(bundle, "Procedure")) == sum(
        len(c["tourniquets"])
        + len(c["hemorrhage_dressings"])
        + len(c["airway"])
        + len(c["breathing"])
        + len(c["other_treatments"])
        for c in casualties
    )
    assert len(resources(bundle, "Condition")) == sum(len(c["injuries"]) for c in casualties)


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_fhir_references_resolve_within_the_bundle(name: str) -> None:
    bundle = fhir_bundle(case(name))
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    assert all(u.startswith("urn:uuid:") for u in full_urls)
    refs = references(bundle)
    assert refs
    assert set(refs) <= set(full_urls)
    patients = {f"urn:uuid:{p['id']}" for p in resources(bundle, "Patient")}
    for admin in resources(bundle, "MedicationAdministration"):
        assert admin["subject"]["reference"] in patients


def test_fhir_patient_vitals_and_drugs() -> None:
    bundle = fhir_bundle(case("tbi_04"))
    (patient,) = resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == "1"  # no roster: the medic's label
    observations = resources(bundle, "Observation")
    bp = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert {
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]
    } == {("8480-6", 168), ("8462-4", 90)}
    codes = {c["code"] for o in observations for c in o["code"].get("coding", [])}
    assert {"8867-4", "9279-1", "59408-5", "85354-9"} <= codes
    (txa,) = resources(bundle, "MedicationAdministration")
    assert txa["medicationCodeableConcept"]["text"] == "TXA"
    assert txa["dosage"]["dose"]["value"] == 2 and txa["dosage"]["route"]["text"] == "IO"

    bundle = fhir_bundle(case("gsw_tq_01"))
    (patient,) = resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == "RM4417"
    assert patient["name"][0]["family"] == "Reyes"


def test_fhir_times_need_a_session_date() -> None:
    doc = case("gsw_tq_01")
    dated = ("effectiveDateTime", "performedDateTime", "onsetDateTime")
    assert not any(key in json.dumps(fhir_bundle(doc)) for key in dated)
    doc["session"] = {"id": "s-1", "started": "2024-05-01T14:20:00+00:00"}
    bundle = fhir_bundle(doc)
    (txa,) = resources(bundle, "MedicationAdministration")
    assert txa["effectiveDateTime"].startswith("2024-05-01T14:45:00")
    (tq,) = [p for p in resources(bundle, "Procedure") if p.get("usedCode")]
    assert tq["performedDateTime"].startswith("2024-05-01T14:32:00")


def test_clock_times_land_nearest_the_session_start() -> None:
    start = datetime(2024, 5, 1, 23, 50, tzinfo=UTC)
    assert clock_to_datetime("0010", start) == datetime(2024, 5, 2, 0, 10, tzinfo=UTC)
    assert clock_to_datetime("2340", start) == datetime(2024, 5, 1, 23, 40, tzinfo=UTC)
    assert clock_to_datetime("2560", start) is None
    assert clock_to_datetime(None, start) is None


def test_fhir_ids_are_reproducible() -> None:
    doc = case("multi_cas_05")
    doc["session"] = {"id": "s-1", "started": "2024-05-01T13:00:00+00:00"}
    assert fhir_bundle(doc) == fhir_bundle(copy.deepcopy(doc))
    other = copy.deepcopy(doc)
    other["session"]["id"] = "s-2"
    first = {e["fullUrl"] for e in fhir_bundle(doc)["entry"]}
    assert not first & {e["fullUrl"] for e in fhir_bundle(other)["entry"]}


def test_fhir_of_a_casualty_with_nothing_recorded() -> None:
    bundle = fhir_bundle(single(blank_casualty()))
    Bundle.model_validate(bundle)
    kinds = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds == ["Encounter", "Patient"]


def test_fhir_refuses_records_it_cannot_validate() -> None:
    doc = case("gsw_tq_01")
    doc["casualties"][0]["vitals"][0]["pulse"] = "fast"  # type: ignore[typeddict-item]
    with pytest.raises(ReportError) as info:
        fhir_bundle(doc)
    assert "fast" not in str(info.value)  # client-safe: no record values in the message


def test_fhir_burn_extent_is_an_observation() -> None:
    doc = case("burn_03")
    doc["casualties"][0]["burn_tbsa"] = 27
    bundle = fhir_bundle(doc)
    extra = len(resources(bundle, "Observation")) - vital_values(doc["casualties"][0])
    assert extra == 1
    assert "Burn extent" in json.dumps(bundle)


# --- PDF ---------------------------------------------------------------------------------------


def pdf_text(doc: Dd1380Document, path: Path) -> str:
    """Write the PDF and return its text (pypdf when installed, else uncompressed bytes)."""
    try:
        import pypdf
    except ImportError:
        dd1380_pdf(doc, path, compress=False)
        return path.read_bytes().decode("latin-1")
    dd1380_pdf(doc, path)
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def assert_pdf(path: Path) -> bytes:
    """The file's bytes, after checking it looks like a whole PDF."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    return data


def page_count(data: bytes) -> int:
    """Pages of an uncompressed fpdf2 file (its page objects are plain text)."""
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


def test_pdf_holds_roster_tourniquet_time_and_drug(tmp_path: Path) -> None:
    path = tmp_path / "card.pdf"
    text = pdf_text(case("gsw_tq_01"), path)
    assert_pdf(path)
    for value in ("RM4417", "Reyes", "1432", "CAT", "TXA", "2 g", "1445", "NKDA"):
        assert value in text, value


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_pdf_front_and_back_per_casualty(name: str, tmp_path: Path) -> None:
    doc = case(name)
    path = tmp_path / "card.pdf"
    dd1380_pdf(doc, path, compress=False)
    data = assert_pdf(path)
    assert page_count(data) == 2 * len(doc["casualties"])
    text = data.decode("latin-1")
    for casualty in doc["casualties"]:
        for med in casualty["medications"]:
            assert f"({med['name']})" in text
        for tq in casualty["tourniquets"]:
            # A limb row holds the time alone; junctional ones are written out on the back.
            assert f"({tq['time']})" in text or f" {tq['time']})" in text


def test_pdf_of_a_casualty_with_nothing_recorded(tmp_path: Path) -> None:
    for number, casualty in enumerate((blank_casualty(), {"label": "1"})):
        path = tmp_path / f"blank{number}.pdf"
        dd1380_pdf(single(casualty), path, compress=False)  # type: ignore[arg-type]
        assert page_count(assert_pdf(path)) == 2
    path = tmp_path / "empty.pdf"
    dd1380_pdf({"schema": "tccc.dd1380/1", "casualties": []}, path)
    assert_pdf(path)


def test_pdf_survives_characters_outside_latin1(tmp_path: Path) -> None:
    doc = case("gsw_tq_01")
    casualty = doc["casualties"][0]
    casualty["last_name"] = "Müller-Łukasz"
    casualty["unit"] = "第3小隊"
    casualty["prompts"] = [{"rule": "M2", "text": "Convert TQ ≥ 2 h — now", "deadline": "1632"}]
    casualty["march"] = {"M": "done", "A": "not assessed"}
    path = tmp_path / "card.pdf"
    dd1380_pdf(doc, path, compress=False)
    text = assert_pdf(path).decode("latin-1")
    assert "(M\xfcller-?ukasz)" in text
    # fpdf2 escapes parentheses inside PDF strings.
    assert r"[M2] Convert TQ >= 2 h - now \(by 1632\)" in text
    assert "MARCH: M done, A not assessed" in text


def test_a_tourniquet_whose_limb_was_not_heard_is_kept_off_the_rows_but_on_the_card(
    tmp_path: Path,
) -> None:
    from tccc.analysis.record import fold
    from tccc.events import Evidence, Fact
    from tccc.reports.export import export_document

    def tq(fact_id: int, limb: str | None, time: str) -> Fact:
        data = {"limb": limb, "type": "CAT", "time": time, "category": "Extremity"}
        return Fact(fact_id, "tourniquet", "1", dict(data), Evidence(fact_id, 0, 3, "CAT", "CAT"))

    doc = export_document(fold([tq(1, "R Leg", "1432"), tq(2, None, "1440")]))
    casualty = doc["casualties"][0]
    assert [t["limb"] for t in casualty["tourniquets"]] == ["R Leg"]
    assert [(t["limb"], t["time"]) for t in casualty["tourniquets_unplaced"]] == [(None, "1440")]
    assert all_tourniquets(casualty) == casualty["tourniquets"] + casualty["tourniquets_unplaced"]
    assert mist(casualty).treatment[:2] == ("TQ R Leg CAT 1432", "TQ Extremity CAT 1440")
    path = tmp_path / "card.pdf"
    dd1380_pdf(doc, path, compress=False)  # type: ignore[arg-type]
    assert "TQ details: Extremity CAT 1440" in path.read_bytes().decode("latin-1")
    procedures = resources(fhir_bundle(doc), "Procedure")  # type: ignore[arg-type]
    assert sum(p["code"]["text"] == "Tourniquet" for p in procedures) == 2
