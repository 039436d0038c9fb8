"""The language-model stage's worker: off the critical path, with a bounded queue.

Transcripts, rule facts and prompts never wait for it: `submit` only queues the utterance.
One worker thread (shared by every session of a server) asks the model, grounds its answer
and stores what passes. When a stage's queue, or the worker's across all stages, is full the
oldest waiting utterance is dropped; an utterance that fell more than `max_lag` behind the
newest is stale and dropped too. All are counted.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from tccc.analysis.evidence import UtteranceText
from tccc.analysis.incident import Incident
from tccc.errors import LlmUnavailableError, TcccError
from tccc.llm.gapfill import GapFiller

_LOGGER = logging.getLogger(__name__)


@dataclass
class StageStats:
    """What happened to the utterances given to the stage."""

    submitted: int = 0
    done: int = 0
    dropped_overflow: int = 0
    dropped_stale: int = 0
    failed: int = 0
    skipped: int = 0
    """Utterances the model could not take because the runtime had unloaded or paused it."""
    busy_s: float = 0.0


@dataclass(frozen=True)
class _Job:
    utterance: UtteranceText
    casualty: str
    seq: int
    """Order of arrival across every stage of a worker (the oldest is dropped first)."""


class LlmWorker:
    """One thread that runs the queued utterances of every attached stage, in turn.

    A server shares one worker between its live sessions: the model answers one call at a time
    anyway. A thread per session only added threads: many at once each took a malloc arena,
    an arena keeps what it once held, and the server's RSS ratcheted up (+11 % in a 30-minute
    soak). A global bound on queued work keeps memory flat when sessions end faster than the
    model can catch up.
    """

    def __init__(self, *, max_pending: int = 32) -> None:
        self.cond = threading.Condition()
        self.max_pending = max(1, max_pending)
        self._stages: deque[LlmStage] = deque()
        self._seq = itertools.count()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tccc-llm", daemon=True)
        self._thread.start()

    def next_seq(self) -> int:
        """A new arrival number (call with `cond` held)."""
        return next(self._seq)

    def add(self, stage: LlmStage) -> None:
        """Serve `stage` from now on."""
        with self.cond:
            self._stages.append(stage)

    def remove(self, stage: LlmStage) -> None:
        """Serve `stage` no more (call with `cond` held)."""
        if stage in self._stages:
            self._stages.remove(stage)

    def pending(self) -> int:
        """Utterances queued across every stage (call with `cond` held)."""
        return sum(len(stage.jobs) for stage in self._stages)

    def make_room(self) -> None:
        """Drop the oldest queued utterances until one more fits (call with `cond` held)."""
        while self.pending() >= self.max_pending:
            oldest = min((s for s in self._stages if s.jobs), key=lambda s: s.jobs[0].seq)
            oldest.jobs.popleft()
            oldest.stats.dropped_overflow += 1

    def close(self) -> None:
        """Stop the thread (after the utterance it is on, up to 5 s)."""
        with self.cond:
            self._closed = True
            self.cond.notify_all()
        self._thread.join(timeout=5)

    def _take(self) -> tuple[LlmStage, _Job] | None:
        # Round robin: the stage served goes to the back, so one long narration cannot
        # starve the others.
        for _ in range(len(self._stages)):
            stage = self._stages[0]
            self._stages.rotate(-1)
            if stage.jobs:
                return stage, stage.jobs.popleft()
        return None

    def _run(self) -> None:
        while True:
            with self.cond:
                work = None
                while not self._closed and (work := self._take()) is None:
                    self.cond.wait()
                if work is None:
                    return
                stage, job = work
                stage.busy = True
            started = time.perf_counter()
            try:
                stage.run_one(job)
            finally:
                with self.cond:
                    stage.stats.busy_s += time.perf_counter() - started
                    stage.busy = False
                    self.cond.notify_all()


class LlmStage:
    """Gap-filling for one incident's utterances, run by an `LlmWorker` off the caller's path."""

    def __init__(
        self,
        filler: GapFiller,
        incident: Incident,
        *,
        queue_size: int = 8,
        max_lag: int = 6,
        worker: LlmWorker | None = None,
    ) -> None:
        self.filler = filler
        self.incident = incident
        self.queue_size = max(1, queue_size)
        self.max_lag = max_lag
        self.stats = StageStats()
        self.jobs: deque[_Job] = deque()
        self.busy = False
        """The worker is on one of this stage's utterances (guarded by the worker's `cond`)."""
        self._own_worker = worker is None
        self.worker = worker if worker is not None else LlmWorker(max_pending=self.queue_size)
        self._cond = self.worker.cond
        self._closed = False
        self.worker.add(self)

    def attach(self) -> None:
        """Take every utterance the incident analyses from now on."""
        self.incident.after_final = self.submit

    def submit(self, utterance: UtteranceText, casualty: str) -> None:
        """Queue one analysed utterance; never blocks."""
        with self._cond:
            if self._closed:
                return
            self.stats.submitted += 1
            newest = utterance.utterance_id
            while self.jobs and newest - self.jobs[0].utterance.utterance_id > self.max_lag:
                self.jobs.popleft()
                self.stats.dropped_stale += 1
            if len(self.jobs) >= self.queue_size:
                self.jobs.popleft()
                self.stats.dropped_overflow += 1
            self.worker.make_room()
            self.jobs.append(_Job(utterance, casualty, self.worker.next_seq()))
            self._cond.notify_all()

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued utterance is done; False if `timeout_s` ran out first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while self.jobs or self.busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop taking utterances (queued ones are dropped; the one in progress may finish)."""
        with self._cond:
            self._closed = True
            self.jobs.clear()
            self.worker.remove(self)
            deadline = time.monotonic() + 5
            while self.busy and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
        if self._own_worker:
            self.worker.close()
        if self.incident.after_final == self.submit:
            self.incident.after_final = None

    def run_one(self, job: _Job) -> None:
        """Ask the model about one utterance and count the outcome (never raises)."""
        try:
            self._one(job)
            outcome = "done"
        except LlmUnavailableError:
            outcome = "skipped"
        except TcccError as exc:
            outcome = "failed"
            _LOGGER.warning("language-model stage: %s", exc.code)
        except Exception as exc:  # the stage must never take the session down
            outcome = "failed"
            _LOGGER.error("language-model stage failed (%s)", type(exc).__name__)
        with self._cond:
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)

    def _one(self, job: _Job) -> None:
        found = self.filler.suggest(job.utterance, self.incident.stated_facts(), job.casualty)
        if found:
            self.incident.add_model_facts(
                job.utterance,
                job.casualty,
                [(kind, data, g.start, g.end) for kind, data, g in found],
                self.filler.model.name,
            )
