"""A language model the runtime can load, unload and pause while live sessions hold it.

Sessions keep a `ModelSlot` as their model. While the runtime has unloaded or paused the model
its `chat` raises LlmUnavailableError at once: the stage skips that utterance (the rules have
already stated what they heard) instead of waiting or failing the session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tccc.errors import LlmUnavailableError
from tccc.llm.cache import LlmCache
from tccc.llm.model import Completion, LanguageModel, Options

if TYPE_CHECKING:
    from tccc.llm.stage import LlmWorker


class ModelSlot:
    """A `LanguageModel` whose weights come and go at the runtime's say."""

    def __init__(self, opener: Callable[[], LanguageModel]) -> None:
        self._opener = opener
        self._model: LanguageModel | None = None
        self._paused = False
        self._lock = threading.Lock()
        self._name = "language model"
        self._identity = ""

    @property
    def name(self) -> str:
        """The loaded (or last loaded) model's name."""
        return self._name

    @property
    def identity(self) -> str:
        """The loaded (or last loaded) model's identity, so cached answers stay valid."""
        return self._identity

    @property
    def loaded(self) -> bool:
        """True while weights are in memory."""
        return self._model is not None

    @property
    def paused(self) -> bool:
        """True while the runtime has paused the model (heat)."""
        return self._paused

    def load(self) -> None:
        """Open the model (blocking; LlmError if it cannot be); a loaded model stays."""
        if self._model is not None:
            return
        model = self._opener()
        identity = model.identity
        with self._lock:
            self._model, self._name, self._identity = model, model.name, identity

    def unload(self) -> None:
        """Drop the model; a completion in progress finishes first."""
        with self._lock:
            model, self._model = self._model, None
        close = getattr(model, "close", None)
        if close is not None:
            close()

    def pause(self) -> None:
        """Refuse completions until `resume` (the weights stay loaded)."""
        self._paused = True

    def resume(self) -> None:
        """Answer completions again."""
        self._paused = False

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        """The model's answer; LlmUnavailableError while unloaded or paused."""
        with self._lock:
            model, paused = self._model, self._paused
        if model is None:
            raise LlmUnavailableError("the language model is unloaded")
        if paused:
            raise LlmUnavailableError("the language model is paused")
        return model.chat(messages, options)


@dataclass(frozen=True)
class SharedModel:
    """What live sessions of the server share for their language-model stages."""

    slot: ModelSlot
    cache: LlmCache
    max_tokens: int = 192
    queue_size: int = 8
    worker: LlmWorker | None = None
    """The one thread that runs every session's model work (None: each stage its own)."""
