"""How medics say things the card records, beyond the development narrations' words: ranks,
unit chains, allergies, wounds and their sites in card terms, slang and brand names of devices
and drugs, blood pressure said as "pressure". Each table states one general pattern of speech
with phrasings of its own."""

from __future__ import annotations

import pytest

from tccc.analysis.extractors import identity, injuries
from tccc.analysis.interventions import devices
from tccc.analysis.lexicon import load_lexicon
from tccc.analysis.measures import medications, vitals
from tccc.analysis.text import Span
from tccc.stt.normaliser import Normaliser

LEX = load_lexicon()
NORMALISER = Normaliser()


def span(raw: str) -> Span:
    """The normalised text of a sentence, as the extractors get it."""
    return Span(NORMALISER.normalise(raw).text, 0)


def fields(raw: str) -> dict[str, object]:
    """Identity field -> value found in a sentence (the first of each)."""
    out: dict[str, object] = {}
    for f in identity(span(raw), LEX):
        out.setdefault(str(f.data["field"]), f.data["value"])
    return out


@pytest.mark.parametrize(
    ("said", "rank", "last"),
    [
        ("Casualty is Private Second Class Omar Haddad.", "Private Second Class", "Haddad"),
        ("This is Airman First Class Lena Ivers.", "Airman First Class", "Ivers"),
        ("Patient is Petty Officer Third Class Duarte.", "Petty Officer Third Class", "Duarte"),
        ("It's Senior Airman Boateng.", "Senior Airman", "Boateng"),
        ("Lieutenant Colonel Fairweather is the casualty.", "Lieutenant Colonel", "Fairweather"),
    ],
)
def test_whole_rank_before_the_name(said: str, rank: str, last: str) -> None:
    """A rank of several words is the rank: its last word ("Class") is never the name."""
    found = fields(said)
    assert (found["rank"], found["last_name"]) == (rank, last)


@pytest.mark.parametrize(
    ("said", "unit"),
    [
        ("Private Moss, Second Platoon, Delta Company.", "Second Platoon, Delta Company"),
        ("He's with 3rd Squad, 1st Platoon.", "3rd Squad, 1st Platoon"),
        ("Cpl Tran, Scout Section, Headquarters Company.", "Scout Section, Headquarters Company"),
        ("Airman Vos, Security Forces.", "Security Forces"),
        ("Sergeant Abe from Alpha Battery.", "Alpha Battery"),
        ("Specialist Kim, Maintenance Platoon of Forward Support Company.", None),
    ],
)
def test_unit_parts_said_in_a_row_are_one_unit(said: str, unit: str | None) -> None:
    found = fields(said)
    if unit is None:
        assert str(found["unit"]).startswith("Maintenance Platoon")
    else:
        assert found["unit"] == unit


@pytest.mark.parametrize(
    ("said", "allergy"),
    [
        ("Allergic to sulfa drugs.", "sulfa"),
        ("He has an allergy to latex.", "latex"),
        ("Allergies are penicillin and codeine.", "penicillin and codeine"),
        ("Known allergy: shellfish.", "shellfish"),
        ("Peanut allergy, nothing else.", "peanut"),
        ("No known drug allergy.", "NKDA"),
        ("He denies any allergies.", "NKDA"),
        ("Denies allergies.", "NKDA"),
    ],
)
def test_allergies_said_every_way(said: str, allergy: str) -> None:
    assert fields(said)["allergies"] == allergy


@pytest.mark.parametrize(
    ("said", "site"),
    [
        ("Big bruise over the right hip.", "right hip"),
        ("Stabbed in the left upper arm.", "left upper arm"),
        ("Dog bite to the left calf.", "left calf"),
        ("A round hit him in the right shoulder.", "right shoulder"),
        ("Frag from the mortar to the, uh, left shin.", "left lower leg"),
        ("Burns across the belly.", "abdomen"),
        ("GSW to the left bicep.", "left upper arm"),
        ("Shrapnel in his right cheek.", "right face"),
        ("Laceration to the front of the neck.", "front of the neck"),
        ("Gunshot wound to the upper leg, left side.", "upper leg"),
    ],
)
def test_wounds_and_their_sites_in_card_terms(said: str, site: str) -> None:
    found = [f.data["site"] for f in injuries(span(said), LEX)]
    if site == "upper leg":
        assert found == ["thigh"]  # the region in card terms; its side was said after it
    else:
        assert found == [site]


@pytest.mark.parametrize(
    ("said", "kind", "value"),
    [
        ("Packed it with Celox.", "dressing", "Hemostatic"),
        ("Threw an Israeli on it.", "dressing", "Pressure"),
        ("Slapped a HyFin on the hole.", "breathing", "Chest-Seal"),
        ("Put a Bolin seal on his back.", "breathing", "Chest-Seal"),
        ("Stuck him with a needle, left side.", "breathing", "Needle-D"),
        ("Decompressed him on the right.", "breathing", "Needle-D"),
        ("Nasal trumpet in the right nostril.", "airway", "NPA"),
        ("Had to crike him.", "airway", "CRIC"),
        ("King LT is in.", "airway", "SGA"),
        ("Wrapped him in a heat sheet.", "treatment", "Hypothermia-Prevention"),
        ("Pelvic binder on.", "treatment", "Splint"),
    ],
)
def test_slang_and_brand_names_of_devices(said: str, kind: str, value: str) -> None:
    found = [(f.kind, f.data["value"]) for f in devices(span(said), LEX)]
    assert (kind, value) in found


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Gave him a fent lollipop.", "OTFC"),
        ("Fent fifty mikes IV.", "Fentanyl"),
        ("Versed two milligrams IV.", "Midazolam"),
        ("Keflex five hundred milligrams PO.", "Cephalexin"),
    ],
)
def test_slang_and_brand_names_of_drugs(said: str, name: str) -> None:
    assert name in [f.data["name"] for f in medications(span(said), LEX)]


@pytest.mark.parametrize(
    ("said", "bp"),
    [
        ("Pressure's about a hundred over sixty.", "100/60"),
        ("Pressure is ninety over fifty.", "90/50"),
        ("Blood pressure dropped to eighty over forty.", "80/40"),
    ],
)
def test_blood_pressure_said_as_pressure(said: str, bp: str) -> None:
    found = [f.data["value"] for f in vitals(span(said), LEX) if f.data["sign"] == "bp"]
    assert found == [bp]


@pytest.mark.parametrize(
    "said",
    ["Holding pressure for three minutes.", "Pressure dressing on the arm.", "Pressure is soft."],
)
def test_pressure_without_a_reading_is_no_blood_pressure(said: str) -> None:
    assert [f for f in vitals(span(said), LEX) if f.data["sign"] == "bp"] == []


@pytest.mark.parametrize(
    ("said", "kind", "field", "values"),
    [
        (
            ("Frag wound to the left forearm.", "And another small one on the right knee."),
            "injury",
            "site",
            ["left forearm", "right knee"],
        ),
        (
            ("CAT on the right thigh at 0910,", "and a second one on the left thigh."),
            "tourniquet",
            "limb",
            ["R Leg", "L Leg"],
        ),
        (("Pulse 100.", "Another one on the right arm."), "injury", "site", []),
    ],
)
def test_another_one_is_one_more_of_what_was_just_said(
    said: tuple[str, ...], kind: str, field: str, values: list[str]
) -> None:
    from test_analyzer import session

    a = session(" ".join(said))
    assert [f.data[field] for f in a.facts if f.kind == kind] == values
