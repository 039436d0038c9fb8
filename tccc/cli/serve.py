"""`tccc serve`: the Wyoming + HTTP speech-to-text server on one port."""

from __future__ import annotations

import argparse
import logging
import sys

from tccc.cli.common import Commands, engine_flags, resolve

_LOGGER = logging.getLogger("tccc")


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc serve` and its flags."""
    serve = sub.add_parser(
        "serve", parents=[common], help="Wyoming + HTTP speech-to-text server on one port"
    )
    engine_flags(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--api-token", help="bearer token for HTTP (or TCCC_API_TOKEN)")
    serve.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="allow a non-loopback address without a token",
    )
    serve.add_argument(
        "--insecure-wyoming",
        action="store_true",
        default=None,
        help="let Wyoming clients transcribe without the token (Home Assistant cannot send it)",
    )
    serve.add_argument("--max-upload-mb", type=float)
    serve.add_argument("--queue-size", type=int)
    serve.add_argument(
        "--idle-timeout-s", type=float, help="close a client that stops sending half-way"
    )
    serve.add_argument(
        "--max-connections", type=int, help="open connections at most (both protocols)"
    )
    serve.add_argument(
        "--max-decode-mb", type=float, help="memory decoded uploads may hold at once"
    )
    serve.add_argument(
        "--session-db",
        help="SQLite file for live transcripts and casualty facts (default: the casualty log of "
        "tccc run, $TCCC_DB or ~/.local/share/tccc; memory with --no-analyze)",
    )
    serve.add_argument(
        "--analyze",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="analyse live sessions into casualty records (default: on)",
    )
    serve.add_argument(
        "--llm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the language-model stage on live sessions (default: the profile's llm.enabled)",
    )
    serve.add_argument(
        "--runtime",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="sample telemetry and apply the runtime policy (default: on)",
    )
    serve.add_argument("--battery-wh", type=float, help="battery capacity for the runtime estimate")
    serve.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved settings and their sources, then exit",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server (or print its configuration)."""
    resolved = resolve(args)
    if args.print_config:
        width = max(len(k) for k, _, _ in resolved.describe())
        for key, value, source in resolved.describe():
            print(f"{key:<{width}}  {value!s:<24}  {source}")
        return 0
    from tccc.server.app import build_server
    from tccc.stt.models import resolve_model

    stt = resolved.settings.stt
    # Fail before binding the port if the model cannot be found offline.
    resolve_model(stt.model, models_dir=stt.models_dir, allow_download=stt.allow_download)
    server = build_server(resolved.settings, log_level=args.log_level)
    _LOGGER.info(
        "serving Wyoming and HTTP on %s:%d (profile %s, model %s)",
        resolved.settings.server.host,
        resolved.settings.server.port,
        resolved.settings.profile,
        stt.model,
    )
    server.run()
    if server.failure is not None:
        # Non-zero, so a supervisor that restarts on failure does (systemd, Docker, k8s).
        print(f"tccc: the server stopped: {server.failure}", file=sys.stderr)
        return 1
    return 0
