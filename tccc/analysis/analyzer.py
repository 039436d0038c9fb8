"""The session analyzer: findings of each utterance put in context and turned into facts.

Extractors are pure and see one sentence; the analyzer owns what needs the conversation so
far: which casualty is being talked about ("casualty two", "back to Miller", a roster number),
corrections ("correction", "make that", "scratch that"), the vascular access a later "slow push"
goes through, and the evidence of every fact (utterance, span, raw text, audio time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tccc.analysis.extractors import (
    Extractor,
    Found,
    devices,
    evacuation,
    identity,
    injuries,
    mechanism,
    tourniquets,
)
from tccc.analysis.lexicon import Lexicon, load_lexicon
from tccc.analysis.measures import access, burns, fluids, medications, vitals
from tccc.analysis.text import Span, sentences
from tccc.events import Evidence, Fact, NormalisedText, Scalar, Word

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
    r"\b(?:(?:casualty|patient|cas)\s+(?:number\s+|#\s*)?(\d{1,2})\b|(first|second|third|fourth|fifth|sixth)\s+(?:casualty|patient)\b)",
    re.I,
)
_BACK_TO = re.compile(r"\b(?:back\s+to|now|switching\s+to|moving\s+to|on\s+to)\s+([A-Z][a-z'-]+)\b")
_MANY = re.compile(r"\b(\d{1,2})\s+(?:casualties|patients|wounded)\b", re.I)
_CORRECTION = re.compile(r"\b(?:correction|correcting|i\s+mean|sorry)\b", re.I)
_MAKE_THAT = re.compile(r"\bmake\s+(?:that|it)\s+(\d{1,3}(?:/\d{2,3})?)\b", re.I)
_SCRATCH = re.compile(
    r"\b(?:scratch\s+that|disregard(?:\s+that|\s+last)?|strike\s+that|cancel\s+that)\b", re.I
)


@dataclass(frozen=True)
class UtteranceText:
    """What the analyzer needs of one final transcript."""

    utterance_id: int
    text: NormalisedText
    words: tuple[Word, ...] = ()
    """Recognised words with session times (empty for text input)."""
    session_s: float = 0.0
    """Session time at the end of the utterance."""


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
        text = utterance.text.text
        for sentence in sentences(text):
            out.extend(self._sentence(utterance, sentence))
        return out

    # -- one sentence --------------------------------------------------------------------------

    def _sentence(self, utt: UtteranceText, sentence: Span) -> list[Fact]:
        found: list[Found] = []
        for extract in EXTRACTORS:
            found.extend(extract(sentence, self.lexicon))
        found.sort(key=lambda f: f.start)
        cues = self._casualty_cues(sentence, found)
        many = _MANY.search(sentence.text)
        correcting = _CORRECTION.search(sentence.text)
        out: list[Fact] = []
        scratch = _SCRATCH.search(sentence.text)
        if scratch and not found:
            retract = self._retract(utt, sentence, scratch)
            return [retract] if retract else []
        make = _MAKE_THAT.search(sentence.text)
        if make and not [f for f in found if f.kind == "vital"]:
            fact = self._make_that(utt, sentence, make)
            return [fact] if fact else []
        cue_i = 0
        for f in found:
            while cue_i < len(cues) and cues[cue_i][0] <= f.start:
                self._switch(cues[cue_i][1], utt, cues[cue_i][2])
                cue_i += 1
            if f.kind == "identity" and f.data["field"] == "battle_roster":
                self._roster(str(f.data["value"]))
            casualty = self._casualty_for(f, many is not None)
            replaces = None
            if correcting and correcting.start() < f.start - sentence.start:
                replaces = self._latest_same(casualty, f)
            fact = self._emit(utt, f, casualty, replaces)
            if fact is not None:
                out.append(fact)
        while cue_i < len(cues):
            self._switch(cues[cue_i][1], utt, cues[cue_i][2])
            cue_i += 1
        return out

    def _casualty_cues(self, sentence: Span, found: list[Found]) -> list[tuple[int, str, Span]]:
        cues: list[tuple[int, str, Span]] = []
        for m in _CASUALTY.finditer(sentence.text):
            label = m.group(1) or str(_ORDINALS[m.group(2).lower()])
            cues.append(
                (
                    sentence.start + m.start(),
                    str(int(label)),
                    Span(m.group(0), sentence.start + m.start()),
                )
            )
        for m in _BACK_TO.finditer(sentence.text):
            name = m.group(1).lower()
            for c in self.casualties.values():
                if c.name and c.name.lower() == name:
                    cues.append(
                        (
                            sentence.start + m.start(),
                            c.label,
                            Span(m.group(0), sentence.start + m.start()),
                        )
                    )
        cues.sort(key=lambda c: c[0])
        return cues

    def _switch(self, label: str, utt: UtteranceText, span: Span) -> None:
        self.current = label
        self.casualties.setdefault(label, _Casualty(label))

    def _roster(self, roster: str) -> None:
        """A roster number names the current casualty, or switches to the one that has it."""
        for c in self.casualties.values():
            if c.roster == roster:
                self.current = c.label
                return
        label = self.current or "1"
        self.casualties.setdefault(label, _Casualty(label))
        if self.casualties[label].roster is None:
            self.casualties[label].roster = roster

    def _casualty_for(self, f: Found, many: bool) -> str:
        if f.kind == "mechanism" and (many or self.current is None):
            return SCENE
        if self.current is None:
            self.current = "1"
            self.casualties.setdefault("1", _Casualty("1"))
        if f.kind == "identity" and f.data["field"] == "last_name":
            self.casualties[self.current].name = str(f.data["value"])
        return self.current

    def _latest_same(self, casualty: str, f: Found) -> int | None:
        for fact in reversed(self.facts):
            if fact.casualty != casualty or fact.kind != f.kind:
                continue
            if f.kind == "vital" and fact.data.get("sign") != f.data.get("sign"):
                continue
            if f.kind == "identity" and fact.data.get("field") != f.data.get("field"):
                continue
            if f.kind == "medication" and fact.data.get("name") != f.data.get("name"):
                continue
            return fact.id
        return None

    def _emit(
        self, utt: UtteranceText, f: Found, casualty: str, replaces: int | None
    ) -> Fact | None:
        data = dict(f.data)
        if f.kind == "access":
            self.access_route[casualty] = str(data["route"])
        if f.kind in ("medication", "fluid") and data.get("route") is None:
            # A drug pushed or a fluid run with no route named goes through the access in place.
            route = self.access_route.get(casualty)
            if route and (f.kind == "fluid" or data.get("name") in ("TXA", "Calcium")):
                data["route"] = route
        if (
            f.kind == "tourniquet"
            and data.pop("above_previous", False)
            and data.get("limb") is None
        ):
            previous = next(
                (
                    x
                    for x in reversed(self.facts)
                    if x.kind == "tourniquet" and x.casualty == casualty
                ),
                None,
            )
            if previous is not None:
                data["limb"] = previous.data.get("limb")
                data["category"] = previous.data.get("category")
        elif f.kind == "tourniquet":
            data.pop("above_previous", None)
        if f.kind == "tourniquet" and data.get("limb") is None:
            data["limb"] = self._limb_from_injury(casualty)
        if self._duplicate(casualty, f.kind, data, utt):
            return None
        return self._append(utt, f.kind, casualty, data, f.start, f.end, replaces)

    def _limb_from_injury(self, casualty: str) -> Scalar:
        # "Frag wound to the left upper arm, applied a CAT": the tourniquet goes on that limb.
        from tccc.analysis.extractors import limb_row

        for fact in reversed(self.facts):
            if fact.casualty == casualty and fact.kind == "injury":
                site = str(fact.data["site"])
                m = self.lexicon.region_pattern.search(site)
                if m:
                    return limb_row(site, self.lexicon.regions.get(m.group(0).lower(), ""))
        return None

    def _duplicate(
        self, casualty: str, kind: str, data: dict[str, Scalar], utt: UtteranceText
    ) -> bool:
        """The same finding said twice in one utterance is one fact."""
        return any(
            x.casualty == casualty
            and x.kind == kind
            and x.data == data
            and x.evidence.utterance_id == utt.utterance_id
            for x in self.facts
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

    def _retract(self, utt: UtteranceText, sentence: Span, m: re.Match[str]) -> Fact | None:
        target = next((f for f in reversed(self.facts) if f.kind != "retract"), None)
        if target is None:
            return None
        start = sentence.start + m.start()
        return self._append(
            utt, "retract", target.casualty, {"fact": target.id}, start, sentence.start + m.end()
        )

    def _make_that(self, utt: UtteranceText, sentence: Span, m: re.Match[str]) -> Fact | None:
        """'make that 102': the latest vital said gets the new value."""
        target = next((f for f in reversed(self.facts) if f.kind == "vital"), None)
        if target is None:
            return None
        raw = m.group(1)
        sign = str(target.data["sign"])
        if (sign == "bp") != ("/" in raw):
            return None
        data = dict(target.data)
        data["value"] = raw if sign == "bp" else int(raw)
        start = sentence.start + m.start()
        return self._append(
            utt, "vital", target.casualty, data, start, sentence.start + m.end(), target.id
        )


def evidence(utt: UtteranceText, start: int, end: int) -> Evidence:
    """Evidence for `text[start:end]` of an utterance: raw text and audio time range."""
    norm = utt.text
    raw_start, raw_end = norm.raw_span(start, end)
    audio = _audio_range(norm.raw, utt.words, raw_start, raw_end)
    return Evidence(
        utterance_id=utt.utterance_id,
        start=start,
        end=end,
        text=norm.text[start:end],
        raw=norm.raw[raw_start:raw_end],
        audio_start=audio[0] if audio else None,
        audio_end=audio[1] if audio else None,
    )


def _audio_range(
    raw: str, words: Sequence[Word], start: int, end: int
) -> tuple[float, float] | None:
    """Session time of the words that overlap raw[start:end] (words appear in raw in order)."""
    if not words:
        return None
    pos = 0
    hits: list[Word] = []
    for w in words:
        token = w.text.strip()
        at = raw.find(token, pos) if token else -1
        if at < 0:
            continue
        pos = at + len(token)
        if at < end and pos > start:
            hits.append(w)
    if not hits:
        return None
    return hits[0].start, hits[-1].end
