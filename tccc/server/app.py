"""Assemble and run the whisper service: one uvicorn server, Wyoming and HTTP on one port."""

from __future__ import annotations

import dataclasses
import logging

import uvicorn

from tccc.config import Settings
from tccc.errors import ConfigError
from tccc.runtime.manager import RuntimeManager
from tccc.runtime.metrics import RuntimeMetrics
from tccc.server.connections import ACCEPT_BACKLOG, ConnectionTable, connection_limit
from tccc.server.http_app import BodyLimitMiddleware, create_app
from tccc.server.metrics import ServerMetrics
from tccc.server.service import TranscriptionService
from tccc.server.session_feed import SessionFeeds
from tccc.server.sniff import CONNECTIONS_STATE_KEY, WYOMING_STATE_KEY, SniffingProtocol
from tccc.server.ui_routes import register_ui
from tccc.server.wyoming_handler import WyomingContext
from tccc.store.transcripts import TranscriptLog
from tccc.stt.whisper_backend import FasterWhisperTranscriber

_LOGGER = logging.getLogger(__name__)


def check_exposure(settings: Settings) -> None:
    """Refuse to listen beyond loopback without a token, unless explicitly insecure."""
    server = settings.server
    if not server.is_loopback and not server.api_token and not server.insecure:
        raise ConfigError(
            f"refusing to listen on {server.host} without an API token: set --api-token "
            "(TCCC_API_TOKEN), or pass --insecure if this network is trusted"
        )


class TcccServer(uvicorn.Server):
    """uvicorn's server, which also keeps why the service stopped itself (a model that did not
    load), so `tccc serve` can exit non-zero."""

    failure: str | None = None


class _NoWebSocketAccessLog(logging.Filter):
    """Drops uvicorn's per-connection WebSocket lines: they carry the query (and its token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for WebSocket access and open/close lines."""
        msg = str(record.msg)
        return not (
            msg.startswith('%s - "WebSocket')
            or msg.startswith("connection ")
            or msg.startswith("Expected ASGI message")
        )


def build_runtime(
    settings: Settings, service: TranscriptionService, metrics: ServerMetrics
) -> RuntimeManager:
    """The runtime manager, with the shared language model when the profile wants one."""
    from tccc.llm.cache import LlmCache
    from tccc.llm.open import open_model
    from tccc.llm.slot import ModelSlot, SharedModel
    from tccc.llm.stage import LlmWorker
    from tccc.runtime.tegrastats_feed import TegrastatsFeed
    from tccc.runtime.telemetry import Telemetry
    from tccc.stt.vad import _load_silero

    llm = settings.llm
    slot: ModelSlot | None = None
    cache: LlmCache | None = None
    if settings.server.analyze and llm.enabled:
        slot = ModelSlot(lambda: open_model(llm))
        cache = LlmCache(max_entries=llm.cache_entries)
        # One worker thread for every session: see LlmWorker for why not one per session.
        worker = LlmWorker(max_pending=4 * llm.queue_size)
        service.llm = SharedModel(slot, cache, llm.max_tokens, llm.queue_size, worker)
    rt = settings.runtime
    telemetry = None
    if rt.enabled:
        feed = None
        if rt.tegrastats:
            feed = TegrastatsFeed(interval_ms=max(100, int(rt.interval_s * 1000)))
            feed = feed if feed.start() else None  # most machines have no tegrastats
        telemetry = Telemetry(
            rt.proc_root,
            rt.sysfs_root,
            battery_wh=rt.battery_wh,
            battery_start_pct=rt.battery_start_pct,
            tegrastats=feed,
            throttle_c=rt.throttle_c,
        )

    def make_transcriber(model: str) -> FasterWhisperTranscriber:
        stt = dataclasses.replace(settings.stt, model=model)
        return FasterWhisperTranscriber(stt, settings.vad)

    return RuntimeManager(
        settings,
        service,
        make_transcriber=make_transcriber,
        slot=slot,
        cache=cache,
        metrics=RuntimeMetrics(metrics.registry),
        telemetry=telemetry,
        load_vad=_load_silero if settings.vad.enabled else None,
    )


def build_server(settings: Settings, *, log_level: str = "info") -> TcccServer:
    """Build the uvicorn server with the transcriber, HTTP app and Wyoming handler."""
    check_exposure(settings)
    transcriber = FasterWhisperTranscriber(settings.stt, settings.vad)
    metrics = ServerMetrics()
    service = TranscriptionService(
        transcriber,
        num_workers=settings.stt.num_workers,
        queue_size=settings.server.queue_size,
        metrics=metrics,
        stream=settings.stream,
        decode_mb=settings.server.max_decode_mb,
    )
    # A casualty log is a transcript log that also keeps the facts of analysed sessions.
    if settings.server.analyze:
        # Casualty records must survive a crash: on disk by default, in the same log as
        # `tccc run` ($TCCC_DB or ~/.local/share/tccc/casualties.db), so `tccc report` lists
        # the server's sessions too. ":memory:" keeps nothing, on purpose only.
        from tccc.store.open import open_log

        log: TranscriptLog = open_log(settings.server.session_db)
        _LOGGER.info("casualty log: %s", log.path)
    else:
        log = TranscriptLog(settings.server.session_db or ":memory:")
    runtime = build_runtime(settings, service, metrics)
    # Decoded uploads are counted against what the memory budget leaves after the components.
    service.decode_budget.ceiling = lambda: runtime.decode_allowance_mb() * 1024 * 1024
    wyoming = WyomingContext(service=service, settings=settings, log=log)
    connections = ConnectionTable(
        connection_limit(settings.server.max_connections),
        idle_timeout_s=settings.server.idle_timeout_s,
        metrics=metrics,
    )
    holder: dict[str, TcccServer] = {}

    def stop_server(failure: str) -> None:
        server = holder.get("server")
        if server is not None:
            server.failure = failure
            server.should_exit = True

    async def stop_telemetry() -> None:
        if runtime.telemetry is not None:
            runtime.telemetry.close()

    async def stop_wyoming() -> None:
        await wyoming.tasks.cancel_all(wait_s=5.0)

    app = create_app(
        service,
        settings,
        extra_state={WYOMING_STATE_KEY: wyoming, CONNECTIONS_STATE_KEY: connections},
        log=log,
        on_fatal=stop_server,
        on_shutdown=[stop_wyoming, stop_telemetry],
        runtime=runtime,
    )
    # The medic's page and the operator's dashboard; their push streams end when the server
    # is shutting down, so a graceful shutdown never waits for a watching browser.
    service.feeds = SessionFeeds(log)

    def exiting() -> bool:
        server = holder.get("server")
        return server is not None and bool(server.should_exit)

    register_ui(
        app,
        service=service,
        settings=settings,
        log=log,
        runtime=runtime,
        feeds=service.feeds,
        exiting=exiting,
    )
    body_limit = BodyLimitMiddleware(
        app,
        int(settings.server.max_upload_mb * 1024 * 1024),
        idle_timeout_s=settings.server.idle_timeout_s,
        on_timeout=metrics.timed_out.labels("http").inc,
        budget=service.decode_budget,
        on_refused=metrics.rejected.inc,
    )
    config = uvicorn.Config(
        body_limit,
        host=settings.server.host,
        port=settings.server.port,
        http=SniffingProtocol,
        # asyncio accepts up to this many connections at once, each holding a descriptor until
        # it is refused: the connection limit leaves room for them (`connection_limit`).
        backlog=ACCEPT_BACKLOG,
        ws="websockets-sansio",
        ws_max_size=settings.server.max_event_kb * 1024,
        lifespan="on",
        log_level=log_level,
        # The access log would put request paths and client addresses in the log at INFO;
        # requests are counted in /metrics instead.
        access_log=False,
        server_header=False,
    )
    logging.getLogger("uvicorn.error").addFilter(_NoWebSocketAccessLog())
    server = TcccServer(config)
    holder["server"] = server
    return server
