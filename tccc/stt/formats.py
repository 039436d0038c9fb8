"""Transcript output formats: text, JSON, SRT, WebVTT and TSV."""

from __future__ import annotations

import json
from typing import Any

from tccc.events import Segment, TranscriptResult

FORMATS = ("text", "json", "srt", "vtt", "tsv")


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(segments: tuple[Segment, ...]) -> str:
    """SubRip subtitles."""
    blocks = [
        f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: tuple[Segment, ...]) -> str:
    """WebVTT subtitles."""
    blocks = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_tsv(segments: tuple[Segment, ...]) -> str:
    """Tab-separated start and end in milliseconds and text (whisper's tsv writer)."""
    rows = ["start\tend\ttext"]
    rows += [
        f"{round(s.start * 1000)}\t{round(s.end * 1000)}\t{s.text.replace(chr(9), ' ')}"
        for s in segments
    ]
    return "\n".join(rows) + "\n"


def segment_dict(segment: Segment, *, words: bool) -> dict[str, Any]:
    """JSON-ready dictionary of one segment."""
    out: dict[str, Any] = {
        "id": segment.id,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "avg_logprob": round(segment.avg_logprob, 4),
        "no_speech_prob": round(segment.no_speech_prob, 4),
        "compression_ratio": round(segment.compression_ratio, 4),
        "temperature": segment.temperature,
    }
    if words:
        out["words"] = [
            {"word": w.text, "start": w.start, "end": w.end, "probability": w.probability}
            for w in segment.words
        ]
    return out


def result_dict(result: TranscriptResult, *, words: bool = False) -> dict[str, Any]:
    """JSON-ready dictionary of a whole transcript."""
    return {
        "text": result.text,
        "language": result.language,
        "duration": round(result.duration, 3),
        "model": result.model,
        "segments": [segment_dict(s, words=words) for s in result.segments],
    }


def render(result: TranscriptResult, fmt: str, *, words: bool = False) -> str:
    """Render a transcript in one of FORMATS."""
    if fmt in ("text", "txt"):
        return result.text + "\n"
    if fmt == "json":
        return json.dumps(result_dict(result, words=words), ensure_ascii=False, indent=2) + "\n"
    if fmt == "srt":
        return to_srt(result.segments)
    if fmt == "vtt":
        return to_vtt(result.segments)
    if fmt == "tsv":
        return to_tsv(result.segments)
    raise ValueError(f"unknown format {fmt!r}")
