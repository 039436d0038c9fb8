"""The transcript log: every final transcript of every live session, in SQLite.

A final transcript is written before it is sent to the client, so a client that disconnects
mid-utterance, or a crash after the write, loses nothing that was said. The server keeps the
log in memory unless `server.session_db` names a file (patient data is not written to disk
unless asked for); on disk it is WAL with `synchronous=FULL`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tccc.events import LiveTranscript

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    stats TEXT
);
CREATE TABLE IF NOT EXISTS transcripts (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    utterance_id INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    text TEXT NOT NULL,
    normalised TEXT,
    words TEXT NOT NULL,
    PRIMARY KEY (session_id, utterance_id)
);
"""


INSERT_TRANSCRIPT = "INSERT OR REPLACE INTO transcripts VALUES (?, ?, ?, ?, ?, ?, ?)"
"""Stores one final transcript (a row of `transcript_row`)."""


def transcript_row(session_id: str, transcript: LiveTranscript) -> tuple[Any, ...]:
    """The transcripts-table row of one final transcript."""
    norm = transcript.normalised
    return (
        session_id,
        transcript.utterance_id,
        transcript.start,
        transcript.end,
        transcript.committed,
        json.dumps(asdict(norm)) if norm is not None else None,
        json.dumps([asdict(w) for w in transcript.words]),
    )


def create_private_file(path: str) -> None:
    """Create the database file 0600 if it does not exist: SQLite gives its -wal and -shm
    files the database file's mode, so they are private too (an existing file is left)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class TranscriptLog:
    """Sessions and their final transcripts (thread-safe; call it from worker threads)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        if self.path != ":memory:":
            create_private_file(self.path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def new_session(self, source: str) -> str:
        """Open a session and return its id."""
        session_id = uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions (id, source, started_at) VALUES (?, ?, ?)",
                (session_id, source, time.time()),
            )
        return session_id

    def append(self, session_id: str, transcript: LiveTranscript) -> None:
        """Store one final transcript (committed to disk before this returns)."""
        with self._lock:
            self._db.execute(INSERT_TRANSCRIPT, transcript_row(session_id, transcript))

    def end_session(self, session_id: str, stats: dict[str, Any] | None = None) -> None:
        """Mark a session ended, with its counters."""
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET ended_at = ?, stats = ? WHERE id = ?",
                (time.time(), json.dumps(stats or {}), session_id),
            )

    def update_stats(self, session_id: str, stats: dict[str, Any]) -> None:
        """Replace a session's counters (its end time stays)."""
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET stats = ? WHERE id = ?", (json.dumps(stats), session_id)
            )

    def session(self, session_id: str) -> dict[str, Any] | None:
        """A session and its transcripts in order, or None if unknown."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, source, started_at, ended_at, stats FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                return None
            rows = self._db.execute(
                "SELECT utterance_id, start_s, end_s, text, normalised, words FROM transcripts"
                " WHERE session_id = ? ORDER BY utterance_id",
                (session_id,),
            ).fetchall()
        return {
            "id": row[0],
            "source": row[1],
            "started_at": row[2],
            "ended_at": row[3],
            "stats": json.loads(row[4]) if row[4] else None,
            "transcripts": [
                {
                    "utterance_id": r[0],
                    "start": r[1],
                    "end": r[2],
                    "text": r[3],
                    "normalised": json.loads(r[4]) if r[4] else None,
                    "words": json.loads(r[5]),
                }
                for r in rows
            ],
        }

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
