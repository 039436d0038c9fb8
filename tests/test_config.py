"""Profile resolution: precedence, sources, coercion and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tccc.config import env_names, load_profiles, resolve_settings
from tccc.errors import ConfigError


def test_default_is_cpu_profile_with_tiny_en_int8() -> None:
    resolved = resolve_settings(env={})
    s = resolved.settings
    assert (s.profile, s.stt.model, s.stt.compute_type, s.stt.device) == (
        "cpu",
        "tiny.en",
        "int8",
        "cpu",
    )
    assert resolved.sources["stt.model"] == "profile:cpu"
    assert resolved.sources["vad.threshold"] == "default"


def test_seed_vad_defaults() -> None:
    vad = resolve_settings(env={}).settings.vad
    assert (vad.threshold, vad.min_speech_ms, vad.speech_pad_ms) == (0.5, 250, 400)


@pytest.mark.parametrize(
    ("profile", "model", "compute", "max_speech", "budget"),
    [
        ("jetson-orin-nano", "small", "float16", 20.0, 4096),
        ("jetson-nano", "tiny.en", "int8", 20.0, 1536),
        ("gpu", "large-v3", "float16", 30.0, 6144),
    ],
)
def test_hardware_profiles(
    profile: str, model: str, compute: str, max_speech: float, budget: int
) -> None:
    s = resolve_settings(profile=profile, env={}).settings
    assert (s.stt.model, s.stt.compute_type, s.vad.max_speech_s, s.memory_budget_mb) == (
        model,
        compute,
        max_speech,
        budget,
    )


def test_orin_nano_matches_seed_deployment() -> None:
    s = resolve_settings(profile="jetson-orin-nano", env={}).settings
    assert (s.stt.beam_size, s.stt.language, s.stt.num_workers, s.stt.device) == (
        1,
        "en",
        1,
        "cuda",
    )


def test_jetson_nano_runs_on_cpu() -> None:
    assert resolve_settings(profile="jetson-nano", env={}).settings.stt.device == "cpu"


def test_every_profile_resolves() -> None:
    for name in load_profiles():
        assert resolve_settings(profile=name, env={}).settings.profile == name


def test_precedence_flag_over_env_over_file_over_profile(tmp_path: Path) -> None:
    cfg = tmp_path / "tccc.toml"
    cfg.write_text(
        'profile = "gpu"\n[stt]\nbeam_size = 3\nmodel = "base.en"\n[vad]\nthreshold = 0.4\n'
    )
    env = {"TCCC_STT_BEAM_SIZE": "4", "TCCC_VAD_THRESHOLD": "0.6"}
    resolved = resolve_settings(config_path=cfg, env=env, flags={"vad.threshold": 0.7})
    s = resolved.settings
    assert s.profile == "gpu"
    assert s.stt.compute_type == "float16"  # from the gpu profile
    assert s.stt.model == "base.en"  # file beats profile
    assert s.stt.beam_size == 4  # env beats file
    assert s.vad.threshold == 0.7  # flag beats env
    assert resolved.sources["stt.model"] == f"file:{cfg}"
    assert resolved.sources["stt.beam_size"] == "env:TCCC_STT_BEAM_SIZE"
    assert resolved.sources["vad.threshold"] == "flag"
    assert resolved.sources["profile"] == f"file:{cfg}"


def test_short_env_alias_for_unique_fields() -> None:
    assert "TCCC_API_TOKEN" in env_names("server.api_token")
    assert env_names("stt.model") == ["TCCC_STT_MODEL", "TCCC_MODEL"]
    s = resolve_settings(env={"TCCC_API_TOKEN": "s3cret", "TCCC_PROFILE": "jetson-nano"})
    assert s.settings.server.api_token == "s3cret"
    assert s.settings.profile == "jetson-nano"
    assert s.sources["profile"] == "env:TCCC_PROFILE"


def test_token_is_masked_in_description() -> None:
    rows = resolve_settings(env={"TCCC_API_TOKEN": "s3cret"}).describe()
    assert ("server.api_token", "***", "env:TCCC_API_TOKEN") in rows
    assert all("s3cret" not in str(value) for _, value, _ in rows)


def test_env_values_are_coerced() -> None:
    s = resolve_settings(
        env={"TCCC_VAD_ENABLED": "off", "TCCC_STT_LANGUAGE": "none", "TCCC_SERVER_PORT": "9000"}
    ).settings
    assert s.vad.enabled is False
    assert s.stt.language is None
    assert s.server.port == 9000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TCCC_STT_BEAM_SIZE": "many"}, "beam_size"),
        ({"TCCC_STT_BEAM_SIZE": "0"}, "beam_size"),
        ({"TCCC_STT_DEVICE": "tpu"}, "device"),
        ({"TCCC_STT_COMPUTE_TYPE": "int4"}, "compute_type"),
        ({"TCCC_VAD_THRESHOLD": "1.5"}, "threshold"),
        ({"TCCC_PROFILE": "raspberry"}, "unknown profile"),
        ({"TCCC_SERVER_PORT": "70000"}, "port"),
    ],
)
def test_invalid_values_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_settings(env=env)


def test_unknown_key_in_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[stt]\nmodle = 'small'\n")
    with pytest.raises(ConfigError, match=r"stt\.modle"):
        resolve_settings(config_path=cfg, env={})


def test_loopback_detection() -> None:
    for host, loop in [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ]:
        s = resolve_settings(env={"TCCC_SERVER_HOST": host}).settings
        assert s.server.is_loopback is loop, host
