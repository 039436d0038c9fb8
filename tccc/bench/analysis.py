"""`tccc bench analysis`: DD 1380 precision and recall on the dev narrations, and extraction speed.

From text: each narration's text goes through the normaliser, the analyzer and the export.
Through speech: the same narrations spoken by espeak-ng (two voices) go through live
transcription (tiny.en by default) first. Exports are scored with ../shared/tools/score_dd1380.py
(pooled over atoms, as the scorer's suite mode does). Extraction latency is the wall time of
`SessionAnalyzer.analyze` per utterance.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tccc.analysis.analyzer import SessionAnalyzer
from tccc.analysis.incident import Incident
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
    return list(json.loads(path.read_text(encoding="utf-8"))["cases"])


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
    """The score of the export, and with `model` also of the export with suggestions."""
    score: dict[str, Any] = scorer.score(expected, incident.document())
    if model:
        score["with_model"] = scorer.score(expected, incident.document(suggested=True))
    return score


def run_text(
    cases: list[dict[str, Any]], settings: Settings, prepare: Prepare | None = None
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
        rows.append({"id": case["id"], **score})
    return _summary("text", rows, latencies)


def run_speech(
    cases: list[dict[str, Any]],
    settings: Settings,
    voices: tuple[str, ...],
    cache: Path,
    delivery: Delivery | None = None,
    prepare: Prepare | None = None,
) -> dict[str, Any]:
    """Score every narration spoken by espeak-ng and transcribed live (unpaced)."""
    from tccc.analysis.narration import analyze_finals
    from tccc.audio.sources import FileSource
    from tccc.bench.narrations import NarrationCase
    from tccc.stt.pipeline import run_live

    scorer = load_scorer()
    spoken = synthesise_cases(
        [NarrationCase(c["id"], c["narration"]) for c in cases], voices, cache, delivery=delivery
    )
    expected = {c["id"]: c["expected"] for c in cases}
    rows = []
    latencies: list[float] = []
    for item in spoken:
        incident = _incident()
        if prepare is not None:
            prepare(incident)
        source = FileSource(item.path, capacity_s=settings.stream.ring_buffer_s)
        asyncio.run(run_live(settings, source, analyze_finals(incident)))
        latencies += incident.latencies
        heard = incident.log.utterances(incident.session_id)
        score = _scores(scorer, expected[item.id], incident, prepare is not None)
        rows.append(
            {
                "id": item.name,
                **score,
                "transcript": " | ".join(u.text.text for u in heard),
                "heard": [u.text.raw for u in heard],
            }
        )
    return _summary("speech", rows, latencies)


def _summary(mode: str, rows: list[dict[str, Any]], latencies: list[float]) -> dict[str, Any]:
    out = {"mode": mode, **_pooled(rows)}
    if rows and all("with_model" in r for r in rows):
        out["with_model"] = _pooled([r["with_model"] for r in rows])
    return out | {
        "latency_ms_p50": 1000 * percentile(latencies, 50) if latencies else None,
        "latency_ms_p95": 1000 * percentile(latencies, 95) if latencies else None,
        "utterances": len(latencies),
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


def format_report(results: list[dict[str, Any]], verbose: bool = False) -> str:
    """A table of the results (and every miss and invention with `verbose`)."""
    lines = [
        f"{'mode':<8}{'cases':>6}{'precision':>11}{'recall':>8}{'atoms':>7}"
        f"{'p50 ms':>9}{'p95 ms':>9}"
    ]
    for r in results:
        p50 = f"{r['latency_ms_p50']:.2f}" if r["latency_ms_p50"] is not None else "n/a"
        p95 = f"{r['latency_ms_p95']:.2f}" if r["latency_ms_p95"] is not None else "n/a"
        lines.append(
            f"{r['mode']:<8}{r['cases']:>6}{r['precision']:>11.3f}{r['recall']:>8.3f}"
            f"{r['expected_atoms']:>7}{p50:>9}{p95:>9}"
        )
    for r in results:
        for row in r["rows"]:
            lines.append(
                f"  {r['mode']} {row['id']}: P {row['precision']:.2f} R {row['recall']:.2f}"
            )
            if verbose:
                lines += [f"      missed {m}" for m in row["missed"]]
                lines += [f"      INVENTED {m}" for m in row["invented"]]
                if row.get("transcript"):
                    lines.append(f"      heard: {row['transcript']}")
    return "\n".join(lines)


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Flags of `tccc bench analysis`."""
    p.add_argument("--mode", choices=("text", "speech", "both"), default="both")
    p.add_argument(
        "--narrations", type=Path, default=None, help="narrations JSON (default: shared dev.json)"
    )
    add_delivery_args(p)
    p.add_argument("--limit", type=int, help="only the first N cases")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="list every missed or invented atom"
    )


def run_from_args(args: argparse.Namespace, settings: Settings) -> int:
    """Run the benchmark from parsed flags; prints the table."""
    path = args.narrations or default_narrations_path()
    cases = load_suite(path)[: args.limit]
    results = []
    if args.mode in ("text", "both"):
        results.append(run_text(cases, settings))
    if args.mode in ("speech", "both"):
        voices, delivery = delivery_from_args(args)
        results.append(run_speech(cases, settings, voices, args.cache_dir.expanduser(), delivery))
    print(format_report(results, args.verbose))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0
