"""Errors of the screens' routes, answered in the API's `{"error": {...}}` shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    """What went wrong: a message for people and a code for programs."""

    message: str
    type: str
    code: str
    param: str | None = None


class ErrorBody(BaseModel):
    """Every error of the API: `{"error": {"message", "type", "code", "param"}}`."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all in the error shape."""
    return {status: {"model": ErrorBody} for status in statuses}


class UiError(Exception):
    """An error a route of the screens answers with (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        """The error in the API's shape."""
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "code": self.code, "param": None}}


def register_error_handler(app: FastAPI) -> None:
    """Answer UiError in the API's error shape."""

    @app.exception_handler(UiError)
    async def _ui_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UiError)
        return JSONResponse(exc.body(), status_code=exc.status)
