"""A bounded, thread-safe ring buffer of 16 kHz mono int16 audio between capture and pipeline.

Producers (a PortAudio callback thread, the event loop receiving network audio, a pacing task)
`write` without ever blocking; one consumer coroutine awaits `read`. When the consumer falls
behind by more than the capacity, the oldest audio is dropped: a medic's latest words matter
most. Samples keep their session index, so the chunk read after a drop starts later than the
previous one ended, and session time stays true.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.events import AudioChunk

_LOGGER = logging.getLogger(__name__)


class RingBuffer:
    """Bounded audio buffer: any-thread writers, one asyncio reader, drops oldest when full."""

    def __init__(self, capacity_samples: int) -> None:
        if capacity_samples < 1:
            raise ValueError("capacity_samples must be at least 1")
        self._capacity = capacity_samples
        self._buf = np.zeros(capacity_samples, dtype=np.int16)
        self._lock = threading.Lock()
        # Absolute session indices: `_read` is the oldest buffered sample, `_write` one past the
        # newest. Buffered audio is [_read, _write); its slot in `_buf` is the index mod capacity.
        self._read = 0
        self._write = 0
        # (end index, captured_at) per write, so a chunk that spans several writes carries the
        # capture time of its newest sample, which is what latency is measured from.
        self._marks: deque[tuple[int, float]] = deque()
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None
        self._dropped = 0
        self._overflows = 0
        self._episode_dropped = 0
        self._overflowing = False

    @property
    def capacity(self) -> int:
        """Most samples the buffer holds."""
        return self._capacity

    @property
    def buffered(self) -> int:
        """Samples written and not yet read."""
        with self._lock:
            return self._write - self._read

    @property
    def written(self) -> int:
        """Samples written since the buffer was created (the session clock, in samples)."""
        with self._lock:
            return self._write

    @property
    def dropped_samples(self) -> int:
        """Samples dropped, oldest first, because the consumer fell behind."""
        with self._lock:
            return self._dropped

    @property
    def overflows(self) -> int:
        """Overflow episodes: stretches in which the reader stayed behind and audio was dropped."""
        with self._lock:
            return self._overflows

    @property
    def closed(self) -> bool:
        """True once `close` was called; buffered audio may still be waiting to be read."""
        with self._lock:
            return self._closed

    def write(self, samples: np.ndarray, *, captured_at: float | None = None) -> None:
        """Append 16 kHz mono int16 samples without blocking; drops the oldest audio when full.

        Safe from any thread. `captured_at` defaults to `time.monotonic()` now.
        """
        if samples.dtype != np.int16:
            raise TypeError(f"RingBuffer.write expects int16 samples, got {samples.dtype}")
        data = samples.reshape(-1)
        n = int(data.size)
        if n == 0:
            return
        stamp = time.monotonic() if captured_at is None else captured_at
        started_episode = False
        with self._lock:
            if self._closed:
                raise RuntimeError("write to a closed RingBuffer")
            new_write = self._write + n
            new_read = max(self._read, new_write - self._capacity)
            dropped = new_read - self._read
            if dropped:
                self._dropped += dropped
                self._episode_dropped += dropped
                if not self._overflowing:
                    self._overflowing = True
                    self._overflows += 1
                    started_episode = True
                while self._marks and self._marks[0][0] <= new_read:
                    self._marks.popleft()
            # Only the newest `capacity` samples of a huge write can survive.
            kept = data[-self._capacity :]
            self._copy_in(new_write - kept.size, kept)
            self._read, self._write = new_read, new_write
            self._marks.append((new_write, stamp))
            waiter, self._waiter = self._waiter, None
        if started_episode:
            _LOGGER.warning(
                "capture buffer full (%.1f s): the pipeline is behind, dropping the oldest audio",
                self._capacity / SAMPLE_RATE,
            )
        _wake(waiter)

    def close(self) -> None:
        """Mark the end of the stream; the reader still gets every buffered sample. Idempotent."""
        with self._lock:
            self._closed = True
            waiter, self._waiter = self._waiter, None
        _wake(waiter)

    async def read(self, max_samples: int | None = None) -> AudioChunk | None:
        """Wait for audio and return up to `max_samples` of the oldest; None once closed and empty.

        Only one coroutine may read at a time.
        """
        if max_samples is not None and max_samples < 1:
            raise ValueError("max_samples must be at least 1")
        while True:
            with self._lock:
                available = self._write - self._read
                if available:
                    chunk, episode_dropped = self._take(min(available, max_samples or available))
                    break
                if self._closed:
                    return None
                if self._waiter is not None and not self._waiter.done():
                    raise RuntimeError("RingBuffer supports one reader at a time")
                waiter = asyncio.get_running_loop().create_future()
                self._waiter = waiter
            await waiter
        if episode_dropped:
            _LOGGER.info(
                "capture caught up after dropping %.2f s of audio", episode_dropped / SAMPLE_RATE
            )
        return chunk

    def _take(self, n: int) -> tuple[AudioChunk, int]:
        """Remove the oldest `n` samples as a chunk; called with the lock held."""
        start = self._read
        out = np.empty(n, dtype=np.int16)
        pos = start % self._capacity
        first = min(n, self._capacity - pos)
        out[:first] = self._buf[pos : pos + first]
        out[first:] = self._buf[: n - first]
        end = start + n
        captured_at = self._marks[0][1]
        for mark_end, stamp in self._marks:
            if mark_end >= end:
                captured_at = stamp
                break
        while self._marks and self._marks[0][0] <= end:
            self._marks.popleft()
        self._read = end
        episode_dropped = 0
        # The episode ends once the reader has caught up to half the capacity; ending it at every
        # read would log a warning per chunk for a reader that is only slightly too slow.
        if self._overflowing and self._write - self._read <= self._capacity // 2:
            self._overflowing = False
            episode_dropped, self._episode_dropped = self._episode_dropped, 0
        return AudioChunk(samples=out, start=start, captured_at=captured_at), episode_dropped

    def _copy_in(self, start: int, data: np.ndarray) -> None:
        """Copy `data` into the slots of session indices [start, start + len); lock held."""
        pos = start % self._capacity
        first = min(data.size, self._capacity - pos)
        self._buf[pos : pos + first] = data[:first]
        self._buf[: data.size - first] = data[first:]


def _wake(waiter: asyncio.Future[None] | None) -> None:
    """Resolve a reader's future from any thread."""
    if waiter is None or waiter.done():
        return
    try:
        waiter.get_loop().call_soon_threadsafe(_resolve, waiter)
    except RuntimeError:
        # The reader's loop is closed: nobody is waiting any more, and a capture thread must not
        # die because its consumer went away.
        _LOGGER.debug("ring buffer reader's event loop is closed")


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
