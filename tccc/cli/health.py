"""`tccc health`: ask a running `tccc serve` whether it is ready (the image's HEALTHCHECK).

It asks the service itself, not the port: HTTP `GET /readyz` must answer 200 (the speech model
is loaded) and a Wyoming `describe` must be answered with `info` naming the program, so both
protocols on the shared port are known to work. Exit 0 when healthy and 1 otherwise, the two
codes a container health check understands; neither check needs the API token.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
from dataclasses import dataclass
from typing import BinaryIO, cast

from tccc.cli.common import Commands, settings_flags

WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
"""A server listening on every address is asked on loopback."""


@dataclass(frozen=True)
class Probe:
    """The outcome of one check: whether it passed and a one-line detail (no patient data)."""

    ok: bool
    detail: str


def target_host(host: str) -> str:
    """The address to ask for a server configured to listen on `host`."""
    return WILDCARD_HOSTS.get(host, host)


def check_readyz(host: str, port: int, *, timeout_s: float) -> Probe:
    """`GET /readyz` answered 200 with status "ready"."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", "/readyz", headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read(4096)
    except (OSError, http.client.HTTPException) as exc:
        return Probe(False, f"http /readyz: {type(exc).__name__}: {exc}")
    finally:
        conn.close()
    try:
        status = json.loads(body).get("status", "?")
    except (ValueError, AttributeError):
        status = "unreadable body"
    if response.status == 200 and status == "ready":
        return Probe(True, "http /readyz 200")
    return Probe(False, f"http /readyz {response.status} {status}")


def check_wyoming(host: str, port: int, *, timeout_s: float) -> Probe:
    """A Wyoming `describe` answered with `info` for the tccc program and its model."""
    from wyoming.event import read_event, write_event
    from wyoming.info import Describe, Info

    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            writer, reader = sock.makefile("wb"), sock.makefile("rb")
            write_event(Describe().event(), cast(BinaryIO, writer))
            writer.flush()
            event = read_event(cast(BinaryIO, reader))
    except OSError as exc:
        return Probe(False, f"wyoming describe: {type(exc).__name__}: {exc}")
    if event is None or not Info.is_type(event.type):
        got = "no answer" if event is None else f"{event.type!r}"
        return Probe(False, f"wyoming describe: {got} instead of info")
    info = Info.from_event(event)
    programs = [p for p in info.asr if p.name == "tccc"]
    if not programs or not programs[0].models:
        return Probe(False, "wyoming info names no tccc speech-to-text model")
    return Probe(True, f"wyoming info {programs[0].models[0].name}")


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc health` and its flags."""
    health = sub.add_parser(
        "health",
        parents=[common],
        help="ask a running tccc serve whether it is ready (exit 0) or not (exit 1)",
    )
    settings_flags(health)
    health.add_argument("--host", help="address to ask (default: the server's, or loopback)")
    health.add_argument("--port", type=int, help="port to ask (default: the server's)")
    health.add_argument("--timeout", type=float, default=5.0, help="seconds per check")
    health.add_argument(
        "--check",
        choices=["all", "http", "wyoming"],
        default="all",
        help="which protocol to ask (default: both)",
    )


def cmd_health(args: argparse.Namespace) -> int:
    """Run the checks and print one line; 0 when every check passed, else 1."""
    from tccc.config import resolve_settings
    from tccc.errors import TcccError

    try:
        server = resolve_settings(profile=args.profile, config_path=args.config).settings.server
    except TcccError as exc:
        print(f"unhealthy: {exc.message}")
        return 1
    host = args.host or target_host(server.host)
    port = args.port or server.port
    probes = []
    if args.check in ("all", "http"):
        probes.append(check_readyz(host, port, timeout_s=args.timeout))
    if args.check in ("all", "wyoming"):
        probes.append(check_wyoming(host, port, timeout_s=args.timeout))
    healthy = all(p.ok for p in probes)
    print(f"{'healthy' if healthy else 'unhealthy'}: " + "; ".join(p.detail for p in probes))
    return 0 if healthy else 1
