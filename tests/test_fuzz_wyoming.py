"""A Wyoming framing fuzzer against a real `tccc serve` (issue 16).

Valid event streams (describe, ping, transcribe, audio-start/chunk/stop) are mutated with a
fixed seed: truncated and spliced headers, bytes flipped and inserted, lengths that lie or
overflow, wrong JSON types, deep nesting, over-long lines, invalid UTF-8, NULs, whitespace, and
streams cut at random points. Each case goes to the server on its own connection, in random
write sizes, then the client half-closes. Invariants: the server answers only well-formed
events (an `error` event carries a code and a text), never holds a connection open after the
client's end of stream, never answers 5xx or logs a traceback, keeps its memory bounded, and
still serves a real client afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import psutil
import pytest
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event

if TYPE_CHECKING:
    from conftest import Server, ServerFactory, SpeechData

pytestmark = pytest.mark.e2e

SEED = 16
"""The fuzzer's seed: the same cases on every run."""
CASES = 1000
"""Malformed streams sent (a few seconds on two busy cores)."""
CONCURRENCY = 8
"""Cases in flight at once."""
CLOSE_WITHIN_S = 15.0
"""Longest the server may keep a connection open after the client's end of stream."""
MAX_RSS_GROWTH_MB = 200.0
SHORT = "ls_1089-134691-0000.flac"


@pytest.fixture(scope="module")
def fuzz_server(server_factory: ServerFactory) -> Server:
    """The server both fuzzers use (a short idle timeout keeps cases that hang short)."""
    return server_factory("--no-llm", env={"TCCC_SERVER_IDLE_TIMEOUT_S": "5"})


def encode(event_type: str, data: dict[str, Any] | None = None, payload: bytes = b"") -> bytes:
    """One Wyoming event on the wire: header line, data bytes, payload."""
    header: dict[str, Any] = {"type": event_type, "version": "1.5.0"}
    body = json.dumps(data).encode() if data else b""
    if body:
        header["data_length"] = len(body)
    if payload:
        header["payload_length"] = len(payload)
    return json.dumps(header).encode() + b"\n" + body + payload


def valid_streams(rng: random.Random) -> list[list[bytes]]:
    """A few well-formed conversations, as lists of encoded events."""
    audio = (rng.random() * 2000 * np.sin(np.arange(1600) / 7)).astype("<i2").tobytes()
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    return [
        [encode("describe")],
        [encode("ping", {"text": "x"})],
        [
            encode("transcribe", {"language": "en"}),
            encode("audio-start", fmt),
            encode("audio-chunk", fmt, audio),
            encode("audio-chunk", fmt, audio),
            encode("audio-stop"),
        ],
        [encode("audio-start", fmt), encode("audio-chunk", fmt, audio), encode("describe")],
    ]


JUNK_VALUES: list[Any] = [
    None, -1, 0, 1, 2**63, -(2**63), 1.5, "10", "", [], {}, [1, 2], {"a": 1}, True, "x" * 300,
]  # fmt: skip


def mutate(rng: random.Random, events: list[bytes]) -> bytes:
    """One malformed stream made from a valid one."""
    kind = rng.randrange(14)
    stream = b"".join(events)
    if kind == 0:  # cut anywhere
        return stream[: rng.randrange(len(stream) + 1)]
    if kind == 1:  # flip bytes
        data = bytearray(stream)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if kind == 2:  # insert random bytes
        at = rng.randrange(len(stream) + 1)
        return stream[:at] + rng.randbytes(rng.randint(1, 64)) + stream[at:]
    if kind == 3:  # a header field with a wrong type or value
        field = rng.choice(["type", "data", "data_length", "payload_length", "version"])
        header: dict[str, Any] = {"type": "audio-chunk", field: rng.choice(JUNK_VALUES)}
        return json.dumps(header).encode() + b"\n" + rng.randbytes(rng.randint(0, 32))
    if kind == 4:  # data_length or payload_length that lies
        key = rng.choice(["data_length", "payload_length"])
        header = {"type": "audio-chunk", key: rng.choice([1, 10, 4096, 10**6, 10**12])}
        return json.dumps(header).encode() + b"\n" + rng.randbytes(rng.randint(0, 64))
    if kind == 5:  # deep nesting in the header or the data
        depth = rng.choice([100, 2000, 20000, 30000])
        return (
            b'{"type": "transcribe", "data": {"language": ' + b"[" * depth + b"]" * depth + b"}}\n"
        )
    if kind == 6:  # an over-long line
        return b'{"type": "describe", "data": {"x": "' + b"a" * rng.choice([70000, 200000])
    if kind == 7:  # invalid UTF-8 and NULs
        return rng.choice([b"{\xff\xfe\n", b'{"type": "\x00"}\n', b"{" + b"\x00" * 500 + b"\n"])
    if kind == 8:  # whitespace before and between events
        return b" \n\t" * rng.randint(1, 600) + stream
    if kind == 9:  # events in the wrong order
        shuffled = list(events)
        rng.shuffle(shuffled)
        return b"".join(shuffled)
    if kind == 10:  # audio formats out of range
        fmt = {"rate": rng.choice([0, -1, 7, 10**9]), "width": rng.choice([0, 3, 8]),
               "channels": rng.choice([0, 100, -2])}  # fmt: skip
        return encode("audio-start", fmt) + encode("audio-chunk", fmt, b"\0" * 64)
    if kind == 11:  # a flood of tiny events
        return encode("ping") * rng.randint(50, 500)
    if kind == 12:  # a language that is not one
        language = rng.choice(["en\nFORGED", "x" * 5000, "../../etc", "\u202e", ""])
        return encode("transcribe", {"language": language}) + b"".join(events)
    return rng.randbytes(rng.randint(1, 2048))  # noise that happens to start the connection


async def send_case(server: Server, data: bytes, rng: random.Random) -> tuple[list[Event], str]:
    """Send one case in random pieces, half-close, read until the server closes."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    events: list[Event] = []
    outcome = "closed"
    try:
        try:
            at = 0
            while at < len(data):
                step = rng.randint(1, 4096)
                writer.write(data[at : at + step])
                await writer.drain()
                at += step
            if writer.can_write_eof():
                writer.write_eof()
        except ConnectionError:
            outcome = "reset while sending"
        deadline = time.monotonic() + CLOSE_WITHIN_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return events, "still open"
            try:
                event = await asyncio.wait_for(async_read_event(reader), left)
            except TimeoutError:
                return events, "still open"
            except ConnectionError:
                return events, outcome
            except (ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
                return events, f"malformed answer: {exc!r}"
            if event is None:
                return events, outcome
            events.append(event)
    finally:
        writer.close()


def test_wyoming_framing_fuzzer(fuzz_server: Server, speech: SpeechData) -> None:
    """CASES malformed streams with a fixed seed: no hang, no malformed answer, no crash, no
    traceback, bounded memory, and a real client is transcribed afterwards."""
    server = fuzz_server
    rng = random.Random(SEED)
    streams = valid_streams(rng)
    cases = [mutate(rng, rng.choice(streams)) for _ in range(CASES)]
    process = psutil.Process(server.process.pid)
    rss_before = process.memory_info().rss / 2**20

    async def fuzz() -> list[tuple[list[Event], str]]:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> tuple[list[Event], str]:
            async with gate:
                return await send_case(server, cases[i], random.Random(SEED + i))

        return list(await asyncio.gather(*(one(i) for i in range(len(cases)))))

    started = time.monotonic()
    results = asyncio.run(asyncio.wait_for(fuzz(), 300))
    elapsed = time.monotonic() - started
    problems = []
    errors = 0
    for i, (events, outcome) in enumerate(results):
        if outcome not in ("closed", "reset while sending"):
            problems.append(f"case {i} ({cases[i][:60]!r}...): {outcome}")
        for event in events:
            if Error.is_type(event.type):
                errors += 1
                error = Error.from_event(event)
                if not (error.code and error.text):
                    problems.append(f"case {i}: error event without code or text: {event}")
    assert not problems, "\n".join(problems[:20])
    assert server.alive(), server.log_tail()
    log = server.log_text()
    assert "Traceback" not in log, server.log_tail(60)
    assert "FORGED" not in log
    rss_after = process.memory_info().rss / 2**20
    assert rss_after - rss_before < MAX_RSS_GROWTH_MB, (rss_before, rss_after)

    def open_connections() -> float:
        text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
        line = next(x for x in text.splitlines() if x.startswith("tccc_wyoming_connections "))
        return float(line.split()[-1])

    deadline = time.monotonic() + 30
    while open_connections() > 0:
        assert time.monotonic() < deadline, "Wyoming connections were left open"
        time.sleep(0.2)

    async def real_client() -> Event | None:
        async with AsyncTcpClient(server.host, server.port, read_timeout=60) as wy:
            await wy.write_event(Transcribe(language="en").event())
            await wy.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            samples = speech.pcm(SHORT)
            for i in range(0, samples.size, 1600):
                audio = samples[i : i + 1600].tobytes()
                await wy.write_event(
                    AudioChunk(rate=16000, width=2, channels=1, audio=audio).event()
                )
            await wy.write_event(AudioStop().event())
            while (event := await wy.read_event()) is not None:
                if event.type in ("transcript", "error"):
                    return event
        return None

    event = asyncio.run(asyncio.wait_for(real_client(), 120))
    assert event is not None and event.type == "transcript", event
    speech.assert_transcript(SHORT, event.data["text"])
    print(
        f"wyoming fuzzer: {CASES} cases (seed {SEED}) in {elapsed:.1f} s, {errors} error events, "
        f"RSS {rss_before:.0f} -> {rss_after:.0f} MiB"
    )
