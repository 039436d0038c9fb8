"""One error hierarchy: every stage raises a TcccError subclass with a stable code.

Messages are shown to clients, so they never contain transcripts or casualty data.
"""

from __future__ import annotations


class TcccError(Exception):
    """Base error with a machine-readable code and a client-safe message."""

    code = "tccc_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(TcccError):
    """A setting, profile or config file is invalid."""

    code = "config_error"


class AudioError(TcccError):
    """Audio could not be decoded or converted."""

    code = "invalid_audio"


class AudioTooLargeError(AudioError):
    """Audio exceeds the configured size or duration limit."""

    code = "audio_too_large"


class ModelError(TcccError):
    """A model could not be found, downloaded or loaded."""

    code = "model_error"


class ModelNotFoundError(ModelError):
    """A named model is not present locally and downloads are not allowed."""

    code = "model_not_found"


class TranscriptionError(TcccError):
    """Speech-to-text inference failed."""

    code = "transcription_failed"


class ServerBusyError(TcccError):
    """The transcription queue is full; the client should retry later."""

    code = "server_busy"


class NotReadyError(TcccError):
    """The model is not loaded yet."""

    code = "not_ready"


class ProtocolError(TcccError):
    """A client sent a malformed or out-of-order protocol message."""

    code = "protocol_error"


class LlmError(TcccError):
    """The language-model stage could not start or answer (the product runs without it)."""

    code = "llm_error"


class LlmUnavailableError(LlmError):
    """The language model is unloaded or paused by the runtime; the utterance is skipped."""

    code = "llm_unavailable"
