"""Every connection on the shared port: counted, capped, timed out, closed without a reset.

The sniffer (`tccc.server.sniff`) stays each connection's protocol for its whole life; the
HTTP, WebSocket or Wyoming protocol behind it sees a `GuardedTransport`, not the socket's own
transport. That is what lets this module:

- cap open connections below the process's open-file limit (a flood of idle connections used
  to exhaust the descriptors, and then nobody, health checks included, could connect), and keep
  the last few slots for health checks (`GET /healthz`, `GET /readyz`);
- close an HTTP request whose headers stop arriving (uvicorn times out only idle keep-alive
  connections, not half-sent requests);
- close gracefully: a socket closed with unread input sends a reset, which can destroy the
  error event or 503 the client was just sent while it is still writing. A close here shuts
  the write side first and reads (and drops) what the client still sends, for a moment, until
  it closes its side (a lingering close).
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

from tccc.server.metrics import ServerMetrics

_LOGGER = logging.getLogger(__name__)

HEALTH_RESERVE = 8
"""Connection slots, below the limit, that only health checks may use."""
ACCEPT_BACKLOG = 128
"""The listen queue, and the most connections asyncio accepts in one go: each holds a
descriptor until it is refused, so the limit leaves room for a whole backlog of them."""
FD_HEADROOM = 64 + ACCEPT_BACKLOG
"""Open files the process needs besides its admitted connections: its own (models, database,
pipes, /proc while sampling; about 15 at rest) and a backlog accepted at once."""
LINGER_S = 2.0
"""Longest a closing connection waits for the client to close its side."""
LINGER_MAX_BYTES = 16 * 1024 * 1024
"""Most input read and dropped while lingering."""
RESERVE_DEADLINE_S = 5.0
"""Time a connection in the health-check reserve has to send its request line."""
REFUSE_RETRY_AFTER_S = 2
"""Retry-After of a refusal for too many connections."""
ACCEPT_LOG_INTERVAL_S = 10.0
"""At most one log line per this many seconds while connections cannot be accepted."""


def open_file_limit(wanted: int) -> int:
    """The soft open-file limit, raised towards `wanted` as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    if soft < wanted and (hard == resource.RLIM_INFINITY or hard > soft):
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            _LOGGER.debug("could not raise the open-file limit")
    return soft


def connection_limit(configured: int) -> int:
    """Open connections allowed: `configured`, lowered to fit the open-file limit."""
    files = open_file_limit(configured + FD_HEADROOM)
    limit = min(configured, files - FD_HEADROOM)
    if limit < configured:
        _LOGGER.warning(
            "open-file limit %d: at most %d connections (server.max_connections is %d)",
            files, limit, configured,
        )  # fmt: skip
    return max(limit, HEALTH_RESERVE + 1)


class ConnectionTable:
    """The open connections of both protocols: admits, holds back for health checks, refuses."""

    def __init__(
        self,
        limit: int,
        *,
        idle_timeout_s: float,
        reserve: int = HEALTH_RESERVE,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self.limit = limit
        self.reserve = min(reserve, max(1, limit // 4))
        self.idle_timeout_s = idle_timeout_s
        self.metrics = metrics
        self.open = 0

    def admit(self) -> str:
        """A new connection: "ok", "reserve" (health checks only) or "refuse" (not counted)."""
        if self.open >= self.limit:
            self.refused("limit")
            return "refuse"
        self.open += 1
        if self.metrics is not None:
            self.metrics.open_connections.set(self.open)
        return "reserve" if self.open > self.limit - self.reserve else "ok"

    def release(self) -> None:
        """A connection admitted by `admit` has closed."""
        self.open -= 1
        if self.metrics is not None:
            self.metrics.open_connections.set(self.open)

    def refused(self, reason: str) -> None:
        """Count a connection closed without being served."""
        if self.metrics is not None:
            self.metrics.connections_refused.labels(reason).inc()


def is_health_request(request_line: bytes) -> bool:
    """True for `GET /healthz` or `GET /readyz` (HEAD too, any query)."""
    parts = request_line.split()
    if len(parts) < 2 or parts[0] not in (b"GET", b"HEAD"):
        return False
    return parts[1].split(b"?", 1)[0] in (b"/healthz", b"/readyz")


def busy_http_response() -> bytes:
    """The 503 sent to an HTTP client when every connection slot is taken."""
    body = json.dumps(
        {
            "error": {
                "message": "too many open connections; retry shortly",
                "type": "server_error",
                "code": "server_busy",
                "param": None,
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"retry-after: {REFUSE_RETRY_AFTER_S}\r\n"
        "connection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def wyoming_error(code: str, text: str, **extra: Any) -> bytes:
    """A Wyoming `error` event on the wire (what wyoming's async_write_event sends)."""
    data = json.dumps({"text": text, "code": code, **extra}).encode()
    header = json.dumps({"type": "error", "data_length": len(data)}).encode()
    return header + b"\n" + data


class Lingering:
    """The graceful close of one connection (see the module docstring)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self.active = False
        self.eof = False
        """The client has closed its side already."""
        self._dropped = 0
        self._timer: asyncio.TimerHandle | None = None

    def close(self) -> None:
        """Send what is queued, shut our side, then wait briefly for the client's end."""
        transport = self._transport
        if self.active or transport.is_closing():
            return
        self.active = True
        if self.eof or not transport.can_write_eof():
            transport.close()
            return
        try:
            transport.write_eof()
            transport.resume_reading()
        except (OSError, RuntimeError):
            transport.close()
            return
        self._timer = self._loop.call_later(LINGER_S, transport.close)

    def drop(self, data: bytes) -> None:
        """Input that arrives while lingering: read and forgotten, within a bound."""
        self._dropped += len(data)
        if self._dropped > LINGER_MAX_BYTES:
            self._transport.close()

    def cancel(self) -> None:
        """The connection is gone."""
        if self._timer is not None:
            self._timer.cancel()


class GuardedTransport(asyncio.Transport):
    """What the protocol behind the sniffer sees: the connection's transport, with a close
    that lingers and `set_protocol` kept by the sniffer (a WebSocket upgrade stays counted)."""

    def __init__(
        self,
        transport: asyncio.Transport,
        lingering: Lingering,
        set_inner: Callable[[asyncio.BaseProtocol], None],
        get_inner: Callable[[], asyncio.BaseProtocol | None],
    ) -> None:
        super().__init__()
        self._transport = transport
        self._lingering = lingering
        self._set_inner = set_inner
        self._get_inner = get_inner

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send data (dropped once the connection is closing)."""
        if not self._lingering.active and not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        """Send several buffers."""
        for data in list_of_data:
            self.write(data)

    def close(self) -> None:
        """Close without resetting a client that is still sending."""
        self._lingering.close()

    def abort(self) -> None:
        """Close at once, dropping what is queued."""
        self._transport.abort()

    def is_closing(self) -> bool:
        """True once close or abort was called (or the client has gone)."""
        return self._lingering.active or self._transport.is_closing()

    def can_write_eof(self) -> bool:
        """As the socket's transport."""
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        """Shut our side after what is queued."""
        self._transport.write_eof()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """As the socket's transport (peer name, socket...)."""
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """The protocol behind the sniffer changes (a WebSocket upgrade, Wyoming's reader)."""
        self._set_inner(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol behind the sniffer."""
        inner = self._get_inner()
        assert inner is not None
        return inner

    def pause_reading(self) -> None:
        """Flow control of the protocol behind (ignored while lingering: input is dropped)."""
        if not self._lingering.active:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Flow control of the protocol behind."""
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        """As the socket's transport."""
        return self._transport.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """As the socket's transport."""
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        """As the socket's transport."""
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """As the socket's transport."""
        return self._transport.get_write_buffer_limits()


class AcceptErrorLog:
    """An event-loop exception handler that logs "cannot accept" once per interval.

    While the process has no free file descriptor, asyncio's accept loop reports every failed
    accept with a traceback (Python 3.11 reports the same failure up to 100 times per wake-up,
    and retries every second): 123 MB of log in 25 s. Here the first is logged, and then a
    count once per `interval_s`. Everything else goes to the previous handler.
    """

    MESSAGE = "socket.accept() out of system resource"

    def __init__(
        self,
        previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None,
        *,
        interval_s: float = ACCEPT_LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._previous = previous
        self._interval_s = interval_s
        self._clock = clock
        self._last: float | None = None
        self.suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Handle one exception context of the loop."""
        if context.get("message") != self.MESSAGE:
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = self._clock()
        if self._last is not None and now - self._last < self._interval_s:
            self.suppressed += 1
            return
        exc = context.get("exception")
        _LOGGER.error(
            "cannot accept connections: %s (%d more since the last report); no free file "
            "descriptor: lower server.max_connections or raise the open-file limit",
            type(exc).__name__ if exc is not None else "error", self.suppressed,
        )  # fmt: skip
        self._last, self.suppressed = now, 0


def limit_accept_error_log(loop: asyncio.AbstractEventLoop) -> None:
    """Install `AcceptErrorLog` on `loop` (once)."""
    previous = loop.get_exception_handler()
    if isinstance(previous, AcceptErrorLog):
        return
    loop.set_exception_handler(AcceptErrorLog(previous))
