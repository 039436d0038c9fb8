"""`tccc bench ...`: speech, analysis, language-model, live-stream, soak, runtime, load and screens
benchmarks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tccc.cli.common import Commands, engine_flags, resolve

DEFAULT_SPEECH_DATA = "../shared/data/speech"
"""Speech clips of `tccc bench stt` unless --data or TCCC_SPEECH_DATA says otherwise."""


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc bench` and its benchmarks."""
    from tccc.bench.analysis import configure_parser as configure_analysis
    from tccc.bench.llm import configure_parser as configure_llm
    from tccc.bench.load import configure_parser as configure_load
    from tccc.bench.runtime import configure_parser as configure_runtime
    from tccc.bench.screens import configure_parser as configure_screens
    from tccc.bench.soak import configure_parser as configure_soak
    from tccc.bench.stream import configure_parser as configure_stream

    bench = sub.add_parser("bench", parents=[common], help="benchmarks")
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    stt = bsub.add_parser(
        "stt", parents=[common], help="WER, real-time factor, latency, load time, peak memory"
    )
    engine_flags(stt)
    stt.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("TCCC_SPEECH_DATA", DEFAULT_SPEECH_DATA)),
        help="directory with manifest.tsv, or audio files with .txt references",
    )
    stt.add_argument("--limit", type=int, help="only the first N clips")
    stt.add_argument(
        "--wyoming",
        metavar="URI",
        help="benchmark a running Wyoming server (tcp://host:port) instead",
    )
    stt.add_argument("--server-pid", type=int, help="pid of that server, for its peak memory")
    stt.add_argument("--token", help="that server's API token (default: $TCCC_API_TOKEN)")
    stt.add_argument("--label", help="name of the engine in the report")
    stt.add_argument("--json", type=Path, help="also write the report as JSON here")
    analysis = bsub.add_parser(
        "analysis", parents=[common], help="DD 1380 precision/recall on the dev narrations"
    )
    configure_analysis(engine_flags(analysis))
    llm = bsub.add_parser(
        "llm", parents=[common], help="the language-model stage: latency, tokens/s, P/R added"
    )
    configure_llm(engine_flags(llm))
    stream = bsub.add_parser(
        "stream",
        parents=[common],
        help="live transcription over Wyoming at real-time pace: latency, cost, WER, terms",
    )
    configure_stream(stream)
    soak = bsub.add_parser(
        "soak",
        parents=[common],
        help="narration at real-time pace through tccc serve for 30 min, heat halfway",
    )
    configure_soak(soak)
    runtime = bsub.add_parser(
        "runtime",
        parents=[common],
        help="component memory over load/unload cycles; the cost of monitoring",
    )
    configure_runtime(runtime)
    load = bsub.add_parser(
        "load",
        parents=[common],
        help="N concurrent HTTP, Wyoming and WebSocket clients: admitted, refused, errors, "
        "latency, server memory",
    )
    configure_load(load)
    screens = bsub.add_parser(
        "screens",
        parents=[common],
        help="the pages' routes: end of speech to the card over the feed; the dashboard's CPU",
    )
    configure_screens(screens)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run a benchmark and print its table (and JSON if asked)."""
    if args.bench_command == "analysis":
        from tccc.bench.analysis import run_from_args as run_analysis

        return run_analysis(args, resolve(args).settings)
    if args.bench_command == "llm":
        from tccc.bench.llm import run_from_args as run_llm

        return run_llm(args, resolve(args).settings)
    if args.bench_command == "stream":
        from tccc.bench.stream import run_from_args as run_stream

        return run_stream(args)
    if args.bench_command == "soak":
        from tccc.bench.soak import run_from_args as run_soak

        return run_soak(args)
    if args.bench_command == "screens":
        from tccc.bench.screens import run_from_args as run_screens

        return run_screens(args)
    if args.bench_command == "load":
        from tccc.bench.load import run_from_args as run_load

        return run_load(args)
    if args.bench_command == "runtime":
        from tccc.bench.runtime import run_from_args as run_runtime

        return run_runtime(args, resolve(args).settings)
    return _bench_stt(args)


def _bench_stt(args: argparse.Namespace) -> int:
    from tccc.bench.stt import bench_local, bench_wyoming, format_table, load_clips, to_json

    if not args.data.is_dir():
        print(f"tccc: no speech data at {args.data} (pass --data DIR)", file=sys.stderr)
        return 2
    clips = load_clips(args.data)[: args.limit]
    if not clips:
        print(f"tccc: no clips with references under {args.data}", file=sys.stderr)
        return 2

    def progress(name: str) -> None:
        print(f"  {name}", file=sys.stderr)

    if args.wyoming:
        report = bench_wyoming(
            args.wyoming,
            clips,
            server_pid=args.server_pid,
            label=args.label or "wyoming server",
            progress=progress,
            token=args.token or os.environ.get("TCCC_API_TOKEN") or None,
        )
    else:
        report = bench_local(resolve(args).settings, clips, progress=progress)
        if args.label:
            report.engine = args.label
    print(format_table([report]))
    if args.json:
        args.json.write_text(to_json([report]), encoding="utf-8")
        print(f"JSON report: {args.json}", file=sys.stderr)
    return 0
