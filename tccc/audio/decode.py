"""Decode any container PyAV understands (wav, flac, mp3, ogg/opus, m4a...) to 16 kHz mono.

A few hundred KB of FLAC or Opus can decode to an hour of audio, so decoding is bounded twice:
by duration (the container's declared duration is checked before anything is decoded, then a
running count while decoding) and by memory (a `DecodeBudget` shared by every decode in flight:
the samples are counted, with the copy the transcriber makes, until the caller releases them).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.errors import AudioError, AudioTooLargeError, ServerBusyError

_LOGGER = logging.getLogger(__name__)

BYTES_PER_SAMPLE = 16
"""Memory one decoded sample costs until released: 2 bytes of int16 here, and what
transcribing it takes (measured: about 14.5 bytes a sample for the float32 copy and the VAD's
padded and framed copies of it; an hour of audio is 0.9 GB)."""
DECLARED_SLACK = 1.05
"""A declared duration is an estimate for some formats (VBR MP3): refused only beyond this
factor of the limit; the running count is exact."""
FIRST_BUFFER_S = 60.0
"""Initial buffer when the container does not declare its duration (it grows by doubling)."""


class DecodeBudget:
    """Memory decoded audio may hold at once, across threads."""

    def __init__(self, limit_bytes: int, ceiling: Callable[[], float] | None = None) -> None:
        self.limit_bytes = limit_bytes
        self.ceiling = ceiling
        """Bytes a larger owner (the runtime's memory budget) leaves for decoding now."""
        self.in_use_bytes = 0
        self._lock = threading.Lock()

    def available(self) -> int:
        """Bytes that may still be reserved now."""
        return max(0, self.limit() - self.in_use_bytes)

    def limit(self) -> int:
        """Bytes the budget holds in all (the ceiling may lower it)."""
        if self.ceiling is None:
            return self.limit_bytes
        return min(self.limit_bytes, int(self.ceiling()))

    def reserve(self, nbytes: int, *, total: int | None = None) -> None:
        """Count `nbytes` more for a request that will then hold `total` (default `nbytes`).

        AudioTooLargeError if the request could never fit (413: retrying will not help);
        ServerBusyError if it does not fit now (503: retry later).
        """
        with self._lock:
            limit = self.limit()
            if (total if total is not None else nbytes) > limit:
                raise AudioTooLargeError(
                    "the audio needs more memory than this server allows "
                    f"({limit / 2**20:.0f} MiB, server.max_decode_mb)"
                )
            if self.in_use_bytes + nbytes > limit:
                raise ServerBusyError("not enough memory for this audio now; retry shortly")
            self.in_use_bytes += nbytes

    def release(self, nbytes: int) -> None:
        """Give back `nbytes` reserved earlier."""
        with self._lock:
            self.in_use_bytes = max(0, self.in_use_bytes - nbytes)


@dataclass
class DecodedAudio:
    """Decoded 16 kHz mono int16 samples and the budget they are counted against."""

    samples: np.ndarray
    budget: DecodeBudget | None = None
    reserved: int = 0
    _released: bool = field(default=False, repr=False)

    def release(self) -> None:
        """The caller is done with the samples: their memory leaves the budget (idempotent)."""
        if not self._released and self.budget is not None:
            self.budget.release(self.reserved)
        self._released = True


def declared_seconds(container: Any, stream: Any) -> float | None:
    """The duration the container declares (or estimates from its size), if any."""
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


class _Buffer:
    """A growing int16 buffer whose size is reserved in a budget before it is allocated."""

    def __init__(self, samples: int, budget: DecodeBudget | None) -> None:
        self.budget = budget
        self.reserved = 0
        self._reserve(samples)
        self.data = np.empty(samples, dtype=np.int16)
        self.size = 0

    def _reserve(self, samples: int) -> None:
        if self.budget is not None:
            nbytes = samples * BYTES_PER_SAMPLE
            self.budget.reserve(nbytes, total=self.reserved + nbytes)
            self.reserved += nbytes

    def append(self, chunk: np.ndarray, limit: int) -> None:
        end = self.size + chunk.size
        if end > self.data.size:
            grown = min(max(self.data.size * 2, end), max(limit, end))
            self._reserve(grown - self.data.size)
            bigger = np.empty(grown, dtype=np.int16)
            bigger[: self.size] = self.data[: self.size]
            self.data = bigger
        self.data[self.size : end] = chunk
        self.size = end

    def result(self) -> DecodedAudio:
        samples = self.data[: self.size]
        if self.data.size > self.size * 1.25 + SAMPLE_RATE:
            samples = samples.copy()  # do not keep a mostly empty buffer alive
        keep = self.size * BYTES_PER_SAMPLE if self.budget is not None else 0
        if self.budget is not None and self.reserved > keep:
            self.budget.release(self.reserved - keep)
            self.reserved = keep
        return DecodedAudio(samples, self.budget, self.reserved)

    def abandon(self) -> None:
        if self.budget is not None:
            self.budget.release(self.reserved)
            self.reserved = 0


def decode_reserved(
    source: bytes | str | Path,
    *,
    max_seconds: float | None = None,
    budget: DecodeBudget | None = None,
) -> DecodedAudio:
    """Decode audio bytes or a file to 16 kHz mono int16, counted against `budget`.

    Raises AudioError for data that is not decodable audio, AudioTooLargeError when the audio
    (as declared, or as decoded) is longer than `max_seconds`, and ServerBusyError when the
    budget cannot hold it now. The caller must `release()` the result when done with it.
    """
    if isinstance(source, bytes):
        if not source:
            raise AudioError("the upload is empty (0 bytes)")
        file: io.BytesIO | str = io.BytesIO(source)
    else:
        file = str(source)
    limit = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
    buffer: _Buffer | None = None
    try:
        with av.open(file, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("the file has no audio stream")
            stream = container.streams.audio[0]
            declared = declared_seconds(container, stream)
            if (
                max_seconds is not None
                and declared is not None
                and declared > max_seconds * DECLARED_SLACK + 1.0
            ):
                raise AudioTooLargeError(
                    f"audio is longer than the {max_seconds:g} s limit "
                    f"(the file declares {declared:.0f} s)"
                )
            first = int((declared if declared is not None else FIRST_BUFFER_S) * SAMPLE_RATE)
            first = max(SAMPLE_RATE, min(first + SAMPLE_RATE // 10, limit or first))
            buffer = _Buffer(first, budget)
            hard = limit if limit is not None else np.iinfo(np.int64).max
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        _append(buffer, out, hard, max_seconds)
            for out in resampler.resample(None):
                _append(buffer, out, hard, max_seconds)
    except (AudioError, ServerBusyError):
        if buffer is not None:
            buffer.abandon()
        raise
    except FileNotFoundError as exc:
        raise AudioError(f"no such file: {source!s}") from exc
    except (av.error.FFmpegError, ValueError, IndexError, OSError, MemoryError) as exc:
        if buffer is not None:
            buffer.abandon()
        # Decoder messages can be long and technical; the client gets a plain reason and the
        # details go to the debug log.
        _LOGGER.debug("decode failed: %s", exc)
        raise AudioError("the data is not a decodable audio file") from exc
    except BaseException:
        if buffer is not None:
            buffer.abandon()
        raise
    return buffer.result()


def _append(buffer: _Buffer, frame: Any, hard: int, max_seconds: float | None) -> None:
    chunk = frame.to_ndarray().reshape(-1)
    if buffer.size + chunk.size > hard:
        raise AudioTooLargeError(f"audio is longer than the {max_seconds:g} s limit")
    buffer.append(chunk, hard)


def decode_audio(source: bytes | str | Path, *, max_seconds: float | None = None) -> np.ndarray:
    """Decode audio bytes or a file to 16 kHz mono int16 samples (no memory budget).

    Raises AudioError for data that is not decodable audio and AudioTooLargeError when the
    audio is longer than `max_seconds`. A valid file with no samples gives an empty array.
    """
    samples: np.ndarray = decode_reserved(source, max_seconds=max_seconds).samples
    return samples


def to_float32(samples: np.ndarray) -> np.ndarray:
    """Scale int16 samples to float32 in [-1, 1), the model's input format."""
    return samples.astype(np.float32) / 32768.0
