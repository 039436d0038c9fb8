"""Who is being talked about: the casualties of a session and the ways a medic refers to them.

A medic introduces casualties by number ("casualty two"), ordinal ("the second one", "first
is..."), battle roster number, rank and name ("Sergeant Ibarra"), or a description ("the
interpreter", "the driver"), often in a list, and refers back to them much later by any of
those ("back to the interpreter", "Ibarra: pulse 96", "TXA for casualty two"). `mentions` finds
such references in a sentence (a pure function of the text and of what is known so far);
`Casualties` keeps who exists and what each is called, and decides what a mention refers to.
A name or a description that no casualty has is not a new casualty unless it is introduced as
one ("Sergeant X", "it's X, X is hit", "the second one is the X"): a teammate spoken to
("Jonesy, hand me the gauze") or a bystander ("the gate guard put a CAT on her") is nobody's
record.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise

from tccc.analysis.lexicon import Lexicon
from tccc.analysis.text import Span

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "won": 1}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_SAID_AS = {"to": 2, "too": 2, "won": 1}
"""Whisper's hearings of "casualty two" and "casualty one"."""

_NOUN = (
    r"(?:guy|one|1|soldier|man|woman|victim|individual|casualty|patient|marine|sailor|airman"
    r"|trooper|kid)"
)
_CASUALTY = re.compile(
    r"\b(?:(?:casualty|patient|cas|pt|litter)\s+(?:number\s+|#\s*|no\.\s*)?(\d{1,2}|one|two|three|four"
    r"|five|six)\b(?![-/.]\d)"
    # "Casualty to has a laceration" is Whisper's "casualty two"; "casualty to the CCP" is not.
    # Only before a pause or what is said of a casualty, so "patient to safety" is not.
    r"|(?:casualty|patient)\s+(to|too|won)\b(?=\s*[,.:;]|\s*$|\s+(?:has|had|is|was|gets|"
    r"got|needs|pulse|resp|respiratory|sats?|spo2|bp|blood|roster|battle|avpu|alert|urgent"
    r"|priority|routine)\b)"
    # "the second casualty", "first patient"; "the third guy", "the first one" only opening a
    # clause or after a cue ("back to the first one"): "above the first one" is a device.
    r"|(?:the\s+)?(first|second|third|fourth|fifth|sixth)\s+(?:casualty|patient|pt|cas)\b"
    rf"|(?:(?:^|[,;:]\s*|\b(?:back\s+to|now|and|for|on|to|with)\s+)(?:the\s+)?)"
    rf"(first|second|third|fourth|fifth|sixth)\s+{_NOUN}\b"
    # "First is Sergeant Lopez", "second: frag to the thigh", "Third, walking wounded", "the first
    # is Aguilar, the second is Dorsey".
    r"|(?:^|(?<=[,;]\s))(?:and\s+|the\s+)?(first|second|third|fourth|fifth|sixth)"
    r"(?=\s*[,:]|\s+(?:is|was|has|had|got|one)\b)"
    # "Number two has a ..." at the start of a sentence.
    r"|^number\s+(\d|one|two|three|four|five|six)\b(?!\s*(?:minutes?|mg|g|ml)))",
    re.I,
)
# Once casualties are numbered, a bare number refers back to one: "Going back to one: pulse
# 120", "Two: pulse 90" (a sentence of its own: the colon ends it), "one's urgent, two's
# priority". Only opening a clause or after a cue, and only before what is said of a casualty:
# "pain 2, ..." or "2 mg" are values.
_BARE_NUMBER = re.compile(
    r"(?:^|(?<=[,;:])\s*|\b(?:and|then|now|so)\s+)(one|two|three|four|five|six|[1-6])"
    r"(?=\s*:(?!\d)|['’]s\s|\s+(?:is|was|has|had|got|gets|needs|took)\b)"
    r"|(?:\b(?:back|over|on|switching|moving)\s+to\s+(?:number\s+)?"
    r"|(?:^|(?<=[,;:]\s))(?:okay\s+|and\s+)?now\s+|^\s*)"
    r"(one|two|three|four|five|six|[1-6])(?=\s*[,.;:]|\s*$)",
    re.I,
)
# "Casualty RM4417": a casualty named by battle roster number.
_BY_ROSTER = re.compile(r"\b(?i:casualty|patient|cas)\s+(?:(?i:number)\s+)?([A-Z]{2}\d{4})\b")
# Several casualties at once: "both are wrapped", "all three got a pill pack", "everyone".
# "Both lower legs" is a site, not two casualties.
_ALL = re.compile(
    r"\b(?:(?<=for\s)both(?=\s*[,.;:]|\s*$|\s+at\b)|neither\s+(?:one|1|of\s+them)(?=\s+has\s+allerg)|both(?=\s+(?:of\s+them|of\s+mine|of\s+ours|of\s+these|casualties|patients|men|guys|soldiers|are|were|got|get|have"
    r"|had|need|needed|received|went|go|urgent|priority|routine)\b)|all\s+(?:three|four|five|six|[2-9]"
    r"|of\s+them|casualties|patients)|each\s+of\s+them|every\s+one\s+of\s+them|every(?:one|body)"
    r"|nobody(?=['’]s\s+got\s+allerg|\s+has\s+allerg)|none\s+of\s+them(?=\s+(?:have|has)\s+allerg))\b",
    re.I,
)
_MANY = re.compile(
    r"\b(\d{1,2}|two|three|four|five|six)\s+(?:casualties|patients|wounded|injured|urgent"
    r"\s+casualties|(?:marines|soldiers|men|guys|sailors|airmen|troops|people|pax)\s+(?:hurt|down"
    r"|injured|wounded|hit|burned)\b|(?:hurt|down|hit|burned)(?=\s*[,.;:]|\s*$))"
    # "For all three: no known allergies" counts them too.
    r"|\ball\s+(two|three|four|five|six|[2-9])\b(?!\s*(?:mg|g|ml|minutes?|hours?)\b)",
    re.I,
)
# A person's name: a capitalised word (not all caps: "CAT", "TXA" are devices and drugs).
# A hyphen may join two capitalised parts: "Pacheco-Lozano".
_NAME_WORD = r"[A-Z][a-z][a-z'’]*(?:-[A-Z]?[a-z'’]+)*"
_NAME = re.compile(
    rf"\s+({_NAME_WORD}(?:\s+{_NAME_WORD}(?![a-z'’-])"
    r"(?!\s+(?i:company|platoon|squad|battalion|troop|battery)\b))?)"
)
# A name said as the casualty's name without a rank: "it's Doyle", "this is Alvarez", "his
# name is Reyes", "Doyle's hit", "Doyle is down". The word after "it's" must then be a name
# the medic goes on to use, so only forms that say the person is hurt or named count.
_NAMED = re.compile(
    rf"\b(?i:(?:his|her|their)\s+name(?:'s|\s+is)|name\s+is|named|this\s+is|it's|it\s+is"
    r"|name\s+tape\s+(?:says|reads|shows)|name\s+tape\s*:?)\s+"
    rf"({_NAME_WORD})\b(?![-'’]\w)(?=\s*[,.!;:]|\s*$|\s+(?:is|was|'s|has|got|took)\b)"
    rf"|(?<![\w'’-])({_NAME_WORD})(?:'s|\s+is|\s+was|\s+got|\s+has\s+been|\s+just\s+got)\s+"
    r"(?i:hit|down|shot|wounded|injured|hurt)\b"
)
_POSSESSIVE = re.compile(r"['’]s$")
_WORD = re.compile(r"(?<![\w'’-])([A-Z][a-z][a-z]*(?:-[A-Z]?[a-z]+)*)(?:['’]s)?(?![\w'’-])")
"""A capitalised word, possessive or not ("Quinn's vitals"), that may be a known name."""
# "the driver is Specialist Kaya", "the driver, Specialist Ellsworth"
_ROLE_IS = re.compile(
    r"\b(?:the|our)\s+([a-z][a-z0-9 -]{1,20}?)(?:\s+(?:is|was)\s+|\s*,\s+)$", re.I
)
_NAME_THEN_ROLE = re.compile(
    r"(?<![\w'’-])([A-Z][a-z][a-z'’-]+),\s+(?:our|the|their|his)\s+([a-z][a-z -]{1,20}?)(?=\s*,)"
)
_ROLE_THEN_NAME = re.compile(r"\bthe\s+([a-z][a-z0-9 -]{1,20}?)\s*,\s+([A-Z][a-z][a-z'’-]+)\b")
ONE_WITH = re.compile(
    r"\bthe\s+one\s+(?:with|who\s+has|who's\s+got|that\s+has)\s+((?:[\w'-]+\s+){0,4}?[\w'-]+)"
    r"(?=\s*[,.:;]|\s*$|\s+(?:is|was|has|got|gets|needs)\b)",
    re.I,
)
_IS_ONE_WITH = re.compile(
    r"(?:['’]s|\s+is|\s+was)\s+(the\s+one\s+(?:with|who\s+has|who's\s+got|that\s+has)\s+"
    r"((?:[\w'-]+\s+){0,4}?[\w'-]+))(?=\s*[,.:;]|\s*$)",
    re.I,
)
_TEAMMATE_VERB = re.compile(
    r"\s*,\s*(?:(?:you|now|okay)\s+)?(?:watch|write|get|grab|hand|bring|go|run|call|cover|check"
    r"|take|help|pull|push|hold|throw|pass|cut|set|start|find|put|keep\s+an\s+eye|drag|carry)\b",
    re.I,
)
_DESCRIBED_AS = re.compile(r"\s*,?\s+(?:is|was|'s)\s+(?:the|our|their|an?)\s+", re.I)
_APPOSITIVE = re.compile(r"\s*,\s+(?:the|our|their)\s+", re.I)
# After "NAME, the gunner": "is Lance Corporal Sadiq", ", Sergeant Koivisto" or ", the cook, the
# LT" goes on to someone else: a list, not a description of NAME.
_INTRODUCING = re.compile(
    r"\s+(?:is|was)\s+(?:(?:a|an|the|our)\s+)?[A-Z]|\s*,\s*[A-Z]|\s*,\s*(?:and\s+)?the\s+"
)
# Words before a mention that make it the receiver of what was said before it in the clause:
# "ketamine 50 mg IM for casualty one", "whole blood on casualty two".
_RECEIVER = re.compile(r"\b(?:for|on|to|into|onto)\s+(?:the\s+)?$", re.I)
_CUE = re.compile(
    r"(?:\b(?:back\s+to|now|switching\s+to|moving\s+(?:on\s+)?to|on\s+to|over\s+to|recheck"
    r"(?:\s+on)?|update\s+on|for|on|and|with|to)\s+$|^\s*$|[,;:]\s*$)",
    re.I,
)


@dataclass(frozen=True)
class Mention:
    """A reference to casualties said in a sentence (offsets in the whole text)."""

    start: int
    end: int
    kind: str
    """number, roster, name, alias (a description), pronoun (a clause opening on "he" or "she":
    value is which) or all."""
    value: str
    """The label of a number, the roster, the name or description said; "" for all."""
    introduces: bool = False
    """Said as an introduction ("Sergeant Ibarra", "the second one is"), not only a reference."""
    receiver: bool = False
    """Said as the receiver of what came before it in its clause ("TXA for casualty two")."""
    first_name: str | None = None
    """With a name: the first name said before it ("Sergeant Marcus Bell")."""
    alias: str | None = None
    """A description given to the casualty in the same breath ("Ibarra, the gunner")."""


@dataclass
class Casualty:
    """One casualty of the session and the ways the medic refers to them."""

    label: str
    roster: str | None = None
    name: str | None = None
    """Last name (as said, capitalised)."""
    first_name: str | None = None
    aliases: set[str] = field(default_factory=set)
    """Descriptions the medic introduced them with, lower case ("interpreter")."""
    pronoun: str | None = None
    """"he" or "she", as the medic spoke of them (None until heard)."""

    def called(self, word: str) -> bool:
        """True when `word` is this casualty's last or first name or one of its descriptions."""
        return word in (self.name, self.first_name) or word.lower() in self.aliases


@dataclass
class Casualties:
    """The casualties of one session: who exists, who is being talked about now."""

    current: str | None = None
    known: dict[str, Casualty] = field(default_factory=dict)
    announced: int = 0
    """How many casualties the medic said there are ("three casualties from the IED")."""
    listed: list[str] = field(default_factory=list)
    """Casualties just introduced together with nothing said of them yet ("Specialist Nwosu and
    PFC Strand were refueling"): a pronoun after them opens on the first."""
    unintroduced: list[str] = field(default_factory=list)
    """Casualties something was said of as a group ("all three are NKDA") before anyone of them
    was introduced: the next introductions are theirs, in order."""
    fresh: str | None = None
    """The casualty a number or ordinal switched to in the sentence being read ("the second
    one is the driver, Specialist Oyelaran": the name is that casualty's)."""

    def switch(self, label: str) -> Casualty:
        """Talk about `label` from now on (created if new)."""
        self.current = label
        return self.known.setdefault(label, Casualty(label))

    def here(self) -> Casualty:
        """The casualty being talked about (casualty 1 when nobody was named yet)."""
        return self.switch(self.current or "1")

    def with_name(self, word: str) -> Casualty | None:
        """The casualty called `word` (a name or a description), if exactly one is."""
        found = [c for c in self.known.values() if c.called(word)]
        return found[0] if len(found) == 1 else None

    def next_label(self) -> str:
        """The next casualty number not yet used."""
        n = 1
        while str(n) in self.known:
            n += 1
        return str(n)

    def resolve(self, mention: Mention) -> list[str]:
        """The casualties a mention refers to (switching to it); [] when it names nobody."""
        if mention.kind == "all":
            # "Three hurt. For all three: no known allergies": said before they are introduced,
            # it is for each of the casualties announced; they are introduced later in turn.
            while len(self.known) < self.announced:
                label = self.next_label()
                self.known[label] = Casualty(label)
                self.unintroduced.append(label)
            return sorted(self.known, key=lambda label: (not label.isdigit(), label.zfill(4)))
        if mention.kind == "number":
            self.fresh = mention.value
            numbered = self.switch(mention.value)
            if mention.alias:
                numbered.aliases.add(mention.alias.lower())
            return [mention.value]
        if mention.kind == "roster":
            return [self._by_roster(mention.value)]
        if mention.kind == "pronoun":
            other = self.other_than_current(mention.value, unknown_too=True)
            return [] if other is None else [self.switch(other.label).label]
        known = self.with_name(mention.value)
        if known is None and mention.kind == "name" and mention.alias:
            # "the LT is First Lieutenant Osgood": the one known as the LT, now named
            described = self.with_name(mention.alias)
            if described is not None and described.name is None:
                known = described
                known.name = mention.value
        if known is None and mention.kind == "alias" and mention.introduces is False:
            return []
        if known is None and not mention.introduces:
            return []
        if known is None:
            known = self._introduced()
            if mention.kind == "name":
                known.name = mention.value
            else:
                known.aliases.add(mention.value.lower())
        if mention.kind == "name" and mention.first_name and known.first_name is None:
            known.first_name = mention.first_name
        if mention.alias:
            known.aliases.add(mention.alias.lower())
        self.switch(known.label)
        return [known.label]

    def other_than_current(self, said: str, *, unknown_too: bool) -> Casualty | None:
        """The one other casualty a "he" or "she" can mean when the casualty talked about is
        known by the other pronoun: the one known by it, else (with `unknown_too`) the one whose
        pronoun is not known yet, who is then known by it."""
        here = self.known.get(self.current or "")
        if here is None or here.pronoun in (None, said):
            return None
        others = [c for c in self.known.values() if c.pronoun == said]
        if not others and unknown_too:
            others = [c for c in self.known.values() if c.pronoun is None]
        if len(others) != 1:
            return None
        others[0].pronoun = said
        return others[0]

    def _introduced(self) -> Casualty:
        """Who a newly introduced name belongs to: the casualty being talked about when it has
        no name yet, else a new casualty."""
        here = self.known.get(self.current or "")
        if (
            here is not None
            and here.name is None
            and (not here.aliases or here.label == self.fresh)
        ):
            if here.label in self.unintroduced:
                self.unintroduced.remove(here.label)
            return here
        if self.unintroduced:
            return self.switch(self.unintroduced.pop(0))
        return self.switch(self.next_label())

    def _by_roster(self, roster: str) -> str:
        """Switch to the casualty with this roster, or start one labelled with it (the export
        matches casualties by roster number)."""
        known = next((c for c in self.known.values() if c.roster == roster), None)
        if known is None:
            known = self.switch(roster)
            known.roster = roster
        self.current = known.label
        return known.label

    def roster_said(self, roster: str, *, correcting: bool) -> None:
        """A roster number names the current casualty, switches to the one that has it, or
        (when the current casualty already has another) starts a new casualty."""
        for c in self.known.values():
            if c.roster == roster:
                self.current = c.label
                return
        here = self.here()
        if here.roster is not None and not correcting:
            here = self.switch(roster)
        here.roster = roster


def count_announced(text: str) -> int:
    """The number of casualties a sentence announces ("two casualties"), 0 when none."""
    m = _MANY.search(text)
    if m is None:
        return 0
    word = (m.group(1) or m.group(2)).lower()
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word, 0)


def mentions(sentence: Span, lex: Lexicon, people: Casualties) -> list[Mention]:
    """The references to casualties in a sentence, in text order (overlaps dropped)."""
    text, at = sentence.text, sentence.start
    out: list[Mention] = []
    described: list[int] = []
    for m in _CASUALTY.finditer(text):
        number, heard, ordinal, opening, leading, said = m.groups()
        word = (number or said or "").lower()
        if word:
            value = int(word) if word.isdigit() else _NUMBER_WORDS[word]
        elif heard:
            value = _SAID_AS[heard.lower()]
        else:
            value = _ORDINALS[(ordinal or opening or leading).lower()]
        if not 1 <= value <= 20:
            continue
        alias = _description(text, m.end(), lex, described)
        out.append(
            Mention(
                at + m.start(),
                at + m.end(),
                "number",
                str(value),
                introduces=True,
                receiver=_receiver(text, m.start()),
                alias=alias,
            )
        )
    if sum(label.isdigit() for label in people.known) >= 2:
        for m in _BARE_NUMBER.finditer(text):
            group = 1 if m.group(1) else 2
            word = m.group(group).lower()
            label = word if word.isdigit() else str(_NUMBER_WORDS[word])
            if label in people.known:
                start, end = at + m.start(group), at + m.end(group)
                out.append(
                    Mention(start, end, "number", label, receiver=_receiver(text, m.start()))
                )
    for m in _BY_ROSTER.finditer(text):
        out.append(Mention(at + m.start(), at + m.end(), "roster", m.group(1)))
    for known in people.known.values():
        # "Echo Papa's IV", "Sierra Delta priority": a casualty known by roster, called by its
        # letters in the phonetic alphabet, as radio reports do.
        said = _roster_letters(known.roster[:2]) if known.roster else None
        for m in said.finditer(text) if said else ():
            receiver = _receiver(text, m.start())
            out.append(
                Mention(
                    at + m.start(), at + m.end(), "roster", known.roster or "", receiver=receiver
                )
            )
    for m in lex.ranks.finditer(text):
        name = _NAME.match(text, m.end())
        if name is None:
            continue
        words = [_POSSESSIVE.sub("", w) for w in name.group(1).split()]
        if people.with_name(words[-1]) is None and (
            addressed(text, m.start(), name.end()) or caregiver(text, m.start(), name.end())
        ):
            continue  # "Private Hale, watch what I do", "I'm Sergeant Ochoa, the medic"
        alias = (
            _description(text, name.end(), lex, described)
            or _role_before(text, m.start(), lex, described)
            or _place_before(text, m.start(), people)
        )
        out.append(
            Mention(
                at + m.start(),
                at + name.end(),
                "name",
                words[-1],
                introduces=True,
                receiver=_receiver(text, m.start()),
                first_name=words[0] if len(words) == 2 else None,
                alias=alias,
            )
        )
    if people.announced > len(people.known) - len(people.unintroduced):
        for m in _NAME_THEN_ROLE.finditer(text):
            # "And Farouk, our interpreter, cut his forearm": a name and a role, announced
            if lex.casualty_roles.fullmatch(m.group(2)) and m.group(1).lower() not in lex.not_names:
                described.append(m.start(2))
                out.append(
                    Mention(
                        at + m.start(1),
                        at + m.end(1),
                        "name",
                        m.group(1),
                        introduces=True,
                        alias=m.group(2).lower(),
                    )
                )
        for m in _ROLE_THEN_NAME.finditer(text):
            said_role = lex.casualty_roles.fullmatch(m.group(1))
            if said_role is None or m.group(2).lower() in lex.not_names:
                continue
            described.append(m.start(1))
            s = m.start(2)
            out.append(
                Mention(
                    at + s, at + m.end(2), "name", m.group(2), introduces=True, alias=m.group(1)
                )
            )
    for m in ONE_WITH.finditer(text):
        if m.start() in described:
            continue
        key = _one_with(m.group(1))
        if people.with_name(key) is not None:
            receiver = _receiver(text, m.start())
            out.append(Mention(at + m.start(), at + m.end(), "alias", key, receiver=receiver))
    for m in _NAMED.finditer(text):
        word = m.group(1) or m.group(2)
        if word.lower() in lex.not_names:
            continue
        start = m.start(1) if m.group(1) else m.start(2)
        out.append(Mention(at + start, at + start + len(word), "name", word, introduces=True))
    listing = _ROLE_LIST_LEAD.search(text)
    if listing is not None or people.announced > len(people.known) - len(people.unintroduced):
        # "I've got the driver, the gunner, the BC and one dismount": casualties listed by role
        start = listing.end() if listing else 0
        roles = list(lex.casualty_roles.finditer(text, start))
        joined = all(
            re.fullmatch(
                r"\s*(?:,|and|,\s*and)\s+(?:the\s+|one\s+|1\s+|a\s+)?", text[a.end() : b.start()]
            )
            for a, b in pairwise(roles)
        )
        lead = text[start : roles[0].start()] if roles else ""
        if len(roles) >= 2 and joined and re.fullmatch(r"\s*(?:the\s+|a\s+|one\s+|1\s+)?", lead):
            for m in roles:
                role = m.group(0).lower()
                if people.with_name(role) is None:
                    described.append(m.start())
                    out.append(
                        Mention(at + m.start(), at + m.end(), "alias", role, introduces=True)
                    )
    for m in lex.casualty_roles.finditer(text):
        role = m.group(0).lower()
        before = text[: m.start()]
        if m.start() in described:
            continue  # "the second one is the driver": carried by the mention that named them
        if not re.search(r"(?:\bthe\s+|^\s*|[,;:]\s*)$", before, re.I):
            continue  # "an interpreter's bag": only "the X" or X opening a clause refers
        receiver = _receiver(text, _article_start(before))
        # "Driver's got a cut across his head", "Gunner, left arm deformed": a role opening a
        # clause as what is said of introduces that casualty (not "the driver put a CAT on").
        after = text[m.end() :].lstrip(" ,:")
        subject = bool(
            re.search(r"(?:^\s*|[;:]\s*|\.\s*)(?:the\s+|our\s+|my\s+)?$", before, re.I)
            and _ROLE_SUBJECT.match(text, m.end())
            # "The gunner, Specialist Ferreira, ...": the name that follows introduces them
            and not (after[:1].isupper() or lex.ranks.match(after))
        )
        out.append(
            Mention(
                at + m.start(), at + m.end(), "alias", role, introduces=subject, receiver=receiver
            )
        )
    if people.announced > len(people.known) - len(people.unintroduced):
        # "Tex, Moose, and the new guy, Private Kane": names listed after a count of casualties
        listed = _NAME_LIST.match(text)
        for m in _LISTED_NAME.finditer(listed.group(0) if listed else ""):
            word = m.group(1)
            if word.lower() in lex.not_names or lex.ranks.fullmatch(word):
                continue
            # A nickname, not a last name: the casualty is called by it from now on.
            out.append(Mention(at + m.start(1), at + m.end(1), "alias", word, introduces=True))
    for m in _PLACE_INTRO.finditer(text):
        # "the guy by the wall, the one on the steps": casualties told apart by where they lie
        # ("another small one on the right hand" is a wound; "the one on the left" a side)
        word = (m.group(1) or m.group(2)).lower()
        if word in _NOT_PLACES or lex.region_pattern.fullmatch(word):
            continue
        if m.group(2) and (lex.casualty_roles.fullmatch(word) or people.announced == 0):
            continue  # "the radio guy" is a description only when casualties are being listed
        place = "place " + word
        introduces = people.with_name(place) is None
        receiver = _receiver(text, m.start())
        out.append(
            Mention(
                at + m.start(),
                at + m.end(),
                "alias",
                place,
                introduces=introduces,
                receiver=receiver,
            )
        )
    places = [a[6:] for c in people.known.values() for a in c.aliases if a.startswith("place ")]
    if places:
        said = "|".join(re.escape(p) for p in places)
        for m in _place_reference(said).finditer(text):
            place = "place " + (m.group(1) or m.group(2) or m.group(3)).lower()
            receiver = _receiver(text, m.start())
            out.append(Mention(at + m.start(), at + m.end(), "alias", place, receiver=receiver))
    for m in _WORD.finditer(text):
        word = m.group(1)
        if people.with_name(word) is None or any(x.start <= at + m.start() < x.end for x in out):
            continue
        if word.lower() in lex.casualty_role_words:
            continue  # "Interpreter is urgent": the description, found above
        alias = _description(text, m.end(1), lex, described)
        receiver = _receiver(text, m.start())
        out.append(
            Mention(at + m.start(), at + m.end(), "name", word, receiver=receiver, alias=alias)
        )
    if len(people.known) >= 2:
        for m in _CLAUSE_SUBJECT.finditer(text):
            said = _GENDER[m.group(1).lower()]
            if pronoun_of(m.group(1) + m.group(2)) == said:
                out.append(Mention(at + m.start(1), at + m.end(1), "pronoun", said))
    for m in _ALL.finditer(text):
        counted = _MANY.match(text, m.start())
        if counted and counted.group(1):
            continue
        # "Time of wounding for both, 1421": what was said before "for both" is theirs.
        receiver = _receiver(text, m.start())
        out.append(Mention(at + m.start(), at + m.end(), "all", "", receiver=receiver))
    out.sort(key=lambda x: (x.start, -(x.end - x.start)))
    kept: list[Mention] = []
    for x in out:
        if kept and x.start < kept[-1].end:
            continue
        kept.append(x)
    return kept


@cache
def _phonetic_words() -> dict[str, tuple[str, ...]]:
    """Each letter's words in the phonetic alphabet, from the normaliser's table."""
    text = resources.files("tccc.data").joinpath("normaliser.toml").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for word, letter in tomllib.loads(text)["phonetic"]["letters"].items():
        out.setdefault(str(letter).upper(), []).append(str(word).lower())
    return {letter: tuple(words) for letter, words in out.items()}


def phonetic_letters(words: list[str]) -> bool:
    """True when the words are two letters in the phonetic alphabet ("Echo Papa")."""
    return len(words) == 2 and all(w.lower() in _phonetic_known() for w in words)


@cache
def _phonetic_known() -> frozenset[str]:
    return frozenset(w for group in _phonetic_words().values() for w in group)


@cache
def _roster_letters(letters: str) -> re.Pattern[str] | None:
    """The two letters of a roster number said in the phonetic alphabet, no digits after."""
    words = _phonetic_words()
    if len(letters) != 2 or not all(c in words for c in letters):
        return None
    first, second = ("|".join(map(re.escape, words[c])) for c in letters)
    return re.compile(rf"\b(?:{first})\s+(?:{second})\b(?!\s*,?\s*\d)", re.I)


# What is said of a hurt casualty right after the role ("Driver's got a cut", "the gunner is
# hit", "Gunner, left arm deformed"); not care the role gave ("the gate guard had put a CAT").
_ROLE_SUBJECT = re.compile(
    r"(?:['’]s\s+(?:got|been|hit|shot|down|bleeding)\b|\s+(?:got|took|first)\b"
    r"|\s+(?:has|had)\s+(?:a|an|got|some|two|multiple|burns|frag)\b"
    r"|\s+(?:is|was)\s+(?:hit|down|shot|hurt|injured|wounded|bleeding|unresponsive|unconscious"
    r"|alert|pale|pinned|burned|trapped|screaming|awake|confused)\b|\s*[,:])",
    re.I,
)
_PERSON = r"(?:guy|one|man|woman|kid|soldier|marine)"
_ROLE_LIST_LEAD = re.compile(
    r"\b(?:i've\s+got|i\s+have|we've\s+got|we\s+have|i\s+got|casualties\s+are|list)\s*:?\s*", re.I
)
_NAME_LIST = re.compile(r"[A-Z][a-z]+(?:\s*,\s*(?:and\s+)?[A-Z][a-z]+)+(?=\s*(?:,|$))")
_LISTED_NAME = re.compile(r"(?:^|,\s*(?:and\s+)?)([A-Z][a-z]+)")
_PLACE_INTRO = re.compile(
    rf"\b(?:(?:the\s+{_PERSON}|(?:guy|man|woman|kid|soldier|marine))"
    r"(?:\s+who\s+(?:got|was)\s+(?:[a-z-]+\s+){1,2}?(?:into|by|on|in|at|near|under|behind)"
    r"|\s+(?:by|on|in|at|near|under|behind|next\s+to))\s+the\s+([a-z]{3,})\b(?!\s+(?:side|of)\b)"
    # "the radio guy with the torn-up arm"
    r"|\bthe\s+([a-z]{3,})\s+guy\b)",
    re.I,
)
_NOT_PLACES = frozenset(
    [
        "left",
        "right",
        "front",
        "back",
        "side",
        "top",
        "bottom",
        "ground",
        "way",
        "bird",
        "phone",
        "line",
        "scene",
        "other",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "last",
        "next",
        "new",
        "old",
        "same",
        "big",
        "little",
        "young",
        "bad",
        "worst",
        "only",
    ]
)


@cache
def _place_reference(places: str) -> re.Pattern[str]:
    """References back to casualties known by where they lie: "steps guy", "the doorway guy",
    "guy by the wall", "Doorway, pulse 126", "Doorway's getting worse"."""
    return re.compile(
        rf"\b(?:the\s+)?({places})\s+{_PERSON}\b"
        rf"|\b{_PERSON}\s+(?:by|on|in|at|near|under|behind|next\s+to)\s+the\s+({places})\b"
        rf"|(?:^|(?<=[,;:]\s))({places})(?=['’]s\b|\s*[,:]|\s+(?:is|was|has|got|gets)\b)",
        re.I,
    )


def _description(text: str, end: int, lex: Lexicon, said: list[int]) -> str | None:
    """A description said right after a mention: "is the interpreter", ", the gunner,", "'s
    the one with the leg wound"; its start is added to `said` so it is not read again as a
    reference."""
    one = _IS_ONE_WITH.match(text, end)
    if one is not None:
        said.append(one.start(1))
        return _one_with(one.group(2))
    m = _DESCRIBED_AS.match(text, end) or _APPOSITIVE.match(text, end)
    if m is None:
        return None
    role = lex.casualty_roles.match(text, m.end())
    if role is None:
        return None
    if m.re is _APPOSITIVE and _INTRODUCING.match(text, role.end()):
        return None  # "Eastman, the gunner is Lance Corporal Sadiq": the next one introduced
    said.append(role.start())
    return role.group(0).lower()


def _role_before(text: str, start: int, lex: Lexicon, said: list[int]) -> str | None:
    """A description said before a name: "the driver is Specialist Kaya"."""
    m = _ROLE_IS.search(text[:start])
    if m is None:
        return None
    role = lex.casualty_roles.fullmatch(m.group(1))
    if role is None:
        return None
    said.append(m.start(1))
    return role.group(0).lower()


def _place_before(text: str, start: int, people: Casualties) -> str | None:
    """A casualty known by where they lie, named: "Wall guy is Sergeant Okoye"."""
    m = re.search(
        rf"\b(?:the\s+)?([a-z]+)\s+{_PERSON}\s+(?:is|was|'s)\s+(?:(?:uh|um)\W+)?$",
        text[:start],
        re.I,
    )
    if m is None or people.with_name("place " + m.group(1).lower()) is None:
        return None
    return "place " + m.group(1).lower()


def _one_with(words: str) -> str:
    """The key of a description by a wound ("the leg wound" -> "one with leg wound")."""
    kept = [w for w in words.lower().split() if w not in ("the", "a", "an", "his", "her")]
    return "one with " + " ".join(kept)


def addressed(text: str, start: int, end: int) -> bool:
    """True when a name opening a sentence is followed by an instruction to a teammate
    ("Private Hale, watch what I do", "Corporal Diaz, grab the litter")."""
    if text[:start].strip(" ,.!?").lower() not in ("", "alright", "okay", "ok", "hey", "now", "so"):
        return False
    return _TEAMMATE_VERB.match(text, end) is not None


# Who gives care rather than receives it. A name said by the speaker of himself ("I'm Sergeant
# Ochoa", "my name is Corporal Finch"), with a caregiver's role before or after it ("the
# partner-force medic, Sergeant Habibi", "this is Staff Sergeant Reinholt, the eighteen-delta")
# or doing a caregiver's work ("Sergeant Mills is holding pressure on him") is nobody's record.
# Other roles (the RTO, a team leader, a battle buddy) are often the casualty.
_CAREGIVER_ROLE = (
    r"(?:medic|corpsman|doc|cls|combat\s+lifesaver|combat\s+medical\s+technician"
    r"|eighteen[\s-]delta|18[\s-]?d(?:elta)?|physician\s+assistant|pa)"
)
_SPEAKER_BEFORE = re.compile(r"\b(?:i['’]m|i\s+am|my\s+name\s+is|my\s+name['’]s)\s+$", re.I)
_CAREGIVER_BEFORE = re.compile(
    rf"\b(?:the|our|my|his|her|their|a)\s+(?:[\w-]+\s+){{0,2}}?{_CAREGIVER_ROLE}\s*,?\s*$", re.I
)
# After the name only with an article ("Reinholt, the eighteen-delta"): "PFC Ledesma, Doc" is
# the casualty answering the medic.
_CAREGIVER_AFTER = re.compile(
    rf"\s*,?\s+(?:(?:is|was|'s)\s+)?(?:the|our|my|his|her|their|a|an)\s+(?:[\w-]+\s+){{0,2}}?"
    rf"{_CAREGIVER_ROLE}\b"
    r"|\s+(?:is|was|'s)\s+(?:holding\s+pressure|treating|working\s+on|helping\s+me|bagging"
    r"|doing\s+compressions)\b",
    re.I,
)


def caregiver(text: str, start: int, end: int) -> bool:
    """True when a name said from `start` to `end` is the speaker's own or a caregiver's."""
    before = text[:start]
    return bool(
        _SPEAKER_BEFORE.search(before)
        or _CAREGIVER_BEFORE.search(before)
        or _CAREGIVER_AFTER.match(text, end)
    )


def _receiver(text: str, start: int) -> bool:
    return _RECEIVER.search(text[:start]) is not None


def _article_start(before: str) -> int:
    m = re.search(r"\bthe\s+$", before, re.I)
    return m.start() if m else len(before)


_HE = re.compile(r"\b(?:he|him|his|he's|he'd|he'll|himself)\b", re.I)
_SHE = re.compile(r"\b(?:she|her|hers|she's|she'd|she'll|herself)\b", re.I)
# A sentence opening on a person: "She took the worst of it", "Her thigh got Combat Gauze".
_SUBJECT = re.compile(r"^\W*(?:(?:and|so|but|then|okay|now)\W+)*(he|she|his|her)\b", re.I)
_GENDER = {"he": "he", "his": "he", "she": "she", "her": "she"}
# A clause inside a sentence opening on a person: "she took one through the thigh; he's got a
# graze", "She's urgent, he's routine". Its text runs to the next semicolon.
_CLAUSE_SUBJECT = re.compile(
    r"(?<=[;,]\s)(?:(?:and|but|while|whereas)\s+)?(he|she|his|her)\b(?!\s*[,.;:]|\s*$)([^;]*)",
    re.I,
)


def pronoun_of(text: str) -> str | None:
    """ "he" or "she" when a sentence speaks of one of them only (None for both or neither)."""
    he, she = _HE.search(text) is not None, _SHE.search(text) is not None
    return "he" if he and not she else "she" if she and not he else None


def subject_pronoun(text: str) -> str | None:
    """The pronoun a sentence opens with ("She took the worst of it"), if any."""
    m = _SUBJECT.match(text)
    return _GENDER[m.group(1).lower()] if m else None
