"""Shared fixtures: real `tccc serve` processes and the speech clips the end-to-end tests send.

Every server is a subprocess started with `sys.executable -m tccc serve` on a free loopback port;
its stdout and stderr go to a log file so tests can read what the server logged. Servers are
session-scoped and cached by their flags (each one loads a Whisper model), and are stopped with
SIGTERM at the end of the session, which must make them exit with status 0.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from tccc.subprocesses import die_with_parent

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEECH_DIR = Path(__file__).parents[1].parent / "shared" / "data" / "speech"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
SAMPLE_RATE = 16000


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(autouse=True, scope="session")
def _private_casualty_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point TCCC_DB at a temporary file so no test touches the user's casualty log."""
    before = os.environ.get("TCCC_DB")
    os.environ["TCCC_DB"] = str(tmp_path_factory.mktemp("casualty-log") / "casualties.db")
    yield
    if before is None:
        os.environ.pop("TCCC_DB", None)
    else:
        os.environ["TCCC_DB"] = before


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without TCCC_* settings (but TCCC_DB), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCCC_") or k == "TCCC_DB"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def serve_command(*args: str) -> list[str]:
    """`python -m tccc serve ARGS` with this interpreter."""
    return [sys.executable, "-m", "tccc", "serve", *args]


@dataclass
class Server:
    """A running `tccc serve` process."""

    host: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    args: tuple[str, ...] = ()
    token: str | None = None

    @property
    def base_url(self) -> str:
        """http://host:port"""
        return f"http://{self.host}:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header this server wants (empty without a token)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def alive(self) -> bool:
        """The process has not exited."""
        return self.process.poll() is None

    def stop(self) -> int:
        """SIGTERM, wait for a graceful exit (SIGKILL after a timeout); returns the exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return -9
        return self.process.returncode


def start_server(
    log_dir: Path, *args: str, token: str | None = None, env: dict[str, str] | None = None
) -> Server:
    """Start `tccc serve ARGS` (with TCCC_* variables `env`) and wait until /readyz is 200."""
    port = free_port()
    all_args = ("--host", "127.0.0.1", "--port", str(port), *args)
    if token is not None:
        all_args += ("--api-token", token)
    log_path = log_dir / f"server-{port}.log"
    # Each test server keeps its casualty log beside its own log, never in the user's.
    env = {"TCCC_DB": str(log_dir / f"server-{port}.db"), **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            serve_command(*all_args),
            cwd=REPO_ROOT,
            env=server_env(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),  # no orphaned server if pytest itself is killed
        )
    server = Server("127.0.0.1", port, log_path, process, tuple(args), token)
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if not server.alive():
            pytest.fail(
                f"tccc serve {' '.join(args)} exited with {process.returncode} before it was "
                f"ready; log:\n{server.log_tail()}"
            )
        try:
            response = httpx.get(f"{server.base_url}/readyz", timeout=2.0)
            if response.status_code == 200:
                return server
            last = f"{response.status_code} {response.text}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.1)
    server.stop()
    pytest.fail(
        f"tccc serve was not ready within {READY_TIMEOUT_S:.0f} s (last /readyz: {last}); "
        f"log:\n{server.log_tail()}"
    )


@dataclass
class ServerFactory:
    """Starts extra servers with other flags; one process per distinct set of flags."""

    log_dir: Path
    servers: dict[tuple[object, ...], Server] = field(default_factory=dict)

    def __call__(
        self, *args: str, token: str | None = None, env: dict[str, str] | None = None
    ) -> Server:
        """A ready server started with these extra flags (reused if already running)."""
        key = (args, token, tuple(sorted((env or {}).items())))
        server = self.servers.get(key)
        if server is None or not server.alive():
            server = start_server(self.log_dir, *args, token=token, env=env)
            self.servers[key] = server
        return server

    # Helpers for tests that run `tccc serve` themselves (to check start-up refusals).
    free_port = staticmethod(free_port)
    command = staticmethod(serve_command)
    env = staticmethod(server_env)
    die_with_parent = staticmethod(die_with_parent)
    cwd = REPO_ROOT

    def stop_all(self) -> list[str]:
        """Stop every server; returns a description of each one that did not exit cleanly."""
        problems = []
        for server in self.servers.values():
            was_alive = server.alive()
            status = server.stop()
            log = server.log_text()
            if not was_alive:
                problems.append(f"server {server.args} died during the tests ({status})")
            elif status not in (0, -signal.SIGTERM):
                # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is clean too.
                problems.append(f"server {server.args} exited with {status} on SIGTERM")
            elif "Application shutdown complete" not in log:
                problems.append(f"server {server.args} did not shut down gracefully")
            if "Traceback" in log:
                problems.append(f"server {server.args} logged a traceback")
            if problems:
                problems.append(f"log of {server.args}:\n{server.log_tail(60)}")
        self.servers.clear()
        return problems


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Factory for servers with extra flags, e.g. factory("--max-upload-mb", "1", token="t")."""
    factory = ServerFactory(tmp_path_factory.mktemp("tccc-servers"))
    yield factory
    problems = factory.stop_all()
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture(scope="session")
def server(server_factory: ServerFactory) -> Server:
    """The default server (default flags, INFO logging) shared by most end-to-end tests."""
    return server_factory()


LOCKED_MAX_UPLOAD_MB = 1
LOCKED_MAX_AUDIO_S = 5


@pytest.fixture(scope="session")
def locked_server(server_factory: ServerFactory) -> Server:
    """A server with a bearer token, a 1 MB upload limit and a 5 s audio limit."""
    return server_factory(
        "--max-upload-mb",
        str(LOCKED_MAX_UPLOAD_MB),
        token="e2e-secret-token",
        env={"TCCC_SERVER_MAX_AUDIO_S": str(LOCKED_MAX_AUDIO_S)},
    )


# --- speech data -------------------------------------------------------------------------------


def wav_bytes(samples: np.ndarray, rate: int, channels: int) -> bytes:
    """A 16-bit PCM WAV file of interleaved int16 samples."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


@dataclass
class SpeechData:
    """The shared speech clips, their reference transcripts and converted copies."""

    root: Path
    references: dict[str, str]
    _pcm: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        """Path of one clip (skips the test when it is missing)."""
        path = self.root / "audio" / name
        if not path.is_file():
            pytest.skip(f"speech clip {name} is not in {self.root / 'audio'}")
        return path

    def reference(self, name: str) -> str:
        """The clip's reference transcript from manifest.tsv."""
        if name not in self.references:
            pytest.skip(f"{name} has no reference transcript in manifest.tsv")
        return self.references[name]

    def pcm(self, name: str, rate: int = SAMPLE_RATE, channels: int = 1) -> np.ndarray:
        """The clip decoded with PyAV to interleaved int16 at `rate` Hz and `channels`."""
        key = (name, rate, channels)
        if key not in self._pcm:
            layout = {1: "mono", 2: "stereo"}[channels]
            resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
            parts: list[np.ndarray] = []
            with av.open(str(self.path(name))) as container:
                for frame in container.decode(audio=0):
                    parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
            self._pcm[key] = np.concatenate(parts).astype(np.int16)
        return self._pcm[key]

    encode_wav = staticmethod(wav_bytes)

    def wav(self, name: str, rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
        """The clip as a 16-bit WAV file at `rate` Hz and `channels`."""
        return wav_bytes(self.pcm(name, rate, channels), rate, channels)

    @staticmethod
    def text_wer(reference: str, hypothesis: str) -> float:
        """Word error rate of `hypothesis` against `reference` (Whisper English normaliser)."""
        from tccc.bench.stt import edit_distance, normalise

        ref, hyp = normalise(reference), normalise(hypothesis)
        return float(edit_distance(ref, hyp) / max(1, len(ref)))

    def wer(self, name: str, hypothesis: str) -> float:
        """Word error rate of `hypothesis` against the clip's reference."""
        return self.text_wer(self.reference(name), hypothesis)

    def assert_transcript(self, name: str, hypothesis: str, max_wer: float = 0.25) -> None:
        """Fail unless `hypothesis` is within `max_wer` of the clip's reference."""
        wer = self.wer(name, hypothesis)
        assert wer <= max_wer, (
            f"WER {wer:.2f} > {max_wer} for {name}: got {hypothesis!r}, "
            f"expected {self.reference(name)!r}"
        )


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    """The shared speech data directory (../shared/data/speech); skips when it is absent."""
    if not (SPEECH_DIR / "manifest.tsv").is_file():
        pytest.skip(f"no speech data at {SPEECH_DIR} (manifest.tsv missing)")
    return SPEECH_DIR


@pytest.fixture(scope="session")
def speech(speech_dir: Path) -> SpeechData:
    """Speech clips with reference transcripts, and helpers to convert and score them."""
    with (speech_dir / "manifest.tsv").open(encoding="utf-8", newline="") as fh:
        refs = {
            row["file"]: row["reference_transcript"] for row in csv.DictReader(fh, delimiter="\t")
        }
    return SpeechData(speech_dir, refs)
