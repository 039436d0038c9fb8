"""Live transcription on the command line: `tccc transcribe --live`, `tccc listen`, `tccc devices`.

Partial text is redrawn in place on one terminal line while the medic speaks; each final line is
printed once, for good, when its utterance ends. Off a terminal only final lines are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import sys
from dataclasses import asdict
from typing import TextIO

import numpy as np

from tccc.audio.sources import AudioSource
from tccc.config import Settings
from tccc.events import LiveTranscript, TranscriptResult
from tccc.stt.live import LiveStats
from tccc.stt.pipeline import live_transcriber, vocabulary_tools
from tccc.stt.transcriber import DecodeOptions
from tccc.stt.whisper_backend import FasterWhisperTranscriber


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


async def run_live(
    settings: Settings,
    source: AudioSource,
    view: LiveView,
    *,
    stop_on_signal: bool = False,
) -> LiveStats:
    """Transcribe a live source to the view; the tail is finalised when the source ends."""
    transcriber = FasterWhisperTranscriber(settings.stt, settings.vad)
    await asyncio.to_thread(transcriber.load)
    tools = await asyncio.to_thread(vocabulary_tools, settings.stream, transcriber)

    async def decode(audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
        return await asyncio.to_thread(transcriber.transcribe, audio, options)

    live = live_transcriber(decode, settings, tools)
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []
    if stop_on_signal:
        # Ctrl-C ends capture; what was heard is still finalised before the command exits.
        def stop() -> None:
            closing.append(loop.create_task(source.aclose()))

        loop.add_signal_handler(signal.SIGINT, stop)
    try:
        async with source:
            async for event in live.run(source):
                view.show(event)
    finally:
        view.close()
        if stop_on_signal:
            loop.remove_signal_handler(signal.SIGINT)
    return live.stats


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


def cmd_devices() -> int:
    """List audio input devices."""
    from tccc.audio.mic import list_devices
    from tccc.errors import TcccError

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


def live_main(settings: Settings, source: AudioSource, *, raw: bool, as_json: bool) -> int:
    """Run a live session to stdout; returns the exit code."""
    view = LiveView(sys.stdout, raw=raw, as_json=as_json)
    with contextlib.suppress(KeyboardInterrupt):
        stats = asyncio.run(run_live(settings, source, view, stop_on_signal=True))
        print_stats(stats, source)
    return 0
