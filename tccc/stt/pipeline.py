"""Assembly of live transcription from settings: vocabulary prompt, normaliser, policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tccc.config import Settings, StreamSettings
from tccc.stt.live import DecodeFn, LiveTranscriber, NormaliseFn
from tccc.stt.transcriber import Transcriber

_LOGGER = logging.getLogger(__name__)

PROMPT_MAX_TOKENS = 223
"""faster-whisper keeps 223 hotword tokens (half its 448-token context, minus one)."""


@dataclass(frozen=True)
class VocabularyTools:
    """The decoder prompt and the normaliser built from one vocabulary."""

    prompt: str | None = None
    """Biasing text given to the decoder before every window (None: no biasing)."""
    normalise: NormaliseFn | None = None
    """Vocabulary normaliser for final transcripts (None: raw text only)."""
    terms: int = 0
    """Number of vocabulary terms loaded."""


def vocabulary_tools(stream: StreamSettings, transcriber: Transcriber) -> VocabularyTools:
    """Load the vocabulary named by the settings; the prompt is sized with the model's tokenizer."""
    if not stream.vocabulary:
        return VocabularyTools()
    from tccc.stt.normaliser import Normaliser
    from tccc.stt.vocabulary import load_vocabulary

    vocabulary = load_vocabulary(stream.vocabulary_path)
    prompt = None
    if stream.bias:
        prompt = vocabulary.prompt(transcriber.count_tokens, PROMPT_MAX_TOKENS) or None
    _LOGGER.info(
        "vocabulary: %d terms, prompt of %d tokens",
        len(vocabulary.terms),
        transcriber.count_tokens(prompt) if prompt else 0,
    )
    return VocabularyTools(prompt, Normaliser(vocabulary).normalise, len(vocabulary.terms))


def live_transcriber(
    decode: DecodeFn,
    settings: Settings,
    tools: VocabularyTools,
    *,
    language: str | None = None,
    partials: bool = True,
    interval_scale: Callable[[], float] | None = None,
) -> LiveTranscriber:
    """A LiveTranscriber configured from settings (one per audio stream)."""
    return LiveTranscriber(
        decode,
        stream=settings.stream,
        vad=settings.vad,
        language=language or settings.stt.language,
        prompt=tools.prompt,
        normalise=tools.normalise,
        partials=partials,
        interval_scale=interval_scale,
    )
