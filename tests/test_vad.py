"""VAD decisions (pure) and Silero on real speech."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tccc.audio.decode import decode_audio, to_float32
from tccc.config import VadSettings
from tccc.events import SpeechSpan
from tccc.stt.vad import FRAME_SAMPLES, SileroVad, SpanTimeMap, concat_spans, speech_spans

OPTS = VadSettings(threshold=0.5, min_speech_ms=250, speech_pad_ms=0, min_silence_ms=320)
F = FRAME_SAMPLES  # 32 ms


def frames(pattern: str) -> list[float]:
    """'s' = speech frame (0.9), '.' = silence frame (0.05), '~' = borderline (0.4)."""
    return [{"s": 0.9, ".": 0.05, "~": 0.4}[c] for c in pattern]


def test_silence_gives_no_spans() -> None:
    assert speech_spans(frames("." * 100), 100 * F, OPTS) == []


def test_one_utterance() -> None:
    probs = frames("." * 10 + "s" * 20 + "." * 30)
    assert speech_spans(probs, len(probs) * F, OPTS) == [SpeechSpan(10 * F, 30 * F)]


def test_short_blip_is_dropped() -> None:
    probs = frames("." * 10 + "sss" + "." * 30)  # 96 ms < 250 ms
    assert speech_spans(probs, len(probs) * F, OPTS) == []


def test_short_pause_does_not_split() -> None:
    probs = frames("s" * 20 + "." * 5 + "s" * 20 + "." * 20)  # 160 ms pause < 320 ms
    assert speech_spans(probs, len(probs) * F, OPTS) == [SpeechSpan(0, 45 * F)]


def test_long_pause_splits() -> None:
    probs = frames("s" * 20 + "." * 15 + "s" * 20 + "." * 20)
    assert speech_spans(probs, len(probs) * F, OPTS) == [
        SpeechSpan(0, 20 * F),
        SpeechSpan(35 * F, 55 * F),
    ]


def test_hysteresis_keeps_borderline_frames_inside_speech() -> None:
    probs = frames("s" * 10 + "~" * 20 + "s" * 10 + "." * 20)
    assert speech_spans(probs, len(probs) * F, OPTS) == [SpeechSpan(0, 40 * F)]


def test_speech_running_to_the_end_keeps_its_tail() -> None:
    probs = frames("." * 5 + "s" * 30)
    total = len(probs) * F - 100  # the last frame was padded
    spans = speech_spans(probs, total, OPTS)
    assert spans == [SpeechSpan(5 * F, total)]


def test_padding_is_added_and_clamped_without_overlap() -> None:
    opts = replace(OPTS, speech_pad_ms=400)
    probs = frames("s" * 20 + "." * 15 + "s" * 20)
    total = len(probs) * F
    spans = speech_spans(probs, total, opts)
    assert spans[0].start == 0 and spans[-1].end == total
    assert len(spans) == 2
    assert spans[0].end <= spans[1].start


def test_max_speech_cuts_at_last_pause() -> None:
    opts = replace(OPTS, max_speech_s=2.0)  # 62.5 frames
    probs = frames("s" * 40 + "...." + "s" * 60 + "." * 20)
    spans = speech_spans(probs, len(probs) * F, opts)
    assert spans[0] == SpeechSpan(0, 40 * F)
    assert spans[1].start == 44 * F
    assert all(s.end - s.start <= 2.0 * 16000 for s in spans)


def test_max_speech_hard_cut_without_pause() -> None:
    opts = replace(OPTS, max_speech_s=1.0)
    probs = frames("s" * 100 + "." * 20)
    spans = speech_spans(probs, len(probs) * F, opts)
    assert len(spans) >= 3
    assert all(s.end - s.start <= 16000 for s in spans)
    # Cuts lose no speech: the spans tile the speech stretch.
    assert spans[0].start == 0 and spans[-1].end == 100 * F
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))


def test_time_map_restores_original_times() -> None:
    spans = (SpeechSpan(16000, 32000), SpeechSpan(80000, 96000))  # 1-2 s and 5-6 s
    tmap = SpanTimeMap(spans)
    assert tmap.original_time(0.0) == 1.0
    assert tmap.original_time(0.5) == 1.5
    assert tmap.original_time(1.0, is_end=True) == 2.0
    assert tmap.original_time(1.0) == 5.0
    assert tmap.original_time(1.5) == 5.5
    audio = np.arange(100000, dtype=np.float32)
    assert concat_spans(audio, spans).size == 32000


@pytest.fixture(scope="module")
def jfk(speech_dir: Path) -> np.ndarray:
    return to_float32(decode_audio(speech_dir / "audio" / "jfk.flac"))


def test_silero_finds_speech_in_real_audio_and_nothing_in_silence(jfk: np.ndarray) -> None:
    vad = SileroVad()
    padded = np.concatenate([np.zeros(32000, np.float32), jfk, np.zeros(48000, np.float32)])
    spans = vad.spans(padded, VadSettings())
    assert spans, "no speech found in a real speech clip"
    assert spans[0].start >= 32000 - 400 * 16  # not before the leading silence minus padding
    assert spans[-1].end <= padded.size - 48000 + 400 * 16 + 1000
    speech = sum(s.end - s.start for s in spans)
    assert 0.6 * jfk.size < speech <= padded.size
    assert vad.spans(np.zeros(48000, np.float32), VadSettings()) == []
    noise = np.random.default_rng(0).normal(0, 0.001, 48000).astype(np.float32)
    assert vad.spans(noise, VadSettings()) == []
