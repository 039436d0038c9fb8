"""Adversarial stage tests of the service's hardening (issue 16), without a server process.

Each test reproduces one defect an independent probe of `tccc serve` found, with fakes that
implement the real interfaces (a Transcriber that answers at once, transports and writers that
fail the way a reset connection does); the reproductions against a real server process are in
test_hardening_e2e.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import importlib.util
import io
import json
import os
import stat
import threading
import wave
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from fake_transcriber import LoadableFake

from tccc.config import Settings, resolve_settings
from tccc.errors import AudioTooLargeError, ProtocolError, ServerBusyError
from tccc.events import TranscriptResult
from tccc.server.http_app import create_app
from tccc.server.live_routes import _is_stop
from tccc.server.live_session import LiveSession
from tccc.server.metrics import ServerMetrics
from tccc.server.service import TranscriptionService
from tccc.server.sniff import SniffingProtocol
from tccc.server.tasks import TaskOwner
from tccc.server.wyoming_handler import MAX_HEADER_BYTES, WyomingContext, WyomingHandler, read_event
from tccc.store.casualty_log import CasualtyLog
from tccc.stt.transcriber import DecodeOptions, ProgressCallback

# --- fakes ---------------------------------------------------------------------------------------


class InstantTranscriber(LoadableFake):
    """Answers every decode at once with an empty transcript."""

    def __init__(self) -> None:
        super().__init__("fake.en")

    def transcribe(
        self,
        audio: np.ndarray,
        options: DecodeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> TranscriptResult:
        return TranscriptResult("", "en", 1.0, audio.size / 16000, model="fake.en")


def settings(**server: Any) -> Settings:
    """Default settings, analysis off (no casualty records), with these server settings."""
    base = resolve_settings(env={}).settings
    return dataclasses.replace(
        base, server=dataclasses.replace(base.server, analyze=False, **server)
    )


async def ready_service(num_workers: int = 1, queue_size: int = 4) -> TranscriptionService:
    service = TranscriptionService(
        InstantTranscriber(),
        num_workers=num_workers,
        queue_size=queue_size,
        metrics=ServerMetrics(),
    )
    await service.load()
    return service


def wav(seconds: float, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * int(seconds * rate))
    return buf.getvalue()


def wyoming_line(event_type: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"type": event_type, "data": data}).encode() + b"\n"


class ResetWriter:
    """A StreamWriter whose peer has reset the connection: every drain fails."""

    def __init__(self) -> None:
        self.closed = False

    def write(self, data: bytes) -> None:
        pass

    def writelines(self, data: Any) -> None:
        pass

    async def drain(self) -> None:
        raise ConnectionResetError("connection reset by peer")

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    async def wait_closed(self) -> None:
        pass


class FakeTransport(asyncio.Transport):
    """Records what the protocol does with the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.written = bytearray()
        self.protocol: asyncio.BaseProtocol | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40001), "sockname": ("127.0.0.1", 10300)}.get(
            name, default
        )

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self.protocol is not None
        return self.protocol

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return 0


# --- 1. a live-session slot leaked by a reset between creating and starting a session ----------


def test_reset_right_after_audio_start_releases_the_live_slot() -> None:
    """Issue 16 #1: the reset arrives while `transcript-start` is written, before the session
    started; the slot and the session row must still be released."""

    async def go() -> tuple[int, list[dict[str, Any]]]:
        service = await ready_service()
        log = CasualtyLog()
        ctx = WyomingContext(service=service, settings=settings(), log=log)
        for _ in range(service.capacity + 1):
            reader = asyncio.StreamReader()
            reader.feed_data(
                wyoming_line("audio-start", {"rate": 16000, "width": 2, "channels": 1})
            )
            reader.feed_eof()
            await WyomingHandler(reader, ResetWriter(), ctx).run()  # type: ignore[arg-type]
        await ctx.tasks.cancel_all(wait_s=5.0)
        return service.live_sessions, log.sessions()

    live, sessions = asyncio.run(go())
    assert live == 0, f"{live} live-session slots leaked by reset connections"
    assert sessions and all(s["ended_at"] is not None for s in sessions), sessions


def test_sse_client_gone_before_the_response_starts_releases_the_live_slot() -> None:
    """Issue 16 #1 (SSE): the session is admitted, then the client is gone before the first
    byte of the event stream is sent; the generator that would release it never runs."""

    async def go() -> tuple[int, int]:
        service = await ready_service()
        log = CasualtyLog()
        app = create_app(service, settings(), log=log)
        boundary = "b0undary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
                f"Content-Type: audio/wav\r\n\r\n"
            ).encode()
            + wav(1.0)
            + (
                f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="stream"\r\n\r\ntrue'
                f"\r\n--{boundary}--\r\n"
            ).encode()
        )
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/audio/transcriptions",
            "raw_path": b"/v1/audio/transcriptions",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 40002),
            "server": ("127.0.0.1", 10300),
            "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                raise OSError("the client is gone")

        with pytest.raises(OSError):
            await app(scope, receive, send)
        for _ in range(100):  # the session's own task may still be finishing
            if not service.live_sessions:
                break
            await asyncio.sleep(0.02)
        return service.live_sessions, len(log.sessions())

    live, admitted = asyncio.run(go())
    assert admitted == 1, "the upload never became a live session"
    assert live == 0


# --- 3. the sniffer buffering whitespace without limit -------------------------------------------


def test_sniffer_does_not_buffer_whitespace_without_limit() -> None:
    """Issue 16 #3: a client sending only spaces is closed after a few KiB, not kept (and
    copied on every read) until the 30 s timer."""

    async def go() -> tuple[bool, int]:
        proto = SniffingProtocol(config=None, server_state=None, app_state={})
        transport = FakeTransport()
        proto.connection_made(transport)
        sent = 0
        while not transport.closed and sent < 4 * 1024 * 1024:
            proto.data_received(b" " * 65536)
            sent += 65536
        proto.connection_lost(None)
        return transport.closed, sent

    closed, sent = asyncio.run(go())
    assert closed, "4 MiB of spaces and the connection is still open"
    assert sent <= 65536


# --- 4. audio decoded on the event loop ----------------------------------------------------------


def test_uploads_are_decoded_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 #4: while an upload decodes, the event loop still answers /healthz. The decode
    below waits until /healthz has been answered: on the event loop it waits in vain, since
    the loop cannot answer anything until the decode returns."""
    healthz_done = threading.Event()
    waited: list[bool] = []

    def slowed(real: Any) -> Any:
        def slow(*args: Any, **kwargs: Any) -> Any:
            waited.append(healthz_done.wait(5))
            return real(*args, **kwargs)

        return slow

    # Whichever module decodes, through whichever function: each call waits for /healthz.
    for module in ("tccc.audio.decode", "tccc.server.http_app", "tccc.server.decoding"):
        if importlib.util.find_spec(module) is None:
            continue
        loaded = importlib.import_module(module)
        for name in ("decode_audio", "decode_reserved"):
            if hasattr(loaded, name):
                monkeypatch.setattr(loaded, name, slowed(getattr(loaded, name)))

    async def go() -> int:
        service = await ready_service()
        app = create_app(service, settings(), log=CasualtyLog())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            upload = asyncio.create_task(
                client.post("/api/asr", files={"audio": ("a.wav", wav(1.0))}, timeout=30)
            )
            await asyncio.sleep(0.05)
            health = await client.get("/healthz", timeout=30)
            healthz_done.set()
            response = await upload
        assert health.status_code == 200
        return response.status_code

    assert asyncio.run(go()) == 200
    assert waited and all(waited), "/healthz was answered only after the upload was decoded"


# --- 5. decode bombs -----------------------------------------------------------------------------


def flac_declaring(seconds_declared: float, seconds_real: float = 1.0) -> bytes:
    """A FLAC file of `seconds_real` of silence whose STREAMINFO declares `seconds_declared`."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, int(seconds_real * 16000)), dtype=np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    data = bytearray(buf.getvalue())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first
    info = 8  # after "fLaC" and the metadata block header
    # Bytes 10-17 of STREAMINFO: 20 bits rate, 3 channels, 5 bits per sample, 36 total samples.
    packed = int.from_bytes(data[info + 10 : info + 18], "big")
    total = int(seconds_declared * 16000)
    packed = (packed & ~((1 << 36) - 1)) | total
    data[info + 10 : info + 18] = packed.to_bytes(8, "big")
    return bytes(data)


def test_declared_duration_over_the_limit_is_refused_before_decoding() -> None:
    """Issue 16 #5: the container says how long it is: over the limit, nothing is decoded."""
    from tccc.audio.decode import decode_audio

    assert decode_audio(flac_declaring(1.0), max_seconds=60).size == 16000
    with pytest.raises(AudioTooLargeError):
        decode_audio(flac_declaring(7200.0), max_seconds=3600)


def test_decode_buffers_are_bounded_by_a_memory_budget() -> None:
    """Issue 16 #5: decoded samples are counted against a budget while they are held; an upload
    that does not fit now is refused as busy (retry later), one that never could as too large,
    and the budget is given back."""
    from tccc.audio.decode import BYTES_PER_SAMPLE, DecodeBudget, decode_reserved

    minute = 60 * 16000 * BYTES_PER_SAMPLE
    budget = DecodeBudget(limit_bytes=minute)  # one minute of decoded audio at once
    first = decode_reserved(wav(40.0), max_seconds=600, budget=budget)
    assert first.samples.size == 40 * 16000
    assert budget.in_use_bytes == 40 * 16000 * BYTES_PER_SAMPLE
    with pytest.raises(ServerBusyError):
        decode_reserved(wav(40.0), max_seconds=600, budget=budget)
    first.release()
    first.release()  # idempotent
    assert budget.in_use_bytes == 0
    with pytest.raises(AudioTooLargeError):
        decode_reserved(wav(70.0), max_seconds=600, budget=budget)  # never fits: 413
    assert budget.in_use_bytes == 0
    second = decode_reserved(wav(40.0), max_seconds=600, budget=budget)
    second.release()
    assert budget.in_use_bytes == 0


# --- 8. the database folder's mode ---------------------------------------------------------------


def test_open_log_never_changes_an_existing_folder_and_keeps_its_files_private(
    tmp_path: Path,
) -> None:
    """Issue 16 #8: a shared 1777 folder stays 1777; the database and its -wal and -shm
    files are 0600; a folder the product creates is 0700."""
    from tccc.store.open import open_log

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    log = open_log(shared / "casualties.db")
    log.new_session("test")  # a write: WAL and shared-memory files exist now
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777, oct(shared.stat().st_mode)
    for name in ("casualties.db", "casualties.db-wal", "casualties.db-shm"):
        path = shared / name
        assert path.exists(), name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (name, oct(path.stat().st_mode))
    log.close()

    created = tmp_path / "new" / "tccc" / "casualties.db"
    open_log(created).close()
    assert stat.S_IMODE(created.parent.stat().st_mode) == 0o700
    os.chmod(created.parent, 0o750)  # the owner's choice is kept on the next start
    open_log(created).close()
    assert stat.S_IMODE(created.parent.stat().st_mode) == 0o750


# --- 10. deeply nested JSON ----------------------------------------------------------------------


def test_deeply_nested_wyoming_json_is_a_protocol_error() -> None:
    """Issue 16 #10: nesting that overflows the JSON parser is a protocol error (an error event
    for the client), not a RecursionError that kills the connection's task."""
    depth = (MAX_HEADER_BYTES - 64) // 2
    line = b'{"type": "describe", "data": {"x": ' + b"[" * depth + b"]" * depth + b"}}\n"
    assert len(line) < MAX_HEADER_BYTES

    async def go() -> None:
        reader = asyncio.StreamReader(limit=MAX_HEADER_BYTES)
        reader.feed_data(line)
        reader.feed_eof()
        await read_event(reader, max_bytes=1 << 20)

    with pytest.raises(ProtocolError):
        asyncio.run(go())
    with pytest.raises(ProtocolError):
        _is_stop("[" * 100_000 + "]" * 100_000)


# --- 13. error bodies and the OpenAPI schema -----------------------------------------------------


def test_every_error_body_has_the_documented_shape() -> None:
    """Issue 16 #13: framework errors (a bad multipart body, an unknown session, an unknown
    route, a wrong method) answer `{"error": {...}}` like every other error."""

    async def go() -> list[httpx.Response]:
        service = await ready_service()
        app = create_app(service, settings(), log=CasualtyLog())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [
                await client.post(
                    "/api/asr",
                    content=b"--x\r\nnot a multipart body",
                    headers={"content-type": "multipart/form-data; boundary=x"},
                ),
                await client.get("/v1/sessions/0123456789abcdef"),
                await client.get("/no/such/route"),
                await client.delete("/healthz"),
            ]

    bad_multipart, no_session, no_route, wrong_method = asyncio.run(go())
    for response, status in (
        (bad_multipart, 400),
        (no_session, 404),
        (no_route, 404),
        (wrong_method, 405),
    ):
        assert response.status_code == status, (response.status_code, response.text)
        body = response.json()
        assert set(body) == {"error"}, body
        assert {"message", "type", "code"} <= set(body["error"]), body
    assert wrong_method.headers.get("allow") == "GET"


def test_the_openapi_schema_documents_errors_and_content_types() -> None:
    """Issue 16 #13: every status and content type a route answers is in the schema."""

    async def go() -> dict[str, Any]:
        service = await ready_service()
        app = create_app(service, settings(), log=CasualtyLog())
        schema: dict[str, Any] = app.openapi()
        return schema

    schema = asyncio.run(go())
    paths = schema["paths"]

    def responses(path: str, method: str) -> dict[str, Any]:
        found: dict[str, Any] = paths[path][method]["responses"]
        return found

    for path in ("/api/asr", "/asr", "/v1/audio/transcriptions"):
        statuses = set(responses(path, "post"))
        assert {"200", "400", "401", "413", "422", "503"} <= statuses, (path, statuses)
    assert {"404", "401"} <= set(responses("/v1/sessions/{session_id}", "get"))
    asr_types = set(responses("/asr", "post")["200"]["content"])
    assert {"application/json", "text/plain", "text/vtt", "application/x-subrip"} <= asr_types
    openai_types = set(responses("/v1/audio/transcriptions", "post")["200"]["content"])
    assert {"application/json", "text/plain", "text/event-stream"} <= openai_types
    assert "text/plain" in responses("/metrics", "get")["200"]["content"]
    assert "503" in responses("/readyz", "get")
    # The validation error is documented as what it is: the common error body.
    error = responses("/api/asr", "post")["422"]["content"]["application/json"]["schema"]
    assert error.get("$ref", "").endswith("/ErrorResponse"), error


# --- 14. fairness between protocols --------------------------------------------------------------


def test_a_freed_live_slot_goes_to_the_protocol_that_was_refused() -> None:
    """Issue 16 #14: with every slot held by Wyoming streams, a refused WebSocket client gets
    the next slot that frees, not the Wyoming client that reconnects first."""

    async def go() -> tuple[bool, bool]:
        service = await ready_service(num_workers=1, queue_size=1)  # two live slots
        s, log, tasks = settings(), CasualtyLog(), TaskOwner("test")

        async def sink(_event: Any) -> None:
            pass

        def open_session(protocol: str) -> LiveSession:
            session = LiveSession(service, s, log, source_name=protocol)
            session.start(sink, tasks)
            return session

        held = [open_session("wyoming"), open_session("wyoming")]
        with pytest.raises(ServerBusyError):
            open_session("websocket")
        await held[0].finish()  # one Wyoming stream ends: a slot is free
        try:
            open_session("wyoming").abandon()  # the Wyoming client that reconnects at once
            wyoming_admitted = True
        except ServerBusyError:
            wyoming_admitted = False
        try:
            open_session("websocket").abandon()
            websocket_admitted = True
        except ServerBusyError:
            websocket_admitted = False
        for session in held[1:]:
            session.abandon()
        await tasks.cancel_all(wait_s=5.0)
        return wyoming_admitted, websocket_admitted

    wyoming_admitted, websocket_admitted = asyncio.run(go())
    assert websocket_admitted, "the refused WebSocket client did not get the freed slot"
    assert not wyoming_admitted, "the reconnecting Wyoming client took the slot again"


# --- the pieces behind the fixes -----------------------------------------------------------------


def test_accept_errors_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16 #2: out of descriptors, asyncio reports every failed accept with a traceback
    (123 MB of log in 25 s); one line per interval is written, with a count."""
    from tccc.server.connections import AcceptErrorLog

    now = [0.0]
    passed: list[dict[str, Any]] = []
    handler = AcceptErrorLog(lambda _loop, ctx: passed.append(ctx), clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        context = {"message": AcceptErrorLog.MESSAGE, "exception": OSError(24, "Too many")}
        with caplog.at_level("ERROR", logger="tccc.server.connections"):
            for i in range(3000):
                now[0] = i * 0.01  # 30 s of failures, 100 a second
                handler(loop, context)
        handler(loop, {"message": "something else"})
    finally:
        loop.close()
    lines = [r for r in caplog.records if "cannot accept" in r.getMessage()]
    assert 3 <= len(lines) <= 4, len(lines)
    assert all(r.exc_info is None for r in lines)
    assert passed == [{"message": "something else"}]


def test_admission_alternates_between_protocols_that_keep_asking() -> None:
    """Issue 16 #14: the claims of refused protocols, with a clock under test control."""
    from tccc.server.admission import StreamAdmission

    now = [0.0]
    slots = StreamAdmission(1, claim_s=6.0, clock=lambda: now[0])
    assert slots.acquire("wyoming")
    assert not slots.acquire("websocket")  # claim: websocket first
    now[0] = 1.0
    assert not slots.acquire("wyoming")  # claim: wyoming second
    slots.release("wyoming")
    assert not slots.acquire("wyoming")  # the free slot is held for the older claim
    assert slots.acquire("websocket")
    slots.release("websocket")
    assert slots.acquire("wyoming")  # its turn now
    slots.release("wyoming")
    assert slots.acquire("wyoming")  # a protocol alone loses nothing
    assert not slots.acquire("websocket")  # a claim again...
    now[0] = 20.0  # ...which lapses: the WebSocket client never came back
    slots.release("wyoming")
    assert slots.acquire("wyoming")


@pytest.mark.parametrize(
    ("given", "code"),
    [(None, None), ("", None), ("en", "en"), ("EN", "en"), ("en-US", "en"), ("zh_Hant", "zh"),
     ("yue", "yue")],
)  # fmt: skip
def test_language_codes_are_normalised(given: str | None, code: str | None) -> None:
    from tccc.server.languages import normalise_language

    assert normalise_language(given) == code


@pytest.mark.parametrize(
    "given", ["en\nFORGED", "x" * 60_000, "english", "xx", "../etc", "en-", 5, ["en"]]
)
def test_languages_that_are_not_codes_are_refused_without_echo(given: Any) -> None:
    from tccc.server.languages import normalise_language

    with pytest.raises(ProtocolError) as raised:
        normalise_language(given)
    assert raised.value.code == "invalid_language"
    assert "FORGED" not in raised.value.message and len(raised.value.message) < 80


def test_insecure_wyoming_lets_clients_in_without_the_token() -> None:
    """Issue 16 #7: with a token, Wyoming needs it unless `server.insecure_wyoming`."""

    async def first_answer(s: Settings, data: dict[str, Any]) -> str:
        service = await ready_service()
        ctx = WyomingContext(service=service, settings=s, log=CasualtyLog())
        reader = asyncio.StreamReader()
        fmt = {"rate": 16000, "width": 2, "channels": 1}
        reader.feed_data(wyoming_line("audio-start", {**fmt, **data}))
        reader.feed_eof()
        writer = RecordingWriter()
        await WyomingHandler(reader, writer, ctx).run()  # type: ignore[arg-type]
        await ctx.tasks.cancel_all(wait_s=5.0)
        return json.loads(bytes(writer.data).split(b"\n", 1)[0])["type"]

    locked = settings(api_token="secret")
    assert asyncio.run(first_answer(locked, {})) == "error"
    assert asyncio.run(first_answer(locked, {"token": "secret"})) == "transcript-start"
    insecure = settings(api_token="secret", insecure_wyoming=True)
    assert asyncio.run(first_answer(insecure, {})) == "transcript-start"


class RecordingWriter(ResetWriter):
    """A StreamWriter that keeps what is written."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def writelines(self, data: Any) -> None:
        for part in data:
            self.data += part

    async def drain(self) -> None:
        pass


def test_uvicorn_keeps_the_request_cycle_where_the_sniffer_looks() -> None:
    """The header timeout reads uvicorn's `cycle` and `response_complete`: pinned here, so an
    upgrade that renames them fails this test instead of silently disabling the timeout."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from tccc.server.sniff import awaiting_request

    source = Path(importlib.import_module(AutoHTTPProtocol.__module__).__file__ or "").read_text()
    assert "self.cycle" in source and "response_complete" in source

    class Cycle:
        response_complete = False

    class Proto:
        cycle: Any = None

    proto = Proto()
    assert awaiting_request(proto)  # type: ignore[arg-type]
    proto.cycle = Cycle()
    assert not awaiting_request(proto)  # type: ignore[arg-type]
    proto.cycle.response_complete = True
    assert awaiting_request(proto)  # type: ignore[arg-type]


def test_the_connection_table_keeps_a_reserve_and_refuses_beyond_the_limit() -> None:
    from tccc.server.connections import ConnectionTable

    table = ConnectionTable(40, idle_timeout_s=1.0)
    verdicts = [table.admit() for _ in range(45)]
    assert verdicts[:32] == ["ok"] * 32
    assert verdicts[32:40] == ["reserve"] * 8
    assert verdicts[40:] == ["refuse"] * 5 and table.open == 40
    table.release()
    assert table.admit() == "reserve"
