"""HTTP API (FastAPI): the seed's /api/asr, whisper-asr-webservice /asr, OpenAI transcriptions."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette import formparsers

from tccc import __version__
from tccc.audio.decode import decode_audio
from tccc.config import Settings
from tccc.errors import (
    AudioError,
    AudioTooLargeError,
    NotReadyError,
    ProtocolError,
    ServerBusyError,
    TcccError,
)
from tccc.runtime.manager import RuntimeManager
from tccc.server.languages import language_name
from tccc.server.live_routes import register_live_routes, sse_events
from tccc.server.live_session import LiveSession
from tccc.server.runtime_routes import register_runtime_routes
from tccc.server.service import TranscriptionService
from tccc.server.tasks import TaskOwner
from tccc.store.transcripts import TranscriptLog
from tccc.stt.formats import render, result_dict, segment_dict
from tccc.stt.transcriber import DecodeOptions

_LOGGER = logging.getLogger(__name__)

_STATUS = {
    AudioTooLargeError: 413,
    AudioError: 400,
    ProtocolError: 400,
    ServerBusyError: 503,
    NotReadyError: 503,
}
RETRY_AFTER_S = 2
OPEN_ROUTES = ("/healthz", "/readyz")


def error_body(code: str, message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """OpenAI-style error body, so the openai client shows the message."""
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def _error_response(exc: TcccError) -> JSONResponse:
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        error_body(exc.code, exc.message, kind), status_code=status, headers=headers
    )


class BodyLimitMiddleware:
    """Answers 413 to any request body over the limit, before or while it is read."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _too_large_response(self.max_bytes)
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await too_large(scope, receive, send)
            return
        seen = 0
        overflow = False
        started = False

        async def limited_receive() -> Any:
            nonlocal seen, overflow
            if overflow:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Pretend the client went away: the app stops reading and we answer 413.
                    overflow = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if overflow:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not overflow:
                raise
        if overflow and not started:
            await too_large(scope, receive, send)


def _too_large_response(max_bytes: int) -> Response:
    limit_mb = max_bytes / (1024 * 1024)
    return JSONResponse(
        error_body("upload_too_large", f"the upload is larger than the {limit_mb:g} MB limit"),
        status_code=413,
    )


def create_app(
    service: TranscriptionService,
    settings: Settings,
    *,
    extra_state: dict[str, Any] | None = None,
    on_fatal: Callable[[], None] | None = None,
    on_shutdown: list[Callable[[], Awaitable[None]]] | None = None,
    log: TranscriptLog | None = None,
    runtime: RuntimeManager | None = None,
) -> FastAPI:
    """Build the FastAPI app around a TranscriptionService (and its runtime manager)."""
    metrics = service.metrics
    max_bytes = int(settings.server.max_upload_mb * 1024 * 1024)
    # Keep uploads in memory up to the limit: audio must not be spooled to temporary files.
    formparsers.MultiPartParser.spool_max_size = max_bytes + 1
    tasks = TaskOwner("http")
    log = log or TranscriptLog()
    load_error: list[str] = []

    async def load_model() -> None:
        try:
            if runtime is not None:
                await runtime.start()  # speech first (ready), then what else fits
            else:
                await service.load()
            _LOGGER.info("speech model %s ready", service.transcriber.model_name)
        except TcccError as exc:
            load_error.append(exc.message)
            _LOGGER.error("speech model failed to load: %s", exc.message)
            if on_fatal is not None:
                on_fatal()
            return
        if runtime is not None:
            await runtime.run()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        tasks.create(load_model(), name="load-model")
        try:
            yield dict(extra_state or {})
        finally:
            for hook in on_shutdown or ():
                await hook()
            await tasks.cancel_all(wait_s=5.0)
            service.shutdown()

    app = FastAPI(
        title="tccc whisper service",
        version=__version__,
        description="Offline speech-to-text for TCCC: Wyoming and HTTP on one port.",
        lifespan=lifespan,
    )

    token = settings.server.api_token

    @app.middleware("http")
    async def _require_token(request: Request, call_next: Any) -> Response:
        # A middleware, not a route dependency, so the OpenAPI schema and docs are covered too.
        if token is not None and request.url.path not in OPEN_ROUTES:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.encode(), token.encode()
            ):
                return JSONResponse(
                    error_body("unauthorized", "a valid bearer token is required"),
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        response: Response = await call_next(request)
        return response

    @app.exception_handler(TcccError)
    async def _tccc_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TcccError)
        metrics.errors.labels(exc.code).inc()
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Pydantic echoes the offending input; keep only where and what, never the value.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return JSONResponse(error_body("invalid_request", problems), status_code=422)

    @app.middleware("http")
    async def _count(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels("http", path, str(response.status_code)).inc()
        metrics.request_latency.labels("http", path).observe(time.perf_counter() - started)
        return response

    async def read_upload(upload: UploadFile) -> np.ndarray:
        data = await upload.read()
        await upload.close()
        return decode_audio(data, max_seconds=settings.server.max_audio_s)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """200 only once the speech model is loaded."""
        if service.ready:
            return JSONResponse({"status": "ready", "model": service.transcriber.model_name})
        status = "failed" if load_error else "loading"
        return JSONResponse(
            {"status": status}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
        )

    @app.get("/metrics", tags=["health"])
    async def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", tags=["openai"])
    async def models() -> dict[str, Any]:
        """The loaded speech model (OpenAI list format)."""
        return {
            "object": "list",
            "data": [
                {
                    "id": service.transcriber.model_name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "tccc",
                    "languages": service.transcriber.languages,
                }
            ],
        }

    @app.post("/api/asr", tags=["seed"])
    async def api_asr(
        audio: Annotated[UploadFile, File(description="audio file, any common container")],
        language: Annotated[str | None, Form()] = None,
        task: Annotated[Literal["transcribe", "translate"], Form()] = "transcribe",
        word_timestamps: Annotated[bool, Form()] = False,
    ) -> dict[str, Any]:
        """Transcribe an upload: {text, language, duration, segments} (the seed's test route)."""
        samples = await read_upload(audio)
        options = DecodeOptions(
            language=language or None, task=task, word_timestamps=word_timestamps
        )
        return result_dict(await service.transcribe(samples, options), words=word_timestamps)

    @app.post("/asr", tags=["whisper-asr-webservice"])
    async def asr(
        audio_file: Annotated[UploadFile, File()],
        encode: Annotated[bool, Query(description="false: raw s16le 16 kHz mono")] = True,
        task: Annotated[Literal["transcribe", "translate"], Query()] = "transcribe",
        language: Annotated[str | None, Query()] = None,
        initial_prompt: Annotated[str | None, Query()] = None,
        vad_filter: Annotated[bool | None, Query()] = None,
        word_timestamps: Annotated[bool, Query()] = False,
        output: Annotated[Literal["txt", "vtt", "srt", "tsv", "json"], Query()] = "txt",
    ) -> Response:
        """whisper-asr-webservice compatible transcription."""
        if encode:
            samples = await read_upload(audio_file)
        else:
            raw = await audio_file.read()
            await audio_file.close()
            if len(raw) % 2:
                raise AudioError("raw PCM must be 16-bit samples (an even number of bytes)")
            samples = np.frombuffer(raw, dtype=np.int16).copy()
            if samples.size > settings.server.max_audio_s * 16000:
                raise AudioTooLargeError("audio is longer than the configured limit")
        options = DecodeOptions(
            language=language or None,
            task=task,
            initial_prompt=initial_prompt,
            vad=vad_filter,
            word_timestamps=word_timestamps,
        )
        result = await service.transcribe(samples, options)
        headers = {"Asr-Engine": "faster_whisper"}
        if output == "json":
            body = {
                "text": result.text,
                "segments": [segment_dict(s, words=word_timestamps) for s in result.segments],
                "language": result.language,
            }
            return JSONResponse(body, headers=headers)
        media = {"vtt": "text/vtt", "srt": "application/x-subrip"}.get(output, "text/plain")
        return Response(
            render(result, output), media_type=f"{media}; charset=utf-8", headers=headers
        )

    @app.post("/v1/audio/transcriptions", tags=["openai"])
    async def openai_transcriptions(
        file: Annotated[UploadFile, File()],
        model: Annotated[str, Form()] = "whisper-1",
        language: Annotated[str | None, Form()] = None,
        prompt: Annotated[str | None, Form()] = None,
        response_format: Annotated[
            Literal["json", "text", "srt", "verbose_json", "vtt"], Form()
        ] = "json",
        temperature: Annotated[float | None, Form(ge=0.0, le=1.0)] = None,
        timestamp_granularities: Annotated[
            list[Literal["word", "segment"]] | None, Form(alias="timestamp_granularities[]")
        ] = None,
        stream: Annotated[bool, Form()] = False,
    ) -> Response:
        """OpenAI-compatible transcription; `model` is accepted and the loaded model answers.

        With `stream=true` the answer is server-sent events: a `transcript.text.delta` per
        utterance as soon as it is transcribed, then `transcript.text.done`.
        """
        del model  # one model is served; any id (whisper-1, tiny.en, ...) maps to it
        granularities = set(timestamp_granularities or ["segment"])
        want_words = response_format == "verbose_json" and "word" in granularities
        samples = await read_upload(file)
        if stream:
            if not service.ready:
                raise NotReadyError("the speech model is still loading; retry shortly")
            session = LiveSession(
                service, settings, log, source_name="http-sse", language=language, partials=False
            )
            return StreamingResponse(
                sse_events(session, samples, tasks),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        options = DecodeOptions(
            language=language or None,
            initial_prompt=prompt,
            word_timestamps=want_words,
            temperature=temperature if temperature else None,
        )
        result = await service.transcribe(samples, options)
        if response_format == "json":
            return JSONResponse({"text": result.text})
        if response_format == "verbose_json":
            body: dict[str, Any] = {
                "task": "transcribe",
                "language": language_name(result.language),
                "duration": round(result.duration, 3),
                "text": result.text,
                "segments": [
                    {**segment_dict(s, words=False), "seek": 0, "tokens": list(s.tokens)}
                    for s in result.segments
                ],
            }
            if want_words:
                body["words"] = [
                    {"word": w.text, "start": w.start, "end": w.end} for w in result.words
                ]
            return JSONResponse(body)
        fmt = "text" if response_format == "text" else response_format
        return PlainTextResponse(render(result, fmt))

    register_live_routes(app, service, settings, log, tasks)
    if runtime is not None:
        register_runtime_routes(app, runtime)
    return app
