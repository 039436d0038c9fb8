"""End-to-end live transcription: Wyoming streaming, the /v1/stream WebSocket, SSE uploads.

Real server process, real clients (the `wyoming` library, `websockets`, httpx), real speech
streamed at real-time pace where the feature is about timing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest
import websockets
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

if TYPE_CHECKING:
    from conftest import Server, SpeechData

pytestmark = pytest.mark.e2e

LONG = "ls_1089-134686-0000.flac"  # 10.4 s, one sentence
SHORT = "ls_1089-134691-0001.flac"  # 5.4 s
MATCH_MAX_WER = 0.2
"""Word error allowed both the streamed and the one-shot transcript of LONG (5 of 28 words)."""


def run(coro: Any) -> Any:
    """Run one coroutine with an overall limit."""
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


async def stream_wyoming(
    server: Server, samples: np.ndarray, *, realtime: bool, chunk_ms: int = 40
) -> tuple[list[tuple[float, Any]], float]:
    """Stream audio; return (time since first chunk, event) for every event, and stop time."""
    events: list[tuple[float, Any]] = []
    async with AsyncTcpClient(server.host, server.port, read_timeout=60) as wy:
        await wy.write_event(Transcribe(language="en").event())
        await wy.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        t0 = time.monotonic()

        async def reader() -> None:
            while (event := await wy.read_event()) is not None:
                events.append((time.monotonic() - t0, event))
                if TranscriptStop.is_type(event.type) or event.type == "error":
                    return

        task = asyncio.create_task(reader())
        step = 16 * chunk_ms
        for i in range(0, samples.size, step):
            if realtime:
                await asyncio.sleep(max(0.0, t0 + i / 16000 - time.monotonic()))
            chunk = AudioChunk(
                rate=16000, width=2, channels=1, audio=samples[i : i + step].tobytes()
            )
            await wy.write_event(chunk.event())
        stopped = time.monotonic() - t0
        await wy.write_event(AudioStop().event())
        await asyncio.wait_for(task, 60)
    return events, stopped


def test_describe_advertises_streaming(server: Server) -> None:
    async def describe() -> Info:
        async with AsyncTcpClient(server.host, server.port) as wy:
            await wy.write_event(Describe().event())
            while (event := await wy.read_event()) is not None:
                if Info.is_type(event.type):
                    return Info.from_event(event)
        raise AssertionError("no info")

    info = run(describe())
    assert info.asr[0].supports_transcript_streaming is True


def test_wyoming_streams_chunks_while_audio_arrives(server: Server, speech: SpeechData) -> None:
    samples = speech.pcm(LONG)
    events, stopped = run(stream_wyoming(server, samples, realtime=True))
    types = [e.type for _, e in events]
    assert types[0] == "transcript-start"
    assert types[-2:] == ["transcript", "transcript-stop"]
    chunk_times = [t for t, e in events if TranscriptChunk.is_type(e.type)]
    # Text is committed while the medic is still talking, not only after audio-stop.
    assert chunk_times and min(chunk_times) < stopped, (chunk_times, stopped)
    chunks = "".join(
        TranscriptChunk.from_event(e).text for _, e in events if e.type == "transcript-chunk"
    )
    final = Transcript.from_event(next(e for _, e in events if Transcript.is_type(e.type)))
    # Chunks are append-only deltas: together they are exactly the final transcript.
    assert chunks == final.text
    speech.assert_transcript(LONG, final.text)


def test_wyoming_client_that_sends_all_at_once_still_works(
    server: Server, speech: SpeechData
) -> None:
    samples = speech.pcm(SHORT)
    events, _ = run(stream_wyoming(server, samples, realtime=False, chunk_ms=1000))
    final = Transcript.from_event(next(e for _, e in events if Transcript.is_type(e.type)))
    speech.assert_transcript(SHORT, final.text)
    assert TranscriptStart.is_type(events[0][1].type)


def test_streaming_matches_one_shot(server: Server, speech: SpeechData) -> None:
    samples = speech.pcm(LONG)
    events, _ = run(stream_wyoming(server, samples, realtime=False, chunk_ms=200))
    streamed = Transcript.from_event(next(e for _, e in events if Transcript.is_type(e.type))).text
    one_shot = httpx.post(
        f"{server.base_url}/v1/audio/transcriptions",
        files={"file": ("a.wav", speech.wav(LONG), "audio/wav")},
        timeout=60,
    ).json()["text"]
    # Each against what was said, not one against the other: the stream is decoded utterance by
    # utterance, so it may differ from a very good one-shot decode by a few words (on LONG,
    # tiny.en heard 3 of 28 words wrong streamed and 1 one-shot) and still be as good.
    speech.assert_transcript(LONG, one_shot, max_wer=MATCH_MAX_WER)
    speech.assert_transcript(LONG, streamed, max_wer=MATCH_MAX_WER)


async def websocket_session(
    server: Server, samples: np.ndarray, *, stop: bool, fraction: float = 1.0, query: str = ""
) -> tuple[str, list[dict[str, Any]]]:
    """Send PCM over /v1/stream; return the session id and the JSON events received."""
    uri = f"ws://{server.host}:{server.port}/v1/stream{query}"
    received: list[dict[str, Any]] = []
    async with websockets.connect(uri) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "session"
        part = samples[: int(samples.size * fraction)]
        for i in range(0, part.size, 3200):
            await ws.send(part[i : i + 3200].tobytes())
            await asyncio.sleep(0.02)  # faster than real time, but streamed
        if not stop:
            return hello["id"], received  # leave mid-utterance: the context manager closes
        await ws.send(json.dumps({"type": "stop"}))
        async for message in ws:
            received.append(json.loads(message))
    return hello["id"], received


def test_websocket_partials_are_prefix_consistent(server: Server, speech: SpeechData) -> None:
    session_id, events = run(websocket_session(server, speech.pcm(LONG), stop=True))
    assert events[-1]["type"] == "done"
    finals = [e for e in events if e["type"] == "final"]
    partials = [e for e in events if e["type"] == "partial"]
    assert finals and partials
    final_text = " ".join(f["text"] for f in finals)
    assert events[-1]["text"] == final_text
    # Within an utterance committed text only grows and is a prefix of the utterance's final.
    by_id = {f["utterance_id"]: f["text"] for f in finals}
    for uid, final in by_id.items():
        committed = [p["committed"] for p in partials if p["utterance_id"] == uid]
        for earlier, later in itertools.pairwise(committed):
            assert later.startswith(earlier)
        for c in committed:
            assert final.startswith(c)
    words = [w for f in finals for w in f["words"]]
    starts = [w["start"] for w in words]
    assert starts == sorted(starts), "word times must be monotonic"
    assert all(0 <= w["start"] <= w["end"] <= 10.5 for w in words)
    speech.assert_transcript(LONG, final_text)
    logged = httpx.get(f"{server.base_url}/v1/sessions/{session_id}", timeout=10).json()
    assert " ".join(t["text"] for t in logged["transcripts"]) == final_text


def test_websocket_disconnect_mid_utterance_still_logs_the_final(
    server: Server, speech: SpeechData
) -> None:
    session_id, _ = run(websocket_session(server, speech.pcm(LONG), stop=False, fraction=0.6))
    deadline = time.monotonic() + 30
    logged: dict[str, Any] = {}
    while time.monotonic() < deadline:
        logged = httpx.get(f"{server.base_url}/v1/sessions/{session_id}", timeout=10).json()
        if logged.get("ended_at"):
            break
        time.sleep(0.2)
    assert logged.get("ended_at"), "the session was not finalised after the disconnect"
    text = " ".join(t["text"] for t in logged["transcripts"])
    # The first 60 % of the sentence, up to the moment the client vanished, is in the log.
    assert "stew for dinner" in text.lower()
    assert server.alive()


def test_websocket_float_browser_audio(server: Server, speech: SpeechData) -> None:
    pcm48 = speech.pcm(SHORT, rate=48000)
    floats = (pcm48.astype(np.float32) / 32768.0).astype("<f4")

    async def go() -> list[dict[str, Any]]:
        uri = f"ws://{server.host}:{server.port}/v1/stream?format=f32le&rate=48000"
        out = []
        async with websockets.connect(uri) as ws:
            await ws.recv()
            for i in range(0, floats.size, 4800):
                await ws.send(floats[i : i + 4800].tobytes())
            await ws.send(json.dumps({"type": "stop"}))
            async for message in ws:
                out.append(json.loads(message))
        return out

    events = run(go())
    speech.assert_transcript(SHORT, events[-1]["text"])


def test_websocket_bad_input_is_a_clear_error(server: Server) -> None:
    async def go() -> tuple[dict[str, Any], int | None]:
        uri = f"ws://{server.host}:{server.port}/v1/stream"
        async with websockets.connect(uri) as ws:
            await ws.recv()
            await ws.send("not json")
            error = json.loads(await ws.recv())
            await ws.wait_closed()
            return error, ws.close_code

    error, code = run(go())
    assert error["type"] == "error" and error["code"] == "protocol_error"
    assert code == 1008

    async def bad_rate() -> tuple[dict[str, Any], int | None]:
        uri = f"ws://{server.host}:{server.port}/v1/stream?rate=7"
        async with websockets.connect(uri) as ws:
            error = json.loads(await ws.recv())
            await ws.wait_closed()
            return error, ws.close_code

    error, code = run(bad_rate())
    assert code == 1003 and error["type"] == "error" and "rate" in error["message"]
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_websocket_requires_the_token(locked_server: Server) -> None:
    async def attempt(query: str) -> bool:
        uri = f"ws://{locked_server.host}:{locked_server.port}/v1/stream{query}"
        try:
            async with websockets.connect(uri) as ws:
                message = json.loads(await ws.recv())
                return bool(message["type"] == "session")
        except (websockets.ConnectionClosed, websockets.InvalidStatus):
            return False

    assert run(attempt("")) is False
    assert run(attempt("?token=wrong")) is False
    assert run(attempt(f"?token={locked_server.token}")) is True
    assert str(locked_server.token) not in locked_server.log_text(), "the token reached the log"


def test_openai_stream_true_sends_server_sent_events(server: Server, speech: SpeechData) -> None:
    with httpx.stream(
        "POST",
        f"{server.base_url}/v1/audio/transcriptions",
        files={"file": ("a.flac", speech.path(LONG).read_bytes(), "audio/flac")},
        data={"model": "whisper-1", "stream": "true"},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [
            json.loads(line[len("data: ") :])
            for line in response.iter_lines()
            if line.startswith("data: ")
        ]
    assert events[-1]["type"] == "transcript.text.done"
    deltas = "".join(e["delta"] for e in events if e["type"] == "transcript.text.delta")
    assert deltas == events[-1]["text"]
    speech.assert_transcript(LONG, deltas)
