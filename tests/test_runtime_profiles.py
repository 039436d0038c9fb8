"""Power profiles (the data file, nvpmodel.conf resolution, `tccc power`) and the telemetry
that feeds the policy, against the recorded Orin Nano, Xavier NX and Nano trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tccc.runtime.power_profiles import (
    PROFILES,
    apply_mode,
    choose_mode,
    detect_board,
    load_power_profiles,
    parse_nvpmodel_conf,
    power_profile,
)
from tccc.runtime.telemetry import Telemetry, to_reading

JETSON = Path(__file__).parent / "fixtures" / "jetson"
REPO = Path(__file__).resolve().parent.parent


def conf(board: str) -> tuple[dict[str, int], int | None]:
    return parse_nvpmodel_conf((JETSON / board / "etc" / "nvpmodel.conf").read_text())


def test_recorded_nvpmodel_confs_parse() -> None:
    assert conf("orin-nano") == ({"15W": 0, "25W": 1, "MAXN_SUPER": 2, "7W": 3}, 1)
    modes, default = conf("xavier-nx")
    assert modes["MODE_10W_2CORE"] == 3 and modes["MODE_20W_6CORE"] == 8 and default == 5
    assert conf("nano") == ({"MAXN": 0, "5W": 1}, 0)


@pytest.mark.parametrize(
    ("board", "expected"),
    [
        ("orin-nano", {"performance": "25W", "balanced": "25W", "saver": "7W"}),
        (
            "xavier-nx",
            {
                "performance": "MODE_20W_6CORE",
                "balanced": "MODE_10W_DESKTOP",
                "saver": "MODE_10W_2CORE",
            },
        ),
        ("nano", {"performance": "MAXN", "balanced": "MAXN", "saver": "5W"}),
    ],
)
def test_each_profile_maps_to_a_mode_of_each_board(board: str, expected: dict[str, str]) -> None:
    found, model = detect_board(JETSON / board)
    assert found is not None, model
    modes, default = conf(board)
    for name in PROFILES:
        assert choose_mode(power_profile(name).modes[found.key], modes, default) == expected[name]


def test_pre_super_orin_conf_falls_back_to_its_own_ids() -> None:
    """JetPack 5/6.0 Orin Nano: 15W is id 0 and 7W id 1 (7W is id 3 in the 6.2 Super conf)."""
    old = "< POWER_MODEL ID=0 NAME=15W >\n< POWER_MODEL ID=1 NAME=7W >\n< PM_CONFIG DEFAULT=0 >\n"
    modes, default = parse_nvpmodel_conf(old)
    orin = load_power_profiles()
    assert choose_mode(orin["performance"].modes["jetson-orin-nano"], modes, default) == "15W"
    assert modes[choose_mode(orin["saver"].modes["jetson-orin-nano"], modes, default) or ""] == 1


def test_profiles_set_components() -> None:
    saver, performance = power_profile("saver"), power_profile("performance")
    assert not saver.llm and saver.small_speech_model and saver.beam_size == 1
    assert saver.partial_scale > 1
    assert performance.llm and performance.beam_size is None and not performance.small_speech_model
    with pytest.raises(Exception, match="unknown power profile"):
        power_profile("turbo")


def test_apply_mode_says_exactly_what_it_could_not_do(tmp_path: Path) -> None:
    plan = apply_mode(power_profile("saver"), root=JETSON / "orin-nano", nvpmodel="no-such-tool")
    assert plan.not_done == ["nvpmodel mode 7W: no-such-tool not found; run: no-such-tool -m 3"]
    plan = apply_mode(power_profile("saver"), root=tmp_path)
    assert "not a known Jetson board" in plan.not_done[0]
    # A board whose conf lacks every mode named for the profile.
    board = tmp_path / "board"
    shutil.copytree(JETSON / "nano", board)
    (board / "etc" / "nvpmodel.conf").write_text("< POWER_MODEL ID=0 NAME=MAXN >\n")
    plan = apply_mode(power_profile("saver"), root=board)
    assert plan.not_done == [f"nvpmodel mode 5W: not in {board}/etc/nvpmodel.conf (it has: MAXN)"]


def test_apply_mode_runs_nvpmodel_with_the_resolved_id(tmp_path: Path) -> None:
    """A stand-in nvpmodel on PATH records its arguments; without root it is not run."""
    tool = tmp_path / "nvpmodel"
    calls = tmp_path / "calls"
    tool.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    tool.chmod(0o755)
    plan = apply_mode(power_profile("performance"), root=JETSON / "xavier-nx", nvpmodel=str(tool))
    if os.geteuid() == 0:
        assert calls.read_text().split() == ["-m", "8"]
        assert plan.done == ["nvpmodel mode MODE_20W_6CORE (id 8) on jetson-xavier-nx"]
    else:
        assert plan.not_done == [f"nvpmodel mode MODE_20W_6CORE: changing it needs root; "
                                 f"run: sudo {tool} -m 8"]  # fmt: skip
    dry = apply_mode(power_profile("saver"), root=JETSON / "nano", nvpmodel=str(tool), dry_run=True)
    assert dry.done == [f"would run: {tool} -m 1 (jetson-nano, mode 5W)"]


def test_tccc_power_reports_the_battery_estimate() -> None:
    """The CLI on the recorded Orin Nano: the mode it would need, and the runtime estimate."""
    done = subprocess.run(
        [sys.executable, "-m", "tccc", "power", "saver", "--root", str(JETSON / "orin-nano"),
         "--server", "", "--battery-wh", "50"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # something (nvpmodel) could not be done
    out = done.stdout
    assert "components: language model off, beam 1" in out
    assert "NOT done: nvpmodel mode 7W" in out
    assert "input power: 6.32 W; a full 50 Wh battery lasts 7.9 h at this draw" in out


def test_telemetry_reading_on_the_recorded_orin_nano() -> None:
    telemetry = Telemetry(JETSON / "orin-nano", JETSON / "orin-nano", battery_wh=20.0)
    first = telemetry.sample()
    time.sleep(0.05)
    second = telemetry.sample()
    reading = to_reading(second)
    assert reading.temp_c == pytest.approx(48.593)  # the hottest online zone, not -256 C
    assert reading.throttle_c == pytest.approx(99.0)  # its passive trip point
    assert reading.mem_available_mb is not None and reading.mem_available_mb > 1000
    assert second.input_w == pytest.approx(6.32, abs=0.01)
    # The battery is drawn down by the measured input power, never invented.
    assert first.battery_wh is not None and second.battery_wh is not None
    assert second.battery_wh < first.battery_wh <= 20.0
    assert second.input_w is not None
    assert reading.battery_h == pytest.approx(second.battery_wh / second.input_w)
    assert second.sample_s > 0


def test_telemetry_without_sensors_reads_nothing_invented(tmp_path: Path) -> None:
    reading = to_reading(Telemetry(tmp_path, tmp_path, battery_wh=20.0).sample())
    assert reading.temp_c is None and reading.throttle_c is None
    assert reading.mem_available_mb is None and reading.battery_h is None


def test_tegrastats_fills_in_when_sysfs_is_restricted(tmp_path: Path) -> None:
    """No thermal zones or rails readable: temperature and input power come from a running
    tegrastats (a stand-in printing the recorded Orin Nano lines), the throttle point from the
    configuration."""
    from tccc.runtime.tegrastats_feed import TegrastatsFeed

    lines = JETSON / "tegrastats_orin_nano.txt"
    tool = tmp_path / "tegrastats"
    tool.write_text(f"#!/bin/sh\nhead -1 {lines}\nexec sleep 30\n")
    tool.chmod(0o755)
    feed = TegrastatsFeed(str(tool))
    assert feed.start()
    try:
        deadline = time.monotonic() + 10
        while feed.latest is None:
            assert time.monotonic() < deadline, feed.reason
            time.sleep(0.05)
        telemetry = Telemetry(tmp_path, tmp_path, tegrastats=feed, throttle_c=97.0)
        sample = telemetry.sample()
        reading = to_reading(sample)
    finally:
        feed.stop()
    assert reading.temp_c == pytest.approx(50.562)  # gpu@ and tj@ of the first line
    assert reading.throttle_c == 97.0
    assert sample.input_w == pytest.approx(6.626)
    missing = TegrastatsFeed("no-such-tegrastats")
    assert not missing.start() and missing.reason == "no-such-tegrastats not found on PATH"
