"""Uploads decoded in worker threads, within the decode memory budget.

Decoding is CPU work like transcription: an hour of Opus takes seconds, and on the event loop
it stalled every other client (health checks, live streams) for that long. Here it runs in a
small thread pool; at most `max_pending` decodes are admitted (the rest get 503), and each
result stays counted in the `DecodeBudget` until the request that holds it releases it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import BYTES_PER_SAMPLE, DecodeBudget, DecodedAudio, decode_reserved
from tccc.errors import AudioError, AudioTooLargeError, ServerBusyError


class UploadDecoder:
    """Decodes uploads off the event loop; refuses beyond `max_pending` decodes in flight."""

    def __init__(
        self,
        budget: DecodeBudget,
        *,
        workers: int = 2,
        max_pending: int = 8,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.budget = budget
        self.max_pending = max_pending
        self.on_refused = on_refused
        """Called for every upload refused as busy (counted with the queue's refusals)."""
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode")
        self._pending = 0

    async def decode(self, data: bytes, *, max_seconds: float) -> DecodedAudio:
        """Decode an upload (release the result when done with it)."""
        if self._pending >= self.max_pending:
            self._refused()
            raise ServerBusyError("too many uploads are being decoded; retry shortly")
        loop = asyncio.get_running_loop()
        self._pending += 1

        def finished(_f: object) -> None:
            self._pending -= 1

        future = self._executor.submit(
            functools.partial(decode_reserved, data, max_seconds=max_seconds, budget=self.budget)
        )
        # The slot is free when the thread is, not when a departed client's await is cancelled.
        future.add_done_callback(lambda f: _call_soon(loop, finished, f))
        try:
            return await asyncio.wrap_future(future)
        except ServerBusyError:
            self._refused()  # the decode budget is full now
            raise
        except asyncio.CancelledError:
            # The client has gone; the decode finishes in its thread: give its memory back then.
            future.add_done_callback(_release_result)
            raise

    def raw_pcm(self, data: bytes, *, max_seconds: float) -> DecodedAudio:
        """Raw s16le 16 kHz mono bytes as samples, counted in the budget like a decode."""
        if len(data) % 2:
            raise AudioError("raw PCM must be 16-bit samples (an even number of bytes)")
        size = len(data) // 2
        if size > max_seconds * SAMPLE_RATE:
            raise AudioTooLargeError("audio is longer than the configured limit")
        try:
            self.budget.reserve(size * BYTES_PER_SAMPLE)  # 413 if it never fits
        except ServerBusyError:
            self._refused()
            raise
        samples = np.frombuffer(data, dtype=np.int16).copy()
        return DecodedAudio(samples, self.budget, size * BYTES_PER_SAMPLE)

    def _refused(self) -> None:
        if self.on_refused is not None:
            self.on_refused()

    def shutdown(self) -> None:
        """Stop the worker threads (queued decodes are cancelled)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: object, arg: object) -> None:
    # RuntimeError: the loop has closed at shutdown; nothing is left to count.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(fn, arg)  # type: ignore[arg-type]


def _release_result(future: Future[DecodedAudio]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().release()
