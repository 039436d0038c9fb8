"""MARCH-PAWS status from casualty records folded from hand-made facts."""

from __future__ import annotations

import copy

import pytest

from tccc.analysis.march import DONE, IN_PROGRESS, NOT_ASSESSED, STEPS, march_status
from tccc.analysis.record import CasualtyRecord, fold
from tccc.events import Evidence, Fact, Scalar


class Session:
    """Hand-made facts of one casualty, each with its own evidence, one second apart."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def add(self, fact_kind: str, **data: Scalar) -> Fact:
        """Append a fact about casualty 1."""
        fact_id = len(self.facts) + 1
        text = f"{fact_kind} " + " ".join(f"{k}={v}" for k, v in data.items())
        evidence = Evidence(fact_id, 0, len(text), text, text, fact_id - 0.5, float(fact_id))
        fact = Fact(fact_id, fact_kind, "1", dict(data), evidence, session_s=float(fact_id))
        self.facts.append(fact)
        return fact

    def vitals(self, **values: Scalar) -> None:
        """A new column of vital signs."""
        self.add("vitals_time", time=None)
        for sign, value in values.items():
            self.add("vital", sign=sign, value=value)

    def record(self) -> CasualtyRecord:
        """The folded record (an empty one before any fact)."""
        return fold(self.facts).get("1", CasualtyRecord("1"))

    def status(self, step: str) -> str:
        """The status of one step."""
        return march_status(self.record())[step]


def test_empty_record_is_not_assessed_in_march_paws_order() -> None:
    s = Session()
    s.add("casualty", label="1")
    status = march_status(s.record())
    assert list(status) == [key for key, _ in STEPS]
    assert set(status.values()) == {NOT_ASSESSED}
    assert [letter for _, letter in STEPS] == list("MARCHPAWS")


def test_status_is_pure_and_deterministic() -> None:
    s = Session()
    s.add("injury", site="right thigh", kind="GSW")
    s.vitals(pulse=130, bp="88/54", avpu="V", pain=7)
    record = s.record()
    before = copy.deepcopy(record)
    assert march_status(record) == march_status(fold(copy.deepcopy(s.facts))["1"])
    assert record == before


# --- M ---------------------------------------------------------------------------------------


def test_m_in_progress_until_every_bleeding_wound_is_controlled() -> None:
    s = Session()
    s.add("injury", site="right thigh", kind="GSW")
    s.add("injury", site="left forearm", kind="laceration")
    assert s.status("massive_hemorrhage") == IN_PROGRESS
    s.add("tourniquet", limb="R Leg", type="CAT", time="1432", category="Extremity")
    assert s.status("massive_hemorrhage") == IN_PROGRESS  # the forearm still bleeds
    s.add("dressing", value="Pressure")
    assert s.status("massive_hemorrhage") == DONE


def test_m_tourniquet_on_another_limb_does_not_control_the_wound() -> None:
    s = Session()
    s.add("injury", site="left thigh", kind="GSW")
    s.add("tourniquet", limb="R Leg", type="CAT", time="1432", category="Extremity")
    assert s.status("massive_hemorrhage") == IN_PROGRESS


def test_m_bleeding_finding_needs_a_control() -> None:
    s = Session()
    s.add("finding", value="massive bleeding")
    assert s.status("massive_hemorrhage") == IN_PROGRESS
    s.add("dressing", value="Hemostatic", product="Combat Gauze")
    assert s.status("massive_hemorrhage") == DONE


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("tourniquet", {"limb": "L Arm", "type": "CAT", "time": None, "category": "Extremity"}),
        ("finding", {"value": "no massive bleeding"}),
        ("injury", {"site": "right knee", "kind": "contusion"}),
    ],
)
def test_m_done_without_open_wounds(kind: str, data: dict[str, Scalar]) -> None:
    s = Session()
    s.add(kind, **data)
    expected = NOT_ASSESSED if kind == "injury" else DONE
    assert s.status("massive_hemorrhage") == expected


# --- A ---------------------------------------------------------------------------------------


def test_airway() -> None:
    s = Session()
    assert s.status("airway") == NOT_ASSESSED
    s.vitals(avpu="U")
    assert s.status("airway") == IN_PROGRESS
    s.add("airway", value="NPA")
    assert s.status("airway") == DONE
    s = Session()
    s.add("finding", value="snoring respirations")
    assert s.status("airway") == IN_PROGRESS
    s = Session()
    s.add("airway", value="Intact")
    assert s.status("airway") == DONE
    s = Session()
    s.vitals(avpu="A")
    assert s.status("airway") == DONE


# --- R ---------------------------------------------------------------------------------------


def test_respiration_chest_wound_needs_a_seal() -> None:
    s = Session()
    s.add("injury", site="left chest", kind="GSW")
    assert s.status("respiration") == IN_PROGRESS
    s.add("breathing", value="Chest-Seal", vented=True)
    assert s.status("respiration") == DONE


def test_respiration_breath_sounds_need_decompression() -> None:
    s = Session()
    s.add("breathing", value="Chest-Seal", vented=True)
    s.add("finding", value="absent breath sounds", side="left")
    assert s.status("respiration") == IN_PROGRESS
    s.add("breathing", value="Needle-D", side="left")
    assert s.status("respiration") == DONE


def test_respiration_from_vitals() -> None:
    s = Session()
    assert s.status("respiration") == NOT_ASSESSED
    s.vitals(resp_rate=16, spo2=98)
    assert s.status("respiration") == DONE
    s.vitals(spo2=84)
    assert s.status("respiration") == IN_PROGRESS
    s.add("breathing", value="O2")
    assert s.status("respiration") == DONE


# --- C ---------------------------------------------------------------------------------------


def test_circulation() -> None:
    s = Session()
    assert s.status("circulation") == NOT_ASSESSED
    s.add("access", route="IO", site="sternum")
    assert s.status("circulation") == IN_PROGRESS
    s = Session()
    s.add("fluid", name="Whole Blood", route="IO", time="0830")
    assert s.status("circulation") == IN_PROGRESS  # fluids running, no perfusion check
    s.vitals(pulse=96, bp="118/76")
    assert s.status("circulation") == DONE
    s.add("vital", sign="pulse_quality", value="weak", location="radial")
    assert s.status("circulation") == IN_PROGRESS
    s.vitals(pulse=110)
    s.add("vital", sign="pulse_quality", value="strong", location="radial")
    assert s.status("circulation") == DONE


# --- H ---------------------------------------------------------------------------------------


def test_hypothermia_and_head_injury() -> None:
    s = Session()
    assert s.status("hypothermia") == NOT_ASSESSED
    s.add("treatment", value="Hypothermia-Prevention")
    assert s.status("hypothermia") == DONE
    s.add("injury", site="head", kind="GSW")
    assert s.status("hypothermia") == IN_PROGRESS  # head injury: SpO2 and BP not checked
    s.vitals(spo2=95, bp="110/70")
    assert s.status("hypothermia") == DONE
    s = Session()
    s.add("injury", site="head", kind="TBI")
    assert s.status("hypothermia") == IN_PROGRESS


# --- PAWS ------------------------------------------------------------------------------------


def test_pain() -> None:
    s = Session()
    assert s.status("pain") == NOT_ASSESSED
    s.vitals(pain=7)
    assert s.status("pain") == IN_PROGRESS
    s.add("medication", category="Analgesic", name="ketamine", dose="20 mg", route="IV")
    assert s.status("pain") == DONE
    s = Session()
    s.vitals(pain=0)
    assert s.status("pain") == DONE
    s = Session()
    s.vitals(pain=3)
    s.add("treatment", value="Combat-Pill-Pack")
    assert s.status("pain") == DONE


def test_antibiotics() -> None:
    s = Session()
    s.add("injury", site="left arm", kind="burn")
    assert s.status("antibiotics") == NOT_ASSESSED  # burns alone need none
    s.add("injury", site="right thigh", kind="GSW")
    assert s.status("antibiotics") == IN_PROGRESS
    s.add("medication", category="Antibiotic", name="moxifloxacin", dose="400 mg", route="PO")
    assert s.status("antibiotics") == DONE


def test_wounds() -> None:
    s = Session()
    assert s.status("wounds") == NOT_ASSESSED
    s.add("injury", site="right knee", kind="contusion")
    assert s.status("wounds") == DONE  # nothing to dress
    s.add("injury", site="left eye", kind="fragment")
    s.add("injury", site="left chest", kind="GSW")
    s.add("injury", site="right forearm", kind="burn")
    assert s.status("wounds") == IN_PROGRESS
    s.add("treatment", value="Eye-Shield-L")
    s.add("breathing", value="Chest-Seal", vented=True)
    assert s.status("wounds") == IN_PROGRESS  # the burn is not dressed
    s.add("dressing", value="Other", product="burn dressing")
    assert s.status("wounds") == DONE


def test_scene_mechanism_counts_for_the_casualty() -> None:
    s = Session()
    s.add("injury", site="left calf")
    scene = fold(
        [Fact(99, "mechanism", "*", {"value": "GSW"}, s.facts[0].evidence, session_s=0.5)]
    )["*"]
    assert s.status("antibiotics") == NOT_ASSESSED  # a wound of unstated kind
    assert march_status(s.record(), scene=scene)["antibiotics"] == IN_PROGRESS


def test_splinting() -> None:
    s = Session()
    assert s.status("splinting") == NOT_ASSESSED
    s.add("injury", site="left femur", kind="fracture")
    assert s.status("splinting") == IN_PROGRESS
    s.add("treatment", value="Splint")
    assert s.status("splinting") == DONE


def test_odd_values_give_a_status_for_every_step() -> None:
    s = Session()
    s.add("injury", site=None, kind=None)
    s.add("tourniquet", limb=None, type=None, time="later")
    s.add("dressing", value=None)
    s.vitals(avpu="?", pulse="fast", bp="unobtainable", pain="lots", resp_rate="rapid")
    s.add("finding", value=None)
    status = march_status(s.record())
    assert set(status.values()) <= {DONE, IN_PROGRESS, NOT_ASSESSED}
    assert len(status) == len(STEPS)
