"""Prometheus metrics of one server instance (own registry: no module-level state)."""

from __future__ import annotations

import psutil
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
_RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2)


class ServerMetrics:
    """Counters, histograms and gauges exposed at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tccc_requests",
            "Requests by protocol, route and status",
            ["protocol", "route", "status"],
            registry=r,
        )
        self.request_latency = Histogram(
            "tccc_request_latency_seconds",
            "Request latency",
            ["protocol", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.audio_seconds = Counter(
            "tccc_audio_seconds", "Seconds of audio transcribed", registry=r
        )
        self.transcription_seconds = Histogram(
            "tccc_transcription_seconds",
            "Time spent in the transcriber",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.real_time_factor = Histogram(
            "tccc_real_time_factor",
            "Transcription time / audio duration",
            buckets=_RTF_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "tccc_queue_depth", "Transcriptions admitted and not finished", registry=r
        )
        self.rejected = Counter(
            "tccc_rejected",
            "Requests and streams refused as busy (queue, live slots, decode memory)",
            registry=r,
        )
        self.model_load_seconds = Gauge(
            "tccc_model_load_seconds", "Time the speech model took to load", registry=r
        )
        self.model_loaded = Gauge("tccc_model_loaded", "1 once the model is loaded", registry=r)
        self.llm_utterances = Counter(
            "tccc_llm_utterances",
            "Utterances of live sessions by what the language model did with them",
            ["outcome"],
            registry=r,
        )
        self.errors = Counter("tccc_errors", "Errors by code", ["code"], registry=r)
        self.wyoming_connections = Gauge(
            "tccc_wyoming_connections", "Open Wyoming connections", registry=r
        )
        self.live_sessions = Gauge(
            "tccc_live_sessions", "Live audio streams being transcribed", registry=r
        )
        self.live_partials = Counter(
            "tccc_live_partials", "Partial transcripts sent to live clients", registry=r
        )
        self.live_finals = Counter(
            "tccc_live_finals", "Final transcripts of live utterances", registry=r
        )
        self.suppressed = Counter(
            "tccc_suppressed_segments",
            "Decoded segments suppressed as hallucinations, by reason",
            ["reason"],
            registry=r,
        )
        self.audio_dropped_seconds = Counter(
            "tccc_audio_dropped_seconds",
            "Live audio dropped because the capture buffer overflowed",
            registry=r,
        )
        self.open_connections = Gauge(
            "tccc_open_connections", "Open connections on the port, both protocols", registry=r
        )
        self.connections_refused = Counter(
            "tccc_connections_refused",
            "Connections closed unserved: over the limit, in the health-check reserve, "
            "idle before their first request, or whitespace only",
            ["reason"],
            registry=r,
        )
        self.timed_out = Counter(
            "tccc_idle_timeouts",
            "Connections closed because the client stopped sending half-way",
            ["protocol"],
            registry=r,
        )
        self.decode_memory = Gauge(
            "tccc_decode_memory_bytes",
            "Memory held by decoded uploads (counted against server.max_decode_mb)",
            registry=r,
        )
        process = psutil.Process()
        memory = Gauge("tccc_process_resident_memory_bytes", "Resident memory", registry=r)
        memory.set_function(lambda: float(process.memory_info().rss))
