"""`tccc bench screens`: what the medic's page and the operator's dashboard cost and how fast
they are, measured against a real `tccc serve` through the routes the pages use.

Card latency: the narration is streamed over `/v1/stream` at real-time pace (as the page's
AudioWorklet sends it) while a second client follows `/v1/sessions/{id}/feed` (as the page
does). For each utterance whose facts reach a card, the time from when the audio of the end
of its speech was sent to when the first `state` holding one of its facts arrived: the same
measurement the page makes (`window.tccc.metrics`), less the browser's paint.

Dashboard cost: with the server otherwise idle, the server's CPU time (every thread, from
/proc) over a window with no dashboard, then with 1 and with N dashboards following
`/v1/dashboard/stream`; the difference is the dashboard's cost. The samples' own figure
(`cost.sample_cpu_ms`, the time spent reading the machine) is reported beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

from tccc.bench.load import clip_samples, free_port, start_server, wait_ready
from tccc.bench.procstat import process_cpu_s
from tccc.bench.stream import stop_server
from tccc.errors import TcccError

CHUNK_S = 0.1
"""Audio per WebSocket frame (the page's worklet sends about this much)."""
SAMPLE_RATE = 16000
SETTLE_S = 3.0
"""How long the feed is followed after the stream is done (the last card)."""
ANSWER_TIMEOUT_S = 60.0


@dataclass
class NarrationRun:
    """One narration streamed with a feed watching: per-utterance latencies (ms)."""

    card_ms: dict[int, float] = field(default_factory=dict)
    """Utterance id: end of its speech (audio sent) to the first state with one of its facts."""
    final_ms: dict[int, float] = field(default_factory=dict)
    """Utterance id: end of its speech to its final transcript on the WebSocket."""
    states: int = 0
    facts: int = 0


@dataclass
class DashboardCost:
    """Server CPU over a window with `dashboards` dashboard streams open."""

    dashboards: int
    window_s: float
    server_cpu_ms_per_s: float
    samples: int
    sample_cpu_ms: float | None
    """Mean time the sampler spent reading the machine per sample (its own figure)."""


@dataclass
class ScreensReport:
    """Everything `tccc bench screens` measured."""

    runs: list[NarrationRun]
    costs: list[DashboardCost]
    clip_s: float
    cpu_count: int | None = field(default_factory=os.cpu_count)

    def card_ms(self) -> list[float]:
        """Every utterance's card latency over all runs."""
        return [ms for run in self.runs for ms in run.card_ms.values()]

    def final_ms(self) -> list[float]:
        """Every utterance's final-transcript latency over all runs (those with facts)."""
        return [
            run.final_ms[uid] for run in self.runs for uid in run.card_ms if uid in run.final_ms
        ]


def value_utterances(state: dict[str, Any]) -> Iterator[tuple[int, int]]:
    """(fact id, utterance id) of every value on the cards of a feed's `state`."""
    for card in state.get("casualties", []):
        values: list[dict[str, Any] | None] = [card.get("evac"), card.get("time_of_injury")]
        values += card.get("identity", [])
        for section in card.get("sections", []):
            values += section.get("rows", [])
        for column in card.get("vitals", {}).get("columns", []):
            values += list(column.get("cells", {}).values())
        for value in values:
            if not value or value.get("fact") is None or not value.get("evidence"):
                continue
            uid = value["evidence"][0].get("utterance_id")
            if isinstance(uid, int):
                yield value["fact"], uid


class SentClock:
    """When each second of the stream's audio was sent (monotonic time)."""

    def __init__(self) -> None:
        self.ends: list[float] = []
        self.times: list[float] = []

    def sent(self, audio_end_s: float) -> None:
        """Audio up to `audio_end_s` (stream seconds) has just been sent."""
        self.ends.append(audio_end_s)
        self.times.append(time.monotonic())

    def at(self, audio_s: float) -> float | None:
        """When the audio at stream second `audio_s` was sent (None: not sent yet)."""
        i = bisect.bisect_left(self.ends, audio_s)
        return self.times[i] if i < len(self.times) else None


async def _sse_events(response: httpx.Response) -> Any:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


async def _follow_feed(
    http: httpx.AsyncClient, session_id: str, clock: SentClock, run: NarrationRun
) -> None:
    seen_facts: set[int] = set()
    headers = {"Accept": "text/event-stream"}
    async with http.stream("GET", f"/v1/sessions/{session_id}/feed", headers=headers) as response:
        if response.status_code != 200:
            raise TcccError(f"the feed answered {response.status_code}")
        async for event in _sse_events(response):
            if event.get("type") != "state":
                continue
            arrived = time.monotonic()
            run.states += 1
            run.facts = event.get("facts", run.facts)
            ends = {t["utterance_id"]: t["speech_end"] for t in event.get("transcripts", [])}
            for fact, uid in value_utterances(event):
                if fact in seen_facts:
                    continue
                seen_facts.add(fact)
                if uid in run.card_ms or uid not in ends:
                    continue
                sent = clock.at(float(ends[uid]))
                if sent is not None:
                    run.card_ms[uid] = round(1000 * (arrived - sent), 1)


async def narrate(base: str, samples: np.ndarray, token: str | None = None) -> NarrationRun:
    """Stream `samples` over /v1/stream at real-time pace with a feed following the session."""
    run = NarrationRun()
    clock = SentClock()
    query = "?rate=16000&format=s16le" + (f"&token={token}" if token else "")
    ws_uri = base.replace("http://", "ws://") + "/v1/stream" + query
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=None) as http,
        websockets.connect(ws_uri, open_timeout=30, max_size=2**22) as ws,
    ):
        first = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S))
        if first.get("type") != "session":
            raise TcccError(f"the stream was refused: {first.get('code')}")
        feed = asyncio.create_task(_follow_feed(http, first["id"], clock, run))

        async def read_finals() -> None:
            async for message in ws:
                event = json.loads(message)
                if event.get("type") == "final":
                    words = event.get("words") or []
                    end = words[-1]["end"] if words else event["end"]
                    sent = clock.at(float(end))
                    if sent is not None:
                        ms = round(1000 * (time.monotonic() - sent), 1)
                        run.final_ms[event["utterance_id"]] = ms
                elif event.get("type") in ("done", "error"):
                    return

        reader = asyncio.create_task(read_finals())
        step = int(CHUNK_S * SAMPLE_RATE)
        started = time.monotonic()
        for i in range(0, samples.size, step):
            await asyncio.sleep(max(0.0, started + i / SAMPLE_RATE - time.monotonic()))
            chunk = samples[i : i + step]
            await ws.send(chunk.astype("<i2").tobytes())
            clock.sent((i + chunk.size) / SAMPLE_RATE)
        await ws.send(json.dumps({"type": "stop"}))
        await asyncio.wait_for(reader, ANSWER_TIMEOUT_S)
        await asyncio.sleep(SETTLE_S)
        feed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed
    return run


async def _watch_dashboard(base: str, headers: dict[str, str], costs: list[float]) -> None:
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=None) as http,
        http.stream(
            "GET", "/v1/dashboard/stream", headers={"Accept": "text/event-stream"}
        ) as response,
    ):
        async for event in _sse_events(response):
            cost = event.get("cost") if event.get("type") == "sample" else None
            if cost is not None:
                costs.append(float(cost["sample_cpu_ms"]))


async def dashboard_cost(
    base: str, pid: int, dashboards: int, window_s: float, token: str | None = None
) -> DashboardCost:
    """The server's CPU over `window_s` with `dashboards` dashboard streams open."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    costs: list[float] = []
    watchers = [
        asyncio.create_task(_watch_dashboard(base, headers, costs)) for _ in range(dashboards)
    ]
    try:
        await asyncio.sleep(2.0)  # connected, and the backlog sent: steady state from here
        costs.clear()
        before = await asyncio.to_thread(process_cpu_s, pid)
        started = time.monotonic()
        await asyncio.sleep(window_s)
        after = await asyncio.to_thread(process_cpu_s, pid)
        elapsed = time.monotonic() - started
    finally:
        for task in watchers:
            task.cancel()
        for task in watchers:
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task
    for task in watchers:
        if not task.cancelled() and task.exception() is not None:
            raise TcccError(f"a dashboard stream failed: {task.exception()!r}")
    return DashboardCost(
        dashboards=dashboards,
        window_s=round(elapsed, 1),
        server_cpu_ms_per_s=round(1000 * (after - before) / elapsed, 2),
        samples=len(costs),
        sample_cpu_ms=round(sum(costs) / len(costs), 2) if costs else None,
    )


async def run_screens(
    base: str, pid: int, samples: np.ndarray, runs: int, dashboards: list[int], window_s: float
) -> ScreensReport:
    """The narration `runs` times with a feed, then the dashboard's cost at each count."""
    results = []
    for n in range(runs):
        results.append(await narrate(base, samples))
        print(
            f"screens: narration {n + 1}/{runs}: {len(results[-1].card_ms)} utterances with "
            "facts on the card",
            file=sys.stderr,
        )
    costs = []
    for count in dashboards:
        costs.append(await dashboard_cost(base, pid, count, window_s))
        print(f"screens: {count} dashboards: {costs[-1].server_cpu_ms_per_s} ms/s", file=sys.stderr)
    return ScreensReport(results, costs, clip_s=samples.size / SAMPLE_RATE)


def _pct(values: list[float], q: float) -> str:
    return "n/a" if not values else f"{float(np.percentile(values, q)):.0f}"


def format_report(report: ScreensReport) -> str:
    """The report as text."""
    cards, finals = report.card_ms(), report.final_ms()
    lines = [
        f"screens: {len(report.runs)} narrations of {report.clip_s:.1f} s streamed at real time "
        f"({report.cpu_count} CPUs)",
        f"end of speech -> card with its fact: p50 {_pct(cards, 50)} ms, p95 {_pct(cards, 95)}"
        f" ms, max {_pct(cards, 100)} ms over {len(cards)} utterances",
        f"end of speech -> final transcript (same utterances): p50 {_pct(finals, 50)} ms, "
        f"p95 {_pct(finals, 95)} ms",
        f"{'dashboards':>10} {'server CPU ms/s':>16} {'share of a core':>16} {'sample ms':>10}",
    ]
    idle = next((c.server_cpu_ms_per_s for c in report.costs if c.dashboards == 0), None)
    for c in report.costs:
        sample = "-" if c.sample_cpu_ms is None else f"{c.sample_cpu_ms:.2f}"
        lines.append(
            f"{c.dashboards:>10} {c.server_cpu_ms_per_s:>16.2f} "
            f"{c.server_cpu_ms_per_s / 10:>15.2f}% {sample:>10}"
        )
    if idle is not None:
        for c in report.costs:
            if c.dashboards:
                extra = (c.server_cpu_ms_per_s - idle) / c.dashboards
                lines.append(
                    f"dashboard cost with {c.dashboards} open: {extra:.2f} ms of server CPU per "
                    f"second per dashboard ({extra / 10:.2f} % of a core)"
                )
    return "\n".join(lines)


def to_json(report: ScreensReport) -> str:
    """The report as JSON (percentiles computed here too)."""
    cards = report.card_ms()
    body = asdict(report) | {
        "card_p50_ms": float(np.percentile(cards, 50)) if cards else None,
        "card_p95_ms": float(np.percentile(cards, 95)) if cards else None,
    }
    return json.dumps(body, indent=2)


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of `tccc bench screens`."""
    p.add_argument("--runs", type=int, default=3, help="narrations streamed (%(default)s)")
    p.add_argument("--clip", type=Path, help="audio to stream (default: the bundled narration)")
    p.add_argument("--clip-s", type=float, default=3600.0, help="only its first seconds")
    p.add_argument(
        "--dashboards",
        default="0,1,5",
        help="dashboard streams open in each CPU window, comma-separated (%(default)s)",
    )
    p.add_argument(
        "--window-s", type=float, default=30.0, help="seconds of each CPU window (%(default)s)"
    )
    p.add_argument("--serve-args", default="", help="extra `tccc serve` flags")
    p.add_argument("--json", type=Path, help="also write the report as JSON here")


def run_from_args(args: argparse.Namespace) -> int:
    """Run `tccc bench screens` against a `tccc serve` of its own."""
    try:
        dashboards = [int(x) for x in args.dashboards.split(",") if x.strip()]
    except ValueError:
        print("tccc: --dashboards takes counts such as 0,1,5", file=sys.stderr)
        return 2
    if args.runs < 0 or args.window_s <= 0 or args.clip_s <= 0 or any(n < 0 for n in dashboards):
        print(
            "tccc: --runs, --clip-s, --window-s and --dashboards must be positive", file=sys.stderr
        )
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)
    samples = clip_samples(args.clip, args.clip_s)
    # The casualty log of the run holds what the narration says: a private folder, removed.
    folder = Path(tempfile.mkdtemp(prefix="tccc-screens-"))
    port = free_port()
    process = start_server(port, folder, args.serve_args.split())
    base = f"http://127.0.0.1:{port}"
    print(f"screens: started tccc serve on port {port}", file=sys.stderr)
    try:
        wait_ready(base, process)
        report = asyncio.run(
            run_screens(base, process.pid, samples, args.runs, dashboards, args.window_s)
        )
    except (TcccError, OSError, httpx.HTTPError, websockets.WebSocketException) as exc:
        log = (folder / "serve.log").read_text(errors="replace")[-2000:]
        print(f"tccc: the screens benchmark failed: {exc}\n{log}", file=sys.stderr)
        return 1
    finally:
        stop_server(process)
        shutil.rmtree(folder, ignore_errors=True)
    print(format_report(report))
    if args.json:
        args.json.write_text(to_json(report), encoding="utf-8")
        print(f"JSON report: {args.json}", file=sys.stderr)
    return 0
