"""The casualty log: an append-only record of every utterance and the facts drawn from it.

One session per incident. Each final transcript and its facts are written in one transaction
(WAL, `synchronous=FULL`) before anything is shown to the medic, so a fact acknowledged to the
user is on disk: a `kill -9` at any moment loses nothing acknowledged. Records are never
updated in place; the current card is a fold over the facts (`tccc.analysis.record.fold`), so
corrections and the history of every vital sign are kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tccc.analysis.analyzer import UtteranceText
from tccc.events import Evidence, Fact, LiveTranscript, NormalisedText, TextEdit, Word
from tccc.store.transcripts import INSERT_TRANSCRIPT, TranscriptLog, transcript_row

_FACTS = """
CREATE TABLE IF NOT EXISTS facts (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    casualty TEXT NOT NULL,
    data TEXT NOT NULL,
    evidence TEXT NOT NULL,
    replaces INTEGER,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    session_s REAL NOT NULL,
    PRIMARY KEY (session_id, id)
);
"""


class CasualtyLog(TranscriptLog):
    """Sessions, their transcripts and their casualty facts (thread-safe)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        super().__init__(path)
        self._db.executescript(_FACTS)

    def record(self, session_id: str, transcript: LiveTranscript, facts: Sequence[Fact]) -> None:
        """Store one final transcript and its facts atomically; on disk when this returns."""
        self._write(session_id, transcript, facts)

    def add_facts(self, session_id: str, facts: Sequence[Fact]) -> None:
        """Store facts stated later about a stored utterance (a model's suggestions)."""
        if facts:
            self._write(session_id, None, facts)

    def _write(
        self, session_id: str, transcript: LiveTranscript | None, facts: Sequence[Fact]
    ) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if transcript is not None:
                    self._db.execute(INSERT_TRANSCRIPT, transcript_row(session_id, transcript))
                self._db.executemany(
                    "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [_fact_row(session_id, f) for f in facts],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def facts(self, session_id: str) -> list[Fact]:
        """Every fact of a session, in the order it was stated."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, casualty, data, evidence, replaces, status, source, session_s"
                " FROM facts WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
        return [
            Fact(
                id=r[0],
                kind=r[1],
                casualty=r[2],
                data=json.loads(r[3]),
                evidence=Evidence(**json.loads(r[4])),
                replaces=r[5],
                status=r[6],
                source=r[7],
                session_s=r[8],
            )
            for r in rows
        ]

    def utterances(self, session_id: str) -> list[UtteranceText]:
        """The session's final transcripts as analyzer input, in order."""
        session = self.session(session_id)
        if session is None:
            return []
        out: list[UtteranceText] = []
        for t in session["transcripts"]:
            norm = t["normalised"]
            text = (
                NormalisedText(
                    norm["raw"], norm["text"], tuple(TextEdit(**e) for e in norm["edits"])
                )
                if norm
                else NormalisedText(t["text"], t["text"])
            )
            words = tuple(Word(**w) for w in t["words"])
            out.append(UtteranceText(t["utterance_id"], text, words, t["end"]))
        return out

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, newest first: id, source, start and end times, fact count."""
        with self._lock:
            rows = self._db.execute(
                "SELECT s.id, s.source, s.started_at, s.ended_at,"
                " (SELECT COUNT(*) FROM facts f WHERE f.session_id = s.id)"
                " FROM sessions s ORDER BY s.started_at DESC"
            ).fetchall()
        return [
            {"id": r[0], "source": r[1], "started_at": r[2], "ended_at": r[3], "facts": r[4]}
            for r in rows
        ]

    def find_session(self, prefix: str) -> str | None:
        """The one session whose id starts with `prefix` (None if none or ambiguous)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM sessions WHERE id LIKE ? LIMIT 2", (prefix + "%",)
            ).fetchall()
        return rows[0][0] if len(rows) == 1 else None


def _fact_row(session_id: str, fact: Fact) -> tuple[Any, ...]:
    return (
        session_id,
        fact.id,
        fact.kind,
        fact.casualty,
        json.dumps(fact.data),
        json.dumps(asdict(fact.evidence)),
        fact.replaces,
        fact.status,
        fact.source,
        fact.session_s,
    )
