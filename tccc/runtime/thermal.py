"""Temperatures and trip points of every thermal zone under /sys/class/thermal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tccc.runtime.sysfs import read_text

_ZONE_DIR = re.compile(r"thermal_zone(\d+)$")
_TRIP_FILE = re.compile(r"trip_point_(\d+)_temp$")
# Jetson reports a sensor that is powered off (Orin's CV zones) as -256 °C.
_OFFLINE_C = -256.0
# L4T 35 and Xavier name zones "CPU-therm"; L4T 36 names them "cpu-thermal".
_SUFFIX = re.compile(r"[-_]therm(al)?$", re.IGNORECASE)


def _millidegrees(path: Path) -> tuple[float | None, str | None]:
    """A millidegree file in °C, or None and why."""
    text, why = read_text(path)
    if text is None:
        return None, why
    try:
        value = int(text.strip()) / 1000.0
    except ValueError:
        return None, f"{path} holds {text.strip()!r}, not millidegrees"
    if value <= _OFFLINE_C:
        return None, f"{path}: sensor offline ({value:g} °C)"
    return value, None


@dataclass(frozen=True)
class TripPoint:
    """A temperature at which the kernel acts: passive (throttle), active, hot or critical."""

    index: int
    kind: str | None
    temp_c: float | None


@dataclass(frozen=True)
class ThermalZone:
    """One zone: its type name, temperature (None with a reason) and trip points."""

    index: int
    name: str | None
    temp_c: float | None
    reason: str | None
    trips: tuple[TripPoint, ...] = ()

    def trip(self, kind: str) -> float | None:
        """The lowest readable trip temperature of `kind` (e.g. "passive", "critical")."""
        temps = [t.temp_c for t in self.trips if t.kind == kind and t.temp_c is not None]
        return min(temps) if temps else None


def _short(name: str) -> str:
    """A zone name without its "-therm"/"-thermal" suffix, lower-case."""
    return _SUFFIX.sub("", name).lower()


@dataclass(frozen=True)
class ThermalSample:
    """All zones found; `reason` says why there are none."""

    zones: tuple[ThermalZone, ...]
    reason: str | None = None

    def hottest(self) -> ThermalZone | None:
        """The zone with the highest readable temperature."""
        readable = [z for z in self.zones if z.temp_c is not None]
        return max(readable, key=lambda z: z.temp_c or 0.0) if readable else None

    def zone(self, name: str) -> ThermalZone | None:
        """A zone by name: exact, else ignoring case and the "-therm"/"-thermal" suffix."""
        for z in self.zones:
            if z.name == name:
                return z
        for z in self.zones:
            if z.name is not None and _short(z.name) == _short(name):
                return z
        return None


class ThermalReader:
    """Reads every thermal zone under `root` (a recorded tree in tests, "/" on a board)."""

    def __init__(self, root: str | Path = "/") -> None:
        self.root = Path(root)

    def read(self) -> ThermalSample:
        """Take one sample of all zones."""
        base = self.root / "sys" / "class" / "thermal"
        try:
            entries = list(base.iterdir())
        except OSError as exc:
            return ThermalSample((), f"cannot list {base}: {exc.strerror or exc}")
        found = [(int(m.group(1)), p) for p in entries if (m := _ZONE_DIR.match(p.name))]
        if not found:
            return ThermalSample((), f"no thermal_zone* under {base}")
        return ThermalSample(tuple(_read_zone(i, p) for i, p in sorted(found)))


def _read_zone(index: int, path: Path) -> ThermalZone:
    """One zone directory; a file that cannot be read leaves its value None."""
    name, name_why = read_text(path / "type")
    temp, temp_why = _millidegrees(path / "temp")
    trips: list[TripPoint] = []
    try:
        indices = sorted(int(m.group(1)) for p in path.iterdir() if (m := _TRIP_FILE.match(p.name)))
    except OSError:
        indices = []
    for trip_index in indices:
        kind, _why = read_text(path / f"trip_point_{trip_index}_type")
        trip_temp, _why = _millidegrees(path / f"trip_point_{trip_index}_temp")
        trips.append(TripPoint(trip_index, kind.strip() if kind else None, trip_temp))
    return ThermalZone(
        index=index,
        name=name.strip() if name is not None else None,
        temp_c=temp,
        reason=temp_why if temp is None else name_why,
        trips=tuple(trips),
    )
