"""Async front of the Transcriber: admission control, worker threads, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tccc.config import StreamSettings
from tccc.errors import NotReadyError, ServerBusyError
from tccc.events import TranscriptResult
from tccc.server.metrics import ServerMetrics
from tccc.stt.pipeline import VocabularyTools, vocabulary_tools
from tccc.stt.transcriber import DecodeOptions, Transcriber

_LOGGER = logging.getLogger(__name__)


class TranscriptionService:
    """Runs transcriptions in worker threads; refuses work beyond workers + queue_size."""

    def __init__(
        self,
        transcriber: Transcriber,
        *,
        num_workers: int,
        queue_size: int,
        metrics: ServerMetrics,
        stream: StreamSettings | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.metrics = metrics
        self.capacity = num_workers + queue_size
        self._executor = ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="stt")
        self._pending = 0
        self.ready = False
        self.stream_settings = stream or StreamSettings()
        self.vocabulary = VocabularyTools()
        """Decoder prompt and normaliser, set once the model has loaded."""
        self.live_sessions = 0
        """Live streams being transcribed now."""

    @property
    def pending(self) -> int:
        """Transcriptions admitted and not yet finished."""
        return self._pending

    async def load(self) -> None:
        """Load the model in a worker thread and mark the service ready."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.transcriber.load)
        self.vocabulary = await loop.run_in_executor(
            self._executor, vocabulary_tools, self.stream_settings, self.transcriber
        )
        self.ready = True
        self.metrics.model_loaded.set(1)
        load_seconds = getattr(self.transcriber, "load_seconds", 0.0)
        self.metrics.model_load_seconds.set(load_seconds)

    async def transcribe(
        self, audio: np.ndarray, options: DecodeOptions | None = None, *, wait: bool = False
    ) -> TranscriptResult:
        """Transcribe in a worker thread.

        Raises ServerBusyError when the queue is full, unless `wait` (live sessions, which are
        admitted once and then must never lose an utterance).
        """
        if not self.ready:
            raise NotReadyError("the speech model is still loading; retry shortly")
        if self._pending >= self.capacity and not wait:
            self.metrics.rejected.inc()
            raise ServerBusyError("the transcription queue is full; retry shortly")
        self._pending += 1
        self.metrics.queue_depth.set(self._pending)
        loop = asyncio.get_running_loop()
        future = self._executor.submit(self.transcriber.transcribe, audio, options)

        def release(_f: object) -> None:
            self._pending -= 1
            self.metrics.queue_depth.set(self._pending)

        # Release the slot when the worker really finishes, not when a disconnected client's
        # await is cancelled: the thread keeps running and must still count against capacity.
        def on_done(f: object) -> None:
            # RuntimeError: the loop has closed at shutdown, so there is nothing left to count.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(release, f)

        future.add_done_callback(on_done)
        result = await asyncio.wrap_future(future)
        self.metrics.audio_seconds.inc(result.duration)
        self.metrics.transcription_seconds.observe(result.processing_s)
        if result.duration > 0:
            self.metrics.real_time_factor.observe(result.real_time_factor)
        return result

    async def transcribe_waiting(
        self, audio: np.ndarray, options: DecodeOptions
    ) -> TranscriptResult:
        """Transcribe for a live session: waits for a worker instead of refusing."""
        return await self.transcribe(audio, options, wait=True)

    def shutdown(self) -> None:
        """Stop the worker threads (queued work is cancelled)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
