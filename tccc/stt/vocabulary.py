"""The medical vocabulary: canonical terms with their spellings, synonyms and mis-hearings.

The bundled vocabulary is `tccc/data/vocabulary.toml` (its header says what each field means);
a term list in the domain pack's TSV format can be loaded too. The vocabulary feeds the
normaliser (what to rewrite), the analyser (what a word means) and the decoder prompt.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tccc.errors import ConfigError

DEFAULT_PRIORITY = 3
PROMPT_SEPARATOR = ", "
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_CARD_NOTE = re.compile(r"card:\s*([^;(]+)")
_QUOTED = re.compile(r'"([^"]*)"')


def form_key(text: str) -> str:
    """Comparison key of a written form: lower case, words joined by single spaces."""
    return " ".join(_NON_ALNUM.sub(" ", text.lower().replace("'", "").replace("’", "")).split())


def _squash(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def _is_spelling(form: str, canonical: str) -> bool:
    """ "T X A", "C-A-T", "chito gauze" and "cat" spell the canonical; "needled" does not."""
    if form.lower() == canonical.lower():
        return True
    spaced = any(not c.isalnum() for c in form)
    return spaced and _squash(form) == _squash(canonical)


@dataclass(frozen=True)
class Term:
    """One canonical term and every way it is written, said or mis-heard."""

    canonical: str
    """The name the casualty record uses; the normaliser writes this form."""
    category: str
    """hemorrhage_device, airway, medication, vital, ... (see vocabulary.toml)."""
    variants: tuple[str, ...] = ()
    """Other spellings, spoken forms and mis-hearings of the same name: rewritten to canonical."""
    synonyms: tuple[str, ...] = ()
    """Other words for the same thing: recognised by the analyser, never rewritten."""
    mishearings: tuple[tuple[str, str], ...] = ()
    """(heard, meant) pairs for mis-hearings of a synonym: "turn a kit" means "tourniquet"."""
    card: str | None = None
    """The DD 1380 export value the term fills, where it fills exactly one."""
    hints: tuple[str, ...] | None = None
    """Forms given to the decoder as hotwords, most useful first; None means the canonical."""
    priority: int = DEFAULT_PRIORITY
    """Prompt order: 1 first ... 5 last."""
    fuzzy: bool = False
    """Correct near-misses of the canonical, variants and meant forms."""
    countable: bool = False
    """Plurals are recognised: "cats" is written "CATs"."""
    notes: str = ""
    """Free text: what the term is, doses, sources."""

    def __post_init__(self) -> None:
        if not self.canonical.strip() or self.canonical != self.canonical.strip():
            raise ConfigError(f"vocabulary term {self.canonical!r} needs a trimmed, non-empty name")
        if not 1 <= self.priority <= 5:
            raise ConfigError(f"vocabulary term {self.canonical!r}: priority must be 1..5")
        known = {form_key(f) for f in self.forms}
        for heard, meant in self.mishearings:
            if form_key(meant) not in known:
                raise ConfigError(
                    f"vocabulary term {self.canonical!r}: mis-hearing {heard!r} means "
                    f"{meant!r}, which is not one of its forms"
                )

    @property
    def forms(self) -> tuple[str, ...]:
        """Canonical, variants and synonyms: every correct way to name the term."""
        return (self.canonical, *self.variants, *self.synonyms)

    @property
    def rewrites(self) -> tuple[tuple[str, str], ...]:
        """(heard, written) pairs the normaliser applies: variants and mis-hearings."""
        pairs = [(self.canonical, self.canonical)]
        pairs += [(v, self.canonical) for v in self.variants]
        pairs += list(self.mishearings)
        return tuple(pairs)

    @property
    def prompt_forms(self) -> tuple[str, ...]:
        """What this term contributes to the decoder prompt."""
        return (self.canonical,) if self.hints is None else self.hints


@dataclass(frozen=True)
class Vocabulary:
    """An ordered set of terms, looked up by any of their forms."""

    terms: tuple[Term, ...]
    version: str = ""
    """The data version (bundled: tied to the TCCC guideline date)."""
    _by_form: Mapping[str, Term] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        canonical: dict[str, Term] = {}
        by_form: dict[str, Term] = {}
        for term in self.terms:
            key = form_key(term.canonical)
            if key in canonical:
                raise ConfigError(f"vocabulary term {term.canonical!r} is listed twice")
            canonical[key] = term
        for term in self.terms:
            for form in (*term.forms, *(heard for heard, _ in term.mishearings)):
                # A form that names two terms keeps the first; a canonical always wins.
                by_form.setdefault(form_key(form), term)
        by_form.update(canonical)
        object.__setattr__(self, "_by_form", by_form)

    def get(self, canonical: str) -> Term | None:
        """The term with this canonical name (any case), or None."""
        term = self._by_form.get(form_key(canonical))
        return (
            term if term is not None and form_key(term.canonical) == form_key(canonical) else None
        )

    def lookup(self, form: str) -> Term | None:
        """The term any form names ("tranexamic acid", "nasal airway", "txa"), or None."""
        return self._by_form.get(form_key(form))

    @property
    def categories(self) -> tuple[str, ...]:
        """Categories in order of first appearance."""
        return tuple(dict.fromkeys(t.category for t in self.terms))

    def prompt(self, count_tokens: Callable[[str], int], max_tokens: int = 224) -> str:
        """Decoder-biasing text: the most useful names, comma-separated, within `max_tokens`.

        Terms are taken by priority (then file order), each with its prompt forms, and the list
        stops before the first form that would take the text over `max_tokens` as counted by
        `count_tokens`. faster-whisper encodes hotwords as " " + text and keeps at most
        223 tokens, so callers counting with the Whisper tokenizer should count that way.
        """
        if max_tokens <= 0:
            return ""
        ranked = sorted(enumerate(self.terms), key=lambda item: (item[1].priority, item[0]))
        seen: set[str] = set()
        text = ""
        for _, term in ranked:
            for form in term.prompt_forms:
                key = form.casefold()
                if key in seen:
                    continue
                candidate = f"{text}{PROMPT_SEPARATOR}{form}" if text else form
                if count_tokens(candidate) > max_tokens:
                    return text
                seen.add(key)
                text = candidate
        return text


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """The bundled vocabulary (None), or a vocabulary TOML or domain-pack TSV file."""
    if path is None:
        return _bundled()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read vocabulary file {file}: {exc.strerror}") from exc
    if file.suffix.lower() in (".tsv", ".tab"):
        return vocabulary_from_tsv(text, _bundled_categories())
    return vocabulary_from_toml(text, name=str(file))


@lru_cache(maxsize=1)
def _bundled() -> Vocabulary:
    return vocabulary_from_toml(_bundled_text(), name="bundled vocabulary.toml")


def _bundled_text() -> str:
    return resources.files("tccc").joinpath("data/vocabulary.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _bundled_categories() -> Mapping[str, Mapping[str, Any]]:
    categories: Mapping[str, Mapping[str, Any]] = tomllib.loads(_bundled_text())["categories"]
    return categories


def vocabulary_from_toml(text: str, name: str = "vocabulary") -> Vocabulary:
    """Parse a vocabulary in the bundled TOML format (see tccc/data/vocabulary.toml)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} is not valid TOML: {exc}") from exc
    categories: Mapping[str, Mapping[str, Any]] = data.get("categories", {})
    terms = []
    for index, raw in enumerate(data.get("terms", [])):
        try:
            terms.append(_term_from_table(raw, categories))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: term #{index + 1} is invalid ({exc!r})") from exc
    return Vocabulary(tuple(terms), version=str(data.get("version", "")))


def _strings(items: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(item) for item in items)


def _term_from_table(raw: Mapping[str, Any], categories: Mapping[str, Mapping[str, Any]]) -> Term:
    category = str(raw["category"])
    if categories and category not in categories:
        raise ValueError(f"unknown category {category!r}")
    defaults = categories.get(category, {})
    hints = raw.get("prompt")
    return Term(
        canonical=str(raw["canonical"]),
        category=category,
        variants=_strings(raw.get("variants", ())),
        synonyms=_strings(raw.get("synonyms", ())),
        mishearings=tuple((str(k), str(v)) for k, v in raw.get("mishearings", {}).items()),
        card=str(raw["card"]) if "card" in raw else None,
        hints=None if hints is None else _strings(hints),
        priority=int(raw.get("priority", defaults.get("priority", DEFAULT_PRIORITY))),
        fuzzy=bool(raw.get("fuzzy", defaults.get("fuzzy", False))),
        countable=bool(raw.get("countable", defaults.get("countable", False))),
        notes=str(raw.get("notes", "")),
    )


def vocabulary_from_tsv(
    text: str, categories: Mapping[str, Mapping[str, Any]] | None = None
) -> Vocabulary:
    """Parse the domain pack's TSV (canonical, category, "quoted" "variants", source, notes).

    That format does not say which forms are mis-hearings and which are descriptions, so every
    form is kept as a synonym (never rewritten) except spellings of the canonical itself:
    letter by letter, spaced or in another case ("T X A", "C-A-T", "chito gauze", "cat").
    Category policies (fuzzy, countable, priority) come from `categories`, normally the
    bundled vocabulary's.
    """
    categories = categories or {}
    terms = []
    for line in text.splitlines():
        # Plain tab splitting: the forms column is a list of quoted strings, not a CSV field.
        row = line.split("\t")
        if not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        canonical, category = row[0].strip(), (row[1].strip() if len(row) > 1 else "other")
        forms = [f.strip() for f in _QUOTED.findall(row[2] if len(row) > 2 else "")]
        forms = [f for f in forms if f and "..." not in f]
        notes = row[4].strip() if len(row) > 4 else ""
        card = _CARD_NOTE.search(notes)
        spelled = [f for f in forms if _is_spelling(f, canonical)]
        defaults = categories.get(category, {})
        terms.append(
            Term(
                canonical=canonical,
                category=category,
                variants=tuple(spelled),
                synonyms=tuple(f for f in forms if f not in spelled),
                card=card.group(1).strip() if card else None,
                priority=int(defaults.get("priority", DEFAULT_PRIORITY)),
                fuzzy=bool(defaults.get("fuzzy", False)),
                countable=bool(defaults.get("countable", False)),
                notes=notes,
            )
        )
    return Vocabulary(tuple(terms))
