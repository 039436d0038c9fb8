"""Command line: `tccc serve | transcribe | listen | devices | bench | models | demo`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from tccc import __version__
from tccc.cli import bench, health, llm, models, run, runtime, serve, transcribe
from tccc.errors import TcccError

Handler = Callable[[argparse.Namespace], int]
"""A command: parsed arguments in, exit code out."""

HANDLERS: dict[str, Handler] = {
    "serve": serve.cmd_serve,
    "transcribe": transcribe.cmd_transcribe,
    "listen": transcribe.cmd_listen,
    "devices": transcribe.cmd_devices,
    "demo": run.cmd_demo,
    "run": run.cmd_run,
    "analyze": run.cmd_analyze,
    "report": run.cmd_report,
    "bench": bench.cmd_bench,
    "models": models.cmd_models,
    "llm": llm.cmd_llm,
    "doctor": runtime.cmd_doctor,
    "runtime": runtime.cmd_runtime,
    "power": runtime.cmd_power,
    "health": health.cmd_health,
}
"""Each top-level command and the function that runs it."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (built on demand: no import-time side effects)."""
    parser = argparse.ArgumentParser(prog="tccc", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tccc {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        default=os.environ.get("TCCC_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    # The order here is the order of `tccc --help`.
    serve.configure_parser(sub, common)
    transcribe.configure_parser(sub, common)
    run.configure_parser(sub, common)
    bench.configure_parser(sub, common)
    llm.configure_parser(sub, common)
    runtime.configure_parser(sub, common)
    models.configure_parser(sub, common)
    health.configure_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tccc` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # faster-whisper reports every request at INFO; keep the service log to our own events.
    logging.getLogger("faster_whisper").setLevel(max(logging.WARNING, logging.root.level))
    try:
        return HANDLERS[args.command](args)
    except TcccError as exc:
        print(f"tccc: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
