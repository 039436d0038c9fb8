"""The versioned rules file (tccc/data/tccc_rules.toml): loading, validation and its types.

Every guideline number, word list and prompt text of the decision-support rules lives in the
rules file; `load_rules` reads and validates one against what the code implements (`RULE_IDS`
and the fields each rule's templates may use), so a bad file fails at load, not mid-session.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tccc.analysis.fact_values import display, normalise_words
from tccc.errors import ConfigError
from tccc.events import Scalar

SEVERITIES = ("info", "warning", "urgent")
"""Prompt severities, least to most pressing."""

_BUNDLED = "data/tccc_rules.toml"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
        values = {name: display(value) for name, value in self.params.items()}
        values.update({name: display(value) for name, value in fields.items()})
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
