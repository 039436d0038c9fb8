"""One incident: final transcripts in, facts out, on disk before they are shown.

The incident ties the session analyzer to the casualty log. `on_final` analyses a final
transcript, writes it and its facts in one transaction, and only then returns the facts, so
whatever the caller shows the medic is already durable. `resume` rebuilds the analyzer's context
(current casualty, names, rosters, access routes, next fact id) from the stored facts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from tccc.analysis.analyzer import SCENE, SessionAnalyzer, UtteranceText
from tccc.analysis.clock import SessionClock
from tccc.analysis.evidence import evidence
from tccc.analysis.march import march_status
from tccc.analysis.prompts import Prompt
from tccc.analysis.record import CasualtyRecord, fold
from tccc.analysis.rules import evaluate
from tccc.errors import TcccError
from tccc.events import Fact, LiveTranscript, NormalisedText, Scalar
from tccc.reports.export import export_document
from tccc.store.casualty_log import CasualtyLog


class Incident:
    """The analysis of one session, kept in the casualty log."""

    def __init__(self, log: CasualtyLog, session_id: str, analyzer: SessionAnalyzer) -> None:
        self.log = log
        self.session_id = session_id
        self.analyzer = analyzer
        self.next_utterance = 0
        self.time_offset_s = 0.0
        """Session seconds before this run (a resumed session continues its clock)."""
        self.after_final: Callable[[UtteranceText, str], None] | None = None
        """Called with each analysed utterance and its casualty (the language-model stage)."""
        self._lock = threading.RLock()

    @classmethod
    def new(cls, log: CasualtyLog, source: str) -> Incident:
        """Open a new session in the log."""
        return cls(log, log.new_session(source), SessionAnalyzer())

    @classmethod
    def resume(cls, log: CasualtyLog, session_id: str) -> Incident:
        """Continue a stored session where it stopped."""
        analyzer = SessionAnalyzer()
        facts = log.facts(session_id)
        restore(analyzer, facts)
        incident = cls(log, session_id, analyzer)
        utterances = log.utterances(session_id)
        if utterances:
            incident.next_utterance = max(u.utterance_id for u in utterances) + 1
            incident.time_offset_s = max(u.session_s for u in utterances)
        return incident

    def on_final(self, transcript: LiveTranscript) -> list[Fact]:
        """Analyse one final transcript and store it with its facts; returns the facts."""
        text = transcript.committed
        norm = transcript.normalised or NormalisedText(text, text)
        # Utterance ids and times continue after those of earlier runs of this session.
        stored = LiveTranscript(
            kind="final",
            utterance_id=self.next_utterance + transcript.utterance_id,
            start=self.time_offset_s + transcript.start,
            end=self.time_offset_s + transcript.end,
            committed=text,
            words=tuple(
                replace(w, start=w.start + self.time_offset_s, end=w.end + self.time_offset_s)
                for w in transcript.words
            ),
            normalised=norm,
        )
        utterance = UtteranceText(stored.utterance_id, norm, stored.words, stored.end)
        with self._lock:
            before = len(self.analyzer.facts)
            try:
                facts = self.analyzer.analyze(utterance)
                self.log.record(self.session_id, stored, facts)
            except BaseException:
                # Not on disk means not acknowledged: the analyzer forgets it too.
                del self.analyzer.facts[before:]
                raise
            casualty = facts[-1].casualty if facts else (self.analyzer.current or "1")
        if self.after_final is not None:
            self.after_final(utterance, casualty)
        return facts

    def add_model_facts(
        self,
        utterance: UtteranceText,
        casualty: str,
        found: Sequence[tuple[str, dict[str, Scalar], int, int]],
        source: str,
    ) -> list[Fact]:
        """Store what a language model found in an utterance: `suggested` facts, and its
        conflicts with stated facts as `rejected` events. On disk when this returns."""
        with self._lock:
            facts = [
                Fact(
                    id=self.analyzer.next_id + n,
                    kind=kind,
                    casualty=casualty,
                    data=dict(data),
                    evidence=evidence(utterance, start, end),
                    status="rejected" if kind == "conflict" else "suggested",
                    source=source,
                    session_s=utterance.session_s,
                )
                for n, (kind, data, start, end) in enumerate(found)
            ]
            self.log.add_facts(self.session_id, facts)
            self.analyzer.next_id += len(facts)
            self.analyzer.facts.extend(facts)
        return facts

    def confirm(self, fact_id: int) -> Fact:
        """The medic confirms a model's suggestion: it counts as stated from now on."""
        with self._lock:
            target = next((f for f in self.analyzer.facts if f.id == fact_id), None)
            if target is None or target.status != "suggested":
                raise TcccError(
                    f"fact {fact_id} is not a suggestion of this session", code="not_suggested"
                )
            fact = self._confirming(target, self.analyzer.next_id)
            self.log.add_facts(self.session_id, [fact])
            self.analyzer.next_id += 1
            self.analyzer.facts.append(fact)
        return fact

    def correct(self, fact_id: int, data: dict[str, Scalar]) -> Fact:
        """The medic corrects a value by hand: a new fact replaces fact `fact_id` (never an
        overwrite; the old one stays in the log). `data` holds the fields that change, the
        others are kept. Correcting a suggestion accepts it: a `confirm` is stored with the
        correction, in the same transaction. Returns the correction."""
        with self._lock:
            target = next((f for f in self.analyzer.facts if f.id == fact_id), None)
            # Events about other facts, and casualty switches, hold no value to correct.
            events = ("confirm", "retract", "conflict", "casualty")
            if target is None or target.status == "rejected" or target.kind in events:
                raise TcccError(
                    f"fact {fact_id} is not a value of this session", code="not_correctable"
                )
            if not data or any(
                not isinstance(k, str) or not isinstance(v, str | int | float | bool | None)
                for k, v in data.items()
            ):
                raise TcccError("a correction needs fields with plain values", code="bad_value")
            facts: list[Fact] = []
            if target.status == "suggested" and self._confirmation(fact_id) is None:
                facts.append(self._confirming(target, self.analyzer.next_id))
            facts.append(
                Fact(
                    id=self.analyzer.next_id + len(facts),
                    kind=target.kind,
                    casualty=target.casualty,
                    data={**target.data, **data},
                    evidence=target.evidence,
                    replaces=fact_id,
                    source="medic",
                    # When the value was said: a time typed in by hand is no reading of the
                    # clock now, so it must not move the session clock's anchor.
                    session_s=target.session_s,
                )
            )
            self.log.add_facts(self.session_id, facts)
            self.analyzer.next_id += len(facts)
            self.analyzer.facts.extend(facts)
        return facts[-1]

    def confirmation(self, fact_id: int) -> Fact | None:
        """The medic's confirmation of fact `fact_id`, if there is one."""
        with self._lock:
            return self._confirmation(fact_id)

    def _confirmation(self, fact_id: int) -> Fact | None:
        return next(
            (
                f
                for f in self.analyzer.facts
                if f.kind == "confirm" and str(f.data.get("fact")) == str(fact_id)
            ),
            None,
        )

    def _confirming(self, target: Fact, fact_id: int) -> Fact:
        """A `confirm` event (id `fact_id`) that accepts the suggestion `target`."""
        return Fact(
            id=fact_id,
            kind="confirm",
            casualty=target.casualty,
            data={"fact": target.id},
            evidence=target.evidence,
            source="medic",
            session_s=self.now_s,
        )

    def stated_facts(self) -> list[Fact]:
        """A snapshot of the session's facts (for a worker thread)."""
        with self._lock:
            return list(self.analyzer.facts)

    def records(self, *, suggested: bool = False) -> dict[str, CasualtyRecord]:
        """The current casualty records (a fold over every fact so far)."""
        with self._lock:
            return fold(list(self.analyzer.facts), suggested=suggested)

    @property
    def now_s(self) -> float:
        """Session time now: the end of the latest utterance analysed."""
        return max((f.session_s for f in self.analyzer.facts), default=self.time_offset_s)

    def prompts(self, now_s: float | None = None) -> dict[str, list[Prompt]]:
        """Decision-support prompts per casualty at session time `now_s` (default: now)."""
        records = self.records()
        clock = SessionClock.from_facts(self.analyzer.facts)
        scene = records.get(SCENE)
        when = self.now_s if now_s is None else now_s
        return {
            label: evaluate(record, when, clock, scene=scene)
            for label, record in records.items()
            if label != SCENE
        }

    def document(
        self, extra: dict[str, Any] | None = None, *, suggested: bool = False
    ) -> dict[str, Any]:
        """The DD 1380 export of the session, with prompts and MARCH-PAWS status (with
        `suggested`, a model's suggestions are on the card as if stated: for benchmarks)."""
        session = {"id": self.session_id} | (extra or {})
        records = self.records(suggested=suggested)
        doc = export_document(records, session=session)
        prompts = self.prompts()
        scene = records.get(SCENE)
        for cas in doc["casualties"]:
            record = records.get(cas["label"])
            if record is None:
                continue
            cas["prompts"] = [prompt_json(p) for p in prompts.get(cas["label"], [])]
            cas["march"] = march_status(record, scene=scene)
        return doc


def prompt_json(prompt: Prompt) -> dict[str, Any]:
    """A prompt as the export carries it (its trigger evidence as utterance spans)."""
    return {
        "rule": prompt.rule,
        "title": prompt.title,
        "text": prompt.text,
        "deadline": prompt.deadline,
        "severity": prompt.severity,
        "triggers": [
            {"utterance_id": e.utterance_id, "start": e.start, "end": e.end, "text": e.text}
            for e in prompt.triggers
        ],
    }


def restore(analyzer: SessionAnalyzer, facts: list[Fact]) -> None:
    """Put an analyzer back in the state it had after stating `facts`."""
    analyzer.facts = list(facts)
    analyzer.next_id = max((f.id for f in facts), default=0) + 1
    for fact in facts:
        if fact.casualty == SCENE:
            continue
        casualty = analyzer.people.switch(fact.casualty)
        if fact.kind == "identity" and fact.data.get("field") == "battle_roster":
            casualty.roster = str(fact.data["value"])
        if fact.kind == "identity" and fact.data.get("field") == "last_name":
            casualty.name = str(fact.data["value"])
        if fact.kind == "identity" and fact.data.get("field") == "first_name":
            casualty.first_name = str(fact.data["value"])
        if fact.kind == "casualty" and fact.data.get("alias"):
            casualty.aliases.add(str(fact.data["alias"]))
        if fact.kind == "access":
            analyzer.access_route[fact.casualty] = str(fact.data["route"])
