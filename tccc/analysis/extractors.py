"""Extractors: pure functions from one sentence of normalised text to casualty findings.

Each extractor reads a sentence (with its clauses) and returns `Found` values with the span of
text that says them. They know nothing of casualties, corrections or sessions; the analyzer
puts findings in context. Everything they look for comes from the lexicon (data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tccc.analysis.casualties import addressed, caregiver, phonetic_letters
from tccc.analysis.lexicon import Lexicon
from tccc.analysis.text import ClockTime, Span, clauses, comma_pieces, negated, times
from tccc.events import Scalar


@dataclass(frozen=True)
class Found:
    """One finding in the text, before it is given to a casualty."""

    kind: str
    data: dict[str, Scalar]
    start: int
    end: int
    extras: tuple[tuple[int, int], ...] = field(default=())
    """Other spans that contributed (a time said later in the sentence, a device name)."""


Extractor = Callable[[Span, Lexicon], list[Found]]

_SIDE = re.compile(r"\b(left|right|both|bilateral)\b", re.IGNORECASE)
_NUMBER = r"(\d{1,3})"


def side_before(text: str) -> str | None:
    """The last side word (left, right, both, bilateral) in text, lower case."""
    found = _SIDE.findall(text)
    return found[-1].lower() if found else None


_POSITION = (
    r"upper|lower|side|front|back|top|inner|outer|inside|outside|anterior|posterior|lateral|medial"
    r"|mid|proximal"
    r"|distal"
)
# The words before a region that belong to the site: a side and position words ("left upper
# arm", "right side of the skull", "front of both legs"), or position words alone ("front of
# the torso", "back of the neck").
_SIDE_LEAD = re.compile(
    r"\b(?:left|right|both|bilateral),?\s+(?:(?:" + _POSITION + r"|of|the|his|her)\s+){0,4}$"
    r"|\b(?:" + _POSITION + r")\s+"
    r"(?:(?:of|the|his|her|both|left|right|" + _POSITION + r")\s+){0,3}$",
    re.I,
)


# Whisper drops the "th" of "thigh" after a side ("on the left, high at 1412"); "high" right
# after a side is the thigh, unless it is the "high and tight" of a tourniquet.
_HEARD_THIGH = re.compile(r"\b(left|right),?\s+high\b(?!,?\s+(?:and|&|n)\s+tight)", re.I)


# Body words in idioms: "keep eyes on the wound", "eyes on me", "a hand on the litter".
_NO_SITE = re.compile(r"eyes?\s+on\b|hands?\s+on\s+(?:the|a|that|this)\s+(?!wound)", re.I)


def site_at(
    clause: Span, lex: Lexicon, start: int = 0, *, card_terms: bool = True
) -> tuple[str, str, int, int] | None:
    """The first body site at or after `start` (offset in the text): (site, limb row, span);
    with `card_terms` the region is written as the card names it ("shin": "lower leg")."""
    rel = max(0, start - clause.start)
    m = lex.region_pattern.search(clause.text, rel)
    while m is not None and _NO_SITE.match(clause.text, m.start()):
        m = lex.region_pattern.search(clause.text, m.end())
    heard = _HEARD_THIGH.search(clause.text, rel)
    if heard is not None and (m is None or heard.end() <= m.start()):
        side = heard.group(1).lower()
        span = (clause.start + heard.start(), clause.start + heard.end())
        return f"{side} thigh", lex.regions.get("thigh", "Leg"), *span
    if m is None:
        return None
    region = m.group(0).lower()
    if region == "back":
        # "the back of the right thigh": the back is a side of the region named after it.
        behind = re.match(r"\s+of\s+(?:the\s+|his\s+|her\s+)?", clause.text[m.end() :])
        further = lex.region_pattern.search(clause.text, m.end()) if behind else None
        if behind and further and further.start() - m.end() <= behind.end() + 10:
            m, region = further, further.group(0).lower()
    # The side is said right before the region, maybe with a few words of position between
    # ("left upper arm", "right side of the skull"); a side further back belongs elsewhere.
    lead = _SIDE_LEAD.search(clause.text[rel : m.start()])
    begin = rel + lead.start() if lead else m.start()
    tail = re.match(
        r"\s+(?:below|above)\s+the\s+(?:knee|elbow)|\s+of\s+the\s+(?:skull|head|torso)",
        clause.text[m.end() :],
    )
    end = m.end() + (tail.end() if tail else 0)
    # The region in the card's terms ("left shin" is the left lower leg).
    key = region if region in lex.regions else region.rstrip("s")
    term = lex.region_terms.get(key, region) if card_terms else m.group(0)
    said = clause.text[begin : m.start()] + term
    site = re.sub(r"\s*,\s*", " ", (said + clause.text[m.end() : end]).lower())
    return site, lex.regions.get(key, ""), clause.start + begin, clause.start + end


def limb_row(site: str, row: str) -> str | None:
    """The card's tourniquet row for a site: R Arm, L Leg, Junctional ... (None if unknown)."""
    if row == "Junctional":
        return "Junctional"
    if row not in ("Arm", "Leg"):
        return None
    side = side_before(site)
    if side == "left":
        return f"L {row}"
    if side == "right":
        return f"R {row}"
    return None


def clock_after(found: list[ClockTime], after: int) -> ClockTime | None:
    """The first of the times that starts at or after offset `after`."""
    return next((t for t in found if t.start >= after), None)


# --- identity and evacuation --------------------------------------------------------------------

# One or two capitalised words after a rank; a second that names a unit ("Ortiz Alpha
# Company") is not part of the name.
# A hyphen may join two capitalised parts of a name ("Pacheco-Lozano").
_NAME_PART = r"[A-Z][a-z'’]+(?:-[A-Z]?[a-z'’]+)*-?"
_NAME = re.compile(
    rf"\s+({_NAME_PART}(?:\s+{_NAME_PART}(?![a-z'’-])"
    r"(?!\s+(?i:company|platoon|squad|battalion|troop|battery)\b))?)"
)
_ROSTER = re.compile(
    r"\b(?:battle\s+)?roster(?:\s+(?:number|no\.?|#))?\s+(?:is\s+)?([A-Z]{2}\d{4})\b", re.I
)
# Two capital letters and four digits, alone, is a battle roster number whatever came before.
_ROSTER_TOKEN = re.compile(r"(?<![\w/-])([A-Z]{2}\d{4})(?![\w/-])")
_GRID_BEFORE = re.compile(r"\b(?:grid|mgrs|coordinates)\b(?:\W+\w+){0,2}\W*$", re.I)
# "last 4 is 1234", "last four 6621" (the normaliser keeps the label as words).
_LAST4 = re.compile(r"\blast\s+(?:(?:4|four)\s+(?:is\s+)?(\d{4})|4(\d{4}))\b", re.I)
# "allergic to penicillin", "allergy to sulfa", "allergies: penicillin and codeine",
# "penicillin allergy".
# A second allergen after a comma is one only when the list goes on or ends there: "allergic to
# erythromycin, breaks out in hives" names one.
_ALLERGEN = (
    r"([a-z][\w-]*(?:\s*,\s*[a-z][\w-]*(?=\s*(?:[,.;:!?]|$)|\s+(?:and|or)\s)"
    r"|(?:\s+and\s+|\s+or\s+)[a-z][\w-]*)?)"
)
_ALLERGY = re.compile(
    r"\b(?:allergic\s+to|allerg(?:y|ies)\s+(?:to|is|are|include|includes)|allerg(?:y|ies)\s*[:-])"
    rf"\s+(?:an?\s+)?{_ALLERGEN}",
    re.I,
)
_ALLERGY_BEFORE = re.compile(r"\b([a-z][\w-]+)\s+allerg(?:y|ies)\b", re.I)
# "had a reaction to Keflex", "put Keflex down as his allergy"
_REACTION = re.compile(
    rf"\b(?:reaction\s+to|reacts\s+to)\s+{_ALLERGEN}"
    r"|\bput\s+([a-z][\w-]*)\s+down\s+as\s+(?:his|her|the)\s+allergy",
    re.I,
)
_NOT_ALLERGEN = frozenset(
    {
        "so",
        "that",
        "it",
        "the",
        "this",
        "these",
        "those",
        "what",
        "which",
        "a",
        "an",
        "um",
        "uh",
        "and",
        "or",
        "but",
        "is",
        "was",
        "be",
        "his",
        "her",
        "their",
        "my",
        "our",
        "your",
        "him",
        "them",
        "me",
        "us",
        "no",
        "known",
        "drug",
        "drugs",
        "any",
        "other",
        "medication",
        "medications",
        "none",
        "nkda",
        "nil",
        "negative",
        "denies",
        "denied",
        "deny",
        "has",
        "had",
        "have",
        "reports",
        "with",
        "without",
        "for",
        "seasonal",
    }
)
_NO_ALLERGY = re.compile(
    r"\ballerg(?:ies|y)\s*[:,-]?\s*(?:none|nil|negative|nkda)\b"
    r"|\bnot\s+allergic\s+to\s+(?:anything|any\s+\w+)|\ballergic\s+to\s+nothing\b"
    # "He doesn't know of any allergies", "not aware of any allergies", "no allergies that he
    # knows of".
    r"|\b(?:doesn't|does\s+not|don't|didn't)\s+know\s+(?:of\s+)?any\s+(?:drug\s+|med(?:ication)?\s+)?"
    r"allerg(?:ies|y)\b"
    r"|\bnot\s+aware\s+of\s+any\s+(?:drug\s+|med(?:ication)?\s+)?allerg(?:ies|y)\b"
    # "Nobody's got allergies", "none of them have allergies" (said of all of them)
    r"|\b(?:nobody(?:['’]s|\s+has)|no\s+one(?:['’]s|\s+has)|none\s+of\s+them\s+(?:have|has|got)"
    r"|neither\s+(?:one|1|of\s+them)\s+has)\s+"
    r"(?:got\s+)?(?:any\s+)?(?:drug\s+)?allerg(?:ies|y)\b"
    r"|\bno\s+(?:drug\s+|med(?:ication)?\s+)?allerg(?:ies|y)\s+(?:that\s+)?(?:he|she|they|I)\s+knows?"
    r"\s+of\b",
    re.I,
)
# "Charlie Company", "1st Platoon"; a phonetic-alphabet letter in any case ("bravo company").
_PHONETIC = (
    "alpha|bravo|charlie|delta|echo|foxtrot|golf|hotel|india|juliet|kilo|lima|mike|november"
    "|oscar|papa|quebec|romeo|sierra|tango|uniform|victor|whiskey|x-ray|xray|yankee|zulu"
)
# A unit is lettered, numbered or named for its role ("Charlie Company", "1st Platoon",
# "Mortar Section"); another word before "company" is a mishearing ("Blanco Company"), and a
# wrong unit is worse than none. Units said one after another are one unit ("Third Platoon,
# Alpha Company").
_ORDINAL_WORDS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
_KINDS = "company|platoon|squad|battalion|troop|battery|section|squadron|flight|detachment|team"
_UNIT_JOIN = re.compile(r"\s*,?\s*(?:(?i:of|from|in)\s+(?:the\s+)?)?")


def _unit_pattern(roles: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(roles, key=len, reverse=True)
    role = "|".join(re.escape(r).replace(r"\ ", r"\s+") for r in ordered)
    # A unit's own name in capitals ("Sapper Company", "Bandit Troop") counts too: a mishearing
    # of a letter ("Blanco Company") rests on an unsure word and is held back as a suggestion.
    return re.compile(
        rf"\b((?i:{_PHONETIC}|{_ORDINAL_WORDS}|{role})|\d+(?:st|nd|rd|th)"
        r"|(?!(?:His|Her|Their|Our|My|Your|The|This|That|Each|Every|Whole|Same|Other|Another)\b)"
        # A unit's own name, maybe of several words: "Heavy Weapons Platoon", "Service and
        # Recovery Section"
        rf"[A-Z][a-z]{{2,}}(?:\s+(?:and\s+)?(?!(?i:{_PHONETIC})\b)[A-Z][a-z]{{2,}}){{0,2}})\s+"
        rf"((?i:{_KINDS}))\b"
    )


# A unit that acts or is spoken to is no casualty's unit: "second squad's pulling security",
# "Second squad, get fire on that tree line!"
_UNIT_ACTS = re.compile(
    r"(?:['’]s|\s+(?:is|are|was|were))\s+\w+ing\b|\s*,?\s+(?:get|go|move|cover|hold|pull|push"
    r"|keep|stay|watch|lay|put|bring|shift|suppress|grab|take)\b",
    re.I,
)


_WEIGHT = re.compile(
    r"\b(?:about|around|roughly|weighs)?\s*(\d{2,3})\s*(?:kg|kilos|kilograms)\b", re.I
)


def _field(sentence: Span, field: str, value: Scalar, m: re.Match[str]) -> Found:
    """An identity fact: one card field and its value, said at the match."""
    return _at(sentence, "identity", {"field": field, "value": value}, m.start(), m.end())


def identity(sentence: Span, lex: Lexicon) -> list[Found]:
    """Name (after a rank), battle roster, last 4, unit, service, allergies, weight."""
    out: list[Found] = []
    text = sentence.text
    for m in lex.ranks.finditer(text):
        name = _NAME.match(text, m.end())
        if name and (
            addressed(text, m.start(), name.end()) or caregiver(text, m.start(), name.end())
        ):
            # "Private Hale, watch what I do", "I'm Sergeant Ochoa, the medic": a teammate's
            # or the speaker's name, not the casualty's
            continue
        if name:
            words = [re.sub(r"['’]s$", "", w) for w in name.group(1).split()]
            out.append(
                _at(
                    sentence,
                    "identity",
                    {"field": "rank", "value": m.group(0).title()},
                    m.start(),
                    m.end(),
                )
            )
            out.append(
                _at(
                    sentence,
                    "identity",
                    {"field": "last_name", "value": words[-1]},
                    name.start(1),
                    name.end(1),
                )
            )
            if len(words) == 2:
                # "Sergeant John Kim": the first of two capitalised words is the first name.
                out.append(
                    _at(
                        sentence,
                        "identity",
                        {"field": "first_name", "value": words[0]},
                        name.start(1),
                        name.end(1),
                    )
                )
    said: set[int] = set()
    for m in _ROSTER.finditer(text):
        out.append(_field(sentence, "battle_roster", m.group(1).upper(), m))
        said.add(m.start(1))
    for m in _ROSTER_TOKEN.finditer(text):
        if _GRID_BEFORE.search(text[: m.start()]):
            continue  # "grid NK3481 2679": a map reference
        if m.start(1) not in said:
            # "Madel roster, NA7721": the number's shape says what it is when the word before
            # was misheard.
            out.append(_field(sentence, "battle_roster", m.group(1), m))
    for m in _LAST4.finditer(text):
        out.append(_field(sentence, "last4", m.group(1) or m.group(2), m))
    out.extend(_units(sentence, lex))
    for service, m in lex.services.find(text):
        out.append(_field(sentence, "service", service, m))
    nkda = [*lex.nkda.finditer(text), *_NO_ALLERGY.finditer(text)]
    for m in sorted(nkda, key=lambda m: m.start())[:1]:
        out.append(_field(sentence, "allergies", "NKDA", m))
    allergens = [
        *_ALLERGY.finditer(text),
        *_ALLERGY_BEFORE.finditer(text),
        *_REACTION.finditer(text),
    ]
    for m in sorted(allergens, key=lambda m: m.start()):
        value = re.sub(r"\s*,\s*", " and ", (m.group(1) or m.group(2)).lower())
        if value.split()[0] in _NOT_ALLERGEN:
            continue  # "allergic to so, that's it": a misheard allergen is no allergy
        if value in ("anything", "any", "nothing", "none") or _negated_in(
            sentence, m.start(), m.end(), "allergy"
        ):
            continue  # "not allergic to anything" is NKDA (above); a question is nothing
        data: dict[str, Scalar] = {"field": "allergies", "value": value}
        out.append(_at(sentence, "identity", data, m.start(), m.end()))
    for m in _WEIGHT.finditer(text):
        out.append(_field(sentence, "weight_kg", int(m.group(1)), m))
    return out


# "feedback" and "in Mac" are how Whisper hears "evac" and "medevac" said after a category.
_EVAC_CONTEXT = re.compile(
    r"\b(?:evac|evacuation|medevac|casevac|category|cat|requesting|request|feedback|in\s+mac"
    # What a medic does with a category: "marking him priority", "I'd put him at routine",
    # "categorize him as urgent", "he'll go priority on the next bird"
    r"|mark|marking|marked|put|putting|wrote|write|writing|categori[sz]e|categori[sz]ed|classify|classified|tag"
    r"|tagged|tagging|list|listed|call|calling|called|go|goes|going|went|send|sending|move"
    r"|moving|precedence|bird|lift|dustoff|flight)\b",
    re.I,
)


# Words that may stand around an evacuation category said on its own: "casualty 2 routine",
# "he is urgent surgical", "this one gets priority".
_EVAC_FILLER = re.compile(
    r"\b(?:casualty|patient|cas)\s+(?:\d+|[A-Z]{2}\d{4})\b|\b[A-Z]{2}\d{4}\b"
    # "one's urgent, two's priority": numbered casualties (a count says "two urgent").
    r"|\b(?:one|two|three|four|five|six|[1-6])['’]s\b"
    r"|\b(?:he|she|this|that|one|patient|casualty|gets|get|is|a|an|as|and|also|now|evac|for"
    # "I'd call him priority", "I'm calling her urgent surgical", "we'll make him routine"
    r"|i|i'd|i'm|i'll|we|we'd|we're|we'll|call|calling|called|him|her|make|making|put|putting"
    r"|would|will|going|to|be|he's|she's|it's|so|then|just|overall|definitely|probably|say|consider|guy|guys"
    r"|man|soldier|kid|individual|both|all|them|they|are|were|should|needs?|as|classified|triage"
    r"|out|goes|listed|marked|tagged|moving|move|send|sending|going|category|cat|precedence"
    r"|went|go|you're|you|you'll|of|for|now|call|it|he'll|she'll|they're|surgical)\b"
    r"|'s\b",
    re.I,
)


# The 9-line's precedence letters, said for one patient: "precedence Alpha", "line three
# Charlie" (a count before the letter numbers patients of a 9-line and names no one).
_PRECEDENCE = re.compile(
    r"\b(?:precedence|line\s+(?:3|three))\s*[,:]?\s*(?:is\s+)?(alpha|bravo|charlie|delta)\b", re.I
)
_PRECEDENCE_CATEGORY = {
    "alpha": "Urgent",
    "bravo": "Urgent",
    "charlie": "Priority",
    "delta": "Routine",
}


def evacuation(sentence: Span, lex: Lexicon) -> list[Found]:
    """Evacuation category: "requesting urgent evac", or the word alone in its clause, maybe
    with a name ("Diaz is urgent surgical": `subject`, kept only if a casualty has it)."""
    out: list[Found] = []
    # Comma by comma: a category is often a word on its own ("Confused, urgent").
    for clause in comma_pieces(sentence):
        for name, m in lex.evac.find(clause.text):
            if negated(
                clause, clause.start + m.start(), clause.start + m.end(), sentence, kind="evac"
            ):
                continue
            before = " " + clause.text[: m.start()]
            if re.search(r"(?<!casualty)(?<!patient)(?<!cas)\s\d{1,2}\s+$", before, re.I):
                continue  # "3 casualties, 2 urgent" counts patients (9-line), names no one
            rest = clause.text[: m.start()] + " " + clause.text[m.end() :]
            if m.group(0)[:1].isupper() and re.search(r"\d\s+$", before):
                # "... IO at 0832 Urgent surgical": a capital after a number is a new sentence
                # whose stop Whisper left out; the words before it are not about the category.
                rest = clause.text[m.end() :]
            words = re.findall(r"[\w'-]+", _EVAC_FILLER.sub(" ", rest))
            data: dict[str, Scalar] = {"category": name}
            role = lex.casualty_roles.fullmatch(" ".join(w for w in words if w.lower() != "the"))
            if role and not _EVAC_CONTEXT.search(clause.text):
                # "the driver priority": a casualty known by a description (kept only if one is).
                data["subject"] = role.group(0).lower()
            elif words and not _EVAC_CONTEXT.search(clause.text):
                # "Diaz is urgent", "Aziz and Berg urgent": names of casualties (checked by
                # the analyzer), the last one said right before the category.
                if not all(re.fullmatch(r"[A-Z][a-z'-]+", w) for w in words):
                    continue
                if not phonetic_letters(words):
                    # "Echo Papa urgent" names a casualty by roster letters: the mention of
                    # them decides who, as for "casualty 2 routine".
                    data["subject"] = words[-1]
            out.append(_at(clause, "evac", data, m.start(), m.end()))
    if not out:
        for m in _PRECEDENCE.finditer(sentence.text):
            data = {"category": _PRECEDENCE_CATEGORY[m.group(1).lower()]}
            out.append(_at(sentence, "evac", data, m.start(), m.end()))
    return out


# --- mechanism and injuries ---------------------------------------------------------------------

# "time of injury was approximately 1650", "injured around 0730", "he was hit at about 1910",
# "happened at 1315", "TOI 0940".
_INJURY_TIME = re.compile(
    r"\b(?:time\s+of\s+(?:the\s+)?(?:injury|wounding)|toi|injured|injury|wounded|hit|it\s+happened"
    r"|this\s+happened|happened|occurred|went\s+down|went\s+off|detonated|exploded|blast"
    r"|explosion|contact|ambushed|ambush|struck|took\s+(?:a|the)\s+round|got\s+shot|was\s+shot"
    r"|fell|(?:he|she)\s+landed)\b(?=(?:\s*,|\s+(?:was|is|at|about|around|approximately|approx"
    # "Time of wounding for both, 1421"
    r"|roughly|right|just|of|time|hours|for|both|all|everyone))*\s+(?:[01]\d|2[0-3])[0-5]\d\b)",
    re.I,
)


# A fall of a vital sign ("BP fell to 80/50") is no fall of the casualty.
_VITAL_WORD = re.compile(
    r"\b(?:bp|blood\s+pressure|pressure(?!\s+plate)|sats?|spo2|saturation|pulse|heart\s+rate|hr|resp\w*"
    r"|rate|gcs|avpu|pain|temp|temperature|etco2)\b",
    re.I,
)


def about_care(clause: Span, lex: Lexicon) -> bool:
    """True when a clause names care or a vital sign, so a time in it is not the injury's."""
    text = clause.text
    return bool(
        lex.tourniquet.search(text)
        or _VITAL_WORD.search(text)
        or any(
            choice.find(text)
            for choice in (
                lex.tourniquet_types,
                lex.dressings,
                lex.airway,
                lex.breathing,
                lex.treatments,
                lex.drugs,
                lex.fluids,
                lex.evac,
            )
        )
    )


_UNIT_AFTER = re.compile(
    r"\s+(?:section|platoon|team|squad|battery|battalion|company|troop|detachment)\b", re.I
)
_READING_AFTER = re.compile(r"\s*\d")


# A clause that is only a time, said with the mechanism: "takes a round in the chest, this is
# about 1912"; or a time named as the time of injury after it: "at 0618, that's time of injury".
_TIME_CLAUSE = re.compile(
    r"\W*(?:(?:this|that|it)(?:'s|\s+is|\s+was)\s+|and\s+|(?:the\s+)?time(?:\s+of\s+injury)?"
    r"(?:\s+(?:is|was))?\s+)?(?:at\s+)?(?:about|around|approximately"
    r"|roughly|approx)?\s*(?:at\s+)?((?:[01]\d|2[0-3])[0-5]\d)(?:\s*(?:hours|hrs|zulu|z|local))?\W*",
    re.I,
)
_NAMED_TOI = re.compile(
    r"((?:[01]\d|2[0-3])[0-5]\d)(?:\s*(?:hours|hrs|zulu|z|local))?\W+(?:that's|that\s+is|that\s+was"
    r"|which\s+is)\s+(?:the\s+)?(?:time\s+of\s+injury|toi)\b",
    re.I,
)


def _time_with_mechanism(sentence: Span, found: list[Found]) -> list[Found]:
    """Times of injury said beside the mechanism rather than in its clause."""
    out: list[Found] = []
    for m in _NAMED_TOI.finditer(sentence.text):
        s = sentence.start + m.start(1)
        out.append(Found("time_of_injury", {"time": m.group(1)}, s, s + 4))
    kinds = {f.kind for f in found}
    if not out and "mechanism" in kinds and "time_of_injury" not in kinds:
        for clause in clauses(sentence):
            bare = _TIME_CLAUSE.fullmatch(clause.text)
            if bare:
                s = clause.start + bare.start(1)
                out.append(Found("time_of_injury", {"time": bare.group(1)}, s, s + 4))
                break
    return out


def mechanism(sentence: Span, lex: Lexicon) -> list[Found]:
    """Mechanism of injury boxes; a clock time said with the mechanism (in a clause about no
    care) is the time of injury: "he was shot at 1400", "fell off a roof at 2205"."""
    out: list[Found] = []
    for clause in clauses(sentence):
        excluded = [(m.start(), m.end()) for m in lex.not_mechanism.finditer(clause.text)]
        for name, m in lex.mechanism.find(clause.text):
            if negated(clause, clause.start + m.start(), clause.start + m.end(), sentence):
                continue
            if any(s < m.end() and m.start() < e for s, e in excluded):
                continue  # "a shot of morphine"
            if _UNIT_AFTER.match(clause.text, m.end()):
                continue  # "Mortar Section": a unit's name
            if name == "Fall" and _VITAL_WORD.search(clause.text):
                continue
            if _READING_AFTER.match(clause.text, m.end()):
                continue  # "shot 82": Whisper's "sats 82", a reading, not a gunshot
            if any(f.kind == "mechanism" and f.data["value"] == name for f in out):
                continue  # "the mortar barrage": one mechanism said in two words
            data: dict[str, Scalar] = {"value": name, "word": m.group(0).lower()}
            out.append(_at(clause, "mechanism", data, m.start(), m.end()))
            said = times(clause)
            if said and not about_care(clause, lex):
                first = said[0]
                out.append(Found("time_of_injury", {"time": first.hhmm}, first.start, first.end))
    out.extend(_time_with_mechanism(sentence, out))
    for m in _INJURY_TIME.finditer(sentence.text):
        t = clock_after(times(Span(sentence.text[m.end() :], sentence.start + m.end())), 0)
        if t is None:
            after = re.match(
                r"(?:\s*,|\s+(?:was|is|at|about|around|approximately|approx|roughly|right|just|of"
                r"|time|for|both|all|everyone))*\s+((?:[01]\d|2[0-3])[0-5]\d)\b",
                sentence.text[m.end() :],
            )
            if after:
                s = sentence.start + m.end() + after.start(1)
                t = ClockTime(after.group(1), s, s + 4)
        again = (
            any(f.kind == "time_of_injury" and f.data["time"] == t.hhmm for f in out) if t else True
        )
        if t and not again:
            out.append(Found("time_of_injury", {"time": t.hhmm}, sentence.start + m.start(), t.end))
    return out


# From a wound word to its site: "to the", "in his", "across the belly", "from the grenade to
# the right calf" (a few words between, if they name no care).
_LINK = re.compile(
    # "frag, left hand", "open fracture left lower leg": a site listed right after the wound
    # (first: "one round, left chest, front, just under the nipple" is the left chest).
    r"\s*,?\s+(?=(?:left|right|both|bilateral)\b)"
    r"|\s*,?\s*((?:[\w'-]+,?\s+){0,4}?)(?:to|of|in|on|over|at|across|along|through|into|near"
    r"|around|under|behind|down|up)\s+(?:the\s+|his\s+|her\s+)?"
    r"|\s+(?:his|her)\s+"
)
_AND = re.compile(
    r"\s*(?:,\s*)?(?:and|&)\s+(?:(?:on|to|in|over)\s+)?(?:the\s+|his\s+|her\s+)?"
    # "burns on her face, on both hands, and the right forearm"
    r"|\s*,\s*(?:(?:on|to|in|over)\s+)?(?:the\s+|his\s+|her\s+)?"
)
# Between two sites of a list: "face and both forearms", "neck, chest and left arm".
_LISTED = re.compile(r"\s*,?\s*(?:(?:and|&)\s+)?(?:the\s+|his\s+|her\s+)?")
_LEVEL = re.compile(r"\s+((?:above|below)\s+the\s+(?:knee|elbow))")


def injuries(sentence: Span, lex: Lexicon) -> list[Found]:
    """Wounds with their body site: "gunshot wound to the right thigh", "right foot partial
    amputation", "frag cuts to the face and left hand". Sites of devices are not wounds."""
    out: list[Found] = []
    cls = clauses(sentence)
    for i, clause in enumerate(cls):
        excluded = [(x.start(), x.end()) for x in lex.not_mechanism.finditer(clause.text)]
        excluded += [(x.start(), x.end()) for x in _heard_cat().finditer(clause.text)]
        for kind, m in lex.injury.find(clause.text):
            if negated(clause, clause.start + m.start(), clause.start + m.end(), sentence):
                continue
            if any(a < m.end() and m.start() < b for a, b in excluded):
                continue  # "a shot of morphine in the thigh"
            after = clause.text[m.end() :]
            sites = _linked_sites(clause, lex, clause.start + m.end())
            if not sites:
                # "Right foot partial amputation": the site comes first, right before the wound.
                listed = _sites_before(clause, lex, clause.start + m.start())
                for before in listed[:-1]:
                    sites.append((before[0], before[2], before[3]))
                if listed:
                    # "Left leg traumatic amputation above the knee": the level follows the wound.
                    before = listed[-1]
                    level = _LEVEL.match(after)
                    site = f"{before[0]} {level.group(1).lower()}" if level else before[0]
                    end = clause.start + m.end() + level.end() if level else before[3]
                    sites.append((site, before[2], end))
            if not sites:
                # "traumatic amputation left leg below the knee"
                found = site_at(clause, lex, clause.start + m.end())
                if found and found[2] - (clause.start + m.end()) <= 2:
                    sites.append((found[0], found[2], found[3]))
            if not sites and kind == "burn" and not after.strip() and i + 1 < len(cls):
                # "full thickness burns, both arms and the front of the torso": the sites are
                # listed in the next clause.
                nxt, pos = cls[i + 1], cls[i + 1].start
                while (found := site_at(nxt, lex, pos)) is not None:
                    sites.append((found[0], found[2], found[3]))
                    pos = found[3]
            for site, s, e in sites:
                start = min(s, clause.start + m.start())
                end = max(e, clause.start + m.end())
                if any(f.data["site"] == site and f.end >= start for f in out):
                    continue  # "a round hit him in the shoulder": one wound in two words
                out.append(Found("injury", {"site": site, "kind": kind}, start, end))
    return out


# "another small one on the right hand", "a second one on the left leg": one more of what was
# just said (a wound, a tourniquet), somewhere else.
_ANOTHER = re.compile(
    r"\b(?:another|a\s+second|one\s+more|the\s+other)\s+(?:(?:small|smaller|little|big|bigger"
    r"|large|deep|shallow|minor|bad|nasty)\s+)?one\b",
    re.I,
)


def another_one(sentence: Span, lex: Lexicon) -> list[Found]:
    """One more of the last thing said, at a new site: the analyzer decides of what."""
    out: list[Found] = []
    for clause in clauses(sentence):
        for m in _ANOTHER.finditer(clause.text):
            start, end = clause.start + m.start(), clause.start + m.end()
            if negated(clause, start, end, sentence):
                continue
            sites = _linked_sites(clause, lex, end)
            if not sites:
                continue
            site, s, e = sites[0]
            found = site_at(clause, lex, s)
            row = found[1] if found else ""
            data: dict[str, Scalar] = {"site": site, "limb": limb_row(site, row)}
            out.append(Found("another", data, start, max(end, e)))
    return out


def _heard_cat() -> re.Pattern[str]:
    # Imported here: interventions builds on this module.
    from tccc.analysis.interventions import HEARD_CAT

    return HEARD_CAT


def _linked_sites(clause: Span, lex: Lexicon, at: int) -> list[tuple[str, int, int]]:
    """Sites joined to a wound word ending at `at`: "to the face and left hand"."""
    link = _LINK.match(clause.text, at - clause.start)
    if link is None or (link.group(1) and about_care(Span(link.group(1), 0), lex)):
        return []  # "amputation CAT on the right leg": the site is the tourniquet's
    sites: list[tuple[str, int, int]] = []
    pos = clause.start + link.end()
    reach = 12
    while (found := site_at(clause, lex, pos)) is not None and found[2] - pos <= reach:
        gap = clause.text[pos - clause.start : found[2] - clause.start]
        if sites and lex.injury.find(gap):
            break  # "frag to the abdomen and GSW to the neck": another wound
        sites.append((found[0], found[2], found[3]))
        more = _AND.match(clause.text, found[3] - clause.start)
        if not more:
            break
        # After a bare comma only a site said right there is listed: "left shoulder, sorry,
        # right shoulder" corrects the site, it lists no second one.
        reach = 12 if re.search(r"\band\b|&", more.group(0)) else 0
        pos = clause.start + more.end()
    return sites


_SITE_IS = re.compile(
    r"\s*(?:['’]s|is|are|was|were|has|had|have|got|with|shows?)\b(?:\s+(?:got|been|just|now|also"
    r"|a|an|the|some|two|multiple|several|\w+ly))*(?:\s+[a-z'-]+){0,3}?\s*",
    re.I,
)


def _sites_before(clause: Span, lex: Lexicon, at: int) -> list[tuple[str, str, int, int]]:
    """The sites said right before offset `at`, listed ("face and both forearms are
    flash-burned", "chest wound"): the last ends at most 3 characters before it, or is joined
    to it by a verb ("the right thigh has a big open frag wound", "left leg is gone")."""
    pos = clause.start
    before: list[tuple[str, str, int, int]] = []
    while (found := site_at(clause, lex, pos)) is not None and found[3] <= at:
        before.append(found)
        pos = found[3]
    if not before:
        return []
    gap = clause.text[before[-1][3] - clause.start : at - clause.start]
    if not (len(gap) <= 3 or _SITE_IS.fullmatch(gap)):
        return []
    listed = [before.pop()]
    while before:
        between = clause.text[before[-1][3] - clause.start : listed[0][2] - clause.start]
        if not _LISTED.fullmatch(between):
            break
        listed.insert(0, before.pop())
    return listed


def _units(sentence: Span, lex: Lexicon) -> list[Found]:
    """The casualty's unit: its parts said one after another joined as said ("Third Platoon,
    Alpha Company"); a unit named by what it is ("Security Forces") counts too."""
    text = sentence.text
    found = [
        (m.start(), m.end(), f"{_titled(m.group(1))} {_capital(m.group(2))}")
        for m in _unit_regex(lex).finditer(text)
    ]
    found += [(m.start(), m.end(), _titled(m.group(0))) for m in lex.unit_names.finditer(text)]
    found = [p for p in found if not _UNIT_ACTS.match(text, p[1])]
    found.sort(key=lambda p: (p[0], -p[1]))
    chains: list[list[tuple[int, int, str]]] = []
    for part in found:
        last = chains[-1][-1] if chains else None
        if last is not None and part[0] < last[1]:
            continue  # overlapping: "Security Forces Squadron" found twice
        if last is not None and _UNIT_JOIN.fullmatch(text[last[1] : part[0]]):
            chains[-1].append(part)
        else:
            chains.append([part])
    out: list[Found] = []
    for chain in chains:
        data: dict[str, Scalar] = {"field": "unit", "value": ", ".join(p[2] for p in chain)}
        out.append(_at(sentence, "identity", data, chain[0][0], chain[-1][1]))
    return out


def _unit_regex(lex: Lexicon) -> re.Pattern[str]:
    cached = _UNIT_CACHE.get(lex.unit_roles)
    if cached is None:
        cached = _UNIT_CACHE[lex.unit_roles] = _unit_pattern(lex.unit_roles)
    return cached


_UNIT_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _titled(words: str) -> str:
    # An acronym said as one ("HHC") stays in capitals; "and", "of" stay small.
    return " ".join(
        w
        if w.isupper() and len(w) > 1
        else w.lower()
        if w.lower() in ("and", "of")
        else _capital(w)
        for w in words.split()
    )


def _capital(word: str) -> str:
    # Not str.title(): "1st" stays "1st".
    return word[:1].upper() + word[1:].lower()


def _negated_in(sentence: Span, start: int, end: int, kind: str | None = None) -> bool:
    for clause in clauses(sentence):
        if clause.start <= sentence.start + start < clause.end:
            return negated(clause, sentence.start + start, sentence.start + end, sentence, kind)
    return False


def _at(span: Span, kind: str, data: dict[str, Scalar], start: int, end: int) -> Found:
    """A finding at [start, end) relative to `span`."""
    return Found(kind, data, span.start + start, span.start + end)
