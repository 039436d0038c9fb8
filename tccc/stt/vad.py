"""Voice activity detection: Silero frame probabilities and the pure speech-span decision."""

from __future__ import annotations

import bisect
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.config import VadSettings
from tccc.errors import ModelError
from tccc.events import SpeechSpan

_LOGGER = logging.getLogger(__name__)

FRAME_SAMPLES = 512
"""Silero VAD scores audio in 32 ms frames of 512 samples at 16 kHz."""
_MAX_SPEECH_SPLIT_SILENCE_MS = 98
"""A pause this long inside over-long speech is preferred as the cut point (as in Silero)."""


def speech_spans(
    probs: Sequence[float] | np.ndarray,
    total_samples: int,
    options: VadSettings,
    *,
    frame_samples: int = FRAME_SAMPLES,
) -> list[SpeechSpan]:
    """Turn per-frame speech probabilities into padded speech spans (pure decision logic).

    Hysteresis: a frame at or above `threshold` starts speech; speech ends after
    `min_silence_ms` of frames below `threshold - 0.15`. Speech longer than `max_speech_s` is
    cut at its last pause of about 100 ms, or hard-cut if it has none. Spans shorter than
    `min_speech_ms` are dropped; the rest are padded by `speech_pad_ms` without overlapping.
    """
    threshold = options.threshold
    neg_threshold = max(threshold - 0.15, 0.01)
    ms = SAMPLE_RATE / 1000
    min_speech = options.min_speech_ms * ms
    min_silence = options.min_silence_ms * ms
    pad = int(options.speech_pad_ms * ms)
    # The cut leaves room for the padding so that padded spans stay within max_speech_s.
    max_speech = options.max_speech_s * SAMPLE_RATE - frame_samples - 2 * pad
    split_silence = _MAX_SPEECH_SPLIT_SILENCE_MS * ms

    # (start, end, continues a cut): a piece after a forced cut is never dropped as too short,
    # since it is the tail of real speech.
    raw: list[tuple[int, int, bool]] = []
    triggered = False
    continued = False
    start = 0
    silence_start: int | None = None
    last_pause: tuple[int, int] | None = None  # (pause start, speech resumes) inside this span

    for i, prob in enumerate(probs):
        pos = i * frame_samples
        if prob >= threshold:
            if silence_start is not None:
                if pos - silence_start >= split_silence:
                    last_pause = (silence_start, pos)
                silence_start = None
            if not triggered:
                triggered, start, last_pause, continued = True, pos, None, False
                continue
        if not triggered:
            continue
        if pos - start > max_speech:
            if last_pause is not None:
                raw.append((start, last_pause[0], continued))
                start = last_pause[1]
            else:
                raw.append((start, pos, continued))
                start = pos
            last_pause, continued = None, True
            if silence_start is not None and silence_start < start:
                silence_start = None
        if prob < neg_threshold and silence_start is None:
            silence_start = pos
        if silence_start is not None and pos + frame_samples - silence_start >= min_silence:
            raw.append((start, silence_start, continued))
            triggered, silence_start, last_pause = False, None, None
    if triggered:
        raw.append((start, total_samples, continued))

    kept = [(s, min(e, total_samples)) for s, e, cont in raw if cont or e - s > min_speech]
    spans: list[SpeechSpan] = []
    for idx, (s, e) in enumerate(kept):
        lo = max(0, s - pad)
        hi = min(total_samples, e + pad)
        if spans and lo < spans[-1].end:
            # Split the gap between neighbours instead of overlapping them.
            mid = (kept[idx - 1][1] + s) // 2
            spans[-1] = SpeechSpan(spans[-1].start, max(spans[-1].start, mid))
            lo = mid
        spans.append(SpeechSpan(lo, hi))
    return spans


class SileroVad:
    """Silero VAD v6 (the ONNX model bundled with faster-whisper), run on the CPU."""

    def __init__(self) -> None:
        self._model = _load_silero()

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability of each 512-sample frame of float32 16 kHz audio."""
        if audio.size == 0:
            return np.zeros(0, dtype=np.float32)
        padded = np.pad(audio, (0, (-audio.size) % FRAME_SAMPLES))
        out = self._model(padded.astype(np.float32, copy=False))
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def spans(self, audio: np.ndarray, options: VadSettings) -> list[SpeechSpan]:
        """Speech spans of float32 16 kHz audio."""
        return speech_spans(self.probabilities(audio), audio.size, options)


@functools.cache
def _load_silero() -> Any:
    try:
        from faster_whisper.vad import get_vad_model
    except ImportError as exc:  # pragma: no cover - faster-whisper is a hard dependency
        raise ModelError("Silero VAD needs faster-whisper and onnxruntime installed") from exc
    return get_vad_model()


@dataclass(frozen=True)
class SpanTimeMap:
    """Maps times in audio made of concatenated speech spans back to the original audio."""

    spans: tuple[SpeechSpan, ...]

    @functools.cached_property
    def _cum_ends(self) -> list[int]:
        ends, total = [], 0
        for span in self.spans:
            total += span.end - span.start
            ends.append(total)
        return ends

    def original_time(self, t: float, *, is_end: bool = False) -> float:
        """Original time (s) of time `t` (s) in the concatenated audio."""
        if not self.spans:
            return t
        sample = round(t * SAMPLE_RATE)
        ends = self._cum_ends
        # An end time that falls exactly on a span boundary belongs to the span it closes.
        idx = bisect.bisect_left(ends, sample) if is_end else bisect.bisect_right(ends, sample)
        idx = min(idx, len(ends) - 1)
        before = ends[idx - 1] if idx else 0
        return round((self.spans[idx].start + sample - before) / SAMPLE_RATE, 3)


def concat_spans(audio: np.ndarray, spans: Sequence[SpeechSpan]) -> np.ndarray:
    """Concatenate the speech spans of `audio`."""
    if not spans:
        return audio[:0]
    return np.concatenate([audio[s.start : s.end] for s in spans])


class SileroStream:
    """Silero VAD fed incrementally: carries the model state and context between calls.

    Gives the same frame probabilities as `SileroVad.probabilities` on the whole audio, but
    one chunk at a time, so live audio is scored as it arrives.
    """

    _CONTEXT = 64
    """Samples of the previous frame the model sees before each 512-sample frame."""

    def __init__(self) -> None:
        self._session = _load_silero().session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(self._CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities of the frames completed by `audio` (float32 16 kHz samples)."""
        data = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        n = data.size // FRAME_SAMPLES
        self._pending = data[n * FRAME_SAMPLES :]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        frames = data[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)
        contexts = np.empty((n, self._CONTEXT), dtype=np.float32)
        contexts[0] = self._context
        contexts[1:] = frames[:-1, -self._CONTEXT :]
        self._context = frames[-1, -self._CONTEXT :].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        out, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        return np.asarray(out, dtype=np.float32).reshape(-1)
