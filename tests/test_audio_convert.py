"""Audio conversion: any PCM format and any container to 16 kHz mono int16."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from tccc.audio.convert import PcmConverter, convert_pcm
from tccc.audio.decode import decode_audio
from tccc.errors import AudioError, AudioTooLargeError


def tone(rate: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 12000).astype(np.int16)


def dominant_freq(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_any_rate_becomes_16k_and_keeps_pitch(rate: int) -> None:
    out = convert_pcm(tone(rate).tobytes(), rate, 2, 1)
    assert abs(out.size - 16000) <= 32
    assert abs(dominant_freq(out) - 440) < 5


def test_stereo_is_averaged_to_mono() -> None:
    left, right = tone(16000), np.zeros(16000, dtype=np.int16)
    out = convert_pcm(np.stack([left, right], 1).reshape(-1).tobytes(), 16000, 2, 2)
    assert out.size == 16000
    assert np.allclose(out, left // 2, atol=1)


@pytest.mark.parametrize("width", [1, 4])
def test_8_and_32_bit_samples(width: int) -> None:
    s = tone(16000)
    raw = ((s >> 8) + 128).astype(np.uint8) if width == 1 else s.astype(np.int32) << 16
    out = convert_pcm(raw.tobytes(), 16000, width, 1)
    assert abs(int(np.abs(out).max()) - 12000) < 300


def test_chunks_split_mid_frame_lose_nothing() -> None:
    data = np.stack([tone(44100)] * 2, 1).reshape(-1).tobytes()
    conv = PcmConverter(44100, 2, 2)
    parts = [conv.convert(data[i : i + 1001]) for i in range(0, len(data), 1001)]
    parts.append(conv.flush())
    total = sum(p.size for p in parts)
    assert abs(total - 16000) <= 32


@pytest.mark.parametrize(
    ("rate", "width", "channels"), [(0, 2, 1), (16000, 3, 1), (16000, 2, 0), (16000, 2, 99)]
)
def test_bad_pcm_formats_are_rejected(rate: int, width: int, channels: int) -> None:
    with pytest.raises(AudioError):
        PcmConverter(rate, width, channels)


def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def test_decode_wav_resamples() -> None:
    out = decode_audio(wav_bytes(tone(48000, 2.0), 48000))
    assert out.dtype == np.int16
    assert abs(out.size - 32000) <= 64


def test_empty_wav_gives_empty_audio() -> None:
    assert decode_audio(wav_bytes(np.zeros(0, dtype=np.int16), 16000)).size == 0


@pytest.mark.parametrize("data", [b"", b"not audio at all" * 64, bytes(range(256)) * 40])
def test_non_audio_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(AudioError) as info:
        decode_audio(data)
    assert "not audio at all" not in str(info.value)


def test_duration_limit() -> None:
    with pytest.raises(AudioTooLargeError):
        decode_audio(wav_bytes(tone(16000, 3.0), 16000), max_seconds=1.0)
