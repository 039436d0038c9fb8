"""General patterns of medic speech the analyzer follows across sentences and clauses: answers
to the medic's questions, a time said on its own, corrections of a category, doses said apart
from or without their unit, a route said once for several drugs, burns as a mechanism, times of
injury said beside the mechanism, units that act. Phrasings of their own, through the session
analyzer and the export."""

from __future__ import annotations

import pytest
from test_analyzer import export, facts_of, session

from tccc.analysis.analyzer import SessionAnalyzer
from tccc.analysis.record import fold
from tccc.reports.export import export_document


def export_all(a: SessionAnalyzer) -> list[dict[str, object]]:
    """The exported casualties of an analyzer's facts."""
    casualties: list[dict[str, object]] = export_document(fold(a.facts))["casualties"]
    return casualties


def test_a_burn_ticks_the_burn_mechanism_too() -> None:
    (cas,) = export("Grenade went off in the truck.", "Burns to the left forearm and hand.")
    assert "Burn" in cas["mechanism"]


def test_a_time_said_alone_is_the_time_of_the_care_just_stated() -> None:
    a = session("Tourniquet on, right arm, high.", "Time is 0722.", "Pulse 100.")
    tqs = facts_of(a, "tourniquet")
    assert tqs[-1].data["time"] == "0722" and tqs[-1].replaces == tqs[0].id
    # Nothing to give it to: a care that already has its time keeps it.
    a = session("Chest seal on at 0940.", "Oh-nine-fifty.")
    assert [f.data.get("time") for f in facts_of(a, "breathing")] == ["0940"]


@pytest.mark.parametrize(
    ("care", "rest", "kind", "time"),
    [
        # A pause mid-sentence ends the utterance; its time opens the next one.
        ("Put a SOF-T on his right arm", "at 0935, he's quiet now.", "tourniquet", "0935"),
        ("Gave him one gram of TXA IV at", "1520, tolerating it.", "medication", "1520"),
        ("Hextend going in, five hundred mL", "at 2210, rate wide open.", "fluid", "2210"),
    ],
)
def test_a_time_that_opens_the_next_utterance_is_the_care_just_stated(
    care: str, rest: str, kind: str, time: str
) -> None:
    a = session(care, rest)
    cares = facts_of(a, kind)
    assert cares[-1].data["time"] == time and cares[-1].replaces == cares[0].id


def test_a_leading_time_is_not_given_to_care_stated_before_other_findings() -> None:
    # The care is not the last thing said: the time may be anything's, so nobody gets it.
    a = session("CAT on the left leg.", "Pulse is 120.", "At 1430, he's moving his arms.")
    assert [f.data["time"] for f in facts_of(a, "tourniquet")] == [None]
    # The sentence has care of its own: the time is that care's.
    a = session("Tourniquet, right arm.", "At 1440, gave morphine 5 mg IV.")
    assert [f.data["time"] for f in facts_of(a, "tourniquet")] == [None]
    assert [f.data["time"] for f in facts_of(a, "medication")] == ["1440"]


def test_i_mean_corrects_the_evac_category() -> None:
    (cas,) = export("Casualty one, GSW to the hand.", "He's routine, I mean priority.")
    assert cas["evac_category"] == "Priority"


@pytest.mark.parametrize(
    ("asked", "answer", "field", "value"),
    [
        ("What's your name, buddy?", "Okonjo.", "last_name", "Okonjo"),
        ("What is your last name?", "It's Petrakis.", "last_name", "Petrakis"),
        ("What are your last four?", "4471.", "last4", "4471"),
        ("Your last four?", "Zero nine one two.", "last4", "0912"),
    ],
)
def test_the_casualtys_answer_to_a_question(
    asked: str, answer: str, field: str, value: str
) -> None:
    (cas,) = export(asked, answer, "Pulse 90.")
    assert cas[field] == value


def test_no_answer_is_taken_from_what_is_not_one() -> None:
    (cas,) = export("What's your name?", "Okay, pulse ninety.")
    assert cas["last_name"] is None
    assert [v["pulse"] for v in cas["vitals"]] == [90]


def test_name_tape() -> None:
    (cas,) = export("GSW to the neck.", "Name tape says Ferrante.")
    assert cas["last_name"] == "Ferrante"


@pytest.mark.parametrize(
    ("said", "dose", "route"),
    [
        ("Ketamine, twenty-five milligrams IV.", "25 mg", "IV"),
        ("Gave him thirty of ketamine up the nose.", "30 mg", "IN"),
        ("Moxi four hundred PO.", "400 mg", "PO"),
        ("Fent fifty IV.", "50 mcg", "IV"),
        ("Ketamine twelve hundred.", None, None),  # no ketamine dose of 1200 without a unit
    ],
)
def test_doses_said_apart_or_without_a_unit(said: str, dose: str | None, route: str | None) -> None:
    (cas,) = export(said)
    (med,) = cas["medications"]
    assert (med["dose"], med["route"]) == (dose, route)


def test_a_route_and_time_said_once_for_several_drugs() -> None:
    (cas,) = export("Tylenol 1000 mg and meloxicam 15 mg, both PO at 1130.")
    assert [(m["name"], m["route"], m["time"]) for m in cas["medications"]] == [
        ("Acetaminophen", "PO", "1130"),
        ("Meloxicam", "PO", "1130"),
    ]


def test_a_drug_he_is_allergic_to_is_not_given() -> None:
    (cas,) = export("He's allergic to cefazolin.", "Ertapenem 1 g IV at 0815.")
    assert cas["allergies"] == "cefazolin"
    assert [m["name"] for m in cas["medications"]] == ["Ertapenem"]


@pytest.mark.parametrize(
    ("said", "pulse"),
    [
        ("Carotid 150, no radial.", 150),
        ("Radial pulse is good, about 96.", 96),
        ("Brachial's 84.", 84),
    ],
)
def test_a_pulse_said_by_where_it_was_felt(said: str, pulse: int) -> None:
    (cas,) = export(said)
    assert [v["pulse"] for v in cas["vitals"]] == [pulse]


def test_a_fluid_volume_after_a_pause() -> None:
    (cas,) = export("Fresh whole blood, 450 mL, IO at 2210.")
    assert [(f["name"], f["volume_ml"]) for f in cas["fluids"]] == [("Whole Blood", 450)]


@pytest.mark.parametrize(
    ("said", "unit"),
    [
        ("Specialist Dorn, Viper Troop.", "Viper Troop"),
        ("Sergeant Ames. Third squad is moving up the wadi.", None),
        ("Sergeant Ames. First platoon, push left!", None),
    ],
)
def test_units_named_or_acting(said: str, unit: str | None) -> None:
    (cas,) = export(said)
    assert cas["unit"] == unit


@pytest.mark.parametrize(
    ("said", "time"),
    [
        ("He took a round to the gut, this was about 2015.", "2015"),
        ("Mortar rounds hit at 0618, that's the time of injury.", "0618"),
        ("She was shot, and around 1105.", "1105"),
    ],
)
def test_time_of_injury_said_beside_the_mechanism(said: str, time: str) -> None:
    (cas,) = export(said)
    assert cas["time_of_injury"] == time


@pytest.mark.parametrize(
    ("said", "mechanism"),
    [
        ("Caught a round in the left thigh.", "GSW"),
        ("The MRAP rolled into a canal.", "MVC"),
        ("He was thrown out of the vehicle.", "MVC"),
        ("Mechanism blunt, hit by a falling beam.", "Blunt"),
    ],
)
def test_mechanisms_said_in_other_words(said: str, mechanism: str) -> None:
    (cas,) = export(said)
    assert mechanism in cas["mechanism"]


@pytest.mark.parametrize(
    ("said", "limbs"),
    [
        ("CAT, left arm, 0915.", [("L Arm", "0915")]),
        ("Got CATs on both legs at 1120.", [("L Leg", "1120"), ("R Leg", "1120")]),
        ("AAJT around the pelvis in the truncal position at 2231.", [("Truncal", "2231")]),
    ],
)
def test_tourniquet_limbs_said_other_ways(said: str, limbs: list[tuple[str, str]]) -> None:
    (cas,) = export(said)
    assert [(t["limb"], t["time"]) for t in cas["tourniquets"]] == limbs


@pytest.mark.parametrize(
    ("said", "site"),
    [
        ("The left calf has a big ragged frag wound.", "left calf"),
        ("The left shin is split wide open.", "left lower leg"),
        ("Left leg is gone below the knee.", "left leg below the knee"),
        ("Frag, right shoulder.", "right shoulder"),
        ("Road rash down the left forearm.", "left forearm"),
    ],
)
def test_wound_sites_said_before_or_listed_after(said: str, site: str) -> None:
    (cas,) = export(said)
    assert [i["site"] for i in cas["injuries"]] == [site]


@pytest.mark.parametrize(
    ("said", "mechanism"),
    [
        ("His hand got crushed in the ramp hinge.", "Other"),
        ("A local came at him with a machete.", "Other"),
    ],
)
def test_crush_and_blades_are_other(said: str, mechanism: str) -> None:
    (cas,) = export(said)
    assert cas["mechanism"] == [mechanism]


@pytest.mark.parametrize(
    ("said", "avpu"),
    [("He only reacts to pain.", "P"), ("Opens his eyes to voice.", "V")],
)
def test_avpu_said_as_reactions(said: str, avpu: str) -> None:
    (cas,) = export(said)
    assert [v["avpu"] for v in cas["vitals"]] == [avpu]


@pytest.mark.parametrize(
    ("said", "category"),
    [("Precedence Charlie.", "Priority"), ("She's line three Alpha.", "Urgent")],
)
def test_nine_line_precedence_for_one_patient(said: str, category: str) -> None:
    (cas,) = export("GSW to the arm.", said)
    assert cas["evac_category"] == category


def test_a_determiner_before_team_names_no_unit() -> None:
    (cas,) = export("Sergeant Ruiz, GSW to the thigh. His team leader put a CAT on.")
    assert cas["unit"] is None


def test_a_time_said_around_is_a_time() -> None:
    (cas,) = export("Around 1340 a detainee cut her with a knife, left forearm.")
    assert cas["time_of_injury"] == "1340"


def test_a_fire_at_a_scene_of_several_burns_only_the_burned() -> None:
    a = session(
        "RPG hit the truck and it caught fire, two casualties.",
        "Casualty one, frag to the right arm.",
        "Casualty two, burns to both hands.",
    )
    cases = {c["label"]: c["mechanism"] for c in export_all(a)}
    assert cases == {"1": ["RPG"], "2": ["RPG", "Burn"]}


def test_a_drug_then_its_form_is_one_drug() -> None:
    (cas,) = export("Giving him fentanyl, the lollipop, 800 mics at 1106.")
    assert [(m["name"], m["dose"]) for m in cas["medications"]] == [("OTFC", "800 mcg")]


def test_a_reaction_to_a_drug_is_an_allergy_not_a_dose() -> None:
    (cas,) = export("He had a reaction to Keflex as a kid, a rash.")
    assert cas["allergies"] == "keflex" and cas["medications"] == []


@pytest.mark.parametrize(
    ("said", "unit"),
    [
        ("PFC Lowe, Heavy Weapons Platoon.", "Heavy Weapons Platoon"),
        ("Specialist Ng, Service and Recovery Section.", "Service and Recovery Section"),
    ],
)
def test_unit_names_of_several_words(said: str, unit: str) -> None:
    (cas,) = export(said)
    assert cas["unit"] == unit


def test_kerlix_over_a_dressing_or_counted_is_no_dressing() -> None:
    (cas,) = export("Pressure dressing on the calf, Kerlix over it. Two rolls of Kerlix left.")
    assert cas["hemorrhage_dressings"] == ["Pressure"]


@pytest.mark.parametrize(
    ("said", "field", "value"),
    [
        ("Allergies: sulfa.", "allergies", "sulfa"),
        ("Known allergy: shellfish.", "allergies", "shellfish"),
        ("Unit: Bravo Battery.", "unit", "Bravo Battery"),
    ],
)
def test_a_card_field_label_and_its_value_are_one_sentence(
    said: str, field: str, value: str
) -> None:
    (cas,) = export(said)
    assert cas[field] == value


@pytest.mark.parametrize(
    ("said", "site"),
    [
        ("Frag, right quad.", "right thigh"),
        ("Frag to the left butt cheek.", "left buttock"),
        ("Frag, right temple.", "right head"),
        ("Traumatic amputation, left lower leg.", "left lower leg"),
        ("Open fracture left forearm, splinted.", "left forearm"),
        ("Big hematoma on the back of his head.", "back of his head"),
    ],
)
def test_regions_in_other_words_and_sites_after_a_pause(said: str, site: str) -> None:
    (cas,) = export(said)
    assert [i["site"] for i in cas["injuries"]] == [site]


@pytest.mark.parametrize(
    ("said", "sign", "values"),
    [
        ("Heart rate 118, 104 over 61, sats 95.", "bp", ["104/61"]),
        ("Pain, he says ten.", "pain", [10]),
        ("What's the pain, zero to ten?", "pain", []),
        ("Pulse is, uh, eighty, eighty-six.", "pulse", [86]),
        ("Sats back up to ninety-two.", "spo2", [92]),
        ("He opens his eyes when you talk to him.", "avpu", ["V"]),
    ],
)
def test_vital_signs_said_loosely(said: str, sign: str, values: list[object]) -> None:
    cases = export(said)
    got = [v[sign] for cas in cases for v in cas["vitals"] if v[sign] is not None]
    assert got == values


@pytest.mark.parametrize(
    ("said", "kind", "value"),
    [
        ("A vented seal goes on it right now.", "breathing", "Chest-Seal"),
        ("Needle going in, left side, fifth intercostal.", "breathing", "Needle-D"),
    ],
)
def test_chest_care_said_loosely(said: str, kind: str, value: str) -> None:
    (cas,) = export(said)
    assert value in cas["breathing"]


def test_a_mechanism_word_naming_a_unit_is_no_mechanism() -> None:
    (cas,) = export("PFC Ruiz, Mortar Section, GSW to the left arm.")
    assert cas["mechanism"] == ["GSW"]


def test_pressure_plate_time_is_the_time_of_injury() -> None:
    (cas,) = export("Pressure plate IED at 0410.")
    assert cas["time_of_injury"] == "0410"


@pytest.mark.parametrize(
    "said",
    ["Marking him priority.", "He'll go priority on the next bird.", "I'd put him at priority."],
)
def test_evac_category_with_what_the_medic_does_with_it(said: str) -> None:
    (cas,) = export("GSW to the arm.", said)
    assert cas["evac_category"] == "Priority"


@pytest.mark.parametrize(
    "heard", ["Resprate 22.", "Respirate 22.", "Respray 22.", "Raspberry 22.", "Rest rate 22."]
)
def test_resp_rate_as_speech_recognition_hears_it(heard: str) -> None:
    (cas,) = export(heard)
    assert [v["resp_rate"] for v in cas["vitals"]] == [22]


def test_cat_heard_as_cut_with_a_limb_and_a_time_is_a_tourniquet() -> None:
    (cas,) = export("Cut on the right thigh at 1432.")
    assert [(t["limb"], t["type"], t["time"]) for t in cas["tourniquets"]] == [
        ("R Leg", "CAT", "1432")
    ]
    assert cas["injuries"] == []
    (cas,) = export("Cut on the right thigh, shallow.")
    assert cas["tourniquets"] == [] and [i["site"] for i in cas["injuries"]] == ["right thigh"]


@pytest.mark.parametrize(
    "heard",
    [
        "CAT tourniquet, high and tight on the left, high at 1412.",
        "CAT, tourniquet, high, and tight on the left, high at 1412, bleeding stopped.",
        "CAT tourniquet on the left high at 1412.",
    ],
)
def test_thigh_heard_as_high_after_a_side(heard: str) -> None:
    (cas,) = export(heard)
    assert [(t["limb"], t["time"]) for t in cas["tourniquets"]] == [("L Leg", "1412")]


def test_high_and_tight_after_a_side_is_no_thigh() -> None:
    (cas,) = export("CAT on the left arm, right high and tight at 1412.")
    assert [t["limb"] for t in cas["tourniquets"]] == ["L Arm"]
    (cas,) = export("CAT left high and tight at 1412.")
    assert [t["limb"] for t in cas["tourniquets"]] != ["L Leg"]


@pytest.mark.parametrize(
    ("said", "site", "kind"),
    [
        ("Took one through the left forearm.", "left forearm", "GSW"),
        ("He took one in the right shoulder, entry only.", "right shoulder", "GSW"),
        ("Peppering across the left cheek from the blast.", "left face", "fragment"),
        ("Frag in his right love handle.", "right flank", "fragment"),
    ],
)
def test_wounds_said_in_soldier_speech(said: str, site: str, kind: str) -> None:
    (cas,) = export(said)
    assert {(i["site"], i["kind"]) for i in cas["injuries"]} == {(site, kind)}


@pytest.mark.parametrize("rank", ["HM3", "HM2", "LCpl", "SSgt", "SrA", "PO2", "Capt"])
def test_written_and_navy_ranks_name_a_casualty(rank: str) -> None:
    (cas,) = export(f"{rank} Okonkwo, burns to both hands.")
    assert cas["last_name"] == "Okonkwo"


@pytest.mark.parametrize(
    "said",
    [
        "He asked me for morphine, told him not yet.",
        "She keeps asking for ketamine.",
        "He wants fentanyl but his pressure is soft.",
    ],
)
def test_a_drug_the_casualty_asks_for_is_not_given(said: str) -> None:
    (cas,) = export("Specialist Brandt, frag to the left thigh.", said)
    assert not cas.get("medications")


def test_the_outside_of_a_limb_is_a_site_of_that_limb() -> None:
    (cas,) = export("She took one through the outside of her right thigh, no exit.")
    ((site, kind),) = {(i["site"], i["kind"]) for i in cas["injuries"]}
    assert kind == "GSW" and site.startswith("outside") and site.endswith("right thigh")


@pytest.mark.parametrize(
    "said",
    [
        "Our truck T-boned a sedan at the checkpoint.",
        "The MRAP rolled onto its roof in the wadi.",
        "Humvee got rear-ended by a fuel truck.",
        "Head-on with a civilian car at speed.",
        "The LMTV ran off the road into a ditch.",
    ],
)
def test_vehicle_crashes_said_as_drivers_say_them(said: str) -> None:
    (cas,) = export(said, "Corporal Baptiste, bruising across the chest.")
    assert cas["mechanism"] == ["MVC"]


def test_a_crashing_pressure_is_no_vehicle_crash() -> None:
    (cas,) = export("Frag to the left thigh, his pressure crashed to eighty over forty.")
    assert "MVC" not in cas["mechanism"]


@pytest.mark.parametrize(
    ("said", "sites"),
    [
        ("Neck and both hands are burned.", {"neck", "both hands"}),
        (
            "Right hand and right forearm have partial thickness burns.",
            {"right hand", "right forearm"},
        ),
        (
            "Burns over his left hand, his left forearm, and the back of his left arm.",
            {"left hand", "left forearm", "back of his left arm"},
        ),
    ],
)
def test_sites_listed_before_or_after_the_wound_are_each_a_wound(
    said: str, sites: set[str]
) -> None:
    (cas,) = export(said)
    assert {i["site"] for i in cas["injuries"]} == sites


def test_a_site_corrected_after_a_comma_is_one_site() -> None:
    (cas,) = export("Frag into the right calf, sorry, left calf.")
    assert [i["site"] for i in cas["injuries"]] == ["left calf"]


@pytest.mark.parametrize(
    ("said", "sign", "value"),
    [
        ("Sats showing ninety-one on the monitor.", "spo2", 91),
        ("Heart rate sitting at one twenty-four.", "pulse", 124),
        ("Pulse ox reads eighty-eight.", "spo2", 88),
        ("He only flinches to pain.", "avpu", "P"),
        ("She moves to pain, nothing to voice.", "avpu", "P"),
    ],
)
def test_vitals_read_off_a_device_or_a_response(said: str, sign: str, value: object) -> None:
    vitals = facts_of(session(said), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [(sign, value)]


def test_a_scalp_torn_up_is_a_laceration() -> None:
    (cas,) = export("His scalp is torn up above the right ear.")
    assert [i["kind"] for i in cas["injuries"]] == ["laceration"]


def test_micrograms_said_as_mic() -> None:
    (cas,) = export("Four hundred mic fentanyl lozenge in the cheek.")
    assert [m["dose"] for m in cas["medications"]] == ["400 mcg"]


def test_written_up_as_a_category() -> None:
    (cas,) = export("Frag to the left shin.", "I'm writing him up as routine.")
    assert cas["evac_category"] == "Routine"


def test_a_casualty_rolling_onto_his_side_is_no_vehicle_crash() -> None:
    (cas,) = export("He fell off the ladder and rolled onto his left side.")
    assert cas["mechanism"] == ["Fall"]


@pytest.mark.parametrize(
    ("said", "sign", "first", "then"),
    [
        ("Pulse one forty, disregard, one-oh-four.", "pulse", 140, 104),
        ("Resp twenty-eight, no, eighteen.", "resp_rate", 28, 18),
        ("Sats eighty-one, strike that, ninety-one.", "spo2", 81, 91),
    ],
)
def test_a_value_corrected_in_the_same_breath_replaces_it(
    said: str, sign: str, first: int, then: int
) -> None:
    vitals = facts_of(session(said), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [(sign, first), (sign, then)]
    assert vitals[1].replaces == vitals[0].id


def test_a_route_corrected_with_no_replaces_it() -> None:
    (cas,) = export("Morphine five milligrams IV, no, IO, at 0915.")
    assert [m["route"] for m in cas["medications"]] == ["IO"]


def test_no_that_answers_a_question_corrects_nothing() -> None:
    (cas,) = export("Frag to the left shin, pulse ninety.", "Bleeding through? No, it's holding.")
    assert [i["site"] for i in cas["injuries"]] == ["left lower leg"]


def test_sats_with_an_apostrophe() -> None:
    vitals = facts_of(session("Sat's ninety-four on room air."), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [("spo2", 94)]


def test_a_pressure_said_around_a_filler() -> None:
    vitals = facts_of(session("BP, uh, one-thirty-two over, over eighty-four."), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [("bp", "132/84")]


def test_a_category_said_after_so() -> None:
    (cas,) = export("Frag to the left hand.", "He can walk to the bird, so, um, routine.")
    assert cas["evac_category"] == "Routine"


@pytest.mark.parametrize(
    ("said", "allergies"),
    [
        ("He's allergic to codeine, gets itchy all over.", "codeine"),
        ("Allergic to latex, penicillin.", "latex and penicillin"),
    ],
)
def test_what_an_allergy_does_is_no_second_allergen(said: str, allergies: str) -> None:
    (cas,) = export(said)
    assert cas["allergies"] == allergies


def test_millilitres_go_without_saying_before_a_fluid() -> None:
    (cas,) = export("A thousand of lactated Ringer's is running, and two hundred of saline.")
    assert {(f["name"], f["volume_ml"]) for f in cas["fluids"]} == {
        ("Lactated Ringer's", 1000),
        ("Normal Saline", 200),
    }


def test_a_dose_said_as_a_dose_of() -> None:
    (cas,) = export("Gave a fifteen milligram dose of ketamine IV at 1010.")
    assert [(m["name"], m["dose"]) for m in cas["medications"]] == [("Ketamine", "15 mg")]


@pytest.mark.parametrize(
    ("said", "site"),
    [
        ("One round into the left upper quadrant.", "left upper abdomen"),
        ("GSW, right lower quadrant.", "right lower abdomen"),
        ("One round, right chest, front, just below the collarbone.", "right chest"),
    ],
)
def test_where_a_round_went(said: str, site: str) -> None:
    (cas,) = export(said)
    assert [i["site"] for i in cas["injuries"]] == [site]


@pytest.mark.parametrize("said", ["Hit by a PKM burst.", "AK round through the thigh, left."])
def test_a_weapon_named_with_what_it_fired_is_a_gunshot(said: str) -> None:
    (cas,) = export(said)
    assert cas["mechanism"] == ["GSW"]


@pytest.mark.parametrize(
    "said",
    [
        "SOFTT-W on the right arm, cranked it down, locked, time is 0747.",
        "Tourniquet right thigh, tight, windlass secured, time 0747.",
    ],
)
def test_a_time_said_after_the_care_in_its_own_clause_is_its_time(said: str) -> None:
    (cas,) = export(said)
    assert [t["time"] for t in cas["tourniquets"]] == ["0747"]


def test_a_time_said_after_a_vital_does_not_go_back_to_an_earlier_care_with_one() -> None:
    (cas,) = export("CAT left leg at 0740, pulse 110, time 0747.")
    assert [t["time"] for t in cas["tourniquets"]] == ["0740"]


def test_a_second_tourniquet_said_with_its_limb_before_above_the_first() -> None:
    # The tourniquet just before is on another limb: the one said for the second is its own.
    (cas,) = export(
        "CAT right leg at 0812, CAT left arm at 0814, second CAT right leg above the first at 0815."
    )
    assert sorted((t["limb"], t["time"]) for t in cas["tourniquets"]) == [
        ("L Arm", "0814"),
        ("R Leg", "0812"),
        ("R Leg", "0815"),
    ]


@pytest.mark.parametrize(
    "said",
    [
        "He doesn't know of any allergies.",
        "She's not aware of any drug allergies.",
        "No allergies that he knows of.",
    ],
)
def test_no_allergy_the_casualty_knows_of_is_nkda(said: str) -> None:
    (cas,) = export("Frag to the left calf.", said)
    assert cas["allergies"] == "NKDA"


def test_a_site_list_that_repeats_its_preposition() -> None:
    (cas,) = export("Burns on his neck, on both hands, and on the left forearm.")
    assert {i["site"] for i in cas["injuries"]} == {"neck", "both hands", "left forearm"}


@pytest.mark.parametrize(
    "said", ["Keep eyes on the wound, it's dry.", "Eyes on me, buddy, you're okay."]
)
def test_eyes_on_is_no_eye_wound(said: str) -> None:
    (cas,) = export("GSW to the right thigh.", said)
    assert [i["site"] for i in cas["injuries"]] == ["right thigh"]


def test_a_grid_is_no_roster() -> None:
    (cas,) = export(
        "Line one, grid NK3481 2679.", "Casualty is Sergeant Lowe, roster DS6031, GSW left thigh."
    )
    assert cas["battle_roster"] == "DS6031" and cas["last_name"] == "Lowe"


# --- a conversation with the casualty ------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "answer", "pain"),
    [
        ("Pain, zero to ten?", "Eight.", 8),
        ("How bad is the pain?", "Maybe a five.", 5),
        ("What's your pain, buddy?", "Like a three.", 3),
    ],
)
def test_the_casualtys_answer_gives_the_pain_score(asked: str, answer: str, pain: int) -> None:
    vitals = facts_of(session("Frag to the left hand.", asked, answer), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [("pain", pain)]


def test_a_pain_answer_taken_back_is_replaced() -> None:
    a = session("Pain, zero to ten?", "Four.", "No, really, it's a six.")
    pains = facts_of(a, "vital")
    assert [f.data["value"] for f in pains] == [4, 6] and pains[1].replaces == pains[0].id


def test_a_number_after_a_pain_question_that_is_no_answer() -> None:
    a = session("Pain, zero to ten?", "Pulse is 104.")
    assert [(f.data["sign"], f.data["value"]) for f in facts_of(a, "vital")] == [("pulse", 104)]


@pytest.mark.parametrize(
    ("answer", "allergies"),
    [("Sulfa, I get hives.", "sulfa"), ("No.", "NKDA"), ("Nope, nothing.", "NKDA")],
)
def test_the_casualtys_answer_about_allergies(answer: str, allergies: str) -> None:
    (cas,) = export("Frag to the left hand.", "Any allergies?", answer)
    assert cas["allergies"] == allergies


def test_yeah_is_no_allergen() -> None:
    (cas,) = export("Frag to the left hand.", "Any allergies?", "Yeah, hang on.")
    assert cas["allergies"] is None


def test_where_the_casualty_says_he_is_hit() -> None:
    (cas,) = export("Where are you hit?", "Right shoulder, it burns.")
    assert [i["site"] for i in cas["injuries"]] == ["right shoulder"]


@pytest.mark.parametrize(
    ("said", "sign", "value"),
    [
        ("You're taking twenty-two breaths a minute.", "resp_rate", 22),
        ("About a hundred and ten beats per minute at the wrist.", "pulse", 110),
        ("Your pulse at the wrist is eighty-eight.", "pulse", 88),
    ],
)
def test_rates_said_per_minute_or_at_the_wrist(said: str, sign: str, value: int) -> None:
    vitals = facts_of(session(said), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [(sign, value)]


def test_a_pill_to_swallow_is_by_mouth_and_good_thats_a_time() -> None:
    (cas,) = export("Take this, Tylenol, a thousand milligrams, swallow it.", "Good, that's 1415.")
    assert [(m["route"], m["time"]) for m in cas["medications"]] == [("PO", "1415")]


@pytest.mark.parametrize(
    "said",
    [
        "Released the CAT at 1440.",
        "The tourniquet came off completely at 1440.",
        "Let the CAT down slowly at 1440.",
    ],
)
def test_a_tourniquet_released_keeps_its_time_on_and_is_marked_off(said: str) -> None:
    a = session("CAT on the left arm at 1308.", said)
    (tq,) = facts_of(a, "tourniquet")
    assert tq.data["time"] == "1308"
    (change,) = facts_of(a, "tourniquet_change")
    assert change.data == {"action": "removed", "time": "1440"}


def test_two_tourniquets_said_with_one_time_each() -> None:
    (cas,) = export("Two CATs on the right leg, one at 0912 and one at 0918.")
    assert sorted(t["time"] for t in cas["tourniquets"]) == ["0912", "0918"]


def test_a_time_heading_vitals_is_no_time_of_earlier_care() -> None:
    (cas,) = export("CAT on the right arm.", "At 0600: pulse 120, BP 100/60.")
    assert [t["time"] for t in cas["tourniquets"]] == [None]


def test_pain_asked_alone_and_answered_through_the_casualty() -> None:
    vitals = facts_of(session("Pain?", "She says seven."), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [("pain", 7)]


def test_a_pulse_by_its_site_and_an_approximation() -> None:
    vitals = facts_of(session("Carotid around one-forty, weak."), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals][:1] == [("pulse", 140)]


def test_a_jump_that_ends_badly_is_a_fall_with_its_time() -> None:
    (cas,) = export(
        "He jumped off the HESCO and landed wrong on his right knee.", "He landed at 2214."
    )
    assert cas["mechanism"] == ["Fall"] and cas["time_of_injury"] == "2214"


def test_the_bird_landing_is_no_time_of_injury() -> None:
    (cas,) = export("GSW to the left arm.", "The bird landed at 2214.")
    assert cas["time_of_injury"] is None


def test_a_time_of_wounding_for_both() -> None:
    a = session(
        "Roster KT1184, gunshot to the left leg.",
        "Roster PA3005, gunshot to the right chest.",
        "KT1184 priority, PA3005 urgent. Time of wounding for both, 1421.",
    )
    doc = export_all(a)
    assert [(c["battle_roster"], c["evac_category"], c["time_of_injury"]) for c in doc] == [
        ("KT1184", "Priority", "1421"),
        ("PA3005", "Urgent", "1421"),
    ]


def test_allergic_to_nothing_is_nkda() -> None:
    (cas,) = export("Frag to the left calf.", "Allergic to nothing.")
    assert cas["allergies"] == "NKDA"


@pytest.mark.parametrize(
    ("said", "sign", "value"),
    [
        ("Radial strong at eighty-six.", "pulse", 86),
        ("Headache four out of ten.", "pain", 4),
    ],
)
def test_a_pulse_with_its_feel_and_a_headache_score(said: str, sign: str, value: int) -> None:
    vitals = facts_of(session(said), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [(sign, value)]


@pytest.mark.parametrize(
    ("said", "mechanism"),
    [
        ("Rockfall knocked him off the ledge.", "Blunt"),
        ("The MRAP slid off the canal road.", "MVC"),
        ("He was struck by a truck at the gate.", "MVC"),
        ("He fell maybe six meters onto the rocks.", "Fall"),
    ],
)
def test_falls_crashes_and_rockfalls_said_in_other_words(said: str, mechanism: str) -> None:
    (cas,) = export(said, "Specialist Barros, left forearm bruised.")
    assert mechanism in cas["mechanism"]


def test_a_dislocation_is_an_injury() -> None:
    (cas,) = export("His left shoulder is dislocated.")
    assert [(i["site"], i["kind"]) for i in cas["injuries"]] == [("left shoulder", "dislocation")]


def test_two_rounds_with_sites_said_before_the_wound() -> None:
    (cas,) = export("Two rounds: left hip and left lower abdomen, entry wounds only.")
    assert {i["site"] for i in cas["injuries"]} == {"left hip", "left lower abdomen"}


def test_a_sentence_opening_on_a_site_with_its_verb_is_no_site_list() -> None:
    (cas,) = export("Left foot is mangled, front half of the foot is gone.")
    assert [i["site"] for i in cas["injuries"]] == ["left foot"]


@pytest.mark.parametrize(
    ("said", "sign", "value"),
    [
        ("The probe on his earlobe reads ninety-three.", "spo2", 93),
        ("His radial came back at about one-ten.", "pulse", 110),
        ("He only answers when I shout at him.", "avpu", "V"),
    ],
)
def test_readings_off_a_probe_a_returning_pulse_and_a_shout(
    said: str, sign: str, value: object
) -> None:
    vitals = facts_of(session(said), "vital")
    assert [(f.data["sign"], f.data["value"]) for f in vitals] == [(sign, value)]


def test_a_site_list_with_a_positioned_site_after_and() -> None:
    (cas,) = export("Burns to both forearms, both hands and the front of the chest.")
    sites = {i["site"] for i in cas["injuries"]}
    assert {"both forearms", "both hands"} <= sites and any("chest" in s for s in sites)


def test_a_roof_that_came_down_is_blunt_and_a_pinning_wall_is_no_blunt() -> None:
    (cas,) = export("Part of the roof came down on him at 0340, right thigh deformed.")
    assert "Blunt" in cas["mechanism"] and cas["time_of_injury"] == "0340"
    (cas,) = export("A wall collapsed on him and pinned his right leg, crush injury.")
    assert "Blunt" not in cas["mechanism"]
