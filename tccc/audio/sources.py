"""Audio sources behind one interface: an async iterator of AudioChunk (16 kHz mono int16).

Live sources (microphone, network push, a file paced in real time) write into a RingBuffer so
capture never waits for processing; the consumer awaits chunks from it. `aclose()` stops
capture; audio already captured is still delivered before iteration ends (no lost tail).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import decode_audio
from tccc.audio.ring import RingBuffer
from tccc.errors import AudioError
from tccc.events import AudioChunk

_LOGGER = logging.getLogger(__name__)

MAX_CHUNK_SAMPLES = SAMPLE_RATE
"""Largest chunk read from a ring buffer (1 s), so a consumer catching up after a stall still
works in steps that control events can interleave with."""
_STOP_TIMEOUT_S = 2.0


def capacity_samples(capacity_s: float) -> int:
    """Ring buffer capacity in samples for `capacity_s` seconds of 16 kHz audio."""
    if capacity_s <= 0:
        raise ValueError("capacity_s must be positive")
    return max(1, round(capacity_s * SAMPLE_RATE))


class AudioSource(ABC):
    """An async iterator of contiguous AudioChunks; `start` begins capture, `aclose` ends it.

    Chunk starts are sample indices since the session began: each chunk starts where the
    previous one ended unless the ring buffer dropped audio, in which case `start` jumps.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """Short description for logs and status (no audio content)."""

    @property
    def dropped_samples(self) -> int:
        """Samples dropped because the consumer fell behind."""
        return 0

    @property
    def overflows(self) -> int:
        """Overflow episodes of the capture buffer."""
        return 0

    async def start(self) -> None:  # noqa: B027 - optional hook; most sources start lazily
        """Begin capture; idempotent, and called by `__aenter__` and the first `__anext__`."""

    @abstractmethod
    async def __anext__(self) -> AudioChunk:
        """The next chunk; StopAsyncIteration once the stream has ended and is drained."""

    @abstractmethod
    async def aclose(self) -> None:
        """Stop capture and release the device; buffered audio is still delivered. Idempotent."""

    def __aiter__(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class RingSource(AudioSource):
    """Base for live sources: producers write into a RingBuffer, iteration reads from it."""

    def __init__(self, capacity_s: float) -> None:
        self._ring = RingBuffer(capacity_samples(capacity_s))

    @property
    def dropped_samples(self) -> int:
        """Samples dropped because the consumer fell behind."""
        return self._ring.dropped_samples

    @property
    def overflows(self) -> int:
        """Overflow episodes of the capture buffer."""
        return self._ring.overflows

    async def __anext__(self) -> AudioChunk:
        """The next chunk of captured audio."""
        await self.start()
        chunk = await self._ring.read(MAX_CHUNK_SAMPLES)
        if chunk is None:
            raise StopAsyncIteration
        return chunk


class PushSource(RingSource):
    """Audio pushed in by a network handler (Wyoming audio-chunk, WebSocket frames)."""

    def __init__(self, capacity_s: float, *, name: str = "push") -> None:
        super().__init__(capacity_s)
        self._name = name
        self._read = asyncio.Event()

    async def __anext__(self) -> AudioChunk:
        """The next chunk of pushed audio."""
        try:
            return await super().__anext__()
        finally:
            self._read.set()

    async def wait_below(self, seconds: float, *, timeout_s: float = 1.0) -> bool:
        """Wait until at most `seconds` of audio are buffered; False if no read came in time."""
        while self._ring.buffered > seconds * SAMPLE_RATE and not self._ring.closed:
            self._read.clear()
            try:
                await asyncio.wait_for(self._read.wait(), timeout_s)
            except TimeoutError:
                return False
        return True

    @property
    def name(self) -> str:
        """Short description for logs and status."""
        return self._name

    @property
    def buffered_s(self) -> float:
        """Seconds of audio pushed and not yet read."""
        return self._ring.buffered / SAMPLE_RATE

    @property
    def capacity_s(self) -> float:
        """Seconds of audio the buffer holds before dropping the oldest."""
        return self._ring.capacity / SAMPLE_RATE

    def push(self, samples: np.ndarray) -> None:
        """Append 16 kHz mono int16 samples (convert with PcmConverter first); never blocks."""
        self._ring.write(samples)

    def close(self) -> None:
        """Mark the end of the stream; pushed audio is still delivered. Idempotent."""
        self._ring.close()

    async def aclose(self) -> None:
        """Mark the end of the stream; pushed audio is still delivered. Idempotent."""
        self.close()


class FileSource(AudioSource):
    """Audio from a file PyAV can decode, optionally paced like a live microphone."""

    def __init__(
        self,
        path: str | Path,
        *,
        realtime: bool = False,
        chunk_ms: int = 100,
        max_seconds: float | None = 3600.0,
        capacity_s: float = 30.0,
    ) -> None:
        if chunk_ms < 1:
            raise ValueError("chunk_ms must be at least 1")
        self.path = Path(path)
        if not self.path.is_file():
            raise AudioError(f"no such audio file: {self.path}")
        self.realtime = realtime
        self._chunk = max(1, SAMPLE_RATE * chunk_ms // 1000)
        self._max_seconds = max_seconds
        # Only a real-time file needs the ring buffer: it stands in for a microphone, so a slow
        # consumer loses the oldest audio exactly as it would live. A plain file is read on demand.
        self._ring = RingBuffer(capacity_samples(capacity_s)) if realtime else None
        self._samples: np.ndarray | None = None
        self._pos = 0
        self._closed = False
        self._pacer: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    @property
    def name(self) -> str:
        """Short description for logs and status."""
        return f"file:{self.path.name}"

    @property
    def dropped_samples(self) -> int:
        """Samples dropped because the consumer fell behind (real-time mode only)."""
        return 0 if self._ring is None else self._ring.dropped_samples

    @property
    def overflows(self) -> int:
        """Overflow episodes of the capture buffer (real-time mode only)."""
        return 0 if self._ring is None else self._ring.overflows

    async def start(self) -> None:
        """Decode the file in a worker thread and, in real-time mode, start pacing it."""
        async with self._start_lock:
            if self._samples is not None or self._closed:
                return
            try:
                samples = await asyncio.to_thread(
                    decode_audio, self.path, max_seconds=self._max_seconds
                )
            except AudioError as exc:
                # Keep the class (AudioTooLargeError stays itself) and say which file it was.
                raise type(exc)(f"cannot read {self.path}: {exc.message}") from exc
            self._samples = samples
            if self._closed:
                return
            _LOGGER.debug("%s: decoded %.2f s", self.name, samples.size / SAMPLE_RATE)
            if self._ring is not None:
                self._pacer = asyncio.get_running_loop().create_task(
                    self._pace(samples, self._ring), name=f"{self.name}:pace"
                )

    async def __anext__(self) -> AudioChunk:
        """The next chunk of the file."""
        await self.start()
        if self._ring is not None:
            chunk = await self._ring.read(MAX_CHUNK_SAMPLES)
            if chunk is not None:
                return chunk
            self._raise_pacer_error()
            raise StopAsyncIteration
        if self._closed or self._samples is None or self._pos >= self._samples.size:
            raise StopAsyncIteration
        start = self._pos
        self._pos = min(start + self._chunk, self._samples.size)
        return AudioChunk(
            samples=self._samples[start : self._pos], start=start, captured_at=time.monotonic()
        )

    async def aclose(self) -> None:
        """Stop reading the file; chunks already paced out are still delivered. Idempotent."""
        self._closed = True
        pacer, self._pacer = self._pacer, None
        if pacer is not None and not pacer.done():
            pacer.cancel()
            _done, pending = await asyncio.wait([pacer], timeout=_STOP_TIMEOUT_S)
            if pending:
                _LOGGER.warning("%s: pacing task did not stop in time", self.name)
        if self._ring is not None:
            self._ring.close()

    async def _pace(self, samples: np.ndarray, ring: RingBuffer) -> None:
        """Write each chunk when a microphone would have delivered it: after its last sample."""
        t0 = time.monotonic()
        try:
            for start in range(0, samples.size, self._chunk):
                end = min(start + self._chunk, samples.size)
                # Due times come from the start, not the previous sleep, so pacing never drifts.
                delay = t0 + end / SAMPLE_RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                ring.write(samples[start:end])
        finally:
            ring.close()

    def _raise_pacer_error(self) -> None:
        """Re-raise in the consumer an error that ended the pacing task."""
        pacer = self._pacer
        if pacer is not None and pacer.done() and not pacer.cancelled():
            exc = pacer.exception()
            if exc is not None:
                raise AudioError(f"{self.name}: playback failed") from exc
