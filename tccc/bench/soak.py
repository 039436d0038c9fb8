"""`tccc bench soak`: narration at real-time pace through `tccc serve` for a long time.

The bench starts its own server (language model on, runtime sampling every 2 s) with its
thermal zones read from a small tree this bench writes, so a heat ramp can be injected
halfway through: the server reads it with its real thermal reader and its policy acts. The
narrations are streamed one after another over Wyoming, each at real-time pace. Every
`sample_s` the server's RSS and /v1/runtime are recorded. The report gives RSS over time and
its growth after warm-up, final-transcript latency per window, refused streams, the language
model's counts, and the runtime's actions with their times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tccc.bench.narrations import (
    DEFAULT_CACHE_DIR,
    add_delivery_args,
    default_narrations_path,
    delivery_from_args,
)
from tccc.bench.stream import BenchItem, exchange, narration_items
from tccc.bench.stream_metrics import percentile, speech_end_sample
from tccc.errors import TcccError
from tccc.subprocesses import die_with_parent

THROTTLE_C = 85.0
"""The trip point written into the injected thermal zone."""
BASE_C = 50.0


@dataclass
class SoakReport:
    """Everything measured in one soak."""

    minutes: float
    rss: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since start, server RSS MiB)."""
    finals: list[tuple[float, float, float | None]] = field(default_factory=list)
    """(seconds since start, final after audio-stop s, final after speech end s)."""
    refused: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    heat: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since start, injected temperature C)."""
    actions: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    llm: dict[str, float] = field(default_factory=dict)
    warmup_s: float = 300.0
    narrations: int = 0
    audio_s: float = 0.0


def write_zone(root: Path, temp_c: float) -> None:
    """A thermal zone (`soak-therm`, passive trip at THROTTLE_C) under `root`."""
    zone = root / "sys" / "class" / "thermal" / "thermal_zone0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "type").write_text("soak-therm\n")
    (zone / "trip_point_0_type").write_text("passive\n")
    (zone / "trip_point_0_temp").write_text(f"{int(THROTTLE_C * 1000)}\n")
    tmp = zone / "temp.new"
    tmp.write_text(f"{int(temp_c * 1000)}\n")
    tmp.replace(zone / "temp")  # atomic: the reader never sees half a number


def ramp_c(t_s: float) -> float:
    """The injected heat ramp: 3 min up to 82 C, 3 min held, 4 min back down."""
    if t_s < 0:
        return BASE_C
    if t_s < 180:
        return BASE_C + (82.0 - BASE_C) * t_s / 180
    if t_s < 360:
        return 82.0
    if t_s < 600:
        return 82.0 - (82.0 - BASE_C) * (t_s - 360) / 240
    return BASE_C


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MiB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def start_server(port: int, root: Path, log: Path, extra: list[str]) -> subprocess.Popen[bytes]:
    """`tccc serve --llm` reading its thermal zones under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCCC_")}
    env.update(
        TCCC_RUNTIME_SYSFS_ROOT=str(root),
        TCCC_RUNTIME_INTERVAL_S="2",
        TCCC_DB=str(root / "soak.db"),  # the records on disk, as in the field; not the user's
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tccc", "serve", "--port", str(port), "--llm", *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),  # never left running if the bench is killed
        )


async def wait_ready(base: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    """Until /readyz answers 200 (TcccError if the server dies or never gets there)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise TcccError(f"the server exited with {process.returncode}")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TcccError("the server was not ready in time")


async def soak(
    items: list[BenchItem],
    *,
    minutes: float,
    heat_at: float,
    port: int,
    sample_s: float,
    log: Path,
    extra: list[str],
) -> SoakReport:
    """Run the soak and return what it measured."""
    report = SoakReport(minutes=minutes, warmup_s=min(300.0, minutes * 60 / 6))
    root = Path(tempfile.mkdtemp(prefix="tccc-soak-"))
    write_zone(root, BASE_C)
    process = start_server(port, root, log, extra)
    base, uri = f"http://127.0.0.1:{port}", f"tcp://127.0.0.1:{port}"
    try:
        await wait_ready(base, process)
        t0 = time.monotonic()
        end = t0 + minutes * 60
        heat_start = minutes * 60 * heat_at

        async def monitor() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                while True:
                    now = time.monotonic() - t0
                    value = rss_mb(process.pid)
                    if value is not None:
                        report.rss.append((round(now, 1), round(value, 1)))
                    with_heat = ramp_c(now - heat_start)
                    write_zone(root, with_heat)
                    report.heat.append((round(now, 1), round(with_heat, 1)))
                    try:
                        await http.get("/v1/runtime")
                    except httpx.TransportError as exc:
                        report.failures.append(f"{now:.0f} s runtime API: {exc}")
                    await asyncio.sleep(sample_s)

        watcher = asyncio.create_task(monitor(), name="soak-monitor")
        i = 0
        try:
            while time.monotonic() < end:
                item = items[i % len(items)]
                i += 1
                started = time.monotonic() - t0
                end_sample = speech_end_sample(item.audio)
                try:
                    ex = await exchange(uri, item.audio, paced=True, speech_end=end_sample)
                except TcccError as exc:
                    if "too hot" in str(exc) or "busy" in str(exc).lower():
                        report.refused.append(round(started, 1))
                    else:
                        report.failures.append(f"{started:.0f} s {item.name}: {exc}")
                    await asyncio.sleep(2.0)
                    continue
                final = ex.first("transcript")
                if final is None:
                    report.failures.append(f"{started:.0f} s {item.name}: no transcript")
                    continue
                after_speech = (
                    final.at - ex.last_speech_sent if ex.last_speech_sent is not None else None
                )
                report.finals.append(
                    (round(started, 1), final.at - ex.audio_stop_sent, after_speech)
                )
                report.narrations += 1
                report.audio_s += item.audio.size / 16000
                await asyncio.sleep(1.0)  # a breath between casualties
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            runtime = (await http.get("/v1/runtime")).json()
            metrics = (await http.get("/metrics")).text
        report.components = runtime["components"]
        report.actions = [
            {"t_s": round(e["at"] - (time.time() - (time.monotonic() - t0)), 1), **e}
            for e in runtime["events"]
        ]
        report.llm = _llm_counts(metrics)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return report


def _llm_counts(metrics: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("tccc_llm_utterances_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            out[outcome] = float(line.rsplit(" ", 1)[1])
    return out


def _window_lines(report: SoakReport, window_s: float) -> list[str]:
    lines = []
    end = report.minutes * 60
    t = 0.0
    while t < end:
        stop = [f[1] for f in report.finals if t <= f[0] < t + window_s]
        speech = [f[2] for f in report.finals if t <= f[0] < t + window_s and f[2] is not None]
        rss = [r for at, r in report.rss if t <= at < t + window_s]
        heat = [h for at, h in report.heat if t <= at < t + window_s]
        refused = sum(1 for r in report.refused if t <= r < t + window_s)
        lines.append(
            f"{t / 60:5.0f}-{(t + window_s) / 60:<3.0f} min  "
            f"{len(stop):3d} narr  final after stop p50 {_p(stop, 50)} p95 {_p(stop, 95)}  "
            f"after speech p50 {_p(speech, 50)}  RSS {_mean(rss)} MiB  "
            f"max {max(heat) if heat else float('nan'):.0f} C  refused {refused}"
        )
        t += window_s
    return lines


def _p(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.2f} s" if values else "  n/a "


def _mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):6.1f}" if values else "   n/a"


def growth(report: SoakReport) -> tuple[float, float, float] | None:
    """RSS just after warm-up, at the end (medians of 2-minute spans), and growth in %."""
    after = [r for t, r in report.rss if report.warmup_s <= t < report.warmup_s + 120]
    last_t = report.rss[-1][0] if report.rss else 0.0
    tail = [r for t, r in report.rss if t >= last_t - 120]
    if not after or not tail:
        return None
    a, b = sorted(after)[len(after) // 2], sorted(tail)[len(tail) // 2]
    return a, b, 100 * (b - a) / a


def format_report(report: SoakReport, window_s: float) -> str:
    """The soak report as text."""
    lines = [
        f"soak: {report.minutes:g} min, {report.narrations} narrations, "
        f"{report.audio_s / 60:.1f} min of audio, {len(report.refused)} refused, "
        f"{len(report.failures)} failures",
    ]
    g = growth(report)
    if g:
        verdict = "under" if g[2] < 5 else "OVER"
        lines.append(
            f"RSS after warm-up ({report.warmup_s / 60:.0f} min) {g[0]:.1f} MiB, at the end "
            f"{g[1]:.1f} MiB: growth {g[2]:+.2f} % ({verdict} the 5 % limit); "
            f"max {max(r for _, r in report.rss):.1f} MiB"
        )
    stop = [f[1] for f in report.finals]
    lines.append(f"final after audio-stop, all: p50 {_p(stop, 50)} p95 {_p(stop, 95)}")
    lines.append("language model: " + ", ".join(f"{k} {v:.0f}" for k, v in report.llm.items()))
    lines.append("over time:")
    lines += ["  " + line for line in _window_lines(report, window_s)]
    lines.append("runtime actions:")
    lines += [
        f"  {a['t_s']:7.1f} s  {a['action']:<20} {a['reason']}: {a['result']}"
        for a in report.actions
        if a["t_s"] >= 0
    ]
    lines += [f"failure: {f}" for f in report.failures[:20]]
    return "\n".join(lines)


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of `tccc bench soak`."""
    p.add_argument("--minutes", type=float, default=30.0, help="length (default %(default)s)")
    p.add_argument(
        "--heat-at", type=float, default=0.5, help="inject the heat ramp at this fraction"
    )
    p.add_argument("--port", type=int, default=10391, help="port of the server it starts")
    p.add_argument("--sample-s", type=float, default=5.0, help="seconds between RSS samples")
    p.add_argument("--window-min", type=float, default=5.0, help="report window (minutes)")
    p.add_argument("--json", type=Path, help="also write the raw figures as JSON here")
    p.add_argument("--server-log", type=Path, help="where the server logs (default: temp)")
    p.add_argument("--limit", type=int, help="only the first N narrations")
    p.add_argument("--narrations", type=Path, help="narrations JSON (default: shared dev.json)")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    add_delivery_args(p)


def run_from_args(args: argparse.Namespace) -> int:
    """Run `tccc bench soak`."""
    voices, delivery = delivery_from_args(args)
    path = args.narrations or default_narrations_path()
    items = narration_items(path, voices, args.cache_dir, args.limit, delivery)
    if not items:
        print("tccc: no narrations to send", file=sys.stderr)
        return 2
    # httpx logs every request at INFO: one line per runtime poll would bury the report.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log = args.server_log or Path(tempfile.mkdtemp(prefix="tccc-soak-log-")) / "serve.log"
    print(f"soak: {len(items)} narrations, server log {log}", file=sys.stderr)
    report = asyncio.run(
        soak(
            items,
            minutes=args.minutes,
            heat_at=args.heat_at,
            port=args.port,
            sample_s=args.sample_s,
            log=log,
            extra=[],
        )
    )
    print(format_report(report, args.window_min * 60))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1), encoding="utf-8")
    g = growth(report)
    return 0 if not report.failures and (g is None or g[2] < 5) else 1
