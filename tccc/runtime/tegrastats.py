"""A pure parser of `tegrastats` output lines, for boards where sysfs is restricted.

Fields are found wherever they are in the line and unknown fields are ignored, because the set
and order change between L4T releases (`GR3D_FREQ 0%` vs `GR3D_FREQ 0%@[624]`, rails in mW with
a `mW` suffix on Orin, without it on Xavier, `POM_5V_IN` on Nano). A line that is empty or
holds no known field, or whose known field is malformed, raises `TegrastatsParseError`.
Sources for the formats: tests/fixtures/jetson/POWER_SOURCES.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tccc.runtime.power import INPUT_RAILS

_UNIT_TO_MB = {"k": 1 / 1024, "M": 1.0, "G": 1024.0}
_TIMESTAMP = re.compile(r"^\s*(\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})")
_RAM = re.compile(r"\bRAM (\d+)/(\d+)([kMG])B")
_SWAP = re.compile(r"\bSWAP (\d+)/(\d+)([kMG])B(?: ?\(cached (\d+)([kMG])B\))?")
_CPU = re.compile(r"\bCPU \[([^\]]*)\](?:@(\d+))?")
_CORE = re.compile(r"(\d+)%(?:@(\d+))?")
_GR3D = re.compile(r"\bGR3D_FREQ (\d+)%(?:@\[?(\d+)[\d,]*\]?)?")
_EMC = re.compile(r"\bEMC_FREQ (\d+)%(?:@(\d+))?")
# Any `name@numberC`; the look-behind keeps `12%@1510` style CPU entries out.
_TEMP = re.compile(r"(?<![\w@%.])([A-Za-z][\w-]*)@(-?\d+(?:\.\d+)?)C\b")
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?![\w/])")
_NOT_RAILS = frozenset({"RAM", "SWAP", "IRAM"})
_KEYWORDS = {"RAM": _RAM, "SWAP": _SWAP, "CPU": _CPU, "GR3D_FREQ": _GR3D, "EMC_FREQ": _EMC}


class TegrastatsParseError(ValueError):
    """A tegrastats line is empty, has no known field, or has a malformed known field."""


@dataclass(frozen=True)
class CpuCore:
    """One CPU core: load and frequency, both None when the core is off."""

    index: int
    online: bool
    load_pct: int | None
    freq_mhz: int | None


@dataclass(frozen=True)
class Temperature:
    """One `name@valueC` sensor reading."""

    name: str
    celsius: float


@dataclass(frozen=True)
class RailPower:
    """One power rail: instantaneous and running-average power in mW."""

    name: str
    power_mw: int
    average_mw: int


@dataclass(frozen=True)
class TegrastatsSample:
    """Everything known about one tegrastats line; a field absent from the line is None."""

    timestamp: str | None = None
    ram_used_mb: float | None = None
    ram_total_mb: float | None = None
    swap_used_mb: float | None = None
    swap_total_mb: float | None = None
    swap_cached_mb: float | None = None
    cpus: tuple[CpuCore, ...] = ()
    gpu_load_pct: int | None = None
    gpu_freq_mhz: int | None = None
    emc_load_pct: int | None = None
    emc_freq_mhz: int | None = None
    temperatures: tuple[Temperature, ...] = ()
    rails: tuple[RailPower, ...] = ()

    def temperature(self, name: str) -> float | None:
        """The reading of sensor `name` (case-sensitive, as tegrastats prints it), or None."""
        return next((t.celsius for t in self.temperatures if t.name == name), None)

    def rail(self, name: str) -> RailPower | None:
        """The rail named `name`, or None."""
        return next((r for r in self.rails if r.name == name), None)

    @property
    def input_mw(self) -> int | None:
        """Module input power (VDD_IN, or POM_5V_IN on older boards), or None."""
        for name in INPUT_RAILS:
            rail = self.rail(name)
            if rail is not None:
                return rail.power_mw
        return None


def parse_tegrastats_line(line: str) -> TegrastatsSample:
    """Parse one line of `tegrastats` output; raise `TegrastatsParseError` if it is not one."""
    if not line.strip():
        raise TegrastatsParseError("empty tegrastats line")
    _check_known_fields(line)
    timestamp = _TIMESTAMP.match(line)
    ram = _RAM.search(line)
    swap = _SWAP.search(line)
    gr3d = _GR3D.search(line)
    emc = _EMC.search(line)
    sample = TegrastatsSample(
        timestamp=timestamp.group(1) if timestamp else None,
        ram_used_mb=_mb(ram.group(1), ram.group(3)) if ram else None,
        ram_total_mb=_mb(ram.group(2), ram.group(3)) if ram else None,
        swap_used_mb=_mb(swap.group(1), swap.group(3)) if swap else None,
        swap_total_mb=_mb(swap.group(2), swap.group(3)) if swap else None,
        swap_cached_mb=_mb(swap.group(4), swap.group(5)) if swap and swap.group(4) else None,
        cpus=_cpus(line),
        gpu_load_pct=int(gr3d.group(1)) if gr3d else None,
        gpu_freq_mhz=_int_or_none(gr3d.group(2)) if gr3d else None,
        emc_load_pct=int(emc.group(1)) if emc else None,
        emc_freq_mhz=_int_or_none(emc.group(2)) if emc else None,
        temperatures=tuple(Temperature(n, float(v)) for n, v in _TEMP.findall(line)),
        rails=tuple(
            RailPower(name, int(now), int(avg))
            for name, now, avg in _RAIL.findall(line)
            if name not in _NOT_RAILS
        ),
    )
    if sample == TegrastatsSample(timestamp=sample.timestamp):
        raise TegrastatsParseError(f"no tegrastats field in line: {line.strip()[:80]!r}")
    return sample


def _check_known_fields(line: str) -> None:
    """Raise if a known keyword is present but its value does not have the expected shape."""
    for keyword, pattern in _KEYWORDS.items():
        if re.search(rf"\b{keyword}\b", line) and not pattern.search(line):
            raise TegrastatsParseError(f"malformed {keyword} field in: {line.strip()[:80]!r}")


def _cpus(line: str) -> tuple[CpuCore, ...]:
    """Per-core load and frequency from `CPU [12%@1510,off,...]` or `CPU [12%,off]@1510`."""
    match = _CPU.search(line)
    if match is None:
        return ()
    shared_freq = _int_or_none(match.group(2))
    cores: list[CpuCore] = []
    for index, entry in enumerate(match.group(1).split(",")):
        entry = entry.strip()
        if entry == "off":
            cores.append(CpuCore(index, False, None, None))
            continue
        core = _CORE.fullmatch(entry)
        if core is None:
            raise TegrastatsParseError(f"malformed CPU entry {entry!r}")
        freq = _int_or_none(core.group(2))
        cores.append(
            CpuCore(index, True, int(core.group(1)), shared_freq if freq is None else freq)
        )
    return tuple(cores)


def _mb(value: str, unit: str) -> float:
    """A memory amount converted to MB."""
    return int(value) * _UNIT_TO_MB[unit]


def _int_or_none(value: str | None) -> int | None:
    """An optional regex group as int."""
    return int(value) if value is not None else None
