"""The Transcriber interface: synchronous model code that turns audio into a transcript."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tccc.events import TranscriptResult

ProgressCallback = Callable[[float], None]
"""Called with the seconds of audio processed so far."""


@dataclass(frozen=True)
class DecodeOptions:
    """Per-request decoding options; None means the engine's configured default."""

    language: str | None = None
    """Language code; None uses the configured language (or detection if that is None too)."""
    task: str = "transcribe"
    """transcribe or translate (to English)."""
    beam_size: int | None = None
    """Beam width for this request."""
    initial_prompt: str | None = None
    """Decoder context for this request, added after the configured prompt."""
    hotwords: str | None = None
    """Hotwords for this request."""
    word_timestamps: bool | None = None
    """Compute word times for this request."""
    vad: bool | None = None
    """Apply voice activity detection for this request."""
    temperature: float | None = None
    """Sampling temperature; None uses the fallback schedule."""
    max_new_tokens: int | None = None
    """Most tokens to generate per window; bounds the cost of a decode that loops."""

    def __post_init__(self) -> None:
        if self.task not in ("transcribe", "translate"):
            raise ValueError("task must be transcribe or translate")
        if self.beam_size is not None and not 1 <= self.beam_size <= 16:
            raise ValueError("beam_size must be 1-16")


class Transcriber(ABC):
    """Turns 16 kHz mono audio into a transcript. Synchronous; knows nothing of asyncio."""

    @property
    @abstractmethod
    def model_name(self) -> str:
        """Name of the model, for reports and protocol info."""

    @property
    @abstractmethod
    def languages(self) -> list[str]:
        """Language codes the model can transcribe."""

    @abstractmethod
    def load(self) -> None:
        """Load the model now (otherwise the first transcription does)."""

    @abstractmethod
    def unload(self) -> None:
        """Release the model's memory; a later call loads it again."""

    @property
    @abstractmethod
    def is_loaded(self) -> bool:
        """True while the model is in memory."""

    @abstractmethod
    def transcribe(
        self,
        audio: np.ndarray,
        options: DecodeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> TranscriptResult:
        """Transcribe int16 16 kHz mono samples. Returns times relative to the audio start."""

    def count_tokens(self, text: str) -> int:
        """Decoder tokens in `text` (an upper estimate unless the backend has a tokenizer)."""
        # About four characters per token for English BPE; rounding up errs on the short side.
        return -(-len(text) // 3)
