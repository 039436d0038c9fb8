"""Hand-off prose: the prompt carries the record only, and the check accepts a faithful paragraph
and rejects invented numbers, drugs, devices and sites and left-out urgent items, falling back
to the template text and counting why.

Records come from the real pipeline (text narration -> analyzer -> export) or are hand-built in
the export's shape. The fake model implements the real `LanguageModel` interface (name,
identity, chat) and answers with a canned paragraph; the real model is tested elsewhere.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import cast

import pytest

from tccc.analysis.analyzer import SessionAnalyzer
from tccc.analysis.incident import Incident
from tccc.analysis.narration import analyze_text
from tccc.config import Settings
from tccc.errors import LlmError
from tccc.llm.cache import LlmCache
from tccc.llm.model import Completion, Options
from tccc.llm.prose import (
    EXAMPLE_ANSWER,
    EXAMPLE_CASUALTY,
    MAX_TOKENS,
    REASONS,
    TEMPLATE,
    HandoffStats,
    HandoffWriter,
    check_prose,
    handoff_messages,
    problem_reason,
    record_text,
    template_text,
    write_handoff,
)
from tccc.reports.document import Casualty, Prompt
from tccc.store.casualty_log import CasualtyLog

GSW = """Casualty is Specialist Reyes, battle roster Romeo Mike four four one seven, Charlie \
Company, no known drug allergies. Gunshot wound to the right thigh, bright red pulsing bleed. \
CAT tourniquet high and tight on the right thigh at fourteen thirty-two zulu, bleeding stopped, \
no distal pulse. He's alert and talking, resp rate twenty, radial pulse one ten and strong, sats \
ninety-seven, pain seven out of ten. Gave two grams TXA slow IV push at fourteen forty-five and \
he took his combat pill pack. Requesting urgent evac."""

BLAST = """Casualty is Sergeant Diaz, battle roster Delta Kilo two two zero nine. IED blast, \
fragment wounds to the left upper chest and left forearm.

Radial pulse one thirty and weak, resp rate thirty six, sats eighty four, he responds to voice.

Applied a chest seal to the left chest at ten fifteen. Requesting urgent evac."""

WALKER = """Casualty is Sergeant Walker, battle roster Romeo Mike four four one seven, Bravo \
Company. Gunshot wound to the left thigh at fourteen ten. CAT tourniquet on the left thigh at \
fourteen twelve. Gave two grams TXA IV at fourteen twenty. Wrapped him in a Blizzard blanket. \
Requesting priority evac."""

FAITHFUL = (
    "Specialist Reyes, RM4417: gunshot wound to the right thigh. Alert, radial pulse 110, RR 20, "
    "SpO2 97%, pain 7. CAT tourniquet on the right thigh at 1432, TXA 2 g IV at 1445, combat "
    "pill pack. Urgent evacuation."
)
BLAST_FAITHFUL = (
    "Sergeant Diaz, DK2209: IED, fragment wounds to the left upper chest and left forearm. "
    "Pulse 130 radial, RR 36, SpO2 84%, responds to voice. Chest seal. Suspect tension "
    "pneumothorax, hemorrhagic shock, needs resuscitation fluids. Urgent evacuation."
)


def casualty_from(narration: str) -> Casualty:
    """The first casualty of the export of a narration analysed by the real pipeline."""
    log = CasualtyLog(":memory:")
    incident = Incident(log, log.new_session("test"), SessionAnalyzer())
    analyze_text(incident, narration, Settings())
    casualty: Casualty = incident.document()["casualties"][0]
    return casualty


@pytest.fixture(scope="module")
def gsw() -> Casualty:
    """Specialist Reyes: GSW right thigh, one CAT at 1432, TXA 2 g, urgent evacuation."""
    return casualty_from(GSW)


@pytest.fixture(scope="module")
def blast() -> Casualty:
    """Sergeant Diaz: chest and forearm fragments, shock; three urgent prompts."""
    return casualty_from(BLAST)


@dataclass
class CannedModel:
    """A LanguageModel that answers every chat with one paragraph, or raises LlmError."""

    answer: str | None
    completion_tokens: int = 60
    calls: list[tuple[list[dict[str, str]], Options]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "canned"

    @property
    def identity(self) -> str:
        return "canned-1"

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        self.calls.append((messages, options))
        if self.answer is None:
            raise LlmError("the model could not answer", code="llm_failed")
        return Completion(self.answer, 500, self.completion_tokens, 0.5)


# --- the prompt ---------------------------------------------------------------------------------


def test_the_prompt_gives_the_record_and_not_the_transcript(gsw: Casualty) -> None:
    messages = handoff_messages(gsw)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    record = messages[-1]["content"]
    assert record == record_text(gsw)
    for value in ("RM4417", "GSW right thigh", "TQ R Leg CAT 1432", "TXA 2 g IV 1445"):
        assert value in record
    assert "Evacuation: Urgent" in record
    # Said in the narration, not on the card: the model must not see it.
    for said in ("pulsing", "fourteen", "distal pulse", "Requesting"):
        assert said not in record
    # Non-urgent prompts (ketamine, antibiotics) carry doses of drugs not given.
    assert "ketamine" not in record and "moxifloxacin" not in record


def test_urgent_prompts_are_in_the_prompt_by_title(blast: Casualty) -> None:
    record = record_text(blast)
    assert "Urgent alerts: Suspect tension pneumothorax; Hemorrhagic shock; Resuscitation" in record
    assert "needle decompression" not in record  # the prompt's text is not given


def test_the_worked_example_passes_the_check() -> None:
    assert check_prose(EXAMPLE_ANSWER, EXAMPLE_CASUALTY) == []


def test_unplaced_tourniquets_are_in_the_prompt() -> None:
    casualty = hand_built()
    assert "TQ Extremity SOFTT-W 1440" in record_text(casualty)


# --- accept and reject --------------------------------------------------------------------------


def test_a_faithful_paragraph_is_accepted(gsw: Casualty) -> None:
    model, stats = CannedModel(FAITHFUL), HandoffStats()
    handoff = write_handoff(model, gsw, stats=stats)
    assert (handoff.text, handoff.source, handoff.problems) == (FAITHFUL, "canned", [])
    assert (stats.accepted, stats.rejected, stats.errors) == (1, 0, 0)
    ((_, options),) = model.calls
    assert options.temperature == 0.0 and options.max_tokens == MAX_TOKENS


def test_an_invented_dose_is_rejected_and_the_template_used(gsw: Casualty) -> None:
    model, stats = CannedModel(FAITHFUL.replace("TXA 2 g", "TXA 4 g")), HandoffStats()
    handoff = write_handoff(model, gsw, stats=stats)
    assert handoff.source == TEMPLATE
    assert handoff.text == template_text(gsw)
    assert handoff.problems == ["number: 4 g"]
    assert (stats.accepted, stats.rejected, stats.rejected_by["number"]) == (0, 1, 1)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("TXA 2 g", "TXA 2 mg", "number: 2 mg"),  # right number, wrong unit
        ("SpO2 97%", "SpO2 79%", "number: 79%"),
        ("pain 7", "pain 7, BP 120/80", "number: 120/80"),
        ("RM4417", "RM4471", "number: RM4471"),
        ("TXA", "ketamine", "drug: ketamine"),
        ("combat pill pack", "morphine", "drug: morphine"),  # a lexicon drug, not a vocabulary one
        ("combat pill pack", "whole blood", "drug: whole blood"),
        ("combat pill pack", "chest seal", "device: chest seal"),
        ("combat pill pack", "oxygen", "device: oxygen"),
        ("to the right thigh", "to the left thigh", "site: thigh"),
        ("to the right thigh", "to the right arm", "site: arm"),
    ],
)
def test_invented_numbers_drugs_devices_and_sites_are_rejected(
    gsw: Casualty, old: str, new: str, problem: str
) -> None:
    assert old in FAITHFUL
    assert check_prose(FAITHFUL.replace(old, new), gsw) == [problem]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (" Urgent evacuation.", " Evacuate.", "urgent_evac: Urgent not said"),
        (" CAT tourniquet on the right thigh at 1432,", "", "tourniquet: R Leg 1432"),
        (" at 1432", "", "tourniquet: R Leg 1432"),  # its time
        ("on the right thigh ", "", "tourniquet: R Leg 1432"),  # its limb
    ],
)
def test_leaving_out_the_urgent_evacuation_or_a_tourniquet_is_rejected(
    gsw: Casualty, old: str, new: str, problem: str
) -> None:
    assert old in FAITHFUL
    stats = HandoffStats()
    handoff = write_handoff(CannedModel(FAITHFUL.replace(old, new)), gsw, stats=stats)
    assert handoff.problems == [problem]
    assert handoff.source == TEMPLATE
    assert stats.rejected_by == {problem_reason(problem): 1}


def test_every_urgent_prompt_must_be_said(blast: Casualty) -> None:
    assert check_prose(BLAST_FAITHFUL, blast) == []
    left_out = BLAST_FAITHFUL.replace(" Suspect tension pneumothorax,", "")
    assert check_prose(left_out, blast) == [
        "urgent_prompt: R1 Suspect tension pneumothorax not said"
    ]
    # "shock" names both hemorrhagic shock (C1) and the fluids it needs (C3).
    shock = BLAST_FAITHFUL.replace("hemorrhagic shock, needs resuscitation fluids", "in shock")
    assert check_prose(shock, blast) == []
    none = BLAST_FAITHFUL.replace(
        " Suspect tension pneumothorax, hemorrhagic shock, needs resuscitation fluids.", ""
    )
    assert [problem_reason(p) for p in check_prose(none, blast)] == ["urgent_prompt"] * 3


def test_a_prompt_title_may_name_a_drug_not_given() -> None:
    # The TXA prompt of a casualty without TXA: naming the alert is no invented drug.
    casualty = hand_built()
    casualty["prompts"] = [urgent_prompt("C2", "TXA", "1515")]
    assert "TXA" in record_text(casualty)
    assert check_prose(HAND_BUILT_FAITHFUL + " TXA due by 1515.", casualty) == []
    assert check_prose(HAND_BUILT_FAITHFUL, casualty) == ["urgent_prompt: C2 TXA not said"]


def test_a_model_error_falls_back_to_the_template(gsw: Casualty) -> None:
    stats = HandoffStats()
    handoff = write_handoff(CannedModel(None), gsw, stats=stats)
    assert handoff.source == TEMPLATE and handoff.text == template_text(gsw)
    assert handoff.problems == ["error: llm_failed"] and handoff.completion is None
    assert (stats.accepted, stats.rejected, stats.errors) == (0, 0, 1)


def test_a_paragraph_cut_at_the_token_cap_is_rejected(gsw: Casualty) -> None:
    cut = FAITHFUL.removesuffix(" Urgent evacuation.") + " Urgent evac"
    handoff = write_handoff(CannedModel(cut, completion_tokens=MAX_TOKENS), gsw)
    assert handoff.problems == ["truncated: stopped at the token cap"]
    # The same words ending before the cap are a whole paragraph.
    assert write_handoff(CannedModel(cut), gsw).source == "canned"


def test_empty_and_overlong_paragraphs_are_rejected(gsw: Casualty) -> None:
    assert check_prose("  \n ", gsw) == ["empty: no text"]
    long = " ".join([FAITHFUL] * 4)
    assert check_prose(long, gsw) == [f"length: {len(long.split())} words"]


def test_every_reason_is_listed(gsw: Casualty) -> None:
    wrong = FAITHFUL.replace("TXA 2 g", "ketamine 4 g").replace("right thigh.", "left thigh.")
    reasons = {problem_reason(p) for p in check_prose(wrong.replace("Urgent", ""), gsw)}
    assert reasons == {"number", "drug", "site", "urgent_evac"}
    assert reasons <= set(REASONS)


# --- how numbers, names and sites may be written -------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("at 1432", "at 14:32"),
        ("at 1432", "at 1432Z"),
        ("at 1432", "at 1432 hrs"),
        ("at 1432", "at fourteen thirty-two"),
        ("TXA 2 g", "TXA 2g"),
        ("TXA 2 g", "TXA two grams"),
        ("TXA 2 g", "TXA 2000 mg"),
        ("TXA 2 g", "2 g of tranexamic acid"),
        ("pain 7", "pain 7/10"),
        ("pain 7", "pain seven out of ten"),
        ("SpO2 97%", "sats 97"),
        ("radial pulse 110", "pulse one ten"),
        ("right thigh at", "right leg at"),  # the card's limb for a thigh
        ("CAT tourniquet", "CAT"),
        ("CAT tourniquet", "TQ"),
        ("Urgent evacuation.", "One tourniquet. Urgent evacuation."),  # a count is a value
    ],
)
def test_faithful_variants_are_accepted(gsw: Casualty, old: str, new: str) -> None:
    assert old in FAITHFUL
    assert check_prose(FAITHFUL.replace(old, new), gsw) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1432", "number: 1432"),  # a time must be the record's time, whatever its format
        ("14:33", "number: 1433"),  # problems quote the normalised text
        ("BP 90", "number: 90"),
    ],
)
def test_numbers_not_in_the_record_are_rejected_whatever_their_format(
    text: str, problem: str
) -> None:
    casualty = hand_built()
    assert check_prose(f"{HAND_BUILT_FAITHFUL} {text}.", casualty) == [problem]


def test_card_values_cover_their_products() -> None:
    casualty = casualty_from(WALKER)
    assert casualty["other_treatments"] == ["Hypothermia-Prevention"]
    base = (
        "Sergeant Walker, RM4417: GSW to the left thigh at 1410. CAT tourniquet on the left leg "
        "at 1412, TXA 2 g IV at 1420, {}. Priority evacuation."
    )
    for kit in ("HPMK", "Blizzard blanket", "hypothermia prevention"):
        assert check_prose(base.format(kit), casualty) == [], kit
    assert check_prose(base.format("QuikClot"), casualty) == ["device: QuikClot Combat Gauze"]


def test_a_junctional_row_names_a_junctional_tourniquet() -> None:
    casualty = hand_built()
    casualty["tourniquets"] = [
        {"limb": "Junctional", "type": None, "time": "1442", "category": "Junctional"}
    ]
    said = HAND_BUILT_FAITHFUL.replace("Urgent", "Junctional tourniquet at 1442. Urgent")
    assert check_prose(said, casualty) == []
    assert check_prose(HAND_BUILT_FAITHFUL, casualty) == ["tourniquet: Junctional 1442"]


def test_volumes_compare_after_unit_conversion() -> None:
    casualty = hand_built()
    assert "whole blood 500 mL IO 1450" in record_text(casualty)
    for volume in ("500 mL", "500 ml", "0.5 L", "500"):
        text = HAND_BUILT_FAITHFUL.replace("500 mL", volume)
        assert check_prose(text, casualty) == [], volume
    assert check_prose(HAND_BUILT_FAITHFUL.replace("500 mL", "1 L"), casualty) == ["number: 1 L"]


def test_a_site_without_a_side_matches_and_an_invented_side_does_not() -> None:
    casualty = hand_built()
    assert check_prose(HAND_BUILT_FAITHFUL.replace("left upper arm", "arm"), casualty) == []
    assert check_prose(HAND_BUILT_FAITHFUL.replace("left upper arm", "left arm"), casualty) == []
    assert check_prose(HAND_BUILT_FAITHFUL + " Wound to the abdomen.", casualty) == [
        "site: abdomen"
    ]
    # "back" and "hand" are sites only with a side word.
    assert check_prose(HAND_BUILT_FAITHFUL + " He is back on the litter.", casualty) == []
    assert check_prose(HAND_BUILT_FAITHFUL + " Cut to the right hand.", casualty) == ["site: hand"]


def test_the_template_passes_its_own_check(gsw: Casualty, blast: Casualty) -> None:
    for casualty in (gsw, blast, casualty_from(WALKER), hand_built()):
        assert check_prose(template_text(casualty), casualty) == []


# --- the writer ---------------------------------------------------------------------------------


def test_the_writer_counts_every_outcome(gsw: Casualty) -> None:
    writer = HandoffWriter(CannedModel(FAITHFUL))
    assert writer.write(gsw).source == "canned"
    writer.model = CannedModel(FAITHFUL.replace("TXA", "ketamine"))
    assert writer.write(gsw).source == TEMPLATE
    writer.model = CannedModel(None)
    assert writer.write(gsw).source == TEMPLATE
    stats = writer.stats
    assert (stats.accepted, stats.rejected, stats.errors) == (1, 1, 1)
    assert stats.rejected_by == {"drug": 1}


def test_the_writer_asks_once_for_the_same_record_with_a_cache(gsw: Casualty) -> None:
    model = CannedModel(FAITHFUL)
    writer = HandoffWriter(model, cache=LlmCache(), max_tokens=150)
    first, second = writer.write(gsw), writer.write(copy.deepcopy(gsw))
    assert first.text == second.text == FAITHFUL
    assert len(model.calls) == 1 and model.calls[0][1].max_tokens == 150
    assert second.completion is not None and second.completion.cached
    assert writer.stats.accepted == 2


# --- a hand-built record ------------------------------------------------------------------------

HAND_BUILT_FAITHFUL = (
    "Casualty 3: blast, fragment wound to the left upper arm. Pulse 120, BP 100/70 at 1445. "
    "SOFTT-W tourniquet at 1440, limb not recorded; whole blood 500 mL IO at 1450. Urgent "
    "surgical evacuation."
)


def urgent_prompt(rule: str, title: str, deadline: str | None) -> Prompt:
    """A prompt as the export writes it (title and severity beyond the TypedDict), urgent."""
    prompt = {"rule": rule, "title": title, "text": "", "deadline": deadline, "severity": "urgent"}
    return cast(Prompt, prompt)


def hand_built() -> Casualty:
    """A record in the export's shape: an unplaced tourniquet, blood, urgent-surgical evac."""
    casualty: Casualty = {
        "label": "3",
        "battle_roster": None,
        "last_name": None,
        "last4": None,
        "unit": None,
        "allergies": None,
        "evac_category": "Urgent-Surgical",
        "time_of_injury": None,
        "mechanism": ["Blast"],
        "injuries": [{"site": "left upper arm", "kind": "fragment"}],
        "tourniquets": [],
        "tourniquets_unplaced": [
            {"limb": None, "type": "SOFTT-W", "time": "1440", "category": "Extremity"}
        ],
        "hemorrhage_dressings": [],
        "airway": [],
        "breathing": [],
        "vitals": [
            {
                "time": "1445",
                "pulse": 120,
                "pulse_location": None,
                "bp": "100/70",
                "resp_rate": None,
                "spo2": None,
                "avpu": None,
                "pain": None,
            }
        ],
        "fluids": [{"name": "whole blood", "volume_ml": 500, "route": "IO", "time": "1450"}],
        "medications": [],
        "other_treatments": [],
    }
    return casualty
