"""The llama.cpp build recipe (tools/llama-cpp/): the AMX fix is compiled in, and the model runs.

GCC 12 tells its optimiser that `ldtilecfg` reads 8 bytes of the 64-byte tile configuration, so
the stores of rows and column widths are deleted and, on an AMX CPU, llama.cpp's matrix multiply
dies with a general-protection fault. No AMX CPU is needed to check the fix: the tests compile
ggml's tile-configuration code with the recipe's flags and AMX enabled, turn the `ldtilecfg`
instruction in the generated assembly into a call that records the 64 bytes it would load, and
run it. Without the fix (on GCC 12) the recorded configuration is missing its rows and columns;
with it, it is exactly what the code wrote.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tccc.runtime.doctor import LLAMA_RECIPE_MARKER, cpu_flags, llama_recipe

REPO_ROOT = Path(__file__).resolve().parent.parent
RECIPE = REPO_ROOT / "tools" / "llama-cpp"
HEADER = RECIPE / "amx_tileconfig_fix.h"

# ggml's tile configuration and its initialiser (ggml-cpu/amx/common.h and mmq.cpp, llama.cpp
# as vendored by llama-cpp-python 0.3.36), kept as they are written there.
TILE_CONFIG_CPP = r"""
#include <immintrin.h>
#include <cstdint>

struct tile_config_t {
    uint8_t palette_id = 0;
    uint8_t start_row = 0;
    uint8_t reserved_0[14] = {0};
    uint16_t colsb[16] = {0};
    uint8_t rows[16] = {0};
};

void ggml_tile_config_init(void) {
    static thread_local bool done = false;
    if (done) {
        return;
    }
    alignas(64) tile_config_t tc = {};
    tc.palette_id = 1;
    tc.start_row = 0;
    tc.rows[0] = 8;   tc.colsb[0] = 64;
    tc.rows[1] = 8;   tc.colsb[1] = 64;
    tc.rows[2] = 16;  tc.colsb[2] = 32;
    tc.rows[3] = 16;  tc.colsb[3] = 32;
    tc.rows[4] = 16;  tc.colsb[4] = 64;
    tc.rows[5] = 16;  tc.colsb[5] = 64;
    tc.rows[6] = 16;  tc.colsb[6] = 64;
    tc.rows[7] = 16;  tc.colsb[7] = 64;
    _tile_loadconfig(&tc);
    done = true;
}
"""

# Records what `ldtilecfg` would have loaded, then prints it as hex.
RECORDER_CPP = r"""
#include <cstdio>
#include <cstring>

static unsigned char recorded[64];
static int calls = 0;

extern "C" void tccc_record_tilecfg(const unsigned char *config) {
    std::memcpy(recorded, config, sizeof recorded);
    calls++;
}

void ggml_tile_config_init(void);

int main() {
    ggml_tile_config_init();
    std::printf("%d ", calls);
    for (unsigned char b : recorded) std::printf("%02x", b);
    std::printf("\n");
    return 0;
}
"""

EXPECTED = bytes(
    [1, 0, *[0] * 14]
    + [b for w in (64, 64, 32, 32, 64, 64, 64, 64, *[0] * 8) for b in w.to_bytes(2, "little")]
    + [8, 8, 16, 16, 16, 16, 16, 16, *[0] * 8]
)
"""The 64 bytes ggml_tile_config_init writes: palette 1, column widths, then rows."""

LDTILECFG = re.compile(r"^\s*ldtilecfg\s+(\S+)\s*$", re.MULTILINE)

x86_only = pytest.mark.skipif(
    os.uname().machine != "x86_64", reason="the AMX tile configuration exists on x86-64 only"
)


def _gcc_major() -> int:
    out = subprocess.run(["g++", "-dumpversion"], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().split(".")[0])


def _need_gxx() -> None:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed (make install installs it)")


def tile_config_loaded(tmp: Path, *flags: str) -> bytes:
    """Compile ggml's tile-config code with `flags`, run it with `ldtilecfg` recorded, and
    return the 64 bytes the instruction would have loaded."""
    src, rec = tmp / "tilecfg.cpp", tmp / "recorder.cpp"
    src.write_text(TILE_CONFIG_CPP, encoding="utf-8")
    rec.write_text(RECORDER_CPP, encoding="utf-8")
    asm = tmp / "tilecfg.s"
    # No red zone: the recording call must not overwrite the configuration below the stack
    # pointer, where the red zone would let the compiler keep it.
    subprocess.run(
        ["g++", "-S", "-mamx-tile", "-mamx-int8", "-mno-red-zone", *flags, str(src), "-o", asm],
        check=True,
        capture_output=True,
    )
    text = asm.read_text(encoding="utf-8")
    assert len(LDTILECFG.findall(text)) == 1, "expected one ldtilecfg in the generated code"
    patched = LDTILECFG.sub(r"\tleaq\t\1, %rdi\n\tcall\ttccc_record_tilecfg@PLT", text)
    asm.write_text(patched, encoding="utf-8")
    exe = tmp / "tilecfg"
    subprocess.run(["g++", "-O1", str(asm), str(rec), "-o", exe], check=True, capture_output=True)
    out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "1", "the configuration must be loaded exactly once"
    return bytes.fromhex(out[1])


@x86_only
@pytest.mark.parametrize(
    "flags",
    [("-O2",), ("-O3",), ("-O3", "-march=sapphirerapids"), ("-O2", "-march=graniterapids")],
    ids=lambda f: " ".join(f),
)
def test_recipe_loads_the_configuration_the_code_wrote(tmp_path: Path, flags: tuple[str]) -> None:
    """With the recipe's forced include, `ldtilecfg` loads every row and column width."""
    _need_gxx()
    if "-march=graniterapids" in flags and _gcc_major() < 13:
        flags = ("-O2", "-march=sapphirerapids", "-mtune=generic")
    loaded = tile_config_loaded(tmp_path, "-include", str(HEADER), *flags)
    assert loaded == EXPECTED, f"loaded {loaded.hex()}, expected {EXPECTED.hex()}"


@x86_only
def test_without_the_fix_gcc_12_loads_garbage(tmp_path: Path) -> None:
    """The check above can fail: on GCC 12 without the fix, rows and columns are not written."""
    _need_gxx()
    if _gcc_major() >= 13:
        pytest.skip(f"GCC {_gcc_major()} has a correct _tile_loadconfig; nothing to reproduce")
    loaded = tile_config_loaded(tmp_path, "-O2")
    assert loaded[0] == 1, "the palette byte is kept (it lies in the 8 bytes GCC 12 declares)"
    assert loaded != EXPECTED
    assert loaded[48:56] != EXPECTED[48:56], "the rows should be missing on the broken build"


def test_header_is_inert_without_amx(tmp_path: Path) -> None:
    """Off x86-64 or without AMX the header only adds its marker: C and C++ compile as before."""
    _need_gxx()
    probe = tmp_path / "probe.c"
    probe.write_text(
        "#include <stdlib.h>\n#ifdef _tile_loadconfig\n#error redefined without AMX\n#endif\n"
        "int main(void) { return 0; }\n",
        encoding="utf-8",
    )
    for compiler, lang in (("gcc", "c"), ("g++", "c++")):
        out = str(tmp_path / f"probe-{lang}.o")
        flags = ["-x", lang, "-Wall", "-Werror", "-include", str(HEADER)]
        done = subprocess.run(
            [compiler, *flags, "-c", str(probe), "-o", out],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr


def test_installed_llama_cpp_was_built_with_the_recipe() -> None:
    """The llama.cpp libraries of this environment carry the recipe's marker."""
    try:
        import llama_cpp
    except ImportError:
        pytest.skip("llama-cpp-python is not installed")
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    assert sorted(lib_dir.glob("libggml-cpu*.so*")), f"no llama.cpp CPU library under {lib_dir}"
    recipe = llama_recipe(lib_dir)
    assert recipe is not None, (
        f"llama-cpp-python under {lib_dir} was not built with tools/llama-cpp/install.sh "
        "(no recipe marker in libggml-cpu); run `make install`"
    )
    # The recipe compiled in is the one in this checkout.
    assert f'"{LLAMA_RECIPE_MARKER.decode()}{recipe}"' in HEADER.read_text(encoding="utf-8")


def test_packaged_model_answers_in_a_subprocess() -> None:
    """`tccc llm ask` with the packaged SmolLM2 answers and exits 0 (a broken AMX build dies
    with SIGSEGV in its matrix multiply); a long prompt takes the batched path too."""
    question = (
        "A casualty has a gunshot wound to the left thigh with bright red pulsatile bleeding. "
        "A tourniquet was applied high and tight at 1432 and the bleeding stopped. The pulse "
        "is 112, respirations 22, and blood pressure 98 over 60. In one sentence, what should "
        "the medic check next?"
    )
    env = {**os.environ, "TCCC_LOG_LEVEL": "warning"}
    done = subprocess.run(
        [sys.executable, "-m", "tccc", "llm", "ask", question, "--max-tokens", "24"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=240,
    )
    if done.returncode < 0:
        wanted = {"avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8", "amx_bf16"}
        flags = " ".join(sorted(cpu_flags() & wanted)) or "unknown"
        pytest.fail(
            f"tccc llm ask died with {signal.Signals(-done.returncode).name} (CPU flags: "
            f"{flags}); stderr:\n{done.stderr[-2000:]}"
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip(), "the model gave no answer"
    assert re.search(r"\d+ prompt \+ \d+ generated tokens", done.stderr), done.stderr[-2000:]


def _recipe_copy(tmp: Path) -> tuple[Path, Path, Path]:
    """The recipe and pyproject.toml copied to `tmp`, with a stand-in interpreter that records
    pip's invocations (and its build flags) instead of building; returns (script, python, log)."""
    (tmp / "tools").mkdir()
    shutil.copytree(RECIPE, tmp / "tools" / "llama-cpp")
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp / "pyproject.toml")
    log = tmp / "pip.log"
    python = tmp / "python"
    python.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n'
        f'  echo "CFLAGS=$CFLAGS CXXFLAGS=$CXXFLAGS ARGS=$*" >>{log}; exit 0\n'
        "fi\n"
        f'exec {sys.executable} "$@"\n',
        encoding="utf-8",
    )
    python.chmod(0o755)
    return tmp / "tools" / "llama-cpp" / "install.sh", python, log


def _install(script: Path, python: Path, stamp: Path, **env: str) -> str:
    done = subprocess.run(
        [str(script), str(python), str(stamp)],
        capture_output=True,
        text=True,
        env={**os.environ, "CMAKE_ARGS": "", **env},
        check=True,
    )
    return done.stdout


def test_install_rebuilds_when_the_recipe_changes_and_only_then(tmp_path: Path) -> None:
    """`make install` calls the recipe every time: it builds from source without pip's cache,
    with the fix forced in, and builds again only when the recipe's key changes."""
    script, python, log = _recipe_copy(tmp_path)
    stamp = tmp_path / "stamp"
    _install(script, python, stamp)
    calls = log.read_text(encoding="utf-8").splitlines()
    assert len(calls) == 1
    header = script.parent / "amx_tileconfig_fix.h"
    for needed in (
        f"CFLAGS=-include {header}",
        f"CXXFLAGS=-include {header}",
        "--no-cache-dir",
        "--force-reinstall",
        "--no-binary llama-cpp-python",
        "llama-cpp-python==",
    ):
        assert needed in calls[0], calls[0]

    assert "current recipe" in _install(script, python, stamp)
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1, "rebuilt with no change"

    _install(script, python, stamp, CMAKE_ARGS="-DGGML_CUDA=on")
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2, "CMAKE_ARGS is in the key"

    header.write_text(header.read_text(encoding="utf-8") + "\n/* changed */\n", encoding="utf-8")
    _install(script, python, stamp, CMAKE_ARGS="-DGGML_CUDA=on")
    assert len(log.read_text(encoding="utf-8").splitlines()) == 3, "the header is in the key"
