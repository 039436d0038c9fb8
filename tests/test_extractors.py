"""Extractors (tccc.analysis.extractors, interventions, measures, text): pure functions of one
sentence of normalised text. Each is run on what the normaliser makes of spoken narration, with
positive cases, denials and plans that must give no fact, and numbers that mean something else."""

from __future__ import annotations

import pytest

from tccc.analysis.analyzer import EXTRACTORS
from tccc.analysis.extractors import (
    Extractor,
    Found,
    evacuation,
    identity,
    injuries,
    mechanism,
)
from tccc.analysis.interventions import devices, tourniquets
from tccc.analysis.lexicon import Lexicon, load_lexicon
from tccc.analysis.measures import access, burns, fluids, medications, valid_vital, vitals
from tccc.analysis.text import Span, clauses, negated, sentences, times
from tccc.events import Scalar
from tccc.stt.normaliser import Normaliser

Row = tuple[str, dict[str, Scalar]]


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    """The bundled extraction lexicon."""
    return load_lexicon()


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    """The bundled normaliser (spoken numbers to digits, term names)."""
    return Normaliser()


def found(extract: Extractor, text: str, lex: Lexicon) -> list[Found]:
    """Everything `extract` finds in each sentence of `text`, checking every span is in it."""
    out: list[Found] = []
    for sentence in sentences(text):
        for f in extract(sentence, lex):
            assert 0 <= f.start < f.end <= len(text), (f, text)
            out.append(f)
    return out


def rows(extract: Extractor, text: str, lex: Lexicon) -> list[Row]:
    """(kind, data) of each finding."""
    return [(f.kind, f.data) for f in found(extract, text, lex)]


def said(extract: Extractor, raw: str, lex: Lexicon, normaliser: Normaliser) -> list[Row]:
    """(kind, data) of each finding in what the normaliser makes of spoken `raw`."""
    return rows(extract, normaliser.normalise(raw).text, lex)


# --- text helpers -------------------------------------------------------------------------------


def test_sentences_split_at_stops_but_not_inside_numbers_or_before_a_value() -> None:
    text = "Needle D 3.25 inch. Vitals at 1040: pulse 128. AVPU: V. Pulse: 110; BP 90/60"
    spans = sentences(text)
    assert [s.text for s in spans] == [
        "Needle D 3.25 inch",
        "Vitals at 1040",
        "pulse 128",
        "AVPU: V",
        "Pulse: 110",
        "BP 90/60",
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_clauses_have_offsets_in_the_whole_text() -> None:
    text = "First. Casualty 1, GSW to the leg,  CAT at 1432."
    sentence = sentences(text)[1]
    got = clauses(sentence)
    assert [c.text for c in got] == ["Casualty 1", "GSW to the leg", "CAT at 1432"]
    assert all(text[c.start : c.end] == c.text for c in got)


def test_a_comma_after_a_lone_word_ends_no_clause() -> None:
    # Slow dictation: Whisper puts a comma after nearly every word.
    text = "Gunshot, wound, to the left, thigh at 1410, heavy bleeding."
    got = clauses(sentences(text)[0])
    assert [c.text for c in got] == [
        "Gunshot, wound, to the left, thigh at 1410",
        "heavy bleeding",
    ]
    assert all(text[c.start : c.end] == c.text for c in got)


def test_a_type_and_tourniquet_split_by_whispers_commas_are_one(lex: Lexicon) -> None:
    text = "CAT, tourniquet, high, and tight on the left, thigh at 1412, bleeding stopped."
    assert rows(tourniquets, text, lex) == [tq("L Leg", "CAT", "1412", high=True)]


@pytest.mark.parametrize(
    ("raw", "hhmm"),
    [
        ("tourniquet at fourteen thirty-two zulu", ["1432"]),
        ("tourniquet at zero eight fifteen", ["0815"]),
        ("started at ten oh five", ["1005"]),
        ("time of injury thirteen fifty-five", ["1355"]),
        ("fourteen hundred hours", ["1400"]),
        ("CAT at 1310 and 1312", ["1310", "1312"]),
        # Counts, doses and volumes are not times, even with four digits.
        ("1000 mg acetaminophen", []),
        ("gave 1 unit and 500 mL", []),
        ("grid 1234 5678", []),
        ("sats 2400", []),
        ("at 2460", []),
    ],
)
def test_times_only_read_cued_clock_times(
    raw: str, hhmm: list[str], normaliser: Normaliser
) -> None:
    text = normaliser.normalise(raw).text
    got = times(Span(text, 0))
    assert [t.hhmm for t in got] == hhmm
    assert all(text[t.start : t.end] == t.hhmm for t in got)


@pytest.mark.parametrize(
    ("text", "word", "denied"),
    [
        ("no tourniquet needed", "tourniquet", True),
        ("tourniquet not needed", "tourniquet", True),
        ("without a chest seal", "chest seal", True),
        ("holding off on ketamine", "ketamine", True),
        ("will need a chest seal", "chest seal", True),
        ("didn't give TXA", "TXA", True),
        ("TXA not given yet", "TXA", True),
        ("naloxone on standby", "naloxone", True),
        ("ketamine 50 mg IM if pain gets worse", "ketamine", True),
        ("applied a tourniquet", "tourniquet", False),
        ("bleeding stopped after the tourniquet", "tourniquet", False),
        ("TXA 2 g IV at 1445", "TXA", False),
    ],
)
def test_negated_denials_and_plans(text: str, word: str, denied: bool) -> None:
    start = text.index(word)
    assert negated(Span(text, 0), start, start + len(word)) is denied


# --- identity and evacuation --------------------------------------------------------------------


def test_identity_name_rank_roster_unit(lex: Lexicon, normaliser: Normaliser) -> None:
    raw = (
        "Casualty is Staff Sergeant Maria Lopez, roster Lima Mike two three four five, "
        "Bravo Company"
    )
    got = {d["field"]: d["value"] for _, d in said(identity, raw, lex, normaliser)}
    assert got == {
        "rank": "Staff Sergeant",
        "last_name": "Lopez",
        "first_name": "Maria",
        "battle_roster": "LM2345",
        "unit": "Bravo Company",
    }


@pytest.mark.parametrize(
    ("raw", "roster"),
    [
        ("Madel roster, NA7721, Bravo Company.", ["NA7721"]),
        ("Battle roster NA7721.", ["NA7721"]),
        ("Casualty 3, roster SL0446.", ["SL0446"]),
        # Not the shape of a roster number.
        ("Pulse 110, BP 120/80, sats 97.", []),
        ("M4 rifle, NA77210 serial, NA-7721.", []),
    ],
)
def test_identity_roster(raw: str, roster: list[str], lex: Lexicon) -> None:
    got = [d["value"] for _, d in rows(identity, raw, lex) if d["field"] == "battle_roster"]
    assert got == roster


@pytest.mark.parametrize(
    ("raw", "unit"),
    [
        ("Charlie Company.", ["Charlie Company"]),
        ("he is from charlie company", ["Charlie Company"]),
        ("1st Platoon.", ["1st Platoon"]),
        ("First Platoon.", ["First Platoon"]),
        ("Private First Class Ortiz Alpha Company", ["Alpha Company"]),
        ("He is in the company of his squad leader.", []),
        ("HHC.", []),
        ("Headquarters Company.", ["Headquarters Company"]),
        # A unit named in capitals is taken as said ("Sapper Company"); Whisper's "Blanco
        # Company" for "Bravo Company" rests on an unsure word, which the speech gate holds back
        # (tests/test_speech_gate.py); an unknown word in lower case names no unit.
        ("Sapper Company.", ["Sapper Company"]),
        ("he said blanco company", []),
    ],
)
def test_identity_unit(raw: str, unit: list[str], lex: Lexicon, normaliser: Normaliser) -> None:
    got = said(identity, raw, lex, normaliser)
    assert [d["value"] for _, d in got if d["field"] == "unit"] == unit
    names = [d["value"] for _, d in got if d["field"] in ("last_name", "first_name")]
    assert "Alpha" not in names


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("last four one two three four", "1234"),
        ("last four is four four one seven", "4417"),
        # The normaliser joins "four six six two one" into one number.
        ("Sergeant Lee, last four six six two one", "6621"),
    ],
)
def test_identity_last4(raw: str, value: str, lex: Lexicon, normaliser: Normaliser) -> None:
    got = [d["value"] for _, d in said(identity, raw, lex, normaliser) if d["field"] == "last4"]
    assert got == [value]


@pytest.mark.parametrize(
    ("raw", "allergies"),
    [
        ("No known drug allergies.", ["NKDA"]),
        ("NKA.", ["NKDA"]),
        ("Denies allergies.", ["NKDA"]),
        ("Allergies: none.", ["NKDA"]),
        ("Not allergic to anything.", ["NKDA"]),
        ("He is allergic to penicillin.", ["penicillin"]),
        ("Allergic to penicillin and sulfa.", ["penicillin and sulfa"]),
        ("Is he allergic to anything?", []),
        # A misheard allergen ("allergic to sulfa" heard as "allergic to so, that's it").
        ("Allergic to so, that's it.", []),
    ],
)
def test_identity_allergies(
    raw: str, allergies: list[str], lex: Lexicon, normaliser: Normaliser
) -> None:
    got = [d["value"] for _, d in said(identity, raw, lex, normaliser) if d["field"] == "allergies"]
    assert got == allergies


def test_identity_weight_and_no_name_without_a_capital(
    lex: Lexicon, normaliser: Normaliser
) -> None:
    got = said(identity, "He's about ninety kilos, major bleeding from the leg.", lex, normaliser)
    assert got == [("identity", {"field": "weight_kg", "value": 90})]


@pytest.mark.parametrize(
    ("raw", "category"),
    [
        ("Requesting urgent evac.", ["Urgent"]),
        ("Urgent surgical.", ["Urgent"]),
        ("Evac category priority.", ["Priority"]),
        ("Casualty two routine.", ["Routine"]),
        ("Routine.", ["Routine"]),
        # Denied, counted or another sense of the word: no category.
        ("Not urgent.", []),
        ("Three casualties, two urgent, one routine.", []),
        ("Priority is stopping the bleeding.", []),
        ("Bleeding is not urgent, will reassess.", []),
        # Whisper: "evac" heard as "feedback", "medevac" as "in Mac", a stop left out.
        ("Requesting urgent feedback.", ["Urgent"]),
        ("Routine in Mac.", ["Routine"]),
        ("Two grams TXA IO at 0832 Urgent surgical", ["Urgent"]),
        ("Gave morphine at 0832 urgent need for more", []),
    ],
)
def test_evacuation(raw: str, category: list[str], lex: Lexicon, normaliser: Normaliser) -> None:
    got = [d["category"] for _, d in said(evacuation, raw, lex, normaliser)]
    assert got == category


def test_evacuation_with_a_name_carries_it_for_the_analyzer(lex: Lexicon) -> None:
    got = rows(evacuation, "Diaz is urgent surgical, Chen is priority.", lex)
    assert got == [
        ("evac", {"category": "Urgent", "subject": "Diaz"}),
        ("evac", {"category": "Priority", "subject": "Chen"}),
    ]


# --- mechanism and injuries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IED strike.", [("mechanism", {"value": "IED", "word": "ied"})]),
        ("He got shot in the left leg.", [("mechanism", {"value": "GSW", "word": "shot"})]),
        ("Hit by a round.", [("mechanism", {"value": "GSW", "word": "hit by a round"})]),
        (
            "Mortar round landed next to him.",
            [("mechanism", {"value": "Artillery", "word": "mortar"})],
        ),
        ("Vehicle rollover.", [("mechanism", {"value": "MVC", "word": "vehicle rollover"})]),
        (
            "The IED went off at zero seven twelve.",
            [("mechanism", {"value": "IED", "word": "ied"}), ("time_of_injury", {"time": "0712"})],
        ),
        (
            "Fell off a roof at twenty-two zero five local.",
            [
                ("mechanism", {"value": "Fall", "word": "fell off"}),
                ("time_of_injury", {"time": "2205"}),
            ],
        ),
        ("Time of injury thirteen fifty-five.", [("time_of_injury", {"time": "1355"})]),
        # Other senses of the words.
        ("Gave him a shot of morphine.", []),
        ("His BP is falling.", []),
        ("BP fell to eighty over fifty.", []),
        ("No IED, no gunshot.", []),
        ("Shot 82 on room air.", []),  # Whisper's "sats 82"
        # Whisper's hearings of "IED strike" and "fell from".
        (
            "I need strike, second casualty.",
            [("mechanism", {"value": "IED", "word": "i need strike"})],
        ),
        ("Felt from the guard tower.", [("mechanism", {"value": "Fall", "word": "felt from"})]),
        ("I felt fine.", []),
    ],
)
def test_mechanism(raw: str, expected: list[Row], lex: Lexicon, normaliser: Normaliser) -> None:
    assert said(mechanism, raw, lex, normaliser) == expected


def test_mechanism_time_in_a_clause_about_care_is_not_the_injury_time(lex: Lexicon) -> None:
    got = rows(mechanism, "IED strike, CAT on the left leg at 0720.", lex)
    assert got == [("mechanism", {"value": "IED", "word": "ied"})]
    got = rows(mechanism, "GSW right thigh tourniquet at 1432.", lex)
    assert ("time_of_injury", {"time": "1432"}) not in got


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Gunshot wound to the right thigh.", [("right thigh", "GSW")]),
        ("GSW to the neck.", [("neck", "GSW")]),
        ("Shrapnel to the abdomen.", [("abdomen", "fragment")]),
        ("He got shot in the left leg.", [("left leg", "GSW")]),
        ("Left leg amputation.", [("left leg", "amputation")]),
        (
            "Left leg traumatic amputation above the knee.",
            [("left leg above the knee", "amputation")],
        ),
        (
            "Traumatic amputation left leg below the knee.",
            [("left leg below the knee", "amputation")],
        ),
        (
            "Frag cuts to the face and left hand.",
            [("face", "laceration"), ("left hand", "laceration")],
        ),
        ("Burns to both hands.", [("both hands", "burn")]),
        # Whisper's commas in slow dictation.
        ("Gunshot, wound, to the left, thigh at 1410.", [("left thigh", "GSW")]),
        (
            "Boggy swelling over the right side of the skull.",
            [("right side of the skull", "blunt head injury")],
        ),
        # A side said further back belongs to something else ("right side ... chest seal").
        (
            "He has a sucking chest wound on the right side applied a chest seal.",
            [("chest", "wound")],
        ),
        ("Obvious deformity of the right forearm.", [("right forearm", "deformity")]),
        (
            "Shrapnel to the abdomen and GSW to the neck.",
            [("abdomen", "fragment"), ("neck", "GSW")],
        ),
        # The site after a device is the device's, not the wound's.
        (
            "Right foot partial amputation CAT on the right leg.",
            [("right foot", "partial amputation")],
        ),
        # Denied or without a site: no injury.
        ("No obvious injuries to the chest.", []),
        ("No burns.", []),
        ("Gave him a shot of morphine in the thigh.", []),
    ],
)
def test_injuries(
    raw: str, expected: list[tuple[str, str]], lex: Lexicon, normaliser: Normaliser
) -> None:
    got = said(injuries, raw, lex, normaliser)
    assert all(kind == "injury" for kind, _ in got)
    assert [(d["site"], d["kind"]) for _, d in got] == expected


# --- tourniquets, dressings, airway, breathing, treatments --------------------------------------


def tq(
    limb: str | None,
    kind: str | None = None,
    time: str | None = None,
    category: str = "Extremity",
    *,
    high: bool = False,
    above: bool = False,
) -> Row:
    """A tourniquet finding as the extractor gives it."""
    data: dict[str, Scalar] = {
        "limb": limb,
        "type": kind,
        "time": time,
        "category": category,
        "high_and_tight": high,
        "above_previous": above,
    }
    return ("tourniquet", data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("TQ applied to left arm at 0930.", [tq("L Arm", None, "0930")]),
        (
            "CAT tourniquet high and tight on the right thigh at fourteen thirty-two zulu.",
            [tq("R Leg", "CAT", "1432", high=True)],
        ),
        ("Right leg tourniquet at fourteen thirty-two.", [tq("R Leg", None, "1432")]),
        ("tq right leg twelve oh five", [tq("R Leg", None, "1205")]),
        ("Tourniquet placed on the left upper arm.", [tq("L Arm")]),
        ("At fourteen thirty-two applied a CAT to the right leg.", [tq("R Leg", "CAT", "1432")]),
        (
            "Tourniquet on the left leg at zero eight fifteen, it's a SOFT-T wide.",
            [tq("L Leg", "SOFTT-W", "0815")],
        ),
        (
            "Tourniquet on the right arm, it's a SOFT-T wide, at twelve twelve.",
            [tq("R Arm", "SOFTT-W", "1212")],
        ),
        (
            "Two CATs side by side on the left thigh at thirteen ten and thirteen twelve.",
            [tq("L Leg", "CAT", "1310"), tq("L Leg", "CAT", "1312")],
        ),
        ("Two CATs applied.", [tq(None, "CAT"), tq(None, "CAT")]),
        (
            "Applied a junctional tourniquet at zero eight twenty.",
            [tq("Junctional", None, "0820", "Junctional")],
        ),
        (
            "SAM junctional tourniquet applied at zero eight twenty.",
            [tq("Junctional", "SAM-JT", "0820", "Junctional")],
        ),
        # Denied, planned, or the time of something else.
        ("No tourniquet needed.", []),
        ("Tourniquet not needed, bleeding controlled with pressure.", []),
        ("Will need a tourniquet.", []),
        ("Tourniquet on the left leg, needle D at zero nine fifty.", [tq("L Leg")]),
        # A tourniquet already on is no new one.
        ("I checked the tourniquet at fourteen thirty.", []),
        ("Reassessed the tourniquet at fifteen hundred, bleeding controlled.", []),
        ("Tightened the tourniquet.", []),
    ],
)
def test_tourniquets(raw: str, expected: list[Row], lex: Lexicon, normaliser: Normaliser) -> None:
    assert said(tourniquets, raw, lex, normaliser) == expected


def test_second_tourniquet_above_the_first(lex: Lexicon) -> None:
    got = rows(tourniquets, "CAT on the right leg at 0642 and a second CAT above it at 0645.", lex)
    assert got == [tq("R Leg", "CAT", "0642"), tq(None, "CAT", "0645", above=True)]


def test_tourniquets_without_the_stops_whisper_left_out(lex: Lexicon) -> None:
    text = (
        "CAT on the right leg at 0642 and a second CAT above it at 0645 started an IV in the "
        "left arm"
    )
    assert rows(tourniquets, text, lex) == [
        tq("R Leg", "CAT", "0642"),
        tq(None, "CAT", "0645", above=True),
    ]
    text = "Tourniquet on the left leg at 0815 it's a SOFTT-W the groin bleeding won't stop"
    assert rows(tourniquets, text, lex) == [tq("L Leg", "SOFTT-W", "0815")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It's a SOFTT-W.", [("tourniquet_change", {"action": "type", "type": "SOFTT-W"})]),
        ("That's a CAT.", [("tourniquet_change", {"action": "type", "type": "CAT"})]),
        # A type with more said is a tourniquet of its own, or about something else.
        ("It's a CAT on the right arm.", [tq("R Arm", "CAT")]),
        ("CAT on the left leg.", [tq("L Leg", "CAT")]),
    ],
)
def test_a_sentence_naming_only_a_type_types_the_tourniquet_before(
    text: str, expected: list[Row], lex: Lexicon
) -> None:
    got = [
        (k, {x: y for x, y in d.items() if y is not None}) for k, d in rows(tourniquets, text, lex)
    ]
    want = [(k, {x: y for x, y in d.items() if y is not None}) for k, d in expected]
    assert got == want


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "Converted the tourniquet to a pressure dressing at fifteen thirty.",
            [("converted", "1530", None)],
        ),
        (
            "Removed the tourniquet from the left arm at sixteen hundred.",
            [("removed", "1600", "L Arm")],
        ),
        ("Tourniquet not converted.", []),
        ("Do not convert the tourniquet.", []),
        ("TQ conversion due at sixteen thirty.", []),
        ("Converted to urgent.", []),
    ],
)
def test_tourniquet_changes(
    raw: str,
    expected: list[tuple[str, str | None, str | None]],
    lex: Lexicon,
    normaliser: Normaliser,
) -> None:
    got = [f for f in said(tourniquets, raw, lex, normaliser) if f[0] == "tourniquet_change"]
    assert [(d["action"], d["time"], d.get("limb")) for _, d in got] == expected
    assert len(got) == len(said(tourniquets, raw, lex, normaliser))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Packed the wound with combat gauze.", [("dressing", "Hemostatic")]),
        ("Packed the wound.", [("dressing", "Hemostatic")]),
        ("Packed the wound with Kerlix.", [("dressing", "Other")]),
        ("Packed the wound with gauze.", [("dressing", "Other")]),
        ("Covered the eye with gauze.", []),
        ("Pressure bandage on the right forearm.", [("dressing", "Pressure")]),
        ("Direct pressure held for three minutes.", []),
        ("Covered the burns with dry dressings.", []),
        ("Airway is patent.", [("airway", "Intact")]),
        ("Airway open and clear.", [("airway", "Intact")]),
        ("Put in an NPA.", [("airway", "NPA")]),
        ("Placed a nasal trumpet.", [("airway", "NPA")]),
        ("Cric performed.", [("airway", "CRIC")]),
        ("Suctioned and placed an i-gel.", [("airway", "SGA")]),
        ("Intubated.", [("airway", "ET-Tube")]),
        ("Chest tube placed on the right.", [("breathing", "Chest-Tube")]),
        ("Started oxygen.", [("breathing", "O2")]),
        ("O2 sat ninety five percent.", []),
        ("Oxygen saturation ninety five.", []),
        ("No chest seal needed.", []),
        ("Needle D not needed.", []),
        ("Hypothermia prevention with HPMK.", [("treatment", "Hypothermia-Prevention")]),
        ("Wrapped him in a blizzard blanket.", [("treatment", "Hypothermia-Prevention")]),
        ("He is cold, hypothermia risk, no HPMK available.", []),
        ("Took his combat pill pack.", [("treatment", "Combat-Pill-Pack")]),
        ("Splinted it with a SAM splint.", [("treatment", "Splint")]),
    ],
)
def test_devices(
    raw: str, expected: list[tuple[str, str]], lex: Lexicon, normaliser: Normaliser
) -> None:
    got = said(devices, raw, lex, normaliser)
    assert sorted({(kind, str(d["value"])) for kind, d in got}) == sorted(expected)


def test_breathing_side_time_and_venting(lex: Lexicon, normaliser: Normaliser) -> None:
    got = said(devices, "Needle decompression left chest at zero nine fifty.", lex, normaliser)
    assert got == [("breathing", {"value": "Needle-D", "side": "left", "time": "0950"})]
    got = rows(devices, "Vented chest seal on the left chest.", lex)
    assert got == [("breathing", {"value": "Chest-Seal", "side": "left", "vented": True})]
    got = rows(devices, "Non-vented chest seal on the right chest.", lex)
    assert got == [("breathing", {"value": "Chest-Seal", "side": "right", "vented": False})]


def test_eye_shield_needs_a_side_and_marks_the_eye(lex: Lexicon) -> None:
    got = rows(devices, "Rigid eye shield over the right eye.", lex)
    assert ("treatment", {"value": "Eye-Shield-R", "side": "right"}) in got
    assert ("injury", {"site": "right eye", "kind": None}) in got
    assert rows(devices, "Eye shield applied.", lex) == []


# --- vital signs --------------------------------------------------------------------------------


def vital(sign: str, value: Scalar, **extra: Scalar) -> Row:
    """A vital-sign finding."""
    return ("vital", {"sign": sign, "value": value, **extra})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pulse ox ninety two percent.", [vital("spo2", 92)]),
        ("BP is one hundred over sixty.", [vital("bp", "100/60")]),
        ("AVPU: V.", [vital("avpu", "V")]),
        ("AVPU is P.", [vital("avpu", "P")]),
        ("Pulse: one ten.", [vital("pulse", 110)]),
        ("Pulse rate one twenty.", [vital("pulse", 120)]),
        (
            "Radial pulse one ten and strong.",
            [vital("pulse", 110, location="radial", quality="strong")],
        ),
        ("Pulse one twenty-eight carotid.", [vital("pulse", 128, location="carotid")]),
        ("Resp twenty-four.", [vital("resp_rate", 24)]),
        ("Breathing thirty times a minute.", [vital("resp_rate", 30)]),
        ("Pain seven out of ten.", [vital("pain", 7)]),
        ("GCS fourteen.", [vital("gcs", 14)]),
        ("Responsive to painful stimuli.", [vital("avpu", "P")]),
        ("He only responds to voice.", [vital("avpu", "V")]),
        ("Unresponsive.", [vital("avpu", "U")]),
        ("He's alert and talking.", [vital("avpu", "A")]),
        ("He is A and O times three.", [vital("avpu", "A")]),
        # "No radial pulse" is a finding about the pulse, not a pulse rate of any value.
        ("No radial pulse.", [vital("pulse_quality", "absent", location="radial")]),
        ("Weak radial pulses.", [vital("pulse_quality", "weak", location="radial")]),
        # Out of range, or numbers that are not this sign.
        ("Pulse three hundred.", []),
        ("BP sixty over ninety.", []),
        ("Sats nine.", []),
        ("Pain is about twelve.", []),
        ("He is not unresponsive.", []),
        ("On oxygen fifteen liters.", []),
        ("Pulse ox reading two minutes ago.", []),
        ("Temperature thirty five.", []),
        # How Whisper writes BP and sats it half heard.
        ("Bp1 68/90.", [vital("bp", "168/90")]),
        ("Bb168 over 90.", [vital("bp", "168/90")]),
        ("Bp86 over 50.", [vital("bp", "86/50")]),
        ("Bb 132/84.", [vital("bp", "132/84")]),
        ("Set 97.", [vital("spo2", 97)]),
        ("Paint 8 out of 10.", [vital("pain", 8)]),
        ("Paint 8 on the wall.", []),
        ("Check 99%.", [vital("spo2", 99)]),
        ("Set 20 on the monitor.", []),
        ("Check 90 minutes later.", []),
        ("Set 100 mL aside.", []),
    ],
)
def test_vitals(raw: str, expected: list[Row], lex: Lexicon, normaliser: Normaliser) -> None:
    assert said(vitals, raw, lex, normaliser) == expected


def test_vitals_columns_are_announced_with_their_time(lex: Lexicon, normaliser: Normaliser) -> None:
    got = said(
        vitals,
        "Vitals at ten forty: pulse one twenty-eight, BP eighty-six over fifty.",
        lex,
        normaliser,
    )
    assert got == [("vitals_time", {"time": "1040"}), vital("pulse", 128), vital("bp", "86/50")]
    got = said(vitals, "Second set of vitals, pulse one hundred.", lex, normaliser)
    assert got == [("vitals_time", {"time": None}), vital("pulse", 100)]


def test_valid_vital_ranges() -> None:
    assert valid_vital("pulse", 40) and not valid_vital("pulse", 300)
    assert valid_vital("spo2", 100) and not valid_vital("spo2", 101)
    assert valid_vital("pain", 0) and not valid_vital("pain", 11)
    assert not valid_vital("avpu", 1)  # not a numeric sign


# --- drugs, fluids, access, burns ---------------------------------------------------------------


def med(name: str, dose: str | None, route: str | None, time: str | None, category: str) -> Row:
    """A medication finding."""
    data: dict[str, Scalar] = {
        "category": category,
        "name": name,
        "dose": dose,
        "route": route,
        "time": time,
    }
    return ("medication", data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "Gave him ten milligrams of morphine IV.",
            [med("Morphine", "10 mg", "IV", None, "Analgesic")],
        ),
        (
            "Gave two grams TXA slow IV push at fourteen forty-five.",
            [med("TXA", "2 g", "IV", "1445", "Other")],
        ),
        (
            "Gave fentanyl lozenge eight hundred micrograms.",
            [med("OTFC", "800 mcg", None, None, "Analgesic")],
        ),
        ("Ketamine fifty milligrams IN.", [med("Ketamine", "50 mg", "IN", None, "Analgesic")]),
        (
            "Ketamine fifty milligrams intranasal.",
            [med("Ketamine", "50 mg", "IN", None, "Analgesic")],
        ),
        ("Ertapenem one gram IV.", [med("Ertapenem", "1 g", "IV", None, "Antibiotic")]),
        (
            "Moxifloxacin four hundred milligrams by mouth.",
            [med("Moxifloxacin", "400 mg", "PO", None, "Antibiotic")],
        ),
        ("Naloxone 0.4 mg IN.", [med("Naloxone", "0.4 mg", "IN", None, "Other")]),
        (
            "Ketamine twenty milligrams slow IV at ten twelve.",
            [med("Ketamine", "20 mg", "IV", "1012", "Analgesic")],
        ),
        # The diluent is not the dose.
        (
            "Gave two grams TXA in one hundred mL normal saline.",
            [med("TXA", "2 g", None, None, "Other")],
        ),
        (
            "Hypertonic saline two fifty mL IV.",
            [med("Hypertonic Saline", "250 mL", "IV", None, "Other")],
        ),
        # Denied or planned: no drug given.
        ("No TXA given.", []),
        ("Holding off on ketamine.", []),
        ("Did not give ketamine.", []),
        ("Naloxone on standby.", []),
        ("Ketamine fifty milligrams IM if pain gets worse.", []),
        # "out of 10" is a pain score, not "ran out of".
        (
            "Pain seven out of ten gave ketamine fifty milligrams IM",
            [med("Ketamine", "50 mg", "IM", None, "Analgesic")],
        ),
        ("Ran out of ketamine.", []),
        # The lollipop's route is in its name: the IV said before it is the TXA's.
        (
            "Gave two grams TXA IV at fourteen twenty and a fentanyl lollipop.",
            [
                med("TXA", "2 g", "IV", "1420", "Other"),
                med("OTFC", None, None, "1420", "Analgesic"),
            ],
        ),
    ],
)
def test_medications(raw: str, expected: list[Row], lex: Lexicon, normaliser: Normaliser) -> None:
    assert said(medications, raw, lex, normaliser) == expected


def fluid(
    name: str,
    volume: int | None,
    route: str | None = None,
    time: str | None = None,
    *,
    units: int | None = None,
    rate: int | None = None,
) -> Row:
    """A fluid finding."""
    data: dict[str, Scalar] = {
        "name": name,
        "volume_ml": volume,
        "units": units,
        "rate_ml_h": rate,
        "route": route,
        "time": time,
    }
    return ("fluid", data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Five hundred mL of plasma through the IO.", [fluid("Plasma", 500, "IO")]),
        (
            "Hextend five hundred milliliters IV at zero six fifty-five.",
            [fluid("Hextend", 500, "IV", "0655")],
        ),
        ("One liter of LR through the IV.", [fluid("Lactated Ringer's", 1000, "IV")]),
        ("One unit of whole blood.", [fluid("Whole Blood", None, units=1)]),
        ("Running NS at one hundred mL per hour.", [fluid("Normal Saline", None, rate=100)]),
        # A saline lock is access, and blood lost is no fluid given.
        ("Saline lock placed in the right arm.", []),
        ("He lost about five hundred mL of blood.", []),
        ("No blood available.", []),
        # A drug's carrier, or saline that is a drug's name, is no fluid given.
        ("Gave two grams TXA in one hundred mL normal saline.", []),
        ("Hypertonic saline two fifty mL IV.", []),
    ],
)
def test_fluids(raw: str, expected: list[Row], lex: Lexicon, normaliser: Normaliser) -> None:
    assert said(fluids, raw, lex, normaliser) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Eighteen gauge IV left hand.", [{"route": "IV", "site": "left hand", "gauge": 18}]),
        ("Got an IO in the sternum.", [{"route": "IO", "site": "sternum"}]),
        ("IO in the right tibia.", [{"route": "IO", "site": "right tibia"}]),
        ("Saline lock placed in the right arm.", [{"route": "IV", "site": "right arm"}]),
        # A route said with a drug is the drug's route, not new access.
        ("Two grams TXA IV.", []),
        ("No IV access.", []),
    ],
)
def test_access(
    raw: str, expected: list[dict[str, Scalar]], lex: Lexicon, normaliser: Normaliser
) -> None:
    got = said(access, raw, lex, normaliser)
    assert [d for _, d in got] == expected


@pytest.mark.parametrize(
    ("raw", "tbsa"),
    [
        ("Burns to both arms and the front of the torso, I'm calling it forty percent.", [40]),
        ("About four percent burns to the hands.", [4]),
        ("Sats ninety two percent.", []),
        ("Burns to the face, sats ninety two percent.", []),
    ],
)
def test_burns(raw: str, tbsa: list[int], lex: Lexicon, normaliser: Normaliser) -> None:
    assert [d["tbsa"] for _, d in said(burns, raw, lex, normaliser)] == tbsa


# --- numbers that mean something else -----------------------------------------------------------

ALL = EXTRACTORS  # every extractor, as the analyzer runs them


@pytest.mark.parametrize(
    "raw",
    [
        "3 casualties.",
        "About 5 meters from the blast.",
        "Moved him fifty meters to the CCP.",
        "14 ga needle at the fifth intercostal space, 3.25 inch.",
        "Patient is twenty-five years old.",
        "Wound is three centimeters long.",
        "Took thirty minutes to extract him.",
        "Call sign Dustoff six.",
        "Grid one two three four five six seven eight.",
        "We need two litters.",
    ],
)
def test_unrelated_numbers_are_no_facts(raw: str, lex: Lexicon, normaliser: Normaliser) -> None:
    text = normaliser.normalise(raw).text
    assert [r for extract in ALL for r in rows(extract, text, lex)] == []
