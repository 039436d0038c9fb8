"""Routes of the medic's page: running sessions, a session's feed, confirm, correct, reports.

Every edit is an event appended to the casualty log through the session's `Incident`: a
confirmation (`Incident.confirm`, the same event as `tccc report --confirm`) or a hand
correction (`Incident.correct`: a new fact with `source="medic"` that replaces the old one).
Edits to a session this process is transcribing go through its own analysis, so fact ids stay
in step; a session another process is still writing is refused (it would reuse ids).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from tccc.analysis.incident import Incident
from tccc.errors import TcccError
from tccc.events import Fact, Scalar
from tccc.reports.export import fact_json
from tccc.server.card_view import EDITABLE
from tccc.server.session_feed import SessionFeeds, resumed_incident
from tccc.server.ui_errors import UiError, error_responses
from tccc.store.casualty_log import CasualtyLog
from tccc.store.transcripts import TranscriptLog

_LOGGER = logging.getLogger(__name__)

SESSIONS_LISTED = 50
REPORTS: dict[str, tuple[str, str, str]] = {
    "pdf": ("", "application/pdf", "dd1380.pdf"),
    "fhir": ("fhir", "application/fhir+json", "fhir.json"),
    "nine-line": ("nine-line", "text/plain; charset=utf-8", "nine-line.txt"),
    "mist": ("mist", "text/plain; charset=utf-8", "mist.txt"),
    "zmist": ("zmist", "text/plain; charset=utf-8", "zmist.txt"),
    "dd1380-json": ("dd1380-json", "application/json", "dd1380.json"),
    "text": ("text", "text/plain; charset=utf-8", "card.txt"),
}
"""Report name: (render format, media type, file name)."""
NO_STORE = {"Cache-Control": "no-store"}
"""Patient data stays out of every cache."""

SessionId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class Correction(BaseModel):
    """A hand correction: the fields of the fact that change (the others are kept)."""

    data: dict[str, str | int | float | bool | None] = Field(
        min_length=1,
        max_length=16,
        description='e.g. {"time": "1415"}; strings are read as numbers where the old value '
        'was one; "" clears a field',
    )


def sse(events: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    """Server-sent events, one JSON object each."""

    async def body() -> AsyncIterator[str]:
        async for event in events:
            yield f"data: {json.dumps(event, separators=(',', ':'))}\n\n"

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={**NO_STORE, "X-Accel-Buffering": "no"},
    )


STREAM_OR_JSON: dict[str, Any] = {
    "description": "server-sent events (Accept: text/event-stream), else one JSON object",
    "content": {
        "text/event-stream": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
    },
}


def wants_stream(request: Request) -> bool:
    """The client asked for server-sent events (a browser's EventSource or the pages do)."""
    return "text/event-stream" in request.headers.get("accept", "")


def coerce_like(old: Scalar, new: Scalar) -> Scalar:
    """A value typed in by hand, read as the type of the value it replaces."""
    if not isinstance(new, str):
        return new
    text = new.strip()
    if text == "":
        return None
    if isinstance(old, bool):
        if text.lower() in ("true", "yes", "1"):
            return True
        if text.lower() in ("false", "no", "0"):
            return False
        raise UiError(422, "bad_value", "expected yes or no")
    if isinstance(old, int):
        try:
            return int(text)
        except ValueError:
            pass
    if isinstance(old, float | int):
        try:
            return float(text)
        except ValueError as exc:
            raise UiError(422, "bad_value", "expected a number") from exc
    return text


TIME_FIELDS = frozenset({"time"})
"""Fields holding a 24-hour clock time, HHMM (the deadlines are counted from them)."""
NUMBER_FIELDS = frozenset({"volume_ml", "tbsa", "gauge"})
"""Fields that are numbers even where the fact had none yet."""
MAX_TEXT = 80
"""Longest value typed by hand (a card field, not a note)."""


def _hhmm(value: Scalar) -> str | None:
    """A time typed as 1415, "1415" or "14:15", as HHMM (None clears it)."""
    text = "" if value is None else str(value).strip().replace(":", "")
    if text == "":
        return None
    if isinstance(value, bool) or not (
        len(text) == 4 and text.isdigit() and int(text[:2]) < 24 and int(text[2:]) < 60
    ):
        raise UiError(422, "bad_value", "expected a 24-hour time as HHMM")
    return text


def checked_correction(old: Fact, data: dict[str, Scalar]) -> dict[str, Scalar]:
    """A hand correction as stored: only the fields the card lets the medic correct for this
    kind of fact, each read as the type it holds (a time as HHMM, a number as a number), so
    no report or prompt ever meets a value of the wrong shape. Errors never quote the value."""
    allowed = EDITABLE.get(old.kind, ())
    out: dict[str, Scalar] = {}
    for key, value in data.items():
        if key not in allowed:
            fields = ", ".join(allowed) or "none"
            raise UiError(
                422, "bad_field", f"{key[:32]!r} cannot be corrected here (fields: {fields})"
            )
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise UiError(422, "bad_value", f"at most {MAX_TEXT} characters")
        before = old.data.get(key)
        if key in TIME_FIELDS:
            out[key] = _hhmm(value)
            continue
        if before is None and key in NUMBER_FIELDS:
            before = 0
        new = coerce_like(before, value)
        if isinstance(new, float) and not math.isfinite(new):
            raise UiError(422, "bad_value", "expected a finite number")
        if isinstance(new, bool) and before is not None and not isinstance(before, bool):
            raise UiError(422, "bad_value", "yes or no only where the card holds yes or no")
        if isinstance(before, str) and isinstance(new, int | float):
            new = str(new)  # a number typed where the card holds words: kept as typed
        out[key] = new
    return out


def register_session_routes(
    app: FastAPI,
    log: TranscriptLog,
    feeds: SessionFeeds,
    exiting: Callable[[], bool],
) -> None:
    """Add the session routes of the medic's page to the app (behind the API token)."""

    def analysed_log() -> CasualtyLog:
        if not isinstance(log, CasualtyLog):
            raise UiError(409, "analysis_off", "this server does not analyse sessions")
        return log

    async def known(session_id: str) -> dict[str, Any]:
        found = await asyncio.to_thread(log.session, session_id)
        if found is None:
            raise UiError(404, "no_session", "no such session")
        return found

    async def editable(session_id: str) -> Incident:
        """The analysis an edit must go through (see the module docstring)."""
        casualties = analysed_log()
        session = await known(session_id)
        incident = feeds.incident(session_id)
        if incident is not None:
            return incident
        if session["ended_at"] is None:
            raise UiError(
                409,
                "session_busy",
                "another process is writing this session; edit it there or once it has ended",
            )
        return await asyncio.to_thread(resumed_incident, casualties, session_id)

    @app.get("/v1/sessions", tags=["screens"], responses=error_responses(401))
    async def sessions() -> dict[str, Any]:
        """Recent sessions, newest first, and whether each is running (to attach to)."""
        here = set(feeds.live_ids())
        if isinstance(log, CasualtyLog):
            rows = (await asyncio.to_thread(log.sessions))[:SESSIONS_LISTED]
        else:
            rows = [
                {k: s[k] for k in ("id", "source", "started_at", "ended_at")} | {"facts": None}
                for sid in here
                if (s := await asyncio.to_thread(log.session, sid)) is not None
            ]
        return {
            "sessions": [
                row | {"live": row["ended_at"] is None, "here": row["id"] in here} for row in rows
            ]
        }

    @app.get(
        "/v1/sessions/{session_id}/feed",
        tags=["screens"],
        response_class=Response,
        responses={200: STREAM_OR_JSON, **error_responses(401, 404)},
    )
    async def session_feed(request: Request, session_id: SessionId) -> Response:
        """With `Accept: text/event-stream`, server-sent events of one session: `state`
        (transcripts, cards with the facts behind each value, prompts with deadlines, MARCH-PAWS)
        now and whenever it changes, `partial` transcripts while it is live, `keepalive`. Each
        `state` is whole: a client that reconnects is in sync with the first one. Otherwise the
        `state` now, as JSON (a resync by hand)."""
        await known(session_id)
        if wants_stream(request):
            return sse(feeds.feed(session_id, exiting))
        state = await feeds.state(session_id)
        if state is None:
            raise UiError(404, "no_session", "no such session")
        return JSONResponse(state, headers=NO_STORE)

    @app.post(
        "/v1/sessions/{session_id}/facts/{fact_id}/confirm",
        tags=["screens"],
        responses=error_responses(401, 404, 409),
    )
    async def confirm(session_id: SessionId, fact_id: int) -> dict[str, Any]:
        """Confirm a suggestion: it counts as stated from now on (a `confirm` event). A second
        confirmation (a double tap) stores nothing and answers with the first."""
        incident = await editable(session_id)
        earlier = incident.confirmation(fact_id)
        if earlier is not None:
            return {"fact": fact_json(earlier), "already": True}
        try:
            fact = await asyncio.to_thread(incident.confirm, fact_id)
        except TcccError as exc:
            raise UiError(409, exc.code, exc.message) from exc
        feeds.changed(session_id)
        _LOGGER.info("session %s: fact %d confirmed by the medic", session_id[:8], fact_id)
        return {"fact": fact_json(fact)}

    @app.post(
        "/v1/sessions/{session_id}/facts/{fact_id}/correct",
        tags=["screens"],
        responses=error_responses(400, 401, 404, 409, 422),
    )
    async def correct(session_id: SessionId, fact_id: int, body: Correction) -> dict[str, Any]:
        """Correct a value by hand: a new fact replaces the old one (kept in the log)."""
        incident = await editable(session_id)
        old = next((f for f in incident.stated_facts() if f.id == fact_id), None)
        if old is None:
            raise UiError(404, "no_fact", f"no fact {fact_id} in this session")
        data = checked_correction(old, body.data)
        try:
            fact = await asyncio.to_thread(incident.correct, fact_id, data)
        except TcccError as exc:
            raise UiError(409, exc.code, exc.message) from exc
        feeds.changed(session_id)
        _LOGGER.info("session %s: fact %d corrected by the medic", session_id[:8], fact_id)
        return {"fact": fact_json(fact)}

    @app.get(
        "/v1/sessions/{session_id}/report/{name}",
        tags=["screens"],
        responses={
            200: {
                "content": {m: {} for _f, m, _n in REPORTS.values()},
                "description": "the report as a file",
            },
            **error_responses(401, 404, 409),
        },
    )
    async def report(
        session_id: SessionId,
        name: Literal["pdf", "fhir", "nine-line", "mist", "zmist", "dd1380-json", "text"],
    ) -> Response:
        """A hand-off document of the session: DD 1380 PDF, FHIR bundle, 9-line, MIST..."""
        casualties = analysed_log()
        await known(session_id)
        fmt, media, filename = REPORTS[name]
        content = await asyncio.to_thread(_render, casualties, session_id, fmt)
        disposition = f'attachment; filename="{session_id[:8]}-{filename}"'
        return Response(
            content, media_type=media, headers={**NO_STORE, "Content-Disposition": disposition}
        )


def _render(log: CasualtyLog, session_id: str, fmt: str) -> bytes:
    """One report of a stored session (a worker thread)."""
    from tccc.reports.render import render

    doc = Incident.resume(log, session_id).document()
    if fmt:
        return render(doc, fmt).encode("utf-8")
    from tccc.reports.pdf import dd1380_pdf

    # fpdf2 writes to a path: a private folder, removed at once.
    with tempfile.TemporaryDirectory(prefix="tccc-pdf-") as folder:
        os.chmod(folder, 0o700)
        path = Path(folder) / "dd1380.pdf"
        dd1380_pdf(doc, path)
        return path.read_bytes()
