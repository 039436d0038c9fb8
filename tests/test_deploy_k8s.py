"""The Kubernetes manifests: every overlay renders, validates offline, and keeps the policies.

Each overlay of deploy/k8s is rendered with `kubectl kustomize` (once per module) and validated
with `kubernetes-validate --strict` against the oldest and newest Kubernetes versions we claim,
from its bundled schemas with no network. The policy tests then read the rendered objects: GPU
requests come with the NVIDIA runtime class, the startup probe covers the model load, no host
IPC, limits at least the requests, images pinned by tag, the seed's values in the Orin overlay,
and the settings the pod's environment and ConfigMap resolve to through tccc's own resolver.
The optional components are rendered on top of an overlay the way README "Deploy" does it.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import tccc
from tccc.cli.main import build_parser
from tccc.config import env_names as setting_env_names
from tccc.config import load_profiles, resolve_settings, setting_keys

REPO = Path(__file__).resolve().parent.parent
K8S = REPO / "deploy" / "k8s"
OVERLAYS = {
    "jetson-orin-nano": "jetson-orin-nano",
    "jetson-xavier-nx": "jetson-xavier-nx",
    "jetson-nano": "jetson-nano",
    "gpu": "gpu",
    "cpu": "cpu",
}
"""Each overlay and the tccc profile it must run."""

K8S_VERSIONS = ("1.30.0", "1.37.0")
"""Validated against: 1.30 (what k3s on a JetPack 6 board commonly runs) and the newest schema
kubernetes-validate bundles."""

SEED_LOAD_S = 120
"""The seed's worst model load on the Orin Nano (60-120 s)."""

ENV_NOT_SETTINGS = {"TCCC_DB", "TCCC_CONFIG", "TCCC_LOG_LEVEL", "TCCC_PROFILE"}
"""TCCC_* variables tccc reads that are not `section.field` settings."""

CRD_KINDS = {"ServiceMonitor"}
"""Kinds without a bundled schema (custom resources): checked by the policy tests instead."""

Obj = dict[str, Any]


# --- rendering --------------------------------------------------------------------------------


def kubectl() -> str:
    """The kubectl binary, or a skip with the reason."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl (with kustomize) is not installed: the manifests cannot be rendered")
    return found


def venv_tool(name: str) -> str:
    """A console script installed beside this interpreter (the project's venv), or a skip."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (make install puts it in .venv)")
    return found


def render(directory: Path) -> str:
    """`kubectl kustomize DIRECTORY` (an AssertionError with kustomize's message if it fails)."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return done.stdout


def parse(text: str) -> list[Obj]:
    """The objects of a rendered multi-document YAML stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


@dataclass(frozen=True)
class Rendered:
    """One rendered kustomization: its YAML and its objects."""

    name: str
    text: str
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        """Every object of `kind`."""
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str) -> Obj:
        """The only object of `kind`."""
        found = self.of_kind(kind)
        assert len(found) == 1, f"{self.name}: {len(found)} objects of kind {kind}"
        return found[0]

    def named(self, kind: str, name: str) -> Obj:
        """The object of `kind` called `name`."""
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert found, f"{self.name}: no {kind} named {name}"
        return found[0]

    @property
    def deployment(self) -> Obj:
        """The Deployment."""
        return self.one("Deployment")

    @property
    def pod(self) -> Obj:
        """The Deployment's pod spec."""
        spec: Obj = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def container(self) -> Obj:
        """The tccc container."""
        return container(self.pod, "tccc")


def container(pod: Obj, name: str) -> Obj:
    """The container `name` of a pod spec."""
    found = [c for c in pod["containers"] if c["name"] == name]
    assert len(found) == 1, f"no single container {name}"
    return found[0]


def all_containers(pod: Obj) -> list[Obj]:
    """Init and app containers of a pod spec."""
    return [*pod.get("initContainers", []), *pod["containers"]]


def render_site(root: Path, base: str, body: str, files: dict[str, str] | None = None) -> Rendered:
    """A site overlay in `root` on top of deploy/k8s/overlays/BASE, as README "Deploy" makes one.

    `body` is the rest of its kustomization.yaml; `{K8S}` in it is the relative path to
    deploy/k8s (kustomize refuses absolute paths).
    """
    root.mkdir(parents=True, exist_ok=True)
    k8s = os.path.relpath(K8S, root)
    (root / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources:\n  - {k8s}/overlays/{base}\n" + body.replace("{K8S}", k8s),
        encoding="utf-8",
    )
    for name, text in (files or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    text = render(root)
    return Rendered(f"site:{base}", text, parse(text))


@pytest.fixture(scope="module")
def overlays() -> dict[str, Rendered]:
    """Every overlay, rendered."""
    found = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
    assert found == sorted(OVERLAYS), f"overlays on disk {found} != the profiles {OVERLAYS}"
    out = {}
    for name in OVERLAYS:
        text = render(K8S / "overlays" / name)
        out[name] = Rendered(name, text, parse(text))
    return out


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The gpu overlay with the servicemonitor and autoscaling components and a site token."""
    return render_site(
        tmp_path_factory.mktemp("site") / "gpu-scaled",
        "gpu",
        "namespace: whisper\n"
        "components:\n  - {K8S}/components/servicemonitor\n  - {K8S}/components/autoscaling\n",
    )


# --- offline schema validation ----------------------------------------------------------------


def offline_prefix() -> list[str]:
    """`unshare -n` when this user may create a network namespace: proof the check is offline."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, check=False)
    return [unshare, "-n"] if probe.returncode == 0 else []


def test_every_overlay_and_the_components_validate_strictly_offline(
    overlays: dict[str, Rendered], scaled: Rendered, tmp_path: Path
) -> None:
    files = []
    for rendered in [*overlays.values(), scaled]:
        path = tmp_path / f"{rendered.name.replace(':', '-')}.yaml"
        path.write_text(rendered.text, encoding="utf-8")
        files.append(str(path))
    versions = [arg for v in K8S_VERSIONS for arg in ("-k", v)]
    command = [venv_tool("kubernetes-validate"), "--strict", *versions, *files]
    done = subprocess.run(
        offline_prefix() + command, capture_output=True, text=True, timeout=120, check=False
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [line for line in lines if line.startswith(("ERROR", "FATAL"))], done.stdout
    # A kind without a schema is only a warning there; only known custom resources may be one.
    unknown = [line for line in lines if line.startswith("WARN")]
    assert all(any(f"kind {kind} " in line for kind in CRD_KINDS) for line in unknown), unknown
    passed = sum(line.startswith("INFO") for line in lines)
    expected = sum(
        o["kind"] not in CRD_KINDS for r in [*overlays.values(), scaled] for o in r.objects
    )
    assert passed == expected * len(K8S_VERSIONS), done.stdout


def test_strict_validation_has_teeth(overlays: dict[str, Rendered]) -> None:
    """A misspelt field (a probe the kubelet would silently ignore) fails --strict."""
    import kubernetes_validate

    deployment = overlays["cpu"].deployment
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["startupProbes"] = {}
    kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


# --- policies on every overlay ----------------------------------------------------------------


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity as a number (cores, bytes, or a count)."""
    text = str(value)
    units = {
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
    }
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    assert match is not None and match.group(2) in ("", *units), f"not a quantity: {value!r}"
    return float(match.group(1)) * units.get(match.group(2), 1.0)


def gpus(c: Obj, kind: str) -> float:
    """The container's nvidia.com/gpu in `requests` or `limits` (0 if none)."""
    return quantity(c.get("resources", {}).get(kind, {}).get("nvidia.com/gpu", 0))


@pytest.mark.parametrize("name", OVERLAYS)
def test_gpu_requests_come_with_the_nvidia_runtime(
    name: str, overlays: dict[str, Rendered]
) -> None:
    pod = overlays[name].pod
    wants_gpu = any(gpus(c, "requests") or gpus(c, "limits") for c in all_containers(pod))
    assert (pod.get("runtimeClassName") == "nvidia") == wants_gpu, (
        name,
        pod.get("runtimeClassName"),
    )
    for c in all_containers(pod):
        # An extended resource must be requested exactly as limited; the API server says so
        # only when the pod is created.
        assert gpus(c, "requests") == gpus(c, "limits"), (name, c["name"])
    if wants_gpu:
        tolerated = {t.get("key") for t in pod.get("tolerations", [])}
        assert "nvidia.com/gpu" in tolerated, name


@pytest.mark.parametrize("name", OVERLAYS)
def test_probes_cover_the_model_load_and_ask_the_service(
    name: str, overlays: dict[str, Rendered]
) -> None:
    from tccc.server.http_app import OPEN_ROUTES

    c = overlays[name].container
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    startup = c.get("startupProbe")
    assert startup is not None, f"{name}: no startupProbe: liveness would kill a slow model load"
    budget = startup.get("initialDelaySeconds", 0) + startup.get("periodSeconds", 10) * startup.get(
        "failureThreshold", 3
    )
    assert budget >= 2 * SEED_LOAD_S, f"{name}: startup allows {budget} s"
    paths = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["port"] in ports or get["port"] in ports.values(), (name, probe, get)
        # Probes carry no token: only the server's open routes answer them.
        assert get["path"] in OPEN_ROUTES, (name, probe, get["path"])
        paths[probe] = get["path"]
    assert paths == {
        "startupProbe": "/readyz",
        "readinessProbe": "/readyz",
        "livenessProbe": "/healthz",
    }


@pytest.mark.parametrize("name", OVERLAYS)
def test_no_host_namespaces_and_a_private_shm(name: str, overlays: dict[str, Rendered]) -> None:
    pod = overlays[name].pod
    for field in ("hostIPC", "hostNetwork", "hostPID"):
        assert not pod.get(field, False), (name, field)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in overlays[name].container["volumeMounts"]}
    assert volumes[mounts["/dev/shm"]].get("emptyDir", {}).get("medium") == "Memory", name
    assert not [v for v in pod["volumes"] if "hostPath" in v], name


@pytest.mark.parametrize("name", OVERLAYS)
def test_limits_at_least_requests(name: str, overlays: dict[str, Rendered]) -> None:
    for c in all_containers(overlays[name].pod):
        requests, limits = c["resources"]["requests"], c["resources"]["limits"]
        for resource in ("cpu", "memory"):
            assert resource in requests and resource in limits, (name, c["name"], resource)
        for resource, value in requests.items():
            assert quantity(limits[resource]) >= quantity(value), (name, c["name"], resource)


@pytest.mark.parametrize("name", OVERLAYS)
def test_images_pinned_by_tag(name: str, overlays: dict[str, Rendered]) -> None:
    for c in all_containers(overlays[name].pod):
        image = c["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag and tag and tag != "latest", (name, image)
        # The tag names the release it was built from.
        assert tag.startswith(f"{tccc.__version__}-"), (name, image)
        assert c.get("imagePullPolicy") == "IfNotPresent", (name, c["name"])
    assert len({c["image"] for c in all_containers(overlays[name].pod)}) == 1, name


@pytest.mark.parametrize("name", OVERLAYS)
def test_security_context(name: str, overlays: dict[str, Rendered]) -> None:
    pod = overlays[name].pod
    ctx = pod["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] != 0 and ctx["runAsGroup"] != 0
    assert ctx["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    for c in all_containers(pod):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
        assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
        assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
    # The namespace enforces the restricted Pod Security Standard, which the pod meets.
    namespace = overlays[name].one("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["name"] == overlays[name].deployment["metadata"]["namespace"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_no_service_links(name: str, overlays: dict[str, Rendered]) -> None:
    """A Service named tccc would inject TCCC_PORT=tcp://..., which tccc reads as server.port."""
    from tccc.errors import ConfigError

    assert overlays[name].pod["enableServiceLinks"] is False, name
    with pytest.raises(ConfigError):
        resolve_settings(env={"TCCC_PORT": "tcp://10.43.0.10:10300"})


@pytest.mark.parametrize("name", OVERLAYS)
def test_one_replica_recreated_with_its_volume(name: str, overlays: dict[str, Rendered]) -> None:
    r = overlays[name]
    spec = r.deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", name
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in r.pod["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert claims == [r.one("PersistentVolumeClaim")["metadata"]["name"]], name
    assert r.one("PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]


def resolved_env(r: Rendered, c: Obj, token: str = "") -> dict[str, str]:
    """A container's environment as the kubelet gives it (Secret, ConfigMap and resource refs)."""
    env: dict[str, str] = {}
    for item in c.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = item["valueFrom"]
        if "secretKeyRef" in ref:
            secret = r.named("Secret", ref["secretKeyRef"]["name"])
            assert ref["secretKeyRef"]["key"] in secret.get("data", {}), item
            env[item["name"]] = token
        elif "configMapKeyRef" in ref:
            cm = r.named("ConfigMap", ref["configMapKeyRef"]["name"])
            env[item["name"]] = cm["data"][ref["configMapKeyRef"]["key"]]
        elif "resourceFieldRef" in ref:
            field = ref["resourceFieldRef"]
            target = container(r.pod, field.get("containerName", c["name"]))
            kind, resource = field["resource"].split(".", 1)
            value = quantity(target["resources"][kind][resource])
            env[item["name"]] = str(math.ceil(value / quantity(field.get("divisor", "1"))))
        else:
            raise AssertionError(f"unsupported valueFrom {item}")
    return env


def config_file(r: Rendered, c: Obj, env: dict[str, str], into: Path) -> Path:
    """The ConfigMap file TCCC_CONFIG names, written to `into` (it must be mounted)."""
    path = Path(env["TCCC_CONFIG"])
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volume = {v["name"]: v for v in r.pod["volumes"]}[mounts[str(path.parent)]]
    data = r.named("ConfigMap", volume["configMap"]["name"])["data"]
    assert path.name in data, f"{r.name}: {path.name} not in the ConfigMap"
    into.mkdir(parents=True, exist_ok=True)
    (into / path.name).write_text(data[path.name], encoding="utf-8")
    return into / path.name


@pytest.mark.parametrize("name", OVERLAYS)
def test_environment_and_configmap_resolve_to_the_profile(
    name: str, overlays: dict[str, Rendered], tmp_path: Path
) -> None:
    r = overlays[name]
    known = {n for key in setting_keys() for n in setting_env_names(key)} | ENV_NOT_SETTINGS
    for c in all_containers(r.pod):
        env = resolved_env(r, c, token="t0ken")
        unknown = sorted(k for k in env if k.startswith("TCCC_") and k not in known)
        assert not unknown, f"{name}/{c['name']}: tccc ignores {unknown}"
        cfg = config_file(r, c, env, tmp_path / c["name"])
        settings = resolve_settings(config_path=cfg, env=env).settings
        assert settings.profile == OVERLAYS[name], (name, c["name"])
        assert settings.stt.models_dir == "/var/lib/tccc/models"
    env = resolved_env(r, r.container, token="t0ken")
    settings = resolve_settings(
        config_path=config_file(r, r.container, env, tmp_path / "main"), env=env
    ).settings
    assert settings.server.host == "0.0.0.0" and settings.server.api_token == "t0ken"
    assert settings.server.port == r.container["ports"][0]["containerPort"]
    # OMP_NUM_THREADS and tccc's own threads match the CPU limit.
    limit = math.ceil(quantity(r.container["resources"]["limits"]["cpu"]))
    assert env["OMP_NUM_THREADS"] == str(limit) and settings.stt.cpu_threads == limit
    assert settings.llm.n_threads == limit
    assert "CUDA_LAUNCH_BLOCKING" not in env and "PYTORCH_CUDA_ALLOC_CONF" not in env


@pytest.mark.parametrize("name", OVERLAYS)
def test_paths_lie_on_the_right_volumes(name: str, overlays: dict[str, Rendered]) -> None:
    r = overlays[name]
    volumes = {v["name"]: v for v in r.pod["volumes"]}
    for c in all_containers(r.pod):
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        assert all(m["name"] in volumes for m in mounts.values()), c["name"]
        env = {e["name"]: e.get("value") for e in c["env"]}

        def mount_of(path: str, mounts: dict[str, Obj] = mounts) -> Obj:
            best = max((p for p in mounts if path.startswith(p.rstrip("/") + "/")), key=len)
            return mounts[best]

        for key in ("TCCC_STT_MODELS_DIR", "TCCC_DB"):
            if env.get(key):
                mount = mount_of(env[key])
                assert (
                    not mount.get("readOnly") and "persistentVolumeClaim" in volumes[mount["name"]]
                ), (name, c["name"], key)
        assert "configMap" in volumes[mount_of(env["TCCC_CONFIG"])["name"]]
        assert "/tmp" in mounts, (name, c["name"])


@pytest.mark.parametrize("name", OVERLAYS)
def test_commands_are_real_tccc_commands(name: str, overlays: dict[str, Rendered]) -> None:
    parser = build_parser()
    for c in all_containers(overlays[name].pod):
        argv = [*c.get("command", []), *c.get("args", [])]
        assert argv[0] == "tccc", argv
        parser.parse_args(argv[1:])  # SystemExit on an unknown command or flag
    init = overlays[name].pod["initContainers"][0]
    assert init["command"] == ["tccc", "models", "path", "--wait"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_service_network_policy_and_scrape_annotations_match_the_pod(
    name: str, overlays: dict[str, Rendered]
) -> None:
    r = overlays[name]
    labels = r.deployment["spec"]["template"]["metadata"]["labels"]
    port = r.container["ports"][0]
    service = r.one("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        (10300, port["name"])
    ]
    policy = r.one("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert policy["egress"] == [], "nothing out: tccc never calls the network"
    assert [p["port"] for rule in policy["ingress"] for p in rule["ports"]] == [
        port["containerPort"]
    ]
    annotations = r.deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port["containerPort"])
    assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_default_token_is_empty_so_the_pod_refuses_to_start_open(
    name: str, overlays: dict[str, Rendered], tmp_path: Path
) -> None:
    from tccc.errors import ConfigError
    from tccc.server.app import check_exposure

    r = overlays[name]
    (secret,) = r.of_kind("Secret")
    assert secret["data"] == {"token": ""}, "no token may be committed"
    env = resolved_env(r, r.container, token="")
    cfg = config_file(r, r.container, env, tmp_path)
    with pytest.raises(ConfigError, match="without an API token"):
        check_exposure(resolve_settings(config_path=cfg, env=env).settings)


# --- the seed's values ------------------------------------------------------------------------


def test_orin_nano_overlay_carries_the_seed_values_exactly(
    overlays: dict[str, Rendered], tmp_path: Path
) -> None:
    r = overlays["jetson-orin-nano"]
    assert {o["metadata"].get("namespace") for o in r.objects if o["kind"] != "Namespace"} == {
        "whisper"
    }
    assert r.pod["nodeSelector"] == {"kubernetes.io/hostname": "jetson02"}
    resources = r.container["resources"]
    assert resources["requests"] == {"memory": "2Gi", "cpu": "2000m", "nvidia.com/gpu": "1"}
    assert resources["limits"] == {"memory": "4Gi", "cpu": "4000m", "nvidia.com/gpu": "1"}
    service = r.one("Service")
    assert service["metadata"]["name"] == "whisper-gpu"
    assert [p["port"] for p in service["spec"]["ports"]] == [10300]
    env = resolved_env(r, r.container, token="t")
    settings = resolve_settings(
        config_path=config_file(r, r.container, env, tmp_path), env=env
    ).settings
    assert settings.profile == "jetson-orin-nano"
    stt = settings.stt
    assert (stt.model, stt.device, stt.compute_type, stt.language, stt.beam_size) == (
        "small",
        "cuda",
        "float16",
        "en",
        1,
    )
    assert settings.vad.max_speech_s == 20.0 and stt.num_workers == 1


def test_gpu_overlay_carries_the_seed_gpu_node(
    overlays: dict[str, Rendered], tmp_path: Path
) -> None:
    r = overlays["gpu"]
    limits = r.container["resources"]["limits"]
    assert (quantity(limits["memory"]), quantity(limits["cpu"]), gpus(r.container, "limits")) == (
        6 * 2**30,
        8.0,
        1.0,
    )
    env = resolved_env(r, r.container, token="t")
    settings = resolve_settings(
        config_path=config_file(r, r.container, env, tmp_path), env=env
    ).settings
    assert (settings.profile, settings.stt.model, settings.vad.max_speech_s) == (
        "gpu",
        "large-v3",
        30.0,
    )
    # large-v3 is 3 GB: room for it and a second model on the volume.
    assert quantity(r.one("PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"]) >= (
        20 * 2**30
    )


# --- optional components ----------------------------------------------------------------------


def test_autoscaling_scales_the_deployment_on_the_queue_depth(scaled: Rendered) -> None:
    from tccc.server.metrics import ServerMetrics

    hpa = scaled.one("HorizontalPodAutoscaler")["spec"]
    target = hpa["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", scaled.deployment["metadata"]["name"])
    (metric,) = hpa["metrics"]
    name = metric["pods"]["metric"]["name"]
    exported = {m.name for m in ServerMetrics().registry.collect()}
    assert name in exported, f"{name} is not a metric tccc exports ({sorted(exported)})"
    # Scale out when replicas average more work than the gpu profile's parallel workers.
    workers = load_profiles()["gpu"]["stt.num_workers"]
    assert quantity(metric["pods"]["target"]["averageValue"]) == workers
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]


def test_autoscaled_replicas_are_stateless(scaled: Rendered) -> None:
    spec = scaled.deployment["spec"]
    assert "replicas" not in spec, "the autoscaler owns the replica count"
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert not scaled.of_kind("PersistentVolumeClaim")
    assert not [v for v in scaled.pod["volumes"] if "persistentVolumeClaim" in v]
    for c in all_containers(scaled.pod):
        env = {e["name"]: e.get("value") for e in c["env"]}
        # Models baked into the image, where the Dockerfiles' MODELS build argument puts them.
        assert env["TCCC_STT_MODELS_DIR"] == "/opt/tccc/models"
    main = {e["name"]: e.get("value") for e in scaled.container["env"]}
    assert main["TCCC_SERVER_ANALYZE"] == "false"
    dockerfile = (REPO / "deploy" / "docker" / "Dockerfile.cuda").read_text(encoding="utf-8")
    assert "--models-dir /opt/tccc/models" in dockerfile


def test_service_monitor_scrapes_the_service_with_the_token(scaled: Rendered) -> None:
    monitor = scaled.one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = scaled.one("Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    credentials = endpoint["authorization"]["credentials"]
    secret = scaled.named("Secret", credentials["name"])
    assert credentials["key"] in secret["data"]
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]


def readme_site_overlay() -> str:
    """The site kustomization README "Deploy" tells the operator to write."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(
        r"cat > deploy/k8s/site/kustomization.yaml <<'END'\n(.*?)\nEND\n", readme, re.DOTALL
    )
    assert match is not None, "README Deploy no longer shows the site overlay"
    return match.group(1) + "\n"


def test_the_readme_site_overlay_sets_the_token_and_the_registry(tmp_path: Path) -> None:
    """README "Deploy" step 2, rendered: the token from the env file, the image from a registry."""
    import base64

    site = tmp_path / "site"
    site.mkdir()
    # The README's site folder is deploy/k8s/site: its ../ is deploy/k8s.
    text = readme_site_overlay().replace("../", os.path.relpath(K8S, site) + "/")
    (site / "kustomization.yaml").write_text(text, encoding="utf-8")
    (site / "api-token.env").write_text("token=0123abcd\n", encoding="utf-8")
    rendered = render(site)
    r = Rendered("readme-site", rendered, parse(rendered))
    (secret,) = r.of_kind("Secret")
    assert base64.b64decode(secret["data"]["token"]) == b"0123abcd"
    ref = next(e for e in r.container["env"] if e["name"] == "TCCC_API_TOKEN")
    assert ref["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    assert r.container["image"] == "registry.example:5000/tccc:0.1.0-l4t-r36"
    assert r.one("Service")["metadata"]["name"] == "whisper-gpu"
    assert {o["metadata"].get("namespace") for o in r.objects if o["kind"] != "Namespace"} == {
        "whisper"
    }
    # Its commented components line, uncommented, renders too.
    with_monitor = text.replace("# components:", "components:").replace("#   - ", "  - ")
    (site / "kustomization.yaml").write_text(with_monitor, encoding="utf-8")
    monitored = parse(render(site))
    assert [o["kind"] for o in monitored].count("ServiceMonitor") == 1


def test_components_are_only_components() -> None:
    """Each component is a kustomize Component, so it can only be added to an overlay."""
    for path in sorted((K8S / "components").iterdir()):
        doc = yaml.safe_load((path / "kustomization.yaml").read_text(encoding="utf-8"))
        assert doc["kind"] == "Component", path


def test_site_overlays_stay_out_of_git() -> None:
    """deploy/k8s/site holds the token (README "Deploy"): deploy/.gitignore keeps it out."""
    done = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/k8s/site/api-token.env"], cwd=REPO, check=False
    )
    assert done.returncode == 0, "deploy/k8s/site/ is not ignored by git"
