"""The runtime manager of `tccc serve`: components, telemetry, the policy, and its actions.

Start-up is gradual: the VAD and the speech model load first and the service is ready; the
language model follows only when its memory fits the budget and what the system has free (it
is retried on every sample until it does). Then every `runtime.interval_s` the telemetry is
sampled, the policy decides, and the actions change flags; `_reconcile` then makes the
components match the flags. Speech recognition is never unloaded by the policy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tccc.config import Settings
from tccc.errors import ModelError, TcccError
from tccc.llm.cache import LlmCache
from tccc.llm.slot import ModelSlot
from tccc.runtime.components import Component, Registry, release_freed_memory
from tccc.runtime.metrics import RuntimeMetrics
from tccc.runtime.policy import Action, PolicyConfig, PolicyState, Reading, decide
from tccc.runtime.power_profiles import PowerProfile, power_profile
from tccc.runtime.telemetry import Telemetry, TelemetrySample, to_reading
from tccc.server.service import TranscriptionService
from tccc.stt.transcriber import Transcriber

_LOGGER = logging.getLogger(__name__)

SHRUNK_CACHE_ENTRIES = 32
"""Answers the language-model cache keeps under memory pressure."""
HOT_PARTIAL_SCALE = 2.0
"""Partial transcripts half as often when the board is hot."""


@dataclass(frozen=True)
class RuntimeEvent:
    """Something the runtime did, when, why, and how it went."""

    at: float
    """Wall-clock time (Unix seconds)."""
    action: str
    reason: str
    result: str = "done"


@dataclass
class Flags:
    """What the policy and the operator currently ask for."""

    heat: int = 0
    memory_shed: bool = False
    saver: bool = False
    profile: PowerProfile | None = None
    """The power profile chosen by the operator (None: as configured)."""


class RuntimeManager:
    """Owns the components and applies the policy to them."""

    def __init__(
        self,
        settings: Settings,
        service: TranscriptionService,
        *,
        make_transcriber: Callable[[str], Transcriber],
        slot: ModelSlot | None,
        cache: LlmCache | None,
        metrics: RuntimeMetrics,
        telemetry: Telemetry | None = None,
        load_vad: Callable[[], Any] | None = None,
        rss_mb: Callable[[], float | None] | None = None,
    ) -> None:
        self.settings = settings
        rt = settings.runtime
        self.service = service
        self.slot = slot
        self.cache = cache
        self.metrics = metrics
        self.telemetry = telemetry
        self._make_transcriber = make_transcriber
        self.configured_model = settings.stt.model
        self.config = PolicyConfig(
            memory_budget_mb=float(settings.memory_budget_mb), saver_below_h=rt.saver_below_h
        )
        self.state = PolicyState()
        self.flags = Flags()
        self.events: deque[RuntimeEvent] = deque(maxlen=256)
        self.last: TelemetrySample | None = None
        self.last_reading: Reading | None = None
        self.samples = 0
        self.sample_s_total = 0.0
        self._failed_model: str | None = None
        self._reconciling = asyncio.Lock()
        self.held: set[str] = set()
        """Components an operator unloaded: they stay so until the operator loads them."""
        self.registry = Registry(
            float(settings.memory_budget_mb), rss_mb or self._rss_mb, listener=self._on_component
        )
        metrics.memory_budget.set(settings.memory_budget_mb)
        if load_vad is not None:
            vad = load_vad

            async def vad_load() -> None:
                await asyncio.to_thread(vad)

            self.registry.add(Component("vad", rt.vad_mb, vad_load))
        self.registry.add(
            Component("speech", rt.stt_mb, self._load_speech, service.unload, essential=True)
        )
        if slot is not None:
            self.registry.add(
                Component(
                    "llm",
                    rt.llm_mb,
                    lambda: asyncio.to_thread(slot.load),
                    lambda: asyncio.to_thread(slot.unload),
                )
            )
        if cache is not None:
            full = cache.max_entries

            async def grow() -> None:
                cache.resize(full)

            async def shrink() -> None:
                cache.resize(SHRUNK_CACHE_ENTRIES)

            self.registry.add(Component("caches", rt.caches_mb, grow, shrink))

    # -- start-up -------------------------------------------------------------------------

    async def start(self) -> None:
        """Gradual start, first part: the VAD and the speech model; the service is then ready.

        The optional components follow in `run`, once readiness has been signalled.
        """
        for name in ("vad", "speech"):
            if name in self.registry:
                ok = await self.registry.load(name, "start-up")
                if not ok and name == "speech":
                    raise ModelError(self.registry.get("speech").error or "speech model failed")

    async def _load_speech(self) -> None:
        await self.service.reload()

    def decode_allowance_mb(self) -> float:
        """Memory the budget leaves for decoded uploads once the loaded components are counted
        (the service refuses uploads beyond it: `TranscriptionService.decode_budget`)."""
        return max(0.0, self.registry.budget_mb - self.registry.reserved_mb())

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Load what else fits, then sample, decide and act every interval until cancelled."""
        telemetry = self.telemetry
        if telemetry is not None:
            try:
                self.last = await asyncio.to_thread(telemetry.sample)
            except Exception as exc:  # the first reading is a nicety: load what fits anyway
                _LOGGER.error("runtime: reading the board failed (%s)", type(exc).__name__)
                self._event("error", type(exc).__name__, "telemetry read failed")
        await self._reconcile("start-up")
        if telemetry is None:
            return
        interval = self.settings.runtime.interval_s
        while True:
            try:
                # Inside the guard: a reading that fails (a sensor gone, a driver error) must
                # not end the monitoring that keeps the board inside its heat and memory budget.
                await self.step(await asyncio.to_thread(telemetry.sample))
            except TcccError as exc:
                # One failed action (a model that would not load) must not end the monitoring.
                _LOGGER.error("runtime: acting on a sample failed: %s", exc.message)
                self._event("error", exc.code, exc.message)
            except Exception as exc:
                _LOGGER.error("runtime: acting on a sample failed (%s)", type(exc).__name__)
                self._event("error", type(exc).__name__, "unexpected error")
            await asyncio.sleep(interval)

    async def step(self, sample: TelemetrySample) -> list[Action]:
        """Take one telemetry sample through the policy and act on it."""
        self.last = sample
        self.samples += 1
        self.sample_s_total += sample.sample_s
        self._export(sample)
        return await self.observe(to_reading(sample))

    async def observe(self, reading: Reading) -> list[Action]:
        """One reading (from the board, or a trace in a simulation) through the policy."""
        self.last_reading = reading
        self.state, actions = decide(self.state, reading, self.config)
        for action in actions:
            self._apply_flag(action)
            self._event(action.name, action.reason)
            self.metrics.actions.labels(action.name).inc()
        cause = actions[-1].reason if actions else "deferred load"
        await self._reconcile(cause)
        self.metrics.heat_step.set(self.flags.heat)
        self.metrics.memory_shed.set(1 if self.flags.memory_shed else 0)
        self.metrics.saver.set(1 if self.flags.saver else 0)
        return actions

    def _apply_flag(self, action: Action) -> None:
        f = self.flags
        match action.name:
            case "reduce_work" | "pause_llm":
                f.heat = max(f.heat, 1)
            case "small_speech_model" | "refuse_new_streams":
                f.heat = 2
            case "restore_speech_model" | "accept_new_streams":
                f.heat = min(f.heat, 1)
            case "restore_work" | "resume_llm":
                f.heat = 0
            case "unload_llm" | "shrink_caches":
                f.memory_shed = True
            case "reload_llm" | "restore_caches":
                f.memory_shed = False
                if "llm" in self.registry and self.registry.get("llm").state == "failed":
                    self.registry.get("llm").state = "unloaded"  # memory is back: try again
            case "enter_saver":
                f.saver = True
            case "leave_saver":
                f.saver = False

    async def operate(self, name: str, verb: str) -> bool:
        """An operator's load or unload of one component; an unload holds until a load."""
        if verb == "unload":
            self.held.add(name)
            async with self._reconciling:
                return await self.registry.unload(name, "operator")
        self.held.discard(name)
        component = self.registry.get(name)
        if component.state == "failed":
            component.state = "unloaded"  # the operator asks for another try
        async with self._reconciling:
            return await self.registry.load(name, "operator")

    async def set_profile(self, name: str) -> PowerProfile:
        """Apply a power profile's component settings (the operator's choice)."""
        profile = _profile(name)
        self.flags.profile = profile
        self._event(f"power_profile_{name}", "operator")
        await self._reconcile(f"power profile {name}")
        return profile

    # -- making the components match the flags --------------------------------------------

    def _profiles(self) -> list[PowerProfile]:
        out = [self.flags.profile] if self.flags.profile is not None else []
        if self.flags.saver:
            out.append(_profile("saver"))
        return out

    def desired(self) -> dict[str, Any]:
        """What the components should be now, from every flag together."""
        f = self.flags
        profiles = self._profiles()
        beams = [p.beam_size for p in profiles if p.beam_size]
        if f.heat >= 1:
            # Greedy: the service applies it to every decode, so the wide beam of live finals
            # (stream.final_beam_size) is capped too, and comes back with restore_work.
            beams.append(1)
        scale = max([p.partial_scale for p in profiles] + [1.0])
        if f.heat >= 1:
            scale = max(scale, HOT_PARTIAL_SCALE)
        small = f.heat >= 2 or any(p.small_speech_model for p in profiles)
        llm_wanted = (
            self.slot is not None
            and self.settings.llm.enabled
            and all(p.llm for p in profiles)
            and not f.memory_shed
        )
        return {
            "beam_size": min(beams) if beams else None,
            "partial_scale": scale,
            "speech_model": self.settings.runtime.small_model if small else self.configured_model,
            "accept_streams": f.heat < 2,
            "llm_loaded": llm_wanted and "llm" not in self.held,
            "llm_paused": f.heat >= 1,
            "caches_full": not f.memory_shed and "caches" not in self.held,
        }

    async def _reconcile(self, cause: str) -> None:
        # One at a time, each from the flags as they are when it starts: the sampling loop and
        # the operator's calls must not undo each other with stale wishes.
        async with self._reconciling:
            await self._reconcile_now(cause)

    async def _reconcile_now(self, cause: str) -> None:
        want = self.desired()
        svc = self.service
        work = dataclasses.replace(
            svc.work, beam_size=want["beam_size"], partial_scale=want["partial_scale"]
        )
        if work != svc.work:
            svc.work = work
            self._event("work_level", cause, f"beam {work.beam_size or 'configured'}, "
                        f"partials x{work.partial_scale:g}")  # fmt: skip
        if svc.accept_streams != want["accept_streams"]:
            svc.accept_streams = want["accept_streams"]
            self._event("streams", cause, "accepting" if svc.accept_streams else "refusing new")
        if want["speech_model"] != self._failed_model:
            self._failed_model = None  # a model that failed is tried again once wanted anew
        if (
            want["speech_model"] not in (svc.transcriber.model_name, self._failed_model)
            and svc.ready
        ):
            await self._switch_speech(want["speech_model"], cause)
        if "caches" in self.registry:
            if want["caches_full"]:
                await self.registry.load("caches", cause)
            else:
                await self.registry.unload("caches", cause)
        if self.slot is not None:
            if want["llm_paused"] and not self.slot.paused:
                self.slot.pause()
                self._event("llm", cause, "paused")
            elif not want["llm_paused"] and self.slot.paused:
                self.slot.resume()
                self._event("llm", cause, "resumed")
            await self._llm_to(want["llm_loaded"], cause)

    async def _llm_to(self, loaded: bool, cause: str) -> None:
        component = self.registry.get("llm")
        if not loaded:
            await self.registry.unload("llm", cause)
            return
        if component.state in ("loaded", "loading") or component.state == "failed":
            return  # a model that failed to load is not retried every sample
        reading = self.last_reading
        available = reading.mem_available_mb if reading is not None else None
        rss = reading.service_mb if reading is not None else None
        refusal = self.registry.refusal("llm", available, rss_mb=rss)
        if refusal is not None:
            if component.reason != f"deferred: {refusal}":
                component.reason = f"deferred: {refusal}"
                self._event("llm", cause, f"deferred: {refusal}")
            return
        await self.registry.load("llm", cause)

    async def _switch_speech(self, model: str, cause: str) -> None:
        started = time.perf_counter()
        old = self.service.transcriber.model_name
        try:
            await self.service.switch(self._make_transcriber(model))
        except TcccError as exc:
            # The service has gone back to the model that worked; do not try again until wanted
            # anew (a retry on every sample would stall live streams each time).
            _LOGGER.error("runtime: switching the speech model failed: %s", exc.message)
            self._event("speech_model", cause, f"failed: {exc.message}; back to {old}")
            self._failed_model = model
            return
        finally:
            await asyncio.to_thread(release_freed_memory)
        self._event(
            "speech_model", cause, f"{old} -> {model} in {time.perf_counter() - started:.2f} s"
        )

    # -- reporting ------------------------------------------------------------------------

    @staticmethod
    def _rss_mb() -> float | None:
        # Only the process's RSS: a whole memory sample would also read meminfo (and NVML).
        from tccc.runtime.memory import process_rss_mb

        return process_rss_mb()[0]

    def _on_component(self, state: str, component: Component) -> None:
        self.metrics.component_loaded.labels(component.name).set(1 if state == "loaded" else 0)
        if component.measured_mb is not None:
            self.metrics.component_memory.labels(component.name).set(component.measured_mb)
        if state in ("loaded", "unloaded", "failed"):
            detail = state
            if state == "loaded" and component.measured_mb is not None:
                detail += f", +{component.measured_mb:.0f} MiB in {component.load_s or 0:.2f} s"
            if state == "unloaded" and component.freed_mb is not None:
                detail += f", freed {component.freed_mb:.0f} MiB"
            self._event(component.name, component.reason, detail)

    def _event(self, action: str, reason: str, result: str = "done") -> None:
        event = RuntimeEvent(time.time(), action, reason, result)
        self.events.append(event)
        # Reasons are telemetry figures only: no patient data reaches this log line.
        _LOGGER.info("runtime: %s (%s): %s", action, reason, result)

    def _export(self, sample: TelemetrySample) -> None:
        m = self.metrics
        m.sample_seconds.observe(sample.sample_s)
        reading = to_reading(sample)
        for gauge, value in (
            (m.process_rss, sample.memory.process_rss_mb),
            (m.mem_available, sample.memory.available_mb),
            (m.cpu_share, sample.load.cpu_share),
            (m.gpu_share, sample.load.gpu_share),
            (m.temperature, reading.temp_c),
            (m.throttle, reading.throttle_c),
            (m.input_power, sample.input_w),
            (m.battery_hours, reading.battery_h),
        ):
            if value is not None:
                gauge.set(value)

    def snapshot(self) -> dict[str, Any]:
        """The runtime as plain data, for `GET /v1/runtime`."""
        sample, reading = self.last, self.last_reading
        telemetry: dict[str, Any] | None = None
        if sample is not None:
            telemetry = {
                "t_s": round(sample.t_s, 1),
                "process_rss_mb": _r(sample.memory.process_rss_mb),
                "mem_available_mb": _r(sample.memory.available_mb),
                "unified_memory": sample.memory.unified,
                "board": sample.memory.board,
                "cpu_share": _r(sample.load.cpu_share, 3),
                "gpu_share": _r(sample.load.gpu_share, 3),
                "input_w": _r(sample.input_w, 2),
                "battery_wh": _r(sample.battery_wh, 2),
                "sample_ms": round(sample.sample_s * 1000, 2),
                "unavailable": {
                    **{k: v for k, v in sample.memory.reasons.items()},
                    **({"cpu_share": sample.load.cpu_reason} if sample.load.cpu_reason else {}),
                    **({"thermal": sample.thermal.reason} if sample.thermal.reason else {}),
                    **({"input_w": sample.input_reason} if sample.input_reason else {}),
                },
            }
        if reading is not None:
            telemetry = telemetry or {}
            telemetry.update(
                temp_c=_r(reading.temp_c), throttle_c=_r(reading.throttle_c),
                battery_h=_r(reading.battery_h, 2),
            )  # fmt: skip
        f = self.flags
        return {
            "budget_mb": self.settings.memory_budget_mb,
            "reserved_mb": round(self.registry.reserved_mb(), 1),
            "decode_mb": round(self.service.decode_budget.in_use_bytes / 2**20, 1),
            "components": self.registry.snapshot(),
            "state": {
                "heat_step": f.heat,
                "memory_shed": f.memory_shed,
                "battery_saver": f.saver,
                "power_profile": f.profile.name if f.profile else None,
                "accepting_streams": self.service.accept_streams,
                "speech_model": self.service.transcriber.model_name,
                "beam_size": self.service.work.beam_size,
                "partial_scale": self.service.work.partial_scale,
                "llm_paused": self.slot.paused if self.slot is not None else None,
            },
            "telemetry": telemetry,
            "monitoring": {
                "interval_s": self.settings.runtime.interval_s,
                "samples": self.samples,
                "mean_sample_ms": round(1000 * self.sample_s_total / self.samples, 3)
                if self.samples
                else None,
            },
            "events": [dataclasses.asdict(e) for e in self.events],
        }


@functools.cache
def _profile(name: str) -> PowerProfile:
    return power_profile(name)


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
