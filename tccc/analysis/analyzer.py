"""The session analyzer: findings of each utterance put in context and turned into facts.

Extractors are pure and see one sentence; the analyzer owns what needs the conversation so
far: which casualty is being talked about ("casualty two", "back to Miller", a roster number),
corrections ("correction", "make that", "scratch that"), the vascular access a later "slow push"
goes through, and the evidence of every fact (utterance, span, raw text, audio time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tccc.analysis.evidence import UtteranceText, evidence
from tccc.analysis.extractors import (
    Extractor,
    Found,
    evacuation,
    identity,
    injuries,
    limb_row,
    mechanism,
)
from tccc.analysis.interventions import devices, tourniquets
from tccc.analysis.lexicon import Lexicon, load_lexicon
from tccc.analysis.measures import access, burns, fluids, medications, valid_vital, vitals
from tccc.analysis.text import Span, sentences
from tccc.events import Fact, Scalar

__all__ = ["EXTRACTORS", "SCENE", "SessionAnalyzer", "UtteranceText", "evidence"]

EXTRACTORS: tuple[Extractor, ...] = (
    identity,
    evacuation,
    mechanism,
    injuries,
    tourniquets,
    devices,
    access,
    vitals,
    medications,
    fluids,
    burns,
)
"""Every extractor, in the order their facts are emitted within a sentence."""

SCENE = "*"
"""Casualty label of facts about the whole incident ("three casualties from the mortar")."""

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_CASUALTY = re.compile(
    r"\b(?:(?:casualty|patient|cas)\s+(?:number\s+|#\s*)?(\d{1,2})\b"
    # "Casualty to has a laceration" is Whisper's "casualty two"; "casualty to the CCP" is not.
    # Only before a pause or what is said of a casualty, so "patient to safety" is not.
    r"|(?:casualty|patient)\s+(to|too|won)\b(?=\s*[,.:;]|\s*$|\s+(?:has|had|is|was|gets|"
    r"got|needs|pulse|resp|respiratory|sats?|spo2|bp|blood|roster|battle|avpu|alert|urgent"
    r"|priority|routine)\b)"
    r"|(first|second|third|fourth|fifth|sixth)\s+(?:casualty|patient)\b)",
    re.I,
)
_SAID_AS = {"to": 2, "too": 2, "won": 1}
# A casualty's name after a cue word or opening a clause: "Back to Miller", "now Ortiz",
# "Diaz is urgent, Chen is priority" (cue words in any case, the name capitalised).
_BACK_TO = re.compile(
    r"(?:\b(?i:back\s+to|now|switching\s+to|moving\s+(?:on\s+)?to|on\s+to|over\s+to)\s+"
    r"|^|,\s+|\b(?i:and)\s+)([A-Z][a-z'-]+?)(?:'s)?\b"
)
# "Casualty RM4417": a casualty named by battle roster number.
_BY_ROSTER = re.compile(r"\b(?i:casualty|patient|cas)\s+(?:(?i:number)\s+)?([A-Z]{2}\d{4})\b")
_MANY = re.compile(r"\b(\d{1,2})\s+(?:casualties|patients|wounded)\b", re.I)
_CORRECTION = re.compile(r"\b(?:correction|correcting|i\s+mean|sorry|make\s+(?:that|it))\b", re.I)
# A bare value after "make that" or "correction" corrects the fact just stated.
_MAKE_THAT = re.compile(
    r"\b(?:make\s+(?:that|it)|correction|i\s+mean|sorry)[,:]?\s+(?:it's\s+|it\s+was\s+)?"
    r"(\d{1,4}(?:\.\d+)?(?:/\d{2,3})?)"
    r"(?:\s*(mg|g|mcg|ml|l|units?)\b)?(?![/%\w])"
    r"(?!\s*(?:%|percent|meters?|m\b|minutes?|min\b|cm|inch|ga\b|gauge|casualt))",
    re.I,
)
_SCRATCH = re.compile(
    r"\b(?:scratch\s+that|disregard(?:\s+that|\s+last)?|strike\s+that|cancel\s+that)\b", re.I
)
_RESTATED = frozenset({"medication", "fluid", "tourniquet"})
_TIMED = frozenset({"medication", "fluid", "tourniquet", "breathing"})
_HHMM = re.compile(r"(?:[01]\d|2[0-3])[0-5]\d")


@dataclass(frozen=True)
class _Cue:
    """Something said in a sentence that acts on the session rather than stating a fact."""

    start: int
    end: int
    action: str
    """switch (to `label`), roster (a casualty named by `label`), scratch or make."""
    label: str = ""
    match: re.Match[str] | None = None


@dataclass
class _Casualty:
    label: str
    roster: str | None = None
    name: str | None = None


@dataclass
class SessionAnalyzer:
    """Turns a session's utterances, in order, into facts (one instance per session)."""

    lexicon: Lexicon = field(default_factory=load_lexicon)
    next_id: int = 1
    current: str | None = None
    casualties: dict[str, _Casualty] = field(default_factory=dict)
    facts: list[Fact] = field(default_factory=list)
    access_route: dict[str, str] = field(default_factory=dict)

    def analyze(self, utterance: UtteranceText) -> list[Fact]:
        """Facts stated in one utterance (also appended to `facts`)."""
        out: list[Fact] = []
        for sentence in sentences(utterance.text.text):
            out.extend(self._sentence(utterance, sentence))
        return out

    # -- one sentence --------------------------------------------------------------------------

    def _sentence(self, utt: UtteranceText, sentence: Span) -> list[Fact]:
        found: list[Found] = []
        for extract in EXTRACTORS:
            found.extend(extract(sentence, self.lexicon))
        found.sort(key=lambda f: f.start)
        cues = self._cues(sentence, found)
        many = _MANY.search(sentence.text) is not None
        correcting = _CORRECTION.search(sentence.text)
        corrects_from = sentence.start + correcting.start() if correcting else None
        # Cues act where they are said: before the findings that follow them.
        events: list[tuple[int, int, _Cue | Found]] = [(c.start, 0, c) for c in cues]
        events += [(f.start, 1, f) for f in found]
        events.sort(key=lambda e: (e[0], e[1]))
        out: list[Fact] = []
        for _, _, item in events:
            if isinstance(item, _Cue):
                out.extend(self._cue(utt, item))
                continue
            if item.kind == "identity" and item.data["field"] == "battle_roster":
                self._roster(str(item.data["value"]), correcting=corrects_from is not None)
            casualty = self._casualty_for(item, many)
            replaces = None
            if corrects_from is not None and corrects_from < item.start:
                replaces = self._latest_same(casualty, item, utt, before=corrects_from)
            fact = self._emit(utt, item, casualty, replaces)
            if fact is not None:
                out.append(fact)
        return out

    def _cues(self, sentence: Span, found: list[Found]) -> list[_Cue]:
        at = sentence.start
        cues: list[_Cue] = []
        for m in _CASUALTY.finditer(sentence.text):
            number, heard, ordinal = m.groups()
            if number:
                label = str(int(number))
            elif heard:
                label = str(_SAID_AS[heard.lower()])
            else:
                label = str(_ORDINALS[ordinal.lower()])
            cues.append(_Cue(at + m.start(), at + m.end(), "switch", label))
        for m in _BY_ROSTER.finditer(sentence.text):
            cues.append(_Cue(at + m.start(), at + m.end(), "roster", m.group(1)))
        for m in _BACK_TO.finditer(sentence.text):
            named = [c for c in self.casualties.values() if c.name == m.group(1)]
            if named:
                cues.append(_Cue(at + m.start(1), at + m.end(), "switch", named[0].label))
        for m in _SCRATCH.finditer(sentence.text):
            cues.append(_Cue(at + m.start(), at + m.end(), "scratch"))
        for m in _MAKE_THAT.finditer(sentence.text):
            # "make that pulse 102" states a finding: it is a correction, not a bare value.
            if not any(f.start >= at + m.start() for f in found):
                cues.append(_Cue(at + m.start(), at + m.end(), "make", match=m))
        return cues

    def _cue(self, utt: UtteranceText, cue: _Cue) -> list[Fact]:
        if cue.action == "switch":
            self._switch(cue.label)
            return []
        if cue.action == "roster":
            return self._roster_cue(utt, cue)
        fact = self._retract(utt, cue) if cue.action == "scratch" else self._make_that(utt, cue)
        return [fact] if fact else []

    # -- casualties ----------------------------------------------------------------------------

    def _switch(self, label: str) -> None:
        self.current = label
        self.casualties.setdefault(label, _Casualty(label))

    def _roster_cue(self, utt: UtteranceText, cue: _Cue) -> list[Fact]:
        """Switch to the casualty with the roster said ("casualty RM4417"), or start one
        labelled with it (the export matches casualties by roster number)."""
        known = next((c for c in self.casualties.values() if c.roster == cue.label), None)
        if known is not None:
            self._switch(known.label)
            return []
        self._switch(cue.label)
        self.casualties[cue.label].roster = cue.label
        data: dict[str, Scalar] = {"field": "battle_roster", "value": cue.label}
        return [self._append(utt, "identity", cue.label, data, cue.start, cue.end)]

    def _roster(self, roster: str, *, correcting: bool) -> None:
        """A roster number names the current casualty, switches to the one that has it, or
        (when the current casualty already has another) starts a new casualty."""
        for c in self.casualties.values():
            if c.roster == roster:
                self.current = c.label
                return
        label = self.current or "1"
        known = self.casualties.setdefault(label, _Casualty(label))
        if known.roster is not None and not correcting:
            label = roster
            self._switch(label)
        self.current = label
        self.casualties[label].roster = roster

    def _casualty_for(self, f: Found, many: bool) -> str:
        if f.kind in ("mechanism", "time_of_injury") and (many or self.current is None):
            return SCENE
        if self.current is None:
            self._switch("1")
        assert self.current is not None
        if f.kind == "identity" and f.data["field"] == "last_name":
            self.casualties[self.current].name = str(f.data["value"])
        return self.current

    # -- corrections ---------------------------------------------------------------------------

    def _active(self) -> list[Fact]:
        """Facts still standing, oldest first (not retracted, replaced, or retractions)."""
        gone = {int(str(f.data["fact"])) for f in self.facts if f.kind == "retract"}
        gone |= {f.replaces for f in self.facts if f.replaces is not None and f.id not in gone}
        # A model's suggestions are not the medic's words: corrections never target them.
        return [
            f
            for f in self.facts
            if f.id not in gone and f.kind not in ("retract", "casualty") and f.status == "stated"
        ]

    def _latest_same(
        self, casualty: str, f: Found, utt: UtteranceText, *, before: int
    ) -> int | None:
        """The latest standing fact of the same kind said before offset `before` of this
        utterance (not one stated after the word "correction")."""
        same_field = {"vital": "sign", "identity": "field"}.get(f.kind)
        candidates = [
            x
            for x in reversed(self._active())
            if (x.evidence.utterance_id != utt.utterance_id or x.evidence.end <= before)
            and x.casualty == casualty
            and x.kind == f.kind
            and (same_field is None or x.data.get(same_field) == f.data.get(same_field))
        ]
        if f.kind == "medication":
            # "Correction, ketamine 25 mg" replaces the ketamine; a new name the last drug.
            named = [x for x in candidates if x.data.get("name") == f.data.get("name")]
            candidates = named or candidates
        return candidates[0].id if candidates else None

    def _retract(self, utt: UtteranceText, cue: _Cue) -> Fact | None:
        """Withdraw the latest fact still standing ("scratch that")."""
        active = self._active()
        if not active:
            return None
        target = active[-1]
        data: dict[str, Scalar] = {"fact": target.id}
        return self._append(utt, "retract", target.casualty, data, cue.start, cue.end)

    def _make_that(self, utt: UtteranceText, cue: _Cue) -> Fact | None:
        """Give the fact just stated the value of "make that 110" (a vital's value, a
        drug's dose, a fluid's volume or a time), replacing it."""
        assert cue.match is not None
        raw, unit = cue.match.group(1), (cue.match.group(2) or "").lower()
        for target in reversed(self._active()[-3:]):
            data = _revalue(target, raw, unit)
            if data is not None:
                return self._append(
                    utt, target.kind, target.casualty, data, cue.start, cue.end, target.id
                )
        return None

    # -- facts ---------------------------------------------------------------------------------

    def _emit(
        self, utt: UtteranceText, f: Found, casualty: str, replaces: int | None
    ) -> Fact | None:
        data = dict(f.data)
        subject = data.pop("subject", None)
        if subject is not None and not any(c.name == subject for c in self.casualties.values()):
            return None  # "Bleeding is urgent": the word before is no casualty's name
        if f.kind == "access":
            self.access_route[casualty] = str(data["route"])
        if f.kind in ("medication", "fluid") and data.get("route") is None:
            # A drug pushed or a fluid run with no route named goes through the access in place.
            route = self.access_route.get(casualty)
            if route and (f.kind == "fluid" or data.get("name") in ("TXA", "Calcium")):
                data["route"] = route
        if f.kind == "tourniquet":
            above = data.pop("above_previous", False)
            if above and data.get("limb") is None:
                previous = next(
                    (
                        x
                        for x in reversed(self._active())
                        if x.kind == f.kind and x.casualty == casualty
                    ),
                    None,
                )
                if previous is not None:
                    data["limb"] = previous.data.get("limb")
                    data["category"] = previous.data.get("category")
            if data.get("limb") is None:
                data["limb"] = self._limb_from_injury(casualty)
        if replaces is not None and f.kind in _RESTATED:
            # "Correction, TXA 1 g" restates the drug: what it leaves out stays as it was.
            old = next(x for x in self.facts if x.id == replaces)
            if old.data.get("name") == data.get("name"):
                for key, value in old.data.items():
                    if data.get(key) is None:
                        data[key] = value
        if self._duplicate(casualty, f, data, utt):
            return None
        return self._append(utt, f.kind, casualty, data, f.start, f.end, replaces)

    def _limb_from_injury(self, casualty: str) -> Scalar:
        # "Frag wound to the left upper arm, applied a CAT": the tourniquet goes on that limb.
        for fact in reversed(self._active()):
            if fact.casualty == casualty and fact.kind == "injury":
                site = str(fact.data["site"])
                m = self.lexicon.region_pattern.search(site)
                if m:
                    return limb_row(site, self.lexicon.regions.get(m.group(0).lower(), ""))
        return None

    def _duplicate(
        self, casualty: str, f: Found, data: dict[str, Scalar], utt: UtteranceText
    ) -> bool:
        """The same finding said twice in one utterance is one fact; several from one span
        ("2 CATs on the left thigh") are several. Across utterances a wound, a line, or a
        device or drug given at the same stated time is the same one said again (a hand-off
        summary); a vital sign said again is a new reading."""
        again = f.kind in ("injury", "access") or (
            f.kind in _TIMED and data.get("time") is not None
        )
        return any(
            x.casualty == casualty
            and x.kind == f.kind
            and x.data == data
            and (again or x.evidence.utterance_id == utt.utterance_id)
            and (x.evidence.utterance_id, x.evidence.start, x.evidence.end)
            != (utt.utterance_id, f.start, f.end)
            for x in self._active()
        )

    def _append(
        self,
        utt: UtteranceText,
        kind: str,
        casualty: str,
        data: dict[str, Scalar],
        start: int,
        end: int,
        replaces: int | None = None,
    ) -> Fact:
        fact = Fact(
            id=self.next_id,
            kind=kind,
            casualty=casualty,
            data=data,
            evidence=evidence(utt, start, end),
            replaces=replaces,
            session_s=utt.session_s,
        )
        self.next_id += 1
        self.facts.append(fact)
        return fact


def _revalue(target: Fact, raw: str, unit: str) -> dict[str, Scalar] | None:
    """The target's data with the value of "make that RAW UNIT", or None if it does not fit."""
    data = dict(target.data)
    if _HHMM.fullmatch(raw) and not unit:
        if "time" not in data:
            return None
        data["time"] = raw
    elif target.kind == "vital" and not unit:
        sign = str(data["sign"])
        if sign == "bp" and "/" in raw:
            systolic, diastolic = (int(x) for x in raw.split("/"))
            if not diastolic < systolic:
                return None
            data["value"] = raw
        elif sign != "bp" and raw.isdigit() and valid_vital(sign, int(raw)):
            data["value"] = int(raw)
        else:
            return None
    elif target.kind == "medication" and unit not in ("ml", "l") and "/" not in raw:
        old = str(data.get("dose") or "").split()
        if not unit and len(old) != 2:
            return None
        unit = {"g": "g", "mg": "mg", "mcg": "mcg", "unit": "units", "units": "units"}.get(
            unit, old[-1] if old else unit
        )
        data["dose"] = f"{raw} {unit}"
    elif target.kind == "fluid" and unit in ("", "ml", "l") and "/" not in raw:
        data["volume_ml"] = int(float(raw) * (1000 if unit == "l" else 1))
    else:
        return None
    return data
