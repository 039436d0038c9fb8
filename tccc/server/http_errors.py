"""HTTP errors: one body shape for every error, and the OpenAPI schema that documents them.

Every error the HTTP API answers is `{"error": {"message", "type", "code", "param"}}` (the
OpenAI shape, so the openai client shows the message): our own errors, request validation, and
the framework's (a malformed multipart body, an unknown route or session, a wrong method).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from tccc.errors import (
    AudioError,
    AudioTooLargeError,
    NotReadyError,
    ProtocolError,
    ServerBusyError,
    TcccError,
)
from tccc.server.metrics import ServerMetrics

_LOGGER = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""Seconds a 503 asks the client to wait."""

_STATUS = {
    AudioTooLargeError: 413,
    AudioError: 400,
    ProtocolError: 400,
    ServerBusyError: 503,
    NotReadyError: 503,
}
_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "upload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "server_busy",
}


class ErrorDetail(BaseModel):
    """What went wrong, for people and for programs."""

    message: str
    type: str
    code: str
    param: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def error_body(code: str, message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """OpenAI-style error body, so the openai client shows the message."""
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error response with the common body (Retry-After on 503)."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    headers = dict(headers or {})
    if status == 503:
        headers.setdefault("Retry-After", str(RETRY_AFTER_S))
    return JSONResponse(error_body(code, message, kind), status_code=status, headers=headers)


def tccc_error_response(exc: TcccError) -> JSONResponse:
    """The response for one of our errors."""
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
    return error_response(status, exc.code, exc.message)


def install_error_handlers(app: FastAPI, metrics: ServerMetrics) -> None:
    """Answer every error, ours and the framework's, with the common body."""

    @app.exception_handler(TcccError)
    async def _tccc_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TcccError)
        metrics.errors.labels(exc.code).inc()
        return tccc_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Pydantic echoes the offending input; keep only where and what, never the value.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return error_response(422, "invalid_request", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        code = _CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, message, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # A bug: its traceback goes to the log (no request data in it), the client gets the
        # common body, never the exception's text.
        _LOGGER.error("unexpected error", exc_info=exc)
        metrics.errors.labels("internal_error").inc()
        return error_response(500, "internal_error", "internal error")


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"model": ErrorResponse, "description": description}
    if headers:
        doc["headers"] = headers
    return doc


_RETRY = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}
_BEARER = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
ERRORS: dict[int, dict[str, Any]] = {
    400: _error("invalid audio, multipart body or language"),
    401: _error("a valid bearer token is required (when the server has one)", _BEARER),
    404: _error("no such resource"),
    408: _error("the request body stopped arriving"),
    409: _error("the action conflicts with the component's state"),
    413: _error("the upload, or the audio in it, is over the limit"),
    422: _error("a parameter is missing or invalid"),
    500: _error("the action failed (the component's error says why)"),
    503: _error("busy, or the model is not loaded: retry after Retry-After seconds", _RETRY),
}


def responses(*statuses: int, ok: dict[str, Any] | None = None) -> dict[int | str, Any]:
    """The `responses` of a route: 401 and 422 always, the given error statuses, and the 200
    (its content types) if given."""
    out: dict[int | str, Any] = {status: ERRORS[status] for status in sorted({401, 422, *statuses})}
    if ok is not None:
        out[200] = ok
    return out


def content(*media_types: str, description: str = "successful response") -> dict[str, Any]:
    """A 200 answered in these media types (JSON as an object, the others as text)."""
    kinds: dict[str, Any] = {}
    for media in media_types:
        schema = {"type": "object"} if media == "application/json" else {"type": "string"}
        kinds[media] = {"schema": schema}
    return {"description": description, "content": kinds}
