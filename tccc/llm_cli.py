"""Command-line glue of the language-model stage: `tccc llm ask`, `--llm/--no-llm`, start-up.

A model that cannot be loaded or reached is a clear message at start-up, and the run carries on
without the stage: transcripts, rule facts, prompts and reports never depend on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from tccc.analysis.incident import Incident
from tccc.config import LlmSettings
from tccc.errors import LlmError
from tccc.llm.cache import LlmCache, cached_chat
from tccc.llm.gapfill import GapFiller
from tccc.llm.model import LanguageModel, LlamaCppModel, Options
from tccc.llm.prose import HandoffWriter
from tccc.llm.stage import LlmStage
from tccc.reports.document import casualty_id

DRAIN_S = 600.0
"""Longest a finished run waits for the model to catch up before writing the reports."""


def add_llm_flag(parser: argparse.ArgumentParser) -> None:
    """`--llm` / `--no-llm` (default: the profile's llm.enabled)."""
    parser.add_argument(
        "--llm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the language-model stage (default: the profile's llm.enabled)",
    )


def open_model(settings: LlmSettings) -> LanguageModel:
    """The configured model, loaded or reached now (LlmError if it cannot be)."""
    if settings.backend == "openai":
        from tccc.llm.http_model import OpenAICompatModel

        return OpenAICompatModel.open(settings.url, settings.model_id or None)
    return LlamaCppModel.open(
        settings.model_path or None,
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_batch=settings.n_batch,
        n_gpu_layers=settings.n_gpu_layers,
    )


def cache_path(db: str | None) -> str | None:
    """The cache file beside a casualty log file (None: memory only)."""
    if db is None or db == ":memory:":
        return None
    return str(Path(db).expanduser().with_name("llm_cache.db"))


def start_stage(
    settings: LlmSettings, flag: bool | None, incident: Incident, db: str | None
) -> LlmStage | None:
    """The stage attached to the incident, or None when off or the model is unavailable."""
    if not (settings.enabled if flag is None else flag):
        return None
    try:
        model = open_model(settings)
    except LlmError as exc:
        print(f"tccc: language-model stage off: {exc}", file=sys.stderr)
        return None
    cache = LlmCache(cache_path(db), max_entries=settings.cache_entries)
    filler = GapFiller(model, cache, max_tokens=settings.max_tokens)
    stage = LlmStage(filler, incident, queue_size=settings.queue_size)
    stage.attach()
    print(f"language-model stage: {model.name}", file=sys.stderr)
    return stage


def finish_stage(stage: LlmStage | None, *, close: bool = True) -> None:
    """Let the model catch up, print its counts (never any text), and stop it unless the
    hand-off prose still needs the model (`close=False`)."""
    if stage is None:
        return
    caught_up = stage.drain(DRAIN_S)
    if close:
        stage.close()
    else:
        stage.incident.after_final = None
    s, g = stage.stats, stage.filler.stats
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(g.rejected.items())) or "none"
    print(
        f"language-model stage: {s.done}/{s.submitted} utterances"
        f"{'' if caught_up else ' (stopped before catching up)'}, {g.suggested} suggested, "
        f"{g.already_stated} already stated, {g.conflicts} conflicts, rejected: {rejected}; "
        f"dropped {s.dropped_overflow} overflow, {s.dropped_stale} stale; cache hit rate "
        f"{stage.filler.cache.stats.hit_rate:.0%}",
        file=sys.stderr,
    )


def write_handoffs(stage: LlmStage | None, doc: dict[str, Any], folder: Path) -> Path | None:
    """`handoff.txt`: each casualty's checked hand-off paragraph (the model's, or the template's
    when the model's failed its check), with who wrote it; None without the stage."""
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
    print(
        f"hand-off prose: {s.accepted} from the model, {s.rejected} rejected ({reasons}), "
        f"{s.errors} errors: template used for the rest",
        file=sys.stderr,
    )
    return path


def configure_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """`tccc llm ask "..."`: a quick manual check of the configured model (returns its parser)."""
    llm = sub.add_parser("llm", help="the language-model stage: a quick check of the model")
    lsub = llm.add_subparsers(dest="llm_command", required=True)
    ask = lsub.add_parser("ask", parents=[common], help="ask the configured model one question")
    ask.add_argument("question")
    ask.add_argument("--max-tokens", type=int, default=128)
    ask.add_argument("--model-path", help="a GGUF file (default: llm.model_path or SmolLM2)")
    return ask


def cmd_llm(args: argparse.Namespace, settings: LlmSettings) -> int:
    """Answer `tccc llm ask`."""
    if args.model_path:
        settings = dataclasses.replace(settings, model_path=args.model_path)
    try:
        model = open_model(settings)
        answer = cached_chat(
            model,
            LlmCache(),
            [{"role": "user", "content": args.question}],
            Options(max_tokens=args.max_tokens),
        )
    except LlmError as exc:
        print(f"tccc: {exc}", file=sys.stderr)
        return 2
    print(answer.text.strip())
    print(
        f"[{model.name}: {answer.prompt_tokens} prompt + {answer.completion_tokens} generated "
        f"tokens in {answer.seconds:.2f} s]",
        file=sys.stderr,
    )
    return 0
