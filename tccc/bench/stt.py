"""`tccc bench stt`: word error rate, real-time factor, latency and memory of speech-to-text."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import platform
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import decode_audio
from tccc.config import Settings
from tccc.errors import TcccError
from tccc.stt.whisper_backend import FasterWhisperTranscriber

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a")


R = TypeVar("R")
"""A report type shown by `table_lines`."""


@dataclass(frozen=True)
class Clip:
    """One audio file and its reference transcript."""

    path: Path
    reference: str


@dataclass
class ClipResult:
    """Outcome of one clip."""

    file: str
    duration_s: float
    latency_s: float
    ref_words: int
    errors: int
    hypothesis: str
    digit_ref_words: int = 0
    """Reference words with numbers spelled digit by digit (`digit_words`)."""
    digit_errors: int = 0
    """Word errors with numbers spelled digit by digit on both sides."""


@dataclass
class BenchReport:
    """Summary of a run, as printed and as JSON."""

    engine: str
    model: str
    clips: int
    audio_s: float
    wer: float
    rtf: float
    latency_p50_s: float
    latency_p90_s: float
    latency_max_s: float
    load_s: float | None
    peak_rss_mb: float | None
    wer_digits: float = 0.0
    """WER with numbers spelled digit by digit on both sides (`digit_words`)."""
    machine: str = field(default_factory=lambda: f"{platform.machine()} {platform.system()}")
    results: list[ClipResult] = field(default_factory=list)


def load_clips(directory: Path) -> list[Clip]:
    """Clips from a `manifest.tsv` (file, reference_transcript) or from audio+.txt pairs."""
    manifest = directory / "manifest.tsv"
    clips: list[Clip] = []
    if manifest.is_file():
        audio_dir = directory / "audio" if (directory / "audio").is_dir() else directory
        with manifest.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                clips.append(Clip(audio_dir / row["file"], row["reference_transcript"]))
        return clips
    for path in sorted(directory.iterdir()):
        txt = path.with_suffix(".txt")
        if path.suffix.lower() in AUDIO_SUFFIXES and txt.is_file():
            clips.append(Clip(path, txt.read_text(encoding="utf-8").strip()))
    return clips


def normalise(text: str) -> list[str]:
    """Whisper's English text normalisation (case, punctuation, numbers, fillers), as words."""
    return str(_english_normaliser()(text)).split()


@functools.cache
def _english_normaliser() -> Any:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def digit_words(words: Sequence[str]) -> list[str]:
    """Normalised words with every number spelled digit by digit, and "one" as "1".

    Whisper's normaliser joins "one zero zero one" into "1001" but writes a lone "1" as "one",
    and a decoder may group a digit string as it likes ("10001 90210" or "1 0 0 0 1 9 ..."):
    scored digit by digit, a string read right is right however it was grouped.
    """
    out: list[str] = []
    for word in words:
        if word == "one":
            out.append("1")
        elif word.isdigit():
            out.extend(word)
        else:
            out.append(word)
    return out


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER after normalisation: total edits over total reference words."""
    errors = words = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        r, h = normalise(ref), normalise(hyp)
        errors += edit_distance(r, h)
        words += len(r)
    return errors / words if words else 0.0


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    return float(np.percentile(np.asarray(values), q))


def peak_rss_mb(pid: int | None = None) -> float | None:
    """Peak resident memory (VmHWM) of a process in MiB; this process if pid is None."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


Transcribe = Callable[[np.ndarray], str]


def _run(
    clips: Sequence[Clip], transcribe: Transcribe, progress: Callable[[str], None] | None
) -> list[ClipResult]:
    results = []
    for clip in clips:
        audio = decode_audio(clip.path)
        started = time.perf_counter()
        text = transcribe(audio)
        latency = time.perf_counter() - started
        ref, hyp = normalise(clip.reference), normalise(text)
        ref_digits = digit_words(ref)
        results.append(
            ClipResult(
                file=clip.path.name,
                duration_s=round(audio.size / SAMPLE_RATE, 3),
                latency_s=round(latency, 4),
                ref_words=len(ref),
                errors=edit_distance(ref, hyp),
                hypothesis=text,
                digit_ref_words=len(ref_digits),
                digit_errors=edit_distance(ref_digits, digit_words(hyp)),
            )
        )
        if progress is not None:
            progress(clip.path.name)
    return results


def _report(
    engine: str, model: str, results: list[ClipResult], load_s: float | None, rss: float | None
) -> BenchReport:
    audio_s = sum(r.duration_s for r in results)
    latencies = [r.latency_s for r in results]
    words = sum(r.ref_words for r in results)
    digit_total = sum(r.digit_ref_words for r in results)
    return BenchReport(
        engine=engine,
        model=model,
        clips=len(results),
        audio_s=round(audio_s, 2),
        wer=round(sum(r.errors for r in results) / words, 4) if words else 0.0,
        rtf=round(sum(latencies) / audio_s, 4) if audio_s else 0.0,
        latency_p50_s=round(_percentile(latencies, 50), 4),
        latency_p90_s=round(_percentile(latencies, 90), 4),
        latency_max_s=round(max(latencies, default=0.0), 4),
        load_s=None if load_s is None else round(load_s, 3),
        peak_rss_mb=None if rss is None else round(rss, 1),
        wer_digits=(
            round(sum(r.digit_errors for r in results) / digit_total, 4) if digit_total else 0.0
        ),
        results=results,
    )


def bench_local(
    settings: Settings, clips: Sequence[Clip], progress: Callable[[str], None] | None = None
) -> BenchReport:
    """Benchmark the in-process faster-whisper engine."""
    transcriber = FasterWhisperTranscriber(settings.stt, settings.vad)
    transcriber.load()
    # One warm-up decode so the first clip's latency is not the allocator's.
    transcriber.transcribe(np.zeros(SAMPLE_RATE, dtype=np.int16))
    results = _run(clips, lambda audio: transcriber.transcribe(audio).text, progress)
    return _report(
        "tccc (in process)",
        transcriber.model_name,
        results,
        transcriber.load_seconds,
        peak_rss_mb(),
    )


def bench_wyoming(
    uri: str,
    clips: Sequence[Clip],
    *,
    server_pid: int | None = None,
    label: str = "wyoming server",
    progress: Callable[[str], None] | None = None,
    token: str | None = None,
) -> BenchReport:
    """Benchmark any Wyoming speech-to-text server (one connection per clip, 100 ms chunks)."""
    from wyoming.asr import Transcribe as TranscribeEvent
    from wyoming.asr import Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncClient
    from wyoming.error import Error
    from wyoming.info import Describe, Info

    from tccc.bench.stream import authorised

    async def describe() -> str:
        async with AsyncClient.from_uri(uri) as client:
            await client.write_event(authorised(Describe().event(), token))
            while (event := await client.read_event()) is not None:
                if Info.is_type(event.type):
                    info = Info.from_event(event)
                    return info.asr[0].models[0].name if info.asr else "?"
        return "?"

    async def one(audio: np.ndarray) -> str:
        async with AsyncClient.from_uri(uri) as client:
            await client.write_event(authorised(TranscribeEvent(language="en").event(), token))
            await client.write_event(AudioStart(rate=SAMPLE_RATE, width=2, channels=1).event())
            step = SAMPLE_RATE // 10
            for i in range(0, audio.size, step):
                chunk = audio[i : i + step].tobytes()
                await client.write_event(
                    AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=chunk).event()
                )
            await client.write_event(AudioStop().event())
            while (event := await client.read_event()) is not None:
                if Transcript.is_type(event.type):
                    return str(Transcript.from_event(event).text)
                if Error.is_type(event.type):
                    raise TcccError(f"server error: {Error.from_event(event).text}")
        raise TcccError("server closed the connection without a transcript")

    model = asyncio.run(describe())
    results = _run(clips, lambda audio: asyncio.run(one(audio)), progress)
    return _report(label, model, results, None, peak_rss_mb(server_pid) if server_pid else None)


def format_table(reports: Sequence[BenchReport]) -> str:
    """Side-by-side text table of reports."""
    rows: list[tuple[str, Callable[[BenchReport], str]]] = [
        ("engine", lambda r: r.engine),
        ("model", lambda r: r.model),
        ("clips", lambda r: str(r.clips)),
        ("audio (s)", lambda r: f"{r.audio_s:.1f}"),
        ("WER", lambda r: f"{r.wer * 100:.2f} %"),
        ("WER, digits spelled out", lambda r: f"{r.wer_digits * 100:.2f} %"),
        ("real-time factor", lambda r: f"{r.rtf:.4f}"),
        ("latency p50 (s)", lambda r: f"{r.latency_p50_s:.3f}"),
        ("latency p90 (s)", lambda r: f"{r.latency_p90_s:.3f}"),
        ("latency max (s)", lambda r: f"{r.latency_max_s:.3f}"),
        ("model load (s)", lambda r: "n/a" if r.load_s is None else f"{r.load_s:.3f}"),
        ("peak RSS (MiB)", lambda r: "n/a" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f}"),
    ]
    return "\n".join(table_lines(rows, reports))


def table_lines(rows: Sequence[tuple[str, Callable[[R], str]]], reports: Sequence[R]) -> list[str]:
    """Lines of a side-by-side table: one row per (name, cell function), one column per report."""
    width = max(len(name) for name, _ in rows) + 2
    cols = [max(len(fn(r)) for _, fn in rows) + 2 for r in reports]
    return [
        name.ljust(width) + "".join(fn(r).rjust(c) for r, c in zip(reports, cols, strict=True))
        for name, fn in rows
    ]


def to_json(reports: Sequence[BenchReport]) -> str:
    """Reports as JSON."""
    return json.dumps([asdict(r) for r in reports], indent=2)
