"""Power telemetry: INA3221 rails from sysfs, the nvpmodel mode, a battery runtime estimate.

Two driver layouts exist on Jetson boards and both are read:

- the mainline hwmon driver (L4T 34+ / JetPack 5+, e.g. Orin Nano):
  `sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon*/in{N}_label, in{N}_input (mV),
  curr{N}_input (mA)`;
- NVIDIA's older IIO driver (L4T 32.x / JetPack 4, e.g. Xavier NX):
  `sys/bus/i2c/drivers/ina3221x/7-0040/iio:device0/rail_name_{N}, in_voltage{N}_input (mV),
  in_current{N}_input (mA), in_power{N}_input (mW)`.

A value that cannot be read is None with a reason; nothing is ever estimated in its place.
Sources for the paths and formats: tests/fixtures/jetson/POWER_SOURCES.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tccc.runtime.sysfs import read_text

INPUT_RAILS = ("VDD_IN", "POM_5V_IN")
"""Rails that measure the whole module's input, in order of preference (POM_5V_IN: Nano, TX2)."""

_DRIVERS = "sys/bus/i2c/drivers"
_HWMON_LABEL = re.compile(r"in(\d+)_label")
_IIO_LABEL = re.compile(r"rail_name_(\d+)")


@dataclass(frozen=True)
class Rail:
    """One monitored power rail; a None value comes with the reason it is missing."""

    name: str
    voltage_mv: float | None
    current_ma: float | None
    power_mw: float | None
    source: str
    reason: str | None = None


@dataclass(frozen=True)
class PowerMode:
    """The nvpmodel power mode, or why it is unavailable."""

    available: bool
    name: str | None = None
    mode_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PowerSample:
    """One reading of every rail, the module input power and the power mode."""

    rails: tuple[Rail, ...]
    input_mw: float | None
    input_reason: str | None
    mode: PowerMode
    problems: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        """Whether the module's input power was measured."""
        return self.input_mw is not None

    def rail(self, name: str) -> Rail | None:
        """The first rail with this label, or None."""
        return next((rail for rail in self.rails if rail.name == name), None)


class PowerReader:
    """Reads INA3221 rails under `root` and asks `nvpmodel -q` for the power mode."""

    def __init__(
        self, root: str | Path = "/", *, nvpmodel: str = "nvpmodel", timeout_s: float = 5.0
    ) -> None:
        self.root = Path(root)
        self.nvpmodel = nvpmodel
        self.timeout_s = timeout_s

    def read(self) -> PowerSample:
        """Read every rail and the power mode once."""
        rails, problems = self.read_rails()
        input_mw, input_reason = _input_power(rails, self.root)
        return PowerSample(rails, input_mw, input_reason, self.read_mode(), problems)

    def read_input(self) -> tuple[float | None, str | None]:
        """The module input power in mW (without asking nvpmodel), or None and why."""
        rails, _problems = self.read_rails()
        return _input_power(rails, self.root)

    def read_rails(self) -> tuple[tuple[Rail, ...], tuple[str, ...]]:
        """Every labelled rail of every INA3221 under `root`, and what could not be read."""
        drivers = self.root / _DRIVERS
        rails: list[Rail] = []
        problems: list[str] = []
        for label_path in sorted(drivers.glob("ina3221*/*/hwmon/hwmon*/in*_label")):
            match = _HWMON_LABEL.fullmatch(label_path.name)
            if match:
                _add_rail(rails, problems, label_path, _hwmon_rail, match.group(1))
        for label_path in sorted(drivers.glob("ina3221*/*/iio:device*/rail_name_*")):
            match = _IIO_LABEL.fullmatch(label_path.name)
            if match:
                _add_rail(rails, problems, label_path, _iio_rail, match.group(1))
        return tuple(rails), tuple(problems)

    def read_mode(self) -> PowerMode:
        """The current nvpmodel mode, or unavailable with the reason."""
        executable = shutil.which(self.nvpmodel)
        if executable is None:
            return PowerMode(False, reason=f"{self.nvpmodel} not found on PATH")
        try:
            done = subprocess.run(
                [executable, "-q"],
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return PowerMode(False, reason=f"{self.nvpmodel} -q failed: {exc}")
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            tail = detail[-1] if detail else "no output"
            return PowerMode(False, reason=f"{self.nvpmodel} -q exited {done.returncode}: {tail}")
        return parse_nvpmodel_query(done.stdout)


def parse_nvpmodel_query(text: str) -> PowerMode:
    """Parse `nvpmodel -q` output ("NV Power Mode: 15W" then the mode id on its own line)."""
    name: str | None = None
    mode_id: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("NV Power Mode:"):
            name = stripped.removeprefix("NV Power Mode:").strip() or None
        elif name is not None and mode_id is None and stripped.isdigit():
            mode_id = int(stripped)
    if name is None:
        return PowerMode(False, reason="no 'NV Power Mode:' line in nvpmodel output")
    return PowerMode(True, name=name, mode_id=mode_id)


def battery_runtime_h(capacity_wh: float, input_mw: float | None) -> float | None:
    """Hours a battery of `capacity_wh` lasts at `input_mw`; None without a positive draw."""
    if capacity_wh <= 0:
        raise ValueError(f"battery capacity must be positive, got {capacity_wh} Wh")
    if input_mw is None or input_mw <= 0:
        # A zero or missing draw is a failed reading, not an infinite runtime.
        return None
    return capacity_wh / (input_mw / 1000.0)


def _add_rail(
    rails: list[Rail],
    problems: list[str],
    label_path: Path,
    build: Callable[[Path, str, str], Rail],
    channel: str,
) -> None:
    """Append the rail labelled at `label_path`, or record why its label is unreadable."""
    label, reason = read_text(label_path)
    label = label.strip() if label is not None else None
    if label is None:
        problems.append(f"{label_path}: {reason}")
        return
    # "sum of shunt voltages" (in7) is not a rail; "NC" marks an unconnected channel.
    if label == "NC" or label.lower().startswith("sum of shunt"):
        return
    rails.append(build(label_path.parent, channel, label))


def _hwmon_rail(folder: Path, channel: str, label: str) -> Rail:
    """A rail of the hwmon layout: power is computed from voltage and current."""
    volts, volts_reason = _read_number(folder / f"in{channel}_input")
    amps, amps_reason = _read_number(folder / f"curr{channel}_input")
    power = volts * amps / 1000.0 if volts is not None and amps is not None else None
    return Rail(label, volts, amps, power, str(folder), volts_reason or amps_reason)


def _iio_rail(folder: Path, channel: str, label: str) -> Rail:
    """A rail of the older IIO layout: the driver reports power itself."""
    volts, volts_reason = _read_number(folder / f"in_voltage{channel}_input")
    amps, amps_reason = _read_number(folder / f"in_current{channel}_input")
    power, power_reason = _read_number(folder / f"in_power{channel}_input")
    if power is None and volts is not None and amps is not None:
        power, power_reason = volts * amps / 1000.0, None
    reason = power_reason or volts_reason or amps_reason
    return Rail(label, volts, amps, power, str(folder), reason)


def _input_power(rails: tuple[Rail, ...], root: Path) -> tuple[float | None, str | None]:
    """The module input power from the first input rail, or why there is none."""
    if not rails:
        return None, f"no INA3221 power monitor under {root / _DRIVERS}"
    for name in INPUT_RAILS:
        rail = next((r for r in rails if r.name == name), None)
        if rail is not None:
            return rail.power_mw, None if rail.power_mw is not None else f"{name}: {rail.reason}"
    found = ", ".join(rail.name for rail in rails)
    return None, f"no input rail ({', '.join(INPUT_RAILS)}) among {found}"


def _read_number(path: Path) -> tuple[float | None, str | None]:
    """A sysfs file's numeric value, or None and why it could not be read."""
    text, reason = read_text(path)
    if text is None:
        return None, reason
    text = text.strip()
    try:
        # Some L4T nodes append a unit ("32760 ma"); the number comes first.
        return float(text.split()[0]), None
    except (ValueError, IndexError):
        return None, f"{path.name} is not a number: {text!r}"
