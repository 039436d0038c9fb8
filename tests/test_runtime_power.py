"""Power reader on recorded Orin Nano and Xavier NX trees, nvpmodel, tegrastats, battery."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tccc.runtime.power import PowerReader, battery_runtime_h, parse_nvpmodel_query
from tccc.runtime.tegrastats import TegrastatsParseError, parse_tegrastats_line

FIXTURES = Path(__file__).parent / "fixtures" / "jetson"
ORIN = FIXTURES / "orin-nano"
XAVIER = FIXTURES / "xavier-nx"
ORIN_HWMON = ORIN / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"
NO_NVPMODEL = "tccc-test-no-such-nvpmodel"


def _lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def _copy(tree: Path, tmp_path: Path) -> Path:
    root = tmp_path / tree.name
    shutil.copytree(tree, root)
    return root


def test_orin_nano_hwmon_rails() -> None:
    sample = PowerReader(ORIN, nvpmodel=NO_NVPMODEL).read()
    assert [rail.name for rail in sample.rails] == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    vdd_in = sample.rail("VDD_IN")
    assert vdd_in is not None
    assert (vdd_in.voltage_mv, vdd_in.current_ma) == (5056.0, 1250.0)
    assert vdd_in.power_mw == pytest.approx(6320.0)
    vdd_soc = sample.rail("VDD_SOC")
    assert vdd_soc is not None and vdd_soc.power_mw == pytest.approx(5048 * 320 / 1000)
    assert sample.available and sample.input_mw == pytest.approx(6320.0)
    assert sample.input_reason is None and sample.problems == ()


def test_xavier_nx_iio_rails_use_reported_power() -> None:
    sample = PowerReader(XAVIER, nvpmodel=NO_NVPMODEL).read()
    assert [(r.name, r.power_mw) for r in sample.rails] == [
        ("VDD_IN", 3900.0),
        ("VDD_CPU_GPU_CV", 1330.0),
        ("VDD_SOC", 995.0),
    ]
    assert sample.input_mw == 3900.0


def test_no_power_monitor_is_unavailable_with_reason(tmp_path: Path) -> None:
    sample = PowerReader(tmp_path, nvpmodel=NO_NVPMODEL).read()
    assert sample.rails == () and not sample.available
    assert sample.input_reason is not None and "no INA3221" in sample.input_reason


def test_missing_input_rail_is_unavailable(tmp_path: Path) -> None:
    root = _copy(ORIN, tmp_path)
    (root / ORIN_HWMON.relative_to(ORIN) / "in1_label").unlink()
    sample = PowerReader(root, nvpmodel=NO_NVPMODEL).read()
    assert [rail.name for rail in sample.rails] == ["VDD_CPU_GPU_CV", "VDD_SOC"]
    assert sample.input_mw is None
    assert sample.input_reason is not None and "no input rail" in sample.input_reason


def test_missing_current_file_gives_none_not_a_guess(tmp_path: Path) -> None:
    root = _copy(ORIN, tmp_path)
    (root / ORIN_HWMON.relative_to(ORIN) / "curr1_input").unlink()
    sample = PowerReader(root, nvpmodel=NO_NVPMODEL).read()
    vdd_in = sample.rail("VDD_IN")
    assert vdd_in is not None and vdd_in.voltage_mv == 5056.0
    assert vdd_in.current_ma is None and vdd_in.power_mw is None
    assert vdd_in.reason is not None and "curr1_input" in vdd_in.reason
    assert sample.input_mw is None
    assert sample.input_reason is not None and sample.input_reason.startswith("VDD_IN:")


def test_garbage_value_is_reported(tmp_path: Path) -> None:
    root = _copy(ORIN, tmp_path)
    (root / ORIN_HWMON.relative_to(ORIN) / "in2_input").write_text("n/a\n")
    rail = PowerReader(root, nvpmodel=NO_NVPMODEL).read().rail("VDD_CPU_GPU_CV")
    assert rail is not None and rail.power_mw is None
    assert rail.reason is not None and "not a number" in rail.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_label_is_a_problem(tmp_path: Path) -> None:
    root = _copy(ORIN, tmp_path)
    label = root / ORIN_HWMON.relative_to(ORIN) / "in1_label"
    label.chmod(0)
    try:
        sample = PowerReader(root, nvpmodel=NO_NVPMODEL).read()
    finally:
        label.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert sample.input_mw is None
    assert any("in1_label" in problem for problem in sample.problems)


def test_unreadable_file_as_directory_is_reported(tmp_path: Path) -> None:
    # Works as root too: reading a directory fails whatever the permissions.
    root = _copy(ORIN, tmp_path)
    label = root / ORIN_HWMON.relative_to(ORIN) / "in1_label"
    label.unlink()
    label.mkdir()
    sample = PowerReader(root, nvpmodel=NO_NVPMODEL).read()
    assert any("in1_label" in problem for problem in sample.problems)
    assert sample.rail("VDD_IN") is None and sample.input_mw is None


def test_nvpmodel_absent_is_unavailable_with_reason() -> None:
    assert shutil.which("nvpmodel") is None, "this test expects a machine without nvpmodel"
    mode = PowerReader(ORIN).read().mode
    assert not mode.available and mode.name is None
    assert mode.reason == "nvpmodel not found on PATH"


def test_nvpmodel_is_run_when_present(tmp_path: Path) -> None:
    tool = tmp_path / "nvpmodel"
    tool.write_text('#!/bin/sh\n[ "$1" = -q ] || exit 2\necho "NV Power Mode: 7W"\necho 1\n')
    tool.chmod(0o755)
    mode = PowerReader(ORIN, nvpmodel=str(tool)).read_mode()
    assert (mode.available, mode.name, mode.mode_id) == (True, "7W", 1)


def test_nvpmodel_failure_is_unavailable_with_reason(tmp_path: Path) -> None:
    tool = tmp_path / "nvpmodel"
    tool.write_text('#!/bin/sh\necho "NVPM ERROR: failed to read PARAM" >&2\nexit 1\n')
    tool.chmod(0o755)
    mode = PowerReader(ORIN, nvpmodel=str(tool)).read_mode()
    assert not mode.available
    assert mode.reason is not None and "exited 1" in mode.reason and "NVPM ERROR" in mode.reason


@pytest.mark.parametrize(
    ("text", "name", "mode_id"),
    [
        ("NV Power Mode: 15W\n0\n", "15W", 0),
        ("NV Power Mode: MAXN_SUPER\n2\n", "MAXN_SUPER", 2),
        ("NVPM WARN: fan mode is not set!\nNV Power Mode: 10W\n1\n", "10W", 1),
        ("NV Power Mode: 15W\n", "15W", None),
    ],
)
def test_parse_nvpmodel_query(text: str, name: str, mode_id: int | None) -> None:
    mode = parse_nvpmodel_query(text)
    assert (mode.available, mode.name, mode.mode_id) == (True, name, mode_id)


def test_parse_nvpmodel_query_without_mode_line() -> None:
    mode = parse_nvpmodel_query("usage: nvpmodel [-m mode]\n")
    assert not mode.available and mode.reason is not None


def test_tegrastats_orin_nano_idle_line() -> None:
    sample = parse_tegrastats_line(_lines("tegrastats_orin_nano.txt")[0])
    assert sample.timestamp == "04-27-2026 15:00:54"
    assert (sample.ram_used_mb, sample.ram_total_mb) == (779, 7620)
    assert (sample.swap_used_mb, sample.swap_total_mb, sample.swap_cached_mb) == (0, 3810, 0)
    assert [(c.load_pct, c.freq_mhz) for c in sample.cpus][:2] == [(3, 1344), (0, 1344)]
    assert len(sample.cpus) == 6 and all(c.online for c in sample.cpus)
    assert (sample.gpu_load_pct, sample.gpu_freq_mhz) == (0, None)
    assert sample.emc_load_pct is None
    assert sample.temperature("tj") == 50.562 and sample.temperature("cpu") == 50.125
    assert sample.input_mw == 6626
    rail = sample.rail("VDD_CPU_GPU_CV")
    assert rail is not None and (rail.power_mw, rail.average_mw) == (1228, 1230)


def test_tegrastats_orin_nano_bracketed_gpu_freq_and_offline_cores() -> None:
    busy, saver = (parse_tegrastats_line(line) for line in _lines("tegrastats_orin_nano.txt")[1:])
    assert (busy.gpu_load_pct, busy.gpu_freq_mhz) == (55, 624)
    assert (busy.emc_load_pct, busy.emc_freq_mhz) == (12, 2133)
    assert busy.swap_used_mb == 111 and busy.input_mw == 8030
    # VIC_FREQ and APE are not modelled: they are ignored, not mistaken for rails or temps.
    assert [r.name for r in busy.rails] == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    assert [c.online for c in saver.cpus] == [True, True, True, True, False, False]
    assert saver.cpus[4].load_pct is None and saver.cpus[4].freq_mhz is None
    assert saver.gpu_freq_mhz == 420 and saver.temperature("tj") == 46.5


def test_tegrastats_xavier_nx_lines() -> None:
    idle, busy = (parse_tegrastats_line(line) for line in _lines("tegrastats_xavier_nx.txt"))
    assert idle.timestamp is None
    assert (idle.ram_used_mb, idle.ram_total_mb) == (2673, 7765)
    assert (idle.emc_load_pct, idle.emc_freq_mhz) == (7, None)
    assert (idle.gpu_load_pct, idle.gpu_freq_mhz) == (33, None)
    assert sum(c.online for c in idle.cpus) == 3 and idle.cpus[0].freq_mhz == 1190
    assert idle.temperature("CPU") == 35.0 and idle.temperature("AUX") == 33.5
    assert idle.input_mw == 3902
    soc = idle.rail("VDD_SOC")
    assert soc is not None and (soc.power_mw, soc.average_mw) == (997, 941)
    assert (busy.gpu_load_pct, busy.gpu_freq_mhz) == (87, 1109)
    assert busy.swap_cached_mb == 1 and busy.input_mw == 8120
    assert {t.name for t in busy.temperatures} == {"AO", "GPU", "PMIC", "AUX", "CPU", "thermal"}


def test_tegrastats_fields_in_any_order_and_unknown_fields() -> None:
    line = "VDD_IN 5000mW/4000mW FOO_BAR 12 tj@40C NEWFIELD [1,2] RAM 100/200MB CPU [5%,off]@1000"
    sample = parse_tegrastats_line(line)
    assert sample.input_mw == 5000 and sample.temperature("tj") == 40.0
    assert (sample.ram_used_mb, sample.ram_total_mb) == (100, 200)
    assert [(c.load_pct, c.freq_mhz) for c in sample.cpus] == [(5, 1000), (None, None)]


def test_tegrastats_older_pom_rails_and_kb_units() -> None:
    line = (
        "RAM 1276/3956MB (lfb 108x4MB) IRAM 0/252kB(lfb 252kB) POM_5V_IN 2011/1905 POM_5V_GPU 40/40"
    )
    sample = parse_tegrastats_line(line)
    assert sample.input_mw == 2011
    assert [r.name for r in sample.rails] == ["POM_5V_IN", "POM_5V_GPU"]


@pytest.mark.parametrize(
    "line",
    ["", "   ", "hello world", "RAM lots/more", "CPU 12% GR3D_FREQ 1%", "CPU [12%@1510,banana]"],
)
def test_tegrastats_malformed_lines_raise(line: str) -> None:
    with pytest.raises(TegrastatsParseError):
        parse_tegrastats_line(line)


def test_tegrastats_error_is_a_value_error() -> None:
    assert issubclass(TegrastatsParseError, ValueError)


def test_battery_runtime() -> None:
    assert battery_runtime_h(98.0, 7000.0) == pytest.approx(14.0)
    assert battery_runtime_h(98.0, None) is None
    assert battery_runtime_h(98.0, 0.0) is None
    with pytest.raises(ValueError):
        battery_runtime_h(0.0, 5000.0)


def test_battery_runtime_from_fixture_reading() -> None:
    sample = PowerReader(ORIN, nvpmodel=NO_NVPMODEL).read()
    assert battery_runtime_h(63.2, sample.input_mw) == pytest.approx(10.0)
