"""One port, two protocols: look at the first byte of a connection, then hand it over.

Wyoming events are JSON lines, so a Wyoming client's first byte is "{"; an HTTP request starts
with a method name. uvicorn builds one SniffingProtocol per connection (it is passed as the
`http` protocol class), so uvicorn still owns the listening socket, lifespan and shutdown.

The SniffingProtocol stays the connection's protocol after the hand-over and forwards to the
HTTP or Wyoming protocol, which sees a `GuardedTransport` (`tccc.server.connections`): that is
how connections are counted and capped, half-sent HTTP requests are timed out, and closes
linger instead of resetting a client that is still sending. Leading whitespace is dropped as
it arrives (at most SNIFF_MAX_WHITESPACE bytes of it), so nothing is buffered before the
protocol is known.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from tccc.server.connections import (
    RESERVE_DEADLINE_S,
    ConnectionTable,
    GuardedTransport,
    Lingering,
    busy_http_response,
    is_health_request,
    wyoming_error,
)

_LOGGER = logging.getLogger(__name__)

SNIFF_TIMEOUT_S = 30.0
"""A connection that sends nothing for this long is closed (without a connection table)."""
SNIFF_MAX_WHITESPACE = 4096
"""Whitespace accepted before the first byte that tells the protocol."""
MAX_REQUEST_LINE = 8192
"""Longest request line of a connection in the health-check reserve."""
WYOMING_STATE_KEY = "wyoming"
"""Key of the WyomingContext in the lifespan state."""
CONNECTIONS_STATE_KEY = "connections"
"""Key of the ConnectionTable in the lifespan state."""
_WHITESPACE = b" \t\r\n\x0b\x0c"


def classify(first_bytes: bytes) -> str | None:
    """Return "wyoming", "http", or None if more bytes are needed (pure; unit tested)."""
    head = first_bytes.lstrip()
    if not head:
        return None
    return "wyoming" if head[:1] == b"{" else "http"


def awaiting_request(http: asyncio.BaseProtocol) -> bool:
    """True while uvicorn's HTTP protocol waits for (the rest of) a request's headers.

    uvicorn's h11 and httptools protocols both keep the request being served as `cycle` (None
    before the first request) with `response_complete`; tests pin these names.
    """
    cycle = getattr(http, "cycle", None)
    return cycle is None or bool(getattr(cycle, "response_complete", True))


class SniffingProtocol(asyncio.Protocol):
    """Decides the protocol from the first bytes, then forwards to it for the connection's life."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._config, self._server_state, self._app_state = config, server_state, app_state
        self._loop = _loop or asyncio.get_running_loop()
        self._table: ConnectionTable | None = app_state.get(CONNECTIONS_STATE_KEY)
        self._transport: asyncio.Transport | None = None
        self._lingering: Lingering | None = None
        self._inner: asyncio.BaseProtocol | None = None
        self._http = False
        self._pending = bytearray()
        self._whitespace = 0
        self._reserve = False
        self._counted = False
        self._timer: asyncio.TimerHandle | None = None
        self._header_timer: asyncio.TimerHandle | None = None

    # -- the connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the connection (or refuse it at once) and start the timer for its first bytes."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._lingering = Lingering(transport, self._loop)
        deadline = SNIFF_TIMEOUT_S
        if self._table is not None:
            verdict = self._table.admit()
            if verdict == "refuse":
                transport.abort()  # over the limit: its descriptor is given back at once
                return
            self._counted = True
            self._reserve = verdict == "reserve"
            deadline = RESERVE_DEADLINE_S if self._reserve else self._table.idle_timeout_s
        self._timer = self._loop.call_later(deadline, self._first_bytes_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection has closed: forget it and tell the protocol behind."""
        for timer in (self._timer, self._header_timer):
            if timer is not None:
                timer.cancel()
        if self._lingering is not None:
            self._lingering.cancel()
        if self._counted and self._table is not None:
            self._counted = False
            self._table.release()
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Forward to the protocol behind, or sniff."""
        if self._lingering is not None and self._lingering.active:
            self._lingering.drop(data)
            return
        inner = self._inner
        if inner is not None:
            assert isinstance(inner, asyncio.Protocol)
            inner.data_received(data)
            if self._http and inner is self._inner:
                self._watch_headers()
            return
        self._sniff(data)

    def eof_received(self) -> bool | None:
        """The client closed its side."""
        if self._lingering is not None:
            self._lingering.eof = True
            if self._lingering.active:
                return False  # the close we were waiting for
        if self._inner is not None:
            assert isinstance(self._inner, asyncio.Protocol)
            return self._inner.eof_received()
        return None

    def pause_writing(self) -> None:
        """Flow control, for the protocol behind."""
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        """Flow control, for the protocol behind."""
        if self._inner is not None:
            self._inner.resume_writing()

    # -- sniffing -----------------------------------------------------------------------------

    def _sniff(self, data: bytes) -> None:
        if not self._pending:
            stripped = data.lstrip(_WHITESPACE)
            self._whitespace += len(data) - len(stripped)
            if self._whitespace > SNIFF_MAX_WHITESPACE:
                self._refuse_quietly("whitespace")
                return
            data = stripped
        if not data:
            return
        self._pending += data
        kind = "wyoming" if self._pending[:1] == b"{" else "http"
        if self._reserve:
            self._sniff_reserved(kind)
            return
        self._hand_over(kind, bytes(self._pending))

    def _sniff_reserved(self, kind: str) -> None:
        """The last slots are for health checks: `GET /healthz` or `/readyz` only."""
        assert self._transport is not None and self._lingering is not None
        if kind == "wyoming":
            self._refuse(wyoming_error("server_busy", "too many open connections; retry shortly",
                                       retry_after=2))  # fmt: skip
            return
        end = self._pending.find(b"\n")
        if end < 0:
            if len(self._pending) > MAX_REQUEST_LINE:
                self._refuse(busy_http_response())
            return
        if not is_health_request(bytes(self._pending[:end])):
            self._refuse(busy_http_response())
            return
        # Served, then closed: a kept-alive connection must not hold a reserved slot.
        data = bytes(self._pending[: end + 1]) + b"Connection: close\r\n" + self._pending[end + 1 :]
        self._hand_over("http", data)

    def _refuse(self, answer: bytes) -> None:
        assert self._transport is not None and self._lingering is not None
        self._cancel_timer()
        if self._table is not None:
            self._table.refused("reserve")
        self._transport.write(answer)
        self._lingering.close()

    def _refuse_quietly(self, reason: str) -> None:
        assert self._transport is not None
        self._cancel_timer()
        if self._table is not None:
            self._table.refused(reason)
        self._transport.abort()

    def _first_bytes_timeout(self) -> None:
        """Nothing that tells the protocol arrived in time."""
        self._refuse_quietly("idle")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _hand_over(self, kind: str, first_bytes: bytes) -> None:
        assert self._transport is not None and self._lingering is not None
        self._cancel_timer()
        self._pending = bytearray()
        guarded = GuardedTransport(
            self._transport, self._lingering, self._set_inner, lambda: self._inner
        )
        if kind == "wyoming":
            ctx = self._app_state.get(WYOMING_STATE_KEY)
            if ctx is None:
                self._transport.abort()
                return
            ctx.accept(guarded, first_bytes)
            return
        http = AutoHTTPProtocol(  # type: ignore[call-arg]
            config=self._config,
            server_state=self._server_state,
            app_state=self._app_state,
            _loop=self._loop,
        )
        self._inner, self._http = http, True
        http.connection_made(guarded)
        http.data_received(first_bytes)
        if self._inner is http:
            self._watch_headers()

    def _set_inner(self, protocol: asyncio.BaseProtocol) -> None:
        """The protocol behind changes: Wyoming's reader, or a WebSocket after an upgrade
        (which has its own timeouts: pings, and the route's idle timeout)."""
        self._inner = protocol
        self._http = isinstance(protocol, AutoHTTPProtocol)
        if not self._http and self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    # -- half-sent HTTP requests ------------------------------------------------------------------

    def _watch_headers(self) -> None:
        """After input: while a request's headers are incomplete, they must be complete within
        the idle timeout (counted from the first byte of the request)."""
        assert self._inner is not None
        if not awaiting_request(self._inner):
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            return
        if self._header_timer is None and self._table is not None:
            self._header_timer = self._loop.call_later(
                self._table.idle_timeout_s, self._headers_timeout
            )

    def _headers_timeout(self) -> None:
        self._header_timer = None
        if self._inner is None or not self._http or not awaiting_request(self._inner):
            return
        if self._table is not None:
            self._table.refused("idle")
        _LOGGER.debug("closing an HTTP connection whose request headers stopped arriving")
        assert self._lingering is not None
        self._lingering.close()
