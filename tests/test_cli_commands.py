"""Every command of the README's "Commands" section starts: its `--help`, and a real run.

The commands are read from the README's ```sh block under "## Commands", so a command added
there is covered here at once: it must be a known sub-command, every flag the README shows must
be in its `--help`, and it must have a harmless real run below or a reason why not. Every run is
a real `python -m tccc` process with its casualty log ($TCCC_DB) in a temporary folder; they run
in parallel, once per module.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tccc.cli.main import build_parser

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
JETSON = Path(__file__).parent / "fixtures" / "jetson"
SPEECH = REPO.parent / "shared" / "data" / "speech"
NARRATIONS = REPO.parent / "shared" / "domain" / "narrations" / "dev.json"
SCORER = REPO.parent / "shared" / "tools" / "score_dd1380.py"

NARRATION = (
    "Casualty 1, gunshot wound to the left thigh. CAT tourniquet on the left thigh at 1412.\n\n"
    "Radial pulse 110, sats 97. Urgent evac.\n"
)

NO_AUDIO = (
    r"tccc: (no audio input devices found|microphone capture needs the sounddevice package"
    r"|the PortAudio library is missing|cannot list audio devices)"
)
"""What `tccc devices` and `tccc listen` say on a machine without usable audio input."""

Path_ = tuple[str, ...]
"""A command path: ("runtime", "traces")."""


# --- the README's commands ------------------------------------------------------------------


def command_tree() -> dict[str, set[str]]:
    """Each top-level command of the real parser and its sub-commands (empty: none)."""

    def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    return {name: set(subcommands(p)) for name, p in subcommands(build_parser()).items()}


def readme_block() -> list[str]:
    """The lines of the ```sh block under "## Commands"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match is not None, 'no ```sh block under "## Commands" in README.md'
    return match.group(1).splitlines()


def readme_commands() -> tuple[dict[Path_, set[str]], list[str]]:
    """The command paths the README shows with the flags it names, and what is not a command."""
    tree = command_tree()
    found: dict[Path_, set[str]] = {}
    unknown: list[str] = []
    for line in readme_block():
        line = re.sub(r"\s#.*$", "", line).strip()
        if not line.startswith("tccc "):
            continue
        for segment in re.split(r"\|\s*tccc\s+", line.removeprefix("tccc ")):
            tokens = segment.split()
            flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", segment))
            if not tokens or tokens[0] not in tree:
                unknown.append(f"tccc {segment.strip()}")
                continue
            subs = tree[tokens[0]]
            if not subs:
                found.setdefault((tokens[0],), set()).update(flags)
                continue
            # `tccc models list | path | download NAME`: alternatives of one group.
            names, i = [tokens[1] if len(tokens) > 1 else ""], 2
            while i + 1 < len(tokens) and tokens[i] == "|":
                names.append(tokens[i + 1])
                i += 2
            for name in names:
                if name in subs:
                    found.setdefault((tokens[0], name), set()).update(flags)
                else:
                    unknown.append(f"tccc {tokens[0]} {name}")
    return found, unknown


README_COMMANDS, UNKNOWN = readme_commands()
GROUPS = sorted({path[:1] for path in README_COMMANDS if len(path) > 1})
HELP_PATHS = sorted(README_COMMANDS) + GROUPS


# --- running them ---------------------------------------------------------------------------


def tccc(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m tccc ARGS` from the repository root, its casualty log in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    environ = {**os.environ, "TCCC_DB": str(folder / "casualties.db"), "TCCC_LOG_LEVEL": "warning"}
    done = subprocess.run(
        [sys.executable, "-m", "tccc", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**environ, **(env or {})},
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a run that exited 0."""
    assert done.returncode == 0, f"{done.args}: exit {done.returncode}\n{done.stderr}"
    return done.stdout


def narration(folder: Path) -> Path:
    """A small text narration: one casualty, a tourniquet, vitals, evacuation."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "narration.txt"
    path.write_text(NARRATION, encoding="utf-8")
    return path


def run_serve(tmp: Path) -> None:
    """The resolved settings, with where each value came from."""
    out = ok(tccc(tmp, "serve", "--print-config", "--port", "10399"))
    assert re.search(r"^server\.port\s+10399\s+flag$", out, re.MULTILINE), out
    assert re.search(r"^stt\.model\s+\S+\s+\S+", out, re.MULTILINE), out


def run_transcribe(tmp: Path) -> None:
    """One second of silence: Whisper loads, and the JSON says one empty second."""
    import wave

    tmp.mkdir(parents=True, exist_ok=True)
    with wave.open(str(tmp / "silence.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000)
    result = json.loads(ok(tccc(tmp, "transcribe", str(tmp / "silence.wav"), "--format", "json")))
    assert result["duration"] == pytest.approx(1.0) and result["text"] == ""
    assert result["segments"] == []


def run_listen(tmp: Path) -> None:
    """A device that does not exist: exit 2 and a message that says what to do."""
    done = tccc(tmp, "listen", "--input", "9999")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("tccc: listening; Ctrl-C to stop\n"), done.stderr
    error = done.stderr.splitlines()[1]
    assert re.match(NO_AUDIO, error) or (
        error.startswith("tccc: no input device with index 9999;") and "tccc devices" in error
    ), error


def run_devices(tmp: Path) -> None:
    """The input devices, or (none here) a clear message and exit 1."""
    done = tccc(tmp, "devices")
    if done.returncode == 0:
        lines = done.stdout.splitlines()
        assert lines and all(re.match(r"^[* ] +\d+  \S", line) for line in lines), done.stdout
    else:
        assert done.returncode == 1 and done.stdout == "", done
        assert re.match(NO_AUDIO, done.stderr), done.stderr


def run_run(tmp: Path) -> None:
    """A text narration through the main job: the card, then every hand-off document."""
    out_dir = tmp / "out"
    done = tccc(tmp, "run", "--text-file", str(narration(tmp)), "--out", str(out_dir), "--no-llm")
    assert ok(done).startswith("Casualty 1\n") and "tourniquet: L Leg CAT 1412" in done.stdout
    assert re.search(r"^session [0-9a-f]{32}$", done.stderr, re.MULTILINE), done.stderr
    assert "reports: " in done.stderr
    names = {"dd1380.json", "card.txt", "nine-line.txt", "mist.txt", "zmist.txt", "fhir.json"}
    assert names | {"dd1380.pdf"} <= {p.name for p in out_dir.iterdir()}
    assert oct(out_dir.stat().st_mode & 0o777) == "0o700"
    assert (tmp / "casualties.db").is_file()  # $TCCC_DB, not the user's log


def run_analyze(tmp: Path) -> None:
    """One text report of a narration, from an in-memory log."""
    out = ok(tccc(tmp, "analyze", "--text-file", str(narration(tmp)), "--format", "text"))
    assert out.startswith("Casualty 1\n"), out
    assert "tourniquet: L Leg CAT 1412" in out and "vitals: pulse 110, spo2 97" in out
    assert "PROMPT M2" in out
    assert not (tmp / "casualties.db").exists()  # analyze keeps nothing by default


def run_report(tmp: Path) -> None:
    """An empty log lists nothing; after a run it lists the session and rebuilds its 9-line."""
    assert ok(tccc(tmp, "report")) == ""
    ok(tccc(tmp, "run", "--text-file", str(narration(tmp)), "--out", str(tmp / "out")))
    listed = ok(tccc(tmp, "report")).splitlines()
    assert len(listed) == 1 and re.match(r"^[0-9a-f]{32}  \S+narration\.txt  facts=\d+$", listed[0])
    out = ok(tccc(tmp, "report", listed[0][:8], "--format", "nine-line"))
    assert out.startswith("9-LINE MEDEVAC REQUEST") and "1A Urgent" in out, out
    missing = tccc(tmp, "report", "zzzz")
    assert missing.returncode == 2 and "no single session matches 'zzzz'" in missing.stderr


def run_bench_analysis(tmp: Path) -> None:
    """Two dev narrations from their text: the precision/recall table."""
    if not (NARRATIONS.is_file() and SCORER.is_file()):
        pytest.skip(f"no shared narrations or scorer beside the checkout ({NARRATIONS.parent})")
    out = ok(tccc(tmp, "bench", "analysis", "--mode", "text", "--limit", "2"))
    assert re.search(r"^text\s+2\s+\d\.\d{3}\s+\d\.\d{3}", out, re.MULTILINE), out


def run_bench_stt(tmp: Path) -> None:
    """No clips is exit 2 with the reason; one shared clip gives the WER table."""
    (tmp / "empty").mkdir(parents=True)
    empty = tccc(tmp, "bench", "stt", "--data", str(tmp / "empty"))
    assert empty.returncode == 2 and "no clips with references under" in empty.stderr
    if not SPEECH.is_dir():
        pytest.skip(f"no shared speech clips at {SPEECH}")
    out = ok(tccc(tmp, "bench", "stt", "--data", str(SPEECH), "--limit", "1"))
    assert "model load (s)" in out and "peak RSS (MiB)" in out, out


def run_bench_runtime(tmp: Path) -> None:
    """One load/unload cycle per component and a few telemetry samples."""
    out = ok(tccc(tmp, "bench", "runtime", "--cycles", "1", "--samples", "5"))
    assert re.search(r"^  speech +over 1 cycles: unload frees", out, re.MULTILINE), out
    assert "monitoring: 5 samples" in out


def run_bench_load(tmp: Path) -> None:
    """Three clients (one per protocol) for 3 s against a server the bench starts itself."""
    out = ok(tccc(tmp, "bench", "load", "--clients", "3", "--seconds", "3", "--clip-s", "1"))
    assert re.search(r"^all +3 +\d+ +\d+ +\d+ +0 ", out, re.MULTILINE), out
    assert re.search(r"^server RSS MiB: start \d+, peak \d+, end \d+$", out, re.MULTILINE), out


def run_bench_screens(tmp: Path) -> None:
    """The narration's first 14 s through the page's routes, and one dashboard for 2 s."""
    out = ok(
        tccc(tmp, "bench", "screens", "--runs", "1", "--clip-s", "14", "--dashboards", "0,1",
             "--window-s", "2")
    )  # fmt: skip
    found = re.search(r"^end of speech -> card with its fact: p50 \d+ ms.* over (\d+) utt", out,
                      re.MULTILINE)  # fmt: skip
    assert found and int(found.group(1)) >= 1, out
    assert re.search(r"^dashboard cost with 1 open: -?[\d.]+ ms", out, re.MULTILINE), out


def run_models(tmp: Path) -> None:
    """`list`, `path` and `download` of the bundled model (found offline: no network)."""
    listed = ok(tccc(tmp, "models", "list", "--models-dir", str(tmp / "models")))
    assert re.search(r"^tiny\.en +\S+: /", listed, re.MULTILINE), listed
    path = Path(ok(tccc(tmp, "models", "path", "--models-dir", str(tmp / "models"))).strip())
    assert (path / "model.bin").is_file()
    got = json.loads(
        ok(tccc(tmp, "models", "download", "tiny.en", "--models-dir", str(tmp / "models")))
    )
    assert got["model"] == "tiny.en" and Path(got["path"]) == path and got["source"], got
    assert not (tmp / "models").exists()  # found, not downloaded


def run_models_install(tmp: Path) -> None:
    """The bundled model by name into a volume layout, then that copy under another name."""
    models = tmp / "volume" / "models"
    got = json.loads(ok(tccc(tmp, "models", "install", "tiny.en", "--models-dir", str(models))))
    assert got == {"model": "tiny.en", "path": str(models / "tiny.en"), "source": got["source"]}
    assert got["source"].startswith("package:") and (models / "tiny.en" / "model.bin").is_file()
    again = tccc(
        tmp, "models", "install", str(models / "tiny.en"), "--name", "small",
        "--models-dir", str(models),
    )  # fmt: skip
    assert json.loads(ok(again))["source"] == "path"
    path = ok(tccc(tmp, "models", "path", "--model", "small", "--models-dir", str(models)))
    assert Path(path.strip()) == models / "small"
    missing = tccc(tmp, "models", "install", "medium", "--models-dir", str(models))
    assert missing.returncode == 2 and "--allow-download" in missing.stderr, missing.stderr


def run_health(tmp: Path) -> None:
    """Nothing listening on the port: exit 1 (a container health check's "unhealthy")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = tccc(tmp, "health", "--port", str(port), "--timeout", "2")
    assert done.returncode == 1 and done.stderr == "", done
    assert done.stdout.startswith("unhealthy: http /readyz: ConnectionRefusedError"), done.stdout


def run_llm_ask(tmp: Path) -> None:
    """A model file that is not there: exit 2 and why (the real model: test_llm_stage)."""
    done = tccc(tmp, "llm", "ask", "hello", "--model-path", str(tmp / "missing.gguf"))
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.startswith("tccc: language model file not found"), done.stderr


def run_doctor(tmp: Path) -> None:
    """The machine's report, down to the profile it recommends."""
    out = ok(tccc(tmp, "doctor"))
    for key in ("board", "cpu cores", "memory", "speech model", "profile"):
        assert re.search(rf"^{key} +\S", out, re.MULTILINE), (key, out)


def run_power(tmp: Path) -> None:
    """A dry run on the recorded Orin Nano: the nvpmodel command it would run, the estimate."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "nvpmodel").write_text("#!/bin/sh\nexit 1\n")  # found on PATH; never run (dry)
    (bin_dir / "nvpmodel").chmod(0o755)
    done = tccc(
        tmp, "power", "saver", "--dry-run", "--root", str(JETSON / "orin-nano"), "--server", "",
        "--battery-wh", "50", env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    out = ok(done)
    assert out.startswith("power profile saver: ")
    assert "would run: nvpmodel -m 3 (jetson-orin-nano, mode 7W)" in out, out
    assert "input power: 6.32 W; a full 50 Wh battery lasts 7.9 h at this draw" in out


def run_runtime_simulate(tmp: Path) -> None:
    """The bundled heat ramp through the policy."""
    out = ok(tccc(tmp, "runtime", "simulate", "heat-ramp"))
    assert re.match(r"^\d+ readings over \d+ s, [1-9]\d* actions\n", out), out
    assert "reduce_work" in out and "restore_work" in out


def run_runtime_traces(tmp: Path) -> None:
    """The bundled traces, one a line."""
    out = ok(tccc(tmp, "runtime", "traces"))
    assert {"heat-ramp", "memory-spike", "battery-drain"} <= set(out.split()), out


REAL: dict[Path_, Callable[[Path], None]] = {
    ("serve",): run_serve,
    ("transcribe",): run_transcribe,
    ("listen",): run_listen,
    ("devices",): run_devices,
    ("run",): run_run,
    ("analyze",): run_analyze,
    ("report",): run_report,
    ("bench", "analysis"): run_bench_analysis,
    ("bench", "stt"): run_bench_stt,
    ("bench", "runtime"): run_bench_runtime,
    ("bench", "load"): run_bench_load,
    ("bench", "screens"): run_bench_screens,
    ("models", "list"): run_models,
    ("models", "install"): run_models_install,
    ("health",): run_health,
    ("llm", "ask"): run_llm_ask,
    ("doctor",): run_doctor,
    ("power",): run_power,
    ("runtime", "simulate"): run_runtime_simulate,
    ("runtime", "traces"): run_runtime_traces,
}
"""A harmless real run of each README command, quick enough for every test run."""

ALSO_RUN_BY = {("models", "path"): ("models", "list"), ("models", "download"): ("models", "list")}
"""Commands whose real run is part of another's."""

HELP_ONLY = {
    ("demo",): "Whisper over the bundled narration (~15 s): tests/test_main_job.py runs that job",
    ("bench", "stream"): "needs a running `tccc serve` and paces audio in real time",
    ("bench", "soak"): "30 minutes through a `tccc serve` it starts",
    ("bench", "llm"): "the language model over narrations (~20 s a narration on 2 cores)",
}
"""README commands run with `--help` only, and why."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[object]]]:
    """Every `--help` and every real run, started at once on a few workers."""
    root = tmp_path_factory.mktemp("cli")
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures: dict[str, Future[object]] = {}
        for path, check in REAL.items():  # the slow ones first
            futures[" ".join(path)] = pool.submit(check, root / "-".join(path))
        futures["help"] = pool.submit(tccc, root / "help", "--help")
        for path in HELP_PATHS:
            name = "help " + " ".join(path)
            futures[name] = pool.submit(tccc, root / name.replace(" ", "-"), *path, "--help")
        yield futures


# --- the tests -------------------------------------------------------------------------------


def test_the_readme_names_only_real_commands() -> None:
    assert not UNKNOWN, f"README commands that `tccc` does not know: {UNKNOWN}"
    # A parse that finds little would let the rest pass on nothing.
    assert {("serve",), ("run",), ("runtime", "traces"), ("models", "download")} <= set(
        README_COMMANDS
    )
    assert len(README_COMMANDS) >= 20


def test_every_readme_command_has_a_real_run_or_a_reason() -> None:
    covered = set(REAL) | set(ALSO_RUN_BY) | set(HELP_ONLY)
    assert set(README_COMMANDS) <= covered, sorted(set(README_COMMANDS) - covered)


def completed(future: Future[object]) -> subprocess.CompletedProcess[str]:
    """The process a `--help` future ran."""
    done = future.result()
    assert isinstance(done, subprocess.CompletedProcess)
    return done


def test_top_level_help_lists_every_readme_command(runs: dict[str, Future[object]]) -> None:
    out = ok(completed(runs["help"]))
    listed = re.search(r"\{([a-z,]+)\}", out)
    assert listed is not None, out
    assert {path[0] for path in README_COMMANDS} <= set(listed.group(1).split(","))


@pytest.mark.parametrize("path", HELP_PATHS, ids=" ".join)
def test_help(path: Path_, runs: dict[str, Future[object]]) -> None:
    done = completed(runs["help " + " ".join(path)])
    out = ok(done)
    assert out.startswith(f"usage: tccc {' '.join(path)} "), out[:200]
    assert done.stderr == ""
    shown = README_COMMANDS.get(path, set())
    missing = sorted(f for f in shown if not re.search(rf"(?<![\w-]){f}(?![\w-])", out))
    assert not missing, f"the README shows flags that `tccc {' '.join(path)}` lacks: {missing}"


@pytest.mark.parametrize("path", sorted(REAL), ids=" ".join)
def test_real_run(path: Path_, runs: dict[str, Future[object]]) -> None:
    runs[" ".join(path)].result()  # re-raises the run's failed assertion or skip
