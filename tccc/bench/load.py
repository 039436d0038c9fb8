"""`tccc bench load`: N concurrent real clients against `tccc serve` for a set time.

The clients are spread over the three ways in: HTTP uploads (`POST /v1/audio/transcriptions`),
Wyoming streaming (`transcribe`, `audio-start`, 100 ms `audio-chunk`s at `--pace` times real
time, `audio-stop`) and the `/v1/stream` WebSocket. Each client loops until the time is up.
Every request or stream ends one of three ways:

- admitted: answered with a transcript;
- refused: told to come back (503 with Retry-After, or a `server_busy` error event, with its
  retry hint); the client waits that long, as a well-behaved client does, and tries again;
- error: anything else (a reset, a timeout, an unexpected status or event).

The report gives those counts per protocol, the latency of the admitted ones (p50, p95: from
the last audio sent to the transcript; for HTTP, the whole request), and the server's resident
memory at the start, its peak, and at the end. Without `--uri` the bench starts its own
`tccc serve` (no language model) on a free port and stops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import psutil
import websockets
from wyoming.event import Event, async_read_event, async_write_event

from tccc.audio.decode import decode_audio
from tccc.errors import TcccError
from tccc.subprocesses import die_with_parent

PROTOCOLS = ("http", "wyoming", "websocket")
CHUNK_S = 0.1
"""Audio per Wyoming chunk or WebSocket frame."""
ANSWER_TIMEOUT_S = 120.0
"""Longest a client waits for a transcript before it counts an error."""
MAX_REASONS = 5
"""Distinct error reasons kept per protocol."""


@dataclass
class ProtocolStats:
    """What the clients of one protocol saw."""

    clients: int = 0
    admitted: int = 0
    refused: int = 0
    """Refused with a retry hint (Retry-After, or the error event's retry_after)."""
    refused_without_hint: int = 0
    errors: int = 0
    latencies_s: list[float] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def error(self, reason: str) -> None:
        """Count an error and keep its reason (the first few distinct ones)."""
        self.errors += 1
        if reason in self.reasons or len(self.reasons) < MAX_REASONS:
            self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def refusal(self, retry_after: float | None) -> float:
        """Count a refusal; the seconds to wait before trying again."""
        if retry_after is None:
            self.refused_without_hint += 1
            return 1.0
        self.refused += 1
        return max(0.1, retry_after)


@dataclass
class LoadReport:
    """The outcome of one run."""

    uri: str
    seconds: float
    pace: float
    clip_s: float
    stats: dict[str, ProtocolStats]
    rss_mb: dict[str, float | None]
    load_average: tuple[float, float, float]


@dataclass(frozen=True)
class Target:
    """Where the clients go."""

    host: str
    port: int
    token: str | None

    @property
    def base(self) -> str:
        """The HTTP base URL."""
        return f"http://{self.host}:{self.port}"


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of values, None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def clip_samples(path: Path | None, seconds: float) -> np.ndarray:
    """`seconds` of speech: from `path`, or the bundled sample narration."""
    if path is not None:
        samples = decode_audio(path)
    else:
        data = resources.files("tccc").joinpath("data/sample_narration.ogg").read_bytes()
        samples = decode_audio(data)
    return samples[: int(seconds * 16000)]


def wav_bytes(samples: np.ndarray) -> bytes:
    """16 kHz mono 16-bit WAV."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


# --- the clients ---------------------------------------------------------------------------


async def http_client(target: Target, wav: bytes, stats: ProtocolStats, until: float) -> None:
    """Upload the clip again and again."""
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    async with httpx.AsyncClient(base_url=target.base, timeout=ANSWER_TIMEOUT_S) as http:
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                response = await http.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("clip.wav", wav, "audio/wav")},
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                stats.error(type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            if response.status_code == 200:
                stats.latencies_s.append(time.monotonic() - started)
            elif response.status_code == 503:
                hint = response.headers.get("retry-after")
                await asyncio.sleep(stats.refusal(float(hint) if hint else None))
                continue
            else:
                stats.error(f"HTTP {response.status_code}")
                continue
            stats.admitted += 1


async def _paced(
    samples: np.ndarray, pace: float, send: Callable[[bytes], Awaitable[None]]
) -> float:
    """Send the clip in CHUNK_S pieces at `pace` x real time (0: at once); when the last went."""
    step = int(CHUNK_S * 16000)
    started = time.monotonic()
    for i in range(0, samples.size, step):
        if pace > 0:
            await asyncio.sleep(max(0.0, started + i / 16000 / pace - time.monotonic()))
        await send(samples[i : i + step].tobytes())
    return time.monotonic()


async def wyoming_client(
    target: Target, samples: np.ndarray, pace: float, stats: ProtocolStats, until: float
) -> None:
    """Stream the clip over Wyoming again and again."""
    while time.monotonic() < until:
        wait = await _wyoming_stream(target, samples, pace, stats)
        if wait is not None:
            await asyncio.sleep(wait)


async def _wyoming_stream(
    target: Target, samples: np.ndarray, pace: float, stats: ProtocolStats
) -> float | None:
    """One stream on a new connection; the seconds to wait before the next (None: none)."""
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    try:
        reader, writer = await asyncio.open_connection(target.host, target.port)
    except OSError as exc:
        stats.error(type(exc).__name__)
        return 0.5
    answers: asyncio.Queue[Event | None] = asyncio.Queue()
    errors: list[Event] = []

    async def read() -> None:
        try:
            while (event := await async_read_event(reader)) is not None:
                if event.type == "error":
                    errors.append(event)
                await answers.put(event)
        except (ConnectionError, ValueError):
            pass
        await answers.put(None)

    async def chunk(audio: bytes) -> None:
        if errors:  # refused (or failed) while the audio was going out: stop sending
            raise _Answered
        await async_write_event(Event("audio-chunk", fmt, audio), writer)

    reading = asyncio.create_task(read())
    try:
        data = {"language": "en", **({"token": target.token} if target.token else {})}
        await async_write_event(Event("transcribe", data), writer)
        await async_write_event(Event("audio-start", fmt), writer)
        last = await _paced(samples, pace, chunk)
        await async_write_event(Event("audio-stop"), writer)
        while True:
            event = await asyncio.wait_for(answers.get(), ANSWER_TIMEOUT_S)
            if event is None:
                stats.error("closed without a transcript")
                return None
            if event.type == "transcript":
                stats.admitted += 1
                stats.latencies_s.append(time.monotonic() - last)
                return None
            if event.type == "error":
                return _refusal(event, stats)
    except _Answered:
        return _refusal(errors[0], stats)
    except (ConnectionError, TimeoutError) as exc:
        stats.error(type(exc).__name__)
        return None
    finally:
        writer.close()
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading


class _Answered(Exception):
    """The server answered with an error while audio was being sent."""


def _refusal(event: Event, stats: ProtocolStats) -> float | None:
    """Count an error event: a refusal (the seconds to wait) or an error (None)."""
    code = event.data.get("code")
    if code in ("server_busy", "not_ready"):
        hint = event.data.get("retry_after")
        return stats.refusal(float(hint) if isinstance(hint, int | float) else None)
    stats.error(f"error event {code}")
    return None


async def websocket_client(
    target: Target, samples: np.ndarray, pace: float, stats: ProtocolStats, until: float
) -> None:
    """Stream the clip over /v1/stream again and again."""
    query = f"?token={target.token}" if target.token else ""
    uri = f"ws://{target.host}:{target.port}/v1/stream{query}"
    while time.monotonic() < until:
        wait = 0.0
        try:
            async with websockets.connect(uri, open_timeout=30, max_size=2**22) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S))
                if first.get("type") != "session":
                    if first.get("code") in ("server_busy", "not_ready"):
                        hint = first.get("retry_after")
                        wait = stats.refusal(float(hint) if hint is not None else None)
                    else:
                        stats.error(f"error {first.get('code')}")
                        wait = 0.5
                else:
                    last = await _paced(samples, pace, ws.send)
                    await ws.send(json.dumps({"type": "stop"}))
                    while True:
                        message = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S))
                        if message.get("type") == "done":
                            stats.admitted += 1
                            stats.latencies_s.append(time.monotonic() - last)
                            break
                        if message.get("type") == "error":
                            stats.error(f"error {message.get('code')}")
                            break
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            stats.error(type(exc).__name__)
            wait = 0.5
        if wait:
            await asyncio.sleep(wait)


# --- the run -------------------------------------------------------------------------------


async def sample_rss(pid: int | None, out: dict[str, float | None], stop: asyncio.Event) -> None:
    """The server's RSS at the start, its peak, and at the end (MiB)."""
    if pid is None:
        out.update(start=None, peak=None, end=None)
        return
    process = psutil.Process(pid)

    def rss() -> float | None:
        try:
            return float(process.memory_info().rss) / 2**20
        except psutil.Error:
            return None

    out["start"] = out["peak"] = rss()
    while not stop.is_set():
        now = rss()
        if now is not None:
            out["peak"] = max(out["peak"] or 0.0, now)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)
    out["end"] = rss()


def split_clients(clients: int, protocols: tuple[str, ...]) -> dict[str, int]:
    """Clients per protocol, as even as can be (the first protocols get the remainder)."""
    base, extra = divmod(clients, len(protocols))
    return {p: base + (1 if i < extra else 0) for i, p in enumerate(protocols)}


async def run_load(
    target: Target,
    *,
    clients: int,
    seconds: float,
    protocols: tuple[str, ...] = PROTOCOLS,
    samples: np.ndarray,
    pace: float,
    server_pid: int | None,
) -> LoadReport:
    """Run the clients for `seconds` and collect what they saw."""
    counts = split_clients(clients, protocols)
    stats = {p: ProtocolStats(clients=counts[p]) for p in protocols}
    wav = wav_bytes(samples)
    until = time.monotonic() + seconds
    rss: dict[str, float | None] = {}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(server_pid, rss, stop))
    tasks = []
    for protocol, n in counts.items():
        for _ in range(n):
            if protocol == "http":
                tasks.append(http_client(target, wav, stats[protocol], until))
            elif protocol == "wyoming":
                tasks.append(wyoming_client(target, samples, pace, stats[protocol], until))
            else:
                tasks.append(websocket_client(target, samples, pace, stats[protocol], until))
    await asyncio.gather(*tasks)
    stop.set()
    await sampler
    return LoadReport(
        uri=target.base,
        seconds=seconds,
        pace=pace,
        clip_s=samples.size / 16000,
        stats=stats,
        rss_mb=rss,
        load_average=os.getloadavg(),
    )


def format_report(report: LoadReport) -> str:
    """The report as a table."""

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    def mib(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f}"

    clients = sum(s.clients for s in report.stats.values())
    lines = [
        f"load: {clients} clients for {report.seconds:g} s against {report.uri} "
        f"({report.clip_s:.1f} s clip, streams at {report.pace:g}x real time; "
        f"load average {report.load_average[0]:.2f})",
        f"{'protocol':<10} {'clients':>7} {'admitted':>8} {'refused+RA':>10} "
        f"{'refused':>7} {'errors':>6} {'p50 s':>6} {'p95 s':>6}",
    ]
    everything = ProtocolStats()
    for name, s in report.stats.items():
        lines.append(_row(name, s, secs))
        everything.clients += s.clients
        everything.admitted += s.admitted
        everything.refused += s.refused
        everything.refused_without_hint += s.refused_without_hint
        everything.errors += s.errors
        everything.latencies_s += s.latencies_s
    lines.append(_row("all", everything, secs))
    rss = report.rss_mb
    lines.append(
        f"server RSS MiB: start {mib(rss.get('start'))}, peak {mib(rss.get('peak'))}, "
        f"end {mib(rss.get('end'))}"
    )
    for name, s in report.stats.items():
        for reason, n in s.reasons.items():
            lines.append(f"error ({name}): {reason} x{n}")
    return "\n".join(lines)


def _row(name: str, s: ProtocolStats, secs: Callable[[float | None], str]) -> str:
    return (
        f"{name:<10} {s.clients:>7} {s.admitted:>8} {s.refused:>10} "
        f"{s.refused_without_hint:>7} {s.errors:>6} "
        f"{secs(percentile(s.latencies_s, 50)):>6} {secs(percentile(s.latencies_s, 95)):>6}"
    )


def to_json(report: LoadReport) -> str:
    """The report as JSON, with the percentiles."""
    body = asdict(report)
    for name, s in report.stats.items():
        body["stats"][name]["p50_s"] = percentile(s.latencies_s, 50)
        body["stats"][name]["p95_s"] = percentile(s.latencies_s, 95)
    return json.dumps(body, indent=2)


# --- a server of its own -------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on loopback a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, folder: Path, extra: list[str]) -> subprocess.Popen[bytes]:
    """`tccc serve --no-llm` on loopback, its casualty log and log file in `folder`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCCC_")}
    env["TCCC_DB"] = str(folder / "load.db")  # never the user's casualty log
    with (folder / "serve.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tccc", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--no-llm", *extra],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),  # never left running if the bench is killed
        )  # fmt: skip


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    """Until /readyz answers 200 (TcccError if the server dies or never gets there)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TcccError(f"the server exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TcccError("the server was not ready in time")


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of `tccc bench load`."""
    p.add_argument("--uri", help="a running server, http://host:port (default: start one)")
    p.add_argument("--clients", type=int, default=6, help="concurrent clients (%(default)s)")
    p.add_argument("--seconds", type=float, default=30.0, help="how long (%(default)s)")
    p.add_argument(
        "--protocols",
        default=",".join(PROTOCOLS),
        help="which clients, spread evenly: http,wyoming,websocket (default: all three)",
    )
    p.add_argument("--pace", type=float, default=1.0, help="stream speed x real time (0: at once)")
    p.add_argument("--clip", type=Path, help="audio to send (default: the bundled narration)")
    p.add_argument("--clip-s", type=float, default=4.0, help="seconds of it (%(default)s)")
    p.add_argument("--token", help="the server's API token (or TCCC_API_TOKEN)")
    p.add_argument("--server-pid", type=int, help="pid of that server, for its memory")
    p.add_argument("--serve-args", default="", help="extra `tccc serve` flags (own server)")
    p.add_argument("--json", type=Path, help="also write the report as JSON here")


def run_from_args(args: argparse.Namespace) -> int:
    """Run `tccc bench load`."""
    protocols = tuple(p.strip() for p in args.protocols.split(",") if p.strip())
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown or not protocols:
        print(f"tccc: unknown protocols {unknown}; known: {', '.join(PROTOCOLS)}", file=sys.stderr)
        return 2
    if args.clients < 1 or args.seconds <= 0:
        print("tccc: --clients and --seconds must be positive", file=sys.stderr)
        return 2
    # httpx logs every request at INFO: thousands of lines would bury the report.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    samples = clip_samples(args.clip, args.clip_s)
    token = args.token or os.environ.get("TCCC_API_TOKEN") or None
    process: subprocess.Popen[bytes] | None = None
    pid = args.server_pid
    if args.uri:
        parts = urlsplit(args.uri)
        target = Target(parts.hostname or "127.0.0.1", parts.port or 10300, token)
    else:
        folder = Path(tempfile.mkdtemp(prefix="tccc-load-"))
        port = free_port()
        process = start_server(port, folder, args.serve_args.split())
        target = Target("127.0.0.1", port, None)
        print(f"load: started tccc serve on port {port} (log {folder / 'serve.log'})",
              file=sys.stderr)  # fmt: skip
        pid = process.pid
    try:
        if process is not None:
            wait_ready(target.base, process)
        report = asyncio.run(
            run_load(
                target,
                clients=args.clients,
                seconds=args.seconds,
                protocols=protocols,
                samples=samples,
                pace=args.pace,
                server_pid=pid,
            )
        )
    finally:
        if process is not None:
            from tccc.bench.stream import stop_server

            stop_server(process)
    print(format_report(report))
    if args.json:
        args.json.write_text(to_json(report), encoding="utf-8")
        print(f"JSON report: {args.json}", file=sys.stderr)
    return 0
