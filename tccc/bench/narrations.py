"""Spoken versions of the dev narrations, synthesised with espeak-ng and cached as 16 kHz WAV."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import decode_audio
from tccc.errors import TcccError

DEFAULT_VOICES = ("en-us", "en-gb-x-rp+f3")
"""Two clearly different espeak-ng voices: US English (male), British RP with a female variant."""

DEFAULT_CACHE_DIR = Path("~/.cache/tccc/bench/narrations")
"""Where synthesised narrations are kept between runs."""

DEFAULT_NARRATIONS = Path(__file__).resolve().parents[3] / "shared/domain/narrations/dev.json"
"""The dev narrations next to the repository checkout (override with TCCC_NARRATIONS)."""

DEFAULT_RATE_WPM = 140
"""Speaking rate. A medic reporting over a radio or to a recorder speaks slowly and clearly
(voice procedure asks for it); espeak-ng's own default, 175 wpm with no gaps, is a rushed
delivery that tiny.en mishears far more (measured in the bench notes)."""

DEFAULT_WORD_GAP_MS = 50
"""Extra pause between words, the deliberate spacing of dictation."""

SPOKEN_FORMS = {"IV": "I.V.", "IM": "I.M.", "AVPU": "A.V.P.U."}
"""Abbreviations a medic spells out but espeak-ng reads as words: it says "Roman four" for IV,
"avpoo" for AVPU and "im" for IM, which no medic says, so the text it is given spells them."""

_SPOKEN = re.compile(r"\b(" + "|".join(SPOKEN_FORMS) + r")\b")

ESPEAK_TIMEOUT_S = 60.0
"""Longest one synthesis may take; espeak-ng renders a narration in well under a second."""


@dataclass(frozen=True)
class Delivery:
    """How espeak-ng speaks: rate in words per minute and extra gap between words."""

    rate_wpm: int = DEFAULT_RATE_WPM
    word_gap_ms: int = DEFAULT_WORD_GAP_MS

    def espeak_args(self) -> list[str]:
        """The espeak-ng flags for this delivery (its gap unit is 10 ms)."""
        return ["-s", str(self.rate_wpm), "-g", str(max(0, round(self.word_gap_ms / 10)))]

    def tag(self) -> str:
        """Short label, part of the cache key: `140wpm+50ms`."""
        return f"{self.rate_wpm}wpm+{self.word_gap_ms}ms"


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
    """Stable file stem for (text, voice, delivery): the first 20 hex digits of their SHA-256."""
    tag = (delivery or Delivery()).tag()
    spoken = spoken_form(text)
    return hashlib.sha256(f"{voice}\n{tag}\n{spoken}".encode()).hexdigest()[:20]


def spoken_form(text: str) -> str:
    """The narration as espeak-ng should read it, with `SPOKEN_FORMS` spelled out."""
    return _SPOKEN.sub(lambda m: SPOKEN_FORMS[m.group(1)], text)


def find_espeak() -> str | None:
    """Path of the espeak-ng executable, or None when it is not installed."""
    return shutil.which("espeak-ng")


def synthesise(
    text: str,
    voice: str,
    cache_dir: Path,
    *,
    delivery: Delivery | None = None,
    espeak: str | None = None,
) -> Path:
    """WAV file (16 kHz mono int16) of `voice` saying `text`; synthesised once, then cached."""
    delivery = delivery or Delivery()
    cache_dir = cache_dir.expanduser()
    target = cache_dir / f"{cache_key(text, voice, delivery)}.wav"
    if target.is_file():
        return target
    exe = espeak or find_espeak()
    if exe is None:
        raise TcccError("espeak-ng is not installed (apt-get install espeak-ng)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        raw = Path(tmp) / "espeak.wav"
        # Text goes in on stdin so a narration starting with "-" is never read as an option.
        proc = subprocess.run(
            [exe, "-v", voice, *delivery.espeak_args(), "-w", str(raw), "--stdin"],
            input=spoken_form(text).encode(),
            capture_output=True,
            timeout=ESPEAK_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0 or not raw.is_file():
            detail = proc.stderr.decode(errors="replace").strip()
            raise TcccError(f"espeak-ng failed for voice {voice!r}: {detail or proc.returncode}")
        # espeak-ng writes 22.05 kHz; the project's decoder resamples exactly as the server does.
        samples = decode_audio(raw)
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
) -> list[SpokenNarration]:
    """Every case in every voice, case by case (so a short `limit` still covers each voice)."""
    pairs = [(case, voice) for case in cases for voice in voices]
    if limit is not None:
        pairs = pairs[: max(0, limit)]
    return [
        SpokenNarration(
            case.id, voice, case.text, synthesise(case.text, voice, cache_dir, delivery=delivery)
        )
        for case, voice in pairs
    ]


def add_delivery_args(parser: argparse.ArgumentParser) -> None:
    """The `--voices`, `--rate` and `--word-gap-ms` flags shared by the benchmarks."""
    parser.add_argument(
        "--voices",
        default=",".join(DEFAULT_VOICES),
        help="comma-separated espeak-ng voices for the narrations (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=DEFAULT_RATE_WPM,
        help="narration speaking rate in words per minute (default %(default)s)",
    )
    parser.add_argument(
        "--word-gap-ms",
        type=int,
        default=DEFAULT_WORD_GAP_MS,
        help="extra pause between narration words (default %(default)s ms)",
    )


def delivery_from_args(args: argparse.Namespace) -> tuple[tuple[str, ...], Delivery]:
    """The voices and delivery chosen by `add_delivery_args` flags."""
    voices = tuple(v.strip() for v in args.voices.split(",") if v.strip())
    return voices, Delivery(args.rate, args.word_gap_ms)
