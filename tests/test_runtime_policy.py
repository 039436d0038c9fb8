"""The runtime policy on synthetic traces: each action at the right step, hysteresis, early
action on a rising trend, recovery step by step, and speech recognition never given up."""

from __future__ import annotations

from tccc.runtime.policy import (
    Action,
    PolicyConfig,
    PolicyState,
    Reading,
    decide,
    heat_ramp,
    memory_spike,
    replay,
    trend_c_per_s,
)


def names(actions: list[Action]) -> list[str]:
    """The action names, in order."""
    return [a.name for a in actions]


def temps(values: list[float], step_s: float = 5.0, throttle: float = 85.0) -> list[Reading]:
    """A trace of temperatures only (memory fine)."""
    return [
        Reading(i * step_s, mem_available_mb=3000, service_mb=1000, temp_c=v, throttle_c=throttle)
        for i, v in enumerate(values)
    ]


def test_a_heat_ramp_climbs_one_step_at_a_time_and_recovers_in_reverse() -> None:
    state, actions = replay(heat_ramp())
    assert names(actions) == [
        "reduce_work",
        "pause_llm",
        "small_speech_model",
        "refuse_new_streams",
        "restore_speech_model",
        "accept_new_streams",
        "restore_work",
        "resume_llm",
    ]
    times = [a.t_s for a in actions]
    assert times == sorted(times) and times[0] < times[2] < times[4] < times[6]
    assert state.thermal == 0
    assert all("C" in a.reason for a in actions)


def test_reduced_work_comes_before_the_throttle_point_and_minimal_only_while_rising() -> None:
    _, actions = replay(temps([60.0] * 5 + [76.0] * 30))  # hot but steady: reduce only
    assert names(actions) == ["reduce_work", "pause_llm"]
    _, actions = replay(temps([60.0] * 5 + [70 + i for i in range(13)]))  # still rising
    assert names(actions)[:4] == [
        "reduce_work",
        "pause_llm",
        "small_speech_model",
        "refuse_new_streams",
    ]


def test_hysteresis_holds_around_the_threshold() -> None:
    wobble = [74.0, 76.0] * 30  # around the 75 C reduce threshold
    _, actions = replay(temps([60.0] * 5 + wobble))
    assert names(actions) == ["reduce_work", "pause_llm"]  # no flapping back and forth


def test_a_fast_rise_acts_before_the_threshold() -> None:
    rise = [50 + 1.5 * i for i in range(40)]  # 18 C per minute from 50 C
    _, actions = replay(temps(rise))
    first = actions[0]
    assert first.name == "reduce_work" and "rising" in first.reason
    reached = next(r.temp_c for r in temps(rise) if r.t_s == first.t_s)
    assert reached is not None and reached < 75.0  # before the steady-state threshold


def test_recovery_waits_for_readings_to_stay_normal() -> None:
    config = PolicyConfig(restore_after_s=30)
    cool = [60.0] * 5 + [76.0] * 5 + [65.0] * 6  # 65 C for 30 s: not yet 30 s *after* 65 C
    state, actions = replay(temps(cool), config)
    assert names(actions) == ["reduce_work", "pause_llm"] and state.thermal == 1
    state, actions = replay(temps([*cool, 65.0]), config)
    assert names(actions)[-2:] == ["restore_work", "resume_llm"] and state.thermal == 0


def test_memory_pressure_unloads_the_language_model_first_and_restores_it() -> None:
    state, actions = replay(memory_spike())
    assert names(actions) == ["unload_llm", "shrink_caches", "restore_caches", "reload_llm"]
    assert "MemAvailable" in actions[0].reason and not state.memory_shed
    over = [Reading(i * 5.0, mem_available_mb=3000, service_mb=3900) for i in range(3)]
    _, actions = replay(over, PolicyConfig(memory_budget_mb=4096))
    assert names(actions) == ["unload_llm", "shrink_caches"] and "budget" in actions[0].reason


def test_missing_readings_change_nothing() -> None:
    state, actions = decide(PolicyState(thermal=1), Reading(0.0), PolicyConfig())
    assert actions == [] and state.thermal == 1
    state, actions = replay([Reading(i * 5.0, temp_c=99.0) for i in range(5)])  # no trip point
    assert actions == [] and state.thermal == 0


def test_speech_recognition_is_never_given_up() -> None:
    _, heat = replay(heat_ramp(peak_c=120.0, throttle_c=85.0))
    _, memory = replay(memory_spike())
    assert not {a.name for a in heat + memory} & {"stop_speech", "unload_speech_model"}


def test_trend_is_a_least_squares_slope_over_the_window() -> None:
    trace = temps([50.0 + i for i in range(10)], step_s=6.0)  # 10 C per minute
    slope = trend_c_per_s(trace, window_s=60.0)
    assert slope is not None and abs(slope * 60 - 10.0) < 1e-9
    assert trend_c_per_s(trace[:2], window_s=60.0) is None
