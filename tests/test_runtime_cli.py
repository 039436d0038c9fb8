"""`tccc runtime simulate` over the bundled traces, trace errors, and `tccc doctor`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tccc.errors import ConfigError
from tccc.runtime.doctor import board_model, examine, recommend
from tccc.runtime.simulate import bundled_traces, load_trace, timeline


def tccc(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `tccc` command."""
    exe = Path(sys.executable).with_name("tccc")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "TCCC_LOG_LEVEL": "warning"},
    )  # fmt: skip


def test_bundled_traces_replay_to_their_timelines() -> None:
    assert {"heat-ramp", "memory-spike"} <= set(bundled_traces())
    heat = timeline(load_trace("heat-ramp"))
    assert [line.split()[2] for line in heat] == [
        "reduce_work", "pause_llm", "small_speech_model", "refuse_new_streams",
        "restore_speech_model", "accept_new_streams", "restore_work", "resume_llm",
    ]  # fmt: skip
    memory = timeline(load_trace("memory-spike"))
    assert [line.split()[2] for line in memory] == [
        "unload_llm", "shrink_caches", "restore_caches", "reload_llm",
    ]  # fmt: skip


def test_a_trace_file_and_its_errors(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    rows = [{"t_s": i * 5.0, "mem_available_mb": 100.0, "unknown_key": 1} for i in range(3)]
    trace.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert [line.split()[2] for line in timeline(load_trace(str(trace)))] == [
        "unload_llm",
        "shrink_caches",
    ]
    trace.write_text('{"t_s": 0}\nnot json\n')
    with pytest.raises(ConfigError, match="trace line 2"):
        load_trace(str(trace))
    with pytest.raises(ConfigError, match="heat-ramp"):
        load_trace("no-such-trace")


def test_simulate_command() -> None:
    proc = tccc("runtime", "simulate", "heat-ramp")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("134 readings over 665 s, 8 actions")
    assert tccc("runtime", "simulate", "nope").returncode == 2


def test_doctor_recommends_the_board_profile(tmp_path: Path) -> None:
    assert recommend("NVIDIA Jetson Orin Nano Developer Kit", 0) == "jetson-orin-nano"
    assert recommend("NVIDIA Jetson Xavier NX Developer Kit", 0) == "jetson-xavier-nx"
    assert recommend("NVIDIA Jetson Nano Developer Kit", 0) == "jetson-nano"
    assert recommend(None, 1) == "gpu" and recommend(None, 0) == "cpu"
    tree = tmp_path / "proc/device-tree"
    tree.mkdir(parents=True)
    (tree / "model").write_bytes(b"NVIDIA Jetson Orin Nano Developer Kit\0")
    assert board_model(tmp_path) == "NVIDIA Jetson Orin Nano Developer Kit"
    assert board_model(tmp_path / "missing") is None
    findings, profile = examine(tmp_path)
    assert profile == "jetson-orin-nano" and findings[0].value.startswith("NVIDIA Jetson")
    proc = tccc("doctor")
    assert proc.returncode == 0 and "profile" in proc.stdout and "speech model" in proc.stdout


def test_battery_drain_trace_enters_and_leaves_the_saver() -> None:
    lines = timeline(load_trace("battery-drain"))
    assert [line.split()[2] for line in lines] == ["enter_saver", "leave_saver"]
    assert "battery 0.92 h left < 1.00 h" in lines[0]


def test_simulate_against_the_real_components() -> None:
    """Memory spike through the manager of the real tiny.en and SmolLM2: the language model is
    really unloaded (memory given back) and reloaded, and speech keeps transcribing."""
    done = tccc("runtime", "simulate", "memory-spike", "--real")
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "against the real components" in out[0]
    events = [line.split(None, 3)[2:] for line in out[1:]]
    names = [e[0] for e in events if e]
    assert names.index("unload_llm") < names.index("reload_llm")
    unloaded = next(line for line in out if " llm " in line and "unloaded, freed" in line)
    freed = float(unloaded.split("freed ")[1].split(" MiB")[0])
    assert freed > 50, unloaded  # SmolLM2's weights went back to the system
    probes = [line for line in out if " probe " in line]
    assert len(probes) >= 3 and all("tiny.en" in p and " 0 words" not in p for p in probes)
