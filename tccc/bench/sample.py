"""Rebuild the bundled sample narration (`make sample`): tccc/data/sample_narration.txt spoken
by espeak-ng at dictation pace, a pause between paragraphs as a medic talks while working, and
written as 16 kHz mono Ogg Vorbis (sox) to tccc/data/sample_narration.ogg."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import decode_audio
from tccc.bench.narrations import Delivery, synthesise

DATA = Path(__file__).resolve().parents[1] / "data"
VOICE = "en-us"
PAUSE_S = 1.2
"""Silence between paragraphs: long enough to end an utterance (the default endpoint is 0.5 s)."""


def build(text_path: Path, out_path: Path, voice: str = VOICE) -> float:
    """Speak each paragraph of `text_path` into `out_path`; the audio's length in seconds."""
    paragraphs = [" ".join(p.split()) for p in text_path.read_text().split("\n\n") if p.strip()]
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), dtype=np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        pieces = [pause[: SAMPLE_RATE // 2]]
        for para in paragraphs:
            pieces += [decode_audio(synthesise(para, voice, Path(tmp), delivery=Delivery())), pause]
        audio = np.concatenate(pieces)
        wav = Path(tmp) / "sample.wav"
        with wave.open(str(wav), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(audio.astype("<i2").tobytes())
        subprocess.run(["sox", str(wav), "-C", "3", str(out_path)], check=True)
    return audio.size / SAMPLE_RATE


def main() -> int:
    """Rebuild the bundled sample; prints its length."""
    seconds = build(DATA / "sample_narration.txt", DATA / "sample_narration.ogg")
    print(f"sample_narration.ogg: {seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
