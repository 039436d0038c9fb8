"""`tccc runtime simulate TRACE`: a telemetry trace through the policy, as a timeline.

A trace is JSON lines, one reading each: {"t_s", "mem_available_mb", "service_mb", "temp_c",
"throttle_c"} (missing keys: the reader could not tell). The bundled traces (heat ramp, memory
spike) live in tccc/data/traces/ and are named without their extension.
"""

from __future__ import annotations

import json
from dataclasses import fields
from importlib import resources
from pathlib import Path

from tccc.errors import ConfigError
from tccc.runtime.policy import Action, PolicyConfig, PolicyState, Reading, decide

_KEYS = {f.name for f in fields(Reading)}


def bundled_traces() -> list[str]:
    """Names of the traces shipped with tccc."""
    folder = resources.files("tccc").joinpath("data/traces")
    return sorted(
        p.name.removesuffix(".jsonl") for p in folder.iterdir() if p.name.endswith(".jsonl")
    )


def load_trace(name_or_path: str) -> list[Reading]:
    """A trace by bundled name or file path (ConfigError when it cannot be read)."""
    path = Path(name_or_path)
    if not path.is_file():
        bundled = resources.files("tccc").joinpath(f"data/traces/{name_or_path}.jsonl")
        if not bundled.is_file():
            known = ", ".join(bundled_traces())
            raise ConfigError(f"no trace {name_or_path!r} (a file, or one of: {known})")
        text = bundled.read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    readings = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            readings.append(Reading(**{k: v for k, v in data.items() if k in _KEYS}))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"trace line {number}: {exc}") from exc
    return readings


def timeline(readings: list[Reading], config: PolicyConfig | None = None) -> list[str]:
    """One line per action: time, action, reason (and the state it leaves)."""
    config = config or PolicyConfig()
    state = PolicyState()
    lines: list[str] = []
    actions: list[Action]
    for reading in readings:
        state, actions = decide(state, reading, config)
        for action in actions:
            lines.append(
                f"{action.t_s:7.1f} s  {action.name:<22} {action.reason}"
                f"  [heat step {state.thermal}, memory {'shed' if state.memory_shed else 'ok'}]"
            )
    return lines
