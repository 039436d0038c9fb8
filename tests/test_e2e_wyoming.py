"""End-to-end tests of the Wyoming protocol on the shared port, with the `wyoming` library."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

import httpx
import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe, Info

if TYPE_CHECKING:
    from conftest import Server, SpeechData

pytestmark = pytest.mark.e2e

JFK = "jfk.flac"
SHORT = "ls_1089-134691-0000.flac"
READ_TIMEOUT_S = 60.0
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Run one coroutine with an overall time limit."""

    async def limited() -> T:
        return await asyncio.wait_for(coro, timeout=120)

    return asyncio.run(limited())


def client(server: Server) -> AsyncTcpClient:
    """A Wyoming client for the server's (shared) port."""
    return AsyncTcpClient(server.host, server.port, connect_timeout=10, read_timeout=READ_TIMEOUT_S)


def pcm_chunks(
    samples: np.ndarray, rate: int, channels: int, chunk_ms: int = 100
) -> list[AudioChunk]:
    """Interleaved int16 samples as audio-chunk events of `chunk_ms` each."""
    step = rate * chunk_ms // 1000 * channels
    return [
        AudioChunk(rate=rate, width=2, channels=channels, audio=samples[i : i + step].tobytes())
        for i in range(0, samples.size, step)
    ]


async def read_until(wy: AsyncTcpClient, *types: str) -> Event | None:
    """The next event of one of `types` (skipping others), or None when the server closes."""
    while True:
        event = await wy.read_event()
        if event is None or event.type in types:
            return event


async def transcribe_on(
    wy: AsyncTcpClient,
    samples: np.ndarray,
    *,
    rate: int = 16000,
    channels: int = 1,
    language: str | None = "en",
    token: str | None = None,
) -> Transcript:
    """Send one transcribe + audio stream on an open connection and return the transcript
    (with the server's token, if it has one, in the transcribe event's data)."""
    transcribe = Transcribe(language=language).event()
    if token is not None:
        transcribe.data["token"] = token
    await wy.write_event(transcribe)
    await wy.write_event(AudioStart(rate=rate, width=2, channels=channels).event())
    for chunk in pcm_chunks(samples, rate, channels):
        await wy.write_event(chunk.event())
    await wy.write_event(AudioStop().event())
    event = await read_until(wy, "transcript", "error")
    assert event is not None, "the server closed the connection without a transcript"
    assert not Error.is_type(event.type), f"error event: {Error.from_event(event)}"
    return Transcript.from_event(event)


async def transcribe(
    server: Server, samples: np.ndarray, *, rate: int = 16000, channels: int = 1
) -> Transcript:
    """One transcription on a fresh connection."""
    async with client(server) as wy:
        return await transcribe_on(wy, samples, rate=rate, channels=channels, token=server.token)


async def raw_exchange(server: Server, data: bytes) -> tuple[list[Event], bool]:
    """Send raw bytes; return the events the server sent and whether it closed the connection."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    events: list[Event] = []
    closed = False
    try:
        writer.write(data)
        await writer.drain()
        while True:
            try:
                event = await asyncio.wait_for(async_read_event(reader), timeout=10)
            except TimeoutError:
                break
            if event is None:
                closed = True
                break
            events.append(event)
    finally:
        writer.close()
    return events, closed


async def send_over_limit(wy: AsyncTcpClient, events: list[Event]) -> Event | None:
    """Send `events` (the last one crosses a limit), then audio-stop only if nothing came back.

    The server may refuse at the chunk that crosses the limit or at audio-stop; either way this
    never leaves unread data behind when it closes (a close with unread data is a TCP reset,
    which can destroy the error event before the client reads it).
    """
    for event in events:
        await wy.write_event(event)
    try:
        return await asyncio.wait_for(read_until(wy, "error", "transcript"), timeout=3)
    except TimeoutError:
        await wy.write_event(AudioStop().event())
        return await read_until(wy, "error", "transcript")


def error_of(events: list[Event]) -> Error:
    """The single error event among `events`."""
    errors = [Error.from_event(e) for e in events if Error.is_type(e.type)]
    assert len(errors) == 1, f"expected one error event, got {events}"
    return errors[0]


def assert_serves(server: Server, speech: SpeechData) -> None:
    """The server still describes itself, transcribes and answers /healthz."""

    async def check() -> Transcript:
        async with client(server) as wy:
            await wy.write_event(Describe().event())
            info = await read_until(wy, "info")
            assert info is not None and Info.is_type(info.type)
        return await transcribe(server, speech.pcm(SHORT))

    speech.assert_transcript(SHORT, run(check()).text)
    assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200


# --- happy paths ---------------------------------------------------------------------------------


def test_describe(server: Server) -> None:
    """describe -> info with the tccc asr program and the tiny.en model."""

    async def describe() -> Event | None:
        async with client(server) as wy:
            await wy.write_event(Describe().event())
            return await read_until(wy, "info")

    event = run(describe())
    assert event is not None and Info.is_type(event.type)
    info = Info.from_event(event)
    assert len(info.asr) == 1, info
    program = info.asr[0]
    assert program.name == "tccc" and program.installed
    assert program.supports_transcript_streaming is True
    assert [m.name for m in program.models] == ["tiny.en"]
    assert "en" in program.models[0].languages


def test_transcribe_16k_mono(server: Server, speech: SpeechData) -> None:
    """jfk.flac as 16 kHz mono in 100 ms chunks -> the right transcript, language en."""
    result = run(transcribe(server, speech.pcm(JFK)))
    speech.assert_transcript(JFK, result.text, max_wer=0.15)
    assert result.language == "en"


def test_transcribe_48k_stereo(server: Server, speech: SpeechData) -> None:
    """The same clip as 48 kHz stereo 16-bit is converted and still transcribed correctly."""
    samples = speech.pcm(JFK, rate=48000, channels=2)
    result = run(transcribe(server, samples, rate=48000, channels=2))
    speech.assert_transcript(JFK, result.text, max_wer=0.15)


def test_two_transcriptions_on_one_connection(server: Server, speech: SpeechData) -> None:
    """The connection stays open after a transcript; a second request on it is answered too."""
    second = "ls_1089-134686-0000.flac"

    async def both() -> tuple[Transcript, Transcript]:
        async with client(server) as wy:
            first = await transcribe_on(wy, speech.pcm(SHORT))
            return first, await transcribe_on(wy, speech.pcm(second, rate=22050), rate=22050)

    first, other = run(both())
    speech.assert_transcript(SHORT, first.text)
    speech.assert_transcript(second, other.text)


# --- protocol errors and robustness --------------------------------------------------------------


def test_malformed_header_line(server: Server, speech: SpeechData) -> None:
    """`{not json` -> an error event (or a closed connection); a new connection still works."""
    events, closed = run(raw_exchange(server, b"{not json\n"))
    assert closed, "the server kept a connection open after a malformed header"
    if events:
        assert error_of(events).code == "protocol_error"
    assert_serves(server, speech)


def test_chunk_before_start(server: Server, speech: SpeechData) -> None:
    """audio-chunk before audio-start -> an error event with a code, then the server closes."""
    chunk = AudioChunk(rate=16000, width=2, channels=1, audio=b"\0\0" * 1600).event()

    async def exchange() -> tuple[list[Event], bool]:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        await async_write_event(chunk, writer)
        events: list[Event] = []
        try:
            while (event := await asyncio.wait_for(async_read_event(reader), 10)) is not None:
                events.append(event)
            return events, True
        except TimeoutError:
            return events, False
        finally:
            writer.close()

    events, closed = run(exchange())
    error = error_of(events)
    assert error.code == "protocol_error", error
    assert error.text
    assert closed
    assert_serves(server, speech)


def test_huge_payload_length(server: Server, speech: SpeechData) -> None:
    """payload_length 10**9 -> an error event before any payload is read, then a close."""
    header = {
        "type": "audio-chunk",
        "data": {"rate": 16000, "width": 2, "channels": 1},
        "payload_length": 10**9,
    }
    events, closed = run(raw_exchange(server, json.dumps(header).encode() + b"\n"))
    error = error_of(events)
    assert error.code == "audio_too_large", error
    assert closed, "the server waited for a gigabyte of payload"
    assert_serves(server, speech)


def test_client_disconnects_mid_stream(server: Server, speech: SpeechData) -> None:
    """A client that vanishes mid-stream leaves the server healthy for the next ones."""

    async def vanish() -> None:
        _reader, writer = await asyncio.open_connection(server.host, server.port)
        await async_write_event(Transcribe(language="en").event(), writer)
        await async_write_event(AudioStart(rate=16000, width=2, channels=1).event(), writer)
        for chunk in pcm_chunks(speech.pcm(JFK)[: 16000 * 3], 16000, 1):
            await async_write_event(chunk.event(), writer)
        writer.transport.abort()  # no audio-stop, no FIN: a reset connection

    async def vanish_after_stop() -> None:
        # Disconnect while the transcription is running: the server must not crash writing back.
        _reader, writer = await asyncio.open_connection(server.host, server.port)
        await async_write_event(AudioStart(rate=16000, width=2, channels=1).event(), writer)
        for chunk in pcm_chunks(speech.pcm(JFK), 16000, 1):
            await async_write_event(chunk.event(), writer)
        await async_write_event(AudioStop().event(), writer)
        writer.close()

    run(vanish())
    run(vanish_after_stop())
    assert_serves(server, speech)
    assert server.alive()
    # Every handler ended: the open-connections gauge drops back to zero (no leaked tasks).
    deadline = time.monotonic() + 30
    while True:
        metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text
        line = next(x for x in metrics.splitlines() if x.startswith("tccc_wyoming_connections "))
        if float(line.split()[-1]) == 0:
            break
        assert time.monotonic() < deadline, f"Wyoming connections still open: {line}"
        time.sleep(0.2)


def test_wyoming_and_http_together(server: Server, speech: SpeechData) -> None:
    """A Wyoming transcription and an HTTP one at the same time on the same port both succeed."""

    async def over_http() -> str:
        async with httpx.AsyncClient(timeout=120) as http:
            response = await http.post(
                f"{server.base_url}/api/asr",
                files={"audio": (JFK, speech.path(JFK).read_bytes())},
                data={"language": "en"},
            )
        assert response.status_code == 200, response.text
        return str(response.json()["text"])

    async def both() -> tuple[Transcript, str]:
        return await asyncio.gather(transcribe(server, speech.pcm(JFK)), over_http())

    wyoming_result, http_text = run(both())
    speech.assert_transcript(JFK, wyoming_result.text, max_wer=0.15)
    speech.assert_transcript(JFK, http_text, max_wer=0.15)


def test_wyoming_metrics_and_log_privacy(server: Server, speech: SpeechData) -> None:
    """Wyoming transcriptions are counted in /metrics and their text never reaches the log."""
    result = run(transcribe(server, speech.pcm(JFK)))
    assert "fellow Americans" in result.text
    metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    ok = [
        line
        for line in metrics.splitlines()
        if line.startswith("tccc_requests_total{")
        and 'protocol="wyoming"' in line
        and 'status="ok"' in line
    ]
    assert ok and float(ok[0].split()[-1]) >= 1, metrics
    log = server.log_text().lower()
    for phrase in ("fellow americans", "your country", "could wait no longer"):
        assert phrase not in log, f"the server log contains transcript text {phrase!r}"


# --- limits: audio duration --------------------------------------------------------------------


def test_stream_over_duration_limit(locked_server: Server, speech: SpeechData) -> None:
    """server.max_audio_s applies to Wyoming streams too (5 s here, as for HTTP uploads).

    Without it, a stream within the byte limit can carry hours of audio at a low sample rate:
    25 MB of 8-bit PCM at 1 kHz is over 7 hours once resampled to 16 kHz.
    """
    name = "ls_1089-134686-0000.flac"  # 10.4 s; 1 kHz 8-bit: ~10 KB, far under 1 MB
    samples = speech.pcm(name, rate=1000)
    unsigned = ((samples.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    # Two chunks, 4.5 s then the rest, so the limit is crossed by the last chunk sent.
    start = AudioStart(rate=1000, width=1, channels=1).event()
    start.data["token"] = locked_server.token  # this server has a token: Wyoming needs it
    events = [
        start,
        AudioChunk(rate=1000, width=1, channels=1, audio=unsigned[:4500]).event(),
        AudioChunk(rate=1000, width=1, channels=1, audio=unsigned[4500:]).event(),
    ]

    async def stream() -> Event | None:
        async with client(locked_server) as wy:
            return await send_over_limit(wy, events)

    event = run(stream())
    assert event is not None
    assert Error.is_type(event.type), f"{event.type} for 10.4 s of audio over a 5 s limit"
    assert Error.from_event(event).code == "audio_too_large"
    assert_serves(locked_server, speech)


def test_the_benchmarks_wyoming_client_sends_the_token(locked_server: Server) -> None:
    """`tccc bench stream` and `bench stt --wyoming` against a server with a token: refused
    without it, a transcript with it (the token in the transcribe event's data)."""
    from importlib import resources

    from tccc.audio.decode import decode_audio
    from tccc.bench.stream import describe, exchange
    from tccc.errors import TcccError

    uri = f"tcp://{locked_server.host}:{locked_server.port}"
    audio = decode_audio(resources.files("tccc").joinpath("data/sample_narration.ogg").read_bytes())
    clip = audio[: 4 * 16000]
    token = locked_server.token
    assert run(describe(uri, token))["program"]
    with_token = run(exchange(uri, clip, paced=False, token=token))
    assert "walker" in with_token.final_text.lower(), with_token.events
    try:
        without = run(exchange(uri, clip, paced=False))
    except TcccError:
        return  # refused, and the connection closed: no transcript either way
    assert without.first("transcript") is None and without.first("error") is not None
