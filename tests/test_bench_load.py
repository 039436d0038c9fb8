"""`tccc bench load`: its arithmetic without a server, and a short real run against one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tccc.bench.load import ProtocolStats, percentile, split_clients

if TYPE_CHECKING:
    from conftest import Server, ServerFactory

REPO = Path(__file__).resolve().parents[1]


def test_clients_are_spread_evenly_over_the_protocols() -> None:
    assert split_clients(7, ("http", "wyoming", "websocket")) == {
        "http": 3,
        "wyoming": 2,
        "websocket": 2,
    }
    assert split_clients(2, ("websocket",)) == {"websocket": 2}


def test_percentiles_and_refusals() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    stats = ProtocolStats()
    assert stats.refusal(2.0) == 2.0 and stats.refused == 1
    assert stats.refusal(None) == 1.0 and stats.refused_without_hint == 1
    for i in range(20):
        stats.error(f"reason {i % 7}")
    assert stats.errors == 20 and len(stats.reasons) == 5


@pytest.mark.e2e
def test_bench_load_against_a_busy_server(server_factory: ServerFactory, tmp_path: Path) -> None:
    """Six clients, two per protocol, for 10 s against a server with one worker and no queue:
    every request is admitted or refused with a retry hint (none fails), and the server's
    memory is reported. (Fairness between the protocols: test_hardening_e2e.py.)"""
    busy: Server = server_factory("--num-workers", "1", "--queue-size", "0")
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, "-m", "tccc", "bench", "load", "--uri", busy.base_url,
         "--server-pid", str(busy.process.pid), "--clients", "6", "--seconds", "10",
         "--clip-s", "1.5", "--pace", "3", "--json", str(out), "--log-level", "warning"],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "server RSS MiB: start" in done.stdout, done.stdout
    report = json.loads(out.read_text())
    stats = report["stats"]
    assert set(stats) == {"http", "wyoming", "websocket"}
    for name, s in stats.items():
        assert s["clients"] == 2
        assert s["errors"] == 0, (name, s["reasons"], done.stdout)
        assert s["refused_without_hint"] == 0, (name, done.stdout)
        assert s["admitted"] + s["refused"] >= 1, (name, done.stdout)
        if s["admitted"]:
            assert s["p50_s"] is not None and s["p95_s"] >= s["p50_s"]
    assert sum(s["admitted"] for s in stats.values()) >= 2, done.stdout
    assert sum(s["refused"] for s in stats.values()) >= 1, done.stdout  # one worker: overload
    rss = report["rss_mb"]
    assert rss["start"] > 50 and rss["peak"] >= rss["start"] and rss["end"] > 50
    print(done.stdout)
