"""`tccc bench llm`: what the language-model stage costs and adds, on the dev narrations.

Each narration goes through the rules as in `tccc bench analysis` (from text, or spoken by
espeak-ng and transcribed live), and the model is asked about every utterance, in line so each
call is timed. Reported: latency per utterance (p50/p95), prompt and generation tokens per
second, the process memory the model added, the cache hit rate of a replay of the same
narrations, and DD 1380 precision/recall with the rules alone and with the model's grounded
suggestions put on the card.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tccc.analysis.evidence import UtteranceText
from tccc.analysis.incident import Incident
from tccc.bench.analysis import load_suite, run_speech, run_text
from tccc.bench.narrations import (
    DEFAULT_CACHE_DIR,
    add_delivery_args,
    default_narrations_path,
    delivery_from_args,
)
from tccc.bench.stream_metrics import percentile
from tccc.config import Settings
from tccc.llm.cache import LlmCache
from tccc.llm.gapfill import GapFiller
from tccc.llm.model import Completion, LanguageModel, Options


@dataclass
class _Metered:
    """A LanguageModel that records every answer it gives (the bench's view of the model)."""

    inner: LanguageModel
    answers: list[Completion] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def identity(self) -> str:
        return self.inner.identity

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        answer = self.inner.chat(messages, options)
        self.answers.append(answer)
        return answer


@dataclass
class _Attach:
    """Hooks the model onto each incident, in line, timing every utterance."""

    filler: GapFiller
    latencies: list[float] = field(default_factory=list)
    per_narration: list[float] = field(default_factory=list)
    """Model seconds per narration (every utterance of one incident)."""

    def __call__(self, incident: Incident) -> None:
        self.per_narration.append(0.0)
        slot = len(self.per_narration) - 1

        def after(utterance: UtteranceText, casualty: str) -> None:
            started = time.perf_counter()
            found = self.filler.suggest(utterance, incident.stated_facts(), casualty)
            spent = time.perf_counter() - started
            self.latencies.append(spent)
            self.per_narration[slot] += spent
            rows = [(kind, data, g.start, g.end) for kind, data, g in found]
            incident.add_model_facts(utterance, casualty, rows, self.filler.model.name)

        incident.after_final = after


def run(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    """Both passes of the benchmark for each chosen mode."""
    from tccc.llm.open import open_model

    process = psutil.Process()
    before = process.memory_info().rss
    model = _Metered(open_model(settings.llm))
    loaded = process.memory_info().rss
    cases = load_suite(args.narrations or default_narrations_path())[: args.limit]
    modes = ("text", "speech") if args.mode == "both" else (args.mode,)
    results = []
    for mode in modes:
        cache = LlmCache(max_entries=4096)
        attach = _Attach(GapFiller(model, cache, max_tokens=settings.llm.max_tokens))
        model.answers.clear()
        result = _pass(mode, cases, settings, args, attach)
        answers = list(model.answers)
        replay_cache = cache.stats.hits, cache.stats.misses
        # The same again through the same cache (all hits); its own filler keeps its counts.
        replayer = GapFiller(model, cache, max_tokens=settings.llm.max_tokens)
        _pass(mode, cases, settings, args, _Attach(replayer))
        replay_hits = cache.stats.hits - replay_cache[0]
        replay_total = replay_hits + cache.stats.misses - replay_cache[1]
        stats = attach.filler.stats
        result["llm"] = {
            "model": model.name,
            "utterances": len(attach.latencies),
            "latency_s_p50": percentile(attach.latencies, 50) if attach.latencies else None,
            "latency_s_p95": percentile(attach.latencies, 95) if attach.latencies else None,
            "narration_s_p50": percentile(attach.per_narration, 50),
            "narration_s_p95": percentile(attach.per_narration, 95),
            "prompt_tok_s": _rate(answers, "prompt_tokens"),
            "gen_tok_s": _rate(answers, "completion_tokens"),
            "model_rss_mb": (loaded - before) / 2**20,
            "peak_rss_mb": process.memory_info().rss / 2**20,
            "replay_hit_rate": replay_hits / replay_total if replay_total else None,
            "proposals": stats.proposals,
            "suggested": stats.suggested,
            "already_stated": stats.already_stated,
            "conflicts": stats.conflicts,
            "truncated": stats.truncated,
            "rejected": dict(stats.rejected),
        }
        results.append(result)
    return results


def _pass(
    mode: str,
    cases: list[dict[str, Any]],
    settings: Settings,
    args: argparse.Namespace,
    attach: _Attach,
) -> dict[str, Any]:
    if mode == "text":
        return run_text(cases, settings, prepare=attach)
    voices, delivery = delivery_from_args(args)
    return run_speech(
        cases, settings, voices, args.cache_dir.expanduser(), delivery, prepare=attach
    )


def _rate(answers: list[Completion], tokens: str) -> float | None:
    """Tokens per second of the prompt or of generation, over calls the model really made."""
    timer = "prompt_s" if tokens == "prompt_tokens" else "generate_s"
    made = [a for a in answers if not a.cached and getattr(a, timer)]
    seconds = sum(getattr(a, timer) for a in made)
    return sum(getattr(a, tokens) for a in made) / seconds if seconds else None


def format_report(results: list[dict[str, Any]]) -> str:
    """The table of `tccc bench llm`."""
    lines = []
    for r in results:
        m, llm = r["with_model"], r["llm"]
        lines += [
            f"{r['mode']}: {r['cases']} narrations, {llm['utterances']} utterances, {llm['model']}",
            f"  rules only        precision {r['precision']:.3f}  recall {r['recall']:.3f}",
            f"  rules + model     precision {m['precision']:.3f}  recall {m['recall']:.3f}",
            f"  latency per utterance p50 {llm['latency_s_p50']:.2f} s  p95 "
            f"{llm['latency_s_p95']:.2f} s; per narration p50 {llm['narration_s_p50']:.1f} s"
            f"  p95 {llm['narration_s_p95']:.1f} s",
            f"  tokens/s prompt {llm['prompt_tok_s'] or 0:.0f}  generation "
            f"{llm['gen_tok_s'] or 0:.0f}",
            f"  model memory +{llm['model_rss_mb']:.0f} MiB (process {llm['peak_rss_mb']:.0f} MiB)"
            f"  replay cache hit rate {llm['replay_hit_rate'] or 0:.0%}",
            f"  proposals {llm['proposals']}: suggested {llm['suggested']}, already stated "
            f"{llm['already_stated']}, conflicts {llm['conflicts']}, rejected "
            f"{json.dumps(llm['rejected'], sort_keys=True)} (answers cut at the token cap: "
            f"{llm['truncated']})",
        ]
    return "\n".join(lines)


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Flags of `tccc bench llm`."""
    p.add_argument("--mode", choices=("text", "speech", "both"), default="text")
    p.add_argument("--narrations", type=Path, help="narrations JSON (default: shared dev.json)")
    p.add_argument("--limit", type=int, help="only the first N cases")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    add_delivery_args(p)


def run_from_args(args: argparse.Namespace, settings: Settings) -> int:
    """Run the benchmark and print its table."""
    results = run(args, settings)
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0
