"""HTTP API (FastAPI): the seed's /api/asr, whisper-asr-webservice /asr, OpenAI transcriptions."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette import formparsers

from tccc import __version__
from tccc.audio.decode import DecodeBudget, DecodedAudio
from tccc.config import Settings
from tccc.errors import NotReadyError, ServerBusyError, TcccError
from tccc.runtime.manager import RuntimeManager
from tccc.server.connections import limit_accept_error_log
from tccc.server.decoding import UploadDecoder
from tccc.server.http_errors import (
    RETRY_AFTER_S,
    content,
    error_body,
    error_response,
    install_error_handlers,
    responses,
    tccc_error_response,
)
from tccc.server.languages import language_name, normalise_language
from tccc.server.live_routes import LiveStreamResponse, register_live_routes, sse_events
from tccc.server.live_session import LiveSession
from tccc.server.runtime_routes import register_runtime_routes
from tccc.server.service import TranscriptionService
from tccc.server.tasks import TaskOwner
from tccc.server.ui_routes import is_public
from tccc.store.transcripts import TranscriptLog
from tccc.stt.formats import render, result_dict, segment_dict
from tccc.stt.transcriber import DecodeOptions

_LOGGER = logging.getLogger(__name__)

OPEN_ROUTES = ("/healthz", "/readyz")
__all__ = ["OPEN_ROUTES", "BodyLimitMiddleware", "create_app", "error_body"]


class BodyLimitMiddleware:
    """Guards request bodies: 413 for one over the limit (before or while it is read), 408 for
    one whose next part does not arrive within the idle timeout (a stalled upload held a
    connection forever), and 503 when the bytes do not fit the decode budget (an upload is
    held in memory until its request ends, so it is counted with the decoded audio)."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        max_bytes: int,
        *,
        idle_timeout_s: float = 30.0,
        on_timeout: Callable[[], None] | None = None,
        budget: DecodeBudget | None = None,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_timeout_s = idle_timeout_s
        self.on_timeout = on_timeout
        self.budget = budget
        self.on_refused = on_refused

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large_response(self.max_bytes)(scope, receive, send)
            return
        seen = 0
        reserved = 0
        body_done = False
        started = False
        refusal: Response | None = None

        async def limited_receive() -> Any:
            nonlocal seen, reserved, body_done, refusal
            if refusal is not None:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()  # waiting for a disconnect (a streamed response)
            try:
                async with asyncio.timeout(self.idle_timeout_s):
                    message = await receive()
            except TimeoutError:
                if self.on_timeout is not None:
                    self.on_timeout()
                # The app stops reading (the client "went away"); the rest is not waited for.
                refusal = error_response(
                    408, "request_timeout", "the request body stopped arriving",
                    {"Connection": "close"},
                )  # fmt: skip
                return {"type": "http.disconnect"}
            if message["type"] != "http.request":
                return message
            part = len(message.get("body", b""))
            seen += part
            body_done = not message.get("more_body", False)
            if seen > self.max_bytes:
                refusal = _too_large_response(self.max_bytes)
                return {"type": "http.disconnect"}
            if self.budget is not None and part:
                try:
                    self.budget.reserve(part)
                except ServerBusyError as exc:
                    if self.on_refused is not None:
                        self.on_refused()
                    refusal = tccc_error_response(exc)
                    return {"type": "http.disconnect"}
                reserved += part
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if refusal is not None and not started:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
        finally:
            if self.budget is not None:
                self.budget.release(reserved)
        if refusal is not None and not started:
            await refusal(scope, receive, send)


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
    on_fatal: Callable[[str], None] | None = None,
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
    # Decodes in worker threads: two at a time, and no more waiting than requests admitted.
    decoder = UploadDecoder(
        service.decode_budget,
        workers=2,
        max_pending=service.capacity + 2,
        on_refused=metrics.rejected.inc,
    )

    def fatal(message: str) -> None:
        load_error.append(message)
        _LOGGER.error("speech model failed to load: %s", message)
        if on_fatal is not None:
            on_fatal(message)

    async def load_model() -> None:
        try:
            if runtime is not None:
                await runtime.start()  # speech first (ready), then what else fits
            else:
                await service.load()
            _LOGGER.info("speech model %s ready", service.transcriber.model_name)
        except TcccError as exc:
            fatal(exc.message)
            return
        except Exception as exc:
            # Not one of ours (a backend's own error): still fatal, still a non-zero exit.
            _LOGGER.error("loading the speech model raised", exc_info=exc)
            fatal(type(exc).__name__)
            return
        if runtime is not None:
            await runtime.run()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        limit_accept_error_log(asyncio.get_running_loop())
        tasks.create(load_model(), name="load-model")
        try:
            yield dict(extra_state or {})
        finally:
            for hook in on_shutdown or ():
                await hook()
            await tasks.cancel_all(wait_s=5.0)
            decoder.shutdown()
            service.shutdown()

    app = FastAPI(
        title="tccc whisper service",
        version=__version__,
        description="Offline speech-to-text for TCCC: Wyoming and HTTP on one port.",
        lifespan=lifespan,
    )

    token = settings.server.api_token
    install_error_handlers(app, metrics)

    @app.middleware("http")
    async def _require_token(request: Request, call_next: Any) -> Response:
        # A middleware, not a route dependency, so the OpenAPI schema and docs are covered too.
        path = request.url.path
        # The screens' pages and assets hold no patient data: they load without the token
        # (they ask for it, and send it with every request for data).
        if token is not None and path not in OPEN_ROUTES and not is_public(path):
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.encode(), token.encode()
            ):
                return error_response(
                    401,
                    "unauthorized",
                    "a valid bearer token is required",
                    {"WWW-Authenticate": "Bearer"},
                )
        response: Response = await call_next(request)
        return response

    @app.middleware("http")
    async def _count(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels("http", path, str(response.status_code)).inc()
        metrics.request_latency.labels("http", path).observe(time.perf_counter() - started)
        return response

    async def read_upload(upload: UploadFile) -> DecodedAudio:
        """The upload decoded in a worker thread (release it when done)."""
        data = await upload.read()
        await upload.close()
        return await decoder.decode(data, max_seconds=settings.server.max_audio_s)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        responses={
            200: content("application/json", description="ready: the model's name"),
            503: {
                "description": "loading, or failed: retry after Retry-After seconds",
                "content": {"application/json": {"schema": {"type": "object"}}},
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            },
        },
    )
    async def readyz() -> JSONResponse:
        """200 only once the speech model is loaded."""
        if service.ready:
            return JSONResponse({"status": "ready", "model": service.transcriber.model_name})
        status = "failed" if load_error else "loading"
        return JSONResponse(
            {"status": status}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
        )

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses=responses(ok=content("text/plain", description="Prometheus text format")),
    )
    async def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", tags=["openai"], responses=responses())
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

    @app.post("/api/asr", tags=["seed"], responses=responses(400, 408, 413, 503))
    async def api_asr(
        audio: Annotated[UploadFile, File(description="audio file, any common container")],
        language: Annotated[str | None, Form()] = None,
        task: Annotated[Literal["transcribe", "translate"], Form()] = "transcribe",
        word_timestamps: Annotated[bool, Form()] = False,
    ) -> dict[str, Any]:
        """Transcribe an upload: {text, language, duration, segments} (the seed's test route)."""
        options = DecodeOptions(
            language=normalise_language(language), task=task, word_timestamps=word_timestamps
        )
        decoded = await read_upload(audio)
        try:
            result = await service.transcribe(decoded.samples, options)
        finally:
            decoded.release()
        return result_dict(result, words=word_timestamps)

    @app.post(
        "/asr",
        tags=["whisper-asr-webservice"],
        response_class=Response,
        responses=responses(
            400, 408, 413, 503,
            ok=content("application/json", "text/plain", "text/vtt", "application/x-subrip"),
        ),
    )  # fmt: skip
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
        options = DecodeOptions(
            language=normalise_language(language),
            task=task,
            initial_prompt=initial_prompt,
            vad=vad_filter,
            word_timestamps=word_timestamps,
        )
        if encode:
            decoded = await read_upload(audio_file)
        else:
            raw = await audio_file.read()
            await audio_file.close()
            decoded = decoder.raw_pcm(raw, max_seconds=settings.server.max_audio_s)
        try:
            result = await service.transcribe(decoded.samples, options)
        finally:
            decoded.release()
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

    @app.post(
        "/v1/audio/transcriptions",
        tags=["openai"],
        response_class=Response,
        responses=responses(
            400, 408, 413, 503,
            ok=content(
                "application/json", "text/plain", "text/event-stream",
                description="the transcript (JSON or text); with stream=true, server-sent events",
            ),
        ),
    )  # fmt: skip
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
        code = normalise_language(language)
        if stream and not service.ready:
            raise NotReadyError("the speech model is still loading; retry shortly")
        decoded = await read_upload(file)
        if stream:
            try:
                session = LiveSession(
                    service, settings, log, source_name="http-sse", language=code, partials=False
                )
            except BaseException:
                decoded.release()
                raise
            return LiveStreamResponse(
                sse_events(session, decoded.samples, tasks),
                session=session,
                on_close=decoded.release,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        options = DecodeOptions(
            language=code,
            initial_prompt=prompt,
            word_timestamps=want_words,
            temperature=temperature if temperature else None,
        )
        try:
            result = await service.transcribe(decoded.samples, options)
        finally:
            decoded.release()
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
