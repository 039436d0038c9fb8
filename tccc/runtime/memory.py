"""Memory telemetry: system memory and swap, process RSS, unified memory on Jetson, NVML."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tccc.runtime.sysfs import read_text

_KIB_PER_MIB = 1024.0
# /proc/meminfo keys and the sample fields they fill.
_FIELD = {
    "MemTotal": "total_mb",
    "MemAvailable": "available_mb",
    "SwapTotal": "swap_total_mb",
    "SwapFree": "swap_free_mb",
}
# Substrings of /proc/device-tree/model that only Jetson (Tegra) boards carry.
_JETSON_MARKERS = ("jetson", "orin", "xavier", "tegra")


def parse_meminfo(text: str) -> dict[str, float]:
    """The kB fields of /proc/meminfo, in MiB."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit() and (len(parts) == 1 or parts[1] == "kB"):
            values[key.strip()] = int(parts[0]) / _KIB_PER_MIB
    return values


@dataclass(frozen=True)
class MemorySample:
    """One memory reading; a None value has its reason in `reasons` under the field's name."""

    total_mb: float | None
    available_mb: float | None
    swap_total_mb: float | None
    swap_free_mb: float | None
    process_rss_mb: float | None
    unified: bool
    """CPU and GPU share the same memory (Jetson), so GPU use shows in `available_mb`."""
    board: str | None
    gpu_total_mb: float | None = None
    gpu_used_mb: float | None = None
    reasons: dict[str, str] = field(default_factory=dict)

    def reason(self, name: str) -> str | None:
        """Why the field `name` is None (None when it has a value)."""
        return self.reasons.get(name)


def jetson_board(root: Path) -> tuple[str | None, bool]:
    """The board's model string and whether it is a Jetson."""
    model, _ = read_text(root / "proc" / "device-tree" / "model")
    # The device-tree string is NUL-terminated.
    name = model.strip("\x00\n ") if model else None
    if name and any(marker in name.lower() for marker in _JETSON_MARKERS):
        return name, True
    return name, (root / "etc" / "nv_tegra_release").is_file()


def process_rss_mb() -> tuple[float | None, str | None]:
    """Resident memory of this process, through psutil."""
    try:
        import psutil
    except ImportError:
        return None, "psutil is not installed"
    return psutil.Process().memory_info().rss / (1024.0 * 1024.0), None


def _nvml_memory() -> tuple[float | None, float | None, str | None]:
    """Device memory of GPU 0 through NVML: (total MiB, used MiB, reason when unavailable)."""
    try:
        # Imported by name: nvidia-ml-py is optional and ships no type information.
        nvml: Any = importlib.import_module("pynvml")
    except ImportError:
        return None, None, "nvidia-ml-py (pynvml) is not installed"
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError has many subclasses: no driver, no GPU, ...
        return None, None, f"NVML unavailable: {exc}"
    try:
        if nvml.nvmlDeviceGetCount() == 0:
            return None, None, "NVML reports no GPU"
        info = nvml.nvmlDeviceGetMemoryInfo(nvml.nvmlDeviceGetHandleByIndex(0))
        mib = 1024.0 * 1024.0
        return float(info.total) / mib, float(info.used) / mib, None
    except Exception as exc:
        return None, None, f"NVML query failed: {exc}"
    finally:
        nvml.nvmlShutdown()


class MemoryReader:
    """Reads memory telemetry under `root` (a recorded tree in tests, "/" on a board)."""

    def __init__(self, root: str | Path = "/", *, process: bool = True, nvml: bool = True) -> None:
        self.root = Path(root)
        # The live process and NVML describe this machine, not a recorded tree.
        self.process = process
        self.nvml = nvml

    def read(self) -> MemorySample:
        """Take one sample; values that cannot be read are None with a reason."""
        reasons: dict[str, str] = {}
        text, why = read_text(self.root / "proc" / "meminfo")
        fields = parse_meminfo(text) if text is not None else {}
        values: dict[str, float | None] = {}
        for key in _FIELD:
            values[key] = fields.get(key)
            if values[key] is None:
                reasons[_FIELD[key]] = why or f"{key} missing from /proc/meminfo"
        rss: float | None = None
        if self.process:
            rss, rss_why = process_rss_mb()
            if rss_why:
                reasons["process_rss_mb"] = rss_why
        else:
            reasons["process_rss_mb"] = "process memory not read for this root"
        board, unified = jetson_board(self.root)
        gpu_total = gpu_used = None
        if unified:
            reasons["gpu_total_mb"] = "unified memory: the GPU uses system memory"
        elif self.nvml:
            gpu_total, gpu_used, nvml_why = _nvml_memory()
            if nvml_why:
                reasons["gpu_total_mb"] = nvml_why
        else:
            reasons["gpu_total_mb"] = "NVML not queried for this root"
        if gpu_used is None:
            reasons["gpu_used_mb"] = reasons["gpu_total_mb"]
        return MemorySample(
            total_mb=values["MemTotal"],
            available_mb=values["MemAvailable"],
            swap_total_mb=values["SwapTotal"],
            swap_free_mb=values["SwapFree"],
            process_rss_mb=rss,
            unified=unified,
            board=board,
            gpu_total_mb=gpu_total,
            gpu_used_mb=gpu_used,
            reasons=reasons,
        )


@dataclass(frozen=True)
class ComponentUsage:
    """Memory a component took when it loaded: RSS before and after, in MiB."""

    name: str
    before_mb: float
    after_mb: float

    @property
    def delta_mb(self) -> float:
        """RSS the load added (negative when the process shrank meanwhile)."""
        return self.after_mb - self.before_mb


class ComponentMemory:
    """Attributes process RSS to components by measuring it around each load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage: dict[str, ComponentUsage] = {}

    def attribute(self, name: str, before_mb: float, after_mb: float) -> ComponentUsage:
        """Record a load of `name`; a reload replaces the earlier record."""
        usage = ComponentUsage(name, before_mb, after_mb)
        with self._lock:
            self._usage[name] = usage
        return usage

    def forget(self, name: str) -> None:
        """Drop the record of an unloaded component."""
        with self._lock:
            self._usage.pop(name, None)

    def snapshot(self) -> dict[str, ComponentUsage]:
        """The current records, by component name."""
        with self._lock:
            return dict(self._usage)
