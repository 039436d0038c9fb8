"""Telemetry readers against recorded Orin Nano and Xavier NX trees, two /proc/stat snapshots,
missing and unreadable files (the reader says why, never a number), and this machine's root."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tccc.runtime.load import CpuTimes, LoadReader, busy_share, parse_proc_stat, pynvml_module
from tccc.runtime.memory import ComponentMemory, MemoryReader, parse_meminfo
from tccc.runtime.thermal import ThermalReader

FIXTURES = Path(__file__).parent / "fixtures" / "jetson"
ORIN = FIXTURES / "orin-nano"
XAVIER = FIXTURES / "xavier-nx"
ORIN_ZONES = [
    "cpu-thermal",
    "gpu-thermal",
    "cv0-thermal",
    "cv1-thermal",
    "cv2-thermal",
    "soc0-thermal",
    "soc1-thermal",
    "soc2-thermal",
    "tj-thermal",
]
XAVIER_ZONES = ["CPU-therm", "GPU-therm", "AUX-therm", "AO-therm", "PMIC-Die", "thermal-fan-est"]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def stat_text(user: int, system: int, idle: int, iowait: int = 0) -> str:
    """A /proc/stat with only the aggregate line that matters."""
    return f"cpu  {user} 0 {system} {idle} {iowait} 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\n"


def copy_tree(src: Path, dst: Path) -> Path:
    """A writable copy of a recorded tree."""
    shutil.copytree(src, dst)
    return dst


# memory


@pytest.mark.parametrize(
    ("root", "total", "available", "swap_total", "swap_free", "board"),
    [
        (ORIN, 7620.0, 5003.375, 3810.0, 3810.0, "NVIDIA Jetson Orin Nano Developer Kit"),
        (XAVIER, 7765.0, 4775.5, 3883.0, 3627.0, "NVIDIA Jetson Xavier NX Developer Kit"),
    ],
)
def test_memory_on_jetson_trees(
    root: Path,
    total: float,
    available: float,
    swap_total: float,
    swap_free: float,
    board: str,
) -> None:
    sample = MemoryReader(root, process=False, nvml=False).read()
    assert sample.total_mb == pytest.approx(total)
    assert sample.available_mb == pytest.approx(available)
    assert sample.swap_total_mb == pytest.approx(swap_total)
    assert sample.swap_free_mb == pytest.approx(swap_free)
    assert sample.unified is True
    assert sample.board == board
    # Unified memory: no separate device memory to report, and it says so.
    assert sample.gpu_total_mb is None
    assert "unified" in (sample.reason("gpu_total_mb") or "")
    assert sample.process_rss_mb is None and sample.reason("process_rss_mb")


def test_meminfo_parsing_converts_kib_to_mib() -> None:
    values = parse_meminfo("MemTotal:  2048 kB\nHugePages_Total:  0\nBogus line\n")
    assert values == {"MemTotal": 2.0, "HugePages_Total": 0.0}


def test_jetson_detected_from_nv_tegra_release(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "nv_tegra_release").write_text("# R35 (release), REVISION: 4.1\n")
    sample = MemoryReader(tmp_path, process=False, nvml=False).read()
    assert sample.unified is True
    assert sample.board is None


def test_missing_meminfo_reports_reasons_not_numbers(tmp_path: Path) -> None:
    sample = MemoryReader(tmp_path, process=False, nvml=False).read()
    assert sample.unified is False
    for name in ("total_mb", "available_mb", "swap_total_mb", "swap_free_mb"):
        assert getattr(sample, name) is None
        assert "cannot read" in (sample.reason(name) or "")


def test_meminfo_without_swap_lines_says_which_is_missing(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "meminfo").write_text("MemTotal: 1024 kB\nMemAvailable: 512 kB\n")
    sample = MemoryReader(tmp_path, process=False, nvml=False).read()
    assert sample.total_mb == 1.0 and sample.available_mb == 0.5
    assert sample.swap_total_mb is None
    assert sample.reason("swap_total_mb") == "SwapTotal missing from /proc/meminfo"


def test_nvml_absent_is_reported_off_jetson(tmp_path: Path) -> None:
    sample = MemoryReader(tmp_path, process=True, nvml=True).read()
    if sample.gpu_total_mb is None:
        assert sample.reason("gpu_total_mb")
    else:  # a machine with nvidia-ml-py and a GPU
        assert sample.gpu_used_mb is not None
    assert sample.process_rss_mb is not None and sample.process_rss_mb > 0


def test_component_memory_attribution() -> None:
    registry = ComponentMemory()
    registry.attribute("speech", 300.0, 520.0)
    registry.attribute("llm", 520.0, 1400.0)
    registry.attribute("speech", 1400.0, 1500.0)  # a reload replaces the first record
    snapshot = registry.snapshot()
    assert sorted(snapshot) == ["llm", "speech"]
    assert snapshot["llm"].delta_mb == pytest.approx(880.0)
    assert snapshot["speech"].delta_mb == pytest.approx(100.0)
    registry.forget("llm")
    assert "llm" not in registry.snapshot()
    assert "llm" in snapshot  # snapshots are copies


# load


@pytest.mark.parametrize(
    ("root", "share", "node"),
    [
        (ORIN, 0.372, "sys/devices/platform/bus@0/17000000.gpu/load"),
        (XAVIER, 0.815, "sys/devices/gpu.0/load"),
    ],
)
def test_gpu_load_per_mille_to_share(root: Path, share: float, node: str) -> None:
    sample = LoadReader(root).read()
    assert sample.gpu_share == pytest.approx(share)
    assert sample.gpu_node == node
    assert sample.gpu_reason is None


def test_first_cpu_reading_has_no_share_and_says_why() -> None:
    sample = LoadReader(ORIN).read()
    assert sample.cpu_share is None
    assert "two /proc/stat readings" in (sample.cpu_reason or "")


def test_cpu_share_from_two_snapshots(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    stat = tmp_path / "proc" / "stat"
    reader = LoadReader(tmp_path)
    stat.write_text(stat_text(user=100, system=50, idle=800, iowait=50))
    assert reader.read().cpu_share is None
    # 300 ticks pass: 90 user + 30 system busy, 170 idle + 10 iowait not busy.
    stat.write_text(stat_text(user=190, system=80, idle=970, iowait=60))
    sample = reader.read()
    assert sample.cpu_share == pytest.approx(120 / 300)
    assert sample.cpu_reason is None
    # No time passing is not "0 % busy": it is no reading.
    sample = reader.read()
    assert sample.cpu_share is None and sample.cpu_reason


def test_proc_stat_parsing_and_busy_share() -> None:
    times = parse_proc_stat(stat_text(user=10, system=5, idle=80, iowait=5))
    assert times == CpuTimes(busy=15, total=100)
    assert busy_share(times, CpuTimes(busy=65, total=200)) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        parse_proc_stat("intr 1 2 3\n")


def test_garbled_proc_stat_and_gpu_node(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "stat").write_text("intr 1 2 3\n")
    node = tmp_path / "sys" / "devices" / "gpu.0" / "load"
    node.parent.mkdir(parents=True)
    node.write_text("busy\n")
    sample = LoadReader(tmp_path).read()
    assert sample.cpu_share is None and "cannot parse" in (sample.cpu_reason or "")
    assert sample.gpu_share is None and "not a number" in (sample.gpu_reason or "")
    node.write_text("1500\n")
    sample = LoadReader(tmp_path).read()
    assert sample.gpu_share is None and "outside 0-1000" in (sample.gpu_reason or "")


def test_no_gpu_node_is_unavailable(tmp_path: Path) -> None:
    sample = LoadReader(tmp_path).read()
    assert sample.gpu_share is None and sample.gpu_node is None
    assert "no Jetson GPU load node" in (sample.gpu_reason or "")
    assert sample.cpu_share is None and "cannot read" in (sample.cpu_reason or "")


class FakeNvml:
    """Stands in for the `pynvml` module: the calls the GPU load reader makes, same names."""

    class NVMLError(Exception):
        """pynvml's error type."""

    def __init__(self, percent: float, *, init_fails: bool = False) -> None:
        self.percent = percent
        self.init_fails = init_fails
        self.shut_down = False

    def nvmlInit(self) -> None:
        if self.init_fails:
            raise self.NVMLError("Driver Not Loaded")

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:
        return ("gpu", index)

    def nvmlDeviceGetUtilizationRates(self, handle: object) -> object:
        return type("c_nvmlUtilization_t", (), {"gpu": self.percent, "memory": 10})()


def test_gpu_load_through_nvml_off_jetson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Off a Jetson, GPU load comes from NVML (utilisation %), and NVML is shut down again; a
    driver that is not loaded gives no number and says why."""
    (tmp_path / "proc").mkdir()
    fake = FakeNvml(37.0)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    pynvml_module.cache_clear()
    try:
        sample = LoadReader(tmp_path, nvml=True).read()
        assert (sample.gpu_share, sample.gpu_node, sample.gpu_reason) == (0.37, "nvml", None)
        assert fake.shut_down
        # A recorded tree is not this machine: NVML is not asked unless told to.
        assert LoadReader(tmp_path).read().gpu_share is None
        monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(0.0, init_fails=True))
        pynvml_module.cache_clear()
        sample = LoadReader(tmp_path, nvml=True).read()
        assert sample.gpu_share is None
        assert sample.gpu_reason is not None and "Driver Not Loaded" in sample.gpu_reason
    finally:
        pynvml_module.cache_clear()


def test_gpu_node_that_is_a_directory_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "sys" / "devices" / "gpu.0" / "load").mkdir(parents=True)
    sample = LoadReader(tmp_path).read()
    assert sample.gpu_share is None
    assert "cannot read" in (sample.gpu_reason or "")


# thermal


@pytest.mark.parametrize(
    ("root", "names", "name", "temp", "passive", "critical"),
    [
        (ORIN, ORIN_ZONES, "cpu-thermal", 48.593, 99.0, 104.5),
        (XAVIER, XAVIER_ZONES, "GPU-therm", 51.0, 96.5, 101.0),
    ],
)
def test_zones_temperatures_and_trips(
    root: Path, names: list[str], name: str, temp: float, passive: float, critical: float
) -> None:
    sample = ThermalReader(root).read()
    assert [z.name for z in sample.zones] == names
    assert sample.reason is None
    zone = sample.zone(name)
    assert zone is not None and zone.temp_c == pytest.approx(temp)
    assert zone.trip("passive") == pytest.approx(passive)
    assert zone.trip("critical") == pytest.approx(critical)


def test_orin_junction_trips_and_offline_sensors() -> None:
    sample = ThermalReader(ORIN).read()
    tj = sample.zone("tj-thermal")
    assert tj is not None
    assert [(t.kind, t.temp_c) for t in tj.trips] == [
        ("passive", 99.0),
        ("hot", 103.0),
        ("critical", 104.5),
    ]
    # The powered-off CV sensors read -256 °C: unavailable, not a temperature.
    cv0 = sample.zone("cv0-thermal")
    assert cv0 is not None and cv0.temp_c is None
    assert "offline" in (cv0.reason or "")
    hottest = sample.hottest()
    assert hottest is not None and hottest.name == "cpu-thermal"


def test_zone_lookup_accepts_both_jetson_naming_schemes() -> None:
    orin = ThermalReader(ORIN).read()
    xavier = ThermalReader(XAVIER).read()
    for name in ("CPU-therm", "cpu-thermal", "cpu"):
        assert (orin.zone(name) or pytest.fail(name)).name == "cpu-thermal"
        assert (xavier.zone(name) or pytest.fail(name)).name == "CPU-therm"
    assert (orin.zone("tj-therm") or pytest.fail("tj")).name == "tj-thermal"
    assert (orin.zone("SOC0-therm") or pytest.fail("soc0")).name == "soc0-thermal"
    assert orin.zone("AUX-therm") is None


def test_xavier_fan_zone_and_hottest() -> None:
    sample = ThermalReader(XAVIER).read()
    fan = sample.zone("thermal-fan-est")
    assert fan is not None and fan.trip("active") == pytest.approx(51.0)
    assert fan.trip("critical") is None
    hottest = sample.hottest()
    assert hottest is not None and hottest.name == "PMIC-Die"


def test_missing_temp_file_is_unavailable(tmp_path: Path) -> None:
    root = copy_tree(XAVIER, tmp_path / "board")
    (root / "sys/class/thermal/thermal_zone1/temp").unlink()
    gpu = ThermalReader(root).read().zone("GPU-therm")
    assert gpu is not None and gpu.temp_c is None
    assert "cannot read" in (gpu.reason or "")
    assert gpu.trip("passive") == pytest.approx(96.5)  # the rest of the zone still reads


def test_directory_where_temp_file_expected_is_unavailable(tmp_path: Path) -> None:
    root = copy_tree(ORIN, tmp_path / "board")
    temp = root / "sys/class/thermal/thermal_zone0/temp"
    temp.unlink()
    temp.mkdir()
    cpu = ThermalReader(root).read().zone("cpu-thermal")
    assert cpu is not None and cpu.temp_c is None and cpu.reason


@pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_files_are_unavailable(tmp_path: Path) -> None:
    root = copy_tree(ORIN, tmp_path / "board")
    paths = [
        root / "sys/class/thermal/thermal_zone8/temp",
        root / "proc/meminfo",
        root / "proc/stat",
        root / "sys/devices/platform/bus@0/17000000.gpu/load",
    ]
    for path in paths:
        path.chmod(0)
    try:
        tj = ThermalReader(root).read().zone("tj-thermal")
        assert tj is not None and tj.temp_c is None
        assert "Permission denied" in (tj.reason or "")
        memory = MemoryReader(root, process=False, nvml=False).read()
        assert memory.available_mb is None and "Permission denied" in (
            memory.reason("available_mb") or ""
        )
        load = LoadReader(root).read()
        assert load.cpu_share is None and "Permission denied" in (load.cpu_reason or "")
        assert load.gpu_share is None and "Permission denied" in (load.gpu_reason or "")
    finally:
        for path in paths:
            path.chmod(0o644)


def test_permission_denied_is_unavailable_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root ignores file modes, so a denied read is simulated where the readers read.
    root = copy_tree(XAVIER, tmp_path / "board")
    denied = {root / "sys/class/thermal/thermal_zone0/temp", root / "proc/meminfo"}
    real_read_text = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if self in denied:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    cpu = ThermalReader(root).read().zone("CPU-therm")
    assert cpu is not None and cpu.temp_c is None
    assert "Permission denied" in (cpu.reason or "")
    memory = MemoryReader(root, process=False, nvml=False).read()
    assert memory.total_mb is None and "Permission denied" in (memory.reason("total_mb") or "")
    assert memory.unified is True  # the model file is still readable


def test_no_thermal_directory(tmp_path: Path) -> None:
    sample = ThermalReader(tmp_path).read()
    assert sample.zones == () and sample.hottest() is None
    assert "cannot list" in (sample.reason or "")
    (tmp_path / "sys/class/thermal").mkdir(parents=True)
    assert "no thermal_zone" in (ThermalReader(tmp_path).read().reason or "")


# this machine


def test_readers_on_this_machine() -> None:
    memory = MemoryReader().read()
    assert memory.total_mb is None or memory.total_mb > 0
    assert memory.process_rss_mb is not None
    load = LoadReader()
    load.read()
    second = load.read()
    assert second.cpu_share is None or 0.0 <= second.cpu_share <= 1.0
    assert (second.gpu_share is None) == (second.gpu_reason is not None)
    thermal = ThermalReader().read()
    for zone in thermal.zones:
        assert zone.temp_c is not None or zone.reason
