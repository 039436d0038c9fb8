"""`tccc bench stream`: a running Wyoming server fed at real-time pace, as a live medic would.

Per item the harness connects, sends `transcribe` + `audio-start`, then audio chunks paced to the
wall clock (chunk k leaves when its last sample would have been captured by a microphone,
computed from one monotonic start so pacing never drifts), then `audio-stop` right after the last
chunk. A reader task timestamps every event the server sends while audio is still going out.

Metrics (per item, and p50 / p95 / mean over items):

- final after audio-stop: `transcript` time minus the moment `audio-stop` was sent;
- final after speech end: `transcript` time minus the moment the chunk holding the last speech
  sample was sent. The last speech sample is the end of the last 20 ms frame whose RMS is within
  45 dB of the clip's peak sample (`stream_metrics.speech_end_s`), so trailing silence does not
  flatter a server;
- time to first partial: first `transcript-chunk` minus the moment the first audio chunk was sent
  (servers that do not stream have none; only their final transcript is timed);
- server CPU seconds per audio second, from /proc/PID/stat of `--server-pid` and its descendants
  (`procstat`);
- WER of the final text (Whisper's English normaliser, as in `tccc bench stt`), also with
  numbers spelled digit by digit on both sides (`stt.digit_words`);
- term-and-number recall: the share of medical vocabulary terms and numeric values of the
  (normalised) reference that the hypothesis contains, with and without the project normaliser
  applied to the hypothesis (`stream_metrics.term_number_recall`).

The `oneshot` mode sends the same audio unpaced, as fast as the socket takes it, so the CPU cost of
streaming can be compared with transcribing the whole utterance once.

With `--final-beams 1,5` the harness starts its own `tccc serve` once per beam of the final
decode (`--final-beam-size`; partials stay greedy), measures each in turn with its pid, and
prints one column per beam: the WER a wider final beam buys against its CPU and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import decode_audio
from tccc.bench.narrations import (
    DEFAULT_CACHE_DIR,
    Delivery,
    add_delivery_args,
    default_narrations_path,
    delivery_from_args,
    load_cases,
    synthesise_cases,
)
from tccc.bench.procstat import process_cpu_s, server_peak_rss_mb, server_processes
from tccc.bench.stream_metrics import (
    SPEECH_FRAME_MS,
    SPEECH_THRESHOLD_DB,
    RecallScorer,
    Stats,
    chunk_bounds,
    project_recall_scorer,
    speech_end_s,
    speech_end_sample,
    summarise,
)
from tccc.bench.stt import digit_words, edit_distance, load_clips, table_lines
from tccc.bench.stt import normalise as wer_words
from tccc.errors import TcccError
from tccc.subprocesses import die_with_parent

DEFAULT_URI = "tcp://127.0.0.1:10300"
"""The tccc server's Wyoming + HTTP port."""

DEFAULT_SPEECH_DIR = Path(__file__).resolve().parents[3] / "shared/data/speech"
"""The shared recorded-speech clips beside the checkout (override with TCCC_SPEECH_DATA)."""

MIN_CHUNK_MS = 20
MAX_CHUNK_MS = 100
DEFAULT_CHUNK_MS = 40

CONNECT_TIMEOUT_S = 10.0
FINAL_TIMEOUT_S = 120.0
"""Longest wait, after audio-stop, for the final transcript."""

STOP_GRACE_S = 2.0
"""After the final transcript, how long to wait for transcript-stop from a streaming server."""

WARMUP_S = 2.0
"""Audio sent once, unmeasured, before the run: a server may load its model on first use."""

MODES = ("stream", "oneshot")
DATA_SETS = ("narrations", "speech")


# --- one exchange with the server ----------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One event from the server and the monotonic time it arrived."""

    at: float
    type: str
    text: str | None = None


@dataclass(frozen=True)
class Exchange:
    """Monotonic times of one item's exchange; everything the metrics need."""

    first_audio_sent: float
    last_speech_sent: float | None
    audio_stop_sent: float
    events: tuple[Received, ...]

    def first(self, event_type: str) -> Received | None:
        """The first received event of this type."""
        return next((e for e in self.events if e.type == event_type), None)

    @property
    def final_text(self) -> str:
        """Text of the final `transcript` event."""
        final = self.first("transcript")
        if final is None:
            raise TcccError("the server sent no transcript")
        return final.text or ""

    @property
    def chunk_times(self) -> list[float]:
        """Arrival times of `transcript-chunk` events."""
        return [e.at for e in self.events if e.type == "transcript-chunk"]


async def _read_replies(client: AsyncClient) -> list[Received]:
    events: list[Received] = []
    streaming = final = False
    while True:
        if final:
            # A streaming server follows the transcript with transcript-stop; do not hang on
            # one that forgets it.
            try:
                event = await asyncio.wait_for(client.read_event(), STOP_GRACE_S)
            except TimeoutError:
                break
        else:
            event = await client.read_event()
        now = time.monotonic()
        if event is None:
            break
        if Error.is_type(event.type):
            raise TcccError(f"server error: {Error.from_event(event).text}")
        text = None
        if Transcript.is_type(event.type):
            text = Transcript.from_event(event).text
            final = True
        elif TranscriptChunk.is_type(event.type):
            text = TranscriptChunk.from_event(event).text
        elif TranscriptStart.is_type(event.type):
            streaming = True
        events.append(Received(now, event.type, text))
        if final and (not streaming or TranscriptStop.is_type(event.type)):
            break
    return events


def authorised(event: Event, token: str | None) -> Event:
    """The event with the server's API token in its data (how tccc's Wyoming takes it)."""
    if token:
        event.data = {**(event.data or {}), "token": token}
    return event


async def _send_audio(
    client: AsyncClient,
    pcm: np.ndarray,
    *,
    chunk_ms: int,
    paced: bool,
    last_speech: int | None,
    reader: asyncio.Task[list[Received]],
) -> tuple[float | None, float | None, float]:
    """Audio chunks then audio-stop; (first chunk sent, speech end sent, audio-stop sent)."""
    first_sent: float | None = None
    speech_sent: float | None = None
    # t0 is when the notional microphone started; chunk k exists once its last sample is in.
    t0 = time.monotonic()
    for start, end in chunk_bounds(pcm.size, SAMPLE_RATE * chunk_ms // 1000):
        if paced:
            await asyncio.sleep(max(0.0, t0 + end / SAMPLE_RATE - time.monotonic()))
        if reader.done():
            break  # the server answered or failed early; the caller raises or uses its outcome
        chunk = AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=pcm[start:end].tobytes())
        await client.write_event(chunk.event())
        sent = time.monotonic()
        if first_sent is None:
            first_sent = sent
        if last_speech is not None and start <= last_speech < end:
            speech_sent = sent
    await client.write_event(AudioStop().event())
    return first_sent, speech_sent, time.monotonic()


async def _reader_failure(reader: asyncio.Task[list[Received]]) -> BaseException | None:
    """The reader's own error, if it has one: a server error beats the broken pipe it causes."""
    # A server that refuses the audio sends an error and closes; the write fails first, but the
    # error event is already in our receive buffer, so give the reader a moment to read it.
    await asyncio.wait({reader}, timeout=1.0)
    if reader.done() and not reader.cancelled():
        return reader.exception()
    return None


async def exchange(
    uri: str,
    audio: np.ndarray,
    *,
    chunk_ms: int = DEFAULT_CHUNK_MS,
    paced: bool = True,
    speech_end: int | None = None,
    final_timeout_s: float = FINAL_TIMEOUT_S,
    token: str | None = None,
) -> Exchange:
    """Send one utterance to a Wyoming server and timestamp its replies."""
    if audio.size == 0:
        raise TcccError("empty audio")
    pcm = audio.astype("<i2", copy=False)
    last_speech = None if speech_end is None else max(0, speech_end - 1)
    client = AsyncClient.from_uri(uri, connect_timeout=CONNECT_TIMEOUT_S)
    try:
        await client.connect()
    except (OSError, TimeoutError) as exc:
        raise TcccError(f"cannot connect to {uri}: {exc}") from exc
    reader: asyncio.Task[list[Received]] | None = None
    try:
        await client.write_event(authorised(Transcribe(language="en").event(), token))
        await client.write_event(AudioStart(rate=SAMPLE_RATE, width=2, channels=1).event())
        reader = asyncio.create_task(_read_replies(client), name="bench-stream-reader")
        try:
            first_sent, speech_sent, stop_sent = await _send_audio(
                client, pcm, chunk_ms=chunk_ms, paced=paced, last_speech=last_speech, reader=reader
            )
        except ConnectionError as exc:
            failure = await _reader_failure(reader)
            if failure is not None:
                raise failure from exc
            raise
        try:
            events = await asyncio.wait_for(reader, final_timeout_s)
        except TimeoutError as exc:
            raise TcccError(f"no transcript within {final_timeout_s:g} s of audio-stop") from exc
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        raise TcccError(f"connection to {uri} failed: {exc}") from exc
    finally:
        if reader is not None:
            if not reader.done():
                reader.cancel()
            # Await it either way so its outcome is retrieved, never "never retrieved".
            with contextlib.suppress(asyncio.CancelledError, TcccError, ConnectionError):
                await reader
        # The server may already have closed its end; nothing is left to say on this socket.
        with contextlib.suppress(ConnectionError):
            await client.disconnect()
    if first_sent is None:
        raise TcccError("the server answered before any audio was sent")
    return Exchange(first_sent, speech_sent, stop_sent, tuple(events))


async def describe(uri: str, token: str | None = None) -> dict[str, Any]:
    """Program name, version, model and streaming flag the server advertises."""
    try:
        async with AsyncClient.from_uri(uri, connect_timeout=CONNECT_TIMEOUT_S) as client:
            await client.write_event(authorised(Describe().event(), token))
            while (event := await asyncio.wait_for(client.read_event(), 30.0)) is not None:
                if Info.is_type(event.type):
                    info = Info.from_event(event)
                    if not info.asr:
                        raise TcccError(f"{uri} advertises no speech-to-text program")
                    asr = info.asr[0]
                    return {
                        "program": asr.name,
                        "version": asr.version,
                        "model": asr.models[0].name if asr.models else "?",
                        "streaming": bool(asr.supports_transcript_streaming),
                    }
    except (OSError, TimeoutError) as exc:
        raise TcccError(f"cannot describe {uri}: {exc}") from exc
    raise TcccError(f"{uri} closed the connection without sending info")


# --- items, results and reports ------------------------------------------------------------------


@dataclass(frozen=True)
class BenchItem:
    """One utterance to send and the text that was said."""

    data: str
    name: str
    reference: str
    audio: np.ndarray


@dataclass
class ItemResult:
    """Outcome of one item in one mode; times in seconds."""

    data: str
    name: str
    mode: str
    audio_s: float
    speech_end_s: float | None
    send_s: float
    final_after_stop_s: float
    final_after_speech_s: float | None
    first_partial_s: float | None
    partials_before_stop: int
    chunks: int
    transcript_start_s: float | None
    transcript_stop_after_stop_s: float | None
    server_cpu_s: float | None
    ref_words: int
    errors: int
    recall_normalised: tuple[int, int] | None
    recall_raw: tuple[int, int] | None
    missed: list[str]
    hypothesis: str
    digit_ref_words: int = 0
    """Reference words with numbers spelled digit by digit."""
    digit_errors: int = 0
    """Word errors with numbers spelled digit by digit on both sides."""


def item_result(
    item: BenchItem,
    mode: str,
    ex: Exchange,
    *,
    server_cpu_s: float | None,
    scorer: RecallScorer | None,
) -> ItemResult:
    """Per-item metrics from one exchange."""
    final = ex.first("transcript")
    if final is None:
        raise TcccError(f"{item.name}: the server sent no transcript")
    start = ex.first("transcript-start")
    stop = ex.first("transcript-stop")
    chunks = ex.chunk_times
    end = speech_end_s(item.audio)
    text = ex.final_text
    ref_words, hyp_words = wer_words(item.reference), wer_words(text)
    ref_digits = digit_words(ref_words)
    norm = raw = None
    missed: list[str] = []
    if scorer is not None:
        with_norm, without = scorer.score(item.reference, text)
        norm, raw = (with_norm.found, with_norm.total), (without.found, without.total)
        missed = list(with_norm.missed)

    def since_first(t: float | None) -> float | None:
        return None if t is None else round(t - ex.first_audio_sent, 4)

    return ItemResult(
        data=item.data,
        name=item.name,
        mode=mode,
        audio_s=round(item.audio.size / SAMPLE_RATE, 3),
        speech_end_s=None if end is None else round(end, 3),
        send_s=round(ex.audio_stop_sent - ex.first_audio_sent, 4),
        final_after_stop_s=round(final.at - ex.audio_stop_sent, 4),
        final_after_speech_s=(
            None if ex.last_speech_sent is None else round(final.at - ex.last_speech_sent, 4)
        ),
        first_partial_s=since_first(chunks[0] if chunks else None),
        partials_before_stop=sum(t < ex.audio_stop_sent for t in chunks),
        chunks=len(chunks),
        transcript_start_s=since_first(None if start is None else start.at),
        transcript_stop_after_stop_s=(
            None if stop is None else round(stop.at - ex.audio_stop_sent, 4)
        ),
        server_cpu_s=None if server_cpu_s is None else round(server_cpu_s, 3),
        ref_words=len(ref_words),
        errors=edit_distance(ref_words, hyp_words),
        recall_normalised=norm,
        recall_raw=raw,
        missed=missed,
        hypothesis=text,
        digit_ref_words=len(ref_digits),
        digit_errors=edit_distance(ref_digits, digit_words(hyp_words)),
    )


def _pooled(pairs: Iterable[tuple[int, int] | None]) -> float | None:
    counted = [p for p in pairs if p is not None]
    total = sum(t for _, t in counted)
    return round(sum(f for f, _ in counted) / total, 4) if total else None


@dataclass
class StreamReport:
    """Summary of one (data set, mode) run against one server."""

    label: str
    program: str
    model: str
    streaming_advertised: bool
    data: str
    mode: str
    chunk_ms: int
    items: int
    audio_s: float
    wer: float
    final_after_stop: Stats | None
    final_after_speech: Stats | None
    first_partial: Stats | None
    items_with_partials: int
    server_cpu_s: float | None
    cpu_per_audio_s: float | None
    recall_normalised: float | None
    recall_raw: float | None
    recall_items: int
    peak_rss_mb: float | None
    wer_digits: float = 0.0
    """WER with numbers spelled digit by digit on both sides."""
    machine: str = field(default_factory=lambda: f"{platform.machine()} {platform.system()}")
    results: list[ItemResult] = field(default_factory=list)


def build_report(
    results: Sequence[ItemResult],
    *,
    label: str,
    server: dict[str, Any],
    data: str,
    mode: str,
    chunk_ms: int,
    peak_rss: float | None,
) -> StreamReport:
    """Aggregate item results into one report."""
    audio_s = sum(r.audio_s for r in results)
    words = sum(r.ref_words for r in results)
    digit_total = sum(r.digit_ref_words for r in results)
    cpu = [r.server_cpu_s for r in results]
    cpu_s = None if not results or any(c is None for c in cpu) else sum(c or 0.0 for c in cpu)
    return StreamReport(
        label=label,
        program=f"{server['program']} {server['version'] or ''}".strip(),
        model=str(server["model"]),
        streaming_advertised=bool(server["streaming"]),
        data=data,
        mode=mode,
        chunk_ms=chunk_ms,
        items=len(results),
        audio_s=round(audio_s, 2),
        wer=round(sum(r.errors for r in results) / words, 4) if words else 0.0,
        final_after_stop=summarise(r.final_after_stop_s for r in results),
        final_after_speech=summarise(r.final_after_speech_s for r in results),
        first_partial=summarise(r.first_partial_s for r in results),
        items_with_partials=sum(r.partials_before_stop > 0 for r in results),
        server_cpu_s=None if cpu_s is None else round(cpu_s, 3),
        cpu_per_audio_s=None if cpu_s is None or not audio_s else round(cpu_s / audio_s, 4),
        recall_normalised=_pooled(r.recall_normalised for r in results),
        recall_raw=_pooled(r.recall_raw for r in results),
        recall_items=sum(r.recall_normalised[1] for r in results if r.recall_normalised),
        peak_rss_mb=None if peak_rss is None else round(peak_rss, 1),
        wer_digits=(
            round(sum(r.digit_errors for r in results) / digit_total, 4) if digit_total else 0.0
        ),
        results=list(results),
    )


def cpu_ratios(reports: Sequence[StreamReport]) -> dict[str, float]:
    """Per data set (and label, when there are several): server CPU per audio second,
    streaming over one-shot."""
    per: dict[tuple[str, str, str], float] = {
        (r.label, r.data, r.mode): r.cpu_per_audio_s for r in reports if r.cpu_per_audio_s
    }
    labels = list(dict.fromkeys(r.label for r in reports))
    return {
        (data if len(labels) == 1 else f"{label} {data}"): round(
            per[(label, data, "stream")] / per[(label, data, "oneshot")], 3
        )
        for label in labels
        for data in DATA_SETS
        if (label, data, "stream") in per and (label, data, "oneshot") in per
    }


def _short(text: str, width: int = 32) -> str:
    # Model paths can be long; the JSON keeps the whole path.
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _stats(s: Stats | None) -> str:
    return "none" if s is None else f"{s.p50:.3f} / {s.p95:.3f} / {s.mean:.3f}"


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f} %"


def format_stream_table(reports: Sequence[StreamReport]) -> str:
    """Side-by-side text table, one column per (data set, mode)."""
    rows: list[tuple[str, Callable[[StreamReport], str]]] = [
        ("label", lambda r: r.label),
        ("server", lambda r: r.program),
        ("model", lambda r: _short(r.model)),
        ("advertises streaming", lambda r: "yes" if r.streaming_advertised else "no"),
        ("data", lambda r: r.data),
        ("mode", lambda r: r.mode if r.mode == "oneshot" else f"stream {r.chunk_ms} ms"),
        ("items", lambda r: str(r.items)),
        ("audio (s)", lambda r: f"{r.audio_s:.1f}"),
        ("WER", lambda r: f"{r.wer * 100:.2f} %"),
        ("WER, digits spelled out", lambda r: f"{r.wer_digits * 100:.2f} %"),
        ("final after stop p50/p95/mean (s)", lambda r: _stats(r.final_after_stop)),
        ("final after speech end (s)", lambda r: _stats(r.final_after_speech)),
        ("first partial (s)", lambda r: _stats(r.first_partial)),
        ("items with partials", lambda r: f"{r.items_with_partials}/{r.items}"),
        (
            "server CPU s / audio s",
            lambda r: "n/a" if r.cpu_per_audio_s is None else f"{r.cpu_per_audio_s:.4f}",
        ),
        ("term+number recall (norm.)", lambda r: _share(r.recall_normalised)),
        ("term+number recall (raw)", lambda r: _share(r.recall_raw)),
        ("key items in references", lambda r: str(r.recall_items)),
        (
            "server peak RSS (MiB)",
            lambda r: "n/a" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f}",
        ),
    ]
    lines = table_lines(rows, reports)
    for data, ratio in cpu_ratios(reports).items():
        lines.append(f"server CPU, streaming / one-shot ({data}): {ratio:.2f}x")
    return "\n".join(lines)


def to_json(reports: Sequence[StreamReport]) -> str:
    """Reports and CPU ratios as JSON."""
    return json.dumps(
        {
            "reports": [asdict(r) for r in reports],
            "cpu_ratio_stream_over_oneshot": cpu_ratios(reports),
            "speech_end": {"frame_ms": SPEECH_FRAME_MS, "threshold_db": SPEECH_THRESHOLD_DB},
        },
        indent=2,
    )


# --- running -------------------------------------------------------------------------------------


async def _cpu(pid: int | None) -> float | None:
    # /proc reads are quick but still file I/O; keep them off the event loop.
    return None if pid is None else await asyncio.to_thread(process_cpu_s, pid)


async def run_benchmark(
    uri: str,
    data_sets: dict[str, list[BenchItem]],
    *,
    modes: Sequence[str] = MODES,
    chunk_ms: int = DEFAULT_CHUNK_MS,
    server_pid: int | None = None,
    label: str | None = None,
    scorer: RecallScorer | None = None,
    progress: Callable[[str], None] | None = None,
    token: str | None = None,
) -> list[StreamReport]:
    """Run every item of every data set in every mode, one connection at a time."""
    if server_pid is not None:
        await asyncio.to_thread(server_processes, server_pid)  # fail before a long run
    server = await describe(uri, token)
    items = [item for batch in data_sets.values() for item in batch]
    if items:
        warm = items[0].audio[: int(WARMUP_S * SAMPLE_RATE)]
        await exchange(uri, warm, chunk_ms=chunk_ms, paced=False, token=token)
    reports = []
    for data, batch in data_sets.items():
        for mode in modes:
            results = []
            for item in batch:
                before = await _cpu(server_pid)
                ex = await exchange(
                    uri,
                    item.audio,
                    chunk_ms=chunk_ms,
                    paced=mode == "stream",
                    speech_end=speech_end_sample(item.audio),
                    token=token,
                )
                after = await _cpu(server_pid)
                cpu = None if before is None or after is None else after - before
                results.append(item_result(item, mode, ex, server_cpu_s=cpu, scorer=scorer))
                if progress is not None:
                    r = results[-1]
                    progress(f"{data} {mode} {item.name}: final +{r.final_after_stop_s:.3f} s")
            reports.append(
                build_report(
                    results,
                    label=label or str(server["program"]),
                    server=server,
                    data=data,
                    mode=mode,
                    chunk_ms=chunk_ms,
                    peak_rss=server_peak_rss_mb(server_pid) if server_pid else None,
                )
            )
    return reports


SERVE_PORT = 10393
"""Port of the servers `--final-beams` starts (not the default 10300, which may be in use)."""

SERVE_STOP_S = 10.0
"""How long a server started by the bench gets to exit after SIGTERM before SIGKILL."""


def start_server(
    port: int, final_beam: int, serve_args: Sequence[str], log: Path
) -> subprocess.Popen[bytes]:
    """`tccc serve` on loopback with this final beam; its sessions are kept in memory only."""
    # TCCC_* of the caller's shell would make runs differ from what the report says.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCCC_")}
    command = [
        sys.executable, "-m", "tccc", "serve", "--port", str(port),
        "--session-db", ":memory:", "--final-beam-size", str(final_beam), *serve_args,
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),  # never left running if the bench is killed
        )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited in time; waits for it either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(SERVE_STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def run_final_beams(
    beams: Sequence[int],
    data_sets: dict[str, list[BenchItem]],
    *,
    serve_args: Sequence[str] = (),
    port: int = SERVE_PORT,
    log_dir: Path,
    modes: Sequence[str] = MODES,
    chunk_ms: int = DEFAULT_CHUNK_MS,
    scorer: RecallScorer | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[StreamReport]:
    """Start a server per final beam in turn and benchmark each; one report per beam and mode."""
    from tccc.bench.soak import wait_ready

    # The readiness polls would log a line each (httpx logs requests at INFO).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    reports: list[StreamReport] = []
    for beam in beams:
        log = log_dir / f"serve-final-beam-{beam}.log"
        if progress is not None:
            progress(f"final beam {beam}: starting tccc serve on port {port} (log {log})")
        process = start_server(port, beam, serve_args, log)
        try:
            await wait_ready(f"http://127.0.0.1:{port}", process)
            reports.extend(
                await run_benchmark(
                    f"tcp://127.0.0.1:{port}",
                    data_sets,
                    modes=modes,
                    chunk_ms=chunk_ms,
                    server_pid=process.pid,
                    label=f"final beam {beam}",
                    scorer=scorer,
                    progress=progress,
                )
            )
        finally:
            await asyncio.to_thread(stop_server, process)
    return reports


def default_speech_dir() -> Path:
    """TCCC_SPEECH_DATA if set, else the shared speech clips beside the checkout."""
    env = os.environ.get("TCCC_SPEECH_DATA")
    return Path(env).expanduser() if env else DEFAULT_SPEECH_DIR


def speech_items(directory: Path, limit: int | None = None) -> list[BenchItem]:
    """Recorded clips with references (manifest.tsv), decoded to 16 kHz mono."""
    clips = load_clips(directory)[:limit]
    return [BenchItem("speech", c.path.name, c.reference, decode_audio(c.path)) for c in clips]


def narration_items(
    path: Path,
    voices: Sequence[str],
    cache_dir: Path,
    limit: int | None = None,
    delivery: Delivery | None = None,
) -> list[BenchItem]:
    """Dev narrations spoken by each espeak-ng voice (synthesised once, then cached)."""
    spoken = synthesise_cases(load_cases(path), voices, cache_dir, delivery=delivery, limit=limit)
    return [BenchItem("narrations", s.name, s.text, decode_audio(s.path)) for s in spoken]


def _beams(value: str) -> list[int]:
    try:
        beams = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("must be beams separated by commas, e.g. 1,5") from None
    if not beams or any(not 1 <= b <= 16 for b in beams):
        raise argparse.ArgumentTypeError("each beam must be 1-16")
    return beams


def _chunk_ms(value: str) -> int:
    ms = int(value)
    if not MIN_CHUNK_MS <= ms <= MAX_CHUNK_MS:
        raise argparse.ArgumentTypeError(f"must be {MIN_CHUNK_MS}-{MAX_CHUNK_MS} ms")
    return ms


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the options of `tccc bench stream`."""
    p.add_argument("--uri", default=DEFAULT_URI, help="Wyoming server (default %(default)s)")
    p.add_argument("--server-pid", type=int, help="pid of that server, for its CPU time and RSS")
    p.add_argument("--token", help="the server's API token (default: $TCCC_API_TOKEN)")
    p.add_argument("--data", choices=("narrations", "speech", "both"), default="both")
    p.add_argument("--limit", type=int, help="only the first N items of each data set")
    p.add_argument(
        "--chunk-ms",
        type=_chunk_ms,
        default=DEFAULT_CHUNK_MS,
        help=f"audio chunk length, {MIN_CHUNK_MS}-{MAX_CHUNK_MS} ms (default %(default)s)",
    )
    p.add_argument(
        "--mode",
        choices=("stream", "oneshot", "both"),
        default="both",
        help="real-time paced, unpaced, or both (default %(default)s)",
    )
    p.add_argument("--label", help="name of the run in the report (default: the server's name)")
    p.add_argument(
        "--final-beams",
        type=_beams,
        metavar="B1,B2,...",
        help="start tccc serve once per beam of the final decode (--final-beam-size) and "
        "compare them; --uri and --server-pid are then not used",
    )
    p.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an argument for the servers --final-beams starts (repeat it), "
        "e.g. --serve-arg=--profile=jetson-nano",
    )
    p.add_argument(
        "--serve-port",
        type=int,
        default=SERVE_PORT,
        help="port of the servers --final-beams starts (default %(default)s)",
    )
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    add_delivery_args(p)
    p.add_argument(
        "--speech-dir", type=Path, help="recorded clips with manifest.tsv (default: shared data)"
    )
    p.add_argument("--narrations", type=Path, help="narrations JSON (default: shared dev.json)")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        help="where synthesised narrations are cached (default %(default)s)",
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Run `tccc bench stream`: print the table, write JSON if asked; the exit status."""
    chosen = DATA_SETS if args.data == "both" else (args.data,)
    data_sets: dict[str, list[BenchItem]] = {}
    if "narrations" in chosen:
        voices, delivery = delivery_from_args(args)
        path = args.narrations or default_narrations_path()
        data_sets["narrations"] = narration_items(
            path, voices, args.cache_dir, args.limit, delivery
        )
    if "speech" in chosen:
        directory = args.speech_dir or default_speech_dir()
        if not directory.is_dir():
            print(f"tccc: no speech data at {directory} (pass --speech-dir)", file=sys.stderr)
            return 2
        data_sets["speech"] = speech_items(directory, args.limit)
    if not any(data_sets.values()):
        print("tccc: nothing to send (no items)", file=sys.stderr)
        return 2
    scorer = project_recall_scorer()  # None (recall shown as n/a) until the normaliser exists
    modes = MODES if args.mode == "both" else (args.mode,)

    def progress(line: str) -> None:
        print(f"  {line}", file=sys.stderr)

    if args.final_beams:
        log_dir = Path(tempfile.mkdtemp(prefix="tccc-bench-stream-"))
        reports = asyncio.run(
            run_final_beams(
                args.final_beams,
                data_sets,
                serve_args=args.serve_arg,
                port=args.serve_port,
                log_dir=log_dir,
                modes=modes,
                chunk_ms=args.chunk_ms,
                scorer=scorer,
                progress=progress,
            )
        )
    else:
        reports = asyncio.run(
            run_benchmark(
                args.uri,
                data_sets,
                modes=modes,
                chunk_ms=args.chunk_ms,
                server_pid=args.server_pid,
                label=args.label,
                scorer=scorer,
                progress=progress,
                token=args.token or os.environ.get("TCCC_API_TOKEN") or None,
            )
        )
    print(format_stream_table(reports))
    if args.json:
        args.json.write_text(to_json(reports), encoding="utf-8")
        print(f"JSON report: {args.json}", file=sys.stderr)
    return 0
