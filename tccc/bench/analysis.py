"""`tccc bench analysis`: DD 1380 precision and recall on the dev narrations, and extraction speed.

From text: each narration's text goes through the normaliser, the analyzer and the export.
Through speech: the same narrations spoken by each voice (espeak-ng, Piper, Kokoro: see
`tccc.bench.voices`) go through live transcription (tiny.en by default) first. Exports are scored
with ../shared/tools/score_dd1380.py against the narration as written (pooled over atoms, as the
scorer's suite mode does), per voice and pooled, with a breakdown of the errors per atom type and
per phenomenon (`tccc.bench.breakdown`). Extraction latency is the wall time of
`SessionAnalyzer.analyze` per utterance.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from tccc.analysis.analyzer import SessionAnalyzer
from tccc.analysis.incident import Incident
from tccc.bench.breakdown import breakdown, expected_types, format_breakdown, load_phenomena
from tccc.bench.narrations import (
    DEFAULT_CACHE_DIR,
    Delivery,
    add_delivery_args,
    default_narrations_path,
    delivery_from_args,
    synthesise_cases,
)
from tccc.bench.stream_metrics import percentile
from tccc.config import Settings
from tccc.errors import TcccError
from tccc.store.casualty_log import CasualtyLog

DEFAULT_SCORER = Path(__file__).resolve().parents[3] / "shared/tools/score_dd1380.py"
"""The shared scorer beside the checkout (override with TCCC_SCORER)."""

ANALYSIS_VOICES = ("espeak", "piper", "kokoro")
"""One voice per engine: robotic (espeak-ng), neural US (Piper), neural accented (Kokoro)."""

PHENOMENA_FILE = "phenomena.json"
"""The phenomenon tags looked for beside a narrations file."""

Phenomena = Mapping[str, Sequence[str]]
Progress = Callable[[str], None]


def load_scorer() -> ModuleType:
    """The score_dd1380 module (standard library only), loaded from its file."""
    path = Path(os.environ.get("TCCC_SCORER", DEFAULT_SCORER)).expanduser()
    if not path.is_file():
        raise TcccError(f"no DD 1380 scorer at {path} (set TCCC_SCORER)")
    spec = importlib.util.spec_from_file_location("score_dd1380", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_suite(path: Path) -> list[dict[str, Any]]:
    """The cases of a narrations file: id, narration, expected export."""
    try:
        return list(json.loads(path.read_text(encoding="utf-8"))["cases"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TcccError(f"cannot read narrations from {path}: {exc}") from exc


def phenomena_for(narrations: Path, explicit: Path | None = None) -> dict[str, list[str]]:
    """Phenomenon tags from `explicit`, else phenomena.json beside the narrations, else none."""
    if explicit is not None:
        return load_phenomena(explicit.expanduser())
    beside = narrations.parent / PHENOMENA_FILE
    return load_phenomena(beside) if beside.is_file() else {}


class _TimedIncident(Incident):
    """An incident that times each analysis of an utterance."""

    latencies: list[float]

    def on_final(self, transcript: Any) -> Any:
        started = time.perf_counter()
        facts = super().on_final(transcript)
        self.latencies.append(time.perf_counter() - started)
        return facts


def _incident() -> _TimedIncident:
    log = CasualtyLog(":memory:")
    incident = _TimedIncident(log, log.new_session("bench"), SessionAnalyzer())
    incident.latencies = []
    return incident


Prepare = Callable[[Incident], None]
"""Called with each new incident before any utterance (the LLM bench attaches its model)."""


def _scores(scorer: ModuleType, expected: Any, incident: Incident, model: bool) -> dict[str, Any]:
    """The score of the export (with its expected atoms per type for the breakdown), and with
    `model` also the score of the export with suggestions."""
    score: dict[str, Any] = scorer.score(expected, incident.document())
    score["expected_types"] = expected_types(scorer.atoms, expected)
    if model:
        score["with_model"] = scorer.score(expected, incident.document(suggested=True))
    return score


def run_text(
    cases: list[dict[str, Any]],
    settings: Settings,
    prepare: Prepare | None = None,
    phenomena: Phenomena | None = None,
) -> dict[str, Any]:
    """Score every narration analysed from its text."""
    from tccc.analysis.narration import analyze_text

    scorer = load_scorer()
    rows = []
    latencies: list[float] = []
    for case in cases:
        incident = _incident()
        if prepare is not None:
            prepare(incident)
        analyze_text(incident, case["narration"], settings)
        latencies += incident.latencies
        score = _scores(scorer, case["expected"], incident, prepare is not None)
        rows.append({"id": case["id"], "case": case["id"], **score})
    return _summary("text", rows, latencies, phenomena)


def run_speech(
    cases: list[dict[str, Any]],
    settings: Settings,
    voices: tuple[str, ...],
    cache: Path,
    delivery: Delivery | None = None,
    prepare: Prepare | None = None,
    phenomena: Phenomena | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score every narration spoken by each voice and transcribed live (unpaced): pooled over the
    voices, with each voice's own summary under "voices"."""
    from tccc.analysis.narration import analyze_finals
    from tccc.audio.sources import FileSource
    from tccc.bench.narrations import NarrationCase
    from tccc.stt.pipeline import run_live

    scorer = load_scorer()
    spoken = synthesise_cases(
        [NarrationCase(c["id"], c["narration"]) for c in cases],
        voices,
        cache,
        delivery=delivery,
        progress=None if progress is None else (lambda name: progress(f"speak {name}")),
    )
    expected = {c["id"]: c["expected"] for c in cases}
    rows = []
    latencies: dict[str, list[float]] = {voice: [] for voice in voices}
    for item in spoken:
        if progress is not None:
            progress(f"transcribe {item.name}")
        incident = _incident()
        if prepare is not None:
            prepare(incident)
        source = FileSource(item.path, capacity_s=settings.stream.ring_buffer_s)
        asyncio.run(run_live(settings, source, analyze_finals(incident)))
        latencies[item.voice] += incident.latencies
        heard = incident.log.utterances(incident.session_id)
        score = _scores(scorer, expected[item.id], incident, prepare is not None)
        rows.append(
            {
                "id": item.name,
                "case": item.id,
                "voice": item.voice,
                **score,
                "transcript": " | ".join(u.text.text for u in heard),
                "heard": [u.text.raw for u in heard],
            }
        )
    summary = _summary("speech", rows, [t for v in latencies.values() for t in v], phenomena)
    summary["voices"] = {
        voice: {
            k: v
            for k, v in _summary(
                voice, [r for r in rows if r["voice"] == voice], latencies[voice], phenomena
            ).items()
            if k != "rows"  # the rows are the pooled summary's, each with its voice
        }
        for voice in voices
    }
    return summary


def _summary(
    mode: str,
    rows: list[dict[str, Any]],
    latencies: list[float],
    phenomena: Phenomena | None = None,
) -> dict[str, Any]:
    out = {"mode": mode, **_pooled(rows)}
    if rows and all("with_model" in r for r in rows):
        out["with_model"] = _pooled([r["with_model"] for r in rows])
    return out | {
        "latency_ms_p50": 1000 * percentile(latencies, 50) if latencies else None,
        "latency_ms_p95": 1000 * percentile(latencies, 95) if latencies else None,
        "utterances": len(latencies),
        "breakdown": breakdown(rows, phenomena),
        "rows": rows,
    }


def _pooled(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Precision and recall pooled over the atoms of every row (the scorer's suite mode)."""
    hits = sum(r["hits"] for r in rows)
    predicted = sum(r["predicted_atoms"] for r in rows)
    expected = sum(r["expected_atoms"] for r in rows)
    return {
        "cases": len(rows),
        "precision": hits / predicted if predicted else 1.0,
        "recall": hits / expected if expected else 1.0,
        "expected_atoms": expected,
        "predicted_atoms": predicted,
        "hits": hits,
    }


def sources(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summaries to report side by side: text, then each voice, then speech pooled over the
    voices (only when there are several)."""
    out: list[dict[str, Any]] = []
    for r in results:
        voices = r.get("voices") or {}
        out += list(voices.values())
        if not voices or len(voices) > 1:
            out.append(r)
    return out


def format_report(results: list[dict[str, Any]], verbose: bool = False) -> str:
    """The precision/recall table, the error breakdown, and a line per case (with `verbose`,
    every miss and invention and what was heard)."""
    shown = sources(results)
    lines = [
        f"{'source':<10}{'cases':>6}{'precision':>11}{'recall':>8}{'atoms':>7}"
        f"{'invented':>10}{'p50 ms':>9}{'p95 ms':>9}"
    ]
    for r in shown:
        p50 = f"{r['latency_ms_p50']:.2f}" if r["latency_ms_p50"] is not None else "n/a"
        p95 = f"{r['latency_ms_p95']:.2f}" if r["latency_ms_p95"] is not None else "n/a"
        invented = r["predicted_atoms"] - r["hits"]
        lines.append(
            f"{r['mode']:<10}{r['cases']:>6}{r['precision']:>11.3f}{r['recall']:>8.3f}"
            f"{r['expected_atoms']:>7}{invented:>10}{p50:>9}{p95:>9}"
        )
    columns = [(r["mode"], r["breakdown"]) for r in shown if r["mode"] != "speech"]
    lines += ["", format_breakdown(columns), "", "per case (P/R):"]
    lines += _case_lines(results, verbose)
    return "\n".join(lines)


def _case_lines(results: list[dict[str, Any]], verbose: bool) -> list[str]:
    by_case: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for r in results:
        for row in r["rows"]:
            source = row.get("voice") or r["mode"]
            by_case.setdefault(row["case"], []).append((source, row))
    lines = []
    for case, scored in by_case.items():
        cells = "  ".join(f"{s} {row['precision']:.2f}/{row['recall']:.2f}" for s, row in scored)
        lines.append(f"  {case:<40} {cells}")
        if verbose:
            for source, row in scored:
                lines += [f"      {source} missed {m}" for m in row["missed"]]
                lines += [f"      {source} INVENTED {m}" for m in row["invented"]]
                if row.get("transcript"):
                    lines.append(f"      {source} heard: {row['transcript']}")
    return lines


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Flags of `tccc bench analysis`."""
    p.add_argument("--mode", choices=("text", "speech", "both"), default="both")
    p.add_argument(
        "--narrations", type=Path, default=None, help="narrations JSON (default: shared dev.json)"
    )
    p.add_argument(
        "--phenomena",
        type=Path,
        default=None,
        help=f"phenomenon tags per case (default: {PHENOMENA_FILE} beside the narrations, if any)",
    )
    add_delivery_args(p, ANALYSIS_VOICES)
    p.add_argument("--limit", type=int, help="only the first N cases")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="list every missed or invented atom"
    )


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def run_from_args(args: argparse.Namespace, settings: Settings) -> int:
    """Run the benchmark from parsed flags; prints the table."""
    path = (args.narrations or default_narrations_path()).expanduser()
    cases = load_suite(path)[: args.limit]
    phenomena = phenomena_for(path, args.phenomena)
    results = []
    if args.mode in ("text", "both"):
        results.append(run_text(cases, settings, phenomena=phenomena))
    if args.mode in ("speech", "both"):
        voices, delivery = delivery_from_args(args)
        results.append(
            run_speech(
                cases,
                settings,
                voices,
                args.cache_dir.expanduser(),
                delivery,
                phenomena=phenomena,
                progress=_progress,
            )
        )
    print(format_report(results, args.verbose))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0
