"""Assertion status of a finding (ConText): stated, negated, planned, other, historical, ...

The rules are data (tccc/data/assertion.toml). A trigger phrase sets a status for the findings
in its scope: a number of words forward, backward or both, ended early by a terminator or the
edge of the clause; pseudo-triggers mask trigger words that say nothing ("no change"). The
nearest trigger that reaches a finding decides its status. `assertion` is a pure function of
the text; the scan of a clause is cached, since every extractor asks about the same clauses.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tccc.analysis.text import Span
from tccc.errors import ConfigError


class Status(StrEnum):
    """What the words around a finding say of it."""

    STATED = "stated"
    NEGATED = "negated"
    PLANNED = "planned"
    OTHER = "other"
    HISTORICAL = "historical"
    UNCERTAIN = "uncertain"
    PROBABLE = "probable"


# When two triggers are equally near, the first status here wins.
_PRECEDENCE = tuple(Status)
_DIRECTIONS = ("forward", "backward", "bidirectional")


@dataclass(frozen=True)
class Rule:
    """Trigger phrases with one status, direction and scope."""

    category: Status
    direction: str
    max_words: int
    """Most words between the trigger and the finding."""
    crosses_clauses: bool = False
    """The scope reaches over clause boundaries of the sentence ("if ..., ketamine")."""
    not_for: frozenset[str] = frozenset()
    """Finding kinds the rule does not apply to ("evac": a category is no act to plan)."""


@dataclass(frozen=True)
class Cue:
    """A trigger, pseudo-trigger or terminator found in a text (offsets in that text)."""

    kind: str
    """One of trigger, pseudo, terminator."""
    source: str
    """The phrase or pattern of the data file that matched."""
    start: int
    end: int
    rule: Rule | None = None
    """The trigger's rule (None for pseudo-triggers and terminators)."""
    ends: frozenset[Status] | None = None
    """The statuses a terminator ends (None: all)."""


@dataclass(frozen=True)
class Assertion:
    """The status of a finding and the trigger that set it (None when stated)."""

    status: Status
    trigger: Span | None = None
    source: str | None = None
    """The phrase or pattern of the data file behind the trigger."""
    recorded: bool = True
    """Whether a finding with this status goes on the card."""


@dataclass(frozen=True)
class _Entry:
    kind: str
    source: str
    rule: Rule | None = None
    ends: frozenset[Status] | None = None


@dataclass(frozen=True, eq=False)
class AssertionRules:
    """The assertion rules of a data file, compiled."""

    version: int
    recorded: frozenset[Status]
    comma_ends_after_words: int | None
    """A comma this many words into a scope ends it (None: commas never do)."""
    phrases: Mapping[str, tuple[_Entry, ...]]
    longest: int
    """Words in the longest phrase."""
    first_words: frozenset[str]
    """The first word of every phrase."""
    patterns: tuple[tuple[re.Pattern[str], _Entry], ...]
    sources: tuple[tuple[str, str], ...]
    """(kind, phrase or pattern) of every entry in the file, in file order."""

    def scan(self, text: str) -> tuple[Cue, ...]:
        """Every cue in text, in order; where cues overlap the longest (then first) is kept."""
        return _scan(self, text)


def load_assertion_rules(path: str | Path | None = None) -> AssertionRules:
    """The bundled assertion rules, or those of a TOML file of the same shape."""
    if path is None:
        return _bundled()
    return build_assertion_rules(tomllib.loads(Path(path).read_text(encoding="utf-8")))


@cache
def _bundled() -> AssertionRules:
    text = resources.files("tccc.data").joinpath("assertion.toml").read_text(encoding="utf-8")
    return build_assertion_rules(tomllib.loads(text))


def assertion(
    clause: Span,
    start: int,
    end: int,
    sentence: Span | None = None,
    kind: str | None = None,
    rules: AssertionRules | None = None,
) -> Assertion:
    """The status of the finding said at [start, end) (offsets in the text) in `clause`.

    With `sentence` (the sentence holding the clause), triggers marked `crosses_clauses` also
    reach the finding from the sentence's other clauses: "if pain gets worse, ketamine".
    With `kind` (the finding's kind, as "evac"), rules whose `not_for` names it are skipped.
    """
    rules = rules or _bundled()
    best: tuple[int, int, Cue, Span] | None = None
    for cue, words in _reaching(rules, clause, start, end, kind):
        rank = (words, _PRECEDENCE.index(cue.rule.category) if cue.rule else 0)
        if best is None or rank < best[:2]:
            best = (*rank, cue, clause)
    if sentence is not None and sentence != clause:
        for cue, words in _reaching(rules, sentence, start, end, kind, crossing=True):
            if clause.start <= sentence.start + cue.start < clause.end:
                continue  # already weighed within the clause
            rank = (words, _PRECEDENCE.index(cue.rule.category) if cue.rule else 0)
            if best is None or rank < best[:2]:
                best = (*rank, cue, sentence)
    if best is None:
        return Assertion(Status.STATED, recorded=Status.STATED in rules.recorded)
    cue, span = best[2], best[3]
    assert cue.rule is not None
    status = cue.rule.category
    trigger = Span(span.text[cue.start : cue.end], span.start + cue.start)
    return Assertion(status, trigger, cue.source, status in rules.recorded)


def _reaching(
    rules: AssertionRules,
    span: Span,
    start: int,
    end: int,
    kind: str | None,
    *,
    crossing: bool = False,
) -> Iterable[tuple[Cue, int]]:
    """Triggers of `span` whose scope reaches [start, end), with the words between."""
    rel_start, rel_end = start - span.start, end - span.start
    cues, word_starts = _scanned(rules, span.text)
    for i, cue in enumerate(cues):
        rule = cue.rule
        if rule is None or (crossing and not rule.crosses_clauses) or kind in rule.not_for:
            continue
        if cue.start < rel_end and rel_start < cue.end:
            continue  # a trigger inside the finding's own words ("no further bleeding")
        if cue.end <= rel_start and rule.direction != "backward":
            lo, hi, between = cue.end, rel_start, cues[i + 1 :]
        elif cue.start >= rel_end and rule.direction != "forward":
            lo, hi, between = rel_end, cue.start, cues[:i]
        else:
            continue
        words = bisect_left(word_starts, hi) - bisect_left(word_starts, lo)
        if words > rule.max_words:
            continue
        if not rule.crosses_clauses and _comma_ends(rules, span.text, word_starts, lo, hi, cue):
            continue
        if any(
            c.kind == "terminator"
            and lo <= c.start
            and c.end <= hi
            and (c.ends is None or rule.category in c.ends)
            for c in between
        ):
            continue
        yield cue, words


def _comma_ends(
    rules: AssertionRules, text: str, word_starts: tuple[int, ...], lo: int, hi: int, cue: Cue
) -> bool:
    """True when a comma between lo and hi lies far enough from the trigger to end its scope."""
    limit = rules.comma_ends_after_words
    if limit is None:
        return False
    forward = cue.end <= lo
    pos = text.find(",", lo, hi)
    while pos != -1:
        # Words between the trigger and the comma.
        a, b = (lo, pos) if forward else (pos, hi)
        if bisect_left(word_starts, b) - bisect_left(word_starts, a) >= limit:
            return True
        pos = text.find(",", pos + 1, hi)
    return False


_WORD = re.compile(r"[\w'’]+(?:[-./][\w'’]+)*")


@lru_cache(maxsize=4096)
def _scanned(rules: AssertionRules, text: str) -> tuple[tuple[Cue, ...], tuple[int, ...]]:
    return _scan(rules, text), tuple(m.start() for m in _WORD.finditer(text))


def _scan(rules: AssertionRules, text: str) -> tuple[Cue, ...]:
    found = _phrase_cues(rules, text)
    for pattern, entry in rules.patterns:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                found.append((m.start(), m.end(), entry))
    found.sort(key=lambda x: (x[0], x[0] - x[1]))
    out: list[Cue] = []
    taken_end = -1
    taken_start = -1
    for s, e, entry in found:
        if s >= taken_end:
            taken_start, taken_end = s, e
        elif (s, e) != (taken_start, taken_end):
            continue  # overlaps a longer cue: "no change" masks "no"
        out.append(Cue(entry.kind, entry.source, s, e, entry.rule, entry.ends))
    return tuple(out)


_TOKEN = re.compile(r"[\w'’]+")
_CLAUSE_START = re.compile(r"(?:^|[.!?;:]\s*)$")


def _is_name(text: str, start: int, end: int) -> bool:
    """A capitalised word inside a clause is a name ("Will", "May", "Hope"), unless it is
    "I" ("I'll", "I think") or a word in capitals ("NO TOURNIQUET")."""
    word = text[start:end]
    if not word[:1].isupper() or word.isupper() or word == "I" or word[:2] in ("I'", "I’"):
        return False
    return _CLAUSE_START.search(text, 0, start) is None


_GAP = re.compile(r"[\s,-]+")


def _phrase_cues(rules: AssertionRules, text: str) -> list[tuple[int, int, _Entry]]:
    """Every phrase of the rules said in text, looked up word by word in a dict (a regex of
    hundreds of alternatives costs more, and this runs for every clause of every utterance)."""
    low = text.lower().replace("’", "'")
    if len(low) != len(text):  # a letter whose lower case is longer ("İ"): keep offsets
        low = "".join(c.lower()[:1] for c in text).replace("’", "'")
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(low)]
    out: list[tuple[int, int, _Entry]] = []
    for i, (start, end, first) in enumerate(tokens):
        if first not in rules.first_words or (start and text[start - 1] == "-"):
            continue  # no phrase starts here, or inside a hyphenated word
        if _is_name(text, start, end):
            continue  # "Specialist Will Turner", "Sergeant May": a name, not a trigger
        key = first
        for j in range(i, min(i + rules.longest, len(tokens))):
            if j > i:
                gap = text[end : tokens[j][0]]
                if gap != " " and not _GAP.fullmatch(gap):
                    break
                end = tokens[j][1]
                key = f"{key} {tokens[j][2]}"
            entries = rules.phrases.get(key)
            if entries and text[end : end + 1] != "-":
                out.extend((start, end, entry) for entry in entries)
    return out


def _key(phrase: str) -> str:
    return re.sub(r"[\s,-]+", " ", phrase.lower().replace("’", "'")).strip()


def _phrase_regex(phrase: str) -> str:
    words = [re.escape(w).replace("'", "['’]") for w in _key(phrase).split(" ")]
    return r"[\s,-]+".join(words)


def build_assertion_rules(data: Mapping[str, Any]) -> AssertionRules:
    """Compile assertion rules from the parsed TOML (raises ConfigError when they are bad)."""
    words = {
        name: "(?:" + "|".join(_phrase_regex(w) for w in sorted(ws, key=len, reverse=True)) + ")"
        for name, ws in data.get("words", {}).items()
    }
    phrases: dict[str, list[_Entry]] = {}
    patterns: list[tuple[re.Pattern[str], _Entry]] = []
    sources: list[tuple[str, str]] = []

    def add(kind: str, items: Iterable[str], entry: _Entry) -> None:
        for phrase in items:
            entry_here = _Entry(kind, phrase, entry.rule, entry.ends)
            phrases.setdefault(_key(phrase), []).append(entry_here)
            sources.append((kind, phrase))

    for raw in data.get("rule", []):
        rule = _rule(raw)
        add("trigger", raw.get("phrases", []), _Entry("trigger", "", rule))
        for source in raw.get("patterns", []):
            try:
                compiled = re.compile(source.format(**words), re.IGNORECASE)
            except (KeyError, re.error) as exc:
                raise ConfigError(f"assertion rules: bad pattern {source!r}: {exc}") from exc
            patterns.append((compiled, _Entry("trigger", source, rule)))
            sources.append(("trigger", source))
    add("pseudo", data.get("pseudo", {}).get("phrases", []), _Entry("pseudo", ""))
    for source in data.get("pseudo", {}).get("patterns", []):
        try:
            compiled = re.compile(source.format(**words), re.IGNORECASE)
        except (KeyError, re.error) as exc:
            raise ConfigError(f"assertion rules: bad pattern {source!r}: {exc}") from exc
        patterns.append((compiled, _Entry("pseudo", source)))
        sources.append(("pseudo", source))
    for raw in data.get("terminator", []):
        ends = frozenset(_status(c) for c in raw["ends"]) if "ends" in raw else None
        add("terminator", raw.get("phrases", []), _Entry("terminator", "", None, ends))
    kinds = {k: {e.kind for e in v} for k, v in phrases.items()}
    mixed = sorted(k for k, v in kinds.items() if len(v) > 1)
    if mixed:
        raise ConfigError(f"assertion rules: phrases of two kinds: {', '.join(mixed)}")
    recorded = frozenset(_status(s) for s in data.get("card", {}).get("recorded", ["stated"]))
    comma = data.get("scope", {}).get("comma_ends_after_words")
    return AssertionRules(
        version=int(data.get("version", 1)),
        recorded=recorded,
        comma_ends_after_words=None if comma is None else int(comma),
        phrases={k: tuple(v) for k, v in phrases.items()},
        longest=max((len(k.split(" ")) for k in phrases), default=0),
        first_words=frozenset(k.split(" ")[0] for k in phrases),
        patterns=tuple(patterns),
        sources=tuple(sources),
    )


def _status(name: str) -> Status:
    try:
        return Status(name)
    except ValueError as exc:
        raise ConfigError(f"assertion rules: unknown status {name!r}") from exc


def _rule(raw: Mapping[str, Any]) -> Rule:
    category = _status(raw["category"])
    if category is Status.STATED:
        raise ConfigError("assertion rules: a trigger cannot set 'stated'")
    direction = str(raw["direction"])
    if direction not in _DIRECTIONS:
        raise ConfigError(f"assertion rules: unknown direction {direction!r}")
    max_words = int(raw["max_words"])
    if max_words < 0:
        raise ConfigError("assertion rules: max_words must be at least 0")
    return Rule(
        category,
        direction,
        max_words,
        bool(raw.get("crosses_clauses", False)),
        frozenset(str(k) for k in raw.get("not_for", [])),
    )
