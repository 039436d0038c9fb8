"""Streaming conversion of raw PCM at any rate, width and channel count to 16 kHz mono int16."""

from __future__ import annotations

from typing import Any

import av
import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.errors import AudioError

_FORMATS: dict[int, type[np.integer[Any]]] = {1: np.uint8, 2: np.int16, 4: np.int32}
MAX_CHANNELS = 8
MIN_RATE, MAX_RATE = 1000, 384000


def _to_mono_int16(samples: np.ndarray, channels: int) -> np.ndarray:
    """Scale 8/16/32-bit samples to int16 and average interleaved channels."""
    if samples.dtype == np.uint8:
        wide = (samples.astype(np.int32) - 128) << 8
    elif samples.dtype == np.int32:
        wide = samples >> 16
    else:
        wide = samples.astype(np.int32)
    if channels > 1:
        wide = wide.reshape(-1, channels).mean(axis=1).astype(np.int32)
    return wide.astype(np.int16)


def check_pcm_format(rate: int, width: int, channels: int) -> None:
    """Raise AudioError unless (rate, width, channels) describe PCM we can convert."""
    if not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"unsupported sample rate {rate!r} (expected {MIN_RATE}-{MAX_RATE} Hz)")
    if width not in _FORMATS:
        raise AudioError(f"unsupported sample width {width!r} bytes (expected 1, 2 or 4)")
    if not isinstance(channels, int) or not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"unsupported channel count {channels!r} (expected 1-{MAX_CHANNELS})")


class PcmConverter:
    """Convert a stream of interleaved PCM chunks to 16 kHz mono int16, keeping filter state.

    Chunks may split a sample frame anywhere; the remainder is carried to the next chunk.
    """

    def __init__(self, rate: int, width: int, channels: int) -> None:
        check_pcm_format(rate, width, channels)
        self.rate, self.width, self.channels = rate, width, channels
        self._dtype = _FORMATS[width]
        self._frame_bytes = width * channels
        self._carry = b""
        self._passthrough = rate == SAMPLE_RATE and width == 2 and channels == 1
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        self._pts = 0

    def convert(self, data: bytes) -> np.ndarray:
        """Convert one chunk; returns the 16 kHz mono samples available so far."""
        data = self._carry + data
        usable = len(data) - len(data) % self._frame_bytes
        self._carry = data[usable:]
        if usable == 0:
            return np.zeros(0, dtype=np.int16)
        if self._passthrough:
            return np.frombuffer(data[:usable], dtype=np.int16).copy()
        mono = _to_mono_int16(np.frombuffer(data[:usable], dtype=self._dtype), self.channels)
        if self.rate == SAMPLE_RATE:
            return mono
        frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._pts
        self._pts += mono.size
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        """Return the samples still held by the resampler at the end of the stream."""
        self._carry = b""
        if self.rate == SAMPLE_RATE:
            return np.zeros(0, dtype=np.int16)
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list[av.AudioFrame]) -> np.ndarray:
        if not frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)


def convert_pcm(data: bytes, rate: int, width: int, channels: int) -> np.ndarray:
    """Convert one whole buffer of PCM to 16 kHz mono int16."""
    conv = PcmConverter(rate, width, channels)
    try:
        out = conv.convert(data)
        tail = conv.flush()
    except (av.error.FFmpegError, ValueError) as exc:
        raise AudioError("the PCM audio could not be converted") from exc
    return np.concatenate([out, tail]) if tail.size else out
