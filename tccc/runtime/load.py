"""CPU utilisation from /proc/stat; GPU load from a Jetson's sysfs load node, else NVML."""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tccc.runtime.sysfs import read_text

GPU_LOAD_NODES = (
    "sys/devices/platform/bus@0/17000000.gpu/load",  # Orin, L4T 36 (JetPack 6)
    "sys/devices/platform/17000000.gpu/load",
    "sys/devices/17000000.ga10b/load",  # Orin, L4T 35 (JetPack 5)
    "sys/devices/17000000.gv11b/load",  # Xavier
    "sys/devices/gpu.0/load",  # Xavier and Nano; a link to the GPU device
)
"""Where Jetson kernels expose GPU load in per-mille (0-1000), newest layout first."""

_PER_MILLE = 1000.0


@dataclass(frozen=True)
class CpuTimes:
    """The aggregate `cpu` line of /proc/stat, in clock ticks since boot."""

    busy: int
    total: int


def parse_proc_stat(text: str) -> CpuTimes:
    """Busy and total ticks from /proc/stat; raises ValueError when the `cpu` line is missing."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            # user nice system idle iowait irq softirq steal; guest time is already in user/nice.
            ticks = [int(value) for value in parts[1:9]]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
            return CpuTimes(busy=sum(ticks) - idle, total=sum(ticks))
    raise ValueError("no aggregate 'cpu' line in /proc/stat")


def busy_share(previous: CpuTimes, current: CpuTimes) -> float | None:
    """Share of CPU time spent busy between two readings (None when no time passed)."""
    elapsed = current.total - previous.total
    if elapsed <= 0:
        return None
    return min(1.0, max(0.0, (current.busy - previous.busy) / elapsed))


@dataclass(frozen=True)
class LoadSample:
    """CPU and GPU load as shares in 0..1; a None value comes with its reason."""

    cpu_share: float | None
    cpu_reason: str | None
    gpu_share: float | None
    gpu_reason: str | None
    gpu_node: str | None = None
    """The GPU load node that was read, relative to the root ("nvml" for NVML)."""


@functools.cache
def pynvml_module() -> Any:
    """The `pynvml` module, or None when nvidia-ml-py is not installed (looked up once)."""
    try:
        # Imported by name: nvidia-ml-py is optional and ships no type information.
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def nvml_gpu_load() -> tuple[float | None, str | None]:
    """Utilisation of GPU 0 through NVML as a share in 0..1, or None with the reason."""
    nvml = pynvml_module()
    if nvml is None:
        return None, "nvidia-ml-py (pynvml) is not installed"
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError has many subclasses: no driver, no GPU, ...
        return None, f"NVML unavailable: {exc}"
    try:
        if nvml.nvmlDeviceGetCount() == 0:
            return None, "NVML reports no GPU"
        rates = nvml.nvmlDeviceGetUtilizationRates(nvml.nvmlDeviceGetHandleByIndex(0))
        percent = float(rates.gpu)
        if not 0.0 <= percent <= 100.0:
            return None, f"NVML reports {percent:g} % GPU utilisation"
        return percent / 100.0, None
    except Exception as exc:
        return None, f"NVML query failed: {exc}"
    finally:
        nvml.nvmlShutdown()


class LoadReader:
    """Reads CPU and GPU load under `root`; keeps the previous CPU times between reads."""

    def __init__(self, root: str | Path = "/", *, nvml: bool | None = None) -> None:
        self.root = Path(root)
        # NVML describes this machine, not a recorded tree: by default only for the live root.
        self.nvml = self.root == Path("/") if nvml is None else nvml
        self._previous: CpuTimes | None = None

    def read(self) -> LoadSample:
        """Take one sample: CPU share since the last read, and the GPU load now."""
        cpu, cpu_why = self._cpu()
        gpu, gpu_why, node = self._gpu()
        return LoadSample(cpu, cpu_why, gpu, gpu_why, node)

    def _cpu(self) -> tuple[float | None, str | None]:
        text, why = read_text(self.root / "proc" / "stat")
        if text is None:
            return None, why
        try:
            current = parse_proc_stat(text)
        except ValueError as exc:
            return None, f"cannot parse {self.root / 'proc' / 'stat'}: {exc}"
        previous, self._previous = self._previous, current
        if previous is None:
            return None, "first reading: CPU share needs two /proc/stat readings"
        share = busy_share(previous, current)
        return share, None if share is not None else "no CPU time passed between readings"

    def _gpu(self) -> tuple[float | None, str | None, str | None]:
        for node in GPU_LOAD_NODES:
            path = self.root / node
            if not path.exists():
                continue
            text, why = read_text(path)
            if text is None:
                return None, why, node
            try:
                per_mille = float(text.strip())
            except ValueError:
                return None, f"{path} holds {text.strip()!r}, not a number", node
            if not 0.0 <= per_mille <= _PER_MILLE:
                return None, f"{path} holds {per_mille:g}, outside 0-1000", node
            return per_mille / _PER_MILLE, None, node
        no_node = "no Jetson GPU load node under " + str(self.root)
        if not self.nvml:
            return None, no_node, None
        share, why = nvml_gpu_load()
        if share is None:
            return None, f"{no_node}; {why}", None
        return share, None, "nvml"
