"""The image's entry command, run from the installed package the way the pod runs it.

No Docker daemon here, so the container is reproduced: the CPU image's ENTRYPOINT + CMD, its
HEALTHCHECK and the init container's command run as real processes with nothing of this
environment but the image's ENV and the cpu overlay's rendered environment (ConfigMap file,
Secret, resource fields), its volume mounts mapped to temporary folders, and a read-only home.
Run as root, the processes become the manifests' non-root user when the installed package is
readable by it; otherwise (a venv whose Python lives under /root) they stay uid 0 with every
capability dropped, so file permissions bind and the home cannot be written. The paths are
mapped and the port is a free one instead of 10300; nothing else differs from the pod.

What the pod would do, the tests assert: the init container finds the model, the server becomes
ready within the startup probe, answers the probes, the health check, the token-protected
routes and a transcription, keeps its state on the volume and nothing in the home folder,
refuses to start with the default (empty) token or an absent model, and stops cleanly on
SIGTERM within the grace period.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from test_deploy_docker import IMAGE_OF_TAG, Dockerfile, read_dockerfile
from test_deploy_k8s import K8S, Obj, Rendered, parse, render, resolved_env

from tccc.subprocesses import die_with_parent

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "deploy" / "docker"
TOKEN = "entry-test-token"
VENV_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
WAITING_SAID_S = 30.0
"""How long an init container may take to start and say it waits for its model."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def reachable_by_others(path: Path) -> bool:
    """Whether a user who owns nothing here can traverse to `path` and read it."""
    path = path.resolve()
    if not all(os.stat(p).st_mode & 0o001 for p in path.parents):
        return False
    return bool(os.stat(path).st_mode & 0o004)


def user_mode() -> str:
    """How the container's user is reproduced, the strictest this machine allows.

    "uid": as root, become the manifests' runAsUser (the venv must be readable by others);
    "nocaps": as root, stay uid 0 but drop every capability (setpriv), so permissions bind
    and the read-only home cannot be written; "self": not root, run as this user.
    """
    if os.geteuid() != 0:
        return "self"
    needed = [Path(sys.executable), Path(sys.base_prefix) / "lib", Path(sys.prefix)]
    if all(reachable_by_others(p) for p in needed):
        return "uid"
    return "nocaps" if shutil.which("setpriv") else "self"


NO_CAPS = [
    "--securebits",
    "+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked",
    "--bounding-set",
    "-all",
    "--inh-caps",
    "-all",
    "--ambient-caps",
    "-all",
]
"""setpriv options: uid 0 with no capabilities, kept across exec."""


@dataclass
class Pod:
    """One overlay's container reproduced on this machine: its argv, environment and folders."""

    rendered: Rendered
    image: Dockerfile
    root: Path
    mounts: dict[str, Path]
    home: Path
    mode: str
    uid: int | None
    gid: int | None

    @property
    def pod(self) -> Obj:
        """The rendered pod spec."""
        return self.rendered.pod

    def host_path(self, path: str) -> str:
        """Where a path inside the container lies here (its mount, or the image's home)."""
        places = {**self.mounts, self.image.final.env()["HOME"]: self.home}
        for inside in sorted(places, key=len, reverse=True):
            if path == inside or path.startswith(inside.rstrip("/") + "/"):
                return str(places[inside]) + path[len(inside) :]
        return path

    def env(self, c: Obj, *, token: str = TOKEN, port: int | None = None) -> dict[str, str]:
        """The container's environment: the image's ENV, then the manifest's, paths mapped."""
        env = dict(self.image.final.env())
        env.update(resolved_env(self.rendered, c, token=token))
        env = {key: self.host_path(value) for key, value in env.items()}
        # Set after the mapping: a checkout under /tmp (a mount in the pod) is not in the pod.
        env["PATH"] = f"{VENV_BIN}:{SYSTEM_PATH}"  # /opt/tccc/venv/bin is this venv here
        if port is not None:
            env["TCCC_SERVER_PORT"] = str(port)
        return env

    def argv(self, c: Obj) -> list[str]:
        """The container's command and arguments."""
        return [*c.get("command", []), *c.get("args", [])]

    def exec_argv(self, argv: list[str]) -> list[str]:
        """`argv` as this machine runs it for the container's user."""
        if self.mode == "nocaps":
            return [str(shutil.which("setpriv")), *NO_CAPS, *argv]
        return argv

    def preexec(self) -> Callable[[], None]:
        """Become the manifests' user (when root), then die with the test process."""
        tie = die_with_parent()
        uid, gid = self.uid, self.gid

        def run() -> None:
            if uid is not None and gid is not None:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            if tie is not None:
                tie()  # after setuid, which would clear the parent-death signal

        return run

    def run(
        self, c: Obj, *args: str, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the container's command (or `args` in its place) to completion."""
        return subprocess.run(
            self.exec_argv(list(args) or self.argv(c)),
            env={**self.env(c), **env},
            cwd=self.host_path(self.image.final.all("WORKDIR")[0]),
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=self.preexec(),
            check=False,
        )


def reproduce(name: str, root: Path) -> Pod:
    """The overlay `name` as a container on this machine, its folders under `root`."""
    text = render(K8S / "overlays" / name)
    rendered = Rendered(name, text, parse(text))
    flavour = rendered.container["image"].rsplit(":", 1)[1].split("-", 1)[1]
    image = read_dockerfile(DOCKER / IMAGE_OF_TAG[flavour])
    security = rendered.pod["securityContext"]
    mode = user_mode()
    uid = security["runAsUser"] if mode == "uid" else None
    gid = security["runAsGroup"] if mode == "uid" else None
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    volumes = {v["name"]: v for v in rendered.pod["volumes"]}
    mounts: dict[str, Path] = {}
    for c in [*rendered.pod["initContainers"], *rendered.pod["containers"]]:
        for mount in c["volumeMounts"]:
            host = root / "volumes" / mount["name"]
            if host.exists():
                mounts[mount["mountPath"]] = host
                continue
            host.mkdir(parents=True)
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                data = rendered.named("ConfigMap", volume["configMap"]["name"])["data"]
                for key, value in data.items():
                    (host / key).write_text(value, encoding="utf-8")
                host.chmod(0o555)  # mounted read-only
            elif uid is not None and gid is not None:
                # fsGroup: the volume belongs to the pod's group; emptyDir is world-writable.
                os.chown(host, uid, gid)
            mounts[mount["mountPath"]] = host
    (root / "volumes").chmod(0o755)
    home = root / "home"
    home.mkdir()
    home.chmod(0o555)  # the image's home, on a read-only root filesystem
    return Pod(rendered, image, root, mounts, home, mode, uid, gid)


@pytest.fixture(scope="module")
def cpu_pod() -> Iterator[Pod]:
    """The cpu overlay reproduced (under a world-traversable temporary folder)."""
    root = Path(tempfile.mkdtemp(prefix="tccc-entry-"))
    root.chmod(0o755)  # mkdtemp's 0700 would shut the pod's user out
    try:
        yield reproduce("cpu", root / "pod")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Running:
    """The entry command running, and how to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    ready_s: float

    def log_tail(self) -> str:
        """The end of what the server printed."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def server(cpu_pod: Pod) -> Iterator[Running]:
    """The image's ENTRYPOINT + CMD (the manifest's command), until /readyz says ready."""
    c = cpu_pod.rendered.container
    argv = cpu_pod.image.exec_form("ENTRYPOINT") + cpu_pod.image.exec_form("CMD")
    assert argv == cpu_pod.argv(c)
    port = free_port()
    log = cpu_pod.root / "server.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            cpu_pod.exec_argv(argv),
            env=cpu_pod.env(c, port=port),
            cwd=cpu_pod.host_path(cpu_pod.image.final.all("WORKDIR")[0]),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=cpu_pod.preexec(),
        )
    probe = c["startupProbe"]
    budget = min(180, probe["periodSeconds"] * probe["failureThreshold"])
    running = Running(process, port, log, 0.0)
    try:
        while True:
            assert process.poll() is None, f"the server exited:\n{running.log_tail()}"
            assert time.monotonic() - started < budget, f"not ready:\n{running.log_tail()}"
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}{probe['httpGet']['path']}")
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        running.ready_s = time.monotonic() - started
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def silence_wav(seconds: float = 1.0) -> bytes:
    """A 16 kHz mono WAV of silence."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))
    return buffer.getvalue()


# --- the tests --------------------------------------------------------------------------------


def test_init_container_finds_the_bundled_model(cpu_pod: Pod) -> None:
    init = cpu_pod.pod["initContainers"][0]
    done = cpu_pod.run(init)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip(), "model.bin").is_file(), done.stdout
    assert "waiting" not in done.stderr


def test_the_server_answers_its_probes_and_health_check(cpu_pod: Pod, server: Running) -> None:
    c = cpu_pod.rendered.container
    base = f"http://127.0.0.1:{server.port}"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        path = c[probe]["httpGet"]["path"]
        assert httpx.get(base + path).status_code == 200, probe
    _, command = cpu_pod.image.healthcheck()
    done = cpu_pod.run(c, *command, TCCC_SERVER_PORT=str(server.port))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("healthy: http /readyz 200; wyoming info tiny.en"), done.stdout


def test_the_token_from_the_secret_guards_the_api(cpu_pod: Pod, server: Running) -> None:
    base = f"http://127.0.0.1:{server.port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    path = cpu_pod.rendered.deployment["spec"]["template"]["metadata"]["annotations"][
        "prometheus.io/path"
    ]
    assert httpx.get(base + path).status_code == 401
    metrics = httpx.get(base + path, headers=auth)
    assert metrics.status_code == 200 and "tccc_queue_depth" in metrics.text
    files = {"audio": ("silence.wav", silence_wav(), "audio/wav")}
    answer = httpx.post(f"{base}/api/asr", files=files, data={"language": "en"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "" and answer.json()["model"] == "tiny.en"


def test_state_lives_on_the_volume_and_home_stays_untouched(cpu_pod: Pod, server: Running) -> None:
    env = cpu_pod.env(cpu_pod.rendered.container)
    db = Path(env["TCCC_DB"])
    data_volume = cpu_pod.mounts["/var/lib/tccc"]
    assert db.is_file() and data_volume in db.parents, db
    assert oct(db.parent.stat().st_mode & 0o777) == "0o700"
    if cpu_pod.uid is not None:
        assert db.stat().st_uid == cpu_pod.uid
    assert list(cpu_pod.home.iterdir()) == []


def test_the_default_empty_token_refuses_to_start(cpu_pod: Pod) -> None:
    c = cpu_pod.rendered.container
    done = cpu_pod.run(c, *cpu_pod.argv(c), TCCC_API_TOKEN="", TCCC_SERVER_PORT=str(free_port()))
    assert done.returncode == 2, done.stderr
    assert "refusing to listen on 0.0.0.0 without an API token" in done.stderr


def test_an_absent_model_waits_then_is_placed_with_models_install() -> None:
    """The Orin pod without `small` on its volume: the init container waits (never
    downloading), `tccc serve` refuses, and `tccc models install` into the volume ends the wait.
    """
    root = Path(tempfile.mkdtemp(prefix="tccc-entry-"))
    root.chmod(0o755)  # mkdtemp's 0700 would shut the pod's user out
    try:
        pod = reproduce("jetson-orin-nano", root / "pod")
        init, main = pod.pod["initContainers"][0], pod.rendered.container
        models = Path(pod.env(init)["TCCC_STT_MODELS_DIR"])
        refused = pod.run(main, *pod.argv(main), TCCC_SERVER_PORT=str(free_port()))
        assert refused.returncode == 2, refused.stderr
        assert "model 'small' is not available locally" in refused.stderr
        assert f"tccc models install DIR --name small --models-dir {models}" in refused.stderr
        waiting = subprocess.Popen(
            pod.exec_argv(pod.argv(init)),
            env=pod.env(init),
            cwd=pod.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=pod.preexec(),
        )
        try:
            # The model is placed only once the init container says it waits: placed sooner,
            # it would be found at once and the wait would go untested.
            said: list[str] = []
            said_waiting = threading.Event()

            def read_stderr() -> None:
                assert waiting.stderr is not None
                for line in waiting.stderr:
                    said.append(line)
                    if "tccc: waiting: " in line:
                        said_waiting.set()

            reader = threading.Thread(target=read_stderr, daemon=True)
            reader.start()
            said_waiting.wait(WAITING_SAID_S)
            assert waiting.poll() is None, f"the init container gave up instead of waiting: {said}"
            assert said_waiting.is_set(), f"not waiting within {WAITING_SAID_S} s: {said}"
            placed = pod.run(init, "tccc", "models", "install", "tiny.en", "--name", "small")
            assert placed.returncode == 0, placed.stderr
            waiting.wait(timeout=30)
            reader.join(timeout=10)
            assert waiting.stdout is not None
            out, err = waiting.stdout.read(), "".join(said)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
        assert waiting.returncode == 0, err
        assert Path(out.strip()) == models / "small" and (models / "small/model.bin").is_file()
        assert err.count("tccc: waiting: model 'small' is not available locally") == 1, err
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_sigterm_stops_within_the_grace_period(cpu_pod: Pod, server: Running) -> None:
    grace = cpu_pod.pod["terminationGracePeriodSeconds"]
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=grace)
    # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is a clean exit too.
    assert code in (0, -signal.SIGTERM), server.log_tail()
    assert "Application shutdown complete." in server.log_tail(), server.log_tail()
    assert time.monotonic() - started < grace
    c = cpu_pod.rendered.container
    _, command = cpu_pod.image.healthcheck()
    done = cpu_pod.run(c, *command, TCCC_SERVER_PORT=str(server.port))
    assert done.returncode == 1 and done.stdout.startswith("unhealthy: "), done.stdout
