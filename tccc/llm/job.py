"""The language-model stage of one job (`tccc run`, `tccc analyze`): start, finish, hand-off.

A model that cannot be loaded or reached is a clear message at start-up, and the job carries on
without the stage: transcripts, rule facts, prompts and reports never depend on it. Messages go
to the caller's `say` (the command line prints them on stderr); they never hold patient text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tccc.analysis.incident import Incident
from tccc.config import LlmSettings
from tccc.errors import LlmError
from tccc.llm.cache import LlmCache
from tccc.llm.gapfill import GapFiller
from tccc.llm.open import cache_path, open_model
from tccc.llm.prose import HandoffWriter
from tccc.llm.stage import LlmStage
from tccc.reports.document import casualty_id

DRAIN_S = 600.0
"""Longest a finished run waits for the model to catch up before writing the reports."""

Say = Callable[[str], None]
"""Where a job's stage reports its counts and state (one line per call)."""


def _silent(line: str) -> None:
    """Say nothing."""


def start_stage(
    settings: LlmSettings,
    flag: bool | None,
    incident: Incident,
    db: str | None,
    *,
    say: Say = _silent,
) -> LlmStage | None:
    """The stage attached to the incident, or None when off or the model is unavailable."""
    if not (settings.enabled if flag is None else flag):
        return None
    try:
        model = open_model(settings)
    except LlmError as exc:
        say(f"tccc: language-model stage off: {exc}")
        return None
    cache = LlmCache(cache_path(db), max_entries=settings.cache_entries)
    filler = GapFiller(model, cache, max_tokens=settings.max_tokens)
    stage = LlmStage(filler, incident, queue_size=settings.queue_size)
    stage.attach()
    say(f"language-model stage: {model.name}")
    return stage


def finish_stage(stage: LlmStage | None, *, close: bool = True, say: Say = _silent) -> None:
    """Let the model catch up, say its counts (never any text), and stop it.

    With `close=False` the model stays loaded for the hand-off prose.
    """
    if stage is None:
        return
    caught_up = stage.drain(DRAIN_S)
    if close:
        stage.close()
    else:
        stage.incident.after_final = None
    s, g = stage.stats, stage.filler.stats
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(g.rejected.items())) or "none"
    say(
        f"language-model stage: {s.done}/{s.submitted} utterances"
        f"{'' if caught_up else ' (stopped before catching up)'}, {g.suggested} suggested, "
        f"{g.already_stated} already stated, {g.conflicts} conflicts, rejected: {rejected}; "
        f"dropped {s.dropped_overflow} overflow, {s.dropped_stale} stale; cache hit rate "
        f"{stage.filler.cache.stats.hit_rate:.0%}"
    )


def write_handoffs(
    stage: LlmStage | None, doc: dict[str, Any], folder: Path, *, say: Say = _silent
) -> Path | None:
    """Write `handoff.txt`, each casualty's checked hand-off paragraph; None without the stage.

    The paragraph is the model's, or the template's when the model's failed its check, and says
    which.
    """
    if stage is None or not doc.get("casualties"):
        return None
    writer = HandoffWriter(stage.filler.model, stage.filler.cache)
    blocks = []
    for casualty in doc["casualties"]:
        handoff = writer.write(casualty)
        blocks.append(f"{casualty_id(casualty)} ({handoff.source})\n{handoff.text}\n")
    path = folder / "handoff.txt"
    path.write_text("\n".join(blocks), encoding="utf-8")
    path.chmod(0o600)
    s = writer.stats
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.rejected_by.items())) or "none"
    say(
        f"hand-off prose: {s.accepted} from the model, {s.rejected} rejected ({reasons}), "
        f"{s.errors} errors: template used for the rest"
    )
    return path
