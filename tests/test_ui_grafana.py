"""The Grafana dashboard in deploy/grafana/ reads only metrics that `tccc serve` exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from tccc.runtime.metrics import RuntimeMetrics
from tccc.server.metrics import ServerMetrics

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "tccc-dashboard.json"
SUFFIXES = ("_bucket", "_total", "_sum", "_count", "_created")


def exported_names() -> set[str]:
    """Every sample name the server's registry can export (server and runtime metrics)."""
    metrics = ServerMetrics()
    registry: CollectorRegistry = metrics.registry
    RuntimeMetrics(registry)
    names = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_every_query_names_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 10
    seen = set()
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            for name in re.findall(r"\btccc_[a-z0-9_]+", target["expr"]):
                base = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
                assert name in exported or base in exported, (panel["title"], name)
                seen.add(base)
            assert 'instance=~"$instance"' in target["expr"], target["expr"]
    # The charts: latency, real-time factor, memory and budget, load, heat, power.
    for needed in (
        "tccc_transcription_seconds",
        "tccc_real_time_factor",
        "tccc_runtime_component_memory_mb",
        "tccc_runtime_memory_budget_mb",
        "tccc_runtime_cpu_share",
        "tccc_runtime_gpu_share",
        "tccc_runtime_temperature_c",
        "tccc_runtime_throttle_c",
        "tccc_runtime_input_power_w",
        "tccc_runtime_battery_hours",
    ):
        assert needed in seen, needed


def test_layout_is_importable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "instance"}
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
