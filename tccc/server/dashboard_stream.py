"""The operator's dashboard stream: one sample a second of everything the dashboard draws.

Latency (end of speech to final transcript, and to the card) at p50/p95 over the last minute
and the decoder's real-time factor; memory per component with the budget; CPU per core and GPU
load; temperatures with trip points; power rails and the battery estimate; the runtime's
actions with their reasons; and each utterance's pipeline stages. A value that cannot be read
is None with the reason, never a made-up number.

Sampling is lazy and shared: there is no background task; the first subscriber that finds the
latest sample a second old takes the next one (under a lock, in a worker thread), and every
subscriber sends it. Nobody watching costs nothing. The last ten minutes are kept, so a
dashboard that connects (or reconnects) draws its charts at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tccc.config import Settings
from tccc.runtime.load import CpuTimes, LoadReader, busy_share
from tccc.runtime.manager import RuntimeManager
from tccc.runtime.memory import process_rss_mb
from tccc.runtime.power import PowerReader
from tccc.runtime.sysfs import read_text
from tccc.runtime.thermal import ThermalReader
from tccc.server.service import TranscriptionService
from tccc.server.session_feed import SessionFeeds, UtteranceTiming

INTERVAL_S = 1.0
WINDOW_S = 600
"""Seconds of history kept and drawn."""
LATENCY_WINDOW_S = 60.0
RTF_WINDOW_S = 10.0
TIMINGS_SENT = 20
"""Utterance timings sent to a dashboard that connects."""


def parse_per_core(text: str) -> list[CpuTimes]:
    """Busy and total ticks of each `cpuN` line of /proc/stat, in core order."""
    cores: list[tuple[int, CpuTimes]] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or not parts[0].startswith("cpu") or parts[0] == "cpu":
            continue
        index = parts[0][3:]
        if not index.isdigit():
            continue
        ticks = [int(value) for value in parts[1:9]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        cores.append((int(index), CpuTimes(busy=sum(ticks) - idle, total=sum(ticks))))
    return [times for _i, times in sorted(cores)]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class CoreLoadReader:
    """Per-core CPU shares from /proc/stat (keeps the previous reading between calls)."""

    def __init__(self, root: str | Path = "/") -> None:
        self.path = Path(root) / "proc" / "stat"
        self._previous: list[CpuTimes] | None = None

    def read(self) -> tuple[list[float | None] | None, str | None]:
        """The busy share of each core since the last call, or None and why."""
        text, why = read_text(self.path)
        if text is None:
            return None, why
        current = parse_per_core(text)
        if not current:
            return None, f"no cpuN lines in {self.path}"
        previous, self._previous = self._previous, current
        if previous is None or len(previous) != len(current):
            return None, "first reading: per-core load needs two /proc/stat readings"
        return [busy_share(a, b) for a, b in zip(previous, current, strict=True)], None


@dataclass
class _Counters:
    at: float
    decode_s: float
    audio_s: float


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


class DashboardSampler:
    """Takes the dashboard's samples, one a second while somebody watches."""

    def __init__(
        self,
        settings: Settings,
        service: TranscriptionService,
        runtime: RuntimeManager | None,
        feeds: SessionFeeds,
    ) -> None:
        rt = settings.runtime
        self.settings, self.service, self.runtime, self.feeds = settings, service, runtime, feeds
        self.cores = CoreLoadReader(rt.proc_root)
        # The runtime's own readers keep state between its samples: the dashboard reads with
        # its own (thermal and power readers hold none; the GPU reader is the load reader's).
        self.gpu = LoadReader(rt.sysfs_root, nvml=Path(rt.sysfs_root) == Path("/"))
        self.thermal = ThermalReader(rt.sysfs_root)
        self.power = PowerReader(rt.sysfs_root)
        self.history: deque[dict[str, Any]] = deque(maxlen=int(WINDOW_S / INTERVAL_S))
        self.seq = 0
        self._counters: deque[_Counters] = deque(maxlen=64)
        self._events_sent_at = 0.0
        self._timing_seq = 0
        self._lock = asyncio.Lock()
        self._due = 0.0
        self.cpu_s = 0.0
        """CPU seconds spent taking samples (the dashboard's own cost on the server)."""

    async def after(self, seq: int) -> dict[str, Any]:
        """The first sample newer than `seq`, taken when it is due."""
        while True:
            if self.seq > seq and self.history:
                return self.history[-1]
            async with self._lock:
                if self.seq > seq:
                    continue
                wait = self._due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                sample = await asyncio.to_thread(self.take)
                self.history.append(sample)
                self.seq += 1
                now = time.monotonic()
                self._due = max(self._due + INTERVAL_S, now + INTERVAL_S / 2)

    async def latest(self) -> dict[str, Any]:
        """The latest sample, taken now if the last one is stale."""
        if self.history and time.time() - self.history[-1]["t"] < 2 * INTERVAL_S:
            return self.history[-1]
        return await self.after(self.seq)

    def take(self) -> dict[str, Any]:
        """One sample of everything (blocking: a worker thread)."""
        started = time.thread_time()
        sample = {
            "type": "sample",
            "seq": self.seq + 1,
            "t": round(time.time(), 3),
            "latency": self._latency(),
            "rtf": self._rtf(),
            "memory": self._memory(),
            "cpu": self._cpu(),
            "gpu": self._gpu(),
            "thermal": self._thermal(),
            "power": self._power(),
            "actions": self._actions(),
            "pipeline": self._pipeline(),
            "runtime": self._state(),
            "sessions": {"live": self.service.live_sessions, "feeds": self.feeds.subscribers()},
        }
        spent = time.thread_time() - started
        self.cpu_s += spent
        sample["cost"] = {"sample_cpu_ms": round(spent * 1000, 2), "total_cpu_s": _r(self.cpu_s, 3)}
        return sample

    # -- the parts -------------------------------------------------------------------------

    def _latency(self) -> dict[str, Any]:
        horizon = time.monotonic() - LATENCY_WINDOW_S
        recent = [t for t in list(self.feeds.timings) if t.speech_end >= horizon]
        if not recent:
            return {
                "p50_ms": None,
                "p95_ms": None,
                "card_p50_ms": None,
                "card_p95_ms": None,
                "n": 0,
                "reason": f"no utterance in the last {LATENCY_WINDOW_S:.0f} s",
            }
        final = [1000 * (t.final - t.speech_end) for t in recent]
        card = [1000 * (t.card - t.speech_end) for t in recent if t.card is not None]
        return {
            "p50_ms": _r(percentile(final, 50)),
            "p95_ms": _r(percentile(final, 95)),
            "card_p50_ms": _r(percentile(card, 50)),
            "card_p95_ms": _r(percentile(card, 95)),
            "n": len(recent),
            "reason": None,
        }

    def _rtf(self) -> dict[str, Any]:
        registry = self.service.metrics.registry
        decode = registry.get_sample_value("tccc_transcription_seconds_sum") or 0.0
        audio = registry.get_sample_value("tccc_audio_seconds_total") or 0.0
        now = time.monotonic()
        self._counters.append(_Counters(now, decode, audio))
        base = next((c for c in self._counters if c.at >= now - RTF_WINDOW_S), None)
        if base is None or audio - base.audio_s <= 0:
            return {"value": None, "reason": f"nothing decoded in the last {RTF_WINDOW_S:.0f} s"}
        rtf = (decode - base.decode_s) / (audio - base.audio_s)
        return {"value": round(rtf, 3), "reason": None}

    def _memory(self) -> dict[str, Any]:
        rss, rss_why = process_rss_mb()
        out: dict[str, Any] = {"rss_mb": _r(rss), "reason": rss_why}
        if self.runtime is None:
            out.update(budget_mb=None, components=[], budget_reason="no runtime manager")
            return out
        rt = self.runtime
        last = rt.last
        out["budget_mb"] = rt.settings.memory_budget_mb
        out["available_mb"] = _r(last.memory.available_mb) if last is not None else None
        components = []
        for info in rt.registry.snapshot():
            state = info["state"]
            mb = info["measured_mb"] if state == "loaded" else 0.0 if state == "unloaded" else None
            reason = None
            if mb is None:
                reason = "not measured" if state == "loaded" else state
            components.append(
                {
                    "name": info["name"],
                    "state": state,
                    "mb": mb,
                    "expected_mb": info["expected_mb"],
                    "reason": reason,
                    "detail": info["reason"],
                    "essential": info["essential"],
                }
            )
        out["components"] = components
        return out

    def _cpu(self) -> dict[str, Any]:
        shares, why = self.cores.read()
        return {"cores": [_r(s, 3) for s in shares] if shares else None, "reason": why}

    def _gpu(self) -> dict[str, Any]:
        load = self.gpu.read()
        return {"share": _r(load.gpu_share, 3), "reason": load.gpu_reason, "node": load.gpu_node}

    def _thermal(self) -> dict[str, Any]:
        sample = self.thermal.read()
        zones = []
        trips: dict[tuple[str, float], None] = {}
        offline = []
        for zone in sample.zones:
            name = zone.name or f"zone{zone.index}"
            if zone.temp_c is None:
                offline.append(f"{name}: {zone.reason}")
                continue
            zones.append({"name": name, "temp_c": _r(zone.temp_c)})
            for trip in zone.trips:
                if trip.kind in ("passive", "hot", "critical") and trip.temp_c is not None:
                    trips[(trip.kind, trip.temp_c)] = None
        reason = sample.reason
        if not zones and reason is None:
            reason = "no readable thermal zone" + (f" ({'; '.join(offline)})" if offline else "")
        return {
            "zones": zones,
            "trips": [{"kind": k, "temp_c": t} for k, t in sorted(trips, key=lambda x: x[1])],
            "offline": offline,
            "reason": reason,
        }

    def _power(self) -> dict[str, Any]:
        rails, problems = self.power.read_rails()
        out: dict[str, Any] = {
            "rails": [
                {
                    "name": r.name,
                    "w": _r(r.power_mw / 1000, 3) if r.power_mw is not None else None,
                    "reason": r.reason,
                }
                for r in rails
            ],
            "reason": None,
        }
        if not rails:
            where = Path(self.settings.runtime.sysfs_root) / "sys/bus/i2c/drivers"
            detail = f" ({'; '.join(problems)})" if problems else ""
            out["reason"] = f"no INA3221 power rails under {where}{detail}"
        telemetry = self.runtime.telemetry if self.runtime is not None else None
        last = self.runtime.last if self.runtime is not None else None
        if telemetry is None:
            out.update(battery_h=None, battery_wh=None, battery_reason="runtime telemetry is off")
        elif telemetry.battery_capacity_wh <= 0:
            out.update(
                battery_h=None,
                battery_wh=None,
                battery_reason="no battery configured (runtime.battery_wh)",
            )
        elif last is None or last.battery_h() is None:
            why = last.input_reason if last is not None else None
            out.update(
                battery_h=None,
                battery_wh=_r(last.battery_wh, 2) if last is not None else None,
                battery_reason=f"input power not measured ({why or 'no sample yet'})",
            )
        else:
            out.update(
                battery_h=_r(last.battery_h(), 2),
                battery_wh=_r(last.battery_wh, 2),
                battery_reason=None,
            )
        return out

    def _actions(self) -> list[dict[str, Any]]:
        if self.runtime is None:
            return []
        new = [e for e in list(self.runtime.events) if e.at > self._events_sent_at]
        if new:
            self._events_sent_at = new[-1].at
        return [
            {"at": round(e.at, 3), "action": e.action, "reason": e.reason, "result": e.result}
            for e in new
        ]

    def _pipeline(self) -> list[dict[str, Any]]:
        # A card is sent a moment after its facts: an utterance is reported once its card is
        # out (or 5 s after, without one: nobody was watching the session).
        now = time.monotonic()
        out: list[UtteranceTiming] = []
        for timing in list(self.feeds.timings):
            if timing.seq <= self._timing_seq:
                continue
            if timing.card is None and now - timing.facts < 5.0:
                break
            out.append(timing)
            self._timing_seq = timing.seq
        return [t.json() for t in out]

    def _state(self) -> dict[str, Any] | None:
        if self.runtime is None:
            return None
        state: dict[str, Any] = self.runtime.snapshot()["state"]
        return state

    def backlog(self) -> dict[str, Any]:
        """What a dashboard that connects needs first: the last ten minutes and the setup."""
        timings = [t for t in list(self.feeds.timings) if t.seq <= self._timing_seq]
        events = list(self.runtime.events) if self.runtime is not None else []
        return {
            "type": "init",
            "interval_s": INTERVAL_S,
            "window_s": WINDOW_S,
            "history": list(self.history),
            "pipeline": [t.json() for t in timings[-TIMINGS_SENT:]],
            "actions": [
                {"at": round(e.at, 3), "action": e.action, "reason": e.reason, "result": e.result}
                for e in events[-50:]
            ],
            "profiles": ["performance", "balanced", "saver"],
        }


async def dashboard_events(
    sampler: DashboardSampler, exiting: Callable[[], bool]
) -> AsyncIterator[dict[str, Any]]:
    """The backlog, then a sample every second until the server shuts down or the client goes."""
    yield sampler.backlog()
    seq = sampler.seq
    while not exiting():
        sample = await sampler.after(seq)
        seq = sample["seq"]
        yield sample
