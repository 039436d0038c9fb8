"""Push streams of live sessions for the medic's page, and each utterance's pipeline timings.

The casualty log is the source of truth: a feed reads the session from it and sends the whole
state (transcripts, cards, prompts) whenever it changed, so a client that connects, or
reconnects after a drop, is in sync with its first message and no fact is ever lost. Sessions
of this process tell the hub as they go (`opened`, `audio`, `event`, `closed`): the feed then
wakes at once, carries partial transcripts, and the hub times each utterance from the end of
its speech to the card that shows it. A session written by another process (`tccc run` on the
same log) is followed by reading the log every `POLL_S`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from tccc.analysis.analyzer import SessionAnalyzer
from tccc.analysis.incident import Incident, restore
from tccc.events import Fact, LiveTranscript
from tccc.server.card_view import card_view
from tccc.store.casualty_log import CasualtyLog
from tccc.store.transcripts import TranscriptLog

_LOGGER = logging.getLogger(__name__)

POLL_S = 0.5
"""How often a feed reads the log for a session that another process may be writing."""
IDLE_POLL_S = 5.0
"""How often it reads the log for a session of this process, or one that has ended."""
HEARTBEAT_S = 1.0
"""A feed checks for shutdown this often, and sends a keep-alive when it has been silent."""
KEEPALIVE_S = 10.0
"""Longest a feed stays silent (a proxy or a dead client is found out by the next write)."""
KEPT_SESSIONS = 64
"""Sessions of this process whose analysis is kept after they end (for confirm/correct)."""
TIMINGS_KEPT = 512
"""Utterance timings kept for the dashboard."""
PARTIALS_QUEUED = 32
"""Partial transcripts queued per feed; older ones are dropped (the next one replaces them)."""


@dataclass
class UtteranceTiming:
    """When each stage of one utterance finished (`time.monotonic()`), from the end of speech."""

    session_id: str
    utterance_id: int
    speech_end: float
    """When the audio of the end of the last word arrived."""
    final: float
    """When the final transcript was decoded."""
    facts: float
    """When its facts were on disk."""
    card: float | None = None
    """When a feed first sent a card with them (None: nobody was watching)."""
    n_facts: int = 0
    seq: int = 0

    def stages_ms(self) -> dict[str, float | None]:
        """Each stage's duration in milliseconds (None for a card nobody was sent)."""

        def ms(a: float, b: float | None) -> float | None:
            return None if b is None else round(1000 * max(0.0, b - a), 1)

        return {
            "transcript_ms": ms(self.speech_end, self.final),
            "facts_ms": ms(self.final, self.facts),
            "card_ms": ms(self.facts, self.card),
            "total_ms": ms(self.speech_end, self.card if self.card is not None else self.facts),
        }

    def json(self) -> dict[str, Any]:
        """Plain data for the dashboard (no transcript text: figures only)."""
        return {
            "seq": self.seq,
            "session": self.session_id[:8],
            "utterance": self.utterance_id,
            "n_facts": self.n_facts,
            "at": round(time.time() - (time.monotonic() - self.speech_end), 3),
            **self.stages_ms(),
        }


@dataclass
class _Live:
    """A session of this process."""

    session_id: str
    source: str
    incident: Incident | None
    started: float = field(default_factory=time.monotonic)
    samples: int = 0
    arrivals: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=4096))
    """(audio seconds received so far, monotonic time) after each push of audio."""
    ended: bool = False

    def arrival(self, audio_s: float) -> float | None:
        """When the audio at session second `audio_s` reached the server (None: not kept)."""
        if not self.arrivals or audio_s < self.arrivals[0][0] - 30.0:
            return None
        ends = [a for a, _t in self.arrivals]
        i = bisect.bisect_left(ends, audio_s)
        return self.arrivals[min(i, len(ends) - 1)][1]


@dataclass(eq=False)
class _Subscriber:
    session_id: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    changed: bool = True
    """The session changed since the feed last read it."""
    partials: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=PARTIALS_QUEUED))


class SessionFeeds:
    """The hub: live sessions of this process, their subscribers, and utterance timings."""

    def __init__(self, log: TranscriptLog) -> None:
        self.log = log
        self._live: OrderedDict[str, _Live] = OrderedDict()
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self.timings: deque[UtteranceTiming] = deque(maxlen=TIMINGS_KEPT)
        self._pending: dict[str, dict[int, UtteranceTiming]] = {}
        """Timings whose card has not been sent yet, per session and utterance."""
        self._seq = 0

    # -- sessions of this process tell the hub --------------------------------------------

    def opened(self, session_id: str, source: str, incident: Incident | None) -> None:
        """A live session started in this process."""
        self._live[session_id] = _Live(session_id, source, incident)
        ended = [s for s, live in self._live.items() if live.ended]
        for old in ended[: max(0, len(self._live) - KEPT_SESSIONS)]:
            del self._live[old]  # the oldest ended ones; live sessions are always kept
        self._wake(session_id)

    def audio(self, session_id: str, samples: int, rate: int = 16000) -> None:
        """`samples` more samples of the session's audio arrived."""
        live = self._live.get(session_id)
        if live is None:
            return
        live.samples += samples
        live.arrivals.append((live.samples / rate, time.monotonic()))

    def event(self, session_id: str, event: LiveTranscript, n_facts: int = 0) -> None:
        """A partial was sent, or a final is on disk with its `n_facts` facts."""
        now = time.monotonic()
        subscribers = self._subscribers.get(session_id, ())
        if event.kind == "partial":
            body = {
                "type": "partial",
                "utterance_id": event.utterance_id,
                "committed": event.committed,
                "tentative": event.tentative,
            }
            for sub in subscribers:
                sub.partials.append(body)
                sub.wake.set()
            return
        live = self._live.get(session_id)
        speech_end = event.words[-1].end if event.words else event.end
        arrived = live.arrival(speech_end) if live is not None else None
        decoded = event.emitted_at or now
        if arrived is not None:
            self._seq += 1
            timing = UtteranceTiming(
                session_id,
                event.utterance_id,
                speech_end=min(arrived, decoded),
                final=decoded,
                facts=now,
                n_facts=n_facts,
                seq=self._seq,
            )
            self.timings.append(timing)
            if subscribers:
                self._pending.setdefault(session_id, {})[event.utterance_id] = timing
        self._wake(session_id)

    def closed(self, session_id: str) -> None:
        """The live session has finished (its end is in the log)."""
        live = self._live.get(session_id)
        if live is not None:
            live.ended = True
        self._wake(session_id)

    def changed(self, session_id: str) -> None:
        """The session's facts changed outside its live stream (a confirm, a correction)."""
        self._wake(session_id)

    def _wake(self, session_id: str) -> None:
        for sub in self._subscribers.get(session_id, ()):
            sub.changed = True
            sub.wake.set()

    # -- what the routes ask --------------------------------------------------------------

    def is_live_here(self, session_id: str) -> bool:
        """The session is being transcribed by this process now."""
        live = self._live.get(session_id)
        return live is not None and not live.ended

    def live_ids(self) -> list[str]:
        """Sessions this process is transcribing now."""
        return [s for s, live in self._live.items() if not live.ended]

    def incident(self, session_id: str) -> Incident | None:
        """The analysis of a session of this process (kept a while after it ends): edits must
        go through it, so its fact ids stay in step with the log."""
        live = self._live.get(session_id)
        return live.incident if live is not None else None

    def subscribers(self) -> int:
        """Feeds open now."""
        return sum(len(s) for s in self._subscribers.values())

    # -- a feed ---------------------------------------------------------------------------

    async def feed(
        self, session_id: str, exiting: Callable[[], bool]
    ) -> AsyncIterator[dict[str, Any]]:
        """The session's state now, then again whenever it changes, and partial transcripts,
        until the server shuts down or the client goes."""
        sub = _Subscriber(session_id)
        self._subscribers.setdefault(session_id, set()).add(sub)
        version: tuple[Any, ...] | None = None
        next_read = 0.0
        last_sent = time.monotonic()
        try:
            while not exiting():
                sub.wake.clear()
                while sub.partials:
                    last_sent = time.monotonic()
                    yield sub.partials.popleft()
                # A partial is no change in the log: only a change (or the poll) reads it.
                if sub.changed or time.monotonic() >= next_read:
                    sub.changed = False
                    state = await asyncio.to_thread(self._read, session_id)
                    if state is None:
                        yield {"type": "gone", "session_id": session_id}
                        return
                    if state["version"] != version:
                        version = state["version"]
                        body = await asyncio.to_thread(self._snapshot, session_id, state)
                        last_sent = time.monotonic()
                        yield body
                        self._card_sent(session_id, state["utterances"])
                    slow = self.is_live_here(session_id) or state["ended_at"] is not None
                    next_read = time.monotonic() + (IDLE_POLL_S if slow else POLL_S)
                elif time.monotonic() - last_sent >= KEEPALIVE_S:
                    last_sent = time.monotonic()
                    yield {"type": "keepalive"}
                timeout = max(0.01, min(HEARTBEAT_S, next_read - time.monotonic()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.wake.wait(), timeout)
        finally:
            subs = self._subscribers.get(session_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[session_id]
                    self._pending.pop(session_id, None)

    async def state(self, session_id: str) -> dict[str, Any] | None:
        """The session's `state` now (None: no such session)."""
        state = await asyncio.to_thread(self._read, session_id)
        if state is None:
            return None
        return await asyncio.to_thread(self._snapshot, session_id, state)

    def _card_sent(self, session_id: str, utterance_ids: set[int]) -> None:
        pending = self._pending.get(session_id)
        if not pending:
            return
        now = time.monotonic()
        for uid in [u for u in pending if u in utterance_ids]:
            pending.pop(uid).card = now

    def _read(self, session_id: str) -> dict[str, Any] | None:
        """The session row, its transcripts and its facts (a worker thread)."""
        session = self.log.session(session_id)
        if session is None:
            return None
        facts = self.log.facts(session_id) if isinstance(self.log, CasualtyLog) else []
        transcripts = session["transcripts"]
        return {
            "session": session,
            "facts": facts,
            "ended_at": session["ended_at"],
            "utterances": {t["utterance_id"] for t in transcripts},
            "version": (
                len(transcripts),
                transcripts[-1]["utterance_id"] if transcripts else None,
                len(facts),
                facts[-1].id if facts else None,
                session["ended_at"],
                self.is_live_here(session_id),
            ),
        }

    def _snapshot(self, session_id: str, state: dict[str, Any]) -> dict[str, Any]:
        session = state["session"]
        facts: list[Fact] = state["facts"]
        live = self.is_live_here(session_id)
        ended = session["ended_at"]
        # The casualty's clock runs in real time while the session is live (session seconds
        # are seconds of audio since it began); for an ended session it stops at the last fact.
        if ended is None:
            now_s = max(0.0, time.time() - session["started_at"])
        else:
            now_s = max((f.session_s for f in facts), default=0.0)
        view = card_view(facts, now_s) if isinstance(self.log, CasualtyLog) else None
        return {
            "type": "state",
            "session": {
                "id": session["id"],
                "source": session["source"],
                "started_at": session["started_at"],
                "ended_at": ended,
                "live": ended is None,
                "here": live,
                "analysed": view is not None,
            },
            "now_s": round(now_s, 2),
            "server_time": time.time(),
            "transcripts": [
                {
                    "utterance_id": t["utterance_id"],
                    "start": t["start"],
                    "end": t["end"],
                    "speech_end": t["words"][-1]["end"] if t["words"] else t["end"],
                    "text": t["text"],
                    "normalised": (t["normalised"] or {}).get("text", t["text"]),
                }
                for t in session["transcripts"]
            ],
            **(view or {"casualties": [], "clock": None, "facts": 0}),
        }


def resumed_incident(log: CasualtyLog, session_id: str) -> Incident:
    """The analysis of a stored session, rebuilt from its facts (a worker thread)."""
    incident = Incident(log, session_id, SessionAnalyzer())
    restore(incident.analyzer, log.facts(session_id))
    return incident
