"""Audio sources: files (plain and paced in real time), pushed network audio, microphones.

The microphone tests use PortAudio for real: unknown devices must fail with an actionable
AudioError, and capture itself runs against an ALSA PCM device backed by a file (the ALSA `file`
plugin over `null`), defined in a private ~/.asoundrc for a subprocess, so no sound card is needed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
import wave
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import decode_audio
from tccc.audio.mic import DEVICE_ERROR, InputDevice, MicSource, find_device, list_devices
from tccc.audio.sources import AudioSource, FileSource, PushSource
from tccc.errors import AudioError, AudioTooLargeError
from tccc.events import AudioChunk

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[1]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine with a timeout so a missed wake-up fails instead of hanging."""

    async def limited() -> T:
        return await asyncio.wait_for(coro, timeout=60)

    return asyncio.run(limited())


async def collect(source: AudioSource) -> list[AudioChunk]:
    """Every chunk of a source, closing it afterwards."""
    async with source:
        return [chunk async for chunk in source]


def assert_contiguous(chunks: list[AudioChunk], first: int = 0) -> None:
    """Each chunk starts where the previous one ended."""
    expected = first
    for chunk in chunks:
        assert chunk.start == expected
        assert chunk.samples.dtype == np.int16 and chunk.samples.ndim == 1
        expected = chunk.end


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """A 16-bit mono WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path


def tone(seconds: float) -> np.ndarray:
    """A 440 Hz tone at 16 kHz."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


# --- FileSource ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ls_1089-134686-0001.flac", "ljspeech_LJ002-0020.wav"])
def test_file_source_yields_contiguous_chunks_equal_to_the_decoded_file(
    speech_dir: Path, name: str
) -> None:
    path = speech_dir / "audio" / name
    if not path.is_file():
        pytest.skip(f"speech clip {path} is absent")
    source = FileSource(path, chunk_ms=100)
    chunks = run(collect(source))
    assert_contiguous(chunks)
    assert all(c.samples.size == 1600 for c in chunks[:-1])
    assert 0 < chunks[-1].samples.size <= 1600
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), decode_audio(path))
    stamps = [c.captured_at for c in chunks]
    assert stamps == sorted(stamps)
    assert source.dropped_samples == 0 and source.overflows == 0
    assert source.name == f"file:{name}"


def test_realtime_file_is_paced_like_a_microphone(tmp_path: Path) -> None:
    samples = tone(1.0)
    path = write_wav(tmp_path / "tone.wav", samples)
    source = FileSource(path, realtime=True, chunk_ms=100)

    async def go() -> tuple[list[AudioChunk], float]:
        async with source:
            t0 = time.monotonic()
            chunks = [chunk async for chunk in source]
            return chunks, time.monotonic() - t0

    chunks, elapsed = run(go())
    assert elapsed >= 0.8 * 1.0, f"1 s of audio was delivered in {elapsed:.2f} s"
    assert len(chunks) >= 5  # delivered over time, not in one burst
    assert_contiguous(chunks)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), samples)
    assert source.dropped_samples == 0


def test_realtime_file_drops_oldest_when_the_consumer_stalls(tmp_path: Path) -> None:
    samples = tone(1.0)
    path = write_wav(tmp_path / "tone.wav", samples)
    source = FileSource(path, realtime=True, chunk_ms=50, capacity_s=0.2)

    async def go() -> list[AudioChunk]:
        async with source:
            # The whole 1 s file is "spoken" while nobody reads (with room for a slow machine).
            await asyncio.sleep(2.5)
            return [chunk async for chunk in source]

    chunks = run(go())
    received = sum(c.samples.size for c in chunks)
    assert received == round(0.2 * SAMPLE_RATE)  # only the newest capacity survives
    assert source.dropped_samples == samples.size - received
    assert source.overflows == 1
    assert chunks[0].start == source.dropped_samples  # session time stays true
    assert_contiguous(chunks, first=chunks[0].start)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), samples[-received:])


def test_aclose_stops_a_realtime_file_and_keeps_what_was_captured(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "tone.wav", tone(20.0))
    source = FileSource(path, realtime=True, chunk_ms=100)

    async def go() -> tuple[list[AudioChunk], float, float]:
        t0 = time.monotonic()
        chunks = [await source.__anext__()]
        await asyncio.sleep(0.35)
        stopping = time.monotonic() - t0
        await source.aclose()
        chunks.extend([chunk async for chunk in source])
        return chunks, stopping, time.monotonic() - t0

    chunks, stopping, elapsed = run(go())
    assert elapsed < 10.0  # not the 20 s the whole file would take
    assert_contiguous(chunks)
    # About 0.45 s was captured before the stop (more on a slow machine): all of it is
    # delivered, nothing after it (pacing started after t0, so by the stop at most `stopping`).
    assert 3 * 1600 <= chunks[-1].end <= stopping * SAMPLE_RATE


def test_corrupt_file_is_an_audio_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8)
    with pytest.raises(AudioError, match="not a decodable audio file") as info:
        run(collect(FileSource(path)))
    assert "broken.wav" in info.value.message


def test_missing_file_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such audio file"):
        FileSource(tmp_path / "absent.wav")


def test_too_long_file_keeps_its_error_class(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", tone(2.0))
    with pytest.raises(AudioTooLargeError, match="1 s limit"):
        run(collect(FileSource(path, max_seconds=1.0)))


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16))
    assert run(collect(FileSource(path))) == []
    assert run(collect(FileSource(path, realtime=True))) == []


def test_file_at_another_rate_is_resampled(tmp_path: Path) -> None:
    rate = 44100
    t = np.arange(rate) / rate
    path = write_wav(
        tmp_path / "cd.wav", (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16), rate
    )
    chunks = run(collect(FileSource(path)))
    assert_contiguous(chunks)
    assert abs(chunks[-1].end - SAMPLE_RATE) <= 32


# --- PushSource ---------------------------------------------------------------------------------


def test_push_source_delivers_in_order_and_ends_after_close() -> None:
    source = PushSource(5.0, name="wyoming")
    blocks = [tone(0.064)[i * 100 : (i + 1) * 100] for i in range(10)]

    async def producer() -> None:
        for block in blocks:
            source.push(block)
            await asyncio.sleep(0.005)
        source.close()

    async def go() -> list[AudioChunk]:
        task = asyncio.create_task(producer())
        try:
            return [chunk async for chunk in source]
        finally:
            await task

    chunks = run(go())
    assert_contiguous(chunks)
    np.testing.assert_array_equal(
        np.concatenate([c.samples for c in chunks]), np.concatenate(blocks)
    )
    assert source.name == "wyoming"
    assert source.dropped_samples == 0
    with pytest.raises(RuntimeError, match="closed"):
        source.push(blocks[0])


def test_push_source_delivers_the_tail_pushed_before_close() -> None:
    source = PushSource(1.0)
    source.push(tone(0.5))
    source.push(tone(0.25))
    source.close()
    chunks = run(collect(source))
    assert sum(c.samples.size for c in chunks) == 12000
    assert_contiguous(chunks)


def test_push_source_overflow_is_surfaced() -> None:
    source = PushSource(0.1)
    for i in range(5):
        source.push(np.full(800, i, dtype=np.int16))
    source.close()
    chunks = run(collect(source))
    assert source.dropped_samples == 2400 and source.overflows == 1
    assert chunks[0].start == 2400
    assert np.concatenate([c.samples for c in chunks]).tolist() == [3] * 800 + [4] * 800


def test_push_source_rejects_unconverted_audio() -> None:
    source = PushSource(1.0)
    with pytest.raises(TypeError, match="int16"):
        source.push(np.zeros(10, dtype=np.float32))


# --- MicSource and devices ------------------------------------------------------------------------


def _portaudio_or_skip() -> list[InputDevice]:
    """The input devices, or skip when sounddevice or the PortAudio library is missing."""
    if importlib.util.find_spec("sounddevice") is None:
        pytest.skip("sounddevice is not installed (pip install sounddevice)")
    try:
        return list_devices()
    except AudioError as exc:
        pytest.skip(f"PortAudio is unavailable: {exc}")


def test_list_devices_reports_input_devices() -> None:
    devices = _portaudio_or_skip()
    assert isinstance(devices, list)
    assert sum(d.is_default for d in devices) <= 1
    for dev in devices:
        assert isinstance(dev, InputDevice)
        assert dev.channels > 0 and dev.default_sample_rate_hz > 0 and dev.name


def test_mic_with_unknown_device_name_is_an_actionable_error() -> None:
    _portaudio_or_skip()
    source = MicSource("tccc-no-such-device", capacity_s=1.0)
    with pytest.raises(AudioError) as info:
        run(collect(source))
    assert info.value.code == DEVICE_ERROR
    assert "no input device 'tccc-no-such-device'" in info.value.message
    assert "tccc devices" in info.value.message


def test_mic_with_unknown_device_index_is_an_actionable_error() -> None:
    _portaudio_or_skip()
    with pytest.raises(AudioError, match="no input device with index 4096"):
        run(collect(MicSource(4096, capacity_s=1.0)))


def test_find_device_by_index_name_and_default() -> None:
    devices = [
        InputDevice(0, "HDA Intel PCH: ALC257 Analog (hw:0,0)", 2, 44100.0, "ALSA", False),
        InputDevice(3, "USB PnP Sound Device: Audio (hw:1,0)", 1, 48000.0, "ALSA", False),
        InputDevice(7, "default", 32, 44100.0, "ALSA", True),
        InputDevice(8, "USB headset", 1, 16000.0, "ALSA", False),
    ]
    assert find_device(None, devices).index == 7
    assert find_device(3, devices).index == 3
    assert find_device("3", devices).index == 3
    assert find_device("Default", devices).index == 7  # exact name, case-insensitive
    assert find_device("alc257", devices).index == 0  # a unique part of the name
    with pytest.raises(AudioError, match=r"ambiguous .*3: USB PnP.*8: USB headset"):
        find_device("usb", devices)
    with pytest.raises(AudioError, match="no input device with index 5; run `tccc devices`"):
        find_device(5, devices)
    with pytest.raises(AudioError, match="no default input device"):
        find_device(None, [d for d in devices if not d.is_default])
    with pytest.raises(AudioError, match="no audio input device was found at all"):
        find_device("usb", [])


_CAPTURE_SCRIPT = """
import asyncio, json, sys
import numpy as np
from tccc.audio.mic import MicSource, list_devices

async def main(mode):
    names = [d.name for d in list_devices()]
    if "tccc_test_capture" not in names:
        print(json.dumps({"skip": names}))
        return
    capacity_s = 600.0 if mode == "exact" else 0.1
    chunks = []
    async with MicSource("tccc_test_capture", capacity_s=capacity_s, block_ms=30) as mic:
        async for chunk in mic:
            chunks.append(chunk)
            if mode == "stall" and len(chunks) == 1:
                await asyncio.sleep(0.3)
            if mode == "stall" and len(chunks) == 2:
                break
            if sum(c.samples.size for c in chunks) >= 16000:
                break
        name = mic.name
    print(json.dumps({
        "name": name,
        "starts": [c.start for c in chunks],
        "ends": [c.end for c in chunks],
        "samples": np.concatenate([c.samples for c in chunks])[:16000].tolist(),
        "dropped": mic.dropped_samples,
        "overflows": mic.overflows,
    }))

asyncio.run(main(sys.argv[1]))
"""


def _capture(tmp_path: Path, mode: str) -> tuple[dict[str, Any], np.ndarray]:
    """Capture through PortAudio from a file-backed ALSA device, in a subprocess."""
    _portaudio_or_skip()
    if not Path("/usr/share/alsa/alsa.conf").is_file():
        pytest.skip("ALSA configuration (/usr/share/alsa) is absent")
    pattern = (np.arange(3 * SAMPLE_RATE) % 1000).astype("<i2")
    infile = tmp_path / "input.raw"
    pattern.tofile(infile)
    (tmp_path / ".asoundrc").write_text(
        "pcm.tccc_test_capture {\n"
        '  type file\n  slave.pcm "null"\n  file "/dev/null"\n'
        f'  infile "{infile}"\n  format "raw"\n'
        '  hint { show on description "tccc test capture" }\n}\n',
        encoding="utf-8",
    )
    script = tmp_path / "capture.py"
    script.write_text(_CAPTURE_SCRIPT, encoding="utf-8")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script), mode],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(f"PortAudio does not list the ALSA test device (devices: {result['skip']})")
    result["stderr"] = proc.stderr
    return result, pattern


def test_mic_captures_real_audio_through_portaudio(tmp_path: Path) -> None:
    result, pattern = _capture(tmp_path, "exact")
    assert result["name"] == "mic:tccc_test_capture"
    assert result["starts"][0] == 0, f"dropped {result['dropped']} before the first read"
    assert result["starts"][1:] == result["ends"][:-1]
    np.testing.assert_array_equal(np.array(result["samples"], dtype=np.int16), pattern[:16000])


def test_mic_overflow_drops_oldest_and_jumps_start(tmp_path: Path) -> None:
    # The file-backed device delivers audio far faster than real time, so a consumer that
    # sleeps 0.3 s with a 0.1 s buffer is certain to overflow.
    result, _pattern = _capture(tmp_path, "stall")
    (first_start, second_start), (first_end, _second_end) = result["starts"], result["ends"]
    gap = second_start - first_end
    assert gap > 0
    assert result["dropped"] >= first_start + gap
    assert result["overflows"] >= 1
    assert "dropping the oldest audio" in result["stderr"]
