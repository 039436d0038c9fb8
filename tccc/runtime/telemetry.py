"""One telemetry sample from every reader, and its reduction to the policy's `Reading`.

The runtime samples every `runtime.interval_s`. Reading the nvpmodel mode runs a program, so it
is read once at start (and after a power-profile change), not on every sample. The battery is
not measured by the board: the charge left is the configured charge at start minus the input
energy measured since, and the runtime left is that over the present input power.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from tccc.runtime.load import LoadReader, LoadSample
from tccc.runtime.memory import MemoryReader, MemorySample
from tccc.runtime.policy import Reading
from tccc.runtime.power import PowerReader
from tccc.runtime.tegrastats_feed import TegrastatsFeed
from tccc.runtime.thermal import ThermalReader, ThermalSample, ThermalZone

DRAW_TAU_S = 120.0
"""Time constant of the smoothed input power behind the battery estimate."""
THROTTLE_TRIPS = ("passive", "hot")
"""Trip kinds at which a board starts throttling, in the order they are looked for."""


@dataclass(frozen=True)
class TelemetrySample:
    """Everything read at one instant."""

    t_s: float
    """Seconds since the sampler started."""
    memory: MemorySample
    load: LoadSample
    thermal: ThermalSample
    input_w: float | None
    input_reason: str | None
    battery_wh: float | None
    """Charge left (None: no battery configured, or power not measured)."""
    fallback_temp_c: float | None = None
    """Hottest sensor from tegrastats, when sysfs had no thermal zone to read."""
    fallback_throttle_c: float | None = None
    """The configured throttle point used with the tegrastats temperature."""
    sample_s: float = 0.0
    """Wall time the readers took: the cost of monitoring."""

    draw_w: float | None = None
    """Input power smoothed over minutes (a decode burst is not the battery's fate)."""

    def battery_h(self) -> float | None:
        """Runtime left at the smoothed draw."""
        if self.battery_wh is None or not self.draw_w:
            return None
        return self.battery_wh / self.draw_w


def throttle_zone(sample: ThermalSample) -> tuple[ThermalZone, float] | None:
    """The zone closest to its throttle trip point, with that trip's temperature."""
    best: tuple[float, ThermalZone, float] | None = None
    for zone in sample.zones:
        if zone.temp_c is None:
            continue
        trip = next((t for kind in THROTTLE_TRIPS if (t := zone.trip(kind)) is not None), None)
        if trip is None:
            continue
        headroom = trip - zone.temp_c
        if best is None or headroom < best[0]:
            best = (headroom, zone, trip)
    return (best[1], best[2]) if best else None


class Telemetry:
    """Reads memory, load, temperature and power under two roots (recorded trees in tests)."""

    def __init__(
        self,
        proc_root: str | Path = "/",
        sysfs_root: str | Path = "/",
        *,
        battery_wh: float = 0.0,
        battery_start_pct: float = 100.0,
        tegrastats: TegrastatsFeed | None = None,
        throttle_c: float = 0.0,
    ) -> None:
        self.memory = MemoryReader(proc_root, process=True)
        self.load = LoadReader(proc_root)
        self.thermal = ThermalReader(sysfs_root)
        self.power = PowerReader(sysfs_root)
        self.battery_capacity_wh = battery_wh
        self._battery_wh: float | None = (
            battery_wh * battery_start_pct / 100 if battery_wh > 0 else None
        )
        self.tegrastats = tegrastats
        self.throttle_c = throttle_c
        self._started = time.monotonic()
        self._last: float | None = None
        self._draw_w: float | None = None

    def sample(self) -> TelemetrySample:
        """Read everything once (blocking: call it from a worker thread)."""
        began = time.perf_counter()
        now = time.monotonic()
        memory = self.memory.read()
        load = self.load.read()
        thermal = self.thermal.read()
        input_mw, input_reason = self.power.read_input()
        fallback_temp = fallback_throttle = None
        if self.tegrastats is not None:
            # sysfs restricted: the second source fills in what it could not read.
            latest = self.tegrastats.current()
            if input_mw is None and latest is not None:
                input_mw = latest.input_mw
                input_reason = None if input_mw is not None else input_reason
            if not any(z.temp_c is not None for z in thermal.zones):
                fallback_temp = self.tegrastats.hottest_c()
                fallback_throttle = self.throttle_c or None
        input_w = input_mw / 1000 if input_mw is not None else None
        if input_w is not None:
            dt = now - self._last if self._last is not None else 0.0
            weight = 1.0 - math.exp(-dt / DRAW_TAU_S) if self._draw_w is not None else 1.0
            self._draw_w = (self._draw_w or 0.0) + weight * (input_w - (self._draw_w or 0.0))
        # A sample without a power reading still spends charge: at the last known draw.
        if self._battery_wh is not None and self._draw_w is not None and self._last is not None:
            spent = (input_w if input_w is not None else self._draw_w) * (now - self._last) / 3600
            self._battery_wh = max(0.0, self._battery_wh - spent)
        self._last = now
        battery = self._battery_wh if self._draw_w is not None else None
        return TelemetrySample(
            t_s=now - self._started,
            memory=memory,
            load=load,
            thermal=thermal,
            input_w=input_w,
            input_reason=input_reason,
            battery_wh=battery,
            draw_w=self._draw_w,
            fallback_temp_c=fallback_temp,
            fallback_throttle_c=fallback_throttle,
            sample_s=time.perf_counter() - began,
        )

    def close(self) -> None:
        """Stop the tegrastats feed, if any."""
        if self.tegrastats is not None:
            self.tegrastats.stop()

    def battery_reset(self, pct: float = 100.0) -> None:
        """A new battery: the charge left starts again from `pct` of the capacity."""
        if self.battery_capacity_wh > 0:
            self._battery_wh = self.battery_capacity_wh * pct / 100


def to_reading(sample: TelemetrySample) -> Reading:
    """What the policy needs of a sample."""
    hot = throttle_zone(sample.thermal)
    temp, throttle = (hot[0].temp_c, hot[1]) if hot else (None, None)
    if hot is None and sample.fallback_temp_c is not None:
        temp, throttle = sample.fallback_temp_c, sample.fallback_throttle_c
    return Reading(
        t_s=sample.t_s,
        mem_available_mb=sample.memory.available_mb,
        service_mb=sample.memory.process_rss_mb,
        temp_c=temp,
        throttle_c=throttle,
        battery_h=sample.battery_h(),
        battery_wh=sample.battery_wh,
    )
