"""Opening the configured language model, and where its answer cache lives."""

from __future__ import annotations

from pathlib import Path

from tccc.config import LlmSettings
from tccc.llm.model import LanguageModel, LlamaCppModel


def open_model(settings: LlmSettings) -> LanguageModel:
    """The configured model, loaded or reached now (LlmError if it cannot be)."""
    if settings.backend == "openai":
        from tccc.llm.http_model import OpenAICompatModel

        return OpenAICompatModel.open(settings.url, settings.model_id or None)
    return LlamaCppModel.open(
        settings.model_path or None,
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_batch=settings.n_batch,
        n_gpu_layers=settings.n_gpu_layers,
    )


def cache_path(db: str | None) -> str | None:
    """The cache file beside a casualty log file (None: memory only)."""
    if db is None or db == ":memory:":
        return None
    return str(Path(db).expanduser().with_name("llm_cache.db"))
