"""Intervention extractors: tourniquets (limb, type, time, conversion), hemorrhage dressings,
airway and breathing interventions, and other treatments. Pure functions of one sentence."""

from __future__ import annotations

import re

from tccc.analysis.extractors import (
    Found,
    about_care,
    clock_after,
    limb_row,
    side_before,
    site_at,
)
from tccc.analysis.lexicon import Lexicon
from tccc.analysis.text import ClockTime, Span, clauses, negated, times
from tccc.events import Scalar

# Devices made for junctional bleeding: their row is Junctional wherever they are put.
_JUNCTIONAL_TYPES = ("SAM-JT", "JETT", "CROC")
# A device around the pelvis or abdomen: the card's Truncal row ("AAJT in the truncal position").
_TRUNCAL_TYPES = ("AAJT",)
_TRUNCAL = re.compile(r"\btruncal\b", re.I)
# "CAT, right leg, 1504": the limb said in the clause after the device.
# The clause after a tourniquet opens with where it went ("CAT tourniquet, high and tight on
# the left thigh"): maybe after "high and tight", which says where on the limb.
_SITE_OPENS = re.compile(
    r"\s*(?:high,?\s+(?:and|&|n)\s+tight,?\s+)?(?:on\s+|to\s+|around\s+)?"
    r"(?:the\s+|his\s+|her\s+)?(?:left|right|both)\b",
    re.I,
)
_ITS_A = re.compile(r"\b(?:it's|it\s+is|it\s+was|that's)\s+(?:a|an)\s+$", re.I)
# Another action after a time or "and": a site after it is not where this tourniquet went
# ("CAT at 0645 started an IV in the left arm" when the medic's pauses lost the stops).
_NEXT_ACTION = re.compile(
    r"(?:\d{4}|\band\b|\bthen\b).*\b(?:started|gave|given|placed|put|inserted|administered"
    r"|got|giving)\b",
    re.I,
)
_BARE_TIME = re.compile(r"(?<![\w/.])(?:[01]\d|2[0-3])[0-5]\d(?![\w/.%]|\s*(?:%|[a-z]))", re.I)
_TO_DRESSING = re.compile(r"\bto\s+(?:a|an)\s+(?:\w+\s+)?(?:dressing|bandage|gauze)\b", re.I)
_COUNT = re.compile(r"\b(\d)\s+$")
_ABOVE_IT = re.compile(r"\b(?:above|below|next to|proximal to)\s+(?:it|the first|that one)\b", re.I)


# "CAT" said with an accent or in a hurry is heard "cut": "cut on the left leg at 1420" is a
# tourniquet put on at a time (a cut is not said with a time and "on the limb").
HEARD_CAT = re.compile(
    r"\b(?:cut|cot|kat)\b(?=\s+(?:on|around)\s+(?:the\s+|his\s+|her\s+)?(?:left|right)\s+"
    r"(?:upper\s+)?(?:arm|leg|thigh|forearm)\b[^.,;]{0,12}?\b(?:at|are)\s+(?:[01]\d|2[0-3])[0-5]\d)",
    re.I,
)


def _anchors(clause: Span, lex: Lexicon) -> list[tuple[str | None, int, int]]:
    """Each tourniquet mentioned in a clause: (type or None, start, end) relative to the clause.
    "CAT tourniquet" is one mention; "a CAT ... and a second CAT" are two."""
    marks: list[tuple[str | None, int, int]] = [
        (name, m.start(), m.end()) for name, m in lex.tourniquet_types.find(clause.text)
    ]
    marks += [("CAT", m.start(), m.end()) for m in HEARD_CAT.finditer(clause.text)]
    marks += [(None, m.start(), m.end()) for m in lex.tourniquet.finditer(clause.text)]
    marks.sort(key=lambda x: x[1])
    out: list[tuple[str | None, int, int]] = []
    for name, start, end in marks:
        prev = out[-1] if out else None
        if prev is not None and not clause.text[prev[2] : start].strip(" ,"):
            # "CAT tourniquet", and Whisper's "CAT, tourniquet": one mention.
            out[-1] = (prev[0] or name, prev[1], end)
        elif prev is not None and prev[0] is None and _ITS_A.search(clause.text[:start]):
            out[-1] = (name, prev[1], prev[2])  # "tourniquet on the left leg, it's a SOFTT-W"
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
        change = lex.removed.search(low) or lex.converted.search(low)
        if change:
            start, end = clause.start + change.start(), clause.start + change.end()
            named = lex.tourniquet.search(low) or lex.tourniquet_types.find(low)
            if negated(clause, start, end, sentence) or not (named or _TO_DRESSING.search(low)):
                continue  # "do not convert", or "converted" about something else
            action = "removed" if lex.removed.search(low) else "converted"
            site = site_at(clause, lex, clause.start)
            t = clock_after(times(clause), clause.start)
            data: dict[str, Scalar] = {"action": action, "time": t.hhmm if t else None}
            if site:
                data["limb"] = limb_row(site[0], site[1])
            out.append(Found("tourniquet_change", data, clause.start, clause.end))
            continue
        if i == used_type_clause:
            continue  # "..., it's a SOFTT-W": the type of the tourniquet just before
        if lex.tourniquet_reference.search(low):
            continue  # "checked the tourniquet at 1430": one already on, not a new one
        anchors = _anchors(clause, lex)
        named_type = _type_of_previous(clause, anchors)
        if named_type is not None:
            # "Tourniquet on the left leg at 0815. It's a SOFTT-W.": the one just put on.
            data = {"action": "type", "type": named_type, "time": None}
            out.append(Found("tourniquet_change", data, clause.start, clause.end))
            continue
        for j, (kind, a_rel, a_rel_end) in enumerate(anchors):
            a_start, a_end = clause.start + a_rel, clause.start + a_rel_end
            seg_end = clause.start + (anchors[j + 1][1] if j + 1 < len(anchors) else len(low))
            segment = Span(clause.text[a_rel : seg_end - clause.start], a_start)
            if negated(clause, a_start, a_end, sentence):
                continue
            if kind is None and i + 1 < len(cls):
                later = cls[i + 1]
                t2 = lex.tourniquet_types.find(later.text)
                if t2 and not lex.tourniquet.search(later.text):
                    kind = t2[0][0]
                    used_type_clause = i + 1
            site = site_at(segment, lex, a_end)
            above = _ABOVE_IT.search(segment.text)
            if site is not None and (
                (above is not None and site[2] >= segment.start + above.start())
                or _NEXT_ACTION.search(clause.text[a_rel_end : site[2] - clause.start])
            ):
                # "a second CAT above it ... started an IV in the left arm"; a site said before
                # "above the first" is the tourniquet's ("second CAT right thigh above the first").
                site = None
            if site is None:
                # "Right leg tourniquet at 1432": the site said just before the device.
                site = site_at(clause, lex, clause.start)
                if site is not None and not 0 <= a_start - site[3] <= 2:
                    site = None
            high = lex.high_and_tight.search(low)
            if site is None and j + 1 == len(anchors) and i + 1 < len(cls):
                nxt = cls[i + 1]
                if _SITE_OPENS.match(nxt.text) and not lex.tourniquet.search(nxt.text):
                    site = site_at(nxt, lex, nxt.start)
                    high = high or (lex.high_and_tight.search(nxt.text) if site else None)
            limb = limb_row(site[0], site[1]) if site else None
            category = "Extremity"
            junctional = lex.junctional.search(low[max(0, a_rel - 14) : a_rel_end])
            if kind in _TRUNCAL_TYPES or _TRUNCAL.search(low):
                limb, category = "Truncal", "Truncal"
            elif junctional or kind in _JUNCTIONAL_TYPES:
                limb, category = "Junctional", "Junctional"
                kind = kind if kind in _JUNCTIONAL_TYPES else None
            clock = times(segment)
            if not clock:
                # "TQ right leg 1205": a tourniquet has no dose or count, so four digits that
                # read as a clock time are its time even without "at".
                bare = _BARE_TIME.search(segment.text)
                if bare:
                    at = segment.start + bare.start()
                    clock = [ClockTime(bare.group(0), at, at + 4)]
            if not clock and j == 0:
                # "At 1432 applied a CAT": a time said before the first device of the clause.
                clock = times(Span(low[:a_rel], clause.start))
            count = _COUNT.search(low[:a_rel])
            n = max(int(count.group(1)) if count else 1, 1)
            used = clock[:n]
            in_later = False
            if not used and j + 1 == len(anchors):
                used, in_later = _later_time(cls[i + 1 : i + 3], lex)[:n], True
            # The evidence: the device with its site and the times said in its clause.
            start = min([a_start] + ([site[2]] if site else []))
            end = max([a_end] + ([site[3]] if site else []) + [t.end for t in used if not in_later])
            extras = tuple((t.start, t.end) for t in used if in_later)
            stamps: list[str | None] = [t.hhmm for t in used]
            stamps += [None] * (n - len(stamps))
            limbs: list[str | None] = [limb]
            both = site is not None and re.search(r"\b(?:both|bilateral)\b", site[0])
            if site is not None and both and limb is None and site[1] in ("Arm", "Leg"):
                limbs = [f"L {site[1]}", f"R {site[1]}"]  # "CATs on both thighs": one a side
            for stamp, limb in _each(stamps, limbs):
                data = {
                    "limb": limb,
                    "type": kind,
                    "time": stamp,
                    "category": category,
                    "high_and_tight": bool(high),
                    "above_previous": bool(_ABOVE_IT.search(segment.text)),
                }
                out.append(Found("tourniquet", data, start, end, extras))
    return out


def _each(stamps: list[str | None], limbs: list[str | None]) -> list[tuple[str | None, str | None]]:
    """Pairs of (time, limb) for each tourniquet of a mention: one time for both limbs when
    only one was said."""
    if len(limbs) == 1:
        return [(stamp, limbs[0]) for stamp in stamps]
    return [(stamps[k] if k < len(stamps) else stamps[0], limb) for k, limb in enumerate(limbs)]


def _type_of_previous(clause: Span, anchors: list[tuple[str | None, int, int]]) -> str | None:
    """The type in "It's a SOFTT-W", a clause naming only the type of a tourniquet said before."""
    if len(anchors) != 1 or anchors[0][0] is None:
        return None
    name, start, end = anchors[0]
    if not _ITS_A.search(clause.text[:start]) or clause.text[end:].strip(" .,;:!?"):
        return None
    return name


def _later_time(later: list[Span], lex: Lexicon) -> list[ClockTime]:
    """The time of a tourniquet said in the clauses after it ("CAT on the left leg, it's a
    SOFTT-W, at 0815"), unless a clause on the way names other care (its time is its own)."""
    for clause in later:
        text = clause.text
        if lex.tourniquet.search(text):
            return []
        for _, m in lex.tourniquet_types.find(text):
            text = text[: m.start()] + " " * len(m.group(0)) + text[m.end() :]
        if about_care(Span(text, clause.start), lex):
            return []
        said = times(clause)
        if said:
            return said  # "two CATs on the left leg, one at 0534 and one at 0540": one each
    return []


def devices(sentence: Span, lex: Lexicon) -> list[Found]:
    """Dressings, airway and breathing interventions, other treatments (not negated)."""
    out: list[Found] = _packing(sentence, lex)
    for clause in clauses(sentence):
        for kind, choice in (
            ("dressing", lex.dressings),
            ("airway", lex.airway),
            ("breathing", lex.breathing),
            ("treatment", lex.treatments),
        ):
            for name, m in choice.find(clause.text):
                start, end = clause.start + m.start(), clause.start + m.end()
                if negated(clause, start, end, sentence):
                    continue
                data: dict[str, Scalar] = {"value": name}
                if kind == "dressing" and re.search(r"\bburns?\b", clause.text, re.I):
                    continue  # burn dressings are not hemorrhage control
                if kind == "treatment" and name == "Eye-Shield":
                    side = side_before(clause.text[m.end() :] + " " + clause.text[: m.start()])
                    if side not in ("left", "right"):
                        continue
                    data["value"] = f"Eye-Shield-{side[0].upper()}"
                    data["side"] = side
                    # A rigid eye shield goes over an injured eye (TCCC A2): that eye is a wound.
                    out.append(Found("injury", {"site": f"{side} eye", "kind": None}, start, end))
                if kind == "breathing":
                    if name == "O2" and _SATURATION.match(clause.text, m.end()):
                        continue  # "O2 sat 95%" is a reading, not oxygen given
                    side = side_before(clause.text)
                    if side:
                        data["side"] = side
                    if name == "Chest-Seal":
                        data["vented"] = bool(
                            re.search(r"\bvented\b", clause.text, re.I)
                            and not re.search(r"\b(?:non|not|un)[\s-]*vented\b", clause.text, re.I)
                        )
                    t = clock_after(times(clause), clause.start)
                    if t:
                        data["time"] = t.hhmm
                out.append(Found(kind, data, start, end))
    return out


_SATURATION = re.compile(r"\s*(?:sats?|saturation)\b", re.I)


def _packing(sentence: Span, lex: Lexicon) -> list[Found]:
    """Wound packing ("packed the wound") is a hemostatic dressing unless the sentence names
    a product (then the product says which: "packed it with Kerlix" is plain gauze)."""
    if lex.dressings.find(sentence.text):
        return []
    for clause in clauses(sentence):
        for m in lex.packing.finditer(clause.text):
            start, end = clause.start + m.start(), clause.start + m.end()
            if not negated(clause, start, end, sentence) and not re.search(
                r"\bburns?\b", clause.text, re.I
            ):
                return [Found("dressing", {"value": "Hemostatic"}, start, end)]
    return []
