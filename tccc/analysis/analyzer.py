"""The session analyzer: findings of each utterance put in context and turned into facts.

Extractors are pure and see one sentence; the analyzer owns what needs the conversation so
far: which casualty is being talked about ("casualty two", "back to Miller", a roster number),
corrections ("correction", "make that", "scratch that"), the vascular access a later "slow push"
goes through, and the evidence of every fact (utterance, span, raw text, audio time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from tccc.analysis.answers import (
    ANSWER_ALLERGEN,
    ANSWER_LAST4,
    ANSWER_NAME,
    ANSWER_NONE,
    ANSWER_PAIN,
    ANSWER_PAIN_AGAIN,
    NOT_ANSWERS,
    question,
)
from tccc.analysis.casualties import ONE_WITH as _ONE_WITH
from tccc.analysis.casualties import (
    Casualties,
    Mention,
    count_announced,
    mentions,
    pronoun_of,
    subject_pronoun,
)
from tccc.analysis.evidence import UtteranceText, evidence, span_confidence
from tccc.analysis.extractors import (
    Extractor,
    Found,
    another_one,
    evacuation,
    identity,
    injuries,
    limb_row,
    mechanism,
    site_at,
)
from tccc.analysis.interventions import devices, tourniquets
from tccc.analysis.lexicon import Lexicon, load_lexicon
from tccc.analysis.measures import access, burns, fluids, medications, valid_vital, vitals
from tccc.analysis.text import Span, clauses, comma_pieces, sentences
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
    another_one,
)
"""Every extractor, in the order their facts are emitted within a sentence."""

MIN_CONFIDENCE = 0.05
"""Below this certainty of the words a fact rests on (Whisper's word probability, or the
normaliser's confidence in a fuzzy rewrite) the fact is kept as an unconfirmed suggestion.
Measured on the dev narrations spoken by espeak-ng (issue 15 note): word probabilities barely
tell a right value from a wrong one (tiny.en is as sure of its mishearings), so a high bar only
moves right values off the card; the bar is for words it was nearly guessing."""

MIN_NAME_CONFIDENCE = 0.5
"""The certainty needed by a value spelled from the heard words themselves: a name, a unit, an
allergen. A misheard drug or number lands on a known value; a misheard name is just wrong."""

_SPELLED_FIELDS = frozenset({"last_name", "first_name", "unit", "allergies"})

SPEECH_SOURCE = "unsure hearing"
"""The source of a suggestion the analyzer made because the words were uncertain."""

_BOOKKEEPING = frozenset({"casualty", "retract", "confirm"})
"""Fact kinds that state nothing of the card and are never held back as suggestions."""

SCENE = "*"
"""Casualty label of facts about the whole incident ("three casualties from the mortar")."""

# Words that say what follows replaces what was just said ("pulse 140, no wait, 114").
_CORRECTION = re.compile(
    r"\b(?:correction|correcting|i\s+mean|sorry|make\s+(?:that|it)|no\s*,?\s+wait|wait\s*,?\s+no"
    r"|my\s+bad|rather)\b",
    re.I,
)
_MARKER = (
    r"\b(?:make\s+(?:that|it)|correction|i\s+mean|sorry|no\s*,?\s+wait|wait\s*,?\s+no|my\s+bad"
    r"|scratch\s+that|disregard(?:\s+that)?|strike\s+that|rather"
    # "left, no, right", "IM, no, intranasal", "130, no, 103": "no" between pauses.
    r"|no(?=\s*,?\s+(?:the\s+)?(?:left|right)\b)|(?<=,\s)no(?=\s*,))[,:]?\s+"
    r"(?:it's\s+|it\s+was\s+|that's\s+|that\s+was\s+)?"
)
# A bare value after "make that" or "correction" corrects the fact just stated.
_MAKE_THAT = re.compile(
    _MARKER + r"(\d{1,4}(?:\.\d+)?(?:/\d{2,3})?)"
    r"(?:\s*(mg|g|mcg|ml|l|units?)\b)?(?![/%\w])"
    r"(?!\s*(?:%|percent|meters?|m\b|minutes?|min\b|cm|inch|ga\b|gauge|casualt))",
    re.I,
)
# A bare route or side after a correction marker: "IM, I mean intranasal", "right thigh,
# scratch that, left thigh", "sorry, left arm".
_MAKE_THAT_WORDS = re.compile(_MARKER + r"(?:the\s+|his\s+|her\s+)?(?P<rest>[a-z][\w\s-]*)", re.I)
_SCRATCH = re.compile(
    r"\b(?:scratch\s+that|disregard(?:\s+that|\s+last)?|strike\s+that|cancel\s+that)\b", re.I
)
_RESTATED = frozenset({"medication", "fluid", "tourniquet"})
_TIMED = frozenset({"medication", "fluid", "tourniquet", "breathing"})
_HHMM = re.compile(r"(?:[01]\d|2[0-3])[0-5]\d")
_TIME_ALONE = re.compile(
    r"\W*(?:(?:okay|ok|and|so|good)\W+)?(?:that['’]s\s+|that\s+was\s+)?"
    r"(?:(?:the\s+)?time(?:\s+(?:is|was|of|on\s+it))?\W*|at\s+)?"
    r"((?:[01]\d|2[0-3])[0-5]\d)(?:\s*(?:hours|hrs|zulu|z|local|l))?\W*",
    re.I,
)


@dataclass(frozen=True)
class _Cue:
    """Something said in a sentence that acts on the session rather than stating a fact."""

    start: int
    end: int
    action: str
    """mention (of casualties), scratch or make."""
    mention: Mention | None = None
    match: re.Match[str] | None = None
    """The value of a "make that" (a number) or the words after it (a route or a site)."""


@dataclass
class SessionAnalyzer:
    """Turns a session's utterances, in order, into facts (one instance per session)."""

    lexicon: Lexicon = field(default_factory=load_lexicon)
    next_id: int = 1
    people: Casualties = field(default_factory=Casualties)
    facts: list[Fact] = field(default_factory=list)
    access_route: dict[str, str] = field(default_factory=dict)
    min_confidence: float = MIN_CONFIDENCE
    """Facts whose evidence is less certain than this are suggestions, not stated facts."""
    min_name_confidence: float = MIN_NAME_CONFIDENCE
    """The same for values spelled from the words themselves (names, units, allergens)."""
    _pending_correction: bool = False
    _asked: str | None = None
    """What the medic just asked the casualty ("name", "last4"): the next sentence answers."""
    _group_next: list[str] | None = None
    """The casualties a group said on its own before a colon ("For all three:") names: the
    next sentence is about them."""

    @property
    def current(self) -> str | None:
        """The casualty being talked about (None before anyone was)."""
        return self.people.current

    def analyze(self, utterance: UtteranceText) -> list[Fact]:
        """Facts stated in one utterance (also appended to `facts`)."""
        out: list[Fact] = []
        self._pending_correction = False
        for sentence in sentences(utterance.text.text):
            out.extend(self._sentence(utterance, sentence))
        return out

    # -- one sentence --------------------------------------------------------------------------

    def _sentence(self, utt: UtteranceText, sentence: Span) -> list[Fact]:
        found: list[Found] = []
        for extract in EXTRACTORS:
            found.extend(extract(sentence, self.lexicon))
        found = _timed_by_lead(sentence, sorted(found, key=lambda f: f.start))
        found = _timed_by_tail(sentence, found)
        self.people.fresh = None
        self._follow_pronoun(sentence)
        if self._asked == "site" and not any(f.kind == "injury" for f in found):
            # "Where are you hit? Left calf, yeah, I see it": the answer is where the wound is.
            site = site_at(sentence, self.lexicon, sentence.start)
            if site is not None and site[2] - sentence.start <= 2:
                wound = Found("injury", {"site": site[0], "kind": "wound"}, site[2], site[3])
                found = sorted([*found, wound], key=lambda f: f.start)
        moved, restated = self._moved(utt, sentence)
        if restated:
            # "the splint is on Sadowski's left wrist, not Brightwater": the words that move a
            # fact state no new one.
            found = [f for f in found if not any(a <= f.start < b + 24 for a, b in restated)]
        answered = self._answer(utt, sentence, found)
        self._asked = question(sentence.text)
        if answered and answered[-1].data.get("sign") == "pain":
            # "Pain, 0 to 10? Six. No, honestly, it's a seven.": the answer may be taken back.
            self._asked = "pain again"
        if answered:
            return moved + answered
        cues = self._cues(sentence, found)
        announced = count_announced(sentence.text)
        self.people.announced = max(self.people.announced, announced)
        correcting = _CORRECTION.search(sentence.text)
        corrects_from = sentence.start + correcting.start() if correcting else None
        if self._pending_correction:
            corrects_from = sentence.start - 1  # "Correction on the roster: LD5029"
        self._pending_correction = bool(
            correcting
            and not any(f.start >= sentence.start + correcting.end() for f in found)
            and not any(c.start >= sentence.start + correcting.start() for c in cues)
        )
        if not found and not cues:
            timed = self._time_alone(utt, sentence)
            if timed is not None:
                return [*moved, timed]
            # "CAT tourniquet on the left thigh | at 1412, bleeding stopped": a pause mid-sentence
            # ends the utterance before its time, which opens the next one. Only the care just
            # stated takes it, and only when nothing else in the sentence could own the time.
            lead = clauses(sentence)[0]
            if lead.end < sentence.end and (timed := self._time_alone(utt, lead, reach=1)):
                return [*moved, timed]
        # "The one with the leg wound" refers to a casualty; it states no wound.
        described = [(m.start(), m.end()) for m in _ONE_WITH.finditer(sentence.text)]
        if described:
            at = sentence.start
            found = [
                f
                for f in found
                if not any(at + a <= f.start and f.end <= at + b for a, b in described)
            ]
        # Cues act where they are said: before the findings that follow them.
        events: list[tuple[int, int, _Cue | Found]] = [(c.start, 0, c) for c in cues]
        events += [(f.start, 1, f) for f in found]
        events.sort(key=lambda e: (e[0], e[1]))
        out: list[Fact] = []
        # Findings wait for the end of their clause: a mention later in the clause may say who
        # received them ("ketamine 50 mg IM for casualty one").
        waiting: list[Found] = []
        # "For all three: no known allergies, ...": a group said on its own before a colon
        # receives what the next sentence says until someone else is named.
        targets, self._group_next = self._group_next, None
        group: list[str] = []
        group_end = sentence.start
        group_introduced = False
        clause_ends = [c.end for c in clauses(sentence)]

        def flush(to: list[str] | None) -> None:
            for item in waiting:
                out.extend(self._finding(utt, item, to, announced > 0, corrects_from))
            waiting.clear()

        for _, _, item in events:
            if waiting and item.start >= _clause_end(clause_ends, waiting[0].start):
                flush(targets)
            if isinstance(item, Found):
                waiting.append(item)
                continue
            if item.action != "mention" or item.mention is None:
                flush(targets)
                out.extend(self._cue(utt, item))
                continue
            mention = item.mention
            before = self.people.current
            fixing = _moves_what_was_said(sentence, item)
            if fixing or not mention.receiver:
                # What was said before a mention is of the casualty talked about until then
                # (said before a correction, it is moved below).
                flush(targets)
            resolved = self.people.resolve(mention)
            if not resolved:
                continue
            if fixing and before is not None and resolved != [before]:
                out.extend(self._reattributed(utt, before, resolved, out))
                targets = None
                continue
            if mention.receiver:
                flush(resolved)
            targets = resolved if mention.kind == "all" else None
            # "Halvorsen and Mbeki urgent": names said together share what follows.
            between = sentence.text[group_end - sentence.start : item.start - sentence.start]
            together = not mention.introduces and not group_introduced
            group_introduced = mention.introduces
            if together and group and not waiting and _TOGETHER.fullmatch(between):
                group = [*group, *(r for r in resolved if r not in group)]
                targets = group
            else:
                group = list(resolved)
            group_end = item.end
            out.extend(self._introduction(utt, mention, resolved))
        flush(targets)
        said = [i.mention for i in cues if i.mention is not None]
        whole = utt.text.text
        if (
            not found
            and [m.kind for m in said] == ["all"]
            and whole[sentence.end :].startswith(":")
        ):
            self._group_next = targets
        self._learn_pronoun(sentence, cues)
        introduced = list(
            dict.fromkeys(
                i.mention.value
                for i in cues
                if i.mention and i.mention.introduces and i.mention.kind == "name"
            )
        )
        care = [
            f for f in out if f.kind not in ("identity", "casualty", "mechanism", "time_of_injury")
        ]
        if len(introduced) >= 2 and not care:
            self.people.listed = [
                c.label for n in introduced if (c := self.people.with_name(n)) is not None
            ]
        elif cues and any(i.mention for i in cues):
            self.people.listed = []
        return moved + out

    def _cues(self, sentence: Span, found: list[Found]) -> list[_Cue]:
        at = sentence.start
        cues = [
            _Cue(m.start, m.end, "mention", mention=m)
            for m in mentions(sentence, self.lexicon, self.people)
        ]
        for m in _SCRATCH.finditer(sentence.text):
            cues.append(_Cue(at + m.start(), at + m.end(), "scratch"))

        def stated_at(pos: int) -> bool:
            # "make that pulse 102" states a finding: a correction, not a bare value; "ketamine
            # 20 mg, correction, 30 mg IV, pain came down to 6": the 30 mg is a bare value.
            return any(f.start <= pos < f.end or 0 <= f.start - pos <= 6 for f in found)

        for m in _MAKE_THAT.finditer(sentence.text):
            if not stated_at(at + m.start(1)):
                cues.append(_Cue(at + m.start(), at + m.end(), "make", match=m))
        for m in _MAKE_THAT_WORDS.finditer(sentence.text):
            if any(c.action == "make" and c.start == at + m.start() for c in cues):
                continue
            if not stated_at(at + m.start("rest")) and _words_value(m.group("rest"), self.lexicon):
                cues.append(_Cue(at + m.start(), at + m.end(), "make", match=m))
        # "Scratch that, left thigh": a new value for the fact, not a withdrawal of it.
        made = {c.start for c in cues if c.action == "make"}
        return [c for c in cues if not (c.action == "scratch" and c.start in made)]

    def _follow_pronoun(self, sentence: Span) -> None:
        """A sentence opening with "she" when the casualty talked about is a "he" is about the
        one other casualty known as "she" (or, when the sentence speaks of no "he", the one
        other casualty not known by a pronoun yet), and the other way round; after a list of
        casualties with nothing said of them yet, a pronoun opens on the first of the list."""
        said = subject_pronoun(sentence.text)
        people = self.people
        if said is None:
            return
        if people.listed:
            first = people.switch(people.listed[0])
            people.listed = []
            first.pronoun = first.pronoun or said
        other = people.other_than_current(said, unknown_too=pronoun_of(sentence.text) == said)
        if other is not None:
            people.switch(other.label)

    def _learn_pronoun(self, sentence: Span, cues: list[_Cue]) -> None:
        """Learn "he" or "she" of the casualty a sentence was about: only when it named no
        other casualty and no list of several is open."""
        people = self.people
        named = {
            c.mention.value for c in cues if c.mention is not None and c.mention.kind != "pronoun"
        }
        spoken = pronoun_of(sentence.text)
        here = people.known.get(people.current or "")
        if spoken is None or here is None or here.pronoun is not None or people.listed:
            return
        if len(named) <= 1:
            here.pronoun = spoken

    def _answer(self, utt: UtteranceText, sentence: Span, found: list[Found]) -> list[Fact]:
        """The casualty's answer to the medic's question: "What's your name? Alvarez." names
        the casualty; "What are your last four? 2916." is the last four."""
        asked, text = self._asked, sentence.text
        if asked == "name" and not found and len(text.split()) <= 3:
            word = ANSWER_NAME.fullmatch(text)
            if word and word.group(1).lower() not in self.lexicon.not_names:
                at = sentence.start + word.start(1)
                said = Mention(at, at + len(word.group(1)), "name", word.group(1), introduces=True)
                labels = self.people.resolve(said)
                return self._introduction(utt, said, labels) if labels else []
        if asked == "pain" and not found:
            score = ANSWER_PAIN.fullmatch(text)
            if score and int(score.group(1)) <= 10:
                at = sentence.start + score.start(1)
                pain: dict[str, Scalar] = {"sign": "pain", "value": int(score.group(1))}
                label = self.people.here().label
                return [self._append(utt, "vital", label, pain, at, at + len(score.group(1)))]
        if asked == "pain again" and (again := ANSWER_PAIN_AGAIN.match(text)):
            before = next(f for f in reversed(self.facts) if f.data.get("sign") == "pain")
            if int(again.group(1)) <= 10 and before.casualty == self.people.here().label:
                at = sentence.start + again.start(1)
                retold: dict[str, Scalar] = {"sign": "pain", "value": int(again.group(1))}
                end = at + len(again.group(1))
                return [self._append(utt, "vital", before.casualty, retold, at, end, before.id)]
        if asked == "allergies" and not found:
            return self._allergy_answer(utt, sentence)
        if asked == "last4":
            digits = ANSWER_LAST4.fullmatch(text)
            if digits:
                at = sentence.start + digits.start(1)
                data: dict[str, Scalar] = {"field": "last4", "value": digits.group(1)}
                label = self.people.here().label
                return [self._append(utt, "identity", label, data, at, at + 4)]
        return []

    def _allergy_answer(self, utt: UtteranceText, sentence: Span) -> list[Fact]:
        """ "Any allergies? Doxycycline, you break out in a rash." names the allergen; "No." is
        NKDA."""
        label = self.people.here().label
        text, at = sentence.text, sentence.start
        if ANSWER_NONE.fullmatch(text):
            data: dict[str, Scalar] = {"field": "allergies", "value": "NKDA"}
            return [self._append(utt, "identity", label, data, at, sentence.end)]
        word = ANSWER_ALLERGEN.match(text)
        if word is None or word.group(1).lower() in NOT_ANSWERS:
            return []
        data = {"field": "allergies", "value": word.group(1).lower()}
        return [self._append(utt, "identity", label, data, at + word.start(1), at + word.end(1))]

    def _time_alone(self, utt: UtteranceText, sentence: Span, *, reach: int = 3) -> Fact | None:
        """ "Tourniquet going on, left leg. Time is 1604.": a time said on its own is the time
        of the care just stated without one (a tourniquet, a drug, a fluid, a seal), among the
        last `reach` facts."""
        m = _TIME_ALONE.fullmatch(sentence.text)
        if m is None or utt.text.text[sentence.end : sentence.end + 1] == ":":
            return None  # "At 0600: pulse 140, BP 78/40": the time of what follows
        for target in reversed(self._active()[-reach:]):
            if target.kind in _TIMED and target.data.get("time") is None:
                data = dict(target.data, time=m.group(1))
                at = sentence.start
                return self._append(
                    utt,
                    target.kind,
                    target.casualty,
                    data,
                    at + m.start(1),
                    at + m.end(1),
                    target.id,
                )
        return None

    def _cue(self, utt: UtteranceText, cue: _Cue) -> list[Fact]:
        fact = self._retract(utt, cue) if cue.action == "scratch" else self._make_that(utt, cue)
        return [fact] if fact else []

    # -- casualties ----------------------------------------------------------------------------

    def _finding(
        self,
        utt: UtteranceText,
        f: Found,
        targets: list[str] | None,
        many: bool,
        corrects_from: int | None,
    ) -> list[Fact]:
        """The facts of one finding: for the casualty being talked about, the receiver said
        after it, or every casualty ("both got a pill pack")."""
        if f.kind == "identity" and f.data["field"] == "battle_roster":
            self.people.roster_said(str(f.data["value"]), correcting=corrects_from is not None)
        if f.kind in ("mechanism", "time_of_injury") and (many or self.current is None):
            if many and f.data.get("value") == "Burn":
                # "The truck caught fire, four casualties": only those with burns are burned
                # (a burn injury ticks Burn for its casualty).
                return []
            labels = [SCENE]
        elif targets:
            labels = targets
        else:
            labels = [self.people.here().label]
        out: list[Fact] = []
        for casualty in labels:
            replaces = None
            if corrects_from is not None and corrects_from < f.start:
                replaces = self._latest_same(casualty, f, utt, before=corrects_from)
            fact = self._emit(utt, f, casualty, replaces)
            if fact is not None:
                out.append(fact)
            if fact is not None and fact.kind == "injury" and fact.data.get("kind") == "burn":
                # A burn is a mechanism of its own on the card, whatever caused the fire.
                burn = Found("mechanism", {"value": "Burn", "word": "burn"}, f.start, f.end)
                also = self._emit(utt, burn, casualty, None)
                if also is not None:
                    out.append(also)
        return out

    def _introduction(self, utt: UtteranceText, mention: Mention, labels: list[str]) -> list[Fact]:
        """Identity facts a mention states by itself: a name said without a rank ("it's
        Doyle, Doyle's hit"), a roster ("casualty RM4417"), a description (kept for resume)."""
        if len(labels) != 1:
            return []
        label = labels[0]
        out: list[Fact] = []
        if mention.kind == "name" and mention.introduces:
            data: dict[str, Scalar] = {"field": "last_name", "value": mention.value}
            found = Found("identity", data, mention.start, mention.end)
            if self.people.known[label].name == mention.value and not self._duplicate(
                label, found, data, utt
            ):
                out.append(self._append(utt, "identity", label, data, mention.start, mention.end))
        if mention.kind == "roster" and label == mention.value:
            data = {"field": "battle_roster", "value": mention.value}
            found = Found("identity", data, mention.start, mention.end)
            if not self._duplicate(label, found, data, utt):
                out.append(self._append(utt, "identity", label, data, mention.start, mention.end))
        alias = mention.alias or (mention.value.lower() if mention.kind == "alias" else None)
        if alias and not any(
            f.kind == "casualty" and f.casualty == label and f.data.get("alias") == alias
            for f in self.facts
        ):
            data = {"label": label, "alias": alias}
            out.append(self._append(utt, "casualty", label, data, mention.start, mention.end))
        return out

    def _moved(
        self, utt: UtteranceText, sentence: Span
    ) -> tuple[list[Fact], list[tuple[int, int]]]:
        """ "That pulse and pressure are Eskridge's", "the splint is on Sadowski, not
        Brightwater", "96 is Brightwater's": facts already stated for one casualty belong to
        another named one; each moves there (a correction of the one it moves). Also returns
        the spans of the words that said so."""
        out: list[Fact] = []
        spans: list[tuple[int, int]] = []
        for m in _MOVED.finditer(sentence.text):
            target = self.people.with_name(m.group("name") or m.group("name2"))
            if target is None:
                continue
            wanted: list[tuple[str, str | None, int | None]]
            if m.group("value"):
                wanted = [("vital", None, int(m.group("value")))]
            else:
                words = re.findall(_MOVABLE, m.group("what"), re.I)
                said = [re.sub(r"\s+", " ", w.lower()) for w in words]
                wanted = [_MOVABLE_FACT[w] for w in said if w in _MOVABLE_FACT]
            at = sentence.start
            for kind, key, value in wanted:
                fact = next(
                    (
                        f
                        for f in reversed(self._active())
                        if f.kind == kind
                        and f.casualty != target.label
                        and (key is None or key in (f.data.get("sign"), f.data.get("value")))
                        and (value is None or f.data.get("value") == value)
                    ),
                    None,
                )
                if fact is not None:
                    spans.append((sentence.start + m.start(), sentence.start + m.end()))
                    moved = self._append(
                        utt,
                        kind,
                        target.label,
                        dict(fact.data),
                        at + m.start(),
                        at + m.end(),
                        fact.id,
                    )
                    out.append(moved)
        return out, spans

    def _reattributed(
        self, utt: UtteranceText, before: str, labels: list[str], out: list[Fact]
    ) -> list[Fact]:
        """ "Casualty one got TXA at 1035, I mean casualty two": the facts said for the first
        casualty in this sentence move to the second (each a correction of the one it moves)."""
        if len(labels) != 1:
            return []
        return [
            self._append(
                utt,
                fact.kind,
                labels[0],
                dict(fact.data),
                fact.evidence.start,
                fact.evidence.end,
                replaces=fact.id,
            )
            for fact in list(out)
            if fact.casualty == before and fact.kind != "casualty"
        ]

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
        words = cue.match.groupdict().get("rest")
        for target in reversed(self._active()[-3:]):
            if words is not None:
                data = _revalue_words(target, words, self.lexicon)
            else:
                data = _revalue(target, cue.match.group(1), (cue.match.group(2) or "").lower())
            if data is not None:
                return self._append(
                    utt, target.kind, target.casualty, data, cue.start, cue.end, target.id
                )
        return None

    # -- facts ---------------------------------------------------------------------------------

    def _emit(
        self, utt: UtteranceText, f: Found, casualty: str, replaces: int | None
    ) -> Fact | None:
        if f.kind == "another":
            return self._another(utt, f, casualty)
        data = dict(f.data)
        subject = data.pop("subject", None)
        if subject is not None and self.people.with_name(str(subject)) is None:
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
        return self._append(utt, f.kind, casualty, data, f.start, f.end, replaces, f.extras)

    def _another(self, utt: UtteranceText, f: Found, casualty: str) -> Fact | None:
        """ "Another one on the right hand": one more of the wound or tourniquet said last for
        this casualty, at the new site; nothing when the last thing said was neither."""
        last = next(
            (x for x in reversed(self._active()[-4:]) if x.casualty == casualty),
            None,
        )
        if last is None or last.kind not in ("injury", "tourniquet"):
            return None
        data = dict(last.data)
        if last.kind == "injury":
            data["site"] = f.data["site"]
        elif f.data.get("limb") is not None:
            data["limb"] = f.data["limb"]
            data["time"] = None
        else:
            return None
        if self._duplicate(casualty, Found(last.kind, data, f.start, f.end), data, utt):
            return None
        return self._append(utt, last.kind, casualty, data, f.start, f.end)

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
        ) or any(
            # A suggestion said twice in one utterance is one suggestion.
            x.status == "suggested"
            and x.evidence.utterance_id == utt.utterance_id
            and (x.casualty, x.kind, x.data) == (casualty, f.kind, data)
            for x in self.facts[-12:]
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
        extras: tuple[tuple[int, int], ...] = (),
    ) -> Fact:
        said = evidence(utt, start, end)
        # The words of a value said apart from the finding's span (a drug's dose and time).
        apart = [c for s, e in extras if (c := span_confidence(utt, s, e)) is not None]
        if apart:
            said = replace(said, confidence=min([*apart, said.confidence or 1.0]))
        needed = self.min_confidence
        if kind == "identity" and data.get("field") in _SPELLED_FIELDS:
            needed = max(needed, self.min_name_confidence)
        unsure = (
            kind not in _BOOKKEEPING and said.confidence is not None and said.confidence < needed
        )
        fact = Fact(
            id=self.next_id,
            kind=kind,
            casualty=casualty,
            data=data,
            evidence=said,
            replaces=replaces,
            # A value that rests on words the recogniser was unsure of is not put on the card
            # as stated: it waits, shown as unconfirmed, for the medic to confirm it.
            status="suggested" if unsure else "stated",
            source=SPEECH_SOURCE if unsure else "rules",
            session_s=utt.session_s,
        )
        self.next_id += 1
        self.facts.append(fact)
        return fact


def _revalue(target: Fact, raw: str, unit: str) -> dict[str, Scalar] | None:
    """The target's data with the value of "make that RAW UNIT", or None if it does not fit."""
    data = dict(target.data)
    if not raw[:1].isdigit():
        return None
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


_TOGETHER = re.compile(r"\s*(?:,\s*)?(?:and|&|plus)\s+|\s*,\s*", re.I)

_MARKER_BEFORE_MENTION = (
    r"\b(?:i\s+mean|correction|sorry|no\s*,?\s+wait|wait\s*,?\s+no|make\s+(?:that|it)|rather)"
    r"[,:]?\s*(?:it\s+was\s+|that\s+was\s+|to\s+|for\s+|on\s+)?(?:the\s+)?$"
)


def _timed_by_lead(sentence: Span, found: list[Found]) -> list[Found]:
    """ "At 1440, gave morphine 5 mg IV": a time that opens the sentence in a clause of its own
    is the time of the care the rest of the sentence states without one."""
    lead = clauses(sentence)[0]
    m = _TIME_ALONE.fullmatch(lead.text)
    if m is None or lead.end >= sentence.end:
        return found
    span = (lead.start + m.start(1), lead.start + m.end(1))
    return [
        replace(f, data={**f.data, "time": m.group(1)}, extras=(*f.extras, span))
        if f.kind in _TIMED and f.data.get("time") is None and f.start >= lead.end
        else f
        for f in found
    ]


def _timed_by_tail(sentence: Span, found: list[Found]) -> list[Found]:
    """ "CAT going on the left arm, high and tight, cranking, locked, time is 1153": a time said
    in a clause of its own after the care is the time of the last care before it that has none
    (only a care said in the same sentence, and only when no care is said after the time)."""
    out = list(found)
    # Pieces between commas, not clauses: the lone words of "windlass, cranking, locked, time
    # is 1153" join the time to their clause.
    for clause in comma_pieces(sentence)[1:]:
        m = _TIME_ALONE.fullmatch(clause.text)
        if m is None or any(f.start >= clause.start and f.kind in _TIMED for f in out):
            continue
        before = [
            i
            for i, f in enumerate(out)
            if f.end <= clause.start and f.kind in _TIMED and f.data.get("time") is None
        ]
        if not before:
            continue
        i = before[-1]
        span = (clause.start + m.start(1), clause.start + m.end(1))
        out[i] = replace(
            out[i], data={**out[i].data, "time": m.group(1)}, extras=(*out[i].extras, span)
        )
    return out


def _clause_end(ends: list[int], at: int) -> int:
    """The end of the clause holding offset `at`."""
    return next((e for e in ends if at < e), ends[-1] if ends else at)


def _words_value(words: str, lex: Lexicon) -> bool:
    """True when words after a correction marker start with a route or a side ("intranasal",
    "left thigh"): a bare value that corrects the fact just stated."""
    first = words.strip().lower()
    return (
        bool(lex.routes.find(first[:20]))
        or first.startswith(("left", "right"))
        or any(m.start() == 0 for _, m in lex.evac.find(first[:20]))
    )


def _revalue_words(target: Fact, words: str, lex: Lexicon) -> dict[str, Scalar] | None:
    """The target's data with the route or side said after a correction marker ("IM, I mean
    intranasal"; "right thigh, scratch that, left thigh"), or None if it does not fit."""
    data = dict(target.data)
    head = words.strip().lower()
    category = lex.evac.find(head[:20])
    if category and category[0][1].start() == 0:
        # "Evac routine, I mean priority"
        if target.kind != "evac" or data.get("category") == category[0][0]:
            return None
        data["category"] = category[0][0]
        return data
    routes = lex.routes.find(head[:24])
    if routes and routes[0][1].start() == 0:
        if target.kind not in ("medication", "fluid") or "route" not in data:
            return None
        data["route"] = routes[0][0]
        return data if data != target.data else None
    side = re.match(r"(left|right)\b", head)
    if side is None:
        return None
    region = lex.region_pattern.match(head, side.end() + 1) if len(head) > side.end() else None
    if target.kind == "injury":
        old = str(data.get("site") or "")
        if region is not None:
            data["site"] = head[: region.end()]
        elif re.search(r"\b(?:left|right)\b", old):
            data["site"] = re.sub(r"\b(?:left|right)\b", side.group(1), old, count=1)
        else:
            data["site"] = f"{side.group(1)} {old}".strip()
    elif target.kind == "tourniquet":
        if region is not None:
            row = lex.regions.get(region.group(0).lower(), "")
            data["limb"] = limb_row(head[: region.end()], row)
        elif isinstance(data.get("limb"), str) and str(data["limb"])[:2] in ("L ", "R "):
            data["limb"] = f"{side.group(1)[0].upper()} {str(data['limb'])[2:]}"
        else:
            return None
    elif target.kind in ("breathing", "treatment") and "side" in data:
        data["side"] = side.group(1)
    else:
        return None
    return data if data != target.data else None


def _moves_what_was_said(sentence: Span, cue: _Cue) -> bool:
    """True for a mention said right after a correction marker and ending the sentence:
    "..., I mean casualty two." moves what was said to that casualty."""
    said = sentence.text[: cue.start - sentence.start]
    rest = sentence.text[cue.end - sentence.start :]
    # The rest of the sentence, if any, is a clause of its own ("..., correction, to Yoon,
    # Pruitt's unconscious").
    return bool(re.search(_MARKER_BEFORE_MENTION, said, re.I)) and (
        not rest.strip(" .,;:!?") or rest.lstrip().startswith((",", ";"))
    )


# What can be said to belong to another casualty, and the fact it is: (kind, sign or value).
_MOVABLE_FACT: dict[str, tuple[str, str | None, int | None]] = {
    "pulse": ("vital", "pulse", None),
    "heart rate": ("vital", "pulse", None),
    "pressure": ("vital", "bp", None),
    "bp": ("vital", "bp", None),
    "blood pressure": ("vital", "bp", None),
    "sats": ("vital", "spo2", None),
    "sat": ("vital", "spo2", None),
    "resps": ("vital", "resp_rate", None),
    "resp rate": ("vital", "resp_rate", None),
    "pain": ("vital", "pain", None),
    "splint": ("treatment", "Splint", None),
    "tourniquet": ("tourniquet", None, None),
    "cat": ("tourniquet", None, None),
    "chest seal": ("breathing", "Chest-Seal", None),
}
_MOVABLE = (
    r"heart\s+rate|blood\s+pressure|resp\s+rate|chest\s+seal|pulse|pressure|bp|sats?|resps|pain"
    r"|splint|tourniquet|cat"
)
_MOVED = re.compile(
    r"\b(?i:that|the|those|this)\s+(?i:last\s+)?"
    rf"(?P<what>(?i:(?:{_MOVABLE})(?:\s*(?:,|and)\s+(?:the\s+)?(?:{_MOVABLE}))*))"
    r"\s+(?i:is|are|was|were|belongs?\s+to|goes?\s+to|went\s+on|goes\s+on)\s+"
    r"(?i:on\s+|to\s+|for\s+)?(?P<name>[A-Z][a-z][\w-]*?)(?:['’]s)?\b"
    # "96 is Brightwater's": a value said again with whose it is
    r"|(?<![\w/.])(?P<value>\d{2,3})\s+(?i:is|was)\s+(?P<name2>[A-Z][a-z][\w-]*?)['’]s\b"
)
