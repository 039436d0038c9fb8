"""The live transcription policy: with a fake VAD and decoder (policy), then real Whisper."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tccc.config import Settings, StreamSettings, VadSettings
from tccc.events import (
    AudioChunk,
    LiveTranscript,
    NormalisedText,
    Segment,
    TranscriptResult,
    Word,
)
from tccc.stt.live import LiveTranscriber
from tccc.stt.transcriber import DecodeOptions
from tccc.stt.vad import FRAME_SAMPLES

if TYPE_CHECKING:
    from conftest import SpeechData

F = FRAME_SAMPLES
STREAM = StreamSettings(
    end_silence_ms=320, pre_roll_ms=96, post_roll_ms=64, partial_interval_ms=640
)
VAD = VadSettings(min_speech_ms=96, max_speech_s=30)


class PatternVad:
    """Implements the VadStream interface from a speech/silence pattern, one char per frame."""

    def __init__(self, pattern: str) -> None:
        self.probs = [0.9 if c == "s" else 0.05 for c in pattern]
        self.pos = 0
        self.pending = 0

    def feed(self, audio: np.ndarray) -> np.ndarray:
        self.pending += audio.size
        n = self.pending // F
        self.pending -= n * F
        out = self.probs[self.pos : self.pos + n]
        out += [0.05] * (n - len(out))
        self.pos += n
        return np.asarray(out, dtype=np.float32)


class WordPerFrameDecoder:
    """Implements the decode function: one word per speech frame of the audio it is given."""

    def __init__(self, pattern: str, delay_s: float = 0.0) -> None:
        self.pattern = pattern
        self.delay_s = delay_s
        self.calls: list[int] = []

    async def __call__(self, audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
        self.calls.append(audio.size)
        await asyncio.sleep(self.delay_s)
        # The audio's position is unknown to a decoder; tag words by their frame in the clip.
        return _result(audio.size, [f"w{i}" for i in range(audio.size // F)])


def _result(samples: int, texts: Sequence[str]) -> TranscriptResult:
    words = tuple(Word(i * F / 16000, (i + 1) * F / 16000, t, 0.9) for i, t in enumerate(texts))
    seg = Segment(0, 0.0, samples / 16000, " ".join(texts), -0.2, 0.01, 1.2, 0.0, (), words)
    return TranscriptResult(" ".join(texts), "en", 1.0, samples / 16000, (seg,) if texts else ())


async def chunks(
    n_frames: int, per_chunk: int = 2, stop_at: int | None = None
) -> AsyncIterator[AudioChunk]:
    total = n_frames if stop_at is None else stop_at
    for i in range(0, total, per_chunk):
        k = min(per_chunk, total - i)
        yield AudioChunk(np.full(k * F, 100, dtype=np.int16), i * F)
        await asyncio.sleep(0)


def run_policy(
    pattern: str, *, partials: bool = True
) -> tuple[list[LiveTranscript], LiveTranscriber, WordPerFrameDecoder]:
    """Run the policy over a frame pattern with the fake VAD and decoder."""
    decoder = WordPerFrameDecoder(pattern)
    live = LiveTranscriber(
        decoder,
        stream=STREAM,
        vad=VAD,
        partials=partials,
        vad_stream=lambda: PatternVad(pattern),
    )

    async def go() -> list[LiveTranscript]:
        return [e async for e in live.run(chunks(len(pattern)))]

    return asyncio.run(go()), live, decoder


def test_each_utterance_gets_one_final_in_order() -> None:
    events, live, _ = run_policy("." * 10 + "s" * 30 + "." * 20 + "s" * 30 + "." * 20)
    finals = [e for e in events if e.kind == "final"]
    assert [f.utterance_id for f in finals] == [0, 1]
    assert finals[0].end <= finals[1].start
    assert live.stats.utterances == 2


def test_a_failing_normaliser_keeps_the_final_as_heard(caplog: pytest.LogCaptureFixture) -> None:
    pattern = "." * 10 + "s" * 30 + "." * 20 + "s" * 30 + "." * 20
    calls: list[str] = []

    def broken(text: str) -> NormalisedText:
        calls.append(text)
        raise ValueError(f"bad token in {text}")

    live = LiveTranscriber(
        WordPerFrameDecoder(pattern),
        stream=STREAM,
        vad=VAD,
        normalise=broken,
        vad_stream=lambda: PatternVad(pattern),
    )

    async def go() -> list[LiveTranscript]:
        return [e async for e in live.run(chunks(len(pattern)))]

    finals = [e for e in asyncio.run(go()) if e.kind == "final"]
    assert [f.utterance_id for f in finals] == [0, 1]
    assert all(f.committed and f.normalised is None for f in finals)
    assert live.stats.normaliser_errors == len(calls) == 2
    # The error is logged without the words it was given.
    assert "ValueError" in caplog.text and "w1" not in caplog.text


def test_partials_come_while_speaking_and_commit_only_grows() -> None:
    events, _, _ = run_policy("." * 5 + "s" * 80 + "." * 20)
    partials = [e for e in events if e.kind == "partial"]
    assert len(partials) >= 3
    for a, b in itertools.pairwise(partials):
        assert b.committed.startswith(a.committed)
    final = next(e for e in events if e.kind == "final")
    assert final.committed.startswith(partials[-1].committed)


def test_final_reuses_a_decode_that_heard_all_the_speech() -> None:
    # A pause decode covers the speech; the endpoint then needs no second decode.
    events, live, decoder = run_policy("." * 5 + "s" * 10 + "." * 30)
    assert live.stats.reused_finals == 1
    assert len(decoder.calls) == 1
    assert [e.kind for e in events][-1] == "final"


def test_slow_decodes_stretch_the_partial_interval() -> None:
    # Decodes that take 1.6 s (at load 0.5: a partial every 3.2 s of audio) make partials
    # rarer than the 640 ms setting, so the decoder is never kept busy by partials alone.
    class SlowDecoder(WordPerFrameDecoder):
        async def __call__(self, audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
            result = await super().__call__(audio, options)
            return dataclasses.replace(result, processing_s=1.6)

    pattern = "." * 5 + "s" * 300 + "." * 20
    fast = LiveTranscriber(
        WordPerFrameDecoder(pattern),
        stream=STREAM,
        vad=VAD,
        vad_stream=lambda: PatternVad(pattern),
    )
    slow = LiveTranscriber(
        SlowDecoder(pattern), stream=STREAM, vad=VAD, vad_stream=lambda: PatternVad(pattern)
    )

    async def go(live: LiveTranscriber) -> list[LiveTranscript]:
        return [e async for e in live.run(chunks(len(pattern)))]

    fast_events = asyncio.run(go(fast))
    slow_events = asyncio.run(go(slow))
    assert abs(slow.partial_interval - 1.6 / 0.5 * 16000) <= 1
    assert fast.partial_interval == 640 * 16
    n_fast = sum(e.kind == "partial" for e in fast_events)
    n_slow = sum(e.kind == "partial" for e in slow_events)
    assert n_slow * 3 <= n_fast
    assert n_slow >= 1


def test_decoder_that_stops_early_loses_no_speech() -> None:
    # A decoder that hears at most 40 frames of any clip (as tiny.en sometimes ends a long
    # window early): the rest of the utterance is decoded on its own and appended.
    class EarlyStop(WordPerFrameDecoder):
        async def __call__(self, audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
            self.calls.append(audio.size)
            n = min(audio.size // F, 40)
            rng = np.random.default_rng(len(self.calls))
            letters = "abcdefghijklmnopqrstuvwxyz"
            # Varied words, so the hallucination filter's compression check keeps them.
            texts = ["".join(rng.choice(list(letters), 6)) for _ in range(n)]
            return _result(audio.size, texts)

    pattern = "." * 5 + "s" * 100 + "." * 20
    decoder = EarlyStop(pattern)
    live = LiveTranscriber(
        decoder, stream=STREAM, vad=VAD, partials=False, vad_stream=lambda: PatternVad(pattern)
    )

    async def go() -> list[LiveTranscript]:
        return [e async for e in live.run(chunks(len(pattern)))]

    final = next(e for e in asyncio.run(go()) if e.kind == "final")
    assert live.stats.tail_decodes >= 1
    # One decode hears 40 frames (1.3 s); the words now reach within a second of the end of
    # speech (frame 105, 3.4 s), in time order.
    assert final.words[-1].end >= 105 * F / 16000 - 1.0
    starts = [w.start for w in final.words]
    assert starts == sorted(starts)


def test_without_partials_only_finals_are_decoded() -> None:
    events, _, decoder = run_policy("." * 5 + "s" * 80 + "." * 20, partials=False)
    assert [e.kind for e in events] == ["final"]
    assert len(decoder.calls) == 1


def test_stream_ending_mid_utterance_is_finalised() -> None:
    pattern = "." * 5 + "s" * 40
    events, _, _ = run_policy(pattern)
    final = [e for e in events if e.kind == "final"]
    assert len(final) == 1
    assert final[0].end == pytest.approx(len(pattern) * F / 16000, abs=0.01)


def test_session_times_are_absolute_and_monotonic() -> None:
    events, _, _ = run_policy("." * 50 + "s" * 20 + "." * 30 + "s" * 20 + "." * 20)
    words = [w for e in events if e.kind == "final" for w in e.words]
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert words[0].start >= (50 - 3) * F / 16000  # after the leading silence, minus pre-roll


def test_gap_in_audio_keeps_session_time() -> None:
    async def gappy() -> AsyncIterator[AudioChunk]:
        yield AudioChunk(np.full(10 * F, 100, dtype=np.int16), 0)
        yield AudioChunk(np.full(40 * F, 100, dtype=np.int16), 20 * F)  # 10 frames were lost

    pattern = "." * 25 + "s" * 20 + "." * 5
    live = LiveTranscriber(
        WordPerFrameDecoder(pattern), stream=STREAM, vad=VAD, vad_stream=lambda: PatternVad(pattern)
    )

    async def go() -> list[LiveTranscript]:
        return [e async for e in live.run(gappy())]

    finals = [e for e in asyncio.run(go()) if e.kind == "final"]
    assert live.stats.gaps_s == pytest.approx(10 * F / 16000)
    assert finals[0].start == pytest.approx((25 - 3) * F / 16000, abs=0.001)


# -- real Whisper on real speech ---------------------------------------------------------------

LONG = "ls_1089-134686-0000.flac"


@pytest.fixture(scope="module")
def whisper() -> object:
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    s = Settings()
    t = FasterWhisperTranscriber(s.stt, s.vad)
    t.load()
    return t


def live_events(whisper: object, samples: np.ndarray, step: int = 1600) -> list[LiveTranscript]:
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    assert isinstance(whisper, FasterWhisperTranscriber)

    async def decode(audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
        return await asyncio.to_thread(whisper.transcribe, audio, options)

    async def source() -> AsyncIterator[AudioChunk]:
        for i in range(0, samples.size, step):
            yield AudioChunk(samples[i : i + step], i)
            await asyncio.sleep(0.01)  # let decodes interleave as they would live

    s = Settings()
    live = LiveTranscriber(decode, stream=s.stream, vad=s.vad)

    async def go() -> list[LiveTranscript]:
        return [e async for e in live.run(source())]

    return asyncio.run(go())


def test_real_clip_partials_are_prefixes_of_the_final(whisper: object, speech: SpeechData) -> None:
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    assert isinstance(whisper, FasterWhisperTranscriber)
    samples = speech.pcm(LONG)
    events = live_events(whisper, samples)
    finals = [e for e in events if e.kind == "final"]
    partials = [e for e in events if e.kind == "partial"]
    assert partials, "no partial transcripts while the clip was streamed"
    for p in partials:
        final = next(f for f in finals if f.utterance_id == p.utterance_id)
        assert final.committed.startswith(p.committed)
    text = " ".join(f.committed for f in finals)
    one_shot = whisper.transcribe(samples, DecodeOptions(vad=False)).text
    # Streaming decodes the utterance with the same model: no worse than one-shot (one clip,
    # so one or two words of slack).
    assert speech.wer(LONG, text) <= speech.wer(LONG, one_shot) + 0.1
    speech.assert_transcript(LONG, text)
    words = [w for f in finals for w in f.words]
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert words[-1].end <= samples.size / 16000 + 0.05


def test_real_clip_cut_mid_utterance_keeps_the_tail(whisper: object, speech: SpeechData) -> None:
    samples = speech.pcm(LONG)
    cut = samples[: int(samples.size * 0.55)]  # ends inside a word-rich stretch
    finals = [e for e in live_events(whisper, cut) if e.kind == "final"]
    text = " ".join(f.committed for f in finals).lower()
    assert "stew for dinner" in text
    assert "turnips" in text  # said in the last second before the cut


class FrameTagDecoder:
    """Implements the decode function: one word per frame, named by the tag its samples carry.

    A decode of one utterance writes it like Whisper writes a segment (a capital first, a
    period last); a decode that contains silence (a decode across a pause) writes its words
    as one run, without either.
    """

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def __call__(self, audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
        tags = [int(audio[i * F]) for i in range(audio.size // F)]
        self.calls.append(tags)
        await asyncio.sleep(0.001)  # a decode takes time: the consumer runs meanwhile
        texts = [f"w{t}" for t in tags if t > 0]
        if texts and 0 not in tags:
            texts[0], texts[-1] = texts[0].capitalize(), texts[-1] + "."
        spoken = [i for i, t in enumerate(tags) if t > 0]
        words = tuple(
            Word(i * F / 16000, (i + 1) * F / 16000, text, 0.9)
            for i, text in zip(spoken, texts, strict=True)
        )
        seg = Segment(0, 0.0, audio.size / 16000, " ".join(texts), -0.2, 0.01, 1.2, 0.0, (), words)
        return TranscriptResult(" ".join(texts), "en", 1.0, audio.size / 16000, (seg,))


async def tagged_chunks(n_frames: int) -> AsyncIterator[AudioChunk]:
    """Frames whose samples all hold the frame's number (from 1): decoders can tell them apart."""
    for i in range(0, n_frames, 2):
        tags = np.repeat(np.arange(i + 1, min(i + 2, n_frames) + 1, dtype=np.int16), F)
        yield AudioChunk(tags, i * F)
        await asyncio.sleep(0)


@pytest.mark.parametrize("join", [True, False])
def test_a_decode_across_the_pause_reads_how_finals_join(join: bool) -> None:
    from tccc.stt.join import Boundary, SessionText

    pattern = "." * 10 + "s" * 30 + "." * 20 + "s" * 30 + "." * 20
    decoder = FrameTagDecoder()
    live = LiveTranscriber(
        decoder,
        stream=STREAM,
        vad=VAD,
        vad_stream=lambda: PatternVad(pattern),
        join_boundaries=join,
    )
    joined = SessionText()

    async def go() -> list[LiveTranscript]:
        events = []
        async for event in live.run(tagged_chunks(len(pattern))):
            if event.committed and live.join_pending(event.utterance_id):
                # Sent before its join is read: the reading comes before any later event.
                pending.append(event.utterance_id)
            elif pending:
                assert not live.join_pending(pending[-1])
            events.append(event)
        return events

    pending: list[int] = []
    events = asyncio.run(go())
    finals = [e for e in events if e.kind == "final"]
    assert len(finals) == 2
    for final in finals:
        joined.add(final, live.boundary(final.utterance_id))
    assert pending == ([1] if join else [])
    # Each final keeps its own decode's text: a capital first, a period last.
    assert finals[0].committed.endswith(".") and finals[1].committed[0] == "W"
    if not join:
        assert live.stats.boundary_decodes == 0 and live.boundary(1) is None
        # Without a reading the model's sentence end stands.
        assert joined.text == f"{finals[0].committed} {finals[1].committed}"
        return
    # One decode across the one pause, decided before utterance 1 showed committed text.
    assert live.stats.boundary_decodes == 1
    assert live.boundary(0) is None and live.boundary(1) == Boundary("", next_capital=False)
    assert joined.text == f"{finals[0].committed[:-1]} {finals[1].committed.lower()}"
    # It decoded the end of utterance 0, the pause as silence, and the start of utterance 1.
    (across,) = [tags for tags in decoder.calls if 0 in tags]
    silence = [i for i, t in enumerate(across) if t == 0]
    assert silence == list(range(silence[0], silence[-1] + 1))
    assert across[silence[0] - 1] == round(finals[0].end * 16000 / F)
    assert across[silence[-1] + 1] == round(finals[1].start * 16000 / F) + 1
