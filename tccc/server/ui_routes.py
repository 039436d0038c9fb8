"""The screens of `tccc serve`: the medic's page at `/`, the operator's dashboard at
`/dashboard`, their assets under `/ui/`, and the dashboard's push stream.

The pages and assets are static files of the package (vendored chart code included): no CDN,
no build step, and no patient data, so they are served without the API token; the page asks
for the token (when the server wants one), keeps it in the tab's sessionStorage and sends it
on every request and on the WebSocket. Everything that carries patient data is an API route
behind the token. A Content-Security-Policy keeps the pages from reaching anything but this
server.
"""

from __future__ import annotations

import importlib.resources
import mimetypes
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tccc.config import Settings
from tccc.runtime.manager import RuntimeManager
from tccc.server.dashboard_stream import DashboardSampler, dashboard_events
from tccc.server.service import TranscriptionService
from tccc.server.session_feed import SessionFeeds
from tccc.server.session_routes import (
    STREAM_OR_JSON,
    register_session_routes,
    sse,
    wants_stream,
)
from tccc.server.ui_errors import UiError, error_responses, register_error_handler
from tccc.store.transcripts import TranscriptLog

PAGES = {"/": "index.html", "/dashboard": "dashboard.html"}
ASSET_PREFIX = "/ui/"
ASSET_SUFFIXES = (".js", ".css", ".html", ".LICENSE", ".md", ".svg")

SECURITY_HEADERS = {
    # Only this server: no CDN, no outside request of any kind (connect-src 'self' covers the
    # same-origin WebSocket). Inline scripts and styles are refused too.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; font-src 'self'; media-src 'self' blob:; worker-src 'self'; "
        "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
}


def is_public(path: str) -> bool:
    """The pages and their assets: served without the token (they hold no patient data)."""
    return path in PAGES or path.startswith(ASSET_PREFIX)


def load_assets() -> dict[str, bytes]:
    """Every file under tccc/server/ui/, by its path there (read once, served from memory)."""
    root = importlib.resources.files("tccc.server") / "ui"
    found: dict[str, bytes] = {}

    def walk(folder: Any, prefix: str) -> None:
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                walk(entry, name + "/")
            elif entry.name.endswith(ASSET_SUFFIXES):
                found[name] = entry.read_bytes()

    walk(root, "")
    return found


def _media_type(name: str) -> str:
    if name.endswith(".js"):
        return "text/javascript; charset=utf-8"
    if name.endswith((".LICENSE", ".md")):
        return "text/plain; charset=utf-8"
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return guessed + ("; charset=utf-8" if guessed.startswith("text/") else "")


def register_ui(
    app: FastAPI,
    *,
    service: TranscriptionService,
    settings: Settings,
    log: TranscriptLog,
    runtime: RuntimeManager | None,
    feeds: SessionFeeds,
    exiting: Callable[[], bool] = lambda: False,
) -> None:
    """Add the pages, their assets, the session routes and the dashboard stream to the app.

    `exiting` says when the server is shutting down: the push streams end then, so a graceful
    shutdown does not wait for watching browsers.
    """
    assets = load_assets()
    sampler = DashboardSampler(settings, service, runtime, feeds)
    register_error_handler(app)
    register_session_routes(app, log, feeds, exiting)

    def page(name: str) -> HTMLResponse:
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return HTMLResponse(assets[name], headers=headers)

    @app.get("/", tags=["screens"], response_class=HTMLResponse)
    async def medic_page() -> HTMLResponse:
        """The medic's page: live card, prompts, transcript, confirm and correct (no token
        needed for the page itself; it asks for one when the API wants it)."""
        return page("index.html")

    @app.get("/dashboard", tags=["screens"], response_class=HTMLResponse)
    async def dashboard_page() -> HTMLResponse:
        """The operator's dashboard: pipeline, latency, memory, load, heat, power, actions."""
        return page("dashboard.html")

    @app.get(
        "/ui/{name:path}",
        tags=["screens"],
        response_class=Response,
        responses={
            200: {
                "description": "a static asset",
                "content": {m: {} for m in ("text/javascript", "text/css", "text/plain")},
            },
            **error_responses(404),
        },
    )
    async def asset(name: Annotated[str, Path(max_length=200)]) -> Response:
        """A static asset of the pages (scripts, styles, the vendored chart code, licences)."""
        content = assets.get(name)
        if content is None:
            raise UiError(404, "not_found", "no such asset")
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return Response(content, media_type=_media_type(name), headers=headers)

    @app.get(
        "/v1/dashboard/stream",
        tags=["screens"],
        response_class=Response,
        responses={200: STREAM_OR_JSON, **error_responses(401)},
    )
    async def dashboard_stream(request: Request) -> Response:
        """With `Accept: text/event-stream`, server-sent events for the dashboard: `init`
        (the last ten minutes), then a `sample` every second: latency p50/p95 and real-time
        factor, memory per component and budget, CPU per core and GPU, temperatures and trip
        points, power rails and the battery, runtime actions, per-utterance pipeline stages.
        Unreadable values are null with a reason. Otherwise the latest sample, as JSON."""
        if wants_stream(request):
            return sse(dashboard_events(sampler, exiting))
        sample = await sampler.latest()
        return JSONResponse(sample, headers={"Cache-Control": "no-store"})

    app.state.dashboard_sampler = sampler
