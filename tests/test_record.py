"""The fold of facts into casualty records (tccc.analysis.record): corrections replace a value
and keep the history, vital signs form timed columns, retractions withdraw, lists do not
repeat. Facts are built by hand so each rule of the fold is tested on its own."""

from __future__ import annotations

import random

from tccc.analysis.analyzer import SessionAnalyzer, UtteranceText
from tccc.analysis.record import fold
from tccc.events import Evidence, Fact, Scalar
from tccc.stt.normaliser import Normaliser


class Log:
    """Builds a session's facts with increasing ids, as the analyzer would."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def add(
        self,
        kind: str,
        casualty: str = "1",
        *,
        replaces: int | None = None,
        at: float = 0.0,
        **data: Scalar,
    ) -> Fact:
        """Append a fact; its evidence is the fact id, so tests can tell facts apart."""
        fact_id = len(self.facts) + 1
        evidence = Evidence(fact_id, 0, 1, str(fact_id), str(fact_id))
        fact = Fact(fact_id, kind, casualty, dict(data), evidence, replaces, session_s=at)
        self.facts.append(fact)
        return fact


def test_correction_replaces_the_value_and_the_history_keeps_both() -> None:
    log = Log()
    first = log.add("vital", sign="pulse", value=92)
    second = log.add("vital", sign="pulse", value=102, replaces=first.id)
    record = fold(log.facts)["1"]
    assert record.vital_series("pulse") == [(None, 102)]
    assert record.vitals[0].fact_ids == {"pulse": second.id}
    assert record.facts == [first, second]


def test_a_chain_of_corrections_keeps_the_last_value() -> None:
    log = Log()
    a = log.add("medication", name="TXA", dose="2 g", route="IV")
    b = log.add("medication", replaces=a.id, name="TXA", dose="1 g", route="IV")
    c = log.add("medication", replaces=b.id, name="TXA", dose="1.5 g", route="IV")
    record = fold(log.facts)["1"]
    items = record.of_kind("medication")
    assert [i.data["dose"] for i in items] == ["1.5 g"]
    assert items[0].fact_ids == [c.id]
    assert record.facts == [a, b, c]


def test_a_corrected_vital_stays_in_the_column_it_was_said_in() -> None:
    log = Log()
    log.add("vital", sign="pulse", value=110)
    bp = log.add("vital", sign="bp", value="120/80")
    log.add("vital", sign="pulse", value=100)  # a new reading: the next column
    log.add("vital", sign="bp", value="125/80", replaces=bp.id)
    record = fold(log.facts)["1"]
    assert [c.values for c in record.vitals] == [
        {"pulse": 110, "bp": "125/80"},
        {"pulse": 100},
    ]
    assert record.vitals[0].fact_ids["bp"] == 4


def test_a_corrected_tourniquet_keeps_its_place_in_the_list() -> None:
    log = Log()
    first = log.add("tourniquet", limb="L Leg", type="CAT", time="1432", category="Extremity")
    log.add("tourniquet", limb="R Arm", type="CAT", time="1440", category="Extremity")
    log.add(
        "tourniquet", replaces=first.id, limb="L Leg", type="CAT", time="1434", category="Extremity"
    )
    items = fold(log.facts)["1"].of_kind("tourniquet")
    assert [(i.data["limb"], i.data["time"]) for i in items] == [
        ("L Leg", "1434"),
        ("R Arm", "1440"),
    ]


def test_identity_correction() -> None:
    log = Log()
    first = log.add("identity", field="battle_roster", value="JT5512")
    log.add("identity", field="battle_roster", value="JT5521", replaces=first.id)
    log.add("identity", field="last_name", value="Reyes")
    record = fold(log.facts)["1"]
    assert record.identity == {"battle_roster": "JT5521", "last_name": "Reyes"}
    assert record.identity_evidence["battle_roster"].text == "2"


def test_a_sign_said_again_starts_a_new_column() -> None:
    log = Log()
    log.add("vital", sign="pulse", value=120)
    log.add("vital", sign="spo2", value=91)
    log.add("vital", sign="spo2", value=85)
    log.add("vital", sign="pulse", value=110)
    log.add("vital", sign="bp", value="100/68")
    record = fold(log.facts)["1"]
    assert [c.values for c in record.vitals] == [
        {"pulse": 120, "spo2": 91},
        {"spo2": 85, "pulse": 110, "bp": "100/68"},
    ]
    assert record.vital_series("spo2") == [(None, 91), (None, 85)]


def test_vitals_at_a_time_start_a_timed_column() -> None:
    log = Log()
    log.add("vital", sign="pulse", value=120)
    log.add("vitals_time", time="1040")
    log.add("vital", sign="pulse", value=128)
    log.add("vital", sign="bp", value="86/50")
    log.add("vitals_time", time="1100")
    log.add("vital", sign="bp", value="90/60")
    record = fold(log.facts)["1"]
    assert [(c.time, c.values) for c in record.vitals] == [
        (None, {"pulse": 120}),
        ("1040", {"pulse": 128, "bp": "86/50"}),
        ("1100", {"bp": "90/60"}),
    ]
    assert record.vital_series("pulse") == [(None, 120), ("1040", 128)]


def test_an_announced_empty_column_takes_the_time() -> None:
    log = Log()
    log.add("vitals_time", time=None)  # "second set of vitals"
    log.add("vitals_time", time="1415")  # "... at 1415"
    log.add("vital", sign="pulse", value=110)
    record = fold(log.facts)["1"]
    assert [(c.time, c.values) for c in record.vitals] == [("1415", {"pulse": 110})]


def test_pulse_location_is_where_it_was_felt_not_where_it_was_absent() -> None:
    log = Log()
    log.add("vital", sign="pulse_quality", value="absent", location="radial")
    log.add("vital", sign="pulse", value=140, location="carotid")
    column = fold(log.facts)["1"].vitals[0]
    assert column.location == "carotid"
    assert column.values == {"pulse_quality": "absent", "pulse": 140}


def test_retract_withdraws_the_fact_and_keeps_it_in_the_history() -> None:
    log = Log()
    tq = log.add("tourniquet", limb="L Arm", type="CAT", time=None, category="Extremity")
    log.add("dressing", value="Pressure")
    retract = log.add("retract", fact=tq.id)
    record = fold(log.facts)["1"]
    assert record.of_kind("tourniquet") == []
    assert [i.data["value"] for i in record.of_kind("dressing")] == ["Pressure"]
    assert [f.id for f in record.facts] == [tq.id, 2, retract.id]


def test_retracting_a_correction_restores_the_value_it_replaced() -> None:
    log = Log()
    first = log.add("vital", sign="pulse", value=92)
    fix = log.add("vital", sign="pulse", value=102, replaces=first.id)
    log.add("retract", fact=fix.id)
    assert fold(log.facts)["1"].vital_series("pulse") == [(None, 92)]


def test_lists_of_values_do_not_repeat_but_keep_every_evidence() -> None:
    log = Log()
    log.add("mechanism", value="IED", word="ied")
    log.add("dressing", value="Hemostatic")
    log.add("mechanism", value="IED", word="ied")
    log.add("mechanism", value="GSW", word="gsw")
    record = fold(log.facts)["1"]
    mech = record.of_kind("mechanism")
    assert [i.data["value"] for i in mech] == ["IED", "GSW"]
    assert mech[0].fact_ids == [1, 3] and [e.text for e in mech[0].evidence] == ["1", "3"]


def test_every_tourniquet_is_its_own_item() -> None:
    log = Log()
    for time in ("1310", "1312"):
        log.add("tourniquet", limb="L Leg", type="CAT", time=time, category="Extremity")
    items = fold(log.facts)["1"].of_kind("tourniquet")
    assert [i.data["time"] for i in items] == ["1310", "1312"]


def test_tourniquet_conversion_goes_to_the_one_on_that_limb() -> None:
    log = Log()
    log.add("tourniquet", limb="L Leg", type="CAT", time="0642", category="Extremity")
    log.add("tourniquet", limb="R Arm", type="CAT", time="0645", category="Extremity")
    log.add("tourniquet_change", action="converted", time="0830", limb="L Leg")
    log.add("tourniquet_change", action="removed", time="0900")
    leg, arm = fold(log.facts)["1"].of_kind("tourniquet")
    assert leg.data.get("converted") == "0830" and "removed" not in leg.data
    assert arm.data.get("removed") == "0900" and "converted" not in arm.data
    assert leg.fact_ids == [1, 3] and arm.fact_ids == [2, 4]


def test_a_type_said_after_names_the_last_tourniquet_without_overriding_a_said_type() -> None:
    log = Log()
    log.add("tourniquet", limb="L Leg", type=None, time="0815", category="Extremity")
    log.add("tourniquet_change", action="type", type="SOFTT-W", time=None)
    log.add("tourniquet", limb="R Leg", type="CAT", time="0820", category="Extremity")
    log.add("tourniquet_change", action="type", type="SOFTT-W", time=None)
    left, right = fold(log.facts)["1"].of_kind("tourniquet")
    assert left.data["type"] == "SOFTT-W" and left.fact_ids == [1, 2]
    assert right.data["type"] == "CAT" and right.fact_ids == [3]


def test_a_change_with_no_tourniquet_changes_nothing() -> None:
    log = Log()
    log.add("tourniquet_change", action="converted", time="0830", limb="L Leg")
    assert fold(log.facts)["1"].items == []


def test_burn_area_said_again_replaces_the_estimate() -> None:
    log = Log()
    log.add("burn", tbsa=30)
    log.add("burn", tbsa=40)
    assert [i.data["tbsa"] for i in fold(log.facts)["1"].of_kind("burn")] == [40]


def test_evac_and_time_of_injury_keep_the_last_said() -> None:
    log = Log()
    log.add("evac", category="Priority")
    log.add("time_of_injury", time="1355")
    log.add("evac", category="Urgent")
    record = fold(log.facts)["1"]
    assert (record.evac_category, record.time_of_injury) == ("Urgent", "1355")


def test_records_per_casualty_in_fact_order_whatever_order_they_arrive() -> None:
    log = Log()
    log.add("mechanism", "*", value="Artillery", word="mortar", at=1.0)
    log.add("vital", "1", sign="pulse", value=110, at=2.0)
    log.add("vital", "2", sign="pulse", value=90, at=3.0)
    log.add("vital", "1", sign="pulse", value=100, at=4.0)
    shuffled = list(log.facts)
    random.Random(7).shuffle(shuffled)
    records = fold(shuffled)
    assert list(records) == ["*", "1", "2"]
    assert records["1"].vital_series("pulse") == [(None, 110), (None, 100)]
    assert (records["1"].first_s, records["2"].first_s) == (2.0, 3.0)
    assert [f.id for f in records["1"].facts] == [2, 4]


def test_fold_of_a_spoken_session() -> None:
    normaliser = Normaliser()
    analyzer = SessionAnalyzer()
    spoken = [
        "Pulse one twenty, sats ninety-one.",
        "Vitals at ten forty: pulse one ten. Correction, pulse one hundred.",
        "Pulse ninety-six.",
        "Chest seal on the left. Scratch that.",
    ]
    for i, raw in enumerate(spoken):
        analyzer.analyze(UtteranceText(i, normaliser.normalise(raw)))
    record = fold(analyzer.facts)["1"]
    assert [(c.time, c.values) for c in record.vitals] == [
        (None, {"pulse": 120, "spo2": 91}),
        ("1040", {"pulse": 100}),
        (None, {"pulse": 96}),
    ]
    assert record.of_kind("breathing") == []
    assert [f.kind for f in record.facts].count("vital") == 5
