"""TCCC decision support: rules file, session clock and every rule firing and not firing.

Records are built the way the product builds them: hand-made facts with evidence, folded by
`tccc.analysis.record.fold`. Session time 0 is 1300 on the medic's clock, and a fact that
carries a spoken time is stated at that time, so the clock anchored on the facts agrees with
`at()`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

import pytest

from tccc.analysis.clock import SessionClock, format_hhmm, parse_hhmm
from tccc.analysis.prompts import Prompt
from tccc.analysis.record import CasualtyRecord, fold
from tccc.analysis.rules import evaluate
from tccc.analysis.rules_file import RULE_IDS, Rules, bundled_rules, load_rules, parse_rules
from tccc.errors import ConfigError
from tccc.events import Evidence, Fact, Scalar

BASE_MIN = 13 * 60


def at(hhmm: str) -> float:
    """Session seconds of a clock time on the test day (session 0 = 1300)."""
    return ((int(hhmm[:2]) * 60 + int(hhmm[2:])) - BASE_MIN) * 60.0


class Session:
    """Hand-made facts of one session, each with its own evidence."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.now = at("1400")

    def add(
        self,
        fact_kind: str,
        when: str | float | None = None,
        casualty: str = "1",
        replaces: int | None = None,
        **data: Scalar,
    ) -> Fact:
        """Append a fact stated at `when` (HHMM or session seconds; default: a second later)."""
        return self.add_data(fact_kind, when, data, casualty, replaces)

    def add_data(
        self,
        fact_kind: str,
        when: str | float | None,
        data: Mapping[str, Scalar],
        casualty: str = "1",
        replaces: int | None = None,
    ) -> Fact:
        """`add` with the fact's data as a mapping."""
        if when is None:
            self.now += 1.0
        else:
            self.now = at(when) if isinstance(when, str) else when
        fact_id = len(self.facts) + 1
        text = f"{fact_kind} " + " ".join(f"{k}={v}" for k, v in data.items())
        evidence = Evidence(fact_id, 0, len(text), text, text.upper(), self.now - 1.0, self.now)
        fact = Fact(
            fact_id, fact_kind, casualty, dict(data), evidence, replaces, session_s=self.now
        )
        self.facts.append(fact)
        return fact

    def vitals(self, when: str | float | None = None, **values: Scalar) -> list[Fact]:
        """A new column of vital signs (time spoken when `when` is an HHMM string)."""
        column = [self.add("vitals_time", when, time=when if isinstance(when, str) else None)]
        return column + [self.add("vital", sign=k, value=v) for k, v in values.items()]

    def record(self, casualty: str = "1") -> CasualtyRecord:
        """The folded record of one casualty."""
        return fold(self.facts)[casualty]

    def clock(self) -> SessionClock:
        """The session clock anchored on these facts."""
        return SessionClock.from_facts(self.facts)

    def prompts(self, when: str | float, rules: Rules | None = None) -> list[Prompt]:
        """The prompts for casualty 1 at a clock time or session time."""
        now = at(when) if isinstance(when, str) else when
        return evaluate(self.record(), now, self.clock(), rules)

    def fired(
        self, rule: str, when: str | float = "1500", rules: Rules | None = None
    ) -> list[Prompt]:
        """The prompts of one rule."""
        return [p for p in self.prompts(when, rules) if p.rule == rule]


def tourniquet(s: Session, time: str = "1432", limb: str = "R Leg", **extra: Scalar) -> Fact:
    """A CAT on a limb at a spoken time, stated at that time."""
    data: dict[str, Scalar] = {"limb": limb, "type": "CAT", "time": time}
    data |= {"category": "Extremity", "high_and_tight": False, **extra}
    return s.add_data("tourniquet", time, data)


# --- rules file ------------------------------------------------------------------------------


def test_bundled_rules_are_versioned_and_complete() -> None:
    rules = bundled_rules()
    assert rules.version and rules.guideline_date == "2024-01-25"
    assert "instructor or medical officer" in rules.review_note
    assert tuple(r.id for r in rules.rules) == RULE_IDS
    assert all(r.title and r.trigger_note and r.params["text"] for r in rules.rules)
    th = rules.thresholds
    assert (th.spo2_below, th.systolic_below, th.heart_rate_above) == (90, 90, 120)
    assert (th.resp_rate_above, th.resp_rate_below) == (30, 8)
    assert rules.rule("M2").number("conversion_h") == 2
    assert rules.rule("M2").number("never_convert_h") == 6
    assert rules.rule("C2").number("window_h") == 3
    assert rules.rule("C2").number("dose_g") == 2
    assert rules.rule("C4").number("calcium_g") == 1
    assert dict(rules.rule("E1").table("window_h")) == {
        "Urgent": 1,
        "Urgent-Surgical": 1,
        "Priority": 4,
        "Routine": 24,
    }
    assert load_rules() is rules


def _modified(tmp_path: Path, old: str, new: str) -> Path:
    text = resources.files("tccc").joinpath("data/tccc_rules.toml").read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_changed_conversion_window_takes_effect(tmp_path: Path) -> None:
    rules = load_rules(_modified(tmp_path, "conversion_h = 2", "conversion_h = 1"))
    s = Session()
    tourniquet(s)
    (bundled,) = s.fired("M2", "1440")
    (changed,) = s.fired("M2", "1440", rules)
    assert bundled.deadline == "1632"
    assert changed.deadline == "1532"
    assert "(1 h)" in changed.text and "before 1532" in changed.text


def test_changed_threshold_takes_effect(tmp_path: Path) -> None:
    rules = load_rules(_modified(tmp_path, "spo2_below = 90", "spo2_below = 80"))
    s = Session()
    s.add("injury", "1400", site="chest", kind="GSW")
    s.vitals("1410", spo2=84)
    assert s.fired("R1", "1415")
    assert not s.fired("R1", "1415", rules)


def test_changed_txa_window_and_dose_take_effect(tmp_path: Path) -> None:
    path = _modified(tmp_path, "dose_g = 2\nwindow_h = 3", "dose_g = 1\nwindow_h = 4")
    s = Session()
    tourniquet(s)
    s.add("time_of_injury", "1433", time="1355")
    (prompt,) = s.fired("C2", "1700", load_rules(path))
    assert prompt.deadline == "1755" and "TXA 1 g" in prompt.text
    assert not s.fired("C2", "1700")  # past the bundled 3 h window


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("({never_convert_h} h); record", "({hours} h); record", "placeholder"),
        ('[rules.E1]\nid = "E1"', '[rules.E9]\nid = "E9"', "not implemented"),
        ("perineum = 1", "perineum = 2", "100"),
        ('title = "TXA"\nseverity = "warning"', 'title = "TXA"\nseverity = "loud"', "severity"),
        ("calcium_g = 1", "calcium_g = -1", "positive"),
        ('guideline_date = "2024-01-25"', 'guideline_date = "Jan 2024"', "guideline_date"),
        ("txa_names = [", "txa_words = [", "txa_names"),
        ("version = ", "version = [", "TOML"),
    ],
)
def test_invalid_rules_files_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_rules(_modified(tmp_path, old, new))


def test_missing_rules_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(tmp_path / "nope.toml")
    with pytest.raises(ConfigError):
        parse_rules("version = 'x'\n")


# --- session clock ---------------------------------------------------------------------------


def test_parse_and_format_hhmm() -> None:
    assert parse_hhmm("1432") == 14 * 60 + 32
    assert parse_hhmm("14:32") == 14 * 60 + 32
    assert parse_hhmm("0830Z") == 8 * 60 + 30
    assert parse_hhmm(830) == 8 * 60 + 30
    for bad in ("2460", "2400", "abcd", "", None, True, 14.5, -5):
        assert parse_hhmm(bad) is None, bad
    assert format_hhmm(0) == "0000" and format_hhmm(24 * 60 + 5) == "0005"


def test_clock_without_spoken_time_has_no_anchor() -> None:
    s = Session()
    s.add("injury", site="leg", kind="GSW")
    clock = s.clock()
    assert not clock.anchored
    assert clock.to_session_s("1432") is None and clock.to_clock(100.0) is None


def test_clock_anchors_on_latest_spoken_time() -> None:
    s = Session()
    tourniquet(s, "1432")
    s.add("medication", 500.0 + at("1432"), name="TXA", time="1440")  # said at 1440:20
    clock = s.clock()
    assert clock.anchor_min == 14 * 60 + 40 and clock.anchor_s == at("1432") + 500
    assert clock.to_session_s("1440") == at("1432") + 500
    assert clock.to_session_s("1432") == at("1432") + 20
    assert clock.to_clock(at("1432") + 500 + 3599) == "1539"
    assert clock.to_clock(at("1432") + 500 + 3600) == "1540"


def test_clock_time_of_injury_anchors_only_alone_and_retracted_times_never() -> None:
    s = Session()
    s.add("time_of_injury", "1500", time="1355")
    assert s.clock().anchor_min == 13 * 60 + 55
    tourniquet(s, "1410")
    assert s.clock().anchor_min == 14 * 60 + 10
    wrong = s.add("fluid", "1420", name="LR", time="1420")
    assert s.clock().anchor_min == 14 * 60 + 20
    s.add("retract", fact=wrong.id)
    assert s.clock().anchor_min == 14 * 60 + 10
    fix = s.add("fluid", "1425", name="LR", time="1425", replaces=wrong.id)
    assert s.clock().anchor_min == 14 * 60 + 25
    s.add("retract", fact=fix.id)  # a withdrawn correction replaces nothing
    assert s.clock().anchor_min == 14 * 60 + 10


def test_clock_wraps_at_midnight() -> None:
    before = SessionClock(anchor_min=23 * 60 + 50, anchor_s=1000.0)
    assert before.to_session_s("0010") == 1000.0 + 20 * 60
    assert before.to_session_s("2330") == 1000.0 - 20 * 60
    assert before.to_clock(1000.0 + 20 * 60) == "0010"
    after = SessionClock(anchor_min=5, anchor_s=600.0)
    assert after.to_session_s("2355") == 0.0
    assert after.to_clock(0.0) == "2355"
    assert after.to_clock(600.0 + 2 * 3600) == "0205"


def test_tourniquet_deadline_across_midnight() -> None:
    s = Session()
    s.add("tourniquet", 0.0, limb="L Arm", type="CAT", time="2330", category="Extremity")
    s.vitals(600.0, pulse=80)
    s.add("vitals_time", 900.0, time="2345")
    (prompt,) = [p for p in evaluate(s.record(), 1000.0, s.clock()) if p.rule == "M2"]
    assert prompt.deadline == "0130"
    assert prompt.deadline_s == 2 * 3600


def test_clock_rejects_half_anchor() -> None:
    with pytest.raises(ValueError):
        SessionClock(anchor_min=10)
    with pytest.raises(ValueError):
        SessionClock(anchor_min=24 * 60, anchor_s=0.0)


# --- purity and determinism ------------------------------------------------------------------


def _busy_session() -> Session:
    s = Session()
    s.add("mechanism", "1400", value="IED", word="IED")
    s.add("injury", site="right thigh", kind="amputation")
    s.add("injury", site="chest", kind="fragment")
    tourniquet(s, "1432", high_and_tight=True)
    s.add("time_of_injury", "1433", time="1355")
    s.vitals("1440", pulse=130, spo2=84, resp_rate=36, bp="88/54", avpu="V", pain=7)
    s.add("burn", tbsa=25)
    s.add("evac", category="Urgent")
    return s


def test_same_inputs_give_the_same_prompts() -> None:
    s = _busy_session()
    first = s.prompts("1500")
    again = evaluate(fold(copy.deepcopy(s.facts))["1"], at("1500"), s.clock())
    assert first == again
    order = [RULE_IDS.index(p.rule) for p in first]
    assert order == sorted(order) and len(first) > 5


def test_evaluate_does_not_change_the_record() -> None:
    s = _busy_session()
    record = s.record()
    before = copy.deepcopy(record)
    evaluate(record, at("1500"), s.clock())
    assert record == before


def test_prompts_carry_the_evidence_of_their_triggers() -> None:
    s = Session()
    tq = tourniquet(s)
    (m2,) = s.fired("M2", "1440")
    assert m2.triggers == (tq.evidence,)
    assert m2.casualty == "1" and m2.title == bundled_rules().rule("M2").title


def test_prompts_are_per_casualty() -> None:
    s = Session()
    tourniquet(s)
    s.add("injury", "1433", casualty="2", site="left arm", kind="laceration")
    records = fold(s.facts)
    assert any(p.rule == "M2" for p in evaluate(records["1"], at("1440"), s.clock()))
    second = evaluate(records["2"], at("1440"), s.clock())
    assert not any(p.rule == "M2" for p in second)
    assert all(p.casualty == "2" for p in second)


def test_odd_values_do_not_break_evaluation() -> None:
    s = Session()
    s.add("injury", site=None, kind=None)
    s.add("injury", site="head", kind="TBI")
    s.add("tourniquet", limb=None, type=None, time="later", high_and_tight="yes")
    s.vitals("1410", avpu="?", gcs="n/a", pulse="fast", bp="unobtainable", pain="lots")
    s.vitals("1420", avpu="P", gcs=7, pupils=None)
    s.add("burn", tbsa="a lot")
    s.add("evac", category="Urgent")
    s.add("identity", field="weight_kg", value="heavy")
    prompts = s.prompts("1430")
    assert {"M1", "M2", "H2", "B1", "E1"} <= {p.rule for p in prompts}
    assert all(p.severity in ("info", "warning", "urgent") for p in prompts)


def test_scene_facts_apply_to_each_casualty() -> None:
    s = Session()  # the analyzer files incident-wide facts under the "*" label
    s.add("mechanism", "1400", casualty="*", value="IED", word="IED")
    s.add("time_of_injury", "1401", casualty="*", time="1350")
    s.add("finding", "1402", value="absent breath sounds", side="left")
    s.add("finding", "1403", value="massive bleeding")
    s.add("vitals_time", "1404", time="1404")
    records = fold(s.facts)
    alone = evaluate(records["1"], at("1405"), s.clock())
    assert not any(p.rule == "R1" for p in alone)
    prompts = evaluate(records["1"], at("1405"), s.clock(), scene=records["*"])
    assert any(p.rule == "R1" and "Blast trauma" in p.text for p in prompts)
    (txa,) = [p for p in prompts if p.rule == "C2"]
    assert txa.deadline == "1650" and "not recorded" not in txa.text
    assert all(p.casualty == "1" for p in prompts)


# --- M: massive hemorrhage -------------------------------------------------------------------


def test_m1_high_and_tight_tourniquet() -> None:
    s = Session()
    tourniquet(s, high_and_tight=True)
    (prompt,) = s.fired("M1")
    assert "R Leg" in prompt.text and "2-3 in above the wound" in prompt.text
    assert prompt.severity == "warning"


def test_m1_not_for_deliberate_converted_or_replaced_tourniquets() -> None:
    s = Session()
    tourniquet(s)
    assert not s.fired("M1")
    s = Session()
    tourniquet(s, high_and_tight=True)
    s.add("tourniquet_change", "1450", action="converted", limb="R Leg", time="1450")
    assert not s.fired("M1")
    s = Session()
    tourniquet(s, high_and_tight=True)
    tourniquet(s, "1445", high_and_tight=False)
    assert not s.fired("M1")


def test_m2_deadline_and_rising_severity() -> None:
    s = Session()
    tourniquet(s, "1432")
    (early,) = s.fired("M2", "1440")
    assert early.deadline == "1632" and early.deadline_s == at("1632")
    assert "conversion before 1632" in early.text
    assert early.severity == "info"
    assert s.fired("M2", "1601")[0].severity == "info"
    assert s.fired("M2", "1602")[0].severity == "warning"  # 30 min before the deadline


def test_m2_after_two_and_six_hours() -> None:
    s = Session()
    tourniquet(s, "1432")
    (late,) = s.fired("M2", "1700")
    assert late.deadline == "2032" and "never convert after 2032" in late.text
    assert late.severity == "warning"
    assert s.fired("M2", "2010")[0].severity == "urgent"
    (never,) = s.fired("M2", "2040")
    assert never.deadline is None and never.deadline_s is None
    assert "never convert" in never.text and "before" not in never.text


def test_m2_not_after_conversion_or_retraction() -> None:
    s = Session()
    tourniquet(s)
    s.add("tourniquet_change", "1500", action="converted", limb="R Leg", time="1500")
    assert not s.fired("M2", "1510")
    s = Session()
    tq = tourniquet(s)
    s.add("retract", fact=tq.id)
    assert not s.fired("M2", "1510")


def test_m2_holds_the_tourniquet_for_amputation_or_shock() -> None:
    s = Session()
    tourniquet(s)
    s.add("injury", site="right leg", kind="amputation")
    (prompt,) = s.fired("M2", "1440")
    assert prompt.deadline is None and "do not convert, amputation" in prompt.text
    s = Session()
    tourniquet(s)
    s.add("injury", site="left leg", kind="amputation")  # another limb: still convertible
    assert s.fired("M2", "1440")[0].deadline == "1632"


def test_m2_without_spoken_time_counts_from_when_it_was_said() -> None:
    s = Session()
    s.add("tourniquet", 100.0, limb="L Arm", type="CAT", category="Extremity")
    (prompt,) = s.fired("M2", 200.0)
    assert prompt.deadline is None and prompt.deadline_s == 100.0 + 7200
    assert "time not stated" in prompt.text and "session 2:01" in prompt.text


def test_m3_junctional_wound() -> None:
    s = Session()
    s.add("injury", site="left groin", kind="GSW")
    (prompt,) = s.fired("M3")
    assert "GSW left groin" in prompt.text and "3 min" in prompt.text


def test_m3_not_with_hemostatic_dressing_junctional_device_or_limb_wound() -> None:
    s = Session()
    s.add("injury", site="left groin", kind="GSW")
    s.add("dressing", value="Hemostatic", product="Combat Gauze")
    assert not s.fired("M3")
    s = Session()
    s.add("injury", site="left groin", kind="GSW")
    s.add("tourniquet", limb="L Leg", type="SAM-JT", category="Junctional")
    assert not s.fired("M3")
    s = Session()
    s.add("injury", site="left thigh", kind="GSW")
    assert not s.fired("M3")


# --- R: respiration --------------------------------------------------------------------------


def test_r1_torso_trauma_with_low_spo2() -> None:
    s = Session()
    s.add("injury", "1400", site="chest", kind="GSW")
    sp = s.vitals("1410", spo2=84)[-1]
    (prompt,) = s.fired("R1")
    assert "SpO2 84" in prompt.text and "needle decompression" in prompt.text
    assert sp.evidence in prompt.triggers
    assert prompt.severity == "urgent"


def test_r1_blast_with_absent_breath_sounds() -> None:
    s = Session()
    s.add("mechanism", value="IED", word="IED")
    s.add("finding", value="absent breath sounds", side="left")
    (prompt,) = s.fired("R1")
    assert "absent breath sounds (left)" in prompt.text


def test_r1_respiratory_distress_and_shock() -> None:
    s = Session()
    s.add("injury", site="abdomen", kind="GSW")
    s.vitals("1410", resp_rate=36)
    assert "respiratory rate 36" in s.fired("R1")[0].text
    s = Session()
    s.add("injury", site="abdomen", kind="GSW")
    s.add("vital", sign="pulse_quality", value="absent", location="radial")
    assert "shock" in s.fired("R1")[0].text


def test_r1_not_after_needle_d_nor_without_torso_trauma_or_signs() -> None:
    s = Session()
    s.add("injury", "1400", site="chest", kind="GSW")
    s.vitals("1410", spo2=84)
    s.add("breathing", value="Needle-D", side="right")
    assert not s.fired("R1")
    s = Session()
    s.add("injury", "1400", site="right thigh", kind="GSW")
    s.vitals("1410", spo2=84)
    assert not s.fired("R1")
    s = Session()
    s.add("injury", "1400", site="chest", kind="GSW")
    s.vitals("1410", spo2=97, resp_rate=18, pulse=88)
    assert not s.fired("R1")
    s = Session()
    s.add("mechanism", value="IED", word="IED")
    s.add("finding", value="equal breath sounds")
    assert not s.fired("R1")


def test_r2_open_chest_wound() -> None:
    s = Session()
    s.add("injury", site="left chest", kind="GSW")
    (prompt,) = s.fired("R2")
    assert "vented chest seal" in prompt.text
    s = Session()
    s.add("finding", value="sucking chest wound", side="right")
    assert s.fired("R2")


def test_r2_not_with_chest_seal_or_without_chest_wound() -> None:
    s = Session()
    s.add("injury", site="left chest", kind="GSW")
    s.add("breathing", value="Chest-Seal", vented=True)
    assert not s.fired("R2")
    s = Session()
    s.add("injury", site="left chest", kind="contusion")
    s.add("injury", site="right forearm", kind="GSW")
    assert not s.fired("R2")


# --- C: circulation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vital", "label"),
    [
        ({"sign": "pulse_quality", "value": "weak", "location": "radial"}, "weak radial pulse"),
        ({"sign": "pulse_location", "value": "absent radial"}, "absent radial pulse"),
        ({"sign": "pulse_location", "value": "no radial pulse"}, "absent radial pulse"),
        ({"sign": "avpu", "value": "V"}, "AVPU V"),
        ({"sign": "bp", "value": "88/54"}, "systolic 88"),
        ({"sign": "pulse", "value": 130, "location": "radial"}, "pulse 130"),
        ({"sign": "pulse", "value": 100, "location": "radial", "quality": "thready"}, "weak"),
    ],
)
def test_c1_shock_signs(vital: dict[str, Scalar], label: str) -> None:
    s = Session()
    s.add("injury", site="left thigh", kind="GSW")
    s.add_data("vital", None, vital)
    (prompt,) = s.fired("C1")
    assert label in prompt.text and prompt.severity == "urgent"
    assert s.facts[-1].evidence in prompt.triggers


def test_c1_not_without_shock_signs() -> None:
    s = Session()
    s.vitals("1410", pulse=88, bp="122/80", avpu="A", spo2=98)
    s.add("vital", sign="pulse_quality", value="strong", location="radial")
    assert not s.fired("C1")
    s = Session()  # altered mental status from a head injury is not shock
    s.add("injury", site="head", kind="GSW")
    s.vitals("1410", avpu="V")
    assert not s.fired("C1")
    s = Session()  # a weak carotid pulse says nothing about the radial one
    s.add("vital", sign="pulse_quality", value="weak", location="carotid")
    assert not s.fired("C1")
    s = Session()  # the latest reading counts
    s.add("vital", sign="pulse_quality", value="weak", location="radial")
    s.add("vital", sign="pulse_quality", value="strong", location="radial")
    assert not s.fired("C1")


def test_c2_txa_deadline_from_time_of_injury() -> None:
    s = Session()
    tq = tourniquet(s, "1432")
    toi = s.add("time_of_injury", "1433", time="1355")
    (prompt,) = s.fired("C2", "1440")
    assert prompt.deadline == "1655" and prompt.deadline_s == at("1655")
    assert "TXA 2 g" in prompt.text and "give by 1655" in prompt.text
    assert "(1355)" in prompt.text and "not recorded" not in prompt.text
    assert "tourniquet R Leg" in prompt.text
    assert tq.evidence in prompt.triggers and toi.evidence not in prompt.triggers
    assert prompt.severity == "warning"
    assert s.fired("C2", "1625")[0].severity == "urgent"
    assert s.fired("C2", "1655")
    assert not s.fired("C2", "1656")  # stop prompting after the 3 h mark


def test_c2_without_time_of_injury_uses_earliest_event() -> None:
    s = Session()
    s.add("injury", "1405", site="abdomen", kind="GSW")
    tourniquet(s, "1432", limb="L Arm")
    (prompt,) = s.fired("C2", "1440")
    assert prompt.deadline == "1705"  # first mentioned at 1405 (before the 1432 tourniquet)
    assert "not recorded" in prompt.text and "earliest" in prompt.text


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("injury", {"site": "left leg", "kind": "amputation"}),
        ("injury", {"site": "abdomen", "kind": "GSW"}),
        ("injury", {"site": "head", "kind": "TBI"}),
        ("finding", {"value": "massive bleeding"}),
        ("dressing", {"value": "Hemostatic", "product": "Combat Gauze"}),
        ("vital", {"sign": "bp", "value": "80/40"}),
    ],
)
def test_c2_triggers(kind: str, data: dict[str, Scalar]) -> None:
    s = Session()
    fact = s.add_data(kind, "1400", data)
    s.add("vitals_time", "1401", time="1401")
    (prompt,) = s.fired("C2", "1410")
    assert fact.evidence in prompt.triggers


def test_c2_not_after_txa_or_without_triggers() -> None:
    s = Session()
    tourniquet(s)
    s.add("medication", "1440", category="Other", name="TXA", dose="2 g", route="IV", time="1440")
    assert not s.fired("C2", "1445")
    s = Session()
    s.add("injury", "1400", site="left forearm", kind="laceration")
    s.vitals("1410", pulse=90, bp="120/80")
    assert not s.fired("C2", "1415")
    s = Session()  # a closed head injury is not a significant one
    s.add("injury", "1400", site="head", kind="contusion")
    assert not s.fired("C2", "1415")


def test_c3_shock_without_blood() -> None:
    s = Session()
    s.vitals("1410", bp="80/50")
    (prompt,) = s.fired("C3")
    assert "whole blood" in prompt.text and "systolic 80" in prompt.text
    s.add("fluid", "1420", name="LR", volume_ml=500, route="IV", time="1420")
    assert s.fired("C3")  # crystalloid alone does not answer it


def test_c3_not_after_blood_or_without_shock() -> None:
    s = Session()
    s.vitals("1410", bp="80/50")
    s.add("fluid", "1420", name="Whole Blood", volume_ml=None, route="IO", time="1420")
    assert not s.fired("C3")
    s = Session()
    s.vitals("1410", bp="120/80", pulse=90)
    assert not s.fired("C3")


def test_c4_calcium_after_first_blood() -> None:
    s = Session()
    blood = s.add("fluid", "1420", name="Whole Blood", route="IO", time="1420")
    (prompt,) = s.fired("C4")
    assert "calcium 1 g" in prompt.text and "Whole Blood" in prompt.text
    assert prompt.triggers == (blood.evidence,)


def test_c4_not_with_calcium_or_crystalloid_only() -> None:
    s = Session()
    s.add("fluid", "1420", name="Whole Blood", route="IO", time="1420")
    s.add("medication", "1425", category="Other", name="calcium chloride", dose="1 g")
    assert not s.fired("C4")
    s = Session()
    s.add("fluid", "1420", name="Plasma-Lyte", route="IV", time="1420")
    assert not s.fired("C4")


# --- H: hypothermia and head injury ----------------------------------------------------------


def test_h1_trauma_without_hypothermia_prevention() -> None:
    s = Session()
    s.add("mechanism", value="GSW", word="gunshot")
    (prompt,) = s.fired("H1")
    assert "HPMK" in prompt.text and prompt.severity == "info"


def test_h1_not_with_hypothermia_prevention_or_without_trauma() -> None:
    s = Session()
    s.add("mechanism", value="GSW", word="gunshot")
    s.add("treatment", value="Hypothermia-Prevention")
    assert not s.fired("H1")
    s = Session()
    s.vitals("1410", pulse=80)
    assert not s.fired("H1")


def test_h2_head_injury_targets_and_herniation() -> None:
    s = Session()
    s.add("injury", "1400", site="left temple", kind="fragment")
    (plain,) = s.fired("H2")
    assert plain.severity == "info" and "100-110" in plain.text
    s.vitals("1410", spo2=86, bp="96/60")
    (below,) = s.fired("H2")
    assert below.severity == "warning" and "SpO2 86, systolic 96" in below.text
    s.add("vital", sign="pupils", value="unequal")
    (herniation,) = s.fired("H2")
    assert herniation.severity == "urgent"
    assert "hypertonic saline" in herniation.text and "30 degrees" in herniation.text


def test_h2_falling_consciousness() -> None:
    s = Session()
    s.add("injury", "1400", site="head", kind="TBI")
    s.vitals("1405", avpu="A", gcs=15)
    s.vitals("1415", avpu="P", gcs=9)
    (prompt,) = s.fired("H2")
    assert "falling AVPU" in prompt.text and "GCS down to 9" in prompt.text


def test_h2_not_without_head_injury() -> None:
    s = Session()
    s.add("injury", site="face", kind="burn")
    s.add("injury", site="left arm", kind="GSW")
    assert not s.fired("H2")


# --- P: pain ---------------------------------------------------------------------------------


def test_p1_and_p2_mild_pain_alert_casualty() -> None:
    s = Session()
    s.add("injury", site="left forearm", kind="laceration")
    s.vitals("1410", pain=4, avpu="A", resp_rate=16)
    (p1,) = s.fired("P1")
    assert "meloxicam 15 mg" in p1.text and "2 x 500 mg" in p1.text
    (p2,) = s.fired("P2")
    assert "OTFC 800 mcg" in p2.text and "15 min" in p2.text


def test_p1_not_without_alert_avpu_or_after_pill_pack() -> None:
    s = Session()
    s.vitals("1410", pain=4)
    assert not s.fired("P1") and s.fired("P2")
    s = Session()
    s.vitals("1410", pain=4, avpu="A")
    s.add("treatment", value="Combat-Pill-Pack")
    assert not s.fired("P1")


def test_p2_not_at_risk_of_shock_or_severe_pain_or_after_otfc() -> None:
    s = Session()
    tourniquet(s)
    s.vitals("1440", pain=4, avpu="A")
    assert not s.fired("P2") and s.fired("P1")
    s = Session()
    s.vitals("1410", pain=9, avpu="A")
    assert not s.fired("P2")
    s = Session()
    s.vitals("1410", pain=5, avpu="A")
    s.add("medication", category="Analgesic", name="OTFC", dose="800 mcg")
    assert not s.fired("P2")


def test_p3_ketamine_with_shock_risk() -> None:
    s = Session()
    tourniquet(s)
    s.vitals("1440", pain=8, avpu="A")
    (prompt,) = s.fired("P3")
    assert "ketamine 20-30 mg" in prompt.text and "tourniquet R Leg" in prompt.text


def test_p3_not_without_risk_or_after_ketamine_or_mild_pain() -> None:
    s = Session()
    s.vitals("1410", pain=8, avpu="A")
    assert not s.fired("P3")
    s = Session()
    tourniquet(s)
    s.vitals("1440", pain=8, avpu="A")
    s.add("medication", category="Analgesic", name="ketamine", dose="20 mg", route="IV")
    assert not s.fired("P3")
    s = Session()
    tourniquet(s)
    s.vitals("1440", pain=2, avpu="A")
    assert not s.fired("P3")


def test_p4_avpu_before_opioid() -> None:
    s = Session()
    tourniquet(s)
    s.vitals("1440", pain=8)
    (prompt,) = s.fired("P4")
    assert "record AVPU" in prompt.text and "ketamine suggested" in prompt.text
    s = Session()
    s.add("medication", "1440", category="Analgesic", name="fentanyl", dose="800 mcg")
    assert "fentanyl recorded" in s.fired("P4")[0].text


def test_p4_not_with_avpu_or_without_opioid() -> None:
    s = Session()
    tourniquet(s)
    s.vitals("1440", pain=8, avpu="A")
    assert not s.fired("P4")
    s = Session()
    s.add("injury", site="left forearm", kind="laceration")
    assert not s.fired("P4")


# --- A: antibiotics --------------------------------------------------------------------------


def test_a1_open_wound_without_antibiotic() -> None:
    s = Session()
    injury = s.add("injury", site="right thigh", kind="GSW")
    (prompt,) = s.fired("A1")
    assert "moxifloxacin 400 mg" in prompt.text and "ertapenem 1 g" in prompt.text
    assert prompt.triggers == (injury.evidence,)
    s = Session()  # no kind said, after a penetrating mechanism
    s.add("mechanism", value="Grenade", word="grenade")
    s.add("injury", site="left calf")
    assert s.fired("A1")


def test_a1_not_after_antibiotic_nor_for_burns_or_closed_injuries() -> None:
    s = Session()
    s.add("injury", site="right thigh", kind="GSW")
    s.add("medication", category="Antibiotic", name="moxifloxacin", dose="400 mg", route="PO")
    assert not s.fired("A1")
    s = Session()
    s.add("injury", site="left arm", kind="burn")
    s.add("injury", site="right knee", kind="contusion")
    assert not s.fired("A1")


def test_a2_penetrating_eye_injury() -> None:
    s = Session()
    s.add("injury", site="left eye", kind="fragment")
    (prompt,) = s.fired("A2")
    assert "rigid eye shield" in prompt.text and "eye shield, antibiotic" in prompt.text
    s.add("treatment", value="Eye-Shield-L")
    assert "Still missing: antibiotic." in s.fired("A2")[0].text


def test_a2_not_when_treated_or_without_eye_injury() -> None:
    s = Session()
    s.add("injury", site="left eye", kind="fragment")
    s.add("treatment", value="Eye-Shield-L")
    s.add("medication", category="Antibiotic", name="moxifloxacin", dose="400 mg")
    assert not s.fired("A2")
    s = Session()
    s.add("injury", site="left eye", kind="contusion")
    assert not s.fired("A2")


# --- B: burns --------------------------------------------------------------------------------


def test_b1_fluid_rate_with_weight() -> None:
    s = Session()
    s.add("burn", tbsa=30)
    s.add("identity", field="weight_kg", value=95)
    (prompt,) = s.fired("B1")
    assert "400 mL/h" in prompt.text and "30 x 10 mL/h + 100 mL/h for 95 kg" in prompt.text
    assert prompt.severity == "warning"


def test_b1_fluid_rate_without_weight_and_light_casualty() -> None:
    s = Session()
    s.add("burn", tbsa=30)
    (prompt,) = s.fired("B1")
    assert "300 mL/h" in prompt.text and "weight not recorded" in prompt.text
    s.add("identity", field="weight_kg", value=70)
    assert "for 70 kg" in s.fired("B1")[0].text


def test_b1_small_burn_and_rule_of_nines() -> None:
    s = Session()
    s.add("burn", tbsa=15)
    (small,) = s.fired("B1")
    assert "15 % TBSA" in small.text and "mL/h" not in small.text and small.severity == "info"
    s = Session()
    s.add("mechanism", value="Burn", word="burn")
    (unknown,) = s.fired("B1")
    assert "head 9, each arm 9, each leg 18, front trunk 18" in unknown.text


def test_b1_estimates_tbsa_from_burned_regions() -> None:
    s = Session()
    s.add("injury", site="both legs", kind="burn")
    s.add("injury", site="chest", kind="burn")
    s.add("injury", site="face", kind="burn")
    (prompt,) = s.fired("B1")
    assert "63 % TBSA (estimated" in prompt.text  # 2 x 18 + 18 + 9
    assert "inhalation injury" in prompt.text


def test_b1_not_without_burns() -> None:
    s = Session()
    s.add("injury", site="right thigh", kind="GSW")
    assert not s.fired("B1")


# --- E: evacuation ---------------------------------------------------------------------------


def test_e1_evacuation_window() -> None:
    s = Session()
    s.add("vitals_time", "1410", time="1410")
    evac = s.add("evac", "1420", category="Urgent")
    (prompt,) = s.fired("E1", "1425")
    assert prompt.deadline == "1520" and "within 1 h" in prompt.text
    assert prompt.severity == "info" and prompt.triggers == (evac.evidence,)
    assert s.fired("E1", "1455")[0].severity == "warning"
    (overdue,) = s.fired("E1", "1521")
    assert overdue.severity == "urgent" and "overdue" in overdue.text


def test_e1_priority_and_routine_windows() -> None:
    s = Session()
    s.add("vitals_time", "1410", time="1410")
    s.add("evac", "1410", category="Priority")
    assert s.fired("E1", "1415")[0].deadline == "1810"
    s.add("evac", "1420", category="Routine")
    assert s.fired("E1", "1425")[0].deadline_s == at("1420") + 24 * 3600


def test_e1_not_without_known_category() -> None:
    s = Session()
    s.add("injury", site="right thigh", kind="GSW")
    assert not s.fired("E1")
    s.add("evac", category="Convenience")
    assert not s.fired("E1")


# --- every rule fires and does not fire -------------------------------------------------------


Build = Callable[[Session], object]


def _shock(s: Session, blood: str | None = None) -> None:
    s.add("injury", "1400", site="left thigh", kind="laceration")
    s.vitals("1410", bp="80/40")
    if blood is not None:
        s.add("fluid", name=blood, route="IV")


CASES: dict[str, tuple[Build, Build]] = {
    "M1": (lambda s: tourniquet(s, high_and_tight=True), lambda s: tourniquet(s)),
    "M2": (
        lambda s: tourniquet(s),
        lambda s: (tourniquet(s), s.add("tourniquet_change", action="removed", time="1440")),
    ),
    "M3": (
        lambda s: s.add("injury", site="right axilla", kind="frag"),
        lambda s: s.add("injury", site="right axilla", kind="contusion"),
    ),
    "R1": (
        lambda s: (s.add("injury", site="chest", kind="GSW"), s.vitals(resp_rate=40)),
        lambda s: (s.add("injury", site="chest", kind="GSW"), s.vitals(resp_rate=20)),
    ),
    "R2": (
        lambda s: s.add("injury", site="chest", kind="sucking chest wound"),
        lambda s: s.add("injury", site="chest", kind="contusion"),
    ),
    "C1": (_shock, lambda s: s.vitals(bp="118/70")),
    "C2": (_shock, lambda s: s.add("injury", "1400", site="left thigh", kind="laceration")),
    "C3": (_shock, lambda s: _shock(s, blood="FWB")),
    "C4": (
        lambda s: s.add("fluid", name="plasma", route="IV"),
        lambda s: s.add("fluid", name="LR", route="IV"),
    ),
    "H1": (
        lambda s: s.add("injury", site="left arm", kind="laceration"),
        lambda s: s.vitals(pulse=80),
    ),
    "H2": (
        lambda s: s.add("injury", site="skull", kind="fracture"),
        lambda s: s.add("injury", site="left arm", kind="fracture"),
    ),
    "P1": (lambda s: s.vitals(pain=3, avpu="A"), lambda s: s.vitals(pain=3, avpu="A", bp="80/50")),
    "P2": (lambda s: s.vitals(pain=3), lambda s: s.vitals(pain=3, resp_rate=34)),
    "P3": (lambda s: s.vitals(pain=9, resp_rate=34), lambda s: s.vitals(pain=9, resp_rate=16)),
    "P4": (lambda s: s.vitals(pain=3), lambda s: s.vitals(pain=3, avpu="A")),
    "A1": (
        lambda s: s.add("injury", site="buttock", kind="stab wound"),
        lambda s: s.add("injury", site="buttock", kind="bruise"),
    ),
    "A2": (
        lambda s: s.add("injury", site="right eye"),
        lambda s: s.add("injury", site="right cheek", kind="laceration"),
    ),
    "B1": (lambda s: s.add("burn", tbsa=40), lambda s: s.add("injury", site="leg", kind="GSW")),
    "E1": (
        lambda s: s.add("evac", category="Urgent-Surgical"),
        lambda s: s.add("identity", field="last_name", value="Doe"),
    ),
}


def test_every_rule_has_cases() -> None:
    assert set(CASES) == set(RULE_IDS)


@pytest.mark.parametrize("rule", RULE_IDS)
def test_rule_fires_on_its_trigger(rule: str) -> None:
    s = Session()
    CASES[rule][0](s)
    assert s.fired(rule, s.now + 60), [p.rule for p in s.prompts(s.now + 60)]


@pytest.mark.parametrize("rule", RULE_IDS)
def test_rule_does_not_fire_without_its_trigger(rule: str) -> None:
    s = Session()
    CASES[rule][1](s)
    assert not s.fired(rule, s.now + 60)


def test_disabled_rule_does_not_fire(tmp_path: Path) -> None:
    path = _modified(tmp_path, '[rules.H1]\nid = "H1"', '[rules.H1]\nid = "H1"\nenabled = false')
    s = Session()
    s.add("injury", site="left arm", kind="laceration")
    assert s.fired("H1") and not s.fired("H1", rules=load_rules(path))
