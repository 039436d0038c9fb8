"""`tccc runtime simulate TRACE`: a telemetry trace through the policy, as a timeline.

A trace is JSON lines, one reading each: {"t_s", "mem_available_mb", "service_mb", "temp_c",
"throttle_c"} (missing keys: the reader could not tell). The bundled traces (heat ramp, memory
spike) live in tccc/data/traces/ and are named without their extension.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields
from importlib import resources
from pathlib import Path

from tccc.config import Settings
from tccc.errors import ConfigError
from tccc.runtime.manager import RuntimeManager
from tccc.runtime.policy import Action, PolicyConfig, PolicyState, Reading, decide

_KEYS = {f.name for f in fields(Reading)}


def bundled_traces() -> list[str]:
    """Names of the traces shipped with tccc."""
    folder = resources.files("tccc").joinpath("data/traces")
    return sorted(
        p.name.removesuffix(".jsonl") for p in folder.iterdir() if p.name.endswith(".jsonl")
    )


def load_trace(name_or_path: str) -> list[Reading]:
    """A trace by bundled name or file path (ConfigError when it cannot be read)."""
    path = Path(name_or_path)
    if not path.is_file():
        bundled = resources.files("tccc").joinpath(f"data/traces/{name_or_path}.jsonl")
        if not bundled.is_file():
            known = ", ".join(bundled_traces())
            raise ConfigError(f"no trace {name_or_path!r} (a file, or one of: {known})")
        text = bundled.read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    readings = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            readings.append(Reading(**{k: v for k, v in data.items() if k in _KEYS}))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"trace line {number}: {exc}") from exc
    return readings


def timeline(readings: list[Reading], config: PolicyConfig | None = None) -> list[str]:
    """One line per action: time, action, reason (and the state it leaves)."""
    config = config or PolicyConfig()
    state = PolicyState()
    lines: list[str] = []
    actions: list[Action]
    for reading in readings:
        state, actions = decide(state, reading, config)
        for action in actions:
            lines.append(
                f"{action.t_s:7.1f} s  {action.name:<22} {action.reason}"
                f"  [heat step {state.thermal}, memory {'shed' if state.memory_shed else 'ok'}]"
            )
    return lines


async def simulate_real(
    readings: list[Reading], settings: Settings, *, budget_mb: float | None = None
) -> list[str]:
    """Replay a trace through the runtime manager of real components, in compressed time.

    The speech model and the language model are loaded as `tccc serve` loads them; every
    action is applied to them, measured, and followed by a short transcription that shows
    speech recognition still works (and with which model, at what cost).
    """
    from importlib import resources

    from tccc.audio.decode import decode_audio
    from tccc.stt.transcriber import DecodeOptions

    manager = real_manager(settings, budget_mb=budget_mb)
    service, slot = manager.service, manager.slot
    assert slot is not None
    sample = resources.files("tccc").joinpath("data/sample_narration.ogg").read_bytes()
    probe = decode_audio(sample)[: 16000 * 4]
    lines: list[str] = []
    seen = 0

    def new_events(t_s: float) -> None:
        nonlocal seen
        events = list(manager.events)
        for event in events[seen:]:
            lines.append(f"{t_s:7.1f} s    {event.action:<20} {event.result}")
        seen = len(events)

    async def check(t_s: float) -> None:
        result = await service.transcribe(probe, DecodeOptions(language="en"))
        lines.append(
            f"{t_s:7.1f} s    probe                {service.transcriber.model_name}, "
            f"beam {service.work.beam_size or settings.stt.beam_size}: 4 s of speech in "
            f"{result.processing_s:.2f} s, {len(result.text.split())} words"
        )

    try:
        await manager.start()
        await manager.run()  # no telemetry: loads what fits, then returns
        new_events(0.0)
        await check(0.0)
        for reading in readings:
            actions = await manager.observe(reading)
            for action in actions:
                lines.append(f"{action.t_s:7.1f} s  {action.name:<22} {action.reason}")
            if actions:
                new_events(reading.t_s)
                await check(reading.t_s)
    finally:
        slot.unload()
        service.shutdown()
    return lines


def real_manager(settings: Settings, *, budget_mb: float | None = None) -> RuntimeManager:
    """A runtime manager of the real components, in process, without telemetry."""
    from tccc.llm.cache import LlmCache
    from tccc.llm.open import open_model
    from tccc.llm.slot import ModelSlot
    from tccc.runtime.metrics import RuntimeMetrics
    from tccc.server.metrics import ServerMetrics
    from tccc.server.service import TranscriptionService
    from tccc.stt.vad import _load_silero
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    settings = dataclasses.replace(settings, llm=dataclasses.replace(settings.llm, enabled=True))
    if budget_mb:
        settings = dataclasses.replace(settings, memory_budget_mb=int(budget_mb))

    def transcriber(model: str) -> FasterWhisperTranscriber:
        return FasterWhisperTranscriber(
            dataclasses.replace(settings.stt, model=model), settings.vad
        )

    metrics = ServerMetrics()
    service = TranscriptionService(
        transcriber(settings.stt.model), num_workers=1, queue_size=1, metrics=metrics
    )
    slot = ModelSlot(lambda: open_model(settings.llm))
    manager = RuntimeManager(
        settings,
        service,
        make_transcriber=transcriber,
        slot=slot,
        cache=LlmCache(max_entries=settings.llm.cache_entries),
        metrics=RuntimeMetrics(metrics.registry),
        load_vad=_load_silero,
    )
    return manager
