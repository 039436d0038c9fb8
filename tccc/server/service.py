"""Async front of the Transcriber: admission control, worker threads, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from tccc.audio.decode import DecodeBudget
from tccc.config import StreamSettings
from tccc.errors import NotReadyError, ServerBusyError
from tccc.events import TranscriptResult
from tccc.llm.slot import SharedModel
from tccc.llm.stage import LlmStage
from tccc.server.admission import StreamAdmission
from tccc.server.metrics import ServerMetrics
from tccc.server.session_feed import SessionFeeds
from tccc.stt.pipeline import VocabularyTools, vocabulary_tools
from tccc.stt.transcriber import DecodeOptions, Transcriber

_LOGGER = logging.getLogger(__name__)

RELOAD_WAIT_S = 120.0
"""Longest a live session waits for the speech model to come back before it gives up."""


@dataclass
class WorkLevel:
    """How much work the runtime lets speech recognition do (changed when the board is hot)."""

    beam_size: int | None = None
    """Beam for every decode (None: as configured and requested)."""
    partial_scale: float = 1.0
    """Multiplier of the partial-transcript interval of live sessions."""


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
        decode_mb: float = 1024.0,
    ) -> None:
        self.transcriber = transcriber
        self.metrics = metrics
        self.capacity = num_workers + queue_size
        self.admission = StreamAdmission(self.capacity)
        """Live-stream slots, shared fairly between protocols."""
        self.decode_budget = DecodeBudget(int(decode_mb * 1024 * 1024))
        """Memory decoded uploads may hold at once (`server.max_decode_mb`)."""
        metrics.decode_memory.set_function(lambda: float(self.decode_budget.in_use_bytes))
        self._executor = ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="stt")
        self._pending = 0
        self.ready = False
        self.stream_settings = stream or StreamSettings()
        self.vocabulary = VocabularyTools()
        """Decoder prompt and normaliser, set once the model has loaded."""
        self.live_sessions = 0
        """Live streams being transcribed now."""
        self.llm: SharedModel | None = None
        """The language model live sessions share (None: no language-model stage)."""
        self.finisher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="llm-finish")
        """Where ended sessions wait for their language-model stage to catch up."""
        self.stages: set[LlmStage] = set()
        """Language-model stages of live sessions still running (closed at shutdown)."""
        self.feeds: SessionFeeds | None = None
        """Told of each live session's audio, transcripts and end (the screens' feeds)."""
        self.work = WorkLevel()
        self.accept_streams = True
        """False while the runtime refuses new live streams (the board is too hot)."""
        self._ready_event = asyncio.Event()
        self._swap_lock = asyncio.Lock()
        self._idle = asyncio.Event()

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
        self._set_ready(True)
        load_seconds = getattr(self.transcriber, "load_seconds", 0.0)
        self.metrics.model_load_seconds.set(load_seconds)

    def _set_ready(self, ready: bool) -> None:
        self.ready = ready
        self.metrics.model_loaded.set(1 if ready else 0)
        if ready:
            self._ready_event.set()
        else:
            self._ready_event.clear()

    async def _drain(self) -> None:
        """Wait until every admitted decode has finished (new ones wait for `ready`)."""
        if self._pending:
            self._idle.clear()
            await self._idle.wait()

    async def unload(self) -> None:
        """Release the speech model once decodes in flight have finished.

        Live sessions keep their audio and wait for `load` (up to RELOAD_WAIT_S); one-shot
        requests are answered 503 meanwhile. Shielded: a caller that goes away (an HTTP client
        hanging up) does not leave the service half-way.
        """
        await asyncio.shield(self._unload())

    async def _unload(self) -> None:
        async with self._swap_lock:
            self._set_ready(False)
            await self._drain()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self.transcriber.unload)

    async def reload(self) -> None:
        """Load the speech model again after `unload` (nothing if it is loaded)."""
        await asyncio.shield(self._reload())

    async def _reload(self) -> None:
        async with self._swap_lock:
            if not self.ready:
                await self.load()

    async def switch(self, transcriber: Transcriber) -> None:
        """Replace the model by another (smaller or back to the configured one).

        The old model is released before the new one loads, so memory never holds both; live
        sessions wait meanwhile and lose nothing. If the new one fails to load, the old one is
        loaded again before the error is raised.
        """
        await asyncio.shield(self._switch(transcriber))

    async def _switch(self, transcriber: Transcriber) -> None:
        loop = asyncio.get_running_loop()
        async with self._swap_lock:
            old = self.transcriber
            self._set_ready(False)
            await self._drain()
            await loop.run_in_executor(self._executor, old.unload)
            self.transcriber = transcriber
            try:
                await self.load()
            except BaseException:
                await loop.run_in_executor(self._executor, transcriber.unload)
                self.transcriber = old
                await self.load()  # the model that worked: speech is the last thing given up
                raise

    async def _wait_ready(self) -> None:
        while not self.ready:
            try:
                await asyncio.wait_for(self._ready_event.wait(), RELOAD_WAIT_S)
            except TimeoutError:
                raise NotReadyError("the speech model did not come back; retry shortly") from None

    async def transcribe(
        self, audio: np.ndarray, options: DecodeOptions | None = None, *, wait: bool = False
    ) -> TranscriptResult:
        """Transcribe in a worker thread.

        Raises ServerBusyError when the queue is full, unless `wait` (live sessions, which are
        admitted once and then must never lose an utterance).
        """
        if not self.ready:
            if not wait:
                raise NotReadyError("the speech model is still loading; retry shortly")
            await self._wait_ready()
        if self.work.beam_size is not None:
            options = dataclasses.replace(options or DecodeOptions(), beam_size=self.work.beam_size)
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
            if not self._pending:
                self._idle.set()

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
        """Stop the worker threads (queued work is cancelled) and the sessions' model stages."""
        for stage in list(self.stages):
            stage.close()
        if self.llm is not None and self.llm.worker is not None:
            self.llm.worker.close()
        self.finisher.shutdown(wait=False, cancel_futures=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
