"""One live audio stream on the server, shared by the Wyoming and WebSocket handlers.

Audio pushed in goes through a bounded buffer to the LiveTranscriber; every final transcript is
written to the transcript log before the client is told, and the session keeps consuming when
the client has gone, so a disconnect mid-utterance still finalises and logs the tail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict

import numpy as np

from tccc.audio.sources import PushSource
from tccc.config import Settings
from tccc.errors import NotReadyError, ServerBusyError
from tccc.events import LiveTranscript
from tccc.server.service import TranscriptionService
from tccc.server.tasks import TaskOwner
from tccc.store.transcripts import TranscriptLog
from tccc.stt.live import LiveTranscriber
from tccc.stt.pipeline import live_transcriber

_LOGGER = logging.getLogger(__name__)

Sink = Callable[[LiveTranscript], Awaitable[None]]
"""Sends one event to the client; ConnectionError means the client has gone."""


class LiveSession:
    """A live stream: push audio, events go to a sink and finals to the transcript log."""

    def __init__(
        self,
        service: TranscriptionService,
        settings: Settings,
        log: TranscriptLog,
        *,
        source_name: str,
        language: str | None = None,
        partials: bool = True,
    ) -> None:
        if not service.ready:
            raise NotReadyError("the speech model is still loading; retry shortly")
        if service.live_sessions >= service.capacity:
            service.metrics.rejected.inc()
            raise ServerBusyError("too many live streams; retry shortly")
        self.service, self.log = service, log
        self.source = PushSource(settings.stream.ring_buffer_s, name=source_name)

        self.transcriber: LiveTranscriber = live_transcriber(
            service.transcribe_waiting,
            settings,
            service.vocabulary,
            language=language,
            partials=partials,
        )
        self.session_id = log.new_session(source_name)
        self.finals: list[LiveTranscript] = []
        self.text = ""
        """All final text so far (kept as it grows, not re-joined on every event)."""
        self.client_gone = False
        self._task: asyncio.Task[None] | None = None
        service.live_sessions += 1
        service.metrics.live_sessions.set(service.live_sessions)

    def start(self, sink: Sink, tasks: TaskOwner) -> None:
        """Start transcribing; events go to `sink` until the client goes."""
        self._task = tasks.create(self._consume(sink), name=f"live-{self.session_id[:8]}")

    async def push(self, samples: np.ndarray) -> None:
        """Add 16 kHz mono int16 samples.

        A client sending faster than real time (a whole file at once) is slowed down by not
        reading its socket for a moment, instead of overflowing the buffer meant for capture
        jitter; a real-time client never waits here.
        """
        if not samples.size:
            return
        self.source.push(samples)
        half = self.source.capacity_s / 2
        if self.source.buffered_s > half and not await self.source.wait_below(half):
            _LOGGER.warning("live transcription is not reading its audio; buffer may overflow")

    async def finish(self) -> list[LiveTranscript]:
        """End of audio: wait until every utterance is final; return the finals."""
        self.source.close()
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.finals

    def abandon(self) -> None:
        """The client has gone: stop sending, but finalise and log what was heard."""
        self.client_gone = True
        self.source.close()

    def text_with(self, event: LiveTranscript | None = None) -> str:
        """Final text so far, followed by a partial's committed text if given."""
        if event is None or event.kind == "final" or not event.committed:
            return self.text
        return f"{self.text} {event.committed}" if self.text else event.committed

    async def _consume(self, sink: Sink) -> None:
        metrics = self.service.metrics
        try:
            async for event in self.transcriber.run(self.source):
                if event.kind == "final":
                    self.finals.append(event)
                    if event.committed:
                        self.text = (
                            f"{self.text} {event.committed}" if self.text else event.committed
                        )
                    await asyncio.to_thread(self.log.append, self.session_id, event)
                    metrics.live_finals.inc()
                else:
                    metrics.live_partials.inc()
                if not self.client_gone:
                    try:
                        await sink(event)
                    except (ConnectionError, RuntimeError):
                        _LOGGER.debug("live client gone; finishing the session without it")
                        self.client_gone = True
        finally:
            stats = self.transcriber.stats
            for reason, n in stats.suppressed.items():
                metrics.suppressed.labels(reason).inc(n)
            if self.source.dropped_samples:
                metrics.audio_dropped_seconds.inc(self.source.dropped_samples / 16000)
            summary = asdict(stats)
            summary["suppressed"] = dict(stats.suppressed)  # asdict mangles a Counter
            summary["dropped_samples"] = self.source.dropped_samples
            summary["overflows"] = self.source.overflows
            await asyncio.to_thread(self.log.end_session, self.session_id, summary)
            self.service.live_sessions -= 1
            metrics.live_sessions.set(self.service.live_sessions)
