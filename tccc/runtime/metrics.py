"""Prometheus metrics of the edge runtime, registered on the server's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RuntimeMetrics:
    """Telemetry, component memory and the runtime's actions, at /metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.actions = Counter(
            "tccc_runtime_actions", "Policy actions taken, by action", ["action"], registry=r
        )
        self.component_loaded = Gauge(
            "tccc_runtime_component_loaded", "1 while a component is loaded", ["component"],
            registry=r,
        )  # fmt: skip
        self.component_memory = Gauge(
            "tccc_runtime_component_memory_mb",
            "RSS a component added at its last load (MiB)",
            ["component"],
            registry=r,
        )
        self.memory_budget = Gauge(
            "tccc_runtime_memory_budget_mb", "The profile's memory budget (MiB)", registry=r
        )
        self.process_rss = Gauge(
            "tccc_runtime_process_rss_mb", "Resident memory of the service (MiB)", registry=r
        )
        self.mem_available = Gauge(
            "tccc_runtime_mem_available_mb", "System MemAvailable (MiB)", registry=r
        )
        self.cpu_share = Gauge("tccc_runtime_cpu_share", "Busy share of all CPUs", registry=r)
        self.gpu_share = Gauge("tccc_runtime_gpu_share", "Jetson GPU load share", registry=r)
        self.temperature = Gauge(
            "tccc_runtime_temperature_c", "Temperature of the zone nearest throttling", registry=r
        )
        self.throttle = Gauge(
            "tccc_runtime_throttle_c", "That zone's throttle trip point", registry=r
        )
        self.input_power = Gauge("tccc_runtime_input_power_w", "Module input power", registry=r)
        self.battery_hours = Gauge(
            "tccc_runtime_battery_hours", "Estimated battery runtime left", registry=r
        )
        self.heat_step = Gauge(
            "tccc_runtime_heat_step", "0 normal, 1 reduced work, 2 minimal", registry=r
        )
        self.memory_shed = Gauge(
            "tccc_runtime_memory_shed", "1 while memory pressure has shed components", registry=r
        )
        self.saver = Gauge("tccc_runtime_saver", "1 while the battery saver is on", registry=r)
        self.sample_seconds = Histogram(
            "tccc_runtime_sample_seconds",
            "Wall time of one telemetry sample (the cost of monitoring)",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5),
            registry=r,
        )
