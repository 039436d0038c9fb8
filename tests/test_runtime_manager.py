"""The runtime manager against fakes of the real interfaces: each policy action changes the
components as it should, budgets defer a load, profiles combine, and a speech-model switch never
fails a live decode that is waiting for it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fake_transcriber import LoadableFake
from prometheus_client import generate_latest

from tccc.config import Settings, resolve_settings
from tccc.errors import LlmUnavailableError, ModelError
from tccc.events import TranscriptResult
from tccc.llm.cache import LlmCache
from tccc.llm.model import Completion, Options
from tccc.llm.slot import ModelSlot
from tccc.runtime.components import Component, Registry
from tccc.runtime.manager import SHRUNK_CACHE_ENTRIES, RuntimeManager
from tccc.runtime.metrics import RuntimeMetrics
from tccc.runtime.policy import Reading, battery_drain, heat_ramp, memory_spike
from tccc.runtime.telemetry import Telemetry, TelemetrySample
from tccc.server.metrics import ServerMetrics
from tccc.server.service import TranscriptionService
from tccc.stt.transcriber import DecodeOptions, ProgressCallback


class FakeTranscriber(LoadableFake):
    """Answers with its model's name; counts loads; a decode waits for `gate` when given."""

    def __init__(self, model: str, gate: threading.Event | None = None) -> None:
        super().__init__(model)
        self.gate = gate
        self.started = threading.Event()
        self.loads = 0
        self.unloads = 0
        self.beams: list[int | None] = []

    def load(self) -> None:
        super().load()
        self.loads += 1

    def unload(self) -> None:
        super().unload()
        self.unloads += 1

    def transcribe(
        self,
        audio: np.ndarray,
        options: DecodeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> TranscriptResult:
        # A decode on an unloaded model would silently load it again: that must never happen.
        assert self.loaded, f"decode on unloaded {self.model}"
        self.beams.append(options.beam_size if options else None)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10), "the test never released the decode"
        return TranscriptResult(self.model, "en", 1.0, audio.size / 16000, model=self.model)


class FakeModel:
    """A LanguageModel that answers "{}" and can be closed."""

    name = "fake-llm"
    identity = "fake"

    def __init__(self) -> None:
        self.closed = False

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        return Completion("{}")

    def close(self) -> None:
        self.closed = True


def settings(**runtime: Any) -> Settings:
    base = resolve_settings(env={}).settings
    return dataclasses.replace(
        base,
        memory_budget_mb=4096,  # the Orin Nano's: the traces' service holds 1200-1500 MiB
        llm=dataclasses.replace(base.llm, enabled=True),
        runtime=dataclasses.replace(base.runtime, small_model="tiny-small", **runtime),
    )


Built = tuple[RuntimeManager, TranscriptionService, ModelSlot]


def build(s: Settings | None = None) -> Built:
    s = s or settings()
    metrics = ServerMetrics()
    service = TranscriptionService(
        FakeTranscriber(s.stt.model), num_workers=1, queue_size=1, metrics=metrics
    )
    slot = ModelSlot(FakeModel)
    manager = RuntimeManager(
        s,
        service,
        make_transcriber=FakeTranscriber,
        slot=slot,
        cache=LlmCache(max_entries=512),
        metrics=RuntimeMetrics(metrics.registry),
        rss_mb=lambda: 500.0,  # fakes take no memory; the process's own RSS would be noise
    )
    return manager, service, slot


async def started(s: Settings | None = None) -> Built:
    manager, service, slot = build(s)
    await manager.start()
    await manager.run()  # no telemetry: loads what fits and returns
    return manager, service, slot


def test_heat_ramp_degrades_and_restores_step_by_step() -> None:
    async def go() -> list[tuple[float, int | None, float, bool, str, bool]]:
        manager, service, slot = await started()
        assert slot.loaded and service.ready
        seen = []
        for reading in heat_ramp():
            if await manager.observe(reading):
                seen.append(
                    (
                        reading.t_s,
                        service.work.beam_size,
                        service.work.partial_scale,
                        slot.paused,
                        service.transcriber.model_name,
                        service.accept_streams,
                    )
                )
        return seen

    steps = asyncio.run(go())
    assert [s[1:] for s in steps] == [
        (1, 2.0, True, "tiny.en", True),  # reduce work, pause the language model
        (1, 2.0, True, "tiny-small", False),  # smaller model, no new streams
        (1, 2.0, True, "tiny.en", True),  # back to the configured model
        (None, 1.0, False, "tiny.en", True),  # full work again
    ]


def test_memory_spike_unloads_the_language_model_and_shrinks_the_cache() -> None:
    async def go() -> None:
        manager, service, slot = await started()
        cache = manager.cache
        assert cache is not None
        unloaded_at = reloaded_at = None
        for reading in memory_spike():
            await manager.observe(reading)
            if not slot.loaded and unloaded_at is None:
                unloaded_at = reading.t_s
                assert cache.max_entries == SHRUNK_CACHE_ENTRIES
                assert service.ready  # speech is never shed
            if unloaded_at is not None and slot.loaded and reloaded_at is None:
                reloaded_at = reading.t_s
                assert cache.max_entries == 512
        assert unloaded_at == 50.0
        assert reloaded_at is not None and reloaded_at >= 110.0 + 30.0
        llm = manager.registry.get("llm")
        assert (llm.loads, llm.unloads) == (2, 1)

    asyncio.run(go())


def test_battery_saver_applies_the_saver_profile_and_leaves_it_on_a_new_battery() -> None:
    async def go() -> None:
        manager, service, slot = await started()
        states = []
        for reading in battery_drain():
            if await manager.observe(reading):
                states.append(
                    (slot.loaded, service.work.partial_scale, service.transcriber.model_name)
                )
        assert states == [(False, 2.0, "tiny-small"), (True, 1.0, "tiny.en")]

    asyncio.run(go())


def test_language_model_waits_for_budget_and_free_memory() -> None:
    async def go() -> None:
        s = dataclasses.replace(settings(llm_mb=300, stt_mb=150, vad_mb=40), memory_budget_mb=400)
        manager, _service, slot = await started(s)
        assert not slot.loaded
        llm = manager.registry.get("llm")
        assert llm.reason.startswith("deferred: budget")
        assert any("deferred" in e.result for e in manager.events)
        manager.registry.budget_mb = 4000
        manager.config = dataclasses.replace(manager.config, memory_budget_mb=4000)
        await manager.observe(Reading(1.0, mem_available_mb=3000.0))
        assert slot.loaded
        # Too little free memory also defers it, through the readings the manager observes.
        await manager.operate("llm", "unload")
        await manager.operate("llm", "load")
        await manager.operate("llm", "unload")
        manager.held.clear()
        await manager.observe(Reading(2.0, mem_available_mb=600.0))
        assert not slot.loaded and "MemAvailable" in llm.reason
        # And a service already near the share of the budget at which the policy sheds.
        await manager.observe(Reading(3.0, mem_available_mb=3000.0, service_mb=3400.0))
        assert not slot.loaded and "of the budget" in llm.reason
        await manager.observe(Reading(4.0, mem_available_mb=3000.0, service_mb=900.0))
        assert slot.loaded

    asyncio.run(go())


def test_operator_profiles_combine_with_the_policy() -> None:
    async def go() -> None:
        manager, service, slot = await started()
        await manager.set_profile("saver")
        assert not slot.loaded and service.transcriber.model_name == "tiny-small"
        await manager.set_profile("performance")
        assert slot.loaded and service.transcriber.model_name == "tiny.en"
        assert service.work.beam_size is None
        await manager.set_profile("balanced")
        assert service.work.beam_size == 1
        # Heat on top of the balanced profile: paused, and the stricter setting wins.
        for reading in heat_ramp()[:45]:
            await manager.observe(reading)
        assert slot.paused and service.work.partial_scale == 2.0

    asyncio.run(go())


def test_metrics_and_snapshot_carry_the_actions() -> None:
    async def go() -> tuple[dict[str, object], str]:
        manager, service, _slot = await started()
        for reading in memory_spike()[:12]:
            await manager.observe(reading)
        return manager.snapshot(), generate_latest(service.metrics.registry).decode()

    snapshot, metrics = asyncio.run(go())
    assert 'tccc_runtime_actions_total{action="unload_llm"} 1.0' in metrics
    assert "tccc_runtime_memory_shed 1.0" in metrics
    events = snapshot["events"]
    assert isinstance(events, list)
    assert any(e["action"] == "unload_llm" and "MemAvailable" in e["reason"] for e in events)


def test_switching_the_speech_model_never_fails_a_waiting_live_decode() -> None:
    async def go() -> tuple[list[str], FakeTranscriber]:
        gate = threading.Event()
        service = TranscriptionService(
            FakeTranscriber("big", gate), num_workers=1, queue_size=0, metrics=ServerMetrics()
        )
        await service.load()
        audio = np.zeros(16000, dtype=np.int16)
        old = service.transcriber
        assert isinstance(old, FakeTranscriber)
        first = asyncio.create_task(service.transcribe_waiting(audio, DecodeOptions()))
        await asyncio.to_thread(old.started.wait, 10)  # the first decode is in flight
        switch = asyncio.create_task(service.switch(FakeTranscriber("small")))
        for _ in range(100):
            if not service.ready:
                break
            await asyncio.sleep(0.01)
        assert not service.ready and service.pending == 1 and old.is_loaded
        later = asyncio.create_task(service.transcribe_waiting(audio, DecodeOptions()))
        await asyncio.sleep(0.05)
        assert not later.done() and old.is_loaded  # waits; the old model is still decoding
        gate.set()
        results = await asyncio.gather(first, later, switch)
        return [results[0].text, results[1].text], old

    texts, old = asyncio.run(go())
    assert texts == ["big", "small"]  # in flight finished on the old, the waiting one on the new
    assert old.unloads == 1


def test_one_shot_requests_are_refused_while_the_speech_model_is_away() -> None:
    async def go() -> None:
        service = TranscriptionService(
            FakeTranscriber("m"), num_workers=1, queue_size=1, metrics=ServerMetrics()
        )
        await service.load()
        await service.unload()
        with pytest.raises(Exception) as caught:
            await service.transcribe(np.zeros(160, dtype=np.int16))
        assert getattr(caught.value, "code", "") == "not_ready"
        await service.reload()
        assert (await service.transcribe(np.zeros(160, dtype=np.int16))).text == "m"

    asyncio.run(go())


def test_heat_forces_beam_one_on_every_decode() -> None:
    async def go() -> list[int | None]:
        manager, service, _slot = await started()
        for reading in heat_ramp()[:45]:
            await manager.observe(reading)
        await service.transcribe(np.zeros(160, dtype=np.int16), DecodeOptions(beam_size=5))
        assert isinstance(service.transcriber, FakeTranscriber)
        return service.transcriber.beams

    assert asyncio.run(go())[-1] == 1


def test_slot_refuses_while_unloaded_or_paused_and_closes_the_model() -> None:
    models: list[FakeModel] = []

    def opener() -> FakeModel:
        models.append(FakeModel())
        return models[-1]

    slot = ModelSlot(opener)
    with pytest.raises(LlmUnavailableError):
        slot.chat([], Options())
    slot.load()
    assert slot.chat([], Options()).text == "{}"
    slot.pause()
    with pytest.raises(LlmUnavailableError):
        slot.chat([], Options())
    slot.resume()
    slot.unload()
    assert models[0].closed and slot.identity == "fake"  # cached answers stay valid


def test_registry_measures_and_reports_failures() -> None:
    rss = iter([100.0, 160.0, 160.0, 110.0])
    registry = Registry(1000, lambda: next(rss, 110.0))
    loaded = threading.Event()

    async def load() -> None:
        loaded.set()

    async def unload() -> None:
        loaded.clear()

    async def broken() -> None:
        raise ModelError("weights missing")

    async def go() -> None:
        registry.add(Component("m", 50, load, unload))
        registry.add(Component("bad", 10, broken))
        assert await registry.load("m", "test")
        assert await registry.unload("m", "test")
        assert not await registry.load("bad", "test")

    asyncio.run(go())
    m, bad = registry.get("m"), registry.get("bad")
    assert (m.measured_mb, m.freed_mb, m.state) == (60.0, 50.0, "unloaded")
    assert bad.state == "failed" and bad.error == "weights missing"
    assert m.cost_mb == 60.0  # the measured size, larger than declared, is what is reserved


class BrokenTranscriber(FakeTranscriber):
    """A model whose weights cannot be loaded."""

    def load(self) -> None:
        raise ModelError("model files are damaged")


def test_a_smaller_model_that_fails_to_load_falls_back_to_the_working_one() -> None:
    async def go() -> tuple[str, bool, list[str]]:
        s = settings()
        metrics = ServerMetrics()
        service = TranscriptionService(
            FakeTranscriber(s.stt.model), num_workers=1, queue_size=1, metrics=metrics
        )

        def make(model: str) -> FakeTranscriber:
            return BrokenTranscriber(model) if model == "tiny-small" else FakeTranscriber(model)

        manager = RuntimeManager(
            s, service, make_transcriber=make, slot=None, cache=None,
            metrics=RuntimeMetrics(metrics.registry),
        )  # fmt: skip
        await manager.start()
        for reading in heat_ramp()[:60]:
            await manager.observe(reading)
        results = [e.result for e in manager.events if e.action == "speech_model"]
        return service.transcriber.model_name, service.ready, results

    model, ready, results = asyncio.run(go())
    assert model == "tiny.en" and ready
    assert results == ["failed: model files are damaged; back to tiny.en"]


class FlakyTelemetry(Telemetry):
    """The recorded Orin Nano tree, with every other reading failing as a lost sensor would."""

    def __init__(self) -> None:
        tree = Path(__file__).parent / "fixtures" / "jetson" / "orin-nano"
        super().__init__(tree, tree)
        self.calls = 0

    def sample(self) -> TelemetrySample:
        self.calls += 1
        if self.calls % 2 == 1:
            raise OSError("sensor gone")
        return super().sample()


def test_a_failing_telemetry_read_does_not_end_the_monitoring() -> None:
    async def go() -> tuple[RuntimeManager, FlakyTelemetry]:
        manager, _service, _slot = build(settings(interval_s=0.1))
        telemetry = FlakyTelemetry()
        manager.telemetry = telemetry
        await manager.start()
        loop = asyncio.create_task(manager.run())
        for _ in range(1000):  # 10 s at most (room for a slow machine); about 0.6 s when it works
            if manager.samples >= 3 or loop.done():
                break
            await asyncio.sleep(0.01)
        assert not loop.done(), loop.exception() if loop.done() else None
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        return manager, telemetry

    manager, telemetry = asyncio.run(go())
    # The first reading (at start-up) failed and so did every other one: the loop went on.
    assert manager.samples >= 3 and telemetry.calls >= 6
    failures = [e for e in manager.events if e.action == "error" and e.reason == "OSError"]
    assert len(failures) >= 3
