"""Spoken numbers to digits: "one ten" = 110, "fourteen thirty-two" = 1432, "oh eight" = 08.

Medics say numbers three ways and all three occur in one narration: as cardinals ("one hundred
and two", "twenty"), as digit strings ("four four one seven", "zero eight fifteen") and in pairs
("one ten" for a pulse of 110, "fourteen thirty-two" for a time). A run of number words is cut
into groups (a digit, a teen, a tens word with its unit, or a cardinal with hundred/thousand);
one group is read as its value and several groups are concatenated as digit strings, which is
what every paired or digit-by-digit form means. Slang hundreds ("a buck-ten" = 110) are one
group. A word Whisper writes for a heard digit ("to", "for") counts only inside a four-digit
run and lowers the number's `confidence`. The word tables live in `tccc/data/normaliser.toml`;
`parse_spoken_number` is pure and takes lower-case words.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from importlib import resources
from typing import Any

from tccc.errors import ConfigError


class _Kind(Enum):
    DIGIT = "digit"
    ZERO = "zero"  # "oh": a zero only inside a digit sequence
    RADIO = "radio"  # "tree", "fife": digits only inside a digit sequence
    TEEN = "teen"
    TENS = "tens"
    MULT = "mult"
    ARTICLE = "article"
    AND = "and"
    POINT = "point"
    FRACTION = "fraction"
    SLANG = "slang"  # "buck": a hundred in pulse and pressure slang
    HOMOPHONE = "homophone"  # "to", "for": a digit only inside a digit run


_DIGIT_LIKE = (_Kind.DIGIT, _Kind.ZERO, _Kind.RADIO, _Kind.HOMOPHONE)


@dataclass(frozen=True, slots=True)
class NumberLexicon:
    """The number words of `normaliser.toml` [numbers], lower case."""

    digits: Mapping[str, int]
    teens: Mapping[str, int]
    tens: Mapping[str, int]
    multipliers: Mapping[str, int]
    contextual_zero: frozenset[str]
    radio_digits: Mapping[str, int]
    articles: frozenset[str]
    conjunctions: frozenset[str]
    decimal_points: frozenset[str]
    fractions: Mapping[str, str]
    ratio_words: frozenset[str]
    ordinals: frozenset[str]
    one_keep_after: frozenset[str]
    """A lone "one" after these words is a pronoun ("no one", "this one", "the one on ...")."""
    one_keep_before: frozenset[str]
    """A lone "one" before these words is a pronoun ("one of the casualties", "one another")."""
    min_radio_run: int = 3
    """Digits in a row needed before "tree"/"fife" count as radio digits."""
    slang_hundreds: Mapping[str, int] = field(default_factory=dict)
    """Slang for a hundred: "a buck-ten" = 110."""
    homophones: Mapping[str, int] = field(default_factory=dict)
    """Words Whisper writes for a heard digit ("to", "for"): digits only inside a digit run."""
    homophone_run: int = 4
    """The length of the digit-by-digit run a homophone must sit inside."""
    homophone_confidence: float = 0.6
    """Confidence of a number read with a homophone digit."""

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> NumberLexicon:
        """Build from the [numbers] table of normaliser.toml."""
        try:
            pronoun = table["pronoun_one"]
            return cls(
                digits=_int_map(table["digits"]),
                teens=_int_map(table["teens"]),
                tens=_int_map(table["tens"]),
                multipliers=_int_map(table["multipliers"]),
                contextual_zero=_words(table["contextual_zero"]),
                radio_digits=_int_map(table["radio_digits"]),
                articles=_words(table["articles"]),
                conjunctions=_words(table["conjunctions"]),
                decimal_points=_words(table["decimal_points"]),
                fractions={str(k).lower(): str(v) for k, v in table["fractions"].items()},
                ratio_words=_words(table["ratio_words"]),
                ordinals=_words(table["ordinals"]),
                one_keep_after=_words(pronoun["after"]),
                one_keep_before=_words(pronoun["before"]),
                min_radio_run=int(table.get("min_radio_run", 3)),
                slang_hundreds=_int_map(table["slang_hundreds"]),
                homophones=_int_map(table["homophones"]),
                homophone_run=int(table["homophone_run"]),
                homophone_confidence=float(table["homophone_confidence"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"normaliser [numbers] table is invalid: {exc!r}") from exc

    def is_number_word(self, word: str) -> bool:
        """True for any word that can take part in a spoken number (homophones aside)."""
        found = self._kind(word)
        return found is not None and found[0] is not _Kind.HOMOPHONE

    def words(self) -> frozenset[str]:
        """Every word that can start or take part in a spoken number (homophones aside)."""
        tables: list[Any] = [self.digits, self.teens, self.tens, self.multipliers]
        tables += [self.contextual_zero, self.radio_digits, self.articles, self.conjunctions]
        tables += [self.decimal_points, self.fractions, self.slang_hundreds]
        return frozenset(word for table in tables for word in table)

    def is_value_word(self, word: str) -> bool:
        """True for a word that says a value by itself ("six", "ninety", "hundred", "buck")."""
        found = self._kind(word)
        values = (_Kind.DIGIT, _Kind.TEEN, _Kind.TENS, _Kind.MULT, _Kind.SLANG)
        return found is not None and found[0] in values

    def is_homophone(self, word: str) -> bool:
        """True for a word that is a digit only inside a digit run ("to", "for")."""
        return word in self.homophones

    def _kind(self, word: str) -> tuple[_Kind, int] | None:
        if word in self.digits:
            return _Kind.DIGIT, self.digits[word]
        if word in self.teens:
            return _Kind.TEEN, self.teens[word]
        if word in self.tens:
            return _Kind.TENS, self.tens[word]
        if word in self.multipliers:
            return _Kind.MULT, self.multipliers[word]
        if word in self.contextual_zero:
            return _Kind.ZERO, 0
        if word in self.radio_digits:
            return _Kind.RADIO, self.radio_digits[word]
        if word in self.articles:
            return _Kind.ARTICLE, 1
        if word in self.conjunctions:
            return _Kind.AND, 0
        if word in self.decimal_points:
            return _Kind.POINT, 0
        if word in self.fractions:
            return _Kind.FRACTION, 0
        if word in self.slang_hundreds:
            return _Kind.SLANG, self.slang_hundreds[word]
        if word in self.homophones:
            return _Kind.HOMOPHONE, self.homophones[word]
        return None


@dataclass(frozen=True, slots=True)
class SpokenNumber:
    """A number read from the start of a run of words."""

    consumed: int
    """How many words it took."""
    text: str
    """Its digits: "110", "0815", "3.25"."""
    integer: bool
    """False when it has a decimal part."""
    clock: str | None = None
    """The 24-hour time an hour word and minutes also mean: "nine thirty" (930) is "0930"."""
    hours: str | None = None
    """The 24-hour time an hour said with "hundred" also means: "nine hundred" is "0900"."""
    bounds: tuple[int, ...] = ()
    """Words consumed at the end of each group: "four four seven one" is (1, 2, 3, 4)."""
    confidence: float = 1.0
    """Below 1 when a homophone was read as a digit ("one four to zero")."""
    needs_cue: bool = False
    """A lone slang hundred ("a buck"): a value only after a vital-sign word."""


def _int_map(table: Mapping[str, Any]) -> dict[str, int]:
    return {str(k).lower(): int(v) for k, v in table.items()}


def _words(items: Sequence[Any]) -> frozenset[str]:
    return frozenset(str(w).lower() for w in items)


@dataclass(slots=True)
class _Atom:
    kind: _Kind
    value: int
    word: str


@dataclass(frozen=True, slots=True)
class _Group:
    end: int
    value: int
    text: str
    has_multiplier: bool
    bare_tens: bool
    lone_slang: bool = False


def _atoms(words: Sequence[str], lexicon: NumberLexicon, radio: bool) -> list[_Atom]:
    """Classify the leading number words, then drop "oh"/"tree"/"fife" that are not digits."""
    atoms: list[_Atom] = []
    for word in words:
        found = lexicon._kind(word)
        if found is None:
            break
        atoms.append(_Atom(found[0], found[1], word))
    for index, atom in enumerate(atoms):
        if atom.kind is _Kind.ZERO and not _zero_is_digit(atoms, index):
            return atoms[:index]
        if atom.kind is _Kind.HOMOPHONE and not _homophone_is_digit(atoms, index, lexicon):
            return atoms[:index]
        if (
            atom.kind is _Kind.RADIO
            and not radio
            and _digit_run(atoms, index) < lexicon.min_radio_run
        ):
            return atoms[:index]
    return atoms


def _is_numeric(atom: _Atom) -> bool:
    return atom.kind in (*_DIGIT_LIKE, _Kind.TEEN, _Kind.TENS, _Kind.MULT, _Kind.SLANG)


def _homophone_is_digit(atoms: Sequence[_Atom], index: int, lexicon: NumberLexicon) -> bool:
    """ "to" in "one four to zero": between two digits, in a run of exactly `homophone_run`."""
    plain = (_Kind.DIGIT, _Kind.ZERO, _Kind.RADIO)
    if index == 0 or index + 1 >= len(atoms):
        return False
    if atoms[index - 1].kind not in plain or atoms[index + 1].kind not in plain:
        return False
    return _digit_run(atoms, index) == lexicon.homophone_run


def _zero_is_digit(atoms: Sequence[_Atom], index: int) -> bool:
    """Whether "oh" is a zero: after a number and before one ("ten oh five"), or before two."""
    following = [a for a in atoms[index + 1 : index + 3] if _is_numeric(a)]
    if index > 0:
        return (
            _is_numeric(atoms[index - 1]) and bool(following) and following[0] is atoms[index + 1]
        )
    return len(following) == 2 and following[1] is atoms[index + 2]


def _digit_run(atoms: Sequence[_Atom], index: int) -> int:
    """Length of the run of single-digit words around `index`."""
    start = index
    while start > 0 and atoms[start - 1].kind in _DIGIT_LIKE:
        start -= 1
    end = index
    while end + 1 < len(atoms) and atoms[end + 1].kind in _DIGIT_LIKE:
        end += 1
    return end - start + 1


class _Parser:
    """Recursive descent over the atoms of one run."""

    def __init__(self, atoms: Sequence[_Atom]) -> None:
        self.atoms = atoms

    def kind(self, index: int) -> _Kind | None:
        return self.atoms[index].kind if index < len(self.atoms) else None

    def below_hundred(self, i: int) -> tuple[int, int] | None:
        kind = self.kind(i)
        if kind in _DIGIT_LIKE or kind is _Kind.TEEN:
            return self.atoms[i].value, i + 1
        if kind is _Kind.TENS:
            value = self.atoms[i].value
            if self.kind(i + 1) in (_Kind.DIGIT, _Kind.RADIO) and 1 <= self.atoms[i + 1].value <= 9:
                return value + self.atoms[i + 1].value, i + 2
            return value, i + 1
        return None

    def multiplied(self, i: int, multiplier: int) -> tuple[int, int] | None:
        """[a | number] MULTIPLIER [and] [number below the multiplier]: "a hundred and ten"."""
        if self.kind(i) is _Kind.ARTICLE:
            base, j = 1, i + 1
        else:
            inner = self.below_thousand(i) if multiplier > 100 else self.below_hundred(i)
            if inner is None:
                return None
            base, j = inner
        if self.kind(j) is not _Kind.MULT or self.atoms[j].value != multiplier or base == 0:
            return None
        total, j = base * multiplier, j + 1
        k = j + 1 if self.kind(j) is _Kind.AND else j
        rest = self.below_thousand(k) if multiplier > 100 else self.below_hundred(k)
        if rest is not None and rest[0] < multiplier:
            return total + rest[0], rest[1]
        return total, j

    def below_thousand(self, i: int) -> tuple[int, int] | None:
        return self.multiplied(i, 100) or self.below_hundred(i)

    def slang(self, i: int) -> _Group | None:
        """[a] buck [number below a hundred]: "a buck-ten" = 110, "buck oh five" = 105."""
        j = i + 1 if self.kind(i) is _Kind.ARTICLE else i
        if self.kind(j) is not _Kind.SLANG:
            return None
        base, j = self.atoms[j].value, j + 1
        if self.kind(j) is _Kind.ZERO and self.kind(j + 1) is _Kind.DIGIT:
            j += 1  # "buck oh five": the "oh" only pads the tens
        rest = self.below_hundred(j)
        if rest is not None and 0 < rest[0] < base:
            return _Group(rest[1], base + rest[0], str(base + rest[0]), True, False)
        return _Group(j, base, str(base), True, False, lone_slang=True)

    def group(self, i: int) -> _Group | None:
        kind = self.kind(i)
        if kind is None:
            return None
        slang = self.slang(i)
        if slang is not None:
            return slang
        if kind is _Kind.MULT:  # a bare "hundred" / "thousand" means one of them
            value, end = self.atoms[i].value, i + 1
            k = end + 1 if self.kind(end) is _Kind.AND else end
            rest = self.below_thousand(k) if value > 100 else self.below_hundred(k)
            if rest is not None and 0 < rest[0] < value:  # "hundred and ten"
                value, end = value + rest[0], rest[1]
            return _Group(end, value, str(value), True, False)
        for multiplier in (1000, 100):
            found = self.multiplied(i, multiplier)
            if found is not None:
                return _Group(found[1], found[0], str(found[0]), True, False)
        plain = self.below_hundred(i)
        if plain is None:
            return None
        value, end = plain
        return _Group(end, value, str(value), False, end == i + 1 and kind is _Kind.TENS)


def parse_spoken_number(
    words: Sequence[str],
    lexicon: NumberLexicon,
    previous: str | None = None,
    *,
    radio: bool = False,
    max_groups: int | None = None,
) -> SpokenNumber | None:
    """Read the number spoken at the start of `words` (lower case, joined only by spaces/hyphens).

    `previous` is the word before, used to keep the pronoun "one" ("no one", "this one");
    `radio` accepts "tree" and "fife" anywhere (inside a battle-roster number); `max_groups`
    stops after that many groups ("casualty two two grams" is casualty 2, not 22).
    """
    atoms = _atoms(words, lexicon, radio)
    parser = _Parser(atoms)
    groups: list[_Group] = []
    i = 0
    while (group := parser.group(i)) is not None:
        if groups and group.has_multiplier and set("".join(g.text for g in groups)) != {"0"}:
            break  # "one two hundred" is two numbers; "oh nine hundred" is 0900
        groups.append(group)
        i = group.end
        if group.has_multiplier or len(groups) == max_groups:
            break  # "one hundred" then "five five" would read as 10055: stop at a cardinal
    if not groups:
        return None
    if groups[-1].bare_tens and i < len(words) and words[i] in lexicon.ordinals:
        groups.pop()  # "twenty-first" stays a word
        if not groups:
            return None
        i = groups[-1].end
    text = "".join(g.text for g in groups)
    integer = True
    if parser.kind(i) is _Kind.POINT and parser.kind(i + 1) in _DIGIT_LIKE:
        j = i + 1
        decimals = ""
        while parser.kind(j) in _DIGIT_LIKE:
            decimals += str(atoms[j].value)
            j += 1
        text, i, integer = f"{text}.{decimals}", j, False
    elif (
        parser.kind(i) is _Kind.AND
        and parser.kind(i + 1) is _Kind.ARTICLE
        and parser.kind(i + 2) is _Kind.FRACTION
    ):
        text, i, integer = f"{text}.{lexicon.fractions[atoms[i + 2].word]}", i + 3, False
    if i == 1 and lexicon.digits.get(words[0]) == 1:
        after = words[1] if len(words) > 1 else None
        if previous in lexicon.one_keep_after or after in lexicon.one_keep_before:
            return None  # "no one", "this one", "one of the casualties"
    homophone = any(a.kind is _Kind.HOMOPHONE for a in atoms[:i])
    return SpokenNumber(
        i,
        text,
        integer,
        _clock(groups) if integer else None,
        _hours(groups) if integer else None,
        tuple(g.end for g in groups),
        lexicon.homophone_confidence if homophone else 1.0,
        len(groups) == 1 and groups[0].lone_slang,
    )


def _clock(groups: Sequence[_Group]) -> str | None:
    """ "nine thirty", "nine oh five": a lone hour digit and two minute digits, as HHMM."""
    hour, minutes = groups[0].text, "".join(g.text for g in groups[1:])
    if len(hour) != 1 or hour == "0" or len(minutes) != 2 or int(minutes) >= 60:
        return None
    return f"0{hour}{minutes}"


def _hours(groups: Sequence[_Group]) -> str | None:
    """ "nine hundred", "twenty-one hundred": a whole hour said with "hundred", as HHMM."""
    if len(groups) != 1 or not groups[0].has_multiplier or groups[0].lone_slang:
        return None
    value = groups[0].value
    if value % 100 or not 100 <= value <= 2300:
        return None
    return f"{value:04d}"


@lru_cache(maxsize=1)
def load_number_lexicon() -> NumberLexicon:
    """The bundled number words (tccc/data/normaliser.toml, [numbers])."""
    return NumberLexicon.from_table(load_normaliser_tables()["numbers"])


@lru_cache(maxsize=1)
def load_normaliser_tables() -> Mapping[str, Any]:
    """The bundled normaliser lexicon (tccc/data/normaliser.toml), parsed once."""
    text = resources.files("tccc").joinpath("data/normaliser.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def words_to_digits(text: str, lexicon: NumberLexicon | None = None) -> str | None:
    """The digits of `text` when all of it is one spoken number, else None ("one ten" = "110")."""
    words = text.lower().replace("-", " ").split()
    found = parse_spoken_number(words, lexicon or load_number_lexicon())
    if found is None or found.consumed != len(words):
        return None
    return found.text
