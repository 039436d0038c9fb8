"""Power profiles: component settings and, per board, the nvpmodel mode of each profile.

`tccc power PROFILE` applies one: it sets the nvpmodel mode when the tool exists and may be
run (root), and says exactly what it could not do otherwise. The component settings are what
the runtime applies in `tccc serve` (the battery saver uses the `saver` profile).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tccc.errors import ConfigError
from tccc.runtime.memory import jetson_board
from tccc.runtime.sysfs import read_text

PROFILES = ("performance", "balanced", "saver")
_POWER_MODEL = re.compile(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=([^\s>]+)\s*>")
_DEFAULT = re.compile(r"<\s*PM_CONFIG\s+DEFAULT=(\d+)\s*>")


@dataclass(frozen=True)
class PowerProfile:
    """What one profile does to the components."""

    name: str
    description: str
    llm: bool
    """Whether the language model runs."""
    beam_size: int | None
    """Decoder beam (None: as configured)."""
    partial_scale: float
    """Multiplier of the partial-transcript interval."""
    small_speech_model: bool
    """Use the runtime's small speech model."""
    modes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """nvpmodel mode NAMEs by board key, first present wins ("default": the conf's default)."""


@dataclass(frozen=True)
class Board:
    """A board the data file knows, and the device-tree text that identifies it."""

    key: str
    model_match: str


def _data() -> dict[str, Any]:
    text = resources.files("tccc").joinpath("data/power_profiles.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_power_profiles() -> dict[str, PowerProfile]:
    """The bundled profiles, with each board's nvpmodel mode name."""
    data = _data()
    out: dict[str, PowerProfile] = {}
    for name in PROFILES:
        raw = data["profiles"][name]
        modes = {
            key: tuple(str(n) for n in board[name])
            for key, board in data["boards"].items()
            if name in board
        }
        out[name] = PowerProfile(
            name=name,
            description=str(raw["description"]),
            llm=bool(raw["llm"]),
            beam_size=int(raw["beam_size"]) or None,
            partial_scale=float(raw["partial_scale"]),
            small_speech_model=bool(raw["small_speech_model"]),
            modes=modes,
        )
    return out


def power_profile(name: str) -> PowerProfile:
    """One profile by name (ConfigError naming the known ones)."""
    profiles = load_power_profiles()
    if name not in profiles:
        raise ConfigError(f"unknown power profile {name!r}; known: {', '.join(PROFILES)}")
    return profiles[name]


def detect_board(root: str | Path = "/") -> tuple[Board | None, str | None]:
    """The known board this is (by its device-tree model), and the model text read."""
    model, _jetson = jetson_board(Path(root))
    if model is None:
        return None, None
    for key, board in _data()["boards"].items():
        if str(board["model_match"]).lower() in model.lower():
            return Board(key, str(board["model_match"])), model
    return None, model


def parse_nvpmodel_conf(text: str) -> tuple[dict[str, int], int | None]:
    """Mode ids by NAME, and the default id, from an nvpmodel.conf."""
    modes = {name: int(mode_id) for mode_id, name in _POWER_MODEL.findall(text)}
    default = _DEFAULT.search(text)
    return modes, int(default.group(1)) if default else None


def choose_mode(names: tuple[str, ...], modes: dict[str, int], default: int | None) -> str | None:
    """The first of `names` the board has ("default": its default mode's name)."""
    for name in names:
        if name == "default":
            found = next((n for n, i in modes.items() if i == default), None)
            if found is not None:
                return found
        elif name in modes:
            return name
    return None


@dataclass
class PowerPlan:
    """What applying a profile did and could not do, line by line."""

    profile: PowerProfile
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable report."""
        p = self.profile
        settings = (
            f"language model {'on' if p.llm else 'off'}, beam "
            f"{p.beam_size or 'as configured'}, partial interval x{p.partial_scale:g}, "
            f"{'small' if p.small_speech_model else 'configured'} speech model"
        )
        return (
            [f"power profile {p.name}: {p.description}", f"components: {settings}"]
            + [f"done: {line}" for line in self.done]
            + [f"NOT done: {line}" for line in self.not_done]
        )


def apply_mode(
    profile: PowerProfile,
    *,
    root: str | Path = "/",
    nvpmodel: str = "nvpmodel",
    dry_run: bool = False,
    timeout_s: float = 20.0,
) -> PowerPlan:
    """Select the profile's nvpmodel mode on this board, or say exactly why it was not."""
    plan = PowerPlan(profile)
    board, model = detect_board(root)
    if board is None:
        plan.not_done.append(
            f"nvpmodel mode: not a known Jetson board (device-tree model: {model or 'unreadable'})"
        )
        return plan
    names = profile.modes.get(board.key)
    if not names:
        plan.not_done.append(f"nvpmodel mode: no mode for {board.key} in power_profiles.toml")
        return plan
    conf_path = Path(root) / "etc" / "nvpmodel.conf"
    text, why = read_text(conf_path)
    if text is None:
        plan.not_done.append(f"nvpmodel mode {names[0]}: cannot read {conf_path}: {why}")
        return plan
    modes, default = parse_nvpmodel_conf(text)
    name = choose_mode(names, modes, default)
    if name is None:
        known = ", ".join(sorted(modes)) or "none"
        plan.not_done.append(
            f"nvpmodel mode {' or '.join(names)}: not in {conf_path} (it has: {known})"
        )
        return plan
    command = [nvpmodel, "-m", str(modes[name])]
    executable = shutil.which(nvpmodel)
    if executable is None:
        plan.not_done.append(
            f"nvpmodel mode {name}: {nvpmodel} not found; run: {' '.join(command)}"
        )
        return plan
    if dry_run:
        plan.done.append(f"would run: {' '.join(command)} ({board.key}, mode {name})")
        return plan
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        plan.not_done.append(
            f"nvpmodel mode {name}: changing it needs root; run: sudo {' '.join(command)}"
        )
        return plan
    try:
        done = subprocess.run(
            [executable, "-m", str(modes[name])],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        plan.not_done.append(f"nvpmodel mode {name}: {exc}")
        return plan
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        plan.not_done.append(f"nvpmodel -m {modes[name]} exited {done.returncode}: {tail[0]}")
        return plan
    plan.done.append(f"nvpmodel mode {name} (id {modes[name]}) on {board.key}")
    return plan
