"""Error breakdown of the DD 1380 benchmark: missed and invented atoms per atom type and per
phenomenon of the narrations, so a regression shows where it is at a glance.

Atom types are the scorer's atom names (`score_dd1380.atoms`), vital signs split by sign
(`vital:pulse`). Phenomena are the tags of phenomena.json grouped by their prefix (`number`,
`negation`, `planned/not done`, ...), except `style:` tags, which stay one group per style. A case
counts towards every group it is tagged with, once; its errors are not split between its tags.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tccc.errors import TcccError

ATOM_ORDER = (
    "battle_roster",
    "last4",
    "last_name",
    "unit",
    "allergies",
    "evac_category",
    "time_of_injury",
    "mechanism",
    "injury_site",
    "tourniquet",
    "tourniquet_type",
    "tourniquet_time",
    "hemorrhage_dressings",
    "airway",
    "breathing",
    "other_treatments",
    "vital:pulse",
    "vital:bp",
    "vital:resp_rate",
    "vital:spo2",
    "vital:pain",
    "vital:avpu",
    "fluid",
    "fluid_volume",
    "med",
    "med_dose",
    "med_route",
)
"""Atom types in the order of the card (identity, injury, MARCH, vitals, fluids, medications)."""

UNTAGGED = "(untagged)"
"""The phenomenon group of cases phenomena.json does not tag."""

STYLE = "style"
"""The tag prefix kept per value: each narration style is its own group."""


@dataclass
class Tally:
    """Counts of one atom type or phenomenon: expected atoms, and those missed and invented."""

    cases: int = 0
    expected: int = 0
    missed: int = 0
    invented: int = 0

    @property
    def hits(self) -> int:
        """Expected atoms the export got right."""
        return self.expected - self.missed

    @property
    def predicted(self) -> int:
        """Atoms the export stated (right or invented)."""
        return self.hits + self.invented

    def add(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        self.cases += other.cases
        self.expected += other.expected
        self.missed += other.missed
        self.invented += other.invented

    def as_dict(self) -> dict[str, int]:
        """The counts as JSON."""
        return {
            "cases": self.cases,
            "expected": self.expected,
            "hits": self.hits,
            "missed": self.missed,
            "invented": self.invented,
        }


def atom_type(atom: Sequence[object]) -> str:
    """The type of a scorer atom: its name, and for a vital sign the sign (`vital:bp`)."""
    name = str(atom[0])
    return f"{name}:{atom[1]}" if name == "vital" and len(atom) > 1 else name


def parse_atom(text: str) -> tuple[object, ...]:
    """A scorer atom back from the text the scorer lists it as (`"('med', 'txa')"`)."""
    try:
        atom = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise TcccError(f"not a scorer atom: {text!r}") from exc
    if not isinstance(atom, tuple) or not atom:
        raise TcccError(f"not a scorer atom: {text!r}")
    return atom


def expected_types(
    atoms_of: Callable[[dict[str, Any]], Iterable[Sequence[object]]],
    expected: Mapping[str, Any],
) -> dict[str, int]:
    """How many atoms of each type an expected export holds (`atoms_of`: the scorer's atoms)."""
    counts = Counter(
        atom_type(atom) for cas in expected.get("casualties") or [] for atom in atoms_of(cas)
    )
    return dict(counts)


def tally_types(
    expected: Mapping[str, int], missed: Iterable[str], invented: Iterable[str]
) -> dict[str, Tally]:
    """Per atom type: expected, missed and invented counts of one scored export."""
    out = {kind: Tally(expected=n) for kind, n in expected.items()}
    for text in missed:
        out.setdefault(atom_type(parse_atom(text)), Tally()).missed += 1
    for text in invented:
        out.setdefault(atom_type(parse_atom(text)), Tally()).invented += 1
    for kind, tally in out.items():
        if tally.hits < 0:
            raise TcccError(f"more {kind} atoms missed than expected: the scores do not add up")
    return out


def tag_group(tag: str) -> str:
    """The group of a phenomenon tag: without its parenthesised detail, the prefix before ':'
    (a style keeps its value), or the whole tag where it has no prefix."""
    head = tag.split("(", 1)[0].strip() or tag.strip()
    prefix, colon, _ = head.partition(":")
    if not colon:
        return head
    return head if prefix.strip() == STYLE else prefix.strip()


def load_phenomena(path: Path) -> dict[str, list[str]]:
    """The phenomenon tags of each case id (phenomena.json: {case id: [tag, ...]})."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TcccError(f"cannot read phenomena from {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(tags, list) and all(isinstance(t, str) for t in tags) for tags in data.values()
    ):
        raise TcccError(f"{path} is not a map of case ids to lists of tags")
    return {str(case): list(tags) for case, tags in data.items()}


def breakdown(
    rows: Iterable[Mapping[str, Any]], phenomena: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """Missed and invented counts per atom type, phenomenon group and full tag, over scored rows.

    A row is one scored export: `case` (its case id), `expected_types`, `missed`, `invented`, and
    optionally the score's `hits`, checked against the hits per type.
    """
    atoms: dict[str, Tally] = {}
    groups: dict[str, Tally] = {}
    tags: dict[str, Tally] = {}
    total = Tally()
    for row in rows:
        per_type = tally_types(row["expected_types"], row["missed"], row["invented"])
        case = Tally(cases=1)
        for kind, tally in per_type.items():
            tally.cases = 1
            atoms.setdefault(kind, Tally()).add(tally)
            case.add(Tally(0, tally.expected, tally.missed, tally.invented))
        if "hits" in row and case.hits != row["hits"]:
            raise TcccError(f"{row['case']}: hits per atom type do not add up to the score's")
        total.add(case)
        case_tags = list((phenomena or {}).get(row["case"], ()))
        for group in dict.fromkeys(tag_group(t) for t in case_tags) or [UNTAGGED]:
            groups.setdefault(group, Tally()).add(case)
        for tag in dict.fromkeys(case_tags):
            tags.setdefault(tag, Tally()).add(case)
    return {
        "atoms": {k: atoms[k].as_dict() for k in _atom_order(atoms)},
        "phenomena": {k: groups[k].as_dict() for k in _group_order(groups)},
        "tags": {k: tags[k].as_dict() for k in sorted(tags)},
        "total": total.as_dict(),
    }


def _atom_order(kinds: Iterable[str]) -> list[str]:
    known = {k: i for i, k in enumerate(ATOM_ORDER)}
    return sorted(kinds, key=lambda k: (known.get(k, len(known)), k))


def _group_order(groups: Iterable[str]) -> list[str]:
    return sorted(groups, key=lambda g: (g == UNTAGGED, g.startswith(f"{STYLE}:"), g))


def format_breakdown(columns: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Tables of missed/invented per atom type and phenomenon, one column per source (text or a
    voice): each cell is `missed/invented`, beside the expected atoms of the first source."""
    if not columns:
        return ""
    lines: list[str] = []
    for section, title in (("atoms", "atom type"), ("phenomena", "phenomenon")):
        first = columns[0][1][section]
        keys = list(first) + [k for _, b in columns[1:] for k in b[section] if k not in first]
        lines.append(f"missed/invented per {title}:")
        lines.append(
            f"  {title:<46}{'cases':>6}{'exp':>6}" + "".join(f"{n:>11}" for n, _ in columns)
        )
        for key in keys:
            base = first.get(key, {})
            cells = []
            for _, b in columns:
                t = b[section].get(key)
                cells.append(f"{t['missed']}/{t['invented']}" if t else "-")
            lines.append(
                f"  {key[:46]:<46}{base.get('cases', 0):>6}{base.get('expected', 0):>6}"
                + "".join(f"{c:>11}" for c in cells)
            )
        if section == "atoms":
            t0 = columns[0][1]["total"]
            cells = [f"{b['total']['missed']}/{b['total']['invented']}" for _, b in columns]
            lines.append(
                f"  {'all atoms':<46}{t0['cases']:>6}{t0['expected']:>6}"
                + "".join(f"{c:>11}" for c in cells)
            )
    return "\n".join(lines)
