"""A cache of model calls keyed by (model identity, messages, options): in memory with a size
bound, and persisted in SQLite so a replayed session or a repeated question is not recomputed.

Keys are SHA-256 digests, so the prompts (which quote the transcript) are never stored; the
answers are, and they can hold casualty data, so the file is created owner-only beside the
casualty log.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from tccc.llm.model import Completion, LanguageModel, Options

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_cache (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL
);
"""


def cache_key(identity: str, messages: list[dict[str, str]], options: Options) -> str:
    """The digest of everything that decides an answer."""
    blob = json.dumps(
        {"model": identity, "messages": messages, "options": options.key()},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class CacheStats:
    """Hits and misses since start."""

    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        """Share of lookups answered from the cache."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class LlmCache:
    """Memory (LRU, `max_entries`) in front of an optional SQLite file."""

    def __init__(self, path: str | Path | None = None, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._memory: OrderedDict[str, Completion] = OrderedDict()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None and str(path) != ":memory:":
            file = Path(path).expanduser()
            file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not file.exists():
                # Owner-only from the first byte: the answers can quote casualty data.
                os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(str(file), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def get(self, key: str) -> Completion | None:
        """The cached answer for `key`, or None (counted as a hit or a miss)."""
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
            elif self._db is not None:
                row = self._db.execute(
                    "SELECT text, prompt_tokens, completion_tokens, seconds FROM llm_cache"
                    " WHERE key = ?",
                    (key,),
                ).fetchone()
                if row is not None:
                    found = Completion(row[0], row[1], row[2], row[3])
                    self._remember(key, found)
            if found is None:
                self.stats.misses += 1
                return None
            self.stats.hits += 1
            return replace(found, cached=True)

    def put(self, key: str, completion: Completion) -> None:
        """Keep an answer."""
        with self._lock:
            self._remember(key, completion)
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?)",
                    (
                        key,
                        completion.text,
                        completion.prompt_tokens,
                        completion.completion_tokens,
                        completion.seconds,
                    ),
                )

    def _remember(self, key: str, completion: Completion) -> None:
        self._memory[key] = replace(completion, cached=False)
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_entries:
            self._memory.popitem(last=False)

    def __len__(self) -> int:
        return len(self._memory)

    def resize(self, max_entries: int) -> int:
        """Keep at most `max_entries` in memory from now on; returns how many were dropped."""
        with self._lock:
            self.max_entries = max(1, max_entries)
            dropped = 0
            while len(self._memory) > self.max_entries:
                self._memory.popitem(last=False)
                dropped += 1
            return dropped

    def close(self) -> None:
        """Close the file, if any."""
        if self._db is not None:
            self._db.close()
            self._db = None


def cached_chat(
    model: LanguageModel, cache: LlmCache, messages: list[dict[str, str]], options: Options
) -> Completion:
    """The model's answer, from the cache when it was asked the same before."""
    key = cache_key(model.identity, messages, options)
    found = cache.get(key)
    if found is not None:
        return found
    answer = model.chat(messages, options)
    cache.put(key, answer)
    return answer
