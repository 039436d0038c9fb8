"""Hand-off prose: a short MIST paragraph per casualty, written by a model from the record, checked.

The model is given the record only, never the transcript: the MIST sections of
`tccc.reports.mist` (signs with their trend, every tourniquet, unplaced ones too), the identity,
the evacuation category and the prompts of severity "urgent" by title and deadline (prompt
texts carry doses of drugs not given, which a model would copy). Its paragraph is used only
when `check_prose` finds no problem; otherwise the template paragraph (the same sections,
joined) is used and the reasons are counted. The paragraph is read through the product's
normaliser first ("two grams" is "2 g"), and so is the record, so both name things alike;
problems quote the normalised words. What the check decides:

* numbers: a number must be a value of the record text, compared as numbers ("0905" = "905");
  a clock time may be written 1432, 14:32, 1432Z or "1432 hrs". With a dose unit it must be a
  recorded quantity after conversion ("2g" = "2 g" = "2000 mg", "0.5 L" = "500 mL"; "4 g" or
  "2 mg" against 2 g is invented); without one it may repeat any recorded number ("sats 97").
  "a/b" must be a recorded BP, or "N/10" ("N out of 10") for a recorded pain N; the halves of
  a BP are no values. Counts of tourniquets, injuries, drugs and fluids are values ("two
  tourniquets"). Identifiers mixing letters and digits (RM4417) must be recorded as written.
* drugs and devices: vocabulary names of the drug and device categories and the lexicon's drug
  and fluid names, matched as whole words, longest first over the whole vocabulary (so
  "oxygen saturation" is a sign, not oxygen), must be named by the record too, or be covered
  by a card value it holds ("Hypothermia-Prevention" covers HPMK and the Blizzard blanket).
* body sites: lexicon regions, with a side word just before (right, left, R, L, both). A site
  matches a record site of the same region, a narrower one ("chest" for "upper chest"), or one
  of the same limb when the text says the limb ("right leg" for a right thigh); no side matches
  any side, a side the record lacks is invented. A region inside a device name ("chest seal")
  is no site; everyday words that are regions ("back", "hand") count only with a side.
* nothing urgent left out: an Urgent or Urgent-Surgical evacuation by the category's words;
  every tourniquet by one sentence naming a tourniquet, its limb and its time where recorded;
  every urgent prompt by its title or a phrase of `PROMPT_PHRASES` ("shock" for C1).
* length: more than `WORD_LIMIT` words (the model is asked for about `TARGET_WORDS`).

A lexical check cannot read meaning: "TXA is due" and "gave TXA" name the same drug, so a drug
named only by an urgent prompt's title (TXA) passes either way.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import cast

from tccc.analysis.lexicon import Lexicon, load_lexicon, phrase_pattern
from tccc.errors import TcccError
from tccc.llm.cache import LlmCache, cached_chat
from tccc.llm.model import Completion, LanguageModel, Options
from tccc.reports.document import Casualty, all_tourniquets, casualty_id
from tccc.reports.mist import NONE_RECORDED, mist
from tccc.stt.normaliser import Normaliser
from tccc.stt.vocabulary import Vocabulary, form_key, load_vocabulary

_LOGGER = logging.getLogger(__name__)

TEMPLATE = "template"
"""The `source` of a hand-off that is the template text."""
TARGET_WORDS = 80
"""How long the model is asked to write."""
WORD_LIMIT = 120
"""Longer than this is no short hand-off: rejected."""
MAX_TOKENS = 200
"""About 150 words of English: room for the paragraph, not for a second one."""
REASONS = ("empty", "length", "truncated", "number", "drug", "device", "site", "urgent_evac",
           "tourniquet", "urgent_prompt")  # fmt: skip
"""Why a paragraph is rejected: each problem is written "reason: detail"."""

DRUG_CATEGORIES = frozenset({"medication", "fluid"})
"""Vocabulary categories whose names are drugs (fluids and blood products too)."""
DEVICE_CATEGORIES = frozenset({"hemorrhage_device", "hemostatic", "hemorrhage", "airway",
                               "respiration", "circulation", "hypothermia", "other"})  # fmt: skip
"""Vocabulary categories whose names are devices and other treatments."""

PROMPT_PHRASES: Mapping[str, tuple[str, ...]] = {
    "M2": ("tourniquet", "TQ"),
    "R1": ("tension pneumothorax", "tension pneumo", "pneumothorax"),
    "R2": ("open chest wound", "sucking chest wound", "open chest"),
    "C1": ("shock",),
    "C2": ("TXA", "tranexamic acid"),
    "C3": ("shock", "resuscitation"),
    "H2": ("herniation", "head injury"),
    "E1": ("overdue",),
}
"""Phrases that name an urgent prompt besides its title, as a medic would say the alert in a
hand-off; a rule not listed is named by its title alone."""

SYSTEM = (  # the instructions; the record follows as the user's message
    "You write a combat medic's spoken hand-off of one casualty from the casualty record. "
    f"Write one paragraph of plain text, at most {TARGET_WORDS} words, in MIST order: "
    "mechanism, injuries, signs with their trend, treatment, then the evacuation category. "
    "Use only what the record says and copy every number, time, drug, device and body site "
    "exactly as written there; add nothing. Name every tourniquet with its limb and time, the "
    "evacuation category and every urgent alert. No headings, lists or markdown."
)

# Dose units: (dimension, factor to mg, mL or %), so "2 g" = "2000 mg" and "0.5 L" = "500 mL".
_UNITS = (
    dict.fromkeys(("g", "gm", "gram", "grams"), ("mg", Decimal(1000)))
    | dict.fromkeys(("mg",), ("mg", Decimal(1)))
    | dict.fromkeys(("mcg", "ug", "µg"), ("mg", Decimal("0.001")))
    | dict.fromkeys(("ml", "cc"), ("ml", Decimal(1)))
    | dict.fromkeys(("l", "liter", "liters", "litre", "litres"), ("ml", Decimal(1000)))
    | dict.fromkeys(("%", "percent"), ("%", Decimal(1)))
)
_NUMBER = re.compile(r"(?<![\w.:/])(\d{1,2}:\d{2}|\d+(?:\.\d+)?)(?:\s*/\s*(\d+(?:\.\d+)?))?")
_UNIT = re.compile(r"\s?(%|[a-zµ]+)(?![\w%])", re.I)
_CODE = re.compile(r"(?<![\w-])[a-z][a-z-]*\d[\w-]*", re.I)
_SIDES = {"right": "right", "r": "right", "rt": "right", "left": "left", "l": "left",
          "lt": "left", "both": "both", "bilateral": "both", "bilaterally": "both"}  # fmt: skip
_SIDE_BEFORE = re.compile(
    r"\b(right|left|both|bilateral|bilaterally|rt|lt|r|l)\b[\s,]+(?:(?:upper|lower|side|front|"
    r"inner|outer|anterior|posterior|lateral|medial|mid|proximal|distal|of|the|his|her)\s+){0,3}$",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.;!?])\s+")
_OUT_OF = re.compile(r"(\d+) out of (\d+)\b")
_LIMB_WORDS = {"arm": "Arm", "leg": "Leg"}
_NEED_SIDE = frozenset({"back", "hand", "hands", "ac"})
_LIMB_ROW = re.compile(r"^(R|L)\s+(Arm|Leg)$", re.I)

Site = tuple[str | None, str]
"""(side or None, region) as the lexicon names regions."""


@dataclass(frozen=True)
class _Said:
    """What a text names: the items the check compares, each with the words that said it."""

    numbers: dict[Decimal, str] = field(default_factory=dict)
    """Numbers without a dose unit."""
    values: set[Decimal] = field(default_factory=set)
    """Every number as written, with a unit or without (what a bare number may repeat)."""
    quantities: dict[tuple[str, Decimal], str] = field(default_factory=dict)
    ratios: dict[tuple[Decimal, Decimal], str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Concept -> (drug or device, words): "vocabulary:TXA" -> ("drug", "tranexamic acid")."""
    sites: dict[Site, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reader:
    """The vocabulary, lexicon and normaliser the check reads with, built once."""

    vocabulary: Vocabulary
    lexicon: Lexicon
    normaliser: Normaliser
    forms: re.Pattern[str]
    cards: Mapping[str, tuple[str, ...]]
    """A card value -> the names it covers ("hypothermia prevention" -> HPMK)."""
    tourniquets: frozenset[str]
    """The names that say a tourniquet was put on (tourniquet, TQ, CAT, SOFTT-W, ...)."""

    def read(self, text: str) -> _Said:
        """Every number, identifier, drug, device and body site `text` names."""
        said = _Said()
        for m in _NUMBER.finditer(text):
            _read_number(m, text, said)
        for m in _CODE.finditer(text):
            if self.vocabulary.lookup(m.group(0)) is None:
                said.codes.setdefault(m.group(0).lower(), m.group(0))
        drugs: list[tuple[int, int]] = []
        for kind, choice in (("drug", self.lexicon.drugs), ("fluid", self.lexicon.fluids)):
            for name, m in choice.find(text):
                said.names.setdefault(f"{kind}:{name}", ("drug", m.group(0)))
                drugs.append(m.span())
        named: list[tuple[int, int]] = []
        for m in self.forms.finditer(text):
            term = self.vocabulary.lookup(m.group(0))
            reason = _reason(term.category) if term else None
            if term is not None and reason is not None:
                # Whole blood is a circulation term, and a blood product the lexicon calls so.
                reason = "drug" if m.span() in drugs else reason
                said.names.setdefault(f"vocabulary:{term.canonical}", (reason, m.group(0)))
                named.append(m.span())
        for m in self.lexicon.region_pattern.finditer(text):
            # "chest seal", "eye shield": a device's name says nothing of where a wound is.
            if any(start <= m.start() < end for start, end in named):
                continue
            region = _singular(m.group(0).lower(), self.lexicon.regions)
            lead = _SIDE_BEFORE.search(text[max(0, m.start() - 60) : m.start()])
            side = _SIDES[lead.group(1).lower()] if lead else None
            if side is not None or region not in _NEED_SIDE:
                said.sites.setdefault((side, region), m.group(0))
        return said


@lru_cache(maxsize=1)
def _reader() -> _Reader:
    vocabulary = load_vocabulary()
    forms = [form for term in vocabulary.terms for form in term.forms]
    cards: dict[str, list[str]] = {}
    for term in vocabulary.terms:
        if term.card and _reason(term.category):
            cards.setdefault(form_key(term.card), []).append(f"vocabulary:{term.canonical}")
    return _Reader(
        vocabulary,
        load_lexicon(),
        Normaliser(vocabulary),
        phrase_pattern(forms),
        {card: tuple(concepts) for card, concepts in cards.items()},
        frozenset(
            f"vocabulary:{t.canonical}"
            for t in vocabulary.terms
            if t.category == "hemorrhage_device"
        ),
    )


def _reason(category: str) -> str | None:
    if category in DRUG_CATEGORIES:
        return "drug"
    return "device" if category in DEVICE_CATEGORIES else None


def _singular(region: str, regions: Mapping[str, str]) -> str:
    region = " ".join(region.split())
    return region[:-1] if region.endswith("s") and region[:-1] in regions else region


def _read_number(m: re.Match[str], text: str, said: _Said) -> None:
    first = Decimal(m.group(1).replace(":", ""))  # 14:32 is the time 1432
    if m.group(2) is not None:
        said.ratios.setdefault((first, Decimal(m.group(2))), m.group(0))
        return
    said.values.add(first)
    unit = _UNIT.match(text, m.end())
    if unit is not None and unit.group(1).lower() in _UNITS:
        dimension, factor = _UNITS[unit.group(1).lower()]
        said.quantities.setdefault((dimension, first * factor), text[m.start() : unit.end()])
    else:
        said.numbers.setdefault(first, m.group(0))


# --- the record -------------------------------------------------------------------------------


def _urgent_prompts(casualty: Casualty) -> list[Mapping[str, object]]:
    # The export carries title and severity beyond the Prompt TypedDict's keys.
    prompts = cast(list[Mapping[str, object]], casualty.get("prompts") or [])
    return [p for p in prompts if p.get("severity") == "urgent"]


def _identity(casualty: Casualty) -> list[str]:
    name = " ".join(str(v) for k in ("rank", "first_name", "last_name") if (v := casualty.get(k)))
    parts = [casualty_id(casualty), name, casualty.get("unit") or ""]
    if casualty.get("last4"):
        parts.append(f"last4 {casualty.get('last4')}")
    if casualty.get("allergies"):
        parts.append(f"allergies {casualty.get('allergies')}")
    return [p for p in parts if p]


def record_sections(casualty: Casualty) -> list[tuple[str, tuple[str, ...]]]:
    """The record as the model sees it: (heading, items), MIST order, urgent items last."""
    report = mist(casualty)
    sections = [
        ("Mechanism", report.mechanism),
        ("Injuries", report.injuries),
        ("Signs", report.signs),
        ("Treatment", report.treatment),
    ]
    if casualty.get("evac_category"):
        sections.append(("Evacuation", (str(casualty.get("evac_category")),)))
    alerts = tuple(
        f"{p.get('title') or p.get('rule')}" + (f" by {p['deadline']}" if p.get("deadline") else "")
        for p in _urgent_prompts(casualty)
    )
    if alerts:
        sections.append(("Urgent alerts", alerts))
    return sections


def record_text(casualty: Casualty) -> str:
    """The compact record given to the model: one "Heading: item; item" line per section."""
    lines = [f"Casualty: {'; '.join(_identity(casualty))}"]
    for heading, items in record_sections(casualty):
        lines.append(f"{heading}: {'; '.join(items) or NONE_RECORDED}")
    return "\n".join(lines)


def template_text(casualty: Casualty) -> str:
    """The template hand-off: the record's MIST sections as one paragraph."""
    parts = [f"MIST {casualty_id(casualty)}"]
    for heading, items in record_sections(casualty):
        parts.append(f"{heading}: {'; '.join(items) or NONE_RECORDED}")
    return ". ".join(parts) + "."


# A worked example as earlier turns: a small model copies the shape of an answer far more
# reliably than it follows a description of one. Its record is rendered like every other.
EXAMPLE_CASUALTY = cast(Casualty, {
    "label": "2", "battle_roster": None, "last_name": None, "last4": None, "unit": None,
    "allergies": None, "evac_category": "Urgent", "time_of_injury": "0900",
    "mechanism": ["IED"], "injuries": [{"site": "left leg", "kind": "amputation"}],
    "tourniquets": [{"limb": "L Leg", "type": "CAT", "time": "0905", "category": "Extremity"}],
    "hemorrhage_dressings": ["Hemostatic"], "airway": [], "breathing": [],
    "vitals": [
        {"time": "0910", "pulse": 130, "pulse_location": "radial", "bp": None, "resp_rate": None,
         "spo2": None, "avpu": "V", "pain": None, "pulse_quality": "weak"},
        {"time": "0925", "pulse": 120, "pulse_location": "radial", "bp": "90/60",
         "resp_rate": None, "spo2": None, "avpu": None, "pain": None},
    ],
    "fluids": [], "other_treatments": [],
    "medications": [{"category": "Other", "name": "TXA", "dose": "2 g", "route": "IV",
                     "time": "0915"}],
    "prompts": [{"rule": "C1", "title": "Hemorrhagic shock", "text": "", "deadline": None,
                 "severity": "urgent"}],
})  # fmt: skip
EXAMPLE_ANSWER = (
    "Casualty 2, IED at 0900: amputation of the left leg. Radial pulse 130 and weak at 0910, "
    "120 with BP 90/60 at 0925, responds to voice. CAT tourniquet on the left leg at 0905, "
    "hemostatic dressing, TXA 2 g IV at 0915. Hemorrhagic shock. Urgent evacuation."
)


def handoff_messages(casualty: Casualty) -> list[dict[str, str]]:
    """The chat for one casualty: the instructions, the worked example, then its record."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": record_text(EXAMPLE_CASUALTY)},
        {"role": "assistant", "content": EXAMPLE_ANSWER},
        {"role": "user", "content": record_text(casualty)},
    ]


def _record_said(casualty: Casualty, reader: _Reader) -> _Said:
    # Read through the normaliser like the paragraph, so both name things the same way.
    said = reader.read(reader.normaliser.normalise(record_text(casualty)).text)
    for count in (
        len(all_tourniquets(casualty)),
        len(casualty.get("injuries") or []),
        len(casualty.get("medications") or []),
        len(casualty.get("fluids") or []),
    ):
        if count:
            said.values.add(Decimal(count))
    for vitals in casualty.get("vitals") or []:
        if vitals.get("pain") is not None:
            said.ratios.setdefault((Decimal(str(vitals.get("pain"))), Decimal(10)), "pain")
    for value in _card_values(casualty):
        for concept in reader.cards.get(form_key(value), ()):
            said.names.setdefault(concept, ("card", value))
    return said


def _card_values(casualty: Casualty) -> Iterable[str]:
    for key in ("hemorrhage_dressings", "airway", "breathing", "other_treatments"):
        for value in cast(list[str], casualty.get(key) or []):
            yield value
            # Eye-Shield-R and Eye-Shield-L are the card's Eye-Shield, one per side.
            yield re.sub(r"-[RL]$", "", value)
    for tq in all_tourniquets(casualty):
        # A tourniquet on the Junctional row is a junctional tourniquet, type or not.
        yield from (str(v) for k in ("type", "limb", "category") if (v := tq.get(k)))


# --- the check --------------------------------------------------------------------------------


def check_prose(text: str, casualty: Casualty) -> list[str]:
    """The problems of a hand-off paragraph against the record ("reason: detail"; [] = accept)."""
    words = text.split()
    if not words:
        return ["empty: no text"]
    problems = [f"length: {len(words)} words"] if len(words) > WORD_LIMIT else []
    reader = _reader()
    prose = _OUT_OF.sub(r"\1/\2", reader.normaliser.normalise(" ".join(words)).text)
    said = reader.read(prose)
    known = _record_said(casualty, reader)
    problems += _invented(said, known, reader.lexicon.regions)
    problems += _left_out(prose, casualty, reader)
    return list(dict.fromkeys(problems))


def problem_reason(problem: str) -> str:
    """The reason of one problem string (the word before its colon)."""
    return problem.split(":", 1)[0]


def _invented(said: _Said, known: _Said, regions: Mapping[str, str]) -> list[str]:
    # A dose or a percentage said without its unit is still the recorded value.
    problems = [f"number: {w}" for value, w in said.numbers.items() if value not in known.values]
    problems += [f"number: {w}" for q, w in said.quantities.items() if q not in known.quantities]
    problems += [f"number: {w}" for r, w in said.ratios.items() if r not in known.ratios]
    problems += [f"number: {w}" for code, w in said.codes.items() if code not in known.codes]
    problems += [f"{r}: {w}" for name, (r, w) in said.names.items() if name not in known.names]
    problems += [
        f"site: {w}" for site, w in said.sites.items() if not _site_known(site, known, regions)
    ]
    return problems


def _site_known(site: Site, known: _Said, regions: Mapping[str, str]) -> bool:
    side, region = site
    for known_side, known_region in known.sites:
        # Saying less than the record is no invention: "chest" for an upper chest wound,
        # "leg" for a thigh.
        same_place = (
            region == known_region
            or known_region.endswith(f" {region}")
            or (region in _LIMB_WORDS and regions.get(known_region) == _LIMB_WORDS[region])
        )
        if same_place and (side in (None, known_side) or known_side == "both"):
            return True
    return False


def _says(prose: str, phrase: str) -> bool:
    """Whether the words of `phrase` stand together in `prose` (case and punctuation aside)."""
    return f" {form_key(phrase)} " in f" {form_key(prose)} "


def _left_out(prose: str, casualty: Casualty, reader: _Reader) -> list[str]:
    problems = []
    category = casualty.get("evac_category") or ""
    if form_key(category).startswith("urgent") and not _says(prose, category):
        problems.append(f"urgent_evac: {category} not said")
    # A tourniquet is said when one sentence names a tourniquet, its limb and its time: the
    # limb of a wound in another sentence does not say where the tourniquet is.
    sentences = [(s, reader.read(s)) for s in _SENTENCE.split(prose)]
    for tq in all_tourniquets(casualty):
        limb, time = tq.get("limb"), tq.get("time")
        if not any(
            reader.tourniquets & said.names.keys()
            and _limb_said(limb, said, sentence, reader.lexicon.regions)
            and _time_said(time, said, sentence)
            for sentence, said in sentences
        ):
            problems.append(f"tourniquet: {limb or 'limb not recorded'} {time or ''}".rstrip())
    for prompt in _urgent_prompts(casualty):
        rule, title = str(prompt.get("rule")), str(prompt.get("title") or "")
        phrases = (title, *PROMPT_PHRASES.get(rule, ()))
        if not any(p and _says(prose, p) for p in phrases):
            problems.append(f"urgent_prompt: {rule} {title} not said")
    return problems


def _limb_said(limb: str | None, said: _Said, prose: str, regions: Mapping[str, str]) -> bool:
    """Whether the text names the tourniquet's card limb (any site of that limb and side)."""
    if not limb:
        return True
    row = _LIMB_ROW.match(limb)
    if row is None:
        return _says(prose, limb) or any(regions.get(r) == limb for _, r in said.sites)
    side = _SIDES[row.group(1).lower()]
    return any(
        s in (side, "both") and regions.get(r) == row.group(2).title() for s, r in said.sites
    )


def _time_said(time: str | None, said: _Said, prose: str) -> bool:
    if not time:
        return True
    return Decimal(time) in said.values if time.isdigit() else _says(prose, time)


# --- the writer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handoff:
    """One casualty's hand-off paragraph, who wrote it, and why a model's was not used."""

    text: str
    source: str
    """The model's name, or `TEMPLATE`."""
    problems: list[str] = field(default_factory=list)
    completion: Completion | None = None
    """The model's answer (tokens, seconds), when it gave one."""


@dataclass
class HandoffStats:
    """What became of the paragraphs asked for."""

    accepted: int = 0
    rejected: int = 0
    rejected_by: Counter[str] = field(default_factory=Counter)
    """Rejected paragraphs per reason (a paragraph with two reasons counts under both)."""
    errors: int = 0
    """Calls where the model raised a TcccError (LlmError): the template was used."""


def write_handoff(
    model: LanguageModel,
    casualty: Casualty,
    options: Options | None = None,
    *,
    cache: LlmCache | None = None,
    stats: HandoffStats | None = None,
) -> Handoff:
    """The model's checked paragraph for one casualty, or the template text (and why)."""
    stats = stats if stats is not None else HandoffStats()
    options = options or Options(max_tokens=MAX_TOKENS, temperature=0.0)
    messages = handoff_messages(casualty)
    try:
        if cache is None:
            answer = model.chat(messages, options)
        else:
            answer = cached_chat(model, cache, messages, options)
    except TcccError as exc:
        stats.errors += 1
        _LOGGER.warning("hand-off prose: the model failed (%s); template used", exc.code)
        return Handoff(template_text(casualty), TEMPLATE, [f"error: {exc.code}"])
    text = " ".join(answer.text.split())
    problems = check_prose(text, casualty)
    # Cut off at the token cap: whatever it says, the end of the hand-off is missing.
    if answer.completion_tokens >= options.max_tokens and not text.endswith((".", "!")):
        problems.append("truncated: stopped at the token cap")
    if problems:
        stats.rejected += 1
        stats.rejected_by.update({problem_reason(p) for p in problems})
        # Reasons only: the problems quote casualty data.
        _LOGGER.debug("hand-off prose rejected: %s", sorted({problem_reason(p) for p in problems}))
        return Handoff(template_text(casualty), TEMPLATE, problems, answer)
    stats.accepted += 1
    return Handoff(text, model.name, [], answer)


@dataclass
class HandoffWriter:
    """Writes checked hand-off paragraphs with one model, counting what happened."""

    model: LanguageModel
    cache: LlmCache | None = None
    max_tokens: int = MAX_TOKENS
    stats: HandoffStats = field(default_factory=HandoffStats)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def write(self, casualty: Casualty) -> Handoff:
        """The hand-off of one casualty (blocking; call it off the event loop)."""
        own = HandoffStats()
        handoff = write_handoff(
            self.model,
            casualty,
            Options(max_tokens=self.max_tokens, temperature=0.0),
            cache=self.cache,
            stats=own,
        )
        with self._lock:
            self.stats.accepted += own.accepted
            self.stats.rejected += own.rejected
            self.stats.rejected_by.update(own.rejected_by)
            self.stats.errors += own.errors
        return handoff
