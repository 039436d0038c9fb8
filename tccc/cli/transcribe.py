"""`tccc transcribe`, `tccc listen`, `tccc devices`, and the terminal's live view.

Partial text is redrawn in place on one terminal line while the medic speaks; each final line is
printed once, for good, when its utterance ends. Off a terminal only final lines are written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tccc.cli.common import Commands, engine_flags, resolve
from tccc.errors import TcccError

if TYPE_CHECKING:  # the parser is built without loading the audio and speech stack
    from tccc.audio.sources import AudioSource
    from tccc.config import Settings
    from tccc.events import LiveTranscript
    from tccc.stt.live import LiveStats


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc transcribe`, `tccc listen` and `tccc devices`."""
    tr = sub.add_parser("transcribe", parents=[common], help="transcribe audio files")
    engine_flags(tr)
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

    listen = sub.add_parser(
        "listen", parents=[common], help="live transcription from the microphone"
    )
    engine_flags(listen)
    listen.add_argument("--input", help="input device index or name (see `tccc devices`)")
    listen.add_argument("--raw", action="store_true", help="print raw, not normalised text")
    listen.add_argument("--events", action="store_true", help="JSON events, one a line")

    sub.add_parser("devices", parents=[common], help="list audio input devices")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


class LiveView:
    """Draws live events: partial text in place, final lines for good."""

    def __init__(self, out: TextIO, *, raw: bool = False, as_json: bool = False) -> None:
        self.out = out
        self.raw = raw
        self.as_json = as_json
        self.tty = out.isatty() and not as_json
        self._drawn = False

    def show(self, event: LiveTranscript) -> None:
        """Render one event."""
        if self.as_json:
            from tccc.server.live_routes import event_dict

            self.out.write(json.dumps(event_dict(event)) + "\n")
            self.out.flush()
            return
        if event.kind == "partial":
            if self.tty:
                width = shutil.get_terminal_size((100, 20)).columns - 4
                text = event.text
                line = "… " + (text if len(text) <= width else "…" + text[-width + 1 :])
                self.out.write("\r\x1b[K" + line)
                self.out.flush()
                self._drawn = True
            return
        text = event.normalised.text if event.normalised and not self.raw else event.committed
        if self._drawn:
            self.out.write("\r\x1b[K")
            self._drawn = False
        if text:
            self.out.write(f"[{_clock(event.start)}-{_clock(event.end)}] {text}\n")
        self.out.flush()

    def close(self) -> None:
        """Clear a half-drawn partial line."""
        if self._drawn:
            self.out.write("\r\x1b[K")
            self.out.flush()


async def run_view(
    settings: Settings, source: AudioSource, view: LiveView, *, stop_on_signal: bool = False
) -> LiveStats:
    """Transcribe a live source to the view; the view is closed when the source ends."""
    from tccc.stt.pipeline import run_live

    try:
        return await run_live(settings, source, view.show, stop_on_signal=stop_on_signal)
    finally:
        view.close()


def print_stats(stats: LiveStats, source: AudioSource, err: TextIO = sys.stderr) -> None:
    """One summary line on stderr (counts only, never text)."""
    summary = asdict(stats)
    summary["suppressed"] = dict(stats.suppressed)
    summary["dropped_s"] = round(source.dropped_samples / 16000, 3)
    summary["overflows"] = source.overflows
    summary["audio_s"] = round(stats.audio_s, 2)
    summary["decode_s"] = round(stats.decode_s, 2)
    summary["gaps_s"] = round(stats.gaps_s, 3)
    print("tccc: " + json.dumps(summary), file=err)


def live_main(settings: Settings, source: AudioSource, *, raw: bool, as_json: bool) -> int:
    """Run a live session to stdout; returns the exit code."""
    view = LiveView(sys.stdout, raw=raw, as_json=as_json)
    with contextlib.suppress(KeyboardInterrupt):
        stats = asyncio.run(run_view(settings, source, view, stop_on_signal=True))
        print_stats(stats, source)
    return 0


def _transcribe_files(args: argparse.Namespace, files: Sequence[Path], fmt: str) -> int:
    from tccc.audio import SAMPLE_RATE
    from tccc.audio.decode import decode_audio
    from tccc.stt.formats import render
    from tccc.stt.transcriber import DecodeOptions
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    settings = resolve(args).settings
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

        if len(args.files) != 1:
            print("tccc: --live takes exactly one file", file=sys.stderr)
            return 2
        settings = resolve(args).settings
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

    settings = resolve(args).settings
    device: int | str | None = args.input
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    source = MicSource(device, capacity_s=settings.stream.ring_buffer_s)
    print("tccc: listening; Ctrl-C to stop", file=sys.stderr)
    return live_main(settings, source, raw=args.raw, as_json=args.events)


def cmd_devices(args: argparse.Namespace) -> int:
    """List audio input devices."""
    from tccc.audio.mic import list_devices

    try:
        devices = list_devices()
    except TcccError as exc:
        print(f"tccc: {exc.message}", file=sys.stderr)
        return 1
    if not devices:
        print("tccc: no audio input devices found", file=sys.stderr)
        return 1
    for d in devices:
        mark = "*" if d.is_default else " "
        print(
            f"{mark} {d.index:3d}  {d.name}  ({d.channels} ch, "
            f"{d.default_sample_rate_hz:g} Hz, {d.host_api})"
        )
    return 0
