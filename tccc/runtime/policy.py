"""The runtime policy: a pure function from telemetry readings (and their trend) to actions.

Two ladders, each climbed one step at a time and descended one step at a time:

- memory: under pressure (little `MemAvailable`, or the service over its budget) the language
  model is unloaded and the caches shrink first; they come back once memory stays comfortable;
- heat: near the board's throttle point (from its trip points) work is reduced first (beam 1
  for every decode, live finals' `stream.final_beam_size` included; longer partial interval;
  language model paused); if it is still getting hotter, a smaller speech model is used and
  new streams are refused. A rising trend that would reach the throttle point within
  `horizon_s` acts early.

Hysteresis keeps it from flapping: a step is undone only after readings have stayed below the
step's threshold minus a margin for `restore_after_s`. Speech recognition of an ongoing
narration is never given up: no action stops it. Every action carries its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

THERMAL_STEPS = ("normal", "reduced", "minimal")
"""Heat ladder: normal; reduced work; smaller speech model and no new streams."""

_CLIMB = {1: ("reduce_work", "pause_llm"), 2: ("small_speech_model", "refuse_new_streams")}
_DESCEND = {1: ("restore_work", "resume_llm"), 2: ("restore_speech_model", "accept_new_streams")}


@dataclass(frozen=True)
class Reading:
    """One telemetry sample as the policy sees it (None: the reader could not tell)."""

    t_s: float
    mem_available_mb: float | None = None
    service_mb: float | None = None
    """Resident memory of the whole service."""
    temp_c: float | None = None
    """The hottest zone that matters (CPU, GPU, SoC or junction)."""
    throttle_c: float | None = None
    """Where the board starts to throttle: its first passive trip point."""
    battery_h: float | None = None
    """Estimated battery runtime left at the present draw (None: mains, or not measured)."""
    battery_wh: float | None = None
    """Charge left; it only rises with a new battery or charging."""


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds; the profile sets the budget."""

    memory_budget_mb: float = 4096.0
    budget_share: float = 0.9
    """The service over this share of its budget is memory pressure."""
    min_available_mb: float = 400.0
    """Less free system memory than this is memory pressure."""
    memory_margin_mb: float = 200.0
    reduce_below_c: float = 10.0
    """Reduce work this many degrees below the throttle point."""
    minimal_below_c: float = 4.0
    """Smaller model and no new streams this many degrees below it (if still rising)."""
    hysteresis_c: float = 5.0
    restore_after_s: float = 30.0
    horizon_s: float = 60.0
    """Act early when the trend reaches the throttle point within this time."""
    trend_window_s: float = 60.0
    saver_below_h: float = 1.0
    """Enter the saver profile when the battery runtime left falls below this."""
    saver_margin_h: float = 0.5
    """Leave it only once the runtime left is this much above the threshold (a new battery)."""


@dataclass(frozen=True)
class Action:
    """What the runtime should do, when, and why."""

    t_s: float
    name: str
    reason: str


@dataclass(frozen=True)
class PolicyState:
    """Where each ladder stands, and since when readings have allowed a step down."""

    thermal: int = 0
    memory_shed: bool = False
    cool_since: float | None = None
    calm_since: float | None = None
    saver: bool = False
    saver_charge_wh: float | None = None
    """Charge when the saver was entered: leaving needs more than this (not just less draw)."""
    charged_since: float | None = None
    history: tuple[Reading, ...] = field(default=(), repr=False)


def trend_c_per_s(history: Sequence[Reading], window_s: float) -> float | None:
    """Least-squares slope of the temperature over the last `window_s` (None: too few)."""
    if not history:
        return None
    last = history[-1].t_s
    points = [
        (r.t_s, r.temp_c) for r in history if r.temp_c is not None and r.t_s >= last - window_s
    ]
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_c = sum(c for _, c in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return sum((t - mean_t) * (c - mean_c) for t, c in points) / var


def decide(
    state: PolicyState, reading: Reading, config: PolicyConfig
) -> tuple[PolicyState, list[Action]]:
    """The next state and the actions one new reading calls for (pure)."""
    history = (*state.history, reading)[-256:]
    state = replace(state, history=history)
    actions: list[Action] = []
    state = _memory(state, reading, config, actions)
    state = _thermal(state, reading, config, actions)
    state = _battery(state, reading, config, actions)
    return state, actions


def _memory(
    state: PolicyState, r: Reading, config: PolicyConfig, actions: list[Action]
) -> PolicyState:
    low = r.mem_available_mb is not None and r.mem_available_mb < config.min_available_mb
    over = r.service_mb is not None and r.service_mb > config.memory_budget_mb * config.budget_share
    if low or over:
        reason = (
            f"MemAvailable {r.mem_available_mb:.0f} MiB < {config.min_available_mb:.0f}"
            if low
            else f"service {r.service_mb:.0f} MiB > {config.budget_share:.0%} of budget "
            f"{config.memory_budget_mb:.0f} MiB"
        )
        if not state.memory_shed:
            actions += [Action(r.t_s, "unload_llm", reason), Action(r.t_s, "shrink_caches", reason)]
        return replace(state, memory_shed=True, calm_since=None)
    if not state.memory_shed:
        return state
    calm = (
        r.mem_available_mb is None
        or r.mem_available_mb >= config.min_available_mb + config.memory_margin_mb
    ) and (
        r.service_mb is None
        or r.service_mb <= config.memory_budget_mb * config.budget_share - config.memory_margin_mb
    )
    if not calm:
        return replace(state, calm_since=None)
    since = state.calm_since if state.calm_since is not None else r.t_s
    if r.t_s - since < config.restore_after_s:
        return replace(state, calm_since=since)
    reason = f"memory comfortable for {r.t_s - since:.0f} s"
    actions += [Action(r.t_s, "restore_caches", reason), Action(r.t_s, "reload_llm", reason)]
    return replace(state, memory_shed=False, calm_since=None)


def _thresholds(r: Reading, config: PolicyConfig) -> tuple[float, float] | None:
    if r.throttle_c is None:
        return None
    return r.throttle_c - config.reduce_below_c, r.throttle_c - config.minimal_below_c


def _thermal(
    state: PolicyState, r: Reading, config: PolicyConfig, actions: list[Action]
) -> PolicyState:
    limits = _thresholds(r, config)
    if r.temp_c is None or limits is None or r.throttle_c is None:
        return state  # no reading: hold where we are, never guess
    slope = trend_c_per_s(state.history, config.trend_window_s)
    rising = slope is not None and slope > 0
    predicted = r.temp_c + (slope or 0.0) * config.horizon_s
    want = 0
    if r.temp_c >= limits[0] or (rising and predicted >= r.throttle_c):
        want = 1
    if r.temp_c >= limits[1] and rising:
        want = 2
    if want > state.thermal:
        step = state.thermal + 1  # one step at a time
        why = f"{r.temp_c:.1f} C, throttle at {r.throttle_c:.1f} C" + (
            f", rising {slope * 60:.1f} C/min" if slope else ""
        )
        actions += [Action(r.t_s, name, why) for name in _CLIMB[step]]
        return replace(state, thermal=step, cool_since=None)
    if state.thermal == 0:
        return state
    # Step down only after staying clearly below the current step's threshold for a while.
    below = limits[state.thermal - 1] - config.hysteresis_c
    if r.temp_c > below:
        return replace(state, cool_since=None)
    since = state.cool_since if state.cool_since is not None else r.t_s
    if r.t_s - since < config.restore_after_s:
        return replace(state, cool_since=since)
    why = f"{r.temp_c:.1f} C, below {below:.1f} C for {r.t_s - since:.0f} s"
    actions += [Action(r.t_s, name, why) for name in _DESCEND[state.thermal]]
    return replace(state, thermal=state.thermal - 1, cool_since=None)


def _battery(
    state: PolicyState, r: Reading, config: PolicyConfig, actions: list[Action]
) -> PolicyState:
    if r.battery_h is None:
        return state  # mains power or no measurement: hold
    if r.battery_h < config.saver_below_h:
        if not state.saver:
            why = f"battery {r.battery_h:.2f} h left < {config.saver_below_h:.2f} h"
            actions.append(Action(r.t_s, "enter_saver", why))
            return replace(state, saver=True, saver_charge_wh=r.battery_wh, charged_since=None)
        return replace(state, charged_since=None)
    if not state.saver:
        return state
    # The saver itself lowers the draw, which lengthens the estimate: leaving on that alone
    # would flap. Only more charge (a new battery, or charging) and a long estimate will do.
    recharged = state.saver_charge_wh is None or (
        r.battery_wh is not None and r.battery_wh > state.saver_charge_wh
    )
    if not recharged or r.battery_h < config.saver_below_h + config.saver_margin_h:
        return replace(state, charged_since=None)
    since = state.charged_since if state.charged_since is not None else r.t_s
    if r.t_s - since < config.restore_after_s:
        return replace(state, charged_since=since)
    why = f"battery {r.battery_h:.2f} h left for {r.t_s - since:.0f} s"
    actions.append(Action(r.t_s, "leave_saver", why))
    return replace(state, saver=False, saver_charge_wh=None, charged_since=None)


def replay(
    readings: Sequence[Reading], config: PolicyConfig | None = None
) -> tuple[PolicyState, list[Action]]:
    """Every action a trace calls for, in order (the simulator's core)."""
    config = config or PolicyConfig()
    state = PolicyState()
    out: list[Action] = []
    for reading in readings:
        state, actions = decide(state, reading, config)
        out += actions
    return state, out


def heat_ramp(
    start_c: float = 50.0, peak_c: float = 82.0, throttle_c: float = 85.0, step_s: float = 5.0
) -> list[Reading]:
    """A synthetic trace: steady, a climb to `peak_c`, a plateau, then cooling back down."""
    out: list[Reading] = []
    t = 0.0
    temps = [start_c] * 12
    temps += [start_c + (peak_c - start_c) * i / 40 for i in range(1, 41)]
    temps += [peak_c] * 12
    temps += [peak_c - (peak_c - start_c) * i / 30 for i in range(1, 31)]
    temps += [start_c] * 40
    for temp in temps:
        out.append(Reading(t, mem_available_mb=3000.0, service_mb=1200.0, temp_c=temp,
                           throttle_c=throttle_c))  # fmt: skip
        t += step_s
    return out


def battery_drain(step_s: float = 120.0, capacity_wh: float = 20.0) -> list[Reading]:
    """A synthetic trace: a 20 Wh battery at 10 W, a busier stretch at 14 W, then swapped."""
    out: list[Reading] = []
    left_wh = capacity_wh
    saver = False
    for i in range(60):
        watts = 10.0 if not 20 <= i < 30 else 14.0  # a busy stretch drains faster
        if saver and i < 45:
            watts = 6.0  # the saver's lower draw: the estimate grows, but the charge does not
        saver = saver or left_wh / watts < 1.0
        left_wh = max(0.0, left_wh - watts * step_s / 3600)
        if i == 45:
            left_wh = capacity_wh  # battery swapped
        out.append(
            Reading(i * step_s, 3000.0, 1200.0, 50.0, 85.0, left_wh / watts, battery_wh=left_wh)
        )
    return out


def memory_spike(step_s: float = 5.0) -> list[Reading]:
    """A synthetic trace: free memory falls below the floor for a minute, then recovers."""
    free = [2500.0] * 10 + [300.0] * 12 + [2500.0] * 20
    return [
        Reading(i * step_s, mem_available_mb=m, service_mb=1500.0, temp_c=50.0, throttle_c=85.0)
        for i, m in enumerate(free)
    ]
