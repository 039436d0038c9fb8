"""Post-recognition normaliser: spoken numbers, units, roster letters, acronyms and term names.

Whisper's text is kept as it is except where a rule fires; every change is a `TextEdit` that
maps the new text back to the recognised words, so a fact found in the normalised text can
point at what the medic said. Rules are tried left to right at each word, first match wins
(of acronym and term, the longer match):

1. phonetic  "Romeo Mike four four one seven" = RM4417 (battle roster numbers), also with
             fillers and a restart ("Oscar Oscar, uh, four four, four four seven one")
2. acronym   "T X A", "T.X.A.", "I/O", "txa" = TXA; "S P O two" = SpO2
3. term      vocabulary variants and mis-hearings: "tranexamic acid" = TXA, "chest steal"
4. numbers   every spoken style of a value or a clock time:
             cardinals and pairs  "a hundred and twelve" = 112, "one-oh-eight" = 108
             slang                "a buck-ten" = 110 ("a buck" alone only after "pulse", "BP")
             pressures            "ninety over sixty" = 90/60; "ninety-eight on sixty-two" =
                                  98/62 only after a BP word and in range ("two on the left")
             digit runs           "one one two zero" = 1120, "zero niner four seven" = 0947
             clock times          "at nine thirty" = 0930, "nine hundred hours" = 0900,
                                  "two fifteen p.m." = 1415, "9:30" = 0930
             decimals, fractions  "point four mg" = 0.4 mg, "half a liter" = 0.5 L, "a gram"
             Whisper's forms      "1,000" = 1000, "441 7" = 4417, ".4" = 0.4, "14.08" = 1408
             restarts             "one, uh, one-twelve" = 112
             kept as said         vague values ("ninety-something"), calibres ("fifty-cal",
                                  "five-five-six"), an index before a dose ("casualty two two
                                  grams" = casualty 2, 2 g), the pronoun ("the second one")
5. unit      after a number: "grams" = g, "mils" = mL, "percent" = %
6. fuzzy     near-misses of drug and device names

Confidence (`TextEdit.confidence`) says how sure a rule is of its reading, on one scale:

  1.0         exact: the words have one written form ("one ten" = 110, "T X A" = TXA)
  0.9 - 0.99  a spoken convention read from its context, right nearly always: "on" as the
              slash of a pressure after a BP word (0.95), Whisper's split digits joined
              ("1 10" = 110, 0.95), a lone "a buck" after a vital-sign word (0.9), "point four"
              after a drug name with no unit (0.9), Whisper's dotted time ("0.642" = 0642, 0.9)
  0.86 - 0.99 a fuzzy match of a drug or device name: its similarity ratio
  0.85        a repair of a disfluency: a false start dropped ("one, uh, one-twelve")
  0.6         a number with a word read as a digit it sounds like ("one four to zero" = 1420)

Each value is data (`normaliser.toml`); a reader that keeps uncertain values off the card can
draw its line anywhere on the scale (below 0.9 is a guess about what was said).

The word lists are data (`tccc/data/normaliser.toml`, `vocabulary.toml`) compiled once here.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from tccc.events import NormalisedText, TextEdit
from tccc.stt.numbers import (
    NumberLexicon,
    load_normaliser_tables,
    load_number_lexicon,
    parse_spoken_number,
)
from tccc.stt.vocabulary import Vocabulary, load_vocabulary

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’.:/,][A-Za-z0-9]+)*|%")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_GLUED_UNIT = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z]+)")
_DOTTED_LETTERS = re.compile(r"[A-Za-z](?:[./][A-Za-z])+")
_ACRONYM_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9]{1,5}")
_DECIMAL = re.compile(r"\d+\.\d+")
_TENS_DIGITS = re.compile(r"[1-9]\d?")
_COLON_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
# Whisper's dotted forms of a spoken clock time: "14.08", "0.642" and "0.0820" (zero six
# forty-two, zero eight twenty), "0.8.15" (zero eight fifteen). Times only where said as one.
_DOTTED_TIME = re.compile(
    r"(?P<h>1\d|2[0-3]|0?[1-9])\.(?P<m>[0-5]\d)"
    r"|0\.0?(?P<h0>\d)(?P<m0>[0-5]\d)"
    r"|0\.(?P<h1>\d)\.(?P<m1>[0-5]\d)"
)

_SENTENCE_BREAK = re.compile(r"[.!?;]")
_PAUSES = frozenset(("", ",", "-", "--", "—", "...", "…", ",...", "...,"))

# Rule names, in the order they are tried; `TextEdit.rule` and `Normaliser.counts` use them.
RULES = ("disfluency", "phonetic", "acronym", "term", "numbers", "unit", "fuzzy")


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str
    lower: str
    key: str
    """Lower case without dots, slashes and possessive apostrophes: how forms are compared."""
    sep: str
    """Raw text between the previous token and this one."""


def _key(text: str) -> str:
    # "Ringer's" matches "Ringers", but "I'm" must not match "IM".
    return _POSSESSIVE.sub("", text.lower()).translate(_KEY_DROP)


_KEY_DROP = str.maketrans("", "", "./")
_POSSESSIVE = re.compile(r"['’](?=s$)")


def _tokenise(raw: str) -> list[_Token]:
    tokens: list[_Token] = []
    last = 0
    for found in _TOKEN.finditer(raw):
        text = found.group()
        tokens.append(
            _Token(
                found.start(),
                found.end(),
                text,
                text.lower(),
                _key(text),
                raw[last : found.start()],
            )
        )
        last = found.end()
    return tokens


def _joined(sep: str) -> bool:
    """Words separated only by spaces or a hyphen belong to one phrase or number."""
    return sep.strip() in ("", "-")


_PLACE_WORDS = frozenset({"grid", "grids", "mgrs", "coordinates", "coords"})
"""Words before phonetic letters and digits that make them a map reference, not a roster."""


def _listed(sep: str) -> bool:
    """Like `_joined`, but also across a comma (spelled letter and digit lists)."""
    return sep.strip() in ("", "-", ",")


@dataclass(frozen=True, slots=True)
class _Match:
    end: int
    """Index of the first token after the match."""
    text: str | None
    """Replacement; None when the words are already in their normal form."""
    rule: str
    raw_start: int
    raw_end: int
    confidence: float = 1.0
    numeric: bool = False
    """The match ends in a number, so a unit may follow."""


def _phrase_keys(form: str) -> tuple[str, ...]:
    return tuple(_key(t.group()) for t in _TOKEN.finditer(form))


def _cased(raw: str, written: str) -> str:
    """Keep a capital at the start of a sentence when the written form is lower case."""
    if raw[:1].isupper() and written[:1].islower():
        return written[:1].upper() + written[1:]
    return written


def _words(items: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(w).lower() for w in items)


def _phrase_index(phrases: Iterable[Any]) -> dict[str, list[tuple[str, ...]]]:
    """Word keys of each phrase, listed by their first word."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        keys = _phrase_keys(str(phrase))
        if keys and keys not in index.setdefault(keys[0], []):
            index[keys[0]].append(keys)
    return index


class _Tables:
    """The lexicon of normaliser.toml and the vocabulary, compiled for lookup."""

    def __init__(
        self, vocabulary: Vocabulary, data: Mapping[str, Any], numbers: NumberLexicon
    ) -> None:
        self.numbers = numbers
        digits, phonetic, units = data["digits"], data["phonetic"], data["units"]
        self.max_joined_digits = int(digits["max_joined_digits"])
        self.split_digits_confidence = float(digits["split_digits_confidence"])
        self.dotted_time_confidence = float(digits["dotted_time_confidence"])
        self.meridiem = {_key(str(k)): int(v) for k, v in digits["meridiem"].items()}
        self.time_cues = _words(digits["time_cues"])
        self.strong_time_cues = _words(digits["strong_time_cues"])
        self.clock_zones = _words(digits["clock_zones"])
        self.ambiguous_hours = frozenset(int(h) for h in digits["ambiguous_hours"])
        self.labels: dict[str, list[tuple[str, ...]]] = {}
        for label in data["numbers"]["labels"]:
            keys = _phrase_keys(str(label))
            self.labels.setdefault(keys[-1], []).append(keys)
        self.letters = {str(k).lower(): str(v) for k, v in phonetic["letters"].items()}
        self.min_letters, self.max_letters = (
            int(phonetic["min_letters"]),
            int(phonetic["max_letters"]),
        )
        self.min_digits, self.max_digits = int(phonetic["min_digits"]), int(phonetic["max_digits"])
        self.roster_digits = int(phonetic["roster_digits"])
        self.units = {
            str(w).lower(): str(s) for s, forms in units["symbols"].items() for w in forms
        }
        self.article_units = _words(units["article"]["words"])
        self.unit_articles = _words(units["article"]["articles"])
        # Words a number rule can start at (besides digits): the rest are skipped at once.
        self.number_starts = numbers.words() | self.unit_articles
        self._context(data["numbers"]["context"])
        self.drug_words = frozenset(
            _phrase_keys(form)[-1]
            for term in vocabulary.terms
            if term.category == "medication"
            for form in (term.canonical, *term.variants, *term.synonyms)
            if _phrase_keys(form)
        )
        self.attached = frozenset(str(s) for s in units["attached"])
        self.unit_digits = {str(s): int(n) for s, n in units["max_digits"].items()}
        acronyms, fuzzy = data["acronyms"], data["fuzzy"]
        self.protected_acronyms = _words(acronyms["protected"])
        self.fuzzy_threshold = float(fuzzy["threshold"])
        self.fuzzy_min_length = int(fuzzy["min_length"])
        self.fuzzy_window = int(fuzzy["max_window"])
        self.stop_words = _words(fuzzy["stop_words"])
        self.protected_words = _words(fuzzy["protected"])
        self.min_squashed = int(fuzzy["min_length"])
        self.synonyms = frozenset(
            "".join(_phrase_keys(s)) for t in vocabulary.terms for s in t.synonyms
        )
        self.acronyms = self._acronyms(vocabulary, [str(a) for a in acronyms["extra"]])
        self.phrases = self._phrases(vocabulary)
        self.fuzzy_forms = self._fuzzy_forms(vocabulary)
        lengths: dict[str, set[int]] = {}
        for phrase in self.phrases:
            lengths.setdefault(phrase[0], set()).add(len(phrase))
        self.phrase_lengths = {k: sorted(v, reverse=True) for k, v in lengths.items()}

    def _context(self, ctx: Mapping[str, Any]) -> None:
        """The words around a number that allow or forbid a reading ([numbers.context])."""
        self.bp_cues = _words(ctx["bp_cues"])
        self.bp_ratio_words = _words(ctx["bp_ratio_words"])
        self.bp_window = int(ctx["bp_window"])
        low, high = (int(v) for v in ctx["systolic"])
        self.systolic = range(low, high + 1)
        low, high = (int(v) for v in ctx["diastolic"])
        self.diastolic = range(low, high + 1)
        self.bp_ratio_confidence = float(ctx["bp_ratio_confidence"])
        self.vital_cues = _words(ctx["vital_cues"])
        self.lone_slang_confidence = float(ctx["lone_slang_confidence"])
        self.index_words = _words(ctx["index_words"])
        self.index_links = _words(ctx["index_links"])
        self.fillers = _words(ctx["fillers"])
        self.restart_confidence = float(ctx["restart_confidence"])
        self.vague_after = _words(ctx["vague_after"])
        self.calibre_words = _phrase_index(ctx["calibre_words"])
        self.drug_point_confidence = float(ctx["drug_point_confidence"])
        self.point_noun_after = _words(ctx["point_noun_after"])
        self.designations = _phrase_index(ctx["designations"])

    @staticmethod
    def _acronyms(vocabulary: Vocabulary, extra: Sequence[str]) -> dict[str, str]:
        """Lower-case letters of every one-word acronym ("txa", "spo2") to its written form."""
        acronyms: dict[str, str] = {}
        for term in vocabulary.terms:
            for form in term.forms:
                upper = sum(map(str.isupper, form))
                if _ACRONYM_LIKE.fullmatch(form) and (form.isupper() or upper >= 2):
                    written = form if form in term.synonyms else term.canonical
                    acronyms.setdefault(form.lower(), written)
        for form in extra:
            acronyms.setdefault(form.lower(), form)
        return acronyms

    def _phrases(self, vocabulary: Vocabulary) -> dict[tuple[str, ...], str]:
        """Word keys of every rewritten form (and plural, and joined compound) to its target."""
        phrases: dict[tuple[str, ...], str] = {}
        # Canonical names first, so a canonical always wins over another term's variant.
        rewrites = [(t.canonical, t.canonical, t) for t in vocabulary.terms]
        rewrites += [(heard, text, t) for t in vocabulary.terms for heard, text in t.rewrites[1:]]
        for heard, written, term in rewrites:
            keys = _phrase_keys(heard)
            if not keys:
                continue
            phrases.setdefault(keys, written)
            if term.countable:
                phrases.setdefault((*keys[:-1], keys[-1] + "s"), written + "s")
            squashed = "".join(keys)
            if len(keys) > 1 and min(map(len, keys)) > 1 and squashed not in self.synonyms:
                # Whisper writes compounds both ways: "quick clot" and "quickclot".
                phrases.setdefault((squashed,), written)
        return phrases

    def _fuzzy_forms(self, vocabulary: Vocabulary) -> dict[str, list[tuple[str, str, int]]]:
        """Names near-misses are compared with, by first letter: (letters, written, words)."""
        forms: dict[str, list[tuple[str, str, int]]] = {}
        for term in vocabulary.terms:
            if not term.fuzzy:
                continue
            meant = {m for _, m in term.mishearings}
            for form in (term.canonical, *term.variants, *meant):
                keys = _phrase_keys(form)
                squashed = "".join(keys)
                if not keys or min(map(len, keys)) < 2 or len(squashed) < self.fuzzy_min_length:
                    continue  # "needle D" squashed is the verb "needled"
                if squashed in self.protected_words:
                    continue
                if squashed in self.synonyms and form not in meant:
                    continue
                written = form if form in meant else term.canonical
                forms.setdefault(squashed[0], []).append((squashed, written, len(keys)))
        return forms


class Normaliser:
    """Turns recognised text into normalised text plus the edits that link the two."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
        self._tables = _Tables(self.vocabulary, load_normaliser_tables(), load_number_lexicon())
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._nearest = lru_cache(maxsize=4096)(self._nearest_uncached)

    @property
    def counts(self) -> Mapping[str, int]:
        """Edits made so far, per rule (for metrics)."""
        with self._lock:
            return MappingProxyType(dict(self._counts))

    def normalise(self, raw: str) -> NormalisedText:
        """Normalise one transcript; `raw` is kept and every change is recorded."""
        tokens = _tokenise(raw)
        parts: list[str] = []
        edits: list[TextEdit] = []
        copied = 0
        length = 0
        numeric = False
        i = 0
        while i < len(tokens):
            match = self._match(tokens, i, numeric)
            if match is None:
                numeric = tokens[i].text.isdigit() or bool(_DECIMAL.fullmatch(tokens[i].text))
                i += 1
                continue
            if match.rule == "disfluency" and match.raw_end <= copied:
                i += 1  # already inside the rule before it
                continue
            numeric = match.numeric
            i = match.end
            start = max(match.raw_start, copied)
            if match.text is None or raw[start : match.raw_end] == match.text:
                continue
            parts.append(raw[copied:start])
            length += start - copied
            parts.append(match.text)
            edits.append(
                TextEdit(
                    start,
                    match.raw_end,
                    length,
                    length + len(match.text),
                    match.rule,
                    match.confidence,
                )
            )
            length += len(match.text)
            copied = match.raw_end
        parts.append(raw[copied:])
        if edits:
            with self._lock:
                self._counts.update(e.rule for e in edits)
        return NormalisedText(raw, "".join(parts), tuple(edits))

    def _match(self, tokens: Sequence[_Token], i: int, numeric: bool) -> _Match | None:
        return (
            self._disfluency(tokens, i)
            or self._roster(tokens, i)
            or self._name(tokens, i)
            or self._label(tokens, i)
            or self._number(tokens, i)
            or self._unit(tokens, i, numeric)
            or self._fuzzy(tokens, i)
        )

    def _name(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        """The longer of the acronym and term matches, so "SOFTT-W" is not read as "SOFTT"."""
        acronym, term = self._acronym(tokens, i), self._term(tokens, i)
        if acronym is None or (term is not None and term.end > acronym.end):
            return term
        return acronym

    # -- phonetic ---------------------------------------------------------------------------

    def _disfluency(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        """A filler said between pauses ("pulse is, uh, 88") or a word or two said again
        ("a, a frag, frag wound", "the back, the back deck", "right, uh, right hand") is
        dropped: the edit joins it to the word before, so every edit still maps back to raw
        words. Numbers, digits and phonetic letters are never dropped as repeats ("four four
        seven one", "Oscar Oscar" are values; spoken restarts of a number are the number
        rule's), nor a filler between two of them ("one, uh, fourteen" stays two numbers)."""
        t = self._tables
        token = tokens[i]
        if i + 1 < len(tokens) and not self._value_word(token):
            copy = self._repeat(tokens, i)
            if copy is not None:
                return copy
        if token.key not in t.fillers or i == 0 or not _pause(token.sep):
            return None
        before, after = tokens[i - 1], tokens[i + 1] if i + 1 < len(tokens) else None
        if after is None or not _pause(after.sep):
            return None
        if (
            self._value_word(before)
            or self._value_word(after)
            or after.lower in t.number_starts
            or before.lower in t.number_starts
        ):
            # Next to a number the filler stays: the number rules read restarts around it
            # ("one, uh, one-twelve"), and the extractors step over it ("pulse is, uh, 88").
            return None
        if before.key in t.fillers:
            return None
        # ", uh," becomes a space: the edit stays on raw words, a second pass finds nothing.
        comma = token.sep.rfind(",")
        if comma < 0 or token.sep[:comma].strip():
            return None
        start = before.end + comma
        end = token.end + (1 if after.sep.startswith(",") else 0)
        return _Match(i + 1, " ", "disfluency", start, end)

    def _repeat(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        """One or two words said again after a pause (fillers between allowed)."""
        t = self._tables
        for size in (2, 1):
            first = tokens[i : i + size]
            if len(first) < size or any(not _joined(x.sep) for x in first[1:]):
                continue
            if any(self._value_word(x) for x in first):
                continue
            j, last = i + size, -1
            while True:
                k = j
                while k < len(tokens) and tokens[k].key in t.fillers and _pause(tokens[k].sep):
                    k += 1
                again = tokens[k : k + size]
                if (
                    len(again) < size
                    or [x.key for x in again] != [x.key for x in first]
                    or not _pause(again[0].sep)
                    or any(not _joined(x.sep) for x in again[1:])
                ):
                    break
                j, last = k + size, k + size - 1
            if last >= 0:
                written = "".join(x.sep + x.text for x in first)[len(first[0].sep) :]
                return _Match(j, written, "disfluency", first[0].start, tokens[last].end)
        return None

    def _value_word(self, token: _Token) -> bool:
        """A word that may be part of a value said twice on purpose: digits, number words,
        phonetic letters ("four four", "Oscar Oscar")."""
        t = self._tables
        return (
            any(c.isdigit() for c in token.text)
            or token.lower == "point"
            or (t.numbers.is_number_word(token.lower) and token.lower not in ("a", "an"))
            or token.lower in t.letters
            or token.lower in t.units
            or token.lower in t.fillers
        )

    def _roster(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        t = self._tables
        if any(tok.key in _PLACE_WORDS for tok in tokens[max(0, i - 3) : i]):
            return None  # "grid November Kilo three four eight one": a map reference
        letters: list[str] = []
        single = False
        j = i
        while j < len(tokens) and len(letters) < t.max_letters:
            token = tokens[j]
            if j > i and not _listed(token.sep):
                break
            letter = t.letters.get(token.lower)
            if letter is None and len(token.text) == 1 and token.text.isupper():
                letter, single = token.text, True
            if letter is None:
                break
            letters.append(letter)
            j += 1
        if len(letters) < t.min_letters:
            return None
        # "Papa, Lima Papa four six two": a pause inside the letters is a restart; the letters
        # after it are the roster's (a spelled list "R, M, 4, 4" pauses after every letter).
        restart = max((k for k in range(i + 1, j) if "," in tokens[k].sep), default=i)
        if j - restart >= t.min_letters and restart > i and "," not in tokens[restart + 1].sep:
            letters, i = letters[restart - i :], restart
        digits, last, confidence = self._roster_digits(tokens, j)
        if not t.min_digits <= len(digits) <= t.max_digits:
            return None
        if single and (len(letters) != 2 or len(digits) != t.roster_digits):
            return None
        return _Match(
            last + 1,
            "".join(letters) + digits,
            "phonetic",
            tokens[i].start,
            tokens[last].end,
            confidence,
        )

    def _roster_digits(self, tokens: Sequence[_Token], j: int) -> tuple[str, int, float]:
        """Digits after roster letters: spoken, Whisper digits, or both, listed with commas.

        Fillers are skipped ("Oscar Oscar, uh, four four seven one"), and a restart replaces
        its false start ("four four, four four seven one" is 4471, with restart confidence).
        """
        t = self._tables
        digits, last, confidence = "", j - 1, 1.0
        segment = 0  # where the digits said since the last pause begin
        paused = False
        while j < len(tokens) and _listed(tokens[j].sep):
            if tokens[j].key in t.fillers:
                j, paused = j + 1, True
                continue
            paused = paused or "," in tokens[j].sep
            if "," in tokens[j].sep and len(digits) >= t.roster_digits:
                break  # "roster ... three three eight zero, two CATs": the count is not roster
            if tokens[j].text.isdigit():
                found, consumed = tokens[j].text, 1
            else:
                words = self._number_words(tokens, j)
                spoken = parse_spoken_number(words, t.numbers, radio=True) if words else None
                if spoken is None or not spoken.integer:
                    break
                found, consumed = spoken.text, spoken.consumed
                confidence = min(confidence, spoken.confidence)
            if paused and digits:
                said = digits[segment:]
                if found.startswith(said) and len(digits) + len(found) > t.roster_digits:
                    digits, confidence = digits[:segment], min(confidence, t.restart_confidence)
                segment = len(digits)
            digits, last, j, paused = digits + found, j + consumed - 1, j + consumed, False
        return digits, last, confidence

    # -- acronym ----------------------------------------------------------------------------

    def _acronym(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        t = self._tables
        pieces: list[str] = []
        j = i
        while j < len(tokens) and len(pieces) < 6:
            token = tokens[j]
            if j > i and token.sep.strip() not in ("", "-", "."):
                break
            if token.text.isalpha() and len(token.text) == 1:
                pieces.append(token.lower)
            elif _DOTTED_LETTERS.fullmatch(token.text):
                pieces.append(token.key)
            elif pieces and (token.text.isdigit() and len(token.text) == 1):
                pieces.append(token.text)
            elif pieces and token.lower in t.numbers.digits and t.numbers.digits[token.lower] < 10:
                pieces.append(str(t.numbers.digits[token.lower]))
            else:
                break
            j += 1
        for end in range(len(pieces), 0, -1):
            key = "".join(pieces[:end])
            spelled = end >= 2 or len(key) >= 2
            if spelled and key in t.acronyms:
                return self._acronym_match(tokens, i, i + end, t.acronyms[key])
        token = tokens[i]
        entry = None if "'" in token.text or "’" in token.text else t.acronyms.get(token.key)
        if entry is None or token.lower in t.protected_acronyms or token.text == entry:
            return None
        title = token.text[:1].isupper() and token.text[1:].islower()
        if title and not any(c.isdigit() for c in token.text):
            return None  # "Sam" is a name; only "sam", "SAM" or "S.A.M." are the acronym
        return self._acronym_match(tokens, i, i + 1, entry)

    def _acronym_match(self, tokens: Sequence[_Token], i: int, end: int, text: str) -> _Match:
        raw_end = tokens[end - 1].end
        after = tokens[end] if end < len(tokens) else None
        if after is not None and after.sep.startswith(".") and not after.text[:1].isupper():
            raw_end += 1  # "T.X.A. slow push": the dot belongs to the acronym, not a sentence
        return _Match(end, text, "acronym", tokens[i].start, raw_end)

    # -- term -------------------------------------------------------------------------------

    def _term(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        t = self._tables
        for size in t.phrase_lengths.get(tokens[i].key, ()):
            end = i + size
            if end > len(tokens) or not all(_joined(tokens[k].sep) for k in range(i + 1, end)):
                continue
            entry = t.phrases.get(tuple(token.key for token in tokens[i:end]))
            if entry is not None:
                if size == 1 and tokens[i].lower in t.protected_acronyms:
                    return _Match(end, None, "term", tokens[i].start, tokens[i].end)  # "mist"
                return _written(tokens, i, end, entry, "term", 1.0)
        for size in (2, 3):
            # A compound Whisper split: "quik clot", "plasma lyte", "i gel" ("igel").
            end = i + size
            if end > len(tokens) or not all(_joined(tokens[k].sep) for k in range(i + 1, end)):
                break
            squashed = "".join(token.key for token in tokens[i:end])
            entry = t.phrases.get((squashed,)) if len(squashed) >= t.min_squashed else None
            if entry is not None:
                return _written(tokens, i, end, entry, "term", 1.0)
        return None

    # -- numbers and units ------------------------------------------------------------------

    def _number_words(self, tokens: Sequence[_Token], i: int) -> list[str]:
        words: list[str] = []
        lexicon = self._tables.numbers
        for k in range(i, len(tokens)):
            if k > i and not _joined(tokens[k].sep):
                break
            words.append(tokens[k].lower)
            if lexicon.is_number_word(tokens[k].lower):
                continue
            # "one four to zero": a homophone between number words is read on; the parser
            # decides whether it is a digit.
            following = _next(tokens, k + 1)
            if not (
                k > i
                and lexicon.is_homophone(tokens[k].lower)
                and following is not None
                and lexicon.is_number_word(following.lower)
            ):
                break  # kept as look-ahead: "one of", "twenty-first"
        return words if words and lexicon.is_number_word(words[0]) else []

    def _quantity(self, tokens: Sequence[_Token], i: int) -> _Quantity | None:
        """The number at `i`, spoken or in digits, or None."""
        t = self._tables
        token = tokens[i]
        if token.text.isdigit():
            if _leading_dot(token.sep):
                return _Quantity(i + 1, f"0.{token.text}", integer=False, lead=1)  # ".4 mg"
            run = self._digit_run(tokens, i)
            if run.end - i == 2 and self._index_before(tokens, i):
                return _Quantity(i + 1, token.text)  # "casualty 2 2 g": an index, then a dose
            return run
        if _THOUSANDS.fullmatch(token.text):
            return _Quantity(i + 1, token.text.replace(",", ""))
        dotted = _DOTTED_TIME.fullmatch(token.text)
        if dotted is not None:
            hour = dotted["h"] or dotted["h0"] or dotted["h1"]
            minute = dotted["m"] or dotted["m0"] or dotted["m1"]
            clock = hour.zfill(2) + minute
            return _Quantity(i + 1, token.text, False, clock, confidence=t.dotted_time_confidence)
        if _DECIMAL.fullmatch(token.text):
            return _Quantity(i + 1, token.text, integer=False)
        colon = _COLON_TIME.fullmatch(token.text)
        if colon is not None:  # "9:30" is a time whatever the words around it
            return _Quantity(i + 1, colon.group(1).zfill(2) + colon.group(2))
        words = self._number_words(tokens, i)
        if not words:
            return self._bare(tokens, i)
        previous = tokens[i - 1].lower if i > 0 else None
        if len(words) > 1 and words[1] in t.units:
            previous = None  # "make that one liter": a unit after "one" makes it a count
        found = parse_spoken_number(words, t.numbers, previous)
        if found is not None and len(found.bounds) == 2 and self._index_before(tokens, i):
            found = parse_spoken_number(words, t.numbers, previous, max_groups=1)
        if found is None:
            return self._bare(tokens, i)
        confidence = found.confidence
        if self._named(tokens, i, i + found.consumed):
            return None
        end = i + found.consumed
        tail = _next(tokens, end)
        if found.needs_cue and tail is not None and _TENS_DIGITS.fullmatch(tail.text):
            return _Quantity(end + 1, str(int(found.text) + int(tail.text)))  # "a buck 10"
        if found.needs_cue:  # a lone "a buck"
            if not self._cued(tokens, i, t.vital_cues, t.bp_window):
                return None
            confidence = min(confidence, t.lone_slang_confidence)
        return _Quantity(
            i + found.consumed,
            found.text,
            found.integer,
            found.clock,
            found.hours,
            found.bounds,
            confidence,
        )

    def _bare(self, tokens: Sequence[_Token], i: int) -> _Quantity | None:
        """A value said with no number word: "point four mg", "half a liter", "a gram"."""
        t = self._tables
        lower = tokens[i].lower
        if lower in t.numbers.decimal_points:
            return self._point(tokens, i)
        fractions = t.numbers.fractions
        following, unit = _next(tokens, i + 1), _next(tokens, i + 2)
        if following is None:
            return None
        unit_word = unit is not None and unit.lower in t.article_units
        if lower in fractions and following.lower in t.unit_articles and unit_word:
            return _Quantity(i + 2, f"0.{fractions[lower]}", integer=False)  # "half a liter"
        if lower not in t.unit_articles:
            return None
        if following.lower in fractions and unit_word:
            return _Quantity(i + 2, f"0.{fractions[following.lower]}", integer=False)  # "a half L"
        if following.lower in t.article_units:
            return _Quantity(i + 1, "1")  # "a gram"
        return None

    def _point(self, tokens: Sequence[_Token], i: int) -> _Quantity | None:
        """ "point four milligrams" = 0.4 mg: a decimal said without its leading zero."""
        t = self._tables
        lexicon = t.numbers
        if i > 0 and tokens[i - 1].lower in t.point_noun_after and _joined(tokens[i].sep):
            return None  # "at this point two grams": the noun
        digits, k = "", i + 1
        while (token := _next(tokens, k)) is not None:
            if token.lower in lexicon.digits:
                digits += str(lexicon.digits[token.lower])
            elif token.lower in lexicon.contextual_zero and _digit_word(lexicon, tokens, k + 1):
                digits += "0"  # "point oh five"
            elif token.text.isdigit() and not digits:
                digits, k = token.text, k + 1
                break
            else:
                break
            k += 1
        if not digits:
            return None
        unit = _next(tokens, k)
        if unit is not None and unit.lower in t.units:
            return _Quantity(k, f"0.{digits}", integer=False)
        if i > 0 and _joined(tokens[i].sep) and tokens[i - 1].key in t.drug_words:
            return _Quantity(k, f"0.{digits}", integer=False, confidence=t.drug_point_confidence)
        return None

    def _named(self, tokens: Sequence[_Token], i: int, end: int) -> bool:
        """ "Buck" with a capital, not after "a", is a name ("Sergeant Buck twenty minutes")."""
        slang = self._tables.numbers.slang_hundreds
        return any(
            tokens[k].key in slang
            and tokens[k].text[:1].isupper()
            and (k == i or tokens[k - 1].lower not in self._tables.unit_articles)
            for k in range(i, end)
        )

    def _index_before(self, tokens: Sequence[_Token], i: int) -> bool:
        """Whether the number at `i` follows "casualty" or "casualty number": an index."""
        t = self._tables
        if i == 0 or not _joined(tokens[i].sep):
            return False
        before = tokens[i - 1].key
        if before in t.index_links and i > 1 and _joined(tokens[i - 1].sep):
            before = tokens[i - 2].key
        return before in t.index_words

    def _cued(self, tokens: Sequence[_Token], i: int, cues: frozenset[str], window: int) -> bool:
        """Whether one of `cues` is among the `window` words before `i`, in the same sentence
        and with no other number between ("BP 120/80, pulse 98 on 62" is no pressure)."""
        numbers = self._tables.numbers
        for k in range(i - 1, max(-1, i - 1 - window), -1):
            if _SENTENCE_BREAK.search(tokens[k + 1].sep) and not _dotted(tokens[k]):
                return False  # another sentence; "B.P. is ninety on sixty" is the same one
            if tokens[k].key in cues:
                return True
            if tokens[k].text[:1].isdigit() or numbers.is_value_word(tokens[k].lower):
                return False
        return False

    def _digit_run(self, tokens: Sequence[_Token], i: int) -> _Quantity:
        """Whisper's split digits: "441 7" = 4417, "1 10" = 110, "1-1-5-8" = 1158."""
        t = self._tables
        cue = i > 0 and tokens[i - 1].lower in t.time_cues
        if cue and i + 1 < len(tokens) and tokens[i + 1].sep.strip() == ",":
            # Slow dictation of a time: Whisper writes a comma between the hour and the
            # minutes ("at 14, 12" for "at fourteen, twelve"); a time cue must come before.
            hour, minute = tokens[i].text, tokens[i + 1].text
            after = _next(tokens, i + 2)
            unit = after is not None and after.lower in t.units  # "at 20, 30 mg"
            listed = i + 2 < len(tokens) and tokens[i + 2].text[:1].isdigit()  # "14, 12, 13"
            if len(hour) == 2 and _clock_parts(hour, minute) and not unit and not listed:
                hhmm = hour + minute
                return _Quantity(i + 2, hhmm, clock=hhmm, confidence=t.split_digits_confidence)
        end = i + 1
        while end < len(tokens) and tokens[end].text.isdigit() and tokens[end].sep in (" ", "-"):
            if tokens[end].sep != tokens[i + 1].sep:
                break
            end += 1
        parts = [tok.text for tok in tokens[i:end]]
        if len(parts) == 1:
            return _Quantity(end, parts[0])
        if tokens[i + 1].sep == " ":
            joined = ""
            split = t.split_digits_confidence  # a reading of Whisper's spacing, not of words
            for count, part in enumerate(parts):
                # Later parts are the tail of one spoken number ("441 7", "1 10"), so short;
                # "2 500" is two numbers, and so is "2 9-line" (a name that starts with digits).
                too_long = len(part) > (3 if count == 0 else 2)
                named = count > 0 and self._term(tokens, i + count) is not None
                if too_long or named or len(joined + part) > t.max_joined_digits:
                    if count > 1:
                        return _Quantity(i + count, joined, confidence=split)
                    return _Quantity(i + 1, parts[0])
                joined += part
            return _Quantity(end, joined, confidence=split)
        clock = len(parts) == 2 and _clock_parts(parts[0], parts[1])
        zero = any(len(p) > 1 and p.startswith("0") for p in parts) or parts[0] == "0"
        if len(parts) >= 3 or zero or (cue and clock):
            at = parts[0].zfill(2) + parts[1] if clock else None
            return _Quantity(end, "".join(parts), clock=at)
        return _Quantity(i + 1, parts[0])  # "20-30" is a range

    def _label(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        """The number word that ends a label ("last four") stays a word before a number."""
        for label in self._tables.labels.get(tokens[i].key, ()):
            start = i + 1 - len(label)
            if start < 0 or tuple(tok.key for tok in tokens[start : i + 1]) != label:
                continue
            if not all(_joined(tokens[k].sep) for k in range(start + 1, i + 1)):
                continue
            if i + 1 < len(tokens) and _joined(tokens[i + 1].sep) and self._quantity(tokens, i + 1):
                return _Match(i + 1, None, "numbers", tokens[i].start, tokens[i].end)
        return None

    def _phrase_at(
        self, tokens: Sequence[_Token], i: int, phrases: Mapping[str, list[tuple[str, ...]]]
    ) -> int | None:
        """The end of the phrase (word keys, by first word) said at `i` after a number."""
        first = _next(tokens, i)
        for phrase in phrases.get(first.key, ()) if first is not None else ():
            end = i + len(phrase)
            said = [_next(tokens, k) for k in range(i, end)]
            if all(
                tok is not None and tok.key == key for tok, key in zip(said, phrase, strict=True)
            ):
                return end
        return None

    def _designation(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        """ "five-five-six", "ten-four": a name said with numbers stays as said."""
        t = self._tables
        for phrase in t.designations.get(tokens[i].key, ()):
            end = i + len(phrase)
            if end > len(tokens) or tuple(tok.key for tok in tokens[i:end]) != phrase:
                continue
            if not all(_joined(tokens[k].sep) for k in range(i + 1, end)):
                continue
            after = _next(tokens, end)
            if after is not None and (
                after.text.isdigit() or t.numbers.is_number_word(after.lower)
            ):
                continue  # "five five six two" is a digit run
            return _Match(end, None, "numbers", tokens[i].start, tokens[end - 1].end)
        return None

    def _number(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        if tokens[i].lower not in self._tables.number_starts and not tokens[i].text[0].isdigit():
            return None
        kept = self._designation(tokens, i)
        if kept is not None:
            return kept
        left = self._quantity(tokens, i)
        if left is None:
            return None
        t = self._tables
        left = self._before_size(tokens, i, left)
        start = tokens[i].start - left.lead
        after = _next(tokens, left.end)
        if after is not None and after.key in t.vague_after:
            return _Match(left.end + 1, None, "numbers", start, after.end)  # "ninety-something"
        calibre = self._phrase_at(tokens, left.end, t.calibre_words)
        if calibre is not None:  # "fifty-cal", "a one-twenty mike-mike": a weapon, no value
            return _Match(calibre, None, "numbers", start, tokens[calibre - 1].end)
        restart = self._restart(tokens, i, left)
        if restart is not None:
            return restart
        end, text, confidence = left.end, left.text, left.confidence
        right = self._ratio(tokens, i, left)
        if right is not None:
            end, text = right.end, f"{text}/{right.text}"
            confidence = min(confidence, right.confidence)
        elif left.clock and self._said_as_time(tokens, i, end, left.clock):
            text = left.clock  # "at nine thirty": 0930, which the analyser reads as a time
        elif left.hours and self._said_as_time(tokens, i, end, left.hours, strong=True):
            text = left.hours  # "nine hundred hours": 0900
        elif not left.integer and left.clock is None and not _DECIMAL.fullmatch(text):
            return None  # "0.8.15" said as no time is left as it was written
        meridiem = self._meridiem(tokens, end, left, text) if right is None else None
        if meridiem is not None:
            end, text = end + 1, meridiem
        elif right is None and left.integer and text == left.text:
            half = self._unit_and_fraction(tokens, end, text)
            if half is not None:  # "a liter and a half": the number and its unit in one edit
                return _Match(half[0], half[1], "numbers", start, tokens[half[0] - 1].end)
        return _Match(end, text, "numbers", start, tokens[end - 1].end, confidence, numeric=True)

    def _unit_and_fraction(
        self, tokens: Sequence[_Token], end: int, text: str
    ) -> tuple[int, str] | None:
        """ "a liter and a half" = 1.5 L, "two grams and a half" = 2.5 g: the end and text."""
        t = self._tables
        words = [_next(tokens, k) for k in range(end, end + 4)]
        if any(word is None for word in words):
            return None
        unit, conjunction, article, fraction = (word.lower for word in words if word is not None)
        if unit not in t.units or conjunction not in t.numbers.conjunctions:
            return None
        if article not in t.numbers.articles or fraction not in t.numbers.fractions:
            return None
        symbol = t.units[unit]
        space = "" if symbol in t.attached else " "
        return end + 4, f"{text}.{t.numbers.fractions[fraction]}{space}{symbol}"

    def _ratio(self, tokens: Sequence[_Token], i: int, left: _Quantity) -> _Quantity | None:
        """The second number of "ninety over sixty", or of "ninety-eight on sixty-two" said of a
        pressure ("two on the left" is no pressure)."""
        t = self._tables
        end = left.end
        if not left.integer or end + 1 >= len(tokens):
            return None
        if not (_joined(tokens[end].sep) and _joined(tokens[end + 1].sep)):
            return None
        word = tokens[end].lower
        if word in t.numbers.ratio_words:
            right = self._quantity(tokens, end + 1)
            return right if right is not None and right.integer else None
        if word not in t.bp_ratio_words or not self._cued(tokens, i, t.bp_cues, t.bp_window):
            return None
        right = self._quantity(tokens, end + 1)
        if right is None or not right.integer or not left.text.isdigit():
            return None
        high, low = int(left.text), int(right.text)
        if high in t.systolic and low in t.diastolic and high > low:
            return replace(right, confidence=min(right.confidence, t.bp_ratio_confidence))
        return None

    def _restart(self, tokens: Sequence[_Token], i: int, left: _Quantity) -> _Match | None:
        """A false start said again in full: "one, uh, one-twelve" = 112, "ninety, um,
        ninety-three" = 93, "twelve, twelve forty" = 1240. The words said first begin the
        number said next; without a filler between, they must be a whole leading group of it
        and no index ("casualty one, one-ten"). Only words: Whisper's digits do not say which
        words were repeated ("1, uh, 14" may be "one, uh, fourteen"), and a restart read from
        them would change text the first pass had already written."""
        t = self._tables
        j, filler = left.end, False
        while j < len(tokens) and tokens[j].key in t.fillers and _pause(tokens[j].sep):
            j, filler = j + 1, True
        if not left.integer or j >= len(tokens) or not _pause(tokens[j].sep):
            return None
        if not filler and not tokens[j].sep.strip():
            return None  # no pause: one number, already read as far as it goes
        if any(tok.text[:1].isdigit() for tok in (tokens[i], tokens[j])):
            return None
        right = self._quantity(tokens, j)
        if right is None or not right.integer:
            return None
        words = [tok.key for tok in tokens[i : left.end]]
        heard = [tok.key for tok in tokens[j : right.end]]
        if len(heard) <= len(words) or heard[: len(words)] != words:
            return None
        if not filler and (len(words) not in right.bounds or self._index_before(tokens, i)):
            return None
        found = self._number(tokens, j)
        if found is None or found.text is None:
            return None
        confidence = min(found.confidence, t.restart_confidence)
        return replace(found, raw_start=tokens[i].start - left.lead, confidence=confidence)

    def _meridiem(
        self, tokens: Sequence[_Token], end: int, left: _Quantity, text: str
    ) -> str | None:
        """ "two thirty p.m." = 1430: an hour of 1-12 (and minutes) before "am" or "pm"."""
        after = _next(tokens, end)
        if after is None or after.key not in self._tables.meridiem or after.text == "am":
            return None  # lower-case "am" is the verb; Whisper writes "a.m." or "AM"
        digits = left.clock or text
        if not digits.isdigit() or len(digits) > 4:
            return None
        hour, minute = int(digits[:-2] or "0"), int(digits[-2:])
        if len(digits) <= 2:
            hour, minute = int(digits), 0
        if not 1 <= hour <= 12 or minute > 59:
            return None
        return f"{hour % 12 + self._tables.meridiem[after.key]:02d}{minute:02d}"

    def _before_size(self, tokens: Sequence[_Token], i: int, number: _Quantity) -> _Quantity:
        """A count before a size is two numbers: "two eighteen gauge" is 2 of 18 ga, not 218 ga."""
        t = self._tables
        after = tokens[number.end] if number.end < len(tokens) else None
        if after is None or not _joined(after.sep) or after.lower not in t.units:
            return number
        limit = t.unit_digits.get(t.units[after.lower])
        if limit is None or len(number.text) <= limit:
            return number
        for split in range(i + 1, number.end):
            size = self._quantity(tokens, split)
            if size is None or size.end != number.end or len(size.text) > limit:
                continue
            count = self._quantity(tokens[:split], i)
            if count is not None and count.end == split:
                return count
        return number

    def _said_as_time(
        self, tokens: Sequence[_Token], i: int, end: int, clock: str, *, strong: bool = False
    ) -> bool:
        """Whether the hour and minutes at tokens[i:end] are a time ("at nine thirty"); with
        `strong`, only after a strong cue or before a zone word ("nine hundred hours")."""
        t = self._tables
        before = tokens[i - 1].lower if i > 0 and _listed(tokens[i].sep) else None
        after = tokens[end] if end < len(tokens) else None
        if after is not None and _joined(after.sep) and after.lower in t.units:
            return False  # "at 0.125 mg" is a dose
        zone = after is not None and _joined(after.sep) and after.lower in t.clock_zones
        ambiguous = strong or int(clock[:2]) in t.ambiguous_hours
        cues = t.strong_time_cues if ambiguous else t.time_cues
        return zone or before in cues

    def _unit(self, tokens: Sequence[_Token], i: int, numeric: bool) -> _Match | None:
        t = self._tables
        token = tokens[i]
        glued = _GLUED_UNIT.fullmatch(token.text)
        if glued is not None and glued.group(2).lower() in t.units:
            symbol = t.units[glued.group(2).lower()]
            space = "" if symbol in t.attached else " "
            return _Match(i + 1, f"{glued.group(1)}{space}{symbol}", "unit", token.start, token.end)
        spaced = token.sep.isspace() or token.sep in ("", "-")
        if not numeric or i == 0 or not spaced or token.lower not in t.units:
            return None
        symbol = t.units[token.lower]
        if token.sep == "-":  # "an eighteen-gauge", "a one-liter bag": "18 ga", "1 L"
            written = symbol if symbol in t.attached else f" {symbol}"
            return _Match(i + 1, written, "unit", tokens[i - 1].end, token.end)
        start = tokens[i - 1].end if symbol in t.attached else token.start
        return _Match(i + 1, symbol, "unit", start, token.end)

    # -- fuzzy ------------------------------------------------------------------------------

    def _fuzzy(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        t = self._tables
        if tokens[i].lower in t.stop_words:
            return None
        best: tuple[float, int, str] | None = None
        for size in range(1, t.fuzzy_window + 1):
            end = i + size
            if end > len(tokens) or (size > 1 and not _joined(tokens[end - 1].sep)):
                break
            window = tokens[i:end]
            last = window[-1]
            if not last.text.isalpha() or t.numbers.is_number_word(last.lower):
                break
            if last.lower in t.stop_words:
                continue
            if size == 1 and last.lower in t.protected_words:
                return None
            found = self._nearest(tuple(tok.lower for tok in window))
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], end, found[1])
        if best is None:
            return None
        ratio, end, entry = best
        return _written(tokens, i, end, entry, "fuzzy", round(min(ratio, 0.99), 3))

    def _nearest_uncached(self, words: tuple[str, ...]) -> tuple[float, str] | None:
        """The name closest to these words, if it is close enough."""
        t = self._tables
        joined = "".join(words)
        if joined in t.protected_words or joined in t.synonyms or joined.rstrip("s") in t.synonyms:
            return None  # "tourniquets" is a word the analyser knows, not a near-miss
        slack = max(2, len(joined) // 6)
        best: tuple[float, str] | None = None
        for form, entry, form_words in t.fuzzy_forms.get(joined[:1], ()):
            if abs(len(form) - len(joined)) > slack or abs(form_words - len(words)) > 1:
                continue
            if len(words) > 1 and not _edges_match(words, form):
                continue
            ratio = SequenceMatcher(None, joined, form, autojunk=False).ratio()
            if ratio >= t.fuzzy_threshold and (best is None or ratio > best[0]):
                best = (ratio, entry)
        return best


@dataclass(frozen=True, slots=True)
class _Quantity:
    """A number read at some token, spoken or in Whisper's digits."""

    end: int
    """Index of the first token after it."""
    text: str
    integer: bool = True
    clock: str | None = None
    """The HHMM time it means when said as a time ("nine thirty", "9-30": "0930"), or None."""
    hours: str | None = None
    """The HHMM time an hour said with "hundred" means ("nine hundred": "0900"), or None."""
    bounds: tuple[int, ...] = ()
    """Spoken words taken at the end of each group (see `SpokenNumber.bounds`)."""
    confidence: float = 1.0
    lead: int = 0
    """Characters before the first token that belong to it (the dot of Whisper's ".4")."""


def _next(tokens: Sequence[_Token], k: int) -> _Token | None:
    """tokens[k] when it is joined to the word before it by a space or a hyphen."""
    return tokens[k] if k < len(tokens) and _joined(tokens[k].sep) else None


def _clock_parts(hour: str, minute: str) -> bool:
    """Whether two digit strings read as an hour (0-23) and its minutes (two digits, 0-59)."""
    return (
        hour.isdigit()
        and minute.isdigit()
        and len(hour) <= 2
        and int(hour) < 24
        and len(minute) == 2
        and int(minute) < 60
    )


def _dotted(token: _Token) -> bool:
    """ "B.P", "T.X.A": letters with dots, whose last dot does not end a sentence."""
    return bool(_DOTTED_LETTERS.fullmatch(token.text))


def _digit_word(lexicon: NumberLexicon, tokens: Sequence[_Token], k: int) -> bool:
    """Whether tokens[k] is a digit word joined to the word before it."""
    token = _next(tokens, k)
    return token is not None and token.lower in lexicon.digits


def _leading_dot(sep: str) -> bool:
    """Whisper's ".4" for "point four": a dot right before the digits, after a space."""
    return sep == "." or (len(sep) > 1 and sep[-1] == "." and sep[-2].isspace())


def _pause(sep: str) -> bool:
    """A break inside one utterance of a number: a comma, dash or ellipsis, not a full stop."""
    return sep.strip() in _PAUSES


def _written(
    tokens: Sequence[_Token], i: int, end: int, text: str, rule: str, conf: float
) -> _Match:
    text = _cased(tokens[i].text, text)
    return _Match(end, text, rule, tokens[i].start, tokens[end - 1].end, conf)


def _edges_match(words: Sequence[str], form: str) -> bool:
    """A window of several words must resemble the name at both ends ("chest seal on" does not)."""
    first, last = words[0], words[-1]
    head = SequenceMatcher(None, first, form[: len(first)], autojunk=False).ratio()
    tail = SequenceMatcher(None, last, form[-len(last) :], autojunk=False).ratio()
    return head >= 0.6 and tail >= 0.6
