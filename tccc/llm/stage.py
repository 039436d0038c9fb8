"""The language-model stage's worker: off the critical path, with a bounded queue.

Transcripts, rule facts and prompts never wait for it: `submit` only queues the utterance.
One thread asks the model, grounds its answer and stores what passes. When the queue is full
the oldest waiting utterance is dropped; an utterance that fell more than `max_lag` behind the
newest is stale and dropped too. Both are counted.
"""

from __future__ import annotations

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


class LlmStage:
    """Runs gap-filling for an incident's utterances in a background thread."""

    def __init__(
        self, filler: GapFiller, incident: Incident, *, queue_size: int = 8, max_lag: int = 6
    ) -> None:
        self.filler = filler
        self.incident = incident
        self.queue_size = max(1, queue_size)
        self.max_lag = max_lag
        self.stats = StageStats()
        self._jobs: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tccc-llm", daemon=True)
        self._thread.start()

    def attach(self) -> None:
        """Take every utterance the incident analyses from now on."""
        self.incident.after_final = self.submit

    def submit(self, utterance: UtteranceText, casualty: str) -> None:
        """Queue one analysed utterance; never blocks."""
        with self._cond:
            self.stats.submitted += 1
            newest = utterance.utterance_id
            while self._jobs and newest - self._jobs[0].utterance.utterance_id > self.max_lag:
                self._jobs.popleft()
                self.stats.dropped_stale += 1
            if len(self._jobs) >= self.queue_size:
                self._jobs.popleft()
                self.stats.dropped_overflow += 1
            self._jobs.append(_Job(utterance, casualty))
            self._cond.notify()

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued utterance is done; False if `timeout_s` ran out first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while self._jobs or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the worker (queued work is dropped)."""
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)
        if self.incident.after_final == self.submit:
            self.incident.after_final = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._jobs.popleft()
                self._busy = True
            started = time.perf_counter()
            try:
                self._one(job)
                self.stats.done += 1
            except LlmUnavailableError:
                self.stats.skipped += 1
            except TcccError as exc:
                self.stats.failed += 1
                _LOGGER.warning("language-model stage: %s", exc.code)
            except Exception as exc:  # the stage must never take the session down
                self.stats.failed += 1
                _LOGGER.error("language-model stage failed (%s)", type(exc).__name__)
            finally:
                with self._cond:
                    self.stats.busy_s += time.perf_counter() - started
                    self._busy = False
                    self._cond.notify_all()

    def _one(self, job: _Job) -> None:
        found = self.filler.suggest(job.utterance, self.incident.stated_facts(), job.casualty)
        if found:
            self.incident.add_model_facts(
                job.utterance,
                job.casualty,
                [(kind, data, g.start, g.end) for kind, data, g in found],
                self.filler.model.name,
            )
