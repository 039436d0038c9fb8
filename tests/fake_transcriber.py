"""The part of the Transcriber interface every test fake shares: a model name, English only,
and load/unload that only flip a flag (the fakes say what a decode answers)."""

from __future__ import annotations

from tccc.stt.transcriber import Transcriber


class LoadableFake(Transcriber):
    """A Transcriber fake's model name and load state; subclasses implement `transcribe`."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.loaded = False

    @property
    def model_name(self) -> str:
        """The model it stands in for."""
        return self.model

    @property
    def languages(self) -> list[str]:
        """English only, as tiny.en."""
        return ["en"]

    def load(self) -> None:
        """Nothing to load: the flag only."""
        self.loaded = True

    def unload(self) -> None:
        """Nothing to free: the flag only."""
        self.loaded = False

    @property
    def is_loaded(self) -> bool:
        """Loaded and not unloaded since."""
        return self.loaded
