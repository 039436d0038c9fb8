"""`tccc bench runtime`: what each component really takes, and what monitoring costs.

Memory: the real components (Silero VAD, the speech model, SmolLM2) are loaded by the runtime
manager as `tccc serve` loads them, then the language model and the speech model are unloaded
and reloaded `--cycles` times; each load and unload is measured (process RSS before and after,
once freed memory has been handed back), and the process RSS after every cycle shows whether
cycling leaks. Monitoring: the telemetry sampler is run `--samples` times on this machine; its
CPU time per sample over the default interval is the share of a CPU that monitoring takes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tccc.config import Settings
from tccc.runtime.components import release_freed_memory
from tccc.runtime.memory import process_rss_mb
from tccc.runtime.telemetry import Telemetry


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of `tccc bench runtime`."""
    p.add_argument("--cycles", type=int, default=5, help="unload/reload cycles per component")
    p.add_argument("--samples", type=int, default=500, help="telemetry samples to time")
    p.add_argument("--profile", help="hardware profile (default: cpu)")
    p.add_argument("--config", help="TOML config file (or TCCC_CONFIG)")


def monitoring_cost(settings: Settings, samples: int) -> list[str]:
    """CPU and wall time of one telemetry sample, and the CPU share at the default interval."""
    telemetry = Telemetry(settings.runtime.proc_root, settings.runtime.sysfs_root)
    telemetry.sample()  # the first CPU reading needs a previous one
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(samples):
        c0, w0 = time.process_time(), time.perf_counter()
        telemetry.sample()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    interval = settings.runtime.interval_s
    share = statistics.fmean(cpu) / interval
    return [
        f"monitoring: {samples} samples, CPU {statistics.fmean(cpu) * 1000:.2f} ms per sample "
        f"(wall p50 {statistics.median(wall) * 1000:.2f} ms, max {max(wall) * 1000:.2f} ms); "
        f"at one sample per {interval:g} s: {share:.4%} of one CPU",
    ]


async def memory_cycles(settings: Settings, cycles: int) -> list[str]:
    """Load everything, then unload and reload the language and speech models `cycles` times."""
    from tccc.runtime.simulate import real_manager

    def rss() -> float:
        release_freed_memory()
        value = process_rss_mb()[0]
        return value if value is not None else float("nan")

    start = rss()
    manager = real_manager(settings)
    await manager.start()
    await manager.run()
    lines = [f"process RSS before loading: {start:.1f} MiB"]
    for c in manager.registry.components:
        lines.append(
            f"  first load  {c.name:<8} +{c.measured_mb or 0:6.1f} MiB in {c.load_s or 0:.2f} s"
        )
    after_load = rss()
    lines.append(f"process RSS with everything loaded: {after_load:.1f} MiB")
    loads: dict[str, list[float]] = {"llm": [], "speech": []}
    frees: dict[str, list[float]] = {"llm": [], "speech": []}
    per_cycle: list[float] = []
    for _ in range(cycles):
        for name in ("llm", "speech"):
            await manager.registry.unload(name, "bench")
            await manager.registry.load(name, "bench")
            c = manager.registry.get(name)
            frees[name].append(c.freed_mb or 0.0)
            loads[name].append(c.measured_mb or 0.0)
        per_cycle.append(rss())
    for name in ("llm", "speech"):
        lines.append(
            f"  {name:<8} over {cycles} cycles: unload frees {statistics.fmean(frees[name]):.1f} "
            f"MiB (min {min(frees[name]):.1f}), reload takes {statistics.fmean(loads[name]):.1f} "
            f"MiB (max {max(loads[name]):.1f})"
        )
    lines.append(
        "process RSS after each cycle: " + ", ".join(f"{v:.1f}" for v in per_cycle)
        + f" MiB (drift {per_cycle[-1] - after_load:+.1f} MiB over {cycles} cycles)"
    )  # fmt: skip
    assert manager.slot is not None
    manager.slot.unload()
    manager.service.shutdown()
    return lines


def run_from_args(args: argparse.Namespace, settings: Settings) -> int:
    """Run `tccc bench runtime` and print its figures."""
    lines = asyncio.run(memory_cycles(settings, args.cycles))
    lines += monitoring_cost(settings, args.samples)
    print("\n".join(lines))
    return 0
