"""The beam of final decodes (`stream.final_beam_size`): partials stay greedy whatever it says,
finals use it, the runtime caps it on a hot board and gives it back, and the setting validates.

Stage tests: a fake that implements the real `Transcriber` interface records the options of
every decode, through the real `LiveTranscriber` (and the real `TranscriptionService` and
`RuntimeManager` for the runtime's cap). A fake VAD says where the speech is.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from fake_transcriber import LoadableFake

from tccc.bench.stream import _beams, cpu_ratios
from tccc.bench.stt import digit_words, normalise
from tccc.cli.common import engine_flags, resolve
from tccc.config import Settings, StreamSettings, VadSettings, load_profiles, resolve_settings
from tccc.errors import ConfigError
from tccc.events import AudioChunk, LiveTranscript, Segment, TranscriptResult, Word
from tccc.runtime.manager import RuntimeManager
from tccc.runtime.metrics import RuntimeMetrics
from tccc.runtime.policy import heat_ramp
from tccc.server.metrics import ServerMetrics
from tccc.server.service import TranscriptionService
from tccc.stt.live import DecodeFn, LiveTranscriber
from tccc.stt.transcriber import DecodeOptions, ProgressCallback, Transcriber
from tccc.stt.vad import FRAME_SAMPLES

F = FRAME_SAMPLES
RATE = 16000
STREAM = StreamSettings(
    end_silence_ms=320, pre_roll_ms=96, post_roll_ms=64, partial_interval_ms=640
)
VAD = VadSettings(min_speech_ms=96, max_speech_s=30)
SHORT = "." * 5 + "s" * 10 + "." * 30
"""One short utterance: only the pause decode comes before the endpoint."""
TWO = "." * 5 + "s" * 10 + "." * 20 + "s" * 10 + "." * 30
"""Two short utterances 0.6 s apart: the second's join is read by a decode across the pause."""
LONG = "." * 5 + "s" * 80 + "." * 30
"""One 2.6 s utterance: partial decodes commit words before the final."""


@dataclass
class Call:
    """One decode the fake transcriber was asked for."""

    samples: int
    options: DecodeOptions | None


@dataclass
class Calls:
    """Every decode, across the fakes of one test (the runtime may switch models)."""

    all: list[Call] = field(default_factory=list)

    @property
    def beams(self) -> list[int | None]:
        return [c.options.beam_size if c.options else None for c in self.all]


class RecordingTranscriber(LoadableFake):
    """Implements the Transcriber interface: one word per VAD frame, tagged with the beam.

    A word reads "b5w3" for the fourth frame of a decode at beam 5, so a transcript says which
    decode its words came from.
    """

    def __init__(self, calls: Calls, model: str = "tiny.en") -> None:
        super().__init__(model)
        self.calls = calls

    def transcribe(
        self,
        audio: np.ndarray,
        options: DecodeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> TranscriptResult:
        self.calls.all.append(Call(audio.size, options))
        beam = options.beam_size if options and options.beam_size else 0
        texts = [f"b{beam}w{i}" for i in range(audio.size // F)]
        words = tuple(Word(i * F / RATE, (i + 1) * F / RATE, t, 0.9) for i, t in enumerate(texts))
        duration = audio.size / RATE
        segment = Segment(0, 0.0, duration, " ".join(texts), -0.2, 0.01, 1.2, 0.0, (), words)
        return TranscriptResult(
            " ".join(texts), "en", 1.0, duration, (segment,) if texts else (), model=self.model
        )


class PatternVad:
    """Implements the VadStream interface from a pattern, one char per frame ("s": speech)."""

    def __init__(self, pattern: str) -> None:
        self.probs = [0.9 if c == "s" else 0.05 for c in pattern]
        self.pos = 0
        self.pending = 0

    def feed(self, audio: np.ndarray) -> np.ndarray:
        self.pending += audio.size
        n, self.pending = divmod(self.pending, F)
        out = self.probs[self.pos : self.pos + n]
        out += [0.05] * (n - len(out))
        self.pos += n
        return np.asarray(out, dtype=np.float32)


async def _chunks(n_frames: int) -> AsyncIterator[AudioChunk]:
    for i in range(0, n_frames, 2):
        k = min(2, n_frames - i)
        yield AudioChunk(np.full(k * F, 100, dtype=np.int16), i * F)
        await asyncio.sleep(0)


def _thread_decode(transcriber: Transcriber) -> DecodeFn:
    async def decode(audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
        return await asyncio.to_thread(transcriber.transcribe, audio, options)

    return decode


async def _live(
    decode: DecodeFn,
    pattern: str,
    stream: StreamSettings,
    beam_cap: Callable[[], int | None] | None = None,
) -> tuple[list[LiveTranscript], LiveTranscriber]:
    live = LiveTranscriber(
        decode,
        stream=stream,
        vad=VAD,
        vad_stream=lambda: PatternVad(pattern),
        beam_cap=beam_cap,
    )
    return [e async for e in live.run(_chunks(len(pattern)))], live


def run(pattern: str, final_beam: int) -> tuple[list[LiveTranscript], LiveTranscriber, Calls]:
    calls = Calls()
    stream = dataclasses.replace(STREAM, final_beam_size=final_beam)
    events, live = asyncio.run(_live(_thread_decode(RecordingTranscriber(calls)), pattern, stream))
    return events, live, calls


# -- the live policy --------------------------------------------------------------------------


def test_the_final_is_decoded_at_the_final_beam_and_partials_greedily() -> None:
    events, live, calls = run(SHORT, 5)
    partials = [e for e in events if e.kind == "partial"]
    finals = [e for e in events if e.kind == "final"]
    assert partials and len(finals) == 1
    # The greedy pause decode is not reused: the endpoint decodes the utterance at beam 5.
    assert calls.beams == [1, 5]
    assert live.stats.reused_finals == 0 and live.stats.beam_finals == 1
    assert finals[0].committed and all(w.startswith("b5") for w in finals[0].committed.split())
    for p in partials:
        assert all(w.startswith("b1") for w in f"{p.committed} {p.tentative}".split())
    # Always an explicit beam: None would be the engine's stt.beam_size (one-shot requests).
    assert all(c.options is not None and c.options.beam_size is not None for c in calls.all)


def test_a_greedy_final_reuses_the_pause_decode() -> None:
    events, live, calls = run(SHORT, 1)
    assert calls.beams == [1]
    assert live.stats.reused_finals == 1 and live.stats.beam_finals == 0
    assert [e.kind for e in events][-1] == "final"


def test_every_decode_but_the_finals_is_greedy_with_joins_and_long_speech() -> None:
    events, live, calls = run(TWO, 3)
    finals = [e for e in events if e.kind == "final"]
    assert len(finals) == 2
    assert live.stats.boundary_decodes == 1  # the join across the pause: greedy
    assert calls.beams.count(3) == 2 and set(calls.beams) == {1, 3}

    events, live, calls = run(LONG, 5)
    assert live.stats.partials >= 3
    assert calls.beams.count(5) == 1 and set(calls.beams) == {1, 5}
    final = events[-1]
    assert final.kind == "final"
    # The last decode is the final's, at beam 5, over the whole utterance.
    assert calls.beams[-1] == 5
    assert calls.all[-1].samples == round((final.end - final.start) * RATE)
    committed = [e.committed for e in events if e.kind == "partial"][-1]
    # Words committed by greedy partials stay (clients already hold them); the rest is beam 5.
    assert final.committed.startswith(committed)
    assert all(w.startswith("b5") for w in final.committed[len(committed) :].split())


def test_a_beam_cap_makes_the_final_greedy_and_reuse_the_pause_decode() -> None:
    calls = Calls()
    stream = dataclasses.replace(STREAM, final_beam_size=5)
    decode = _thread_decode(RecordingTranscriber(calls))
    _, live = asyncio.run(_live(decode, SHORT, stream, beam_cap=lambda: 1))
    assert live.final_beam == 1
    assert calls.beams == [1] and live.stats.reused_finals == 1
    calls.all.clear()
    _, live = asyncio.run(_live(decode, SHORT, stream, beam_cap=lambda: None))
    assert live.final_beam == 5 and calls.beams == [1, 5]


# -- the runtime's reduce-work caps the final beam and restores it --------------------------------


def _runtime(calls: Calls) -> tuple[RuntimeManager, TranscriptionService, Settings]:
    settings = resolve_settings(
        env={},
        flags={"stream.final_beam_size": 5, "stream.vocabulary": False, "llm.enabled": False},
    ).settings
    metrics = ServerMetrics()
    service = TranscriptionService(
        RecordingTranscriber(calls), num_workers=1, queue_size=1, metrics=metrics
    )
    manager = RuntimeManager(
        settings,
        service,
        make_transcriber=lambda name: RecordingTranscriber(calls, name),
        slot=None,
        cache=None,
        metrics=RuntimeMetrics(metrics.registry),
        rss_mb=lambda: 500.0,
    )
    return manager, service, settings


@pytest.mark.parametrize("wired", [True, False], ids=["with-beam-cap", "service-only"])
def test_reduce_work_caps_the_final_beam_and_restore_work_gives_it_back(wired: bool) -> None:
    calls = Calls()

    async def go() -> list[tuple[int | None, list[int | None]]]:
        manager, service, settings = _runtime(calls)
        await manager.start()
        await manager.run()  # no telemetry: loads what fits and returns
        cap = (lambda: service.work.beam_size) if wired else None

        async def utterance() -> list[int | None]:
            calls.all.clear()
            await _live(service.transcribe_waiting, SHORT, settings.stream, cap)
            return calls.beams

        seen = [(service.work.beam_size, await utterance())]
        ramp = iter(heat_ramp())
        for reading in ramp:  # up to "reduce_work"
            actions = await manager.observe(reading)
            if any(a.name == "reduce_work" for a in actions):
                break
        seen.append((service.work.beam_size, await utterance()))
        for reading in ramp:  # on to "restore_work"
            actions = await manager.observe(reading)
            if any(a.name == "restore_work" for a in actions):
                break
        seen.append((service.work.beam_size, await utterance()))
        return seen

    normal, hot, restored = asyncio.run(go())
    assert normal == (None, [1, 5])
    # Hot: every decode the model sees is greedy. Told the cap, the live policy reuses the
    # pause decode; without it, the service still turns the beam-5 request into beam 1.
    assert hot == (1, [1] if wired else [1, 1])
    assert restored == (None, [1, 5])


# -- the setting ------------------------------------------------------------------------------


@pytest.mark.parametrize("beam", [0, -1, 17])
def test_the_final_beam_must_be_1_to_16(beam: int) -> None:
    with pytest.raises(ConfigError, match="final_beam_size"):
        StreamSettings(final_beam_size=beam)
    with pytest.raises(ConfigError):
        resolve_settings(env={"TCCC_FINAL_BEAM_SIZE": str(beam)})


def test_the_final_beam_comes_from_flag_environment_and_profile() -> None:
    parser = engine_flags(argparse.ArgumentParser())
    args = parser.parse_args(["--final-beam-size", "3", "--profile", "cpu"])
    assert resolve(args).settings.stream.final_beam_size == 3
    assert resolve(args).sources["stream.final_beam_size"] == "flag"
    with pytest.raises(ConfigError):
        resolve(parser.parse_args(["--final-beam-size", "0"]))
    env = resolve_settings(env={"TCCC_FINAL_BEAM_SIZE": "2"})
    assert env.settings.stream.final_beam_size == 2
    chosen = {
        name: resolve_settings(profile=name, env={}).settings.stream.final_beam_size
        for name in load_profiles()
    }
    # Greedy finals everywhere but the GPU node (see the reasons in profiles.toml).
    assert chosen == {
        "cpu": 1,
        "jetson-orin-nano": 1,
        "jetson-xavier-nx": 1,
        "jetson-nano": 1,
        "gpu": 5,
    }
    for name in chosen:
        source = resolve_settings(profile=name, env={}).sources["stream.final_beam_size"]
        assert source == f"profile:{name}"


# -- the benchmark's helpers --------------------------------------------------------------------


def test_digit_strings_score_the_same_however_they_are_grouped() -> None:
    reference = digit_words(normalise("one zero zero zero one nine oh two one"))
    for hypothesis in ("1,0001 9021", "1 0 0 0 1 9 0 2 1", "10001 9 0 2 1"):
        assert digit_words(normalise(hypothesis)) == reference, hypothesis
    assert digit_words(["the", "one", "42", "2.5"]) == ["the", "1", "4", "2", "2.5"]


def test_final_beams_argument_and_ratios_per_label() -> None:
    assert _beams("1,5") == [1, 5] and _beams("3") == [3]
    for bad in ("0", "1,x", "", "17"):
        with pytest.raises(argparse.ArgumentTypeError):
            _beams(bad)

    @dataclass
    class R:
        label: str
        data: str
        mode: str
        cpu_per_audio_s: float

    reports = [R("b1", "speech", "stream", 0.2), R("b1", "speech", "oneshot", 0.1)]
    reports += [R("b5", "speech", "stream", 0.3), R("b5", "speech", "oneshot", 0.2)]
    assert cpu_ratios(reports) == {"b1 speech": 2.0, "b5 speech": 1.5}  # type: ignore[arg-type]
    assert cpu_ratios(reports[:2]) == {"speech": 2.0}  # type: ignore[arg-type]
