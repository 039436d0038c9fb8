"""Spoken versions of the dev narrations, synthesised by the benchmark voices and cached as
16 kHz mono WAV files."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tccc.audio import SAMPLE_RATE
from tccc.bench.spoken import spoken_form
from tccc.bench.voices import (
    DEFAULT_KOKORO_SPEED,
    DEFAULT_LENGTH_SCALE,
    DEFAULT_RATE_WPM,
    DEFAULT_SENTENCE_PAUSE_MS,
    DEFAULT_WORD_GAP_MS,
    VOICES,
    Delivery,
    check_voice,
    find_espeak,
    render,
    resolve_voice,
)
from tccc.errors import TcccError

__all__ = [
    "DEFAULT_CACHE_DIR",
    "DEFAULT_NARRATIONS",
    "DEFAULT_VOICES",
    "Delivery",
    "NarrationCase",
    "SpokenNarration",
    "add_delivery_args",
    "cache_key",
    "default_narrations_path",
    "delivery_from_args",
    "find_espeak",
    "load_cases",
    "spoken_form",
    "synthesise",
    "synthesise_cases",
]

DEFAULT_VOICES = ("espeak", "espeak-gb")
"""Two clearly different espeak-ng voices (US English male, British RP female): the default of
the live-stream and soak benchmarks, which need no neural voice packages."""

DEFAULT_CACHE_DIR = Path("~/.cache/tccc/bench/narrations")
"""Where synthesised narrations are kept between runs."""

DEFAULT_NARRATIONS = Path(__file__).resolve().parents[3] / "shared/domain/narrations/dev.json"
"""The dev narrations next to the repository checkout (override with TCCC_NARRATIONS)."""


@dataclass(frozen=True)
class NarrationCase:
    """One narration: its id and the text the medic says."""

    id: str
    text: str


@dataclass(frozen=True)
class SpokenNarration:
    """A narration rendered by one voice into a cached 16 kHz mono WAV file."""

    id: str
    voice: str
    text: str
    path: Path

    @property
    def name(self) -> str:
        """Item name in reports: `<case id>@<voice>`."""
        return f"{self.id}@{self.voice}"


def default_narrations_path() -> Path:
    """TCCC_NARRATIONS if set, else the shared dev narrations beside the checkout."""
    env = os.environ.get("TCCC_NARRATIONS")
    return Path(env).expanduser() if env else DEFAULT_NARRATIONS


def load_cases(path: Path) -> list[NarrationCase]:
    """The cases of a narrations file (JSON with "cases": [{id, narration, ...}])."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TcccError(f"cannot read narrations from {path}: {exc}") from exc
    return [NarrationCase(str(case["id"]), str(case["narration"])) for case in data["cases"]]


def cache_key(text: str, voice: str, delivery: Delivery | None = None) -> str:
    """Stable file stem for (voice, its settings, spoken text): 20 hex digits of their SHA-256."""
    chosen = resolve_voice(voice)
    key = f"{chosen.identity}\n{chosen.settings_tag(delivery or Delivery())}\n{spoken_form(text)}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def synthesise(
    text: str,
    voice: str,
    cache_dir: Path,
    *,
    delivery: Delivery | None = None,
) -> Path:
    """WAV file (16 kHz mono int16) of `voice` saying `text`; synthesised once, then cached."""
    delivery = delivery or Delivery()
    cache_dir = cache_dir.expanduser()
    target = cache_dir / f"{cache_key(text, voice, delivery)}.wav"
    if target.is_file():
        return target
    samples = render(resolve_voice(voice), spoken_form(text), delivery)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        staged = Path(tmp) / target.name
        with wave.open(str(staged), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(samples.astype("<i2").tobytes())
        # Rename last, so an interrupted run never leaves a truncated file under the cache key.
        staged.replace(target)
    return target


def synthesise_cases(
    cases: Sequence[NarrationCase],
    voices: Sequence[str] = DEFAULT_VOICES,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    *,
    delivery: Delivery | None = None,
    limit: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[SpokenNarration]:
    """Every case in every voice, case by case (so a short `limit` still covers each voice)."""
    for voice in dict.fromkeys(voices):
        check_voice(resolve_voice(voice))  # a missing package fails before any long synthesis
    pairs = [(case, voice) for case in cases for voice in voices]
    if limit is not None:
        pairs = pairs[: max(0, limit)]
    spoken = []
    for case, voice in pairs:
        if progress is not None:
            progress(f"{case.id}@{voice}")
        path = synthesise(case.text, voice, cache_dir, delivery=delivery)
        spoken.append(SpokenNarration(case.id, voice, case.text, path))
    return spoken


def add_delivery_args(
    parser: argparse.ArgumentParser, default_voices: Sequence[str] = DEFAULT_VOICES
) -> None:
    """The `--voices` and pace flags shared by the benchmarks that speak the narrations."""
    named = ", ".join(f"{v.name} ({v.description})" for v in VOICES.values())
    parser.add_argument(
        "--voices",
        default=",".join(default_voices),
        help=f"comma-separated voices: {named}, or any espeak-ng voice name (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=DEFAULT_RATE_WPM,
        help="espeak-ng speaking rate in words per minute (default %(default)s)",
    )
    parser.add_argument(
        "--word-gap-ms",
        type=int,
        default=DEFAULT_WORD_GAP_MS,
        help="espeak-ng extra pause between words (default %(default)s ms)",
    )
    parser.add_argument(
        "--length-scale",
        type=float,
        default=DEFAULT_LENGTH_SCALE,
        help="Piper phoneme length, > 1 is slower (default %(default)s)",
    )
    parser.add_argument(
        "--kokoro-speed",
        type=float,
        default=DEFAULT_KOKORO_SPEED,
        help="Kokoro speed, < 1 is slower (default %(default)s)",
    )
    parser.add_argument(
        "--sentence-pause-ms",
        type=int,
        default=DEFAULT_SENTENCE_PAUSE_MS,
        help="silence between the sentences of Piper and Kokoro (default %(default)s ms)",
    )


def delivery_from_args(args: argparse.Namespace) -> tuple[tuple[str, ...], Delivery]:
    """The voices and delivery chosen by `add_delivery_args` flags."""
    voices = tuple(dict.fromkeys(v.strip() for v in args.voices.split(",") if v.strip()))
    if not voices:
        raise TcccError("no voices given (--voices)")
    delivery = Delivery(
        args.rate,
        args.word_gap_ms,
        length_scale=args.length_scale,
        kokoro_speed=args.kokoro_speed,
        sentence_pause_ms=args.sentence_pause_ms,
    )
    return voices, delivery
