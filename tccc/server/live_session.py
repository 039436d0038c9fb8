"""One live audio stream on the server, shared by the Wyoming and WebSocket handlers.

Audio pushed in goes through a bounded buffer to the LiveTranscriber; every final transcript is
written to the transcript log before the client is told, and the session keeps consuming when
the client has gone, so a disconnect mid-utterance still finalises and logs the tail.

The session's text joins the finals as one decode of the whole stream would write them
(`tccc.stt.join`): a final that continues the sentence before it starts in lower case, and the
period the model put at the pause becomes the comma (or nothing) one decode would write. Each
final event and its log entry keep the text of its own decode, and go out without waiting for
the join: a final whose join is still being read waits in `_unjoined` instead, and the text a
client is streamed (`settled_with`) stops before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict

import numpy as np

from tccc.analysis.analyzer import SessionAnalyzer
from tccc.analysis.incident import Incident
from tccc.audio.sources import PushSource
from tccc.config import Settings
from tccc.errors import NotReadyError, ServerBusyError
from tccc.events import LiveTranscript
from tccc.llm.gapfill import GapFiller
from tccc.llm.stage import LlmStage
from tccc.server.service import TranscriptionService
from tccc.server.tasks import TaskOwner
from tccc.store.casualty_log import CasualtyLog
from tccc.store.transcripts import TranscriptLog
from tccc.stt.join import SessionText, settled
from tccc.stt.live import LiveTranscriber
from tccc.stt.pipeline import live_transcriber

_LOGGER = logging.getLogger(__name__)

STAGE_DRAIN_S = 120.0
"""Longest the end of a session waits for the language model to catch up."""

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
        if not service.accept_streams:
            service.metrics.rejected.inc()
            raise ServerBusyError("the device is too hot for another stream; retry shortly")
        if not service.admission.acquire(source_name):
            service.metrics.rejected.inc()
            raise ServerBusyError("too many live streams; retry shortly")
        self.service, self.log = service, log
        self.protocol = source_name
        self._released = False
        self._task: asyncio.Task[None] | None = None
        self._tasks: TaskOwner | None = None
        service.live_sessions += 1
        service.metrics.live_sessions.set(service.live_sessions)
        try:
            self.source = PushSource(settings.stream.ring_buffer_s, name=source_name)
            self.transcriber: LiveTranscriber = live_transcriber(
                service.transcribe_waiting,
                settings,
                service.vocabulary,
                language=language,
                partials=partials,
                interval_scale=lambda: service.work.partial_scale,
            )
            self.session_id = log.new_session(source_name)
            self.incident: Incident | None = None
            self.stage: LlmStage | None = None
            if settings.server.analyze and isinstance(log, CasualtyLog):
                # Finals are then stored by the incident, with their facts, in one transaction.
                self.incident = Incident(log, self.session_id, SessionAnalyzer())
        except BaseException:
            self._release()
            raise
        if service.feeds is not None:
            service.feeds.opened(self.session_id, source_name, self.incident)
        self.finals: list[LiveTranscript] = []
        self.joined = SessionText()
        """The finals so far whose joins are known (kept as it grows, not re-joined)."""
        self._unjoined: list[LiveTranscript] = []
        self.client_gone = False

    @property
    def started(self) -> bool:
        """True once `start` has run: the session then releases its slot when it ends."""
        return self._task is not None

    def _release(self) -> None:
        """Give the live-stream slot back (once)."""
        if self._released:
            return
        self._released = True
        self.service.admission.release(self.protocol)
        self.service.live_sessions -= 1
        self.service.metrics.live_sessions.set(self.service.live_sessions)

    def discard(self) -> None:
        """A session that never started (its client went between admission and start): its
        slot is released and its log entry ended at once."""
        if self.started or self._released:
            return
        self._release()
        self.source.close()
        self.log.end_session(self.session_id, {"started": False})
        if self.service.feeds is not None:
            self.service.feeds.closed(self.session_id)

    def start(self, sink: Sink, tasks: TaskOwner) -> None:
        """Start transcribing; events go to `sink` until the client goes."""
        self._tasks = tasks
        shared = self.service.llm
        try:
            if self.incident is not None and shared is not None:
                # Started here, not in __init__: a session that never starts queues nothing.
                filler = GapFiller(shared.slot, shared.cache, max_tokens=shared.max_tokens)
                self.stage = LlmStage(
                    filler, self.incident, queue_size=shared.queue_size, worker=shared.worker
                )
                self.stage.attach()
                self.service.stages.add(self.stage)
            self._task = tasks.create(self._consume(sink), name=f"live-{self.session_id[:8]}")
        except BaseException:
            self.discard()
            raise

    async def push(self, samples: np.ndarray) -> None:
        """Add 16 kHz mono int16 samples.

        A client sending faster than real time (a whole file at once) is slowed down by not
        reading its socket for a moment, instead of overflowing the buffer meant for capture
        jitter; a real-time client never waits here.
        """
        if not samples.size:
            return
        if self.service.feeds is not None:
            self.service.feeds.audio(self.session_id, samples.size)
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
        """The client has gone: stop sending, but finalise and log what was heard (a session
        that never started is discarded)."""
        self.client_gone = True
        if not self.started:
            self.discard()
            return
        self.source.close()

    @property
    def text(self) -> str:
        """All final text so far, joined as one decode would write it.

        Complete once the session has finished; before that the last final may still be
        waiting for its join, and is then added as its own decode wrote it.
        """
        return " ".join(t for t in (self.joined.text, *(f.committed for f in self._unjoined)) if t)

    def text_with(self, event: LiveTranscript | None = None) -> str:
        """Final text so far, followed by a partial's committed text (joined) if given."""
        if event is None or event.kind == "final" or not event.committed or self._unjoined:
            return self.text
        return self.joined.with_partial(event, self.transcriber.boundary(event.utterance_id))

    def settled_with(self, event: LiveTranscript | None = None) -> str:
        """The text so far that later finals cannot change (a partial's committed text too).

        What an append-only stream of deltas may send: every later `settled_with` and the final
        `text` start with it. It stops before a final or partial whose join is still being
        read, and before the end punctuation the next final may rewrite.
        """
        if self._unjoined:
            return settled(self.joined.text)
        if event is not None and self.transcriber.join_pending(event.utterance_id):
            return settled(self.joined.text)
        return settled(self.text_with(event))

    def _join_finals(self, *, all_now: bool = False) -> None:
        """Join the waiting finals whose joins are known (in order; all of them at the end)."""
        while self._unjoined:
            final = self._unjoined[0]
            if not all_now and self.transcriber.join_pending(final.utterance_id):
                return
            self.joined.add(final, self.transcriber.boundary(final.utterance_id))
            self._unjoined.pop(0)

    async def _store(self, event: LiveTranscript) -> int:
        """Store a final (analysed when on); an analysis failure never ends the session.
        Returns the number of facts stored with it."""
        if self.incident is None:
            await asyncio.to_thread(self.log.append, self.session_id, event)
            return 0
        try:
            return len(await asyncio.to_thread(self.incident.on_final, event))
        except Exception as exc:  # an analyzer bug must not stop the transcription
            # The type only: the exception may quote the transcript.
            _LOGGER.error("analysis of a final failed (%s); stored unanalysed", type(exc).__name__)
            await asyncio.to_thread(self.log.append, self.session_id, event)
            return 0

    async def _finish_later(self, summary: dict[str, object]) -> None:
        loop = asyncio.get_running_loop()
        # Its own small pool: a drain that waits for the model must not hold the default pool
        # that live sessions' VAD and log writes use.
        await loop.run_in_executor(self.service.finisher, self._finish_stage, summary)

    def _finish_stage(self, summary: dict[str, object]) -> None:
        """Let the model catch up (up to STAGE_DRAIN_S), stop the stage, store its counts."""
        assert self.stage is not None
        self.stage.drain(STAGE_DRAIN_S)
        self.stage.close()
        self.service.stages.discard(self.stage)
        stats = self.stage.stats
        outcomes = {
            "done": stats.done,
            "skipped": stats.skipped,
            "failed": stats.failed,
            "dropped": stats.dropped_overflow + stats.dropped_stale,
        }
        for outcome, n in outcomes.items():
            self.service.metrics.llm_utterances.labels(outcome).inc(n)
        summary["llm"] = {
            "submitted": stats.submitted,
            **outcomes,
            "suggested": self.stage.filler.stats.suggested,
        }
        self.log.update_stats(self.session_id, summary)

    async def _consume(self, sink: Sink) -> None:
        metrics = self.service.metrics
        try:
            async for event in self.transcriber.run(self.source):
                self._join_finals()
                if event.kind == "final":
                    self.finals.append(event)
                    self._unjoined.append(event)
                    self._join_finals()
                    stored = await self._store(event)
                    metrics.live_finals.inc()
                else:
                    stored = 0
                    metrics.live_partials.inc()
                if self.service.feeds is not None:
                    self.service.feeds.event(self.session_id, event, stored)
                if not self.client_gone:
                    try:
                        await sink(event)
                    except (ConnectionError, RuntimeError):
                        _LOGGER.debug("live client gone; finishing the session without it")
                        self.client_gone = True
        finally:
            # Every join has been read once the transcriber has finished (if it failed, a
            # join still unread is made by the rule alone).
            self._join_finals(all_now=True)
            stats = self.transcriber.stats
            for reason, n in stats.suppressed.items():
                metrics.suppressed.labels(reason).inc(n)
            if self.source.dropped_samples:
                metrics.audio_dropped_seconds.inc(self.source.dropped_samples / 16000)
            summary = asdict(stats)
            summary["suppressed"] = dict(stats.suppressed)  # asdict mangles a Counter
            summary["dropped_samples"] = self.source.dropped_samples
            summary["overflows"] = self.source.overflows
            self._release()
            await asyncio.to_thread(self.log.end_session, self.session_id, summary)
            if self.service.feeds is not None:
                self.service.feeds.closed(self.session_id)
            if self.stage is not None and self._tasks is not None:
                # The client's last transcript never waits for the language model: the stage
                # catches up in the background and its counts are added to the session then.
                self._tasks.create(
                    self._finish_later(dict(summary)), name=f"llm-{self.session_id[:8]}"
                )
