"""Extractors: pure functions from one sentence of normalised text to casualty findings.

Each extractor reads a sentence (with its clauses) and returns `Found` values with the span of
text that says them. They know nothing of casualties, corrections or sessions; the analyzer
puts findings in context. Everything they look for comes from the lexicon (data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tccc.analysis.lexicon import Lexicon
from tccc.analysis.text import ClockTime, Span, clauses, negated, times
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


def _side_before(text: str) -> str | None:
    found = _SIDE.findall(text)
    return found[-1].lower() if found else None


def site_at(clause: Span, lex: Lexicon, start: int = 0) -> tuple[str, str, int, int] | None:
    """The first body site at or after `start` (offset in the text): (site, limb row, span)."""
    rel = max(0, start - clause.start)
    m = lex.region_pattern.search(clause.text, rel)
    if m is None:
        return None
    region = m.group(0).lower()
    # The side is the nearest side word in the few words before the region.
    window = clause.text[max(rel, m.start() - 40) : m.start()]
    side = _side_before(window)
    begin = m.start()
    if side:
        begin = window.lower().rfind(side) + max(rel, m.start() - 40)
    tail = re.match(
        r"\s+(?:below|above)\s+the\s+(?:knee|elbow)|\s+of\s+the\s+(?:skull|head|torso)",
        clause.text[m.end() :],
    )
    end = m.end() + (tail.end() if tail else 0)
    site = clause.text[begin:end].lower()
    site = re.sub(r"\bboth\b", "both", site)
    return site, lex.regions.get(region, ""), clause.start + begin, clause.start + end


def limb_row(site: str, row: str) -> str | None:
    """The card's tourniquet row for a site: R Arm, L Leg, Junctional ... (None if unknown)."""
    if row == "Junctional":
        return "Junctional"
    if row not in ("Arm", "Leg"):
        return None
    side = _side_before(site)
    if side == "left":
        return f"L {row}"
    if side == "right":
        return f"R {row}"
    return None


def _clock(found: list[ClockTime], after: int) -> ClockTime | None:
    return next((t for t in found if t.start >= after), None)


# --- identity and evacuation --------------------------------------------------------------------

_NAME = re.compile(r"\s+([A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?)")
_ROSTER = re.compile(
    r"\b(?:battle\s+)?roster(?:\s+(?:number|no\.?|#))?\s+(?:is\s+)?([A-Z]{2}\d{4})\b", re.I
)
_LAST4 = re.compile(r"\blast\s+(?:4|four)\s+(?:is\s+)?(\d{4})\b", re.I)
_ALLERGY = re.compile(r"\ballergic\s+to\s+([a-z][\w-]*(?:\s+and\s+[a-z][\w-]*)?)", re.I)
_UNIT = re.compile(
    r"\b([A-Z][a-z]+|\d+(?:st|nd|rd|th))\s+(Company|Platoon|Squad|Battalion|Troop|Battery)\b"
)
_WEIGHT = re.compile(
    r"\b(?:about|around|roughly|weighs)?\s*(\d{2,3})\s*(?:kg|kilos|kilograms)\b", re.I
)


def identity(sentence: Span, lex: Lexicon) -> list[Found]:
    """Name (after a rank), battle roster, last 4, unit, service, allergies, weight."""
    out: list[Found] = []
    text = sentence.text
    for m in lex.ranks.finditer(text):
        name = _NAME.match(text, m.end())
        if name:
            words = name.group(1).split()
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
    for m in _ROSTER.finditer(text):
        out.append(
            _at(
                sentence,
                "identity",
                {"field": "battle_roster", "value": m.group(1).upper()},
                m.start(),
                m.end(),
            )
        )
    for m in _LAST4.finditer(text):
        out.append(
            _at(sentence, "identity", {"field": "last4", "value": m.group(1)}, m.start(), m.end())
        )
    for m in _UNIT.finditer(text):
        out.append(
            _at(
                sentence,
                "identity",
                {"field": "unit", "value": f"{m.group(1)} {m.group(2)}"},
                m.start(),
                m.end(),
            )
        )
    for service, m in lex.services.find(text):
        out.append(
            _at(sentence, "identity", {"field": "service", "value": service}, m.start(), m.end())
        )
    for m in lex.nkda.finditer(text):
        out.append(
            _at(sentence, "identity", {"field": "allergies", "value": "NKDA"}, m.start(), m.end())
        )
    for m in _ALLERGY.finditer(text):
        if not _negated_in(sentence, m.start(), m.end()):
            out.append(
                _at(
                    sentence,
                    "identity",
                    {"field": "allergies", "value": m.group(1).lower()},
                    m.start(),
                    m.end(),
                )
            )
    for m in _WEIGHT.finditer(text):
        out.append(
            _at(
                sentence,
                "identity",
                {"field": "weight_kg", "value": int(m.group(1))},
                m.start(),
                m.end(),
            )
        )
    return out


_EVAC_CONTEXT = re.compile(r"\b(?:evac|evacuation|medevac|casevac|category|cat)\b", re.I)


def evacuation(sentence: Span, lex: Lexicon) -> list[Found]:
    """Evacuation category: "requesting urgent evac", or the word alone as a sentence."""
    out: list[Found] = []
    for clause in clauses(sentence):
        rest = re.sub(
            r"\b(?:casualty|cas)\s+\d+\b|\b(?:gets|get|is|a|an|evac|for)\b",
            "",
            clause.text,
            flags=re.I,
        )
        alone = len(re.findall(r"\w+", rest)) <= 2
        for name, m in lex.evac.find(clause.text):
            if alone or _EVAC_CONTEXT.search(clause.text):
                out.append(_at(clause, "evac", {"category": name}, m.start(), m.end()))
    return out


# --- mechanism and injuries ---------------------------------------------------------------------

_INJURY_TIME = re.compile(r"\b(?:time\s+of\s+injury|injured\s+at|injury\s+at|wounded\s+at)\b", re.I)


def mechanism(sentence: Span, lex: Lexicon) -> list[Found]:
    """Mechanism of injury boxes; a clock time said with the mechanism is the time of injury."""
    out: list[Found] = []
    for clause in clauses(sentence):
        for name, m in lex.mechanism.find(clause.text):
            if negated(clause, clause.start + m.start(), clause.start + m.end()):
                continue
            out.append(
                _at(
                    clause,
                    "mechanism",
                    {"value": name, "word": m.group(0).lower()},
                    m.start(),
                    m.end(),
                )
            )
            if name == "Fall":
                t = _clock(times(clause), clause.start)
                if t:
                    out.append(Found("time_of_injury", {"time": t.hhmm}, t.start, t.end))
    for m in _INJURY_TIME.finditer(sentence.text):
        t = _clock(times(Span(sentence.text[m.end() :], sentence.start + m.end())), 0)
        if t is None:
            after = re.match(
                r"\s*(?:was|is|of)?\s*((?:[01]\d|2[0-3])[0-5]\d)\b", sentence.text[m.end() :]
            )
            if after:
                s = sentence.start + m.end() + after.start(1)
                t = ClockTime(after.group(1), s, s + 4)
        if t:
            out.append(Found("time_of_injury", {"time": t.hhmm}, sentence.start + m.start(), t.end))
    return out


def injuries(sentence: Span, lex: Lexicon) -> list[Found]:
    """Wounds with their body site: "gunshot wound to the right thigh", "right foot partial
    amputation", "frag cuts to the face and left hand". Sites of devices are not wounds."""
    out: list[Found] = []
    cls = clauses(sentence)
    for i, clause in enumerate(cls):
        for kind, m in lex.injury.find(clause.text):
            if negated(clause, clause.start + m.start(), clause.start + m.end()):
                continue
            after = clause.text[m.end() :]
            sites: list[tuple[str, int, int]] = []
            link = re.match(
                r"\s*(?:\w+\s+){0,2}?(?:to|of|in|on|over|at)\s+(?:the\s+|his\s+|her\s+)?"
                r"|\s+(?:his|her)\s+",
                after,
            )
            pos = clause.start + m.end() + (link.end() if link else 0)
            if link:
                while True:
                    found = site_at(clause, lex, pos)
                    if found is None or found[2] - pos > 12:
                        break
                    sites.append((found[0], found[2], found[3]))
                    more = re.match(
                        r"\s*(?:,\s*)?(?:and|&)\s+(?:the\s+|his\s+|her\s+)?",
                        clause.text[found[3] - clause.start :],
                    )
                    if not more:
                        break
                    pos = found[3] + more.end()
            else:
                # "Right foot partial amputation": the site comes first, right before the wound.
                before = site_at(clause, lex, clause.start)
                if (
                    before
                    and before[3] <= clause.start + m.start()
                    and clause.start + m.start() - before[3] <= 3
                ):
                    # "Left leg traumatic amputation above the knee": the level follows the wound.
                    level = re.match(r"\s+((?:above|below)\s+the\s+(?:knee|elbow))", after)
                    site = f"{before[0]} {level.group(1).lower()}" if level else before[0]
                    end = clause.start + m.end() + level.end() if level else before[3]
                    sites.append((site, before[2], end))
                else:
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
                out.append(Found("injury", {"site": site, "kind": kind}, start, end))
    return out


# --- interventions ------------------------------------------------------------------------------

_COUNT = re.compile(r"\b(\d)\s+$")
_ABOVE_IT = re.compile(r"\b(?:above|below|next to|proximal to)\s+(?:it|the first|that one)\b", re.I)


def _anchors(clause: Span, lex: Lexicon) -> list[tuple[str | None, int, int]]:
    """Each tourniquet mentioned in a clause: (type or None, start, end) relative to the clause.
    "CAT tourniquet" is one mention; "a CAT ... and a second CAT" are two."""
    marks: list[tuple[str | None, int, int]] = [
        (name, m.start(), m.end()) for name, m in lex.tourniquet_types.find(clause.text)
    ]
    marks += [(None, m.start(), m.end()) for m in lex.tourniquet.finditer(clause.text)]
    marks.sort(key=lambda x: x[1])
    out: list[tuple[str | None, int, int]] = []
    for name, start, end in marks:
        if out and start - out[-1][2] <= 1:
            prev = out[-1]
            out[-1] = (prev[0] or name, prev[1], end)
        else:
            out.append((name, start, end))
    return out


def tourniquets(sentence: Span, lex: Lexicon) -> list[Found]:
    """Tourniquets: limb, type, time(s), category; "high and tight"; conversion and removal."""
    out: list[Found] = []
    cls = clauses(sentence)
    used_type_clause = -1
    for i, clause in enumerate(cls):
        low = clause.text
        if lex.converted.search(low) or lex.removed.search(low):
            action = "removed" if lex.removed.search(low) else "converted"
            site = site_at(clause, lex, clause.start)
            t = _clock(times(clause), clause.start)
            data: dict[str, Scalar] = {"action": action, "time": t.hhmm if t else None}
            if site:
                data["limb"] = limb_row(site[0], site[1])
            out.append(Found("tourniquet_change", data, clause.start, clause.end))
            continue
        if i == used_type_clause:
            continue  # "..., it's a SOFTT-W": the type of the tourniquet just before
        anchors = _anchors(clause, lex)
        for j, (kind, a_rel, a_rel_end) in enumerate(anchors):
            a_start, a_end = clause.start + a_rel, clause.start + a_rel_end
            seg_end = clause.start + (anchors[j + 1][1] if j + 1 < len(anchors) else len(low))
            segment = Span(clause.text[a_rel : seg_end - clause.start], a_start)
            if negated(clause, a_start, a_end):
                continue
            if kind is None and i + 1 < len(cls):
                later = cls[i + 1]
                t2 = lex.tourniquet_types.find(later.text)
                if t2 and not lex.tourniquet.search(later.text):
                    kind = t2[0][0]
                    used_type_clause = i + 1
            site = site_at(segment, lex, a_end)
            limb = limb_row(site[0], site[1]) if site else None
            category = "Extremity"
            junctional = lex.junctional.search(low[max(0, a_rel - 14) : a_rel_end])
            if junctional:
                limb, category = "Junctional", "Junctional"
                kind = kind if kind in ("SAM-JT", "JETT", "CROC") else None
            clock = times(segment)
            count = _COUNT.search(low[:a_rel])
            n = max(int(count.group(1)) if count else 1, 1)
            stamps: list[str | None] = [t.hhmm for t in clock[:n]]
            if not stamps and j + 1 == len(anchors) and i + 1 < len(cls):
                t_next = times(cls[i + 1])
                if t_next and not lex.tourniquet.search(cls[i + 1].text):
                    stamps = [t_next[0].hhmm]
            stamps += [None] * (n - len(stamps))
            for stamp in stamps:
                data = {
                    "limb": limb,
                    "type": kind,
                    "time": stamp,
                    "category": category,
                    "high_and_tight": bool(lex.high_and_tight.search(low)),
                    "above_previous": bool(_ABOVE_IT.search(segment.text)),
                }
                out.append(Found("tourniquet", data, a_start, segment.end))
    return out


def devices(sentence: Span, lex: Lexicon) -> list[Found]:
    """Dressings, airway and breathing interventions, other treatments (not negated)."""
    out: list[Found] = []
    for clause in clauses(sentence):
        for kind, choice in (
            ("dressing", lex.dressings),
            ("airway", lex.airway),
            ("breathing", lex.breathing),
            ("treatment", lex.treatments),
        ):
            for name, m in choice.find(clause.text):
                start, end = clause.start + m.start(), clause.start + m.end()
                if negated(clause, start, end):
                    continue
                data: dict[str, Scalar] = {"value": name}
                if kind == "dressing" and re.search(r"\bburns?\b", clause.text, re.I):
                    continue  # burn dressings are not hemorrhage control
                if kind == "treatment" and name == "Eye-Shield":
                    side = _side_before(clause.text[m.end() :] + " " + clause.text[: m.start()])
                    if side not in ("left", "right"):
                        continue
                    data["value"] = f"Eye-Shield-{side[0].upper()}"
                    data["side"] = side
                    # A rigid eye shield goes over an injured eye (TCCC A2): that eye is a wound.
                    out.append(Found("injury", {"site": f"{side} eye", "kind": None}, start, end))
                if kind == "breathing":
                    side = _side_before(clause.text)
                    if side:
                        data["side"] = side
                    if name == "Chest-Seal":
                        data["vented"] = bool(re.search(r"\bvented\b", clause.text, re.I))
                    t = _clock(times(clause), clause.start)
                    if t:
                        data["time"] = t.hhmm
                out.append(Found(kind, data, start, end))
    return out


def _negated_in(sentence: Span, start: int, end: int) -> bool:
    for clause in clauses(sentence):
        if clause.start <= sentence.start + start < clause.end:
            return negated(clause, sentence.start + start, sentence.start + end)
    return False


def _at(span: Span, kind: str, data: dict[str, Scalar], start: int, end: int) -> Found:
    """A finding at [start, end) relative to `span`."""
    return Found(kind, data, span.start + start, span.start + end)
