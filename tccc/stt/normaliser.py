"""Post-recognition normaliser: spoken numbers, units, roster letters, acronyms and term names.

Whisper's text is kept as it is except where a rule fires; every change is a `TextEdit` that
maps the new text back to the recognised words, so a fact found in the normalised text can
point at what the medic said. Rules are tried left to right at each word, first match wins
(of acronym and term, the longer match):

1. phonetic  "Romeo Mike four four one seven" = RM4417 (battle roster numbers)
2. acronym   "T X A", "T.X.A.", "I/O", "txa" = TXA; "S P O two" = SpO2
3. term      vocabulary variants and mis-hearings: "tranexamic acid" = TXA, "chest steal"
4. numbers   "one ten" = 110, "ninety over sixty" = 90/60, "1,000" = 1000, "441 7" = 4417,
             "at nine thirty" = "at 0930", "9:30" = 0930
5. unit      after a number: "grams" = g, "mils" = mL, "percent" = %
6. fuzzy     near-misses of drug and device names (confidence < 1)

The word lists are data (`tccc/data/normaliser.toml`, `vocabulary.toml`) compiled once here.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
_COLON_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
# Whisper's dotted forms of a spoken clock time: "14.08", "0.642" and "0.0820" (zero six
# forty-two, zero eight twenty), "0.8.15" (zero eight fifteen). Times only where said as one.
_DOTTED_TIME = re.compile(
    r"(?P<h>1\d|2[0-3]|0?[1-9])\.(?P<m>[0-5]\d)"
    r"|0\.0?(?P<h0>\d)(?P<m0>[0-5]\d)"
    r"|0\.(?P<h1>\d)\.(?P<m1>[0-5]\d)"
)

# Rule names, in the order they are tried; `TextEdit.rule` and `Normaliser.counts` use them.
RULES = ("phonetic", "acronym", "term", "numbers", "unit", "fuzzy")


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


class _Tables:
    """The lexicon of normaliser.toml and the vocabulary, compiled for lookup."""

    def __init__(
        self, vocabulary: Vocabulary, data: Mapping[str, Any], numbers: NumberLexicon
    ) -> None:
        self.numbers = numbers
        digits, phonetic, units = data["digits"], data["phonetic"], data["units"]
        self.max_joined_digits = int(digits["max_joined_digits"])
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
            self._roster(tokens, i)
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

    def _roster(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        t = self._tables
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
        digits, last = self._roster_digits(tokens, j)
        if not t.min_digits <= len(digits) <= t.max_digits:
            return None
        if single and (len(letters) != 2 or len(digits) != t.roster_digits):
            return None
        return _Match(
            last + 1, "".join(letters) + digits, "phonetic", tokens[i].start, tokens[last].end
        )

    def _roster_digits(self, tokens: Sequence[_Token], j: int) -> tuple[str, int]:
        """Digits after roster letters: spoken, Whisper digits, or both, listed with commas."""
        digits, last = "", j - 1
        while j < len(tokens) and _listed(tokens[j].sep):
            if "," in tokens[j].sep and len(digits) >= self._tables.roster_digits:
                break  # "roster ... three three eight zero, two CATs": the count is not roster
            if tokens[j].text.isdigit():
                digits, last, j = digits + tokens[j].text, j, j + 1
                continue
            words = self._number_words(tokens, j)
            found = parse_spoken_number(words, self._tables.numbers, radio=True) if words else None
            if found is None or not found.integer:
                break
            digits, last, j = digits + found.text, j + found.consumed - 1, j + found.consumed
        return digits, last

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
            if not lexicon.is_number_word(tokens[k].lower):
                break  # kept as look-ahead: "one of", "twenty-first"
        return words if words and lexicon.is_number_word(words[0]) else []

    def _quantity(self, tokens: Sequence[_Token], i: int) -> _Quantity | None:
        """The number at `i`, spoken or in digits, or None."""
        token = tokens[i]
        if token.text.isdigit():
            return self._digit_run(tokens, i)
        if _THOUSANDS.fullmatch(token.text):
            return _Quantity(i + 1, token.text.replace(",", ""))
        dotted = _DOTTED_TIME.fullmatch(token.text)
        if dotted is not None:
            hour = dotted["h"] or dotted["h0"] or dotted["h1"]
            minute = dotted["m"] or dotted["m0"] or dotted["m1"]
            return _Quantity(i + 1, token.text, integer=False, clock=hour.zfill(2) + minute)
        if _DECIMAL.fullmatch(token.text):
            return _Quantity(i + 1, token.text, integer=False)
        colon = _COLON_TIME.fullmatch(token.text)
        if colon is not None:  # "9:30" is a time whatever the words around it
            return _Quantity(i + 1, colon.group(1).zfill(2) + colon.group(2))
        words = self._number_words(tokens, i)
        if not words:
            return None
        previous = tokens[i - 1].lower if i > 0 else None
        if len(words) > 1 and words[1] in self._tables.units:
            previous = None  # "make that one liter": a unit after "one" makes it a count
        found = parse_spoken_number(words, self._tables.numbers, previous)
        if found is None:
            return None
        return _Quantity(i + found.consumed, found.text, found.integer, found.clock)

    def _digit_run(self, tokens: Sequence[_Token], i: int) -> _Quantity:
        """Whisper's split digits: "441 7" = 4417, "1 10" = 110, "1-1-5-8" = 1158."""
        t = self._tables
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
            for count, part in enumerate(parts):
                # Later parts are the tail of one spoken number ("441 7", "1 10"), so short;
                # "2 500" is two numbers, and so is "2 9-line" (a name that starts with digits).
                too_long = len(part) > (3 if count == 0 else 2)
                named = count > 0 and self._term(tokens, i + count) is not None
                if too_long or named or len(joined + part) > t.max_joined_digits:
                    return _Quantity(i + count, joined) if count > 1 else _Quantity(i + 1, parts[0])
                joined += part
            return _Quantity(end, joined)
        cue = i > 0 and tokens[i - 1].lower in t.time_cues
        clock = len(parts) == 2 and len(parts[0]) <= 2 and int(parts[0]) < 24 and len(parts[1]) == 2
        clock = clock and int(parts[1]) < 60
        zero = any(len(p) > 1 and p.startswith("0") for p in parts) or parts[0] == "0"
        if len(parts) >= 3 or zero or (cue and clock):
            hhmm = parts[0].zfill(2) + parts[1] if clock else None
            return _Quantity(end, "".join(parts), clock=hhmm)
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

    def _number(self, tokens: Sequence[_Token], i: int) -> _Match | None:
        left = self._quantity(tokens, i)
        if left is None:
            return None
        left = self._before_size(tokens, i, left)
        end, text = left.end, left.text
        ratio = end + 1 < len(tokens) and tokens[end].lower in self._tables.numbers.ratio_words
        if left.integer and ratio and _joined(tokens[end].sep) and _joined(tokens[end + 1].sep):
            right = self._quantity(tokens, end + 1)
            if right is not None and right.integer:
                end, text = right.end, f"{text}/{right.text}"
        if end == left.end and left.clock and self._said_as_time(tokens, i, end, left.clock):
            text = left.clock  # "at nine thirty": 0930, which the analyser reads as a time
        elif not left.integer and left.clock is None and not _DECIMAL.fullmatch(text):
            return None  # "0.8.15" said as no time is left as it was written
        return _Match(end, text, "numbers", tokens[i].start, tokens[end - 1].end, numeric=True)

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

    def _said_as_time(self, tokens: Sequence[_Token], i: int, end: int, clock: str) -> bool:
        """Whether the hour and minutes at tokens[i:end] are a time ("at nine thirty")."""
        t = self._tables
        before = tokens[i - 1].lower if i > 0 and _listed(tokens[i].sep) else None
        after = tokens[end] if end < len(tokens) else None
        if after is not None and _joined(after.sep) and after.lower in t.units:
            return False  # "at 0.125 mg" is a dose
        zone = after is not None and _joined(after.sep) and after.lower in t.clock_zones
        cues = t.strong_time_cues if int(clock[:2]) in t.ambiguous_hours else t.time_cues
        return zone or before in cues

    def _unit(self, tokens: Sequence[_Token], i: int, numeric: bool) -> _Match | None:
        t = self._tables
        token = tokens[i]
        glued = _GLUED_UNIT.fullmatch(token.text)
        if glued is not None and glued.group(2).lower() in t.units:
            symbol = t.units[glued.group(2).lower()]
            space = "" if symbol in t.attached else " "
            return _Match(i + 1, f"{glued.group(1)}{space}{symbol}", "unit", token.start, token.end)
        if not numeric or i == 0 or token.sep.strip() or token.lower not in t.units:
            return None
        symbol = t.units[token.lower]
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
