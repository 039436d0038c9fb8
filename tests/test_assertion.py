"""Assertion status (tccc/analysis/assertion.py, rules in tccc/data/assertion.toml).

Every table is medic speech written for these tests, not taken from the dev narrations. In a
case the finding is in [brackets]; the text is the clause the extractors pass, and the sentence
is passed too where a case says so.
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tccc.analysis.assertion import (
    Assertion,
    AssertionRules,
    Status,
    assertion,
    build_assertion_rules,
    load_assertion_rules,
)
from tccc.analysis.text import Span, clauses, negated
from tccc.errors import ConfigError

RULES = load_assertion_rules()

NEGATED = [
    # forward
    "no [tourniquet] on the right arm",
    "there's not a [chest seal] on him",
    "wound dressed without [Combat Gauze]",
    "never got [TXA] in the field",
    "negative for [burns]",
    "casualty denies [drug allergies]",
    "denied any [head injury]",
    "the leg is no longer [bleeding]",
    "no need for a [needle decompression]",
    "no need to [pack] it",
    "we didn't put a [TQ] on",
    "don't put a [tourniquet] on that arm",
    "he doesn't have an [IV] yet",
    "haven't given [TXA]",
    "we haven't had time for a [tourniquet]",
    "he hasn't had any [morphine]",
    "there wasn't a [tourniquet] on the leg when we got there",
    "they weren't given any [antibiotics]",
    "there weren't any [tourniquets] on him",
    "we won't hang [blood] out here",
    "couldn't get an [IV] in him",
    "can't get a [tourniquet] high enough",
    "cannot place an [NPA] with those facial fractures",
    "unable to get [IO] access",
    "failed to get the [NPA] in",
    "not going to give [ketamine], his pressure is soft",
    "not gonna put a [TQ] on it",
    "he didn't need the [chest seal]",
    "we don't need a [junctional tourniquet]",
    "he doesn't need [TXA]",
    "ran out of [Combat Gauze]",
    "we've run out of [saline]",
    "we're out of [whole blood]",
    "held off [TXA] since it's been over three hours",
    "holding off on [morphine] for now",
    "hold off the [ketamine]",
    "withhold [fentanyl], he's hypotensive",
    "withholding [antibiotics] until the IV is in",
    "holding any more [fentanyl]",
    # backward
    "[ketamine] contraindicated with the head injury",
    "[morphine] withheld",
    "[antibiotics] deferred to the aid station",
    "[TXA] not given in the field",
    "[tourniquet] never applied",
    "[needle decompression] not done",
    "[cric] not attempted",
    "[finger thoracostomy] not performed",
    "[NPA] wasn't placed",
    "[fluids] not started",
    "[TQ] wasn't needed",
    "[chest seal] not required",
    "[antibiotics] not indicated",
    "[IO] not possible, no landmarks",
    "[whole blood] isn't available",
    "[pelvic binder] not put on",
    "[IV] not in yet",
    "[tourniquet] is not on",
    "[NPA] not inserted",
    "[ketamine], not yet",
    "[Tourniquets]: none",
    # both ways
    "he refused the [morphine]",
    "refuses [pain meds]",
    "declined the [pill pack]",
    "she declines [fentanyl]",
    # left unused
    "keep the [ketamine] in the bag",
    "the [Hextend] stays in the bag",
    "leave the [morphine] in the bag for now",
    # not at hand
    "the [fentanyl] lozenges ran out yesterday",
    "our [Hextend] got used up on the first guy",
    "[whole blood] is all gone",
    "the [plasma] stayed at the aid station",
    "[ketamine] stayed behind in the truck",
    "the [pelvic binder] got left behind",
    "I was out of [splints] by then",
    "we were out of [chest seals]",
    "I'm out of [CATs]",
]

PLANNED = [
    # hypothetical, said to a trainee
    "if it was sucking you'd reach for a [HyFin]",
    "we'd put a [CAT] on now",
    "you would give [ketamine] at this point",
    "we would start an [IO] here",
    # forward
    "going to put a [chest seal] on once he's rolled",
    "gonna push [TXA] when the line is in",
    "about to pack [Kerlix] in there",
    "will convert the [tourniquet] at the CCP",
    "I'll start an [IO] in the sternum",
    "we'll hang [plasma] in the bird",
    "he'll get [ketamine] on the bird",
    "she'll get a [splint] at the aid station",
    "would give [fentanyl] but he's hypotensive",
    "I'd give him [morphine] for the pain",
    "should get [antibiotics] within the hour",
    "need a [tourniquet] up here now",
    "he needs a [pelvic binder]",
    "plan to give [blood] en route",
    "planning on a [cric]",
    "want to get an [IO] in him",
    "let's get a [pressure dressing] on that",
    "prepare the [whole blood] for transfusion",
    "preparing a [chest seal]",
    "prepping the [IO] kit",
    "prep [ketamine] fifty milligrams",
    "ready to hang [Hextend]",
    "[naloxone] is taped to his plate carrier",
    "[epinephrine] taped to her vest",
    "consider [TXA] for the pelvis",
    "considering a [needle D] on the right",
    # asked for by the casualty, not given
    "he asked for [morphine] twice",
    "she asked me for [fentanyl] again",
    "keeps saying he asks for [water]",
    "he's asking for [pain meds]",
    "asking me for a [splint] on it",
    "begging for [ketamine] the whole ride",
    "he begged for [morphine] but his pressure is low",
    "wants a [tourniquet] on it but it's only oozing",
    "he wanted [TXA] because he read about it",
    "think about an [NPA]",
    "setting up for a [cric]",
    "trying to get an [IV] in the hand",
    "attempting to place an [IO]",
    "tried to get an [IV] but the veins are flat",
    "working on an [IO] in the humerus",
    "waiting for [whole blood] from the bird",
    # backward
    "[chest seal] is ready",
    "[cric] prepped and on his chest",
    "[tourniquet] staged on the left thigh",
    "[ketamine] drawn up",
    "[pelvic binder] laid out",
    "[Narcan] on standby",
    "[whole blood] standing by",
    "[TXA] on hand",
    "[plasma] available at the CCP",
    "[ertapenem] later",
    "[needle decompression] indicated",
    "[TXA] due in an hour",
    "[ketamine] as needed",
    "[fentanyl lozenge] when needed",
    "[morphine] prn",
    # conditions
    "[ketamine] 20 IV if he's still hurting",
    "[CAT] above it in case it slips",
    "unless his sats come up a [needle D] on the right",
    "in the event of a tension pneumo [needle D] second intercostal",
    # a plan said as a list, an offer
    "plan was [IV] first",
    "the plan was [TXA] at the bird",
    "plan is [ketamine] when he's packaged",
    "the plan is [whole blood] on arrival",
    "offered [fentanyl] and he said no",
    "I offered him [ketamine]",
    "offered her a [splint]",
    # considered, or the textbook case
    "[ceftriaxone] considered",
    "[TXA], that's for someone in shock",
    "[calcium], that's for somebody getting blood",
    "[needle D], that's for anyone with tension physiology",
    "a [cric], that's for a casualty you can't ventilate",
    "[ketamine], that's what you give for pain",
    "thought about a [junctional tourniquet]",
    "thinking about a [chest tube]",
    "I thought about [morphine]",
    "debated a [cric] but the NPA works",
]

# Conditions said before the finding, across a comma: only with the sentence.
PLANNED_ACROSS = [
    "if his pressure drops, [whole blood] through the IO",
    "in case he crashes, [NPA] at the bedside",
    "unless he improves, [needle D] on the right",
]

# Said after a pause about the drug just named: reaches over the commas with the sentence.
NEGATED_ACROSS = [
    "[calcium], copy, I don't have any",
    "[plasma], sorry, we don't have any on this bird",
    "[TXA], roger, don't have any left",
    "[Hextend], no, we didn't have any",
    "[ketamine], none left after the last guy",
    "[fentanyl], negative, I'm holding it",
    "[morphine] for the pain, holding it for now",
    "[ketamine], I'd rather not with that pressure",
]

OTHER = [
    # care handed to another medic's patient
    "gave Doc a [CAT] for his guy",
    "a [tourniquet] for her guy",
    "Sanchez took the [chest seal] for his patient",
    "an [NPA] for her patient",
    "saved a [HyFin] for their patient",
    "set aside [Combat Gauze] for another patient",
    "passed the [CAT] for the other guy",
    "the [splint] for his casualty",
    "the [tourniquet] he took was my spare",
    "a [CAT] for his own guy",
    "hand me the [Kerlix]",
    "give me a [CAT]",
    "pass me the [chest seal]",
    "get me an [NPA]",
    "grab me the [HyFin]",
    "throw me a [tourniquet]",
    "bring me the [pelvic binder]",
    # an instruction by name or call
    "Okay, Ramos, get a [tourniquet] on his left leg",
    "Doc, grab the [chest seal]",
    "Kowalski, give him [ketamine]",
    "Medic, hand over the [TXA]",
    "Buddy, pass the [gauze] up",
    "Bro, bring the [litter]",
    "Guys, throw a [blanket] over him",
    "Alright, Chen, put a [pressure dressing] on that",
    "Hey, Patel, hold [pressure] right here",
    "Uh, Nguyen, push the [TXA] slow",
    "All right, Dawson, keep [pressure] on the groin",
    "Reyes, pull the [tourniquet] tighter",
    "Garcia, prep an [IO]",
    "Hughes, set up the [whole blood]",
    "Smith, start an [IV] on the other arm",
    "Olsen, take over the [bagging]",
    "Diaz, find his [IFAK]",
    "Sergeant Brooks, check his [tourniquet]",
    "Lee, apply a [SAM junctional tourniquet]",
    "Walker, pack the [wound] with gauze",
    "Torres, open the [HPMK]",
    "Cooper, cut his [sleeve]",
    "Murphy, hang the [plasma]",
    "Bell, draw up [ketamine] fifty",
    "Price, don't loosen that [tourniquet]",
    "Hayes, make sure the [tourniquet] stays tight",
    "somebody grab a [blanket]",
    "someone get the [litter]",
    "anybody bring the [litter]",
    "anyone pass a [tourniquet]",
    "someone throw me a [blanket]",
    "somebody hand over the [Kerlix]",
    # questions
    "do you have any [allergies]",
    "did he get [TXA] already",
    "any [allergies] to medications",
    # another person
    "his sister is allergic to [sulfa]",
    "his brother had a [collapsed lung]",
    "his wife is [pregnant]",
    "his father has [diabetes]",
    "his mother is allergic to [penicillin]",
    "her husband was also [shot]",
    "family history of [bleeding disorders]",
    # told to do it himself
    "tell him to hold [pressure] on it",
    "have him hold [pressure] on the gauze",
    # the medic's own stock
    "I've still got three [CATs]",
    "I still have two [chest seals] and gauze",
    "we still have a [SAM splint]",
    "we've still got one [NPA]",
    "I still got a [CAT] left",
    "I've got a spare [tourniquet]",
    "I have a spare [NPA] on me",
    "a spare [CAT] on my vest",
    # a working dog or an enemy fighter
    "Navarro wrapped a [pressure dressing] on the dog's paw",
    "a [CAT] went on the dog",
    "gave [fluids] to the dog",
    "pushed [ketamine] into the dog",
    "the K9's [tourniquet] is holding",
    "the working dog's [splint] is on",
    "the fighter has a [CAT] on",
    "the fighter's [chest seal] is leaking",
    "the enemy fighter got [TXA] from their medic",
    "the enemy's [pressure dressing] is soaked",
    "their medic put a [CAT] on the fighter",
]

HISTORICAL = [
    "caught a [frag] in the left arm back in 2019",
    "had a [concussion] last month",
    "had a [concussion] previously",
    "got those [burns] back home",
    "a [fracture] of that leg back in basic",
    "history of [asthma]",
    "hx of [seizures]",
    "old [scar] on the left forearm",
    "healed [fracture] of the right wrist",
    "chronic [back pain]",
    "pre-existing [knee injury]",
    "broke his [wrist] last year",
    "[shrapnel] in the leg from two years ago",
    "had [surgery] on that knee six months ago",
    "[sprained ankle] three weeks ago",
    "that [scar] is from before",
    "[frag wound] on his back from his last deployment",
    "[burn scars] from a previous deployment",
    "[broken arm] as a kid",
    "only history is a [broken wrist] as a teen",
    "history is [appendectomy] scar",
    "past history: [ACL repair]",
    "surgical history, [splenectomy]",
    "a [broken left ankle] in 2019",
]

UNCERTAIN = [
    "possible [pelvic fracture]",
    "possibly a [tension pneumo]",
    "maybe a [concussion]",
    "he might have a [femur fracture]",
    "may have a [spinal injury]",
    "could be a [through and through]",
    "questionable [head injury]",
    "suspected [TBI]",
    "I suspect a [tension pneumothorax]",
    "concern for [internal bleeding]",
    "worried about a [tension pneumo]",
    "rule out [spinal injury]",
    "not sure he got [TXA]",
    "not sure if the [tourniquet] is tight enough",
    "unsure about the [exit wound]",
    "unclear whether the [tourniquet] is tight",
    "can't tell whether it's a [GSW]",
    "hard to tell whether it's a [burn]",
    # backward
    "whether the [IO] is in or not",
    "[femur fracture] maybe",
    "[tension pneumo] possibly",
    "[concussion] I guess",
    # someone else's card, unchecked
    "the card says [morphine] at 1400",
    "card says [TXA] was given",
    "his card says [NKDA]",
    "her card says [CAT] left arm",
    # a reading the medic does not believe
    "[sats] 82 on the finger, I don't trust it",
    "[sats] 80, don't trust that with cold hands",
    "[BP] 70 over 40 on the auto cuff, not reliable",
    "[sats] 75, unreliable",
    "[pulse ox] 70, bad reading",
]

PROBABLE = [
    "looks like a [frag wound] to the calf",
    "appears to be a [through and through]",
    "probably a [broken femur]",
    "likely a [tension pneumo]",
    "sounds like a [sucking chest wound]",
    "consistent with a [blast injury]",
    "I think it's a [fracture]",
    "pretty sure it's an [exit wound]",
    "[open fracture] probably",
    "[GSW] I think",
]

STATUS_TABLES = [
    (Status.NEGATED, NEGATED),
    (Status.PLANNED, PLANNED),
    (Status.OTHER, OTHER),
    (Status.HISTORICAL, HISTORICAL),
    (Status.UNCERTAIN, UNCERTAIN),
    (Status.PROBABLE, PROBABLE),
]

# A pseudo-trigger sets no status, although the trigger word inside it would.
PSEUDO = [
    "he [fell] maybe 6 meters onto rocks",
    "[GSW] to the thigh possibly 2 hours ago",
    "no change in [sats]",
    "no improvement in [sats] after the needle",
    "no response to the [naloxone]",
    "no relief from the [fentanyl]",
    "no effect from the [ketamine]",
    "no difference from the [chest seal]",
    "not only a [GSW] but also burns",
    "not just a [graze]",
    "no doubt it's a [tension pneumo]",
    "no problem getting the [IV] in",
    "without difficulty placing an [NPA]",
    "without issue placing the [IO]",
    "I'd call this one [routine]",
    "I'd say [priority]",
    "I would say [urgent]",
    "I'd put him as [urgent surgical]",
    "22 year old with a [GSW]",
    "thirty years old, [frag] to the neck",
    "[sats] 88 two minutes later",
    "[pulse] 90 two hours later",
    "[shock] due to blood loss",
    "an hour old [tourniquet] on the left leg",
    "two hours old [CAT] on the right arm",
    "twenty minutes old [chest seal] still holding",
]
PSEUDO_ACROSS = [
    "even if it hurts, [tourniquet] stays on",
    "[TXA] at 1415, if I remember right",
    "[CAT] at 0920, if I recall",
    "if anything, the [pressure dressing] is holding better",
]

# A terminator ends a scope that would otherwise reach the finding.
TERMINATED = [
    "no exit wound but a [chest seal] is on",
    "no pulse however the [tourniquet] is tight",
    "not bleeding though the [tourniquet] is loose",
    "no radial although [carotid pulse] is strong",
    "no wounds except a [graze] on the scalp",
    "no injuries aside from the [burn]",
    "didn't use a CAT instead a [SOFTT-W]",
    "going to wait because [TXA] is already in",
    "no bleeding since the [tourniquet]",
    "no pulse after the [CAT]",
    "no distal pulse before the [tourniquet]",
    "didn't bleed until the [tourniquet] slipped",
    "no pain while the [splint] is on",
    "not bleeding which [packing] stopped",
    "no IV so [IO] in the sternum",
    "not bleeding much then the [pressure dressing] soaked through",
    "no pressure yet still [bleeding] from the groin",
    "going to need blood and I gave [TXA]",
    "going to convert and we put a [pressure dressing] on",
    "will need a cric and he has an [NPA] in",
    "going to splint it and she got [ketamine]",
    "need to evac and they gave [TXA]",
    # only a denial ends at a new noun phrase or verb
    "no exit wound and a [chest seal] on the entry",
    "no bleeding and an [IO] in the humerus",
    "no pulse and the [tourniquet] is tight",
    "no exit and his [chest seal] holds",
    "not talking and her [airway] is clear",
    "not pulsing and it [stopped]",
    "no radial and then a [tourniquet]",
    "no distal pulse with the [CAT] on",
    "no bleeding now [tourniquet] is on",
]

STATED = [
    "used two of the four [CATs] in my bag",
    "[CAT] high and tight on the left leg at 0815",
    "gave [TXA] 2 g IV",
    "the CLS already put a [CAT] on his right arm",
    "the PA had already given [whole blood]",
    "[pressure dressing] over the wound, bleeding's controlled",
    "[ketamine] 50 mg IM at 1130",
    "radial [pulse] 104 and strong",
    "[NPA] in his left nostril, 28 French",
    "he's [alert], oriented times four",
    "going in the truck now, [tourniquet] is tight",
]


def _case(marked: str) -> tuple[str, int, int]:
    text = marked.replace("[", "").replace("]", "")
    start = marked.index("[")
    return text, start, marked.index("]") - 1


def classify(marked: str, *, with_sentence: bool = False, kind: str | None = None) -> Assertion:
    """The assertion of the bracketed finding: the text is the clause, or the sentence whose
    clause (as the extractors split it) holds the finding."""
    text, start, end = _case(marked)
    whole = Span(text, 0)
    if not with_sentence:
        return assertion(whole, start, end, kind=kind)
    clause = next(c for c in clauses(whole) if c.start <= start < c.end)
    return assertion(clause, start, end, whole, kind=kind)


def _all_cases() -> list[tuple[str, bool]]:
    cases = [(m, False) for _, table in STATUS_TABLES for m in table]
    cases += [(m, True) for m in PLANNED_ACROSS + NEGATED_ACROSS + PSEUDO_ACROSS]
    cases += [(m, False) for m in PSEUDO + TERMINATED + STATED]
    return cases


@pytest.mark.parametrize(
    ("marked", "status"), [(m, s) for s, table in STATUS_TABLES for m in table]
)
def test_status_of_each_rule_category(marked: str, status: Status) -> None:
    got = classify(marked)
    assert got.status is status, (marked, got)
    text, _, _ = _case(marked)
    assert got.trigger is not None
    assert text[got.trigger.start : got.trigger.end] == got.trigger.text
    assert got.recorded is (status in (Status.STATED, Status.PROBABLE))


@pytest.mark.parametrize("marked", PLANNED_ACROSS)
def test_conditions_reach_over_a_comma_with_the_sentence(marked: str) -> None:
    assert classify(marked, with_sentence=True).status is Status.PLANNED
    # The clause alone holds no trigger: the finding reads as stated there.
    text, start, end = _case(marked)
    clause = next(c for c in clauses(Span(text, 0)) if c.start <= start < c.end)
    assert assertion(clause, start, end).status is Status.STATED


@pytest.mark.parametrize("marked", NEGATED_ACROSS)
def test_what_is_not_at_hand_reaches_back_over_a_comma_with_the_sentence(marked: str) -> None:
    assert classify(marked, with_sentence=True).status is Status.NEGATED


@pytest.mark.parametrize("marked", STATED)
def test_no_trigger_in_scope_is_stated(marked: str) -> None:
    got = classify(marked)
    assert got == Assertion(Status.STATED, None, None, True)


@pytest.mark.parametrize("marked", TERMINATED)
def test_a_terminator_ends_the_scope(marked: str) -> None:
    text, _, _ = _case(marked)
    assert any(c.kind == "terminator" for c in RULES.scan(text))
    assert classify(marked).status is Status.STATED
    # Without its terminators the same words would reach the finding.
    assert classify_with(marked, _without("terminator")).status is not Status.STATED


@pytest.mark.parametrize(
    ("marked", "across"), [(m, False) for m in PSEUDO] + [(m, True) for m in PSEUDO_ACROSS]
)
def test_pseudo_triggers_do_not_fire(marked: str, across: bool) -> None:
    text, _, _ = _case(marked)
    assert any(c.kind == "pseudo" for c in RULES.scan(text))
    assert classify(marked, with_sentence=across).status is Status.STATED
    # The trigger word inside the pseudo-trigger would have fired on its own.
    bare = classify_with(marked, _without("pseudo"), with_sentence=across)
    assert bare.status is not Status.STATED


def test_scope_is_counted_in_words() -> None:
    # "no" reaches four words; the fifth is out of its scope.
    assert classify("no clear sign of a [tension pneumo]").status is Status.NEGATED
    assert classify("no clear sign yet of a [tension pneumo]").status is Status.STATED
    # A forward trigger does not reach back, nor a backward one forward.
    assert classify("[TXA] and no ketamine").status is Status.STATED
    assert classify("on standby [TXA] given").status is Status.STATED


def test_a_comma_into_the_scope_ends_it_a_comma_after_the_trigger_does_not() -> None:
    assert classify("no exit wound, [responds to voice]").status is Status.STATED
    assert classify("negative for, [head injury]").status is Status.NEGATED
    assert classify("going to give TXA, [pressure dressing] on").status is Status.STATED


def test_a_denial_goes_over_or_and_bare_nouns() -> None:
    assert classify("no blood or [plasma] on the truck").status is Status.NEGATED
    assert classify("negative for chest and [head injury]").status is Status.NEGATED
    # ... and a plan over a new noun phrase: only denials end there.
    assert classify("going to give TXA and a [unit of blood]").status is Status.PLANNED


def test_the_nearest_trigger_decides() -> None:
    got = classify("didn't need a [tourniquet]")
    assert (got.status, got.source) == (Status.NEGATED, "didn't need")
    got = classify("looks like no [exit wound]")
    assert (got.status, got.source) == (Status.NEGATED, "no")
    got = classify("no need for a [needle D]")
    assert got.status is Status.NEGATED


def test_a_trigger_inside_the_finding_does_not_modify_it() -> None:
    assert classify("[no further bleeding] from the thigh").status is Status.STATED
    assert classify("[not responding] to pain").status is Status.STATED


def test_a_capitalised_trigger_word_inside_a_clause_is_a_name() -> None:
    assert classify("Specialist Will Turner has a [GSW] to the thigh").status is Status.STATED
    assert classify("Sergeant May Chen, [TXA] at 0940").status is Status.STATED
    assert classify("Will hang [plasma] next").status is Status.PLANNED
    assert classify("I'll hang [plasma] next").status is Status.PLANNED
    assert classify("NO [tourniquet] on that leg").status is Status.NEGATED


def test_an_evacuation_category_is_no_plan() -> None:
    assert classify("he'll need [urgent surgical] evac").status is Status.PLANNED
    assert classify("he'll need [urgent surgical] evac", kind="evac").status is Status.STATED
    assert classify("not [urgent]", kind="evac").status is Status.NEGATED


def test_care_by_someone_else_is_stated() -> None:
    for marked in (
        "the CLS already put a [CAT] on",
        "Doc Jensen gave [morphine] at 0910 before we got there",
        "the gate guard had put a [tourniquet] on her",
        "his squad leader packed the [wound]",
        "his buddy put a [CAT] on him",
        "somebody else already put a [tourniquet] on",
        "someone put a [CAT] on him before I got there",
        "we have him on [oxygen]",
    ):
        assert classify(marked).status is Status.STATED, marked


@pytest.mark.parametrize(
    ("text", "word", "denied"),
    [
        ("tourniquet not needed at this time", "tourniquet", True),
        ("ketamine on standby for the flight", "ketamine", True),
        ("Doc, get a chest seal ready", "chest seal", True),
        ("his old gunshot scar", "gunshot", True),
        ("looks like a gunshot wound", "gunshot", False),
        ("chest seal on the left chest at 0950", "chest seal", False),
    ],
)
def test_negated_wraps_the_status(text: str, word: str, denied: bool) -> None:
    start = text.index(word)
    assert negated(Span(text, 0), start, start + len(word)) is denied


def test_negated_takes_the_sentence_and_kind() -> None:
    text = "if he gets worse, ketamine 50 mg IM"
    whole = Span(text, 0)
    clause = clauses(whole)[-1]
    start = text.index("ketamine")
    assert not negated(clause, start, start + 8)
    assert negated(clause, start, start + 8, whole)
    text = "he'll need urgent evac"
    start = text.index("urgent")
    assert negated(Span(text, 0), start, start + 6)
    assert not negated(Span(text, 0), start, start + 6, kind="evac")


def test_offsets_are_those_of_the_text() -> None:
    # The clause starts 20 characters into the utterance.
    text = "Pulse 110, sats 98. No tourniquet needed."
    sentence = Span("No tourniquet needed", 20)
    got = assertion(sentence, 23, 33)
    assert got.status is Status.NEGATED
    assert got.trigger == Span("No", 20)
    assert text[20:22] == "No"


# --- the data file ------------------------------------------------------------------------------


def _data() -> dict[str, Any]:
    text = resources.files("tccc.data").joinpath("assertion.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _without(kind: str) -> AssertionRules:
    data = _data()
    if kind == "pseudo":
        data["pseudo"] = {"phrases": []}
    else:
        data["terminator"] = []
    return build_assertion_rules(data)


def classify_with(marked: str, rules: AssertionRules, *, with_sentence: bool = False) -> Assertion:
    text, start, end = _case(marked)
    whole = Span(text, 0)
    if not with_sentence:
        return assertion(whole, start, end, rules=rules)
    clause = next(c for c in clauses(whole) if c.start <= start < c.end)
    return assertion(clause, start, end, whole, rules=rules)


def test_every_trigger_pseudo_trigger_and_terminator_is_exercised() -> None:
    decided: set[str] = set()
    scanned: set[tuple[str, str]] = set()
    matched: list[tuple[str, str]] = []  # (pattern source, words it matched)
    for marked, across in _all_cases():
        got = classify(marked, with_sentence=across)
        if got.source is not None:
            decided.add(got.source)
            if got.trigger is not None:
                matched.append((got.source, got.trigger.text.lower()))
        text, _, _ = _case(marked)
        scanned |= {(c.kind, c.source) for c in RULES.scan(text)}
    missing = [
        f"{kind}: {source}"
        for kind, source in RULES.sources
        if (kind == "trigger" and source not in decided)
        or (kind != "trigger" and (kind, source) not in scanned)
    ]
    assert not missing, "not exercised by any test case:\n" + "\n".join(missing)
    # Each word of a word list used by a pattern is in some trigger that pattern matched.
    for name, words in _data()["words"].items():
        users = [src for kind, src in RULES.sources if "{" + name + "}" in src]
        said = " | ".join(t for src, t in matched if src in users)
        for word in words:
            assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", said), (name, word)


def test_test_phrasings_are_not_from_the_dev_narrations() -> None:
    dev = Path(__file__).resolve().parents[2] / "shared/domain/narrations/dev.json"
    if not dev.is_file():
        pytest.skip(f"no dev narrations at {dev}")
    said = " ".join(c["narration"] for c in json.loads(dev.read_text())["cases"]).lower()
    said = re.sub(r"\s+", " ", said)
    copied = [m for m, _ in _all_cases() if _case(m)[0].lower() in said]
    assert not copied


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"rule": [{"category": "maybe", "direction": "forward", "max_words": 2}]}, "status"),
        ({"rule": [{"category": "stated", "direction": "forward", "max_words": 2}]}, "stated"),
        ({"rule": [{"category": "negated", "direction": "sideways", "max_words": 2}]}, "direction"),
        ({"rule": [{"category": "negated", "direction": "forward", "max_words": -1}]}, "max_words"),
        (
            {
                "rule": [
                    {
                        "category": "negated",
                        "direction": "forward",
                        "max_words": 2,
                        "patterns": ["{nope}"],
                    }
                ]
            },
            "pattern",
        ),
        (
            {
                "rule": [
                    {
                        "category": "negated",
                        "direction": "forward",
                        "max_words": 2,
                        "phrases": ["no"],
                    }
                ],
                "pseudo": {"phrases": ["No"]},
            },
            "two kinds",
        ),
    ],
)
def test_bad_rules_fail_at_load(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_assertion_rules(patch)


def test_the_bundled_file_loads_from_a_path() -> None:
    path = Path(str(resources.files("tccc.data").joinpath("assertion.toml")))
    rules = load_assertion_rules(path)
    assert rules.sources == RULES.sources
    assert rules.recorded == frozenset({Status.STATED, Status.PROBABLE})
