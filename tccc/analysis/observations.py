"""What a casualty record says, classified with the rules file's word lists.

`observe(record, rules, scene)` gives the `Observations` the decision-support rules and the
MARCH-PAWS status read: injuries by kind and site, interventions, vital-sign readings, shock
and respiratory-distress signs, and when items were stated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from tccc.analysis.clock import SessionClock, live_facts
from tccc.analysis.fact_values import as_number, as_text, avpu_letter, dedupe, display
from tccc.analysis.record import CasualtyRecord, Item
from tccc.analysis.rules_file import Rules, bundled_rules
from tccc.events import Evidence, Fact, Scalar

# Item kinds that a scene record (facts about the whole incident) gives every casualty.
_SCENE_KINDS = frozenset({"mechanism"})


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


def labels(signs: Iterable[Sign]) -> str:
    """The signs' labels, comma-separated, each once."""
    return ", ".join(dict.fromkeys(s.label for s in signs))


def grouped(name: str, signs: list[Sign]) -> list[Sign]:
    """One sign "name (a, b)" for several signs of one kind; none when there are none."""
    if not signs:
        return []
    return [Sign(f"{name} ({labels(signs)})", dedupe(e for s in signs for e in s.evidence))]


def item_sign(item: Item, label: str) -> Sign:
    """A sign with this label and the item's evidence."""
    return Sign(label, tuple(item.evidence))


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
        return not as_text(kind).strip() and self.penetrating_mechanism

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
            return f"tourniquet {as_text(item.data.get('limb')) or '(limb not stated)'}"
        if item.kind == "finding":
            side = as_text(item.data.get("side"))
            return f"{as_text(item.data.get('value'))}{f' ({side})' if side else ''}"
        words = [as_text(self.kind(item)), as_text(self.site(item))]
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
            and (self.open_wound(i) or not as_text(self.kind(i)).strip())
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
        signs = [item_sign(t, self.label(t)) for t in self.tourniquets]
        signs += [item_sign(d, "hemostatic dressing") for d in self.hemostatic_dressings]
        signs += [
            item_sign(i, self.label(i))
            for i in self.injuries
            if self.has("severe_bleeding_findings", self.kind(i))
        ]
        signs += [item_sign(f, self.label(f)) for f in self.found("severe_bleeding_findings")]
        return signs

    @cached_property
    def at_risk(self) -> list[Sign]:
        """Significant risk of shock: amputation, penetrating torso trauma, severe bleeding."""
        signs = [item_sign(i, self.label(i)) for i in self.amputations + self.penetrating_torso]
        return signs + self.severe_bleeding

    @cached_property
    def trauma(self) -> list[Sign]:
        """Anything that says the casualty is a trauma or burn casualty."""
        kinds = ("injury", "mechanism", "burn", "tourniquet", "dressing")
        return [item_sign(i, i.kind) for kind in kinds for i in self.items(kind)]

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
            where = f"{reading.location or ''} {as_text(reading.value)}"
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
        return None if reading is None else as_number(reading.value)

    def evidence(self, sign: str) -> tuple[Evidence, ...]:
        """The evidence of the latest reading of a sign."""
        reading = self.latest.get(sign)
        return dedupe([reading.evidence]) if reading is not None else ()

    @cached_property
    def avpu(self) -> str | None:
        """The latest AVPU letter."""
        reading = self.latest.get("avpu")
        return None if reading is None else avpu_letter(reading.value)

    def shock_signs(self, readings: Mapping[str, Reading]) -> list[Sign]:
        """Shock signs in a set of readings (AVPU counts only without a head injury)."""
        th = self.rules.thresholds
        signs = []
        radial = readings.get("radial")
        if radial is not None and radial.value in ("weak", "absent"):
            signs.append(Sign(f"{radial.value} radial pulse", dedupe([radial.evidence])))
        avpu = readings.get("avpu")
        letter = None if avpu is None else avpu_letter(avpu.value)
        if avpu is not None and letter not in (None, "A") and not self.head_injuries:
            signs.append(Sign(f"AVPU {letter}", dedupe([avpu.evidence])))
        for sign, label, low, high in (
            ("bp", "systolic", th.systolic_below, None),
            ("pulse", "pulse", None, th.heart_rate_above),
        ):
            reading = readings.get(sign)
            number = None if reading is None else as_number(reading.value)
            if number is None or reading is None:
                continue
            if (low is not None and number < low) or (high is not None and number > high):
                signs.append(Sign(f"{label} {display(number)}", dedupe([reading.evidence])))
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
            signs.append(Sign(f"respiratory rate {display(rate)}", self.evidence("resp_rate")))
        found = self.found("resp_distress_findings")
        return signs + [item_sign(f, self.label(f)) for f in found]

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
