"""Who is being talked about (tccc.analysis.casualties through the session analyzer): casualties
introduced by number, ordinal, name, rank and name, roster or description, referred back to much
later, receivers said after the care, several at once, attribution corrections, and names that
are nobody's record. Phrasings here are not those of the development narrations."""

from __future__ import annotations

import itertools

import pytest
from test_analyzer import facts_of, session, utterance

from tccc.analysis.analyzer import SCENE, SessionAnalyzer
from tccc.analysis.casualties import Casualties, Mention, count_announced, mentions
from tccc.analysis.incident import Incident, restore
from tccc.analysis.lexicon import load_lexicon
from tccc.analysis.text import Span
from tccc.store.casualty_log import CasualtyLog

LEX = load_lexicon()


def who(a: SessionAnalyzer, fact_kind: str, **data: object) -> list[str]:
    """The casualties of the facts of one kind whose data has these values."""
    return [
        f.casualty
        for f in a.facts
        if f.kind == fact_kind and all(f.data.get(k) == v for k, v in data.items())
    ]


def names(a: SessionAnalyzer) -> dict[str, str]:
    """Label -> last name of every named casualty."""
    return {c.label: c.name for c in a.people.known.values() if c.name}


# --- introductions ------------------------------------------------------------------------------


def test_a_second_rank_and_name_is_a_second_casualty() -> None:
    a = session(
        "Vehicle hit a culvert bomb, two hurt.",
        "Corporal Nakamura was in the back: cut over the left eyebrow, pulse ninety-two.",
        "Lance Corporal Whitfield, the driver, pinned by the dash: pulse one twenty.",
    )
    assert names(a) == {"1": "Nakamura", "2": "Whitfield"}
    assert who(a, "vital", sign="pulse", value=92) == ["1"]
    assert who(a, "vital", sign="pulse", value=120) == ["2"]
    # The rank said with the second name is the second casualty's, not the first's.
    assert who(a, "identity", field="rank", value="Lance Corporal") == ["2"]


def test_the_same_name_again_is_the_same_casualty() -> None:
    a = session(
        "Casualty one is Sergeant Okoro.",
        "Casualty two is Private Lindqvist.",
        "Sergeant Okoro, sats ninety-one.",
    )
    assert names(a) == {"1": "Okoro", "2": "Lindqvist"}
    assert who(a, "vital", sign="spo2") == ["1"]


@pytest.mark.parametrize(
    "said",
    [
        "Man down! It's Kowalski, Kowalski's hit!",
        "This is Kowalski, left arm is bleeding bad.",
        "His name is Kowalski. Left arm is bleeding bad.",
        "Kowalski is down, left arm.",
    ],
)
def test_a_name_said_without_a_rank_names_the_casualty(said: str) -> None:
    a = session(said, "Pulse one ten.")
    assert names(a) == {"1": "Kowalski"}
    assert who(a, "identity", field="last_name", value="Kowalski") == ["1"]


@pytest.mark.parametrize(
    "said",
    [
        "She's hit in the arm.",
        "He's down, pulse one ten.",
        "It's okay, buddy.",
        "Everyone's hit?",
        "Okay, it's Tuesday.",
    ],
)
def test_pronouns_and_common_words_are_no_names(said: str) -> None:
    assert names(session(said)) == {}


def test_a_teammate_spoken_to_or_a_bystander_is_nobodys_record() -> None:
    a = session(
        "Casualty one, Private Abara, shrapnel to the right calf.",
        "Mendez, hold pressure here. Good.",
        "The gate guard had put a CAT on his right leg at eleven forty.",
        "Pulse ninety.",
    )
    assert set(a.people.known) == {"1"}
    assert who(a, "tourniquet") == ["1"]
    assert who(a, "vital", sign="pulse") == ["1"]


# --- references back ----------------------------------------------------------------------------


def test_casualties_listed_by_ordinal_and_description_then_referred_back() -> None:
    a = session(
        "Three wounded after the RPG hit the truck.",
        "The first one is the gunner: burns to both hands.",
        "Second one is the driver, Specialist Oyelaran: open fracture of the left shin.",
        "Third guy is a local national, frag to the scalp.",
        "Back to the gunner. Pulse one thirty, resp twenty-eight.",
        "Giving the driver ketamine fifty milligrams IM at oh-two-ten.",
        "For the gunner, pill pack at oh-two-fifteen.",
        "Gunner is urgent, the driver priority.",
    )
    assert who(a, "injury", kind="burn") == ["1"]
    assert who(a, "injury", kind="open fracture") == ["2"]
    assert names(a) == {"2": "Oyelaran"}
    assert who(a, "vital", sign="pulse") == ["1"]
    assert who(a, "vital", sign="resp_rate") == ["1"]
    assert who(a, "medication", name="Ketamine") == ["2"]
    assert who(a, "treatment", value="Combat-Pill-Pack") == ["1"]
    assert [(f.casualty, f.data["category"]) for f in facts_of(a, "evac")] == [
        ("1", "Urgent"),
        ("2", "Priority"),
    ]


def test_a_description_nobody_was_introduced_by_switches_nothing() -> None:
    a = session("Casualty two, frag to the neck.", "The driver says the road was mined. Pulse 88.")
    assert who(a, "vital", sign="pulse") == ["2"]


def test_ordinal_one_that_counts_devices_is_no_casualty() -> None:
    a = session(
        "Casualty one, CAT on the right thigh at 1510, second CAT above the first one at 1514.",
        "Bleeding stopped after the second one. Pulse 100.",
    )
    assert set(a.people.known) == {"1"}
    assert who(a, "vital", sign="pulse") == ["1"]


def test_a_possessive_name_refers_to_its_casualty() -> None:
    a = session(
        "First patient is Sergeant Yilmaz. Second patient is Private Dube.",
        "Yilmaz's pressure is ninety over sixty. Dube's pulse eighty-four.",
    )
    assert who(a, "vital", sign="bp") == ["1"]
    assert who(a, "vital", sign="pulse") == ["2"]


# --- receivers and groups -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "Two grams of TXA IV for casualty two at 0405.",
        "Hung a unit of whole blood on casualty two.",
        "Moxi four hundred milligrams PO to casualty number two.",
    ],
)
def test_care_said_before_its_receiver_goes_to_the_receiver(said: str) -> None:
    a = session(
        "Casualty one, pulse 100.", "Casualty two, pulse 120.", "Casualty one, sats 97.", said
    )
    kinds = {"TXA": "medication", "whole blood": "fluid", "Moxi": "medication"}
    kind = next(k for word, k in kinds.items() if word in said)
    assert who(a, kind) == ["2"]
    assert a.current == "2"


def test_both_and_all_give_care_to_every_casualty() -> None:
    a = session(
        "Casualty one, Private Hale. Casualty two, Private Ostrowski.",
        "Both got a combat pill pack.",
        "All of them are wrapped in blizzard blankets.",
    )
    assert sorted(who(a, "treatment", value="Combat-Pill-Pack")) == ["1", "2"]
    assert sorted(who(a, "treatment", value="Hypothermia-Prevention")) == ["1", "2"]


def test_both_before_a_body_part_is_a_site_not_the_casualties() -> None:
    a = session("Casualty one. Casualty two, frag to both lower legs, alert.")
    assert who(a, "vital", sign="avpu") == ["2"]
    assert who(a, "injury") == ["2"]


# --- corrections of who ---------------------------------------------------------------------------


def test_i_mean_another_casualty_moves_what_was_just_said() -> None:
    a = session(
        "Casualty one, GSW to the chest. Casualty two, GSW to the arm.",
        "Casualty one got a chest seal at 0930 and O2, sorry, casualty two.",
        "Pulse 90.",
    )
    records = {f.casualty for f in a.facts if f.kind == "breathing" and f.replaces is None}
    assert records == {"1"}
    moved = [f for f in a.facts if f.kind == "breathing" and f.replaces is not None]
    assert {f.casualty for f in moved} == {"2"} and len(moved) == 2
    assert who(a, "vital", sign="pulse") == ["2"]


def test_a_correction_announced_before_its_value_corrects_it() -> None:
    a = session(
        "Casualty one, roster Bravo Hotel one one two two.", "Correction on the roster: BH1123."
    )
    rosters = [f for f in facts_of(a, "identity") if f.data["field"] == "battle_roster"]
    assert [r.data["value"] for r in rosters] == ["BH1122", "BH1123"]
    assert rosters[1].replaces == rosters[0].id
    assert set(a.people.known) == {"1"}


@pytest.mark.parametrize(
    ("first", "fix", "field", "new"),
    [
        ("GSW to the right thigh.", "Scratch that, left thigh.", "site", "left thigh"),
        ("CAT on the right arm at 1310.", "Sorry, left arm.", "limb", "L Arm"),
        ("CAT on the right arm at 1310.", "I mean left.", "limb", "L Arm"),
        ("Morphine five milligrams IM.", "I mean IV.", "route", "IV"),
        ("Pulse one forty.", "No wait, one fourteen.", "value", 114),
    ],
)
def test_a_bare_value_after_a_correction_replaces_the_fact_just_stated(
    first: str, fix: str, field: str, new: object
) -> None:
    a = session(first, fix)
    corrected = a.facts[-1]
    stated = next(f for f in a.facts if f.id == corrected.replaces)
    assert corrected.kind == stated.kind and corrected.data[field] == new
    assert not facts_of(a, "retract")


# --- scene and counts ---------------------------------------------------------------------------


def test_announced_count_and_scene_facts() -> None:
    assert count_announced("We have three casualties from the blast") == 3
    assert count_announced("2 patients") == 2
    assert count_announced("casualty two") == 0
    a = session(
        "Four casualties after the mortar barrage at 2210.",
        "First casualty, frag to the back.",
    )
    assert who(a, "mechanism") == [SCENE]
    assert a.people.announced == 4


def test_mentions_are_in_text_order_without_overlaps() -> None:
    people = Casualties()
    text = "Casualty two is the interpreter, for casualty one TXA, Sergeant Vance's pulse"
    found = mentions(Span(text, 0), LEX, people)
    assert [(m.kind, m.value) for m in found] == [
        ("number", "2"),
        ("number", "1"),
        ("name", "Vance"),
    ]
    assert found[0].alias == "interpreter" and found[1].receiver
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert all(isinstance(m, Mention) for m in found)


def test_resume_keeps_names_and_descriptions() -> None:
    log = CasualtyLog(":memory:")
    incident = Incident.new(log, "test")
    for i, said in enumerate(
        ["First one is the interpreter, frag to the neck.", "Second one is Private Achterberg."]
    ):
        incident.analyzer.analyze(utterance(said, i))
    again = SessionAnalyzer()
    restore(again, incident.analyzer.facts)
    again.analyze(utterance("Back to the interpreter, pulse 130.", 5))
    assert [f.casualty for f in again.facts if f.kind == "vital"] == ["1"]
    assert again.people.with_name("Achterberg") is not None


def test_a_role_said_before_the_name_describes_that_casualty() -> None:
    a = session(
        "Humvee rolled, two hurt. The driver is Specialist Nkemelu; the gunner is Private Sato.",
        "The gunner: pulse 118. The driver: pulse 90.",
    )
    assert names(a) == {"1": "Nkemelu", "2": "Sato"}
    assert who(a, "vital", sign="pulse", value=118) == ["2"]
    assert who(a, "vital", sign="pulse", value=90) == ["1"]


def test_a_teammate_addressed_by_rank_and_name_is_no_casualty() -> None:
    a = session(
        "Alright, Private Okafor, watch what I do and write it down.",
        "Casualty is Sergeant Lund, GSW to the left forearm.",
    )
    assert names(a) == {"1": "Lund"}
    assert who(a, "identity", field="last_name") == ["1"]


def test_a_casualty_described_by_a_wound_then_referred_back() -> None:
    a = session(
        "Three casualties. Sergeant Ives, Private Bo, and the medic, Castillo.",
        "Ives is the one with the belly wound, Castillo has a cut hand.",
        "The one with the belly wound: pulse 134, BP 88 over 50.",
    )
    assert names(a) == {"1": "Ives", "2": "Bo", "3": "Castillo"}
    assert who(a, "vital", sign="pulse") == ["1"]
    assert who(a, "injury") == ["3"]  # the description states no wound of its own


def test_names_said_together_share_what_follows() -> None:
    a = session(
        "Casualty one is Corporal Aziz. Casualty two is Private Berg.",
        "Casualty three, Private Cole.",
        "Aziz and Berg urgent, Cole routine.",
    )
    assert [(f.casualty, f.data["category"]) for f in facts_of(a, "evac")] == [
        ("1", "Urgent"),
        ("2", "Urgent"),
        ("3", "Routine"),
    ]


def test_a_pronoun_follows_the_casualty_it_names() -> None:
    a = session(
        "Specialist Ruiz and PFC Oduya were hit by the same blast.",
        "She has burns to both hands, pulse 104.",
        "Oduya has a frag wound to his right calf, pulse 88.",
        "She is alert.",
    )
    assert names(a) == {"1": "Ruiz", "2": "Oduya"}
    assert who(a, "vital", sign="pulse", value=104) == ["1"]
    assert who(a, "vital", sign="pulse", value=88) == ["2"]
    assert who(a, "vital", sign="avpu") == ["1"]


# --- numbered casualties referred back by the bare number ---------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "Back to two: heart rate one thirty.",
        "Two: heart rate one thirty.",
        "Now two, heart rate one thirty.",
        "Two's heart rate is one thirty.",
        "Okay, switching to two. Heart rate one thirty.",
        "And two has a heart rate of one thirty.",
    ],
)
def test_a_bare_number_refers_back_to_a_numbered_casualty(said: str) -> None:
    a = session(
        "Casualty one, burns to the left forearm.",
        "Casualty two, shrapnel in the right calf.",
        "Casualty one's pulse is ninety.",
        said,
    )
    assert who(a, "vital", sign="pulse", value=90) == ["1"]
    assert who(a, "vital", sign="pulse", value=130) == ["2"]


def test_categories_given_to_numbered_casualties_in_one_breath() -> None:
    a = session(
        "Casualty one, amputation right foot.",
        "Casualty two, burns both hands.",
        "Casualty three, ankle sprain.",
        "For the bird: three's routine, one's urgent surgical, two's priority.",
    )
    assert who(a, "evac", category="Urgent") == ["1"]
    assert who(a, "evac", category="Priority") == ["2"]
    assert who(a, "evac", category="Routine") == ["3"]


@pytest.mark.parametrize(
    "said",
    [
        "Pain is two, pulse eighty.",  # a value, not casualty two
        "Gave two milligrams, pulse eighty.",
        "Two tourniquets on, pulse eighty.",
    ],
)
def test_a_number_that_is_a_value_switches_nobody(said: str) -> None:
    a = session(
        "Casualty one, burns to the left forearm.",
        "Casualty two, shrapnel in the right calf.",
        "Casualty one again.",
        said,
    )
    assert who(a, "vital", sign="pulse", value=80) == ["1"]


def test_a_bare_number_with_one_casualty_is_no_reference() -> None:
    a = session("Casualty one, frag to the left shin.", "One: pulse eighty-eight.")
    assert set(a.people.known) == {"1"}
    assert who(a, "vital", sign="pulse", value=88) == ["1"]


# --- ordinals and ranks said in lists -----------------------------------------------------------


def test_names_given_to_ordinals_in_one_sentence() -> None:
    a = session(
        "Two hurt. The first soldier has a gash on the left forearm; the second one has a "
        "broken right wrist.",
        "Names: the first is PFC Tanaka, the second is HM2 Boateng.",
        "Boateng, pulse seventy-six.",
    )
    assert names(a) == {"1": "Tanaka", "2": "Boateng"}
    assert who(a, "vital", sign="pulse", value=76) == ["2"]


# --- he and she opening a clause ----------------------------------------------------------------


def test_he_and_she_opening_clauses_tell_two_casualties_apart() -> None:
    a = session(
        "Sergeant Delacroix and Specialist Varga, both caught in the blast.",
        "She has burns to the left hand; he's got a frag wound in the right calf.",
        "His pulse is one twelve, she's got a pulse of eighty-four.",
        "Her pressure is one ten over seventy.",
        "She's priority, he's urgent.",
    )
    assert who(a, "vital", sign="pulse", value=112) == ["2"]
    assert who(a, "vital", sign="pulse", value=84) == ["1"]
    assert who(a, "vital", sign="bp") == ["1"]
    assert who(a, "evac", category="Priority") == ["1"]
    assert who(a, "evac", category="Urgent") == ["2"]


def test_a_pronoun_clause_about_a_teammate_switches_nobody() -> None:
    # "she" here is the medic's teammate, said in a clause that also speaks of "him".
    a = session(
        "Corporal Lund, frag to the left thigh, pulse one hundred.",
        "Private Osei, burns to the face.",
        "Back to Lund, his pressure is ninety over sixty, she put a CAT on him.",
    )
    assert who(a, "vital", sign="bp") == ["1"]
    assert who(a, "tourniquet") == ["1"]


def test_roles_said_before_each_name_in_one_sentence_stay_with_their_names() -> None:
    # ", the loader is ..." opens the next introduction: no appositive of the first name.
    a = session(
        "Two hurt. The gunner is Specialist Amadi, the loader is Private Kowalczyk.",
        "The loader has a broken left wrist, pulse ninety-four.",
        "The gunner, pulse one twenty-two.",
    )
    assert names(a) == {"1": "Amadi", "2": "Kowalczyk"}
    assert who(a, "vital", sign="pulse", value=94) == ["2"]
    assert who(a, "vital", sign="pulse", value=122) == ["1"]


def test_a_roster_said_by_its_letters_refers_back_to_its_casualty() -> None:
    a = session(
        "Two casualties. Roster Kilo Tango four four zero two: frag to the left arm.",
        "Roster Bravo November one one eight seven: burns to the face.",
        "Kilo Tango's pulse is one twelve.",
        "Evac: Bravo November routine, Kilo Tango urgent.",
    )
    labels = {c.roster: c.label for c in a.people.known.values()}
    assert set(labels) == {"KT4402", "BN1187"}
    assert who(a, "vital", sign="pulse", value=112) == [labels["KT4402"]]
    assert who(a, "evac", category="Urgent") == [labels["KT4402"]]
    assert who(a, "evac", category="Routine") == [labels["BN1187"]]


def test_phonetic_letters_of_no_roster_refer_to_nobody() -> None:
    a = session(
        "Roster Kilo Tango four four zero two, frag to the left arm.",
        "Roster Bravo November one one eight seven, burns to the face.",
        "Alpha Company's medic is on the way, Charlie Delta is the landing zone, pulse ninety.",
    )
    assert who(a, "vital", sign="pulse", value=90) == [
        next(c.label for c in a.people.known.values() if c.roster == "BN1187")
    ]


# --- a group said before anyone of it is introduced ---------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "For all three: no known allergies, and every one of them got a pill pack.",
        "All three are NKDA and all three got a pill pack.",
    ],
)
def test_a_group_said_before_its_casualties_are_introduced_is_for_each(said: str) -> None:
    a = session(
        "Humvee rolled over on the MSR, three soldiers hurt.",
        said,
        "The gunner, Specialist Ferreira, broke his left forearm.",
        "The driver, Private Nkemelu, bruised ribs, pulse ninety.",
        "Sergeant Holm cut his scalp.",
    )
    assert names(a) == {"1": "Ferreira", "2": "Nkemelu", "3": "Holm"}
    assert sorted(who(a, "identity", field="allergies", value="NKDA")) == ["1", "2", "3"]
    assert sorted(who(a, "treatment", value="Combat-Pill-Pack")) == ["1", "2", "3"]
    assert who(a, "vital", sign="pulse", value=90) == ["2"]


def test_a_count_of_people_hurt_announces_casualties() -> None:
    assert count_announced("Three Marines hurt at the gate") == 3
    assert count_announced("two soldiers down by the truck") == 2
    assert count_announced("For all four: no known allergies") == 4
    assert count_announced("gave all 2 g of TXA") == 0


def test_both_of_mine_is_both_casualties() -> None:
    a = session(
        "Sergeant Amsel, frag to the left shin.",
        "Corporal Bettany, burns to both hands.",
        "Both of mine got a pill pack.",
    )
    assert sorted(who(a, "treatment", value="Combat-Pill-Pack")) == ["1", "2"]


# --- the speaker and other caregivers are nobody's record ---------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "I'm Sergeant Vukovic, the platoon medic, and this is my casualty.",
        "My name is Corporal Adebayo, I'm the CLS on this truck.",
        "This is Staff Sergeant Lindgren, the eighteen-delta, calling it in.",
        "The partner-force medic, Lieutenant Haddad, did the first bandage.",
        "Specialist Oyelowo is holding pressure on him while I get the kit.",
    ],
)
def test_a_caregiver_named_with_a_rank_is_no_casualty(said: str) -> None:
    a = session(said, "Private Dunmore, frag to the right calf, pulse one hundred.")
    assert names(a) == {"1": "Dunmore"}
    assert who(a, "vital", sign="pulse", value=100) == ["1"]


@pytest.mark.parametrize(
    "said",
    [
        "What's your name? PFC Tamura, Doc.",
        "The RTO, Corporal Sandoval, took frag in the left arm.",
    ],
)
def test_a_casualty_who_speaks_to_doc_or_has_a_team_role_is_a_casualty(said: str) -> None:
    a = session(said)
    assert len(names(a)) == 1


def test_a_hyphenated_name() -> None:
    a = session(
        "Private Ruiz-Carrillo, gunshot to the left thigh.", "Ruiz-Carrillo's pulse is 110."
    )
    assert names(a) == {"1": "Ruiz-Carrillo"}
    assert who(a, "vital", sign="pulse", value=110) == ["1"]


# --- facts said to belong to another casualty ----------------------------------------------------


def test_vitals_said_to_be_another_casualtys_move_there() -> None:
    a = session(
        "First is Sergeant Ostrowski, burns to the left hand.",
        "Second is Private Achebe, frag to the right thigh.",
        "Pulse one-twenty and thready, BP ninety over fifty.",
        "Wait, correction, that pulse and pressure are Ostrowski's.",
        "Achebe is pulse ninety.",
    )
    assert who(a, "vital", sign="pulse", value=120)[-1] == "1"
    assert who(a, "vital", sign="bp")[-1] == "1"
    moved = [f for f in facts_of(a, "vital") if f.replaces is not None]
    assert {f.data["sign"] for f in moved} == {"pulse", "bp"}
    assert who(a, "vital", sign="pulse", value=90) == ["2"]


def test_a_value_said_again_with_whose_it_is_moves() -> None:
    a = session(
        "Corporal Lindqvist, pulse ninety-two.",
        "Private Mbatha, pulse eighty.",
        "I swapped them: ninety-two is Mbatha's, eighty is Lindqvist's.",
    )
    moved = {(f.data["value"], f.casualty) for f in facts_of(a, "vital") if f.replaces}
    assert moved == {(92, "2"), (80, "1")}


def test_a_splint_said_to_be_on_another_casualty_moves_without_a_new_one() -> None:
    a = session(
        "Specialist Quist, broken left forearm, SAM splint.",
        "Private Horvath, right ankle deformed.",
        "Correction, the splint is on Horvath, not Quist.",
    )
    splints = facts_of(a, "treatment")
    assert [(f.casualty, f.replaces) for f in splints] == [("1", None), ("2", splints[0].id)]


def test_a_name_nobody_has_moves_nothing() -> None:
    a = session("Corporal Ueda, pulse ninety.", "That pulse is Garrison's.")
    assert [f.casualty for f in facts_of(a, "vital")] == ["1"]


# --- casualties known by their role or by where they lie -----------------------------------------


def test_roles_said_as_subjects_introduce_casualties() -> None:
    a = session(
        "The truck rolled, two hurt.",
        "Gunner first, left forearm is deformed, pulse ninety-six.",
        "Driver's got a cut across the scalp, pulse eighty-two.",
        "Gunner's pain is a seven.",
    )
    assert who(a, "vital", sign="pulse", value=96) == who(a, "vital", sign="pain", value=7)
    assert who(a, "vital", sign="pulse", value=82) != who(a, "vital", sign="pulse", value=96)
    assert len(a.people.known) == 2


def test_a_role_that_gave_care_introduces_nobody() -> None:
    a = session(
        "Private Brooks, frag to the right thigh; the gate guard had already put a CAT on her "
        "right leg at 0914.",
    )
    assert set(a.people.known) == {"1"} and who(a, "tourniquet") == ["1"]


def test_casualties_told_apart_by_where_they_lie() -> None:
    a = session(
        "Three down. The guy by the wall, the one on the steps, and the one in the doorway.",
        "Guy by the wall, GSW left shoulder.",
        "Steps guy is shot through the right calf.",
        "Doorway, pulse one-twenty-six.",
        "Wall guy, pulse one-eighteen.",
    )
    assert len(a.people.known) == 3
    wall = who(a, "vital", sign="pulse", value=118)
    assert wall == [f.casualty for f in facts_of(a, "injury") if "shoulder" in str(f.data)]
    assert who(a, "vital", sign="pulse", value=126) not in ([], wall)


def test_a_wound_on_the_right_is_no_place() -> None:
    a = session("Frag wound to the left calf.", "Another small one on the right hand.")
    assert set(a.people.known) == {"1"}


def test_casualties_told_apart_by_what_happened_to_them() -> None:
    a = session(
        "Three casualties. The one who got thrown into the wall, and the radio guy.",
        "Radio guy, left forearm shredded, pulse one-twenty.",
        "Wall guy is confused, pulse fifty-six.",
    )
    assert len(a.people.known) == 2
    assert who(a, "vital", sign="pulse", value=120) != who(a, "vital", sign="pulse", value=56)


def test_a_convoy_that_got_hit_is_nobodys_name() -> None:
    a = session("Convoy got hit at 1205.", "Specialist Ellsworth, right leg open fracture.")
    assert names(a) == {"1": "Ellsworth"}


def test_roles_each_before_a_name_in_one_list() -> None:
    a = session(
        "Truck two: the driver, Specialist Ellsworth, the gunner, Sergeant Koivisto.",
        "The gunner, pain seven.",
        "The driver, pulse one-twenty-four.",
    )
    assert names(a) == {"1": "Ellsworth", "2": "Koivisto"}
    assert who(a, "vital", sign="pain", value=7) == ["2"]
    assert who(a, "vital", sign="pulse", value=124) == ["1"]


def test_nicknames_listed_after_a_count_introduce_casualties() -> None:
    a = session(
        "Grenade through the window, three hit.",
        "Tex, Moose, and the new guy, Private Kane.",
        "Moose, pulse one-ten.",
        "Tex, pain five.",
    )
    assert names(a) == {"3": "Kane"}  # nicknames are no last names
    assert {a for c in a.people.known.values() for a in c.aliases} >= {"tex", "moose"}
    assert who(a, "vital", sign="pulse", value=110) != who(a, "vital", sign="pain", value=5)


def test_capitalised_words_in_a_list_without_a_count_are_no_names() -> None:
    a = session("Sergeant Amsel, frag to the left shin.", "Kerlix, Celox, and tape, all used.")
    assert names(a) == {"1": "Amsel"}


def test_casualties_listed_by_role_after_i_have_got() -> None:
    a = session(
        "Bradley's burning, crew's out.",
        "I've got the driver, the gunner, the BC and one dismount.",
        "Driver came out through his hatch, burns on both hands.",
        "Gunner has frag in the right thigh.",
    )
    assert len(a.people.known) == 4
    burns = [f.casualty for f in facts_of(a, "injury") if f.data["kind"] == "burn"]
    frag = [f.casualty for f in facts_of(a, "injury") if f.data["kind"] == "fragment"]
    assert burns == ["1"] and frag == ["2"]


def test_one_sign_said_once_for_several_casualties() -> None:
    a = session(
        "Three burned: Specialist Ngata, Private Obregon, and Sergeant Fenn.",
        "Pulses, Ngata one-ten, Obregon one-oh-four, and Fenn one-twenty.",
    )
    assert who(a, "vital", sign="pulse", value=110) == ["1"]
    assert who(a, "vital", sign="pulse", value=104) == ["2"]
    assert who(a, "vital", sign="pulse", value=120) == ["3"]


def test_a_sign_then_other_signs_is_no_list_of_casualties() -> None:
    a = session("Casualty one, frag to the arm.", "Sats ninety-one, pulse fifty-four.")
    vitals = {(f.data["sign"], f.data["value"]) for f in facts_of(a, "vital")}
    assert vitals == {("spo2", 91), ("pulse", 54)}


def test_casualties_by_litter_number() -> None:
    a = session(
        "Litter two, Sergeant Kitteridge, burns to the face.",
        "Litter one, Specialist Oyelaran, frag to the right thigh.",
        "Pulses, one's one-oh-eight, two's ninety.",
    )
    assert names(a) == {"1": "Oyelaran", "2": "Kitteridge"}
    assert who(a, "vital", sign="pulse", value=108) == ["1"]
    assert who(a, "vital", sign="pulse", value=90) == ["2"]


@pytest.mark.parametrize(
    "named",
    ["Names: the LT is First Lieutenant Osgood.", "The LT is Lieutenant Osgood."],
)
def test_a_casualty_known_by_role_or_place_is_named_later(named: str) -> None:
    a = session(
        "Two hurt when the floor gave way. The LT and the driver.",
        "LT, right ankle deformed.",
        "Driver's got rebar in his left thigh.",
        named,
        "Osgood, pulse ninety.",
    )
    assert len(a.people.known) == 2
    ankle = [f.casualty for f in facts_of(a, "injury") if "ankle" in str(f.data["site"])]
    assert who(a, "vital", sign="pulse", value=90) == ankle


def test_a_casualty_known_by_where_he_lies_is_named_later() -> None:
    a = session(
        "Two down. The guy by the wall and the one on the steps.",
        "Guy by the wall, GSW left shoulder.",
        "Wall guy is Sergeant, uh, Sergeant Okoye.",
        "Okoye, pulse one-eighteen.",
    )
    assert len(a.people.known) == 2 and names(a) == {"1": "Okoye"}
    assert who(a, "vital", sign="pulse", value=118) == ["1"]


def test_a_name_and_a_role_introduce_an_announced_casualty() -> None:
    a = session(
        "Roof came down on us, three hurt.",
        "Staff Sergeant Lindahl, right thigh deformed.",
        "Specialist Castellvi, left shoulder dislocated.",
        "And Farouk, our interpreter, cut his right forearm.",
        "Nobody's got allergies, I asked all three.",
    )
    assert names(a) == {"1": "Lindahl", "2": "Castellvi", "3": "Farouk"}
    assert sorted(who(a, "identity", field="allergies", value="NKDA")) == ["1", "2", "3"]


def test_a_name_and_a_role_of_nobody_announced_introduce_nobody() -> None:
    a = session("Private Ruiz, frag to the left leg.", "Mendez, our driver, is getting the truck.")
    assert names(a) == {"1": "Ruiz"}


def test_a_role_in_a_list_after_a_name_is_the_next_casualty() -> None:
    a = session(
        "Three casualties. Quick list: Specialist Kettering, the cook, the LT.",
        "The cook, both legs peppered, pulse ninety-six.",
        "Kettering, pulse one-sixteen.",
    )
    assert who(a, "vital", sign="pulse", value=96) != who(a, "vital", sign="pulse", value=116)


def test_shared_statements_said_of_both() -> None:
    a = session(
        "Two of ours hit. Specialist Holt and Sergeant Arriaga.",
        "Pain, Arriaga six, Holt four.",
        "Neither one has allergies.",
        "Moxi four hundred PO for both at 1405.",
    )
    assert who(a, "vital", sign="pain", value=6) == ["2"]
    assert who(a, "vital", sign="pain", value=4) == ["1"]
    assert sorted(who(a, "identity", field="allergies", value="NKDA")) == ["1", "2"]
    assert sorted(f.casualty for f in facts_of(a, "medication")) == ["1", "2"]


def test_a_tent_fire_burns_those_it_burned() -> None:
    a = session(
        "Tent fire, the whole tent went up at 0515. Three burned.",
        "Specialist Ngata, burns to both hands.",
    )
    assert count_announced("Three burned.") == 3
    assert any(f.data.get("value") == "Burn" for f in facts_of(a, "mechanism"))
