"""HTTP routes for live transcription: the `/v1/stream` WebSocket, SSE, and session logs.

WebSocket protocol (`/v1/stream?rate=16000&width=2&channels=1&format=s16le&language=en`):
the server first sends `{"type": "session", "id": ...}`; the client sends binary frames of PCM
(`s16le`, or `f32le` as a browser AudioWorklet produces) and finally the text frame
`{"type": "stop"}`; the server sends `partial` and `final` events while audio arrives, then
`{"type": "done", "text": ...}` and closes. A client that just disconnects loses nothing: the
open utterance is finalised into the session log (`GET /v1/sessions/{id}`). Each `final` (and
the log) keeps its utterance's own decode; the `done` text and the SSE text join the finals as
one decode of the whole stream would write them (`tccc.stt.join`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from tccc.analysis.incident import Incident
from tccc.audio.convert import PcmConverter, check_pcm_format
from tccc.config import Settings
from tccc.errors import AudioTooLargeError, ProtocolError, TcccError
from tccc.events import LiveTranscript
from tccc.server.http_errors import responses
from tccc.server.languages import normalise_language
from tccc.server.live_session import LiveSession
from tccc.server.service import TranscriptionService
from tccc.server.tasks import TaskOwner
from tccc.store.casualty_log import CasualtyLog
from tccc.store.transcripts import TranscriptLog

_LOGGER = logging.getLogger(__name__)

_POLICY_VIOLATION = 1008
_UNSUPPORTED = 1003
_TRY_AGAIN = 1013


def event_dict(event: LiveTranscript) -> dict[str, Any]:
    """JSON form of a live transcript event."""
    body: dict[str, Any] = {
        "type": event.kind,
        "utterance_id": event.utterance_id,
        "start": round(event.start, 3),
        "end": round(event.end, 3),
    }
    if event.kind == "partial":
        body.update(committed=event.committed, tentative=event.tentative, text=event.text)
        return body
    norm = event.normalised
    body.update(
        text=event.committed,
        normalised=norm.text if norm is not None else None,
        edits=[
            {
                "raw": [e.raw_start, e.raw_end],
                "span": [e.start, e.end],
                "rule": e.rule,
                "confidence": e.confidence,
            }
            for e in (norm.edits if norm is not None else ())
        ],
        words=[
            {"word": w.text, "start": w.start, "end": w.end, "probability": w.probability}
            for w in event.words
        ],
    )
    return body


def sse_events(session: LiveSession, samples: np.ndarray, tasks: TaskOwner) -> AsyncIterator[str]:
    """Server-sent events for an uploaded file, as OpenAI's `stream=true` sends them."""
    queue: asyncio.Queue[LiveTranscript | None] = asyncio.Queue()

    async def sink(event: LiveTranscript) -> None:
        queue.put_nowait(event)

    async def feed() -> None:
        try:
            step = 16000  # one second per push keeps the VAD and decoder interleaved
            for i in range(0, samples.size, step):
                await session.push(samples[i : i + step])
            await session.finish()
        finally:
            queue.put_nowait(None)

    async def stream() -> AsyncIterator[str]:
        session.start(sink, tasks)
        feeder = tasks.create(feed(), name="sse-feed")
        sent = ""
        try:
            while (event := await queue.get()) is not None:
                # The session's joined text, less the end punctuation the next final may still
                # rewrite: the deltas add up to the done text.
                text = session.settled_with() if event.kind == "final" else sent
                if text.startswith(sent) and len(text) > len(sent):
                    yield _sse({"type": "transcript.text.delta", "delta": text[len(sent) :]})
                    sent = text
            await feeder
            text = session.text
            if text.startswith(sent) and len(text) > len(sent):
                yield _sse({"type": "transcript.text.delta", "delta": text[len(sent) :]})
            yield _sse({"type": "transcript.text.done", "text": text})
        except TcccError as exc:
            yield _sse({"type": "error", "error": {"code": exc.code, "message": exc.message}})
        finally:
            if not feeder.done():
                session.abandon()

    return stream()


def _sse(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body)}\n\n"


class LiveStreamResponse(StreamingResponse):
    """The SSE answer of a live session: whatever happens to the response (a client gone
    before its first byte included), the session is released and `on_close` runs."""

    def __init__(
        self, content: AsyncIterator[str], *, session: LiveSession, on_close: Callable[[], None],
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(content, **kwargs)
        self.session = session
        self.on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Send the stream; release the session and the audio however it ends."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self.session.started:
                self.session.discard()
            self.on_close()


def register_live_routes(
    app: FastAPI,
    service: TranscriptionService,
    settings: Settings,
    log: TranscriptLog,
    tasks: TaskOwner,
) -> None:
    """Add `/v1/stream` and `/v1/sessions/{id}` to the app."""
    token = settings.server.api_token
    max_samples = int(settings.server.max_audio_s * 16000)
    idle_s = settings.server.idle_timeout_s

    @app.get("/v1/sessions/{session_id}", tags=["live"], responses=responses(404))
    async def session_log(session_id: str) -> dict[str, Any]:
        """Final transcripts of a live session (kept even if its client disconnected)."""
        found = await asyncio.to_thread(log.session, session_id)
        if found is None:
            raise HTTPException(status_code=404, detail="no such session")
        return found

    @app.get("/v1/sessions/{session_id}/record", tags=["live"], responses=responses(404))
    async def session_record(session_id: str) -> dict[str, Any]:
        """The DD 1380 export of a live session's casualties (analysis on)."""
        known = await asyncio.to_thread(log.session, session_id)
        if known is None or not isinstance(log, CasualtyLog):
            raise HTTPException(status_code=404, detail="no such analysed session")
        incident = await asyncio.to_thread(Incident.resume, log, session_id)
        return await asyncio.to_thread(incident.document)

    @app.websocket("/v1/stream")
    async def stream(websocket: WebSocket) -> None:
        """Live transcription over a WebSocket: PCM frames in, partial/final JSON out."""
        if token is not None and not _ws_authorised(websocket, token):
            await websocket.close(code=_POLICY_VIOLATION, reason="a valid token is required")
            return
        params = websocket.query_params
        try:
            fmt = params.get("format", "s16le")
            if fmt not in ("s16le", "f32le"):
                raise ProtocolError("format must be s16le or f32le")
            rate = int(params.get("rate", "16000"))
            channels = int(params.get("channels", "1"))
            width = 2 if fmt == "f32le" else int(params.get("width", "2"))
            check_pcm_format(rate, width, channels)
            session = LiveSession(
                service,
                settings,
                log,
                source_name="websocket",
                language=normalise_language(params.get("language")),
                partials=params.get("partials", "true").lower() != "false",
            )
        except (ValueError, TcccError) as exc:
            code = _TRY_AGAIN if getattr(exc, "code", "") == "server_busy" else _UNSUPPORTED
            reason = exc.message if isinstance(exc, TcccError) else "invalid stream parameters"
            # Accept first, so the client reads why (a close before accepting is a bare 403).
            await websocket.accept()
            error_code = exc.code if isinstance(exc, TcccError) else "invalid_request"
            refusal: dict[str, Any] = {"type": "error", "code": error_code, "message": reason}
            if code == _TRY_AGAIN:
                refusal["retry_after"] = 2
            await websocket.send_json(refusal)
            await websocket.close(code=code, reason=reason)
            return

        async def sink(event: LiveTranscript) -> None:
            await websocket.send_json(event_dict(event))

        try:
            await websocket.accept()
            await websocket.send_json({"type": "session", "id": session.session_id})
            session.start(sink, tasks)
        except BaseException:
            session.abandon()  # the client left between admission and start: release it
            raise
        converter = PcmConverter(rate, width, channels)
        received = 0
        try:
            while True:
                try:
                    async with asyncio.timeout(idle_s):
                        message = await websocket.receive()
                except TimeoutError:
                    service.metrics.timed_out.labels("websocket").inc()
                    raise ProtocolError(
                        f"no audio or stop for {idle_s:g} s; closing", code="idle_timeout"
                    ) from None
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message.get("code", 1000))
                if message.get("bytes") is not None:
                    data: bytes = message["bytes"]
                    if fmt == "f32le":
                        data = _f32_to_s16(data)
                    samples = converter.convert(data)
                    received += samples.size
                    if received > max_samples:
                        raise AudioTooLargeError("the stream is longer than the configured limit")
                    await session.push(samples)
                elif _is_stop(message.get("text")):
                    break
            await session.push(converter.flush())
            await session.finish()
            await websocket.send_json(
                {"type": "done", "session_id": session.session_id, "text": session.text}
            )
            await websocket.close()
        except WebSocketDisconnect:
            _LOGGER.debug("websocket client left mid-stream; finalising without it")
            session.abandon()
        except TcccError as exc:
            session.abandon()
            await _close_with_error(websocket, exc)


def _is_stop(text: str | None) -> bool:
    """True for the stop message; anything else that is not JSON is a protocol error."""
    if text is None:
        return False
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError("text frames must be JSON") from exc
    if not isinstance(body, dict) or body.get("type") != "stop":
        raise ProtocolError('the only text frame is {"type": "stop"}')
    return True


def _f32_to_s16(data: bytes) -> bytes:
    if len(data) % 4:
        raise ProtocolError("f32le frames must hold whole 4-byte samples")
    floats = np.frombuffer(data, dtype="<f4")
    if not np.all(np.isfinite(floats)):
        raise ProtocolError("f32le samples must be finite numbers")
    return bytes((np.clip(floats, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


def _ws_authorised(websocket: WebSocket, token: str) -> bool:
    # Browsers cannot set headers on a WebSocket, so the token may also come as ?token=.
    scheme, _, given = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        given = websocket.query_params.get("token", "")
    return hmac.compare_digest(given.encode(), token.encode())


async def _close_with_error(websocket: WebSocket, exc: TcccError) -> None:
    try:
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        policy = exc.code in ("protocol_error", "idle_timeout")
        await websocket.close(code=_POLICY_VIOLATION if policy else 1011)
    except (RuntimeError, ConnectionError, WebSocketDisconnect):
        _LOGGER.debug("could not send the error: client gone")
