"""One port, two protocols: look at the first byte of a connection, then hand it over.

Wyoming events are JSON lines, so a Wyoming client's first byte is "{"; an HTTP request starts
with a method name. uvicorn builds one SniffingProtocol per connection (it is passed as the
`http` protocol class), so uvicorn still owns the listening socket, lifespan and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

_LOGGER = logging.getLogger(__name__)

SNIFF_TIMEOUT_S = 30.0
"""A connection that sends nothing for this long is closed."""
WYOMING_STATE_KEY = "wyoming"
"""Key of the WyomingContext in the lifespan state."""


def classify(first_bytes: bytes) -> str | None:
    """Return "wyoming", "http", or None if more bytes are needed (pure; unit tested)."""
    head = first_bytes.lstrip()
    if not head:
        return None
    return "wyoming" if head[:1] == b"{" else "http"


class SniffingProtocol(asyncio.Protocol):
    """Buffers the first bytes of a connection and switches it to HTTP or Wyoming."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._config, self._server_state, self._app_state = config, server_state, app_state
        self._loop = _loop or asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the timer for the first bytes."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._timer = self._loop.call_later(SNIFF_TIMEOUT_S, transport.close)

    def data_received(self, data: bytes) -> None:
        """Buffer until the protocol is known, then hand the connection over."""
        self._buffer += data
        kind = classify(bytes(self._buffer))
        if kind is None or self._transport is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        if kind == "wyoming":
            ctx = self._app_state.get(WYOMING_STATE_KEY)
            if ctx is None:
                self._transport.close()
                return
            ctx.accept(self._transport, bytes(self._buffer))
            return
        http = AutoHTTPProtocol(  # type: ignore[call-arg]
            config=self._config,
            server_state=self._server_state,
            app_state=self._app_state,
            _loop=self._loop,
        )
        self._transport.set_protocol(http)
        http.connection_made(self._transport)
        http.data_received(bytes(self._buffer))

    def connection_lost(self, exc: Exception | None) -> None:
        """The client left before sending anything useful."""
        if self._timer is not None:
            self._timer.cancel()
