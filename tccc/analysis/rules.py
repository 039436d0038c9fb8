"""TCCC decision support: prompts from a casualty record, with the numbers in tccc_rules.toml.

`evaluate(record, now_s, clock)` is a pure function: the same record, session time and clock
give the same prompts, so a replayed session prompts at the same moments. Every guideline
number, word list and prompt text comes from the versioned rules file
(`tccc/data/tccc_rules.toml`, or another file through `load_rules(path)`); this module holds
the logic that decides which rule applies. Clinical content must be reviewed by a qualified
TCCC instructor or medical officer (`Rules.review_note`).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tccc.analysis.clock import SessionClock, live_facts
from tccc.analysis.record import CasualtyRecord, Item
from tccc.errors import ConfigError
from tccc.events import Evidence, Fact, Scalar

SEVERITIES = ("info", "warning", "urgent")
"""Prompt severities, least to most pressing."""

_BUNDLED = "data/tccc_rules.toml"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_AVPU_WORDS = {"alert": "A", "voice": "V", "verbal": "V", "pain": "P", "painful": "P"}
_AVPU_WORDS |= {"unresponsive": "U", "unconscious": "U"}
_AVPU_RANK = {"A": 0, "V": 1, "P": 2, "U": 3}


@dataclass(frozen=True)
class _Spec:
    templates: Mapping[str, tuple[str, ...]]
    numbers: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()


_TQ = ("limb", "applied", "time_note")
_EVAC = ("category", "window_h", "deadline")

# What the code reads from each rule table: each template it renders with the {fields} it
# fills in there, the numbers it computes with and the severity keys it chooses between.
# Templates may use these fields and any of the rule's own keys, nothing else.
_SPECS: dict[str, _Spec] = {
    "M1": _Spec({"text": ("limb",)}),
    "M2": _Spec(
        {
            "text": (*_TQ, "deadline"),
            "text_late": (*_TQ, "deadline"),
            "text_never": _TQ,
            "text_hold": (*_TQ, "reason"),
            "note_time_unstated": (),
        },
        ("conversion_h", "never_convert_h", "warn_before_min"),
        ("severity_near", "severity_late", "severity_late_near", "severity_never", "severity_hold"),
    ),
    "M3": _Spec({"text": ("sites",)}, ("pressure_min",)),
    "R1": _Spec({"text": ("trauma", "signs")}, ("needle_length_in",)),
    "R2": _Spec({"text": ("sites",)}),
    "C1": _Spec({"text": ("signs",)}),
    "C2": _Spec(
        {"text": ("injury", "injury_note", "deadline", "reasons"), "note_injury_unknown": ()},
        ("dose_g", "window_h", "warn_before_min"),
        ("severity_near",),
    ),
    "C3": _Spec({"text": ("signs",)}),
    "C4": _Spec({"text": ("product",)}, ("calcium_g",)),
    "H1": _Spec({"text": ()}),
    "H2": _Spec(
        {
            "text": ("below",),
            "text_herniation": ("signs", "below"),
            "note_below_target": ("values",),
        },
        (
            "spo2_target_above",
            "systolic_target_min",
            "systolic_target_max",
            "head_up_deg",
            "gcs_drop",
        ),
        ("severity_below_target", "severity_herniation"),
    ),
    "P1": _Spec(
        {"text": ("pain",)},
        ("pain_min", "pain_max", "acetaminophen_count", "acetaminophen_mg", "meloxicam_mg"),
    ),
    "P2": _Spec({"text": ("pain",)}, ("pain_min", "pain_max", "otfc_mcg", "repeat_min")),
    "P3": _Spec({"text": ("pain", "why")}, ("pain_min", "repeat_min")),
    "P4": _Spec({"text": ("why",)}),
    "A1": _Spec({"text": ("sites",)}, ("moxifloxacin_mg", "ertapenem_g")),
    "A2": _Spec({"text": ("sites", "missing")}, ("moxifloxacin_mg",)),
    "B1": _Spec(
        {
            "text": ("nines", "face"),
            "text_small": ("tbsa", "estimated", "face"),
            "text_fluids": ("tbsa", "estimated", "rate_ml_h", "weight", "face"),
            "note_estimated": (),
            "note_weight_unknown": (),
            "note_weight_known": ("weight_kg",),
            "note_weight_extra": ("weight_kg", "extra"),
            "note_weight_low": ("weight_kg",),
            "note_face": (),
        },
        (
            *("fluid_above_tbsa", "ml_h_per_tbsa", "weight_min_kg", "weight_base_max_kg"),
            *("extra_ml_h", "extra_per_kg"),
        ),
        ("severity_fluids",),
    ),
    "E1": _Spec(
        {"text": _EVAC, "text_overdue": _EVAC},
        ("warn_before_min",),
        ("severity_near", "severity_overdue"),
    ),
}
RULE_IDS = tuple(_SPECS)
"""Every rule the code implements, in evaluation (and prompt) order."""

_VOCABULARY_GROUPS = (
    "torso_sites", "chest_sites", "junctional_sites", "head_sites", "face_sites", "eye_sites",
    "arm_sites", "leg_sites", "right_words", "left_words", "both_words", "penetrating_kinds",
    "amputation_kinds", "open_kinds", "open_chest_kinds", "fracture_kinds", "burn_kinds",
    "tbi_kinds", "significant_tbi_kinds", "penetrating_mechanisms", "blast_mechanisms",
    "burn_mechanisms", "no_bleeding_findings", "airway_clear_findings", "breathing_normal_findings",
    "breath_sound_findings", "resp_distress_findings", "severe_bleeding_findings",
    "airway_problem_findings", "posturing_findings", "herniation_pupils", "pulse_absent_words",
    "pulse_weak_words", "pulse_other_sites", "radial_words", "hemostatic_dressings",
    "junctional_devices", "chest_seal_values", "decompression_values", "hypothermia_values",
    "eye_shield_values", "splint_values", "blood_products", "crystalloids", "txa_names",
    "calcium_names", "antibiotic_names", "opioid_ketamine_names", "otfc_names", "ketamine_names",
    "cwmp_names", "analgesic_names"
)  # fmt: skip


def normalise_words(text: str) -> str:
    """Lower case, apostrophes dropped, every other non-alphanumeric run a single space."""
    return " ".join(_NON_ALNUM.sub(" ", text.lower().replace("'", "").replace("’", "")).split())


@dataclass(frozen=True)
class Thresholds:
    """Vital-sign values beyond which a reading is abnormal (strict comparisons)."""

    spo2_below: float
    """SpO2 % below this is abnormal."""
    systolic_below: float
    """Systolic BP (mmHg) below this is a shock sign."""
    heart_rate_above: float
    """Pulse per minute above this is a shock sign."""
    resp_rate_above: float
    """Respiratory rate above this is respiratory distress."""
    resp_rate_below: float
    """Respiratory rate below this is respiratory depression."""


@dataclass(frozen=True)
class Vocabulary:
    """Word lists that classify free-text fact fields (sites, kinds, names) into rule groups."""

    groups: Mapping[str, tuple[str, ...]]
    """Group name to its words and phrases, normalised by `normalise_words`."""

    def has(self, group: str, text: Scalar) -> bool:
        """`text` contains one of the group's words or phrases as whole words."""
        if text is None or isinstance(text, bool):
            return False
        padded = f" {normalise_words(str(text))} "
        return any(f" {word} " in padded for word in self.groups[group])


@dataclass(frozen=True)
class Rule:
    """One rule table of the rules file: its id, title, severity, numbers and templates."""

    id: str
    title: str
    severity: str
    """Default severity of the rule's prompts."""
    trigger_note: str
    """What in the record fires the rule (documentation, shown to reviewers)."""
    params: Mapping[str, Any]
    """Every other key of the table: numbers, word lists, tables, templates, severity_*."""
    enabled: bool = True

    def number(self, key: str) -> float:
        """A numeric parameter."""
        return float(self.params[key])

    def level(self, key: str) -> str:
        """A severity parameter ("severity" is the default one)."""
        return self.severity if key == "severity" else str(self.params[key])

    def table(self, key: str) -> Mapping[str, float]:
        """A table of numbers (rule_of_nines, window_h)."""
        table: Mapping[str, float] = self.params[key]
        return table

    def render(self, key: str, **fields: object) -> str:
        """A template filled with the rule's parameters and the given run-time fields."""
        values = {name: _display(value) for name, value in self.params.items()}
        values.update({name: _display(value) for name, value in fields.items()})
        return str(self.params[key]).format_map(values)


@dataclass(frozen=True)
class Rules:
    """A loaded, validated rules file."""

    version: str
    guideline_date: str
    """Date of the TCCC guidelines the file encodes (YYYY-MM-DD)."""
    guideline: str
    review_note: str
    thresholds: Thresholds
    vocabulary: Vocabulary
    rules: tuple[Rule, ...]
    source: str
    """Where the file was read from."""

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


@dataclass(frozen=True, slots=True)
class Prompt:
    """One decision-support prompt for one casualty, with the evidence that triggered it."""

    rule: str
    title: str
    text: str
    casualty: str
    triggers: tuple[Evidence, ...]
    """Evidence of the facts that triggered the prompt, in the order they were found."""
    deadline: str | None = None
    """HHMM clock time of the prompt's deadline; None without one or without a clock anchor."""
    deadline_s: float | None = None
    """Session seconds of the deadline."""
    severity: str = "info"
    """info, warning or urgent."""


@dataclass(frozen=True, slots=True)
class Sign:
    """One observed sign or finding: a short label and the evidence for it."""

    label: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Reading:
    """One vital-sign reading of a column: its value, evidence and where it was taken."""

    value: Scalar
    evidence: Evidence | None
    location: str | None = None
    quality: str | None = None
    """How a counted pulse felt ("pulse 130 and weak"): the fact's `quality` field."""


# --- loading ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def bundled_rules() -> Rules:
    """The rules file shipped with the package (read once)."""
    text = resources.files("tccc").joinpath(_BUNDLED).read_text(encoding="utf-8")
    return parse_rules(text, f"tccc/{_BUNDLED}")


def load_rules(path: str | Path | None = None) -> Rules:
    """Rules from a TOML file; the bundled rules when `path` is None."""
    if path is None:
        return bundled_rules()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc.strerror}") from exc
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str = "rules") -> Rules:
    """Parse and validate a rules file's text (see tccc/data/tccc_rules.toml for the layout)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    try:
        return _rules_from(data, source)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: invalid rules file ({exc!r})") from exc


def _rules_from(data: Mapping[str, Any], source: str) -> Rules:
    for key in ("version", "guideline_date", "guideline", "review_note"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ConfigError(f"{source}: `{key}` must be a non-empty string")
    if not _DATE.match(data["guideline_date"]):
        raise ConfigError(f"{source}: guideline_date must be YYYY-MM-DD")
    th = data["thresholds"]
    thresholds = Thresholds(
        *(_positive(th[k], f"thresholds.{k}", source) for k in Thresholds.__dataclass_fields__)
    )
    vocab = data["vocabulary"]
    groups: dict[str, tuple[str, ...]] = {}
    for name, words in vocab.items():
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ConfigError(f"{source}: vocabulary.{name} must be a list of strings")
        groups[name] = tuple(normalise_words(w) for w in words if normalise_words(w))
    missing = [g for g in _VOCABULARY_GROUPS if not groups.get(g)]
    if missing:
        raise ConfigError(f"{source}: vocabulary is missing {', '.join(missing)}")
    tables: Mapping[str, Mapping[str, Any]] = data["rules"]
    unknown = sorted(set(tables) - set(_SPECS))
    if unknown:
        raise ConfigError(f"{source}: rules {', '.join(unknown)} are not implemented")
    rules = tuple(_rule_from(rule_id, tables.get(rule_id), source) for rule_id in RULE_IDS)
    _check_nines(rules[RULE_IDS.index("B1")], groups, source)
    if not isinstance(rules[RULE_IDS.index("E1")].params.get("window_h"), Mapping):
        raise ConfigError(f"{source}: rules.E1.window_h must be a table of hours by category")
    return Rules(
        version=data["version"],
        guideline_date=data["guideline_date"],
        guideline=data["guideline"],
        review_note=data["review_note"],
        thresholds=thresholds,
        vocabulary=Vocabulary(MappingProxyType(groups)),
        rules=rules,
        source=source,
    )


def _positive(value: Any, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{source}: {name} must be a positive number")
    return float(value)


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


def _rule_from(rule_id: str, table: Mapping[str, Any] | None, source: str) -> Rule:
    where = f"{source}: rules.{rule_id}"
    if table is None:
        raise ConfigError(f"{where} is missing")
    if table.get("id") != rule_id:
        raise ConfigError(f"{where}: id must be {rule_id!r}")
    for key in ("title", "text", "trigger_note"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise ConfigError(f"{where}: `{key}` must be a non-empty string")
    spec = _SPECS[rule_id]
    params = {k: _frozen(v) for k, v in table.items() if k not in _RULE_KEYS}
    for key in spec.numbers:
        _positive(params.get(key), key, where)
    for key, value in params.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            _positive(value, key, where)
        elif isinstance(value, Mapping):
            for name, number in value.items():
                _positive(number, f"{key}.{name}", where)
    for key in ("severity", *spec.severities, *(k for k in params if k.startswith("severity"))):
        if (table.get(key) if key == "severity" else params.get(key)) not in SEVERITIES:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(SEVERITIES)}")
    rule = Rule(
        rule_id,
        table["title"],
        table["severity"],
        table["trigger_note"],
        MappingProxyType(params),
        bool(table.get("enabled", True)),
    )
    for key in (*spec.templates, *(k for k in params if k.startswith(("text", "note_")))):
        if not isinstance(params.get(key), str):
            raise ConfigError(f"{where}: template `{key}` is missing")
        try:
            rule.render(key, **dict.fromkeys(spec.templates.get(key, ()), "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"{where}.{key}: unknown placeholder {exc}") from exc
    return rule


_RULE_KEYS = frozenset({"id", "title", "severity", "trigger_note", "enabled"})
# Item kinds that a scene record (facts about the whole incident) gives every casualty.
_SCENE_KINDS = frozenset({"mechanism"})


def _check_nines(rule: Rule, groups: Mapping[str, tuple[str, ...]], source: str) -> None:
    """The rule of nines adds up to 100 % (paired regions counted twice) and has site words."""
    nines = rule.table("rule_of_nines")
    paired = set(rule.params.get("paired", ()))
    total = sum(float(v) * (2 if k in paired else 1) for k, v in nines.items())
    if abs(total - 100) > 1e-6:
        raise ConfigError(f"{source}: rules.B1.rule_of_nines adds up to {total:g} %, not 100 %")
    for region in nines:
        if not groups.get(f"region_{region}"):
            raise ConfigError(f"{source}: vocabulary.region_{region} is missing")


# --- reading fact values ---------------------------------------------------------------------


def _display(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(_display(v) for v in value)
    return str(value)


def _number(value: Scalar) -> float | None:
    """A number from a fact value: 130, 84.0, "84%", "7/10" (the first number)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER.search(value)
    return float(match.group()) if match else None


def _avpu(value: Scalar) -> str | None:
    """A, V, P or U from a recorded AVPU value ("V", "verbal", "responds to pain")."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if text.upper() in _AVPU_RANK:
        return text.upper()
    for word in normalise_words(text).split():
        if word in _AVPU_WORDS:
            return _AVPU_WORDS[word]
    return None


def _truthy(value: Scalar) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "yes", "1"))


def _text(value: Scalar) -> str:
    return "" if value is None else str(value)


def _dedupe(evidence: Iterable[Evidence | None]) -> tuple[Evidence, ...]:
    seen: dict[Evidence, None] = {}
    for item in evidence:
        if item is not None:
            seen.setdefault(item, None)
    return tuple(seen)


def _labels(signs: Iterable[Sign]) -> str:
    return ", ".join(dict.fromkeys(s.label for s in signs))


def _grouped(name: str, signs: list[Sign]) -> list[Sign]:
    """One sign "name (a, b)" for several signs of one kind; none when there are none."""
    if not signs:
        return []
    return [Sign(f"{name} ({_labels(signs)})", _dedupe(e for s in signs for e in s.evidence))]


def _item_sign(item: Item, label: str) -> Sign:
    return Sign(label, tuple(item.evidence))


# --- observations ----------------------------------------------------------------------------


class Observations:
    """What one casualty record shows, classified with the rules file's word lists.

    `scene` is the record of facts about the whole incident (the analyzer's "*" casualty):
    its mechanisms and time of injury apply to this casualty too. Computed on demand and
    cached; never changes either record.
    """

    def __init__(
        self, record: CasualtyRecord, rules: Rules, scene: CasualtyRecord | None = None
    ) -> None:
        self.record = record
        self.rules = rules
        self.scene = scene if scene is not record else None
        self.vocab = rules.vocabulary
        self.facts_by_id: dict[int, Fact] = {f.id: f for f in record.facts}
        if self.scene is not None:
            for fact in self.scene.facts:
                self.facts_by_id.setdefault(fact.id, fact)

    def has(self, group: str, text: Scalar) -> bool:
        """The vocabulary group matches the text."""
        return self.vocab.has(group, text)

    # Items ------------------------------------------------------------------------------------

    def items(self, kind: str, group: str | None = None, *keys: str) -> list[Item]:
        """Items of one kind (scene mechanisms included), optionally only those whose `keys`
        fields match `group`."""
        found = self.record.of_kind(kind)
        if self.scene is not None and kind in _SCENE_KINDS:
            found = self.scene.of_kind(kind) + found
        if group is None:
            return found
        return [i for i in found if any(self.has(group, i.data.get(k)) for k in keys)]

    @cached_property
    def penetrating_mechanism(self) -> bool:
        """A penetrating mechanism (GSW, fragments, blast) is recorded."""
        return bool(self.items("mechanism", "penetrating_mechanisms", "value"))

    @cached_property
    def blast(self) -> list[Item]:
        """Blast mechanisms."""
        return self.items("mechanism", "blast_mechanisms", "value")

    def site(self, item: Item) -> Scalar:
        """An injury's site (or a finding's value)."""
        return item.data.get("site")

    def kind(self, item: Item) -> Scalar:
        """An injury's kind."""
        return item.data.get("kind")

    def penetrating(self, injury: Item) -> bool:
        """Penetrating by its kind, or of no stated kind after a penetrating mechanism."""
        kind = self.kind(injury)
        if self.has("penetrating_kinds", kind):
            return True
        return not _text(kind).strip() and self.penetrating_mechanism

    def open_wound(self, injury: Item) -> bool:
        """An open wound: penetrating, an amputation or an open kind (not a burn, not closed)."""
        kind = self.kind(injury)
        return (
            self.penetrating(injury)
            or self.has("amputation_kinds", kind)
            or (self.has("open_kinds", kind) and not self.has("burn_kinds", kind))
        )

    def label(self, item: Item) -> str:
        """Short description of an injury, finding or tourniquet."""
        if item.kind == "tourniquet":
            return f"tourniquet {_text(item.data.get('limb')) or '(limb not stated)'}"
        if item.kind == "finding":
            side = _text(item.data.get("side"))
            return f"{_text(item.data.get('value'))}{f' ({side})' if side else ''}"
        words = [_text(self.kind(item)), _text(self.site(item))]
        return " ".join(w for w in words if w) or item.kind

    @cached_property
    def injuries(self) -> list[Item]:
        """Injury items."""
        return self.items("injury")

    @cached_property
    def findings(self) -> list[Item]:
        """Finding items that are not negative findings ("no massive bleeding")."""
        negative = ("no_bleeding_findings", "airway_clear_findings", "breathing_normal_findings")
        return [
            f
            for f in self.items("finding")
            if not any(self.has(g, f.data.get("value")) for g in negative)
        ]

    def negative_findings(self, group: str) -> list[Item]:
        """Findings that rule a problem out (group: no_bleeding_findings, ...)."""
        return self.items("finding", group, "value")

    def found(self, group: str) -> list[Item]:
        """Positive findings matching a vocabulary group."""
        return [f for f in self.findings if self.has(group, f.data.get("value"))]

    @cached_property
    def head_injuries(self) -> list[Item]:
        """Injuries at a head site (burns aside) or of a head-injury kind (TBI, concussion)."""
        return [
            i
            for i in self.injuries
            if self.has("tbi_kinds", self.kind(i))
            or (self.has("head_sites", self.site(i)) and not self.has("burn_kinds", self.kind(i)))
        ]

    @cached_property
    def significant_head_injuries(self) -> list[Item]:
        """Head injuries that are penetrating, TBI or a skull fracture."""
        return [
            i
            for i in self.head_injuries
            if self.penetrating(i) or self.has("significant_tbi_kinds", self.kind(i))
        ]

    @cached_property
    def torso_injuries(self) -> list[Item]:
        """Injuries at a torso site."""
        return [i for i in self.injuries if self.has("torso_sites", self.site(i))]

    @cached_property
    def penetrating_torso(self) -> list[Item]:
        """Penetrating torso injuries."""
        return [i for i in self.torso_injuries if self.penetrating(i)]

    @cached_property
    def open_chest(self) -> list[Item]:
        """Open or sucking chest wounds (injuries and findings)."""
        injuries = [
            i
            for i in self.injuries
            if self.has("open_chest_kinds", self.kind(i))
            or (self.has("chest_sites", self.site(i)) and self.open_wound(i))
        ]
        return injuries + self.found("open_chest_kinds")

    @cached_property
    def junctional_wounds(self) -> list[Item]:
        """Open wounds at a junctional site."""
        return [
            i
            for i in self.injuries
            if self.has("junctional_sites", self.site(i)) and self.open_wound(i)
        ]

    @cached_property
    def amputations(self) -> list[Item]:
        """Amputations."""
        return [i for i in self.injuries if self.has("amputation_kinds", self.kind(i))]

    @cached_property
    def open_wounds(self) -> list[Item]:
        """Open combat wounds (burns alone are not)."""
        return [i for i in self.injuries if self.open_wound(i)]

    @cached_property
    def eye_wounds(self) -> list[Item]:
        """Eye injuries that are penetrating, open or of unstated kind (suspected)."""
        return [
            i
            for i in self.injuries
            if self.has("eye_sites", self.site(i))
            and (self.open_wound(i) or not _text(self.kind(i)).strip())
        ]

    @cached_property
    def burn_injuries(self) -> list[Item]:
        """Injuries of a burn kind."""
        return [i for i in self.injuries if self.has("burn_kinds", self.kind(i))]

    @cached_property
    def fractures(self) -> list[Item]:
        """Injuries of a fracture kind."""
        return [i for i in self.injuries if self.has("fracture_kinds", self.kind(i))]

    @cached_property
    def tourniquets(self) -> list[Item]:
        """Every tourniquet, converted or removed ones included."""
        return self.items("tourniquet")

    def tourniquet_off(self, tourniquet: Item) -> bool:
        """The tourniquet was converted or removed."""
        return "converted" in tourniquet.data or "removed" in tourniquet.data

    @cached_property
    def hemostatic_dressings(self) -> list[Item]:
        """Hemostatic dressings."""
        return self.items("dressing", "hemostatic_dressings", "value", "product")

    @cached_property
    def junctional_tourniquets(self) -> list[Item]:
        """Junctional tourniquets (by category or device)."""
        return self.items("tourniquet", "junctional_devices", "category", "type")

    def medications(self, group: str) -> list[Item]:
        """Medications whose name (or category) matches a vocabulary group."""
        return self.items("medication", group, "name", "category")

    def treatments(self, group: str) -> list[Item]:
        """Treatments whose value matches a vocabulary group."""
        return self.items("treatment", group, "value")

    @cached_property
    def blood_products(self) -> list[Item]:
        """Fluids that are blood products (crystalloids checked first: Plasma-Lyte)."""
        return [
            f
            for f in self.items("fluid")
            if self.has("blood_products", f.data.get("name"))
            and not self.has("crystalloids", f.data.get("name"))
        ]

    @cached_property
    def severe_bleeding(self) -> list[Sign]:
        """Tourniquets, hemostatic dressings, and severe-bleeding injuries or findings."""
        signs = [_item_sign(t, self.label(t)) for t in self.tourniquets]
        signs += [_item_sign(d, "hemostatic dressing") for d in self.hemostatic_dressings]
        signs += [
            _item_sign(i, self.label(i))
            for i in self.injuries
            if self.has("severe_bleeding_findings", self.kind(i))
        ]
        signs += [_item_sign(f, self.label(f)) for f in self.found("severe_bleeding_findings")]
        return signs

    @cached_property
    def at_risk(self) -> list[Sign]:
        """Significant risk of shock: amputation, penetrating torso trauma, severe bleeding."""
        signs = [_item_sign(i, self.label(i)) for i in self.amputations + self.penetrating_torso]
        return signs + self.severe_bleeding

    @cached_property
    def trauma(self) -> list[Sign]:
        """Anything that says the casualty is a trauma or burn casualty."""
        kinds = ("injury", "mechanism", "burn", "tourniquet", "dressing")
        return [_item_sign(i, i.kind) for kind in kinds for i in self.items(kind)]

    def limb(self, text: Scalar) -> tuple[str | None, str | None]:
        """(side, part) of a limb description: ("right", "leg") for "R Leg" or "right thigh"."""
        side = "right" if self.has("right_words", text) else None
        side = "left" if side is None and self.has("left_words", text) else side
        part = "arm" if self.has("arm_sites", text) else None
        part = "leg" if part is None and self.has("leg_sites", text) else part
        return side, part

    # Vital signs ------------------------------------------------------------------------------

    @cached_property
    def columns(self) -> list[dict[str, Reading]]:
        """Each vitals column's readings, oldest first, with a derived "radial" reading."""
        columns = []
        for column in self.record.vitals:
            readings: dict[str, Reading] = {}
            for sign, value in column.values.items():
                fact = self.facts_by_id.get(column.fact_ids.get(sign, -1))
                location = fact.data.get("location") if fact is not None else None
                if sign == "pulse" and not location:
                    location = column.location
                where = None if location is None else str(location)
                quality = fact.data.get("quality") if fact is not None else None
                feel = None if quality is None else str(quality)
                readings[sign] = Reading(value, column.evidence.get(sign), where, feel)
            radial = self._radial(readings)
            if radial is not None:
                readings["radial"] = radial
            columns.append(readings)
        return columns

    def _radial(self, readings: Mapping[str, Reading]) -> Reading | None:
        """The radial pulse of one column: "absent", "weak" or "present", or None if unknown."""
        for sign in ("pulse_quality", "pulse_location"):
            reading = readings.get(sign)
            if reading is None:
                continue
            where = f"{reading.location or ''} {_text(reading.value)}"
            if self.has("pulse_other_sites", where) and not self.has("radial_words", where):
                continue  # a carotid or pedal pulse says nothing about the radial one
            status = "present"
            if self.has("pulse_absent_words", reading.value):
                status = "absent"
            elif self.has("pulse_weak_words", reading.value):
                status = "weak"
            return Reading(status, reading.evidence, "radial")
        pulse = readings.get("pulse")
        if pulse is None:
            return None
        radial = self.has("radial_words", pulse.location)
        if pulse.quality and (radial or not pulse.location):
            weak = self.has("pulse_weak_words", pulse.quality)
            return Reading("weak" if weak else "present", pulse.evidence, "radial")
        return Reading("present", pulse.evidence, "radial") if radial else None

    @cached_property
    def latest(self) -> dict[str, Reading]:
        """The latest reading of each sign."""
        latest: dict[str, Reading] = {}
        for column in self.columns:
            latest.update(column)
        return latest

    def value(self, sign: str) -> float | None:
        """The latest numeric value of a sign (systolic for bp)."""
        reading = self.latest.get(sign)
        return None if reading is None else _number(reading.value)

    def evidence(self, sign: str) -> tuple[Evidence, ...]:
        """The evidence of the latest reading of a sign."""
        reading = self.latest.get(sign)
        return _dedupe([reading.evidence]) if reading is not None else ()

    @cached_property
    def avpu(self) -> str | None:
        """The latest AVPU letter."""
        reading = self.latest.get("avpu")
        return None if reading is None else _avpu(reading.value)

    def shock_signs(self, readings: Mapping[str, Reading]) -> list[Sign]:
        """Shock signs in a set of readings (AVPU counts only without a head injury)."""
        th = self.rules.thresholds
        signs = []
        radial = readings.get("radial")
        if radial is not None and radial.value in ("weak", "absent"):
            signs.append(Sign(f"{radial.value} radial pulse", _dedupe([radial.evidence])))
        avpu = readings.get("avpu")
        letter = None if avpu is None else _avpu(avpu.value)
        if avpu is not None and letter not in (None, "A") and not self.head_injuries:
            signs.append(Sign(f"AVPU {letter}", _dedupe([avpu.evidence])))
        for sign, label, low, high in (
            ("bp", "systolic", th.systolic_below, None),
            ("pulse", "pulse", None, th.heart_rate_above),
        ):
            reading = readings.get(sign)
            number = None if reading is None else _number(reading.value)
            if number is None or reading is None:
                continue
            if (low is not None and number < low) or (high is not None and number > high):
                signs.append(Sign(f"{label} {_display(number)}", _dedupe([reading.evidence])))
        return signs

    @cached_property
    def shock_now(self) -> list[Sign]:
        """Shock signs in the latest reading of each sign."""
        return self.shock_signs(self.latest)

    @cached_property
    def shock_ever(self) -> list[Sign]:
        """Shock signs in any column."""
        return [s for column in self.columns for s in self.shock_signs(column)]

    @cached_property
    def resp_distress(self) -> list[Sign]:
        """Respiratory rate outside the thresholds (latest) or a respiratory-distress finding."""
        th = self.rules.thresholds
        signs = []
        rate = self.value("resp_rate")
        if rate is not None and (rate > th.resp_rate_above or rate < th.resp_rate_below):
            signs.append(Sign(f"respiratory rate {_display(rate)}", self.evidence("resp_rate")))
        found = self.found("resp_distress_findings")
        return signs + [_item_sign(f, self.label(f)) for f in found]

    @cached_property
    def avpu_recorded(self) -> bool:
        """Any AVPU reading is recorded."""
        return any("avpu" in column for column in self.columns)

    # Times ------------------------------------------------------------------------------------

    def stated_s(self, item: Item) -> float:
        """Session time when the item was first stated."""
        fact = self.facts_by_id.get(item.fact_ids[0]) if item.fact_ids else None
        return self.record.first_s if fact is None else fact.session_s

    def item_time_s(self, item: Item, clock: SessionClock) -> tuple[float, bool]:
        """Session time of the item's spoken time (True), else of when it was stated (False)."""
        spoken = clock.to_session_s(item.data.get("time"))
        return (spoken, True) if spoken is not None else (self.stated_s(item), False)

    @cached_property
    def live_facts(self) -> list[Fact]:
        """The record's facts still in force."""
        return live_facts(self.record.facts)


def same_limb(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> bool:
    """Limbs that may be the same (`Observations.limb` pairs): unknown sides or parts match."""
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def observe(
    record: CasualtyRecord, rules: Rules | None = None, scene: CasualtyRecord | None = None
) -> Observations:
    """Observations of a record (with the incident's scene record) under a rules file."""
    return Observations(record, rules or bundled_rules(), scene)


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    obs: Observations
    now_s: float
    clock: SessionClock

    def when(self, session_s: float) -> str:
        """A session time as HHMM when the clock is anchored, else as session h:mm."""
        clock = self.clock.to_clock(session_s)
        if clock is not None:
            return clock
        minutes = math.floor(session_s / 60 + 1e-9)
        sign = "-" if minutes < 0 else ""
        return f"session {sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"

    def prompt(
        self,
        rule: Rule,
        text: str,
        triggers: Iterable[Evidence | None],
        severity: str = "severity",
        deadline_s: float | None = None,
    ) -> Prompt:
        """A prompt of `rule` for this record (severity names a severity key of the rule)."""
        return Prompt(
            rule=rule.id,
            title=rule.title,
            text=text,
            casualty=self.obs.record.label,
            triggers=_dedupe(triggers),
            deadline=None if deadline_s is None else self.clock.to_clock(deadline_s),
            deadline_s=deadline_s,
            severity=rule.level(severity),
        )


def _evidence(signs: Iterable[Sign]) -> list[Evidence]:
    return [e for s in signs for e in s.evidence]


def _item_evidence(items: Iterable[Item]) -> list[Evidence]:
    return [e for i in items for e in i.evidence]


def _m1(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    prompts = []
    tourniquets = obs.tourniquets
    for index, tq in enumerate(tourniquets):
        hasty = _truthy(tq.data.get("high_and_tight")) or _truthy(tq.data.get("over_clothing"))
        if not hasty or obs.tourniquet_off(tq):
            continue
        limb = obs.limb(tq.data.get("limb"))
        replaced = any(
            not _truthy(later.data.get("high_and_tight"))
            and not _truthy(later.data.get("over_clothing"))
            and same_limb(limb, obs.limb(later.data.get("limb")))
            for later in tourniquets[index + 1 :]
        )
        if not replaced:
            text = rule.render("text", limb=_text(tq.data.get("limb")) or "(limb not stated)")
            prompts.append(ctx.prompt(rule, text, tq.evidence))
    return prompts


def _m2(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    convert_s = rule.number("conversion_h") * 3600
    never_s = rule.number("never_convert_h") * 3600
    warn_s = rule.number("warn_before_min") * 60
    prompts = []
    for tq in obs.tourniquets:
        if obs.tourniquet_off(tq):
            continue
        applied_s, spoken = obs.item_time_s(tq, ctx.clock)
        elapsed = ctx.now_s - applied_s
        limb = obs.limb(tq.data.get("limb"))
        holds = [
            _item_sign(a, "amputation")
            for a in obs.amputations
            if same_limb(limb, obs.limb(obs.site(a)))
        ]
        holds += _grouped("shock", obs.shock_now)
        fields: dict[str, object] = {
            "limb": _text(tq.data.get("limb")) or "(limb not stated)",
            "applied": ctx.when(applied_s),
            "time_note": "" if spoken else rule.render("note_time_unstated"),
        }
        triggers = [*tq.evidence, *_evidence(holds)]
        if elapsed >= never_s:
            text = rule.render("text_never", **fields)
            prompts.append(ctx.prompt(rule, text, tq.evidence, "severity_never"))
        elif holds:
            text = rule.render("text_hold", reason=_labels(holds), **fields)
            prompts.append(ctx.prompt(rule, text, triggers, "severity_hold"))
        else:
            late = elapsed >= convert_s
            deadline_s = applied_s + (never_s if late else convert_s)
            severity = "severity_late" if late else "severity"
            if ctx.now_s >= deadline_s - warn_s:
                severity += "_near"
            text = rule.render(
                "text_late" if late else "text", deadline=ctx.when(deadline_s), **fields
            )
            prompts.append(ctx.prompt(rule, text, tq.evidence, severity, deadline_s))
    return prompts


def _m3(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.junctional_wounds
    if not wounds or obs.hemostatic_dressings or obs.junctional_tourniquets:
        return []
    text = rule.render("text", sites=", ".join(obs.label(w) for w in wounds))
    return [ctx.prompt(rule, text, _item_evidence(wounds))]


def _r1(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    th = obs.rules.thresholds
    trauma = [_item_sign(i, "torso trauma") for i in obs.torso_injuries]
    trauma += [_item_sign(m, "blast trauma") for m in obs.blast]
    if not trauma or obs.items("breathing", "decompression_values", "value"):
        return []
    signs = []
    rate, spo2 = obs.value("resp_rate"), obs.value("spo2")
    if rate is not None and rate > th.resp_rate_above:
        signs.append(Sign(f"respiratory rate {_display(rate)}", obs.evidence("resp_rate")))
    if spo2 is not None and spo2 < th.spo2_below:
        signs.append(Sign(f"SpO2 {_display(spo2)}", obs.evidence("spo2")))
    found = obs.found("breath_sound_findings") + obs.found("resp_distress_findings")
    signs += [_item_sign(f, obs.label(f)) for f in found]
    signs += _grouped("shock", obs.shock_now)
    if not signs:
        return []
    text = rule.render("text", trauma=_labels(trauma).capitalize(), signs=_labels(signs))
    return [ctx.prompt(rule, text, [*_evidence(trauma), *_evidence(signs)])]


def _r2(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.open_chest
    if not wounds or obs.items("breathing", "chest_seal_values", "value"):
        return []
    text = rule.render("text", sites=", ".join(obs.label(w) for w in wounds))
    return [ctx.prompt(rule, text, _item_evidence(wounds))]


def _c1(ctx: _Context, rule: Rule) -> list[Prompt]:
    signs = ctx.obs.shock_now
    if not signs:
        return []
    return [ctx.prompt(rule, rule.render("text", signs=_labels(signs)), _evidence(signs))]


def _injury_time(ctx: _Context) -> tuple[float, bool]:
    """Session time of injury (True), else of the earliest event known (False)."""
    obs = ctx.obs
    scene = obs.scene.time_of_injury if obs.scene is not None else None
    stated = ctx.clock.to_session_s(obs.record.time_of_injury or scene)
    if stated is not None:
        return stated, True
    times = [ctx.clock.to_session_s(f.data.get("time")) for f in obs.live_facts]
    return min([t for t in times if t is not None] + [obs.record.first_s]), False


def _c2(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if obs.medications("txa_names"):
        return []
    reasons = _grouped("shock signs", obs.shock_ever)
    reasons += [_item_sign(a, "amputation") for a in obs.amputations]
    reasons += [_item_sign(i, "penetrating torso trauma") for i in obs.penetrating_torso]
    reasons += _grouped("severe bleeding", obs.severe_bleeding)
    reasons += [_item_sign(i, "significant head injury") for i in obs.significant_head_injuries]
    if not reasons:
        return []
    injury_s, known = _injury_time(ctx)
    deadline_s = injury_s + rule.number("window_h") * 3600
    if ctx.now_s > deadline_s:
        return []  # past the window: TXA is no longer indicated
    near = ctx.now_s >= deadline_s - rule.number("warn_before_min") * 60
    text = rule.render(
        "text",
        injury=ctx.when(injury_s),
        injury_note="" if known else rule.render("note_injury_unknown"),
        deadline=ctx.when(deadline_s),
        reasons=_labels(reasons),
    )
    severity = "severity_near" if near else "severity"
    return [ctx.prompt(rule, text, _evidence(reasons), severity, deadline_s)]


def _c3(ctx: _Context, rule: Rule) -> list[Prompt]:
    signs = ctx.obs.shock_now
    if not signs or ctx.obs.blood_products:
        return []
    return [ctx.prompt(rule, rule.render("text", signs=_labels(signs)), _evidence(signs))]


def _c4(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if not obs.blood_products or obs.medications("calcium_names"):
        return []
    first = obs.blood_products[0]
    text = rule.render("text", product=_text(first.data.get("name")))
    return [ctx.prompt(rule, text, first.evidence)]


def _h1(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if not obs.trauma or obs.treatments("hypothermia_values"):
        return []
    return [ctx.prompt(rule, rule.render("text"), _evidence(obs.trauma))]


def _herniation(obs: Observations, rule: Rule) -> list[Sign]:
    signs = []
    pupils = obs.latest.get("pupils")
    if pupils is not None and obs.has("herniation_pupils", pupils.value):
        signs.append(Sign(f"pupils {_text(pupils.value)}", _dedupe([pupils.evidence])))
    signs += [_item_sign(f, obs.label(f)) for f in obs.found("posturing_findings")]
    # Falling consciousness: the latest AVPU worse than an earlier one, or GCS down from its best.
    avpu = [
        (r, _AVPU_RANK[letter])
        for c in obs.columns
        if (r := c.get("avpu")) is not None and (letter := _avpu(r.value)) is not None
    ]
    if len(avpu) > 1 and avpu[-1][1] > min(rank for _, rank in avpu[:-1]):
        signs.append(Sign("falling AVPU", _dedupe([avpu[-1][0].evidence])))
    gcs = [
        (r, score)
        for c in obs.columns
        if (r := c.get("gcs")) is not None and (score := _number(r.value)) is not None
    ]
    if len(gcs) > 1 and max(g for _, g in gcs[:-1]) - gcs[-1][1] >= rule.number("gcs_drop"):
        signs.append(Sign(f"GCS down to {_display(gcs[-1][1])}", _dedupe([gcs[-1][0].evidence])))
    return signs


def _h2(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    injuries = obs.head_injuries
    if not injuries:
        return []
    below = []
    spo2, systolic = obs.value("spo2"), obs.value("bp")
    if spo2 is not None and spo2 < rule.number("spo2_target_above"):
        below.append(Sign(f"SpO2 {_display(spo2)}", obs.evidence("spo2")))
    if systolic is not None and systolic < rule.number("systolic_target_min"):
        below.append(Sign(f"systolic {_display(systolic)}", obs.evidence("bp")))
    note = rule.render("note_below_target", values=_labels(below)) if below else ""
    herniation = _herniation(obs, rule)
    triggers = [*_item_evidence(injuries), *_evidence(below), *_evidence(herniation)]
    if herniation:
        text = rule.render("text_herniation", signs=_labels(herniation), below=note)
        return [ctx.prompt(rule, text, triggers, "severity_herniation")]
    severity = "severity_below_target" if below else "severity"
    return [ctx.prompt(rule, rule.render("text", below=note), triggers, severity)]


def _pain(obs: Observations, rule: Rule, upper: bool = True) -> float | None:
    """The latest pain score when it is in the rule's pain_min..pain_max range."""
    pain = obs.value("pain")
    if pain is None or pain < rule.number("pain_min"):
        return None
    return None if upper and pain > rule.number("pain_max") else pain


def _p1(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    pain = _pain(obs, rule)
    if pain is None or obs.avpu != "A" or obs.shock_now or obs.resp_distress:
        return []
    if obs.medications("cwmp_names") or obs.treatments("cwmp_names"):
        return []
    text = rule.render("text", pain=pain)
    return [ctx.prompt(rule, text, [*obs.evidence("pain"), *obs.evidence("avpu")])]


def _p2_applies(obs: Observations, rule: Rule) -> float | None:
    pain = _pain(obs, rule)
    if pain is None or obs.shock_now or obs.resp_distress or obs.at_risk:
        return None
    return None if obs.medications("otfc_names") else pain


def _p3_applies(obs: Observations, rule: Rule) -> tuple[float, list[Sign]] | None:
    pain = _pain(obs, rule, upper=False)
    why = obs.shock_now + obs.resp_distress + obs.at_risk
    if pain is None or not why or obs.medications("ketamine_names"):
        return None
    return pain, why


def _p2(ctx: _Context, rule: Rule) -> list[Prompt]:
    pain = _p2_applies(ctx.obs, rule)
    if pain is None:
        return []
    return [ctx.prompt(rule, rule.render("text", pain=pain), ctx.obs.evidence("pain"))]


def _p3(ctx: _Context, rule: Rule) -> list[Prompt]:
    found = _p3_applies(ctx.obs, rule)
    if found is None:
        return []
    pain, why = found
    text = rule.render("text", pain=pain, why=_labels(why))
    return [ctx.prompt(rule, text, [*ctx.obs.evidence("pain"), *_evidence(why)])]


def _p4(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if obs.avpu_recorded:
        return []
    given = obs.medications("opioid_ketamine_names")
    why = [_item_sign(m, f"{_text(m.data.get('name'))} recorded") for m in given]
    rules = obs.rules
    if _p2_applies(obs, rules.rule("P2")) is not None:
        why.append(Sign("OTFC suggested", obs.evidence("pain")))
    if _p3_applies(obs, rules.rule("P3")) is not None:
        why.append(Sign("ketamine suggested", obs.evidence("pain")))
    if not why:
        return []
    return [ctx.prompt(rule, rule.render("text", why=_labels(why)), _evidence(why))]


def _a1(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.open_wounds
    if not wounds or obs.medications("antibiotic_names"):
        return []
    text = rule.render("text", sites=", ".join(obs.label(w) for w in wounds))
    return [ctx.prompt(rule, text, _item_evidence(wounds))]


def _a2(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.eye_wounds
    missing = [] if obs.treatments("eye_shield_values") else ["eye shield"]
    missing += [] if obs.medications("antibiotic_names") else ["antibiotic"]
    if not wounds or not missing:
        return []
    sites = ", ".join(obs.label(w) for w in wounds)
    text = rule.render("text", sites=sites, missing=", ".join(missing))
    return [ctx.prompt(rule, text, _item_evidence(wounds))]


def _estimate_tbsa(obs: Observations, rule: Rule) -> float | None:
    """Rule-of-nines sum of the whole regions named in burn injury sites (paired per side)."""
    nines = rule.table("rule_of_nines")
    paired = set(rule.params.get("paired", ()))
    regions: set[tuple[str, str]] = set()
    for injury in obs.burn_injuries:
        site = obs.site(injury)
        region = next((r for r in nines if obs.has(f"region_{r}", site)), None)
        if region is None:
            continue
        if region not in paired:
            regions.add((region, ""))
            continue
        side, _ = obs.limb(site)
        # One limb unless "both"; an unstated side counts once.
        sides = ["right", "left"] if obs.has("both_words", site) else [side or "right"]
        regions.update((region, s) for s in sides)
    if not regions:
        return None
    return sum(float(nines[region]) for region, _ in regions)


def _b1(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    burn_items = obs.items("burn")
    mechanisms = obs.items("mechanism", "burn_mechanisms", "value")
    sources = burn_items + obs.burn_injuries + mechanisms
    if not sources:
        return []
    triggers = _item_evidence(sources)
    faces = [
        i
        for i in obs.burn_injuries
        if obs.has("face_sites", obs.site(i)) or obs.has("head_sites", obs.site(i))
    ]
    face = rule.render("note_face") if faces else ""
    stated = _number(burn_items[-1].data.get("tbsa")) if burn_items else None
    tbsa = stated if stated is not None else _estimate_tbsa(obs, rule)
    if tbsa is None:
        nines = rule.table("rule_of_nines")
        paired = set(rule.params.get("paired", ()))
        parts = [
            f"{'each ' if r in paired else ''}{r.replace('_', ' ')} {_display(float(v))}"
            for r, v in nines.items()
        ]
        return [ctx.prompt(rule, rule.render("text", nines=", ".join(parts), face=face), triggers)]
    estimated = "" if stated is not None else rule.render("note_estimated")
    if tbsa <= rule.number("fluid_above_tbsa"):
        text = rule.render("text_small", tbsa=tbsa, estimated=estimated, face=face)
        return [ctx.prompt(rule, text, triggers)]
    rate = tbsa * rule.number("ml_h_per_tbsa")
    weight_kg = _number(obs.record.identity.get("weight_kg"))
    if weight_kg is None:
        weight = rule.render("note_weight_unknown")
    elif weight_kg < rule.number("weight_min_kg"):
        weight = rule.render("note_weight_low", weight_kg=weight_kg)
    elif weight_kg <= rule.number("weight_base_max_kg"):
        weight = rule.render("note_weight_known", weight_kg=weight_kg)
    else:
        steps = math.floor(
            (weight_kg - rule.number("weight_base_max_kg")) / rule.number("extra_per_kg")
        )
        extra = steps * rule.number("extra_ml_h")
        rate += extra
        weight = rule.render("note_weight_extra", weight_kg=weight_kg, extra=extra)
    text = rule.render(
        "text_fluids", tbsa=tbsa, estimated=estimated, rate_ml_h=rate, weight=weight, face=face
    )
    if "weight_kg" in obs.record.identity_evidence:
        triggers.append(obs.record.identity_evidence["weight_kg"])
    return [ctx.prompt(rule, text, triggers, "severity_fluids")]


def _e1(ctx: _Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    category = obs.record.evac_category
    if not category:
        return []
    windows = {normalise_words(k): float(v) for k, v in rule.table("window_h").items()}
    window_h = windows.get(normalise_words(category))
    if window_h is None:
        return []
    stated = [f for f in obs.live_facts if f.kind == "evac"]
    start_s = stated[-1].session_s if stated else obs.record.first_s
    deadline_s = start_s + window_h * 3600
    fields = {"category": category, "window_h": window_h, "deadline": ctx.when(deadline_s)}
    triggers = [stated[-1].evidence] if stated else []
    if ctx.now_s > deadline_s:
        text = rule.render("text_overdue", **fields)
        return [ctx.prompt(rule, text, triggers, "severity_overdue", deadline_s)]
    near = ctx.now_s >= deadline_s - rule.number("warn_before_min") * 60
    severity = "severity_near" if near else "severity"
    return [ctx.prompt(rule, rule.render("text", **fields), triggers, severity, deadline_s)]


_EVALUATORS: dict[str, Callable[[_Context, Rule], list[Prompt]]] = {
    "M1": _m1, "M2": _m2, "M3": _m3, "R1": _r1, "R2": _r2, "C1": _c1, "C2": _c2, "C3": _c3,
    "C4": _c4, "H1": _h1, "H2": _h2, "P1": _p1, "P2": _p2, "P3": _p3, "P4": _p4, "A1": _a1,
    "A2": _a2, "B1": _b1, "E1": _e1,
}  # fmt: skip


def evaluate(
    record: CasualtyRecord,
    now_s: float,
    clock: SessionClock,
    rules: Rules | None = None,
    scene: CasualtyRecord | None = None,
) -> list[Prompt]:
    """The prompts for one casualty at session time `now_s`, in rule order (pure function).

    `clock` places spoken times on the session timeline (`SessionClock.from_facts` over the
    session's facts); `rules` defaults to the bundled rules file; `scene` is the record of
    facts about the whole incident (the analyzer's "*" label), whose mechanisms and time of
    injury apply to this casualty. The scene record is not a casualty: do not evaluate it.
    """
    ctx = _Context(observe(record, rules, scene), now_s, clock)
    prompts: list[Prompt] = []
    for rule in ctx.obs.rules.rules:
        if rule.enabled:
            prompts.extend(_EVALUATORS[rule.id](ctx, rule))
    return prompts
