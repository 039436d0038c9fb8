"""What the commands share: the engine flags, their settings keys, and settings resolution."""

from __future__ import annotations

import argparse
import sys
from typing import TypeAlias

from tccc.config import ResolvedSettings, resolve_settings

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The sub-command registry a command group adds its parsers to."""

FLAG_KEYS = {
    "model": "stt.model",
    "device": "stt.device",
    "compute_type": "stt.compute_type",
    "beam_size": "stt.beam_size",
    "language": "stt.language",
    "cpu_threads": "stt.cpu_threads",
    "num_workers": "stt.num_workers",
    "initial_prompt": "stt.initial_prompt",
    "hotwords": "stt.hotwords",
    "models_dir": "stt.models_dir",
    "allow_download": "stt.allow_download",
    "vad": "vad.enabled",
    "vad_threshold": "vad.threshold",
    "min_speech_ms": "vad.min_speech_ms",
    "speech_pad_ms": "vad.speech_pad_ms",
    "min_silence_ms": "vad.min_silence_ms",
    "max_speech_s": "vad.max_speech_s",
    "host": "server.host",
    "port": "server.port",
    "api_token": "server.api_token",
    "insecure": "server.insecure",
    "insecure_wyoming": "server.insecure_wyoming",
    "idle_timeout_s": "server.idle_timeout_s",
    "max_connections": "server.max_connections",
    "max_decode_mb": "server.max_decode_mb",
    "max_upload_mb": "server.max_upload_mb",
    "queue_size": "server.queue_size",
    "session_db": "server.session_db",
    "analyze": "server.analyze",
    "llm": "llm.enabled",
    "battery_wh": "runtime.battery_wh",
    "runtime": "runtime.enabled",
    "end_silence_ms": "stream.end_silence_ms",
    "partial_interval_ms": "stream.partial_interval_ms",
    "pause_ms": "stream.pause_ms",
    "split_after_ms": "stream.split_after_ms",
    "split_silence_ms": "stream.split_silence_ms",
    "pre_roll_ms": "stream.pre_roll_ms",
    "post_roll_ms": "stream.post_roll_ms",
    "vocabulary": "stream.vocabulary",
    "vocabulary_path": "stream.vocabulary_path",
    "bias": "stream.bias",
    "suppress_hallucinations": "stream.suppress_hallucinations",
    "final_beam_size": "stream.final_beam_size",
}
"""Flag dest -> settings key; flags left unset (None) do not override anything."""


def engine_flags(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the configuration flags of the speech engine (and profile, config) to `p`."""
    g = p.add_argument_group("configuration (flags override TCCC_* variables, config, profile)")
    g.add_argument(
        "--profile",
        help="hardware profile: cpu, jetson-orin-nano, jetson-xavier-nx, jetson-nano, gpu",
    )
    g.add_argument("--config", help="TOML config file (or TCCC_CONFIG)")
    g.add_argument("--model", help="model name (tiny.en, small, large-v3...) or directory")
    g.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    g.add_argument("--compute-type", help="auto, int8, int8_float16, float16, float32")
    g.add_argument("--beam-size", type=int, help="beam of one-shot requests")
    g.add_argument(
        "--final-beam-size", type=int, help="live: beam of final decodes (partials: greedy)"
    )
    g.add_argument("--language", help="language code, or 'none' to detect")
    g.add_argument("--cpu-threads", type=int)
    g.add_argument("--num-workers", type=int, help="parallel transcriptions")
    g.add_argument("--initial-prompt")
    g.add_argument("--hotwords")
    g.add_argument("--models-dir")
    g.add_argument(
        "--allow-download",
        action="store_true",
        default=None,
        help="allow a one-time model download (needs network)",
    )
    g.add_argument("--no-vad", dest="vad", action="store_false", default=None)
    g.add_argument("--vad-threshold", type=float)
    g.add_argument("--min-speech-ms", type=int)
    g.add_argument("--speech-pad-ms", type=int)
    g.add_argument("--min-silence-ms", type=int)
    g.add_argument("--max-speech-s", type=float)
    g.add_argument("--end-silence-ms", type=int, help="live: silence that ends an utterance")
    g.add_argument("--partial-interval-ms", type=int, help="live: audio between partial decodes")
    g.add_argument("--pause-ms", type=int, help="live: silence that starts an early decode")
    g.add_argument("--split-after-ms", type=int, help="live: utterance length after which...")
    g.add_argument("--split-silence-ms", type=int, help="...this shorter silence ends it")
    g.add_argument("--pre-roll-ms", type=int)
    g.add_argument("--post-roll-ms", type=int)
    g.add_argument(
        "--vocabulary",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="medical vocabulary normaliser (default on)",
    )
    g.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also prompt the decoder with the vocabulary (default off)",
    )
    g.add_argument("--vocabulary-path", help="vocabulary file (TOML, or the domain pack's TSV)")
    g.add_argument("--suppress-hallucinations", action=argparse.BooleanOptionalAction, default=None)
    return p


def settings_flags(parser: argparse.ArgumentParser) -> None:
    """Only `--profile` and `--config`, for commands without the engine flags."""
    parser.add_argument("--profile", help="hardware profile (default: cpu)")
    parser.add_argument("--config", help="TOML config file (or TCCC_CONFIG)")


def add_llm_flag(parser: argparse.ArgumentParser) -> None:
    """`--llm` / `--no-llm` (default: the profile's llm.enabled)."""
    parser.add_argument(
        "--llm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the language-model stage (default: the profile's llm.enabled)",
    )


def resolve(args: argparse.Namespace) -> ResolvedSettings:
    """The settings of a command: its flags over TCCC_* variables, config file and profile."""
    flags = {key: getattr(args, dest, None) for dest, key in FLAG_KEYS.items()}
    return resolve_settings(profile=args.profile, config_path=args.config, flags=flags)


def say(line: str) -> None:
    """One line of a command's progress or counts on stderr."""
    print(line, file=sys.stderr)
