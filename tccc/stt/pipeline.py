"""Assembly of live transcription from settings: vocabulary prompt, normaliser, policy."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tccc.config import Settings, StreamSettings
from tccc.events import LiveTranscript, TranscriptResult
from tccc.stt.live import DecodeFn, LiveStats, LiveTranscriber, NormaliseFn
from tccc.stt.transcriber import DecodeOptions, Transcriber

if TYPE_CHECKING:
    from tccc.audio.sources import AudioSource

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
    beam_cap: Callable[[], int | None] | None = None,
) -> LiveTranscriber:
    """A LiveTranscriber configured from settings (one per audio stream).

    `beam_cap` gives the beam the runtime allows now (None: no cap). The service applies the
    cap to every decode anyway; knowing it, the final reuses a greedy pause decode instead of
    decoding the utterance again at a beam that would be capped to 1.
    """
    return LiveTranscriber(
        decode,
        stream=settings.stream,
        vad=settings.vad,
        language=language or settings.stt.language,
        prompt=tools.prompt,
        normalise=tools.normalise,
        partials=partials,
        interval_scale=interval_scale,
        join_boundaries=settings.stream.join_decode,
        beam_cap=beam_cap,
    )


async def run_live(
    settings: Settings,
    source: AudioSource,
    on_event: Callable[[LiveTranscript], None],
    *,
    stop_on_signal: bool = False,
) -> LiveStats:
    """Transcribe a live source, each event to `on_event`; the tail is finalised at its end."""
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber(settings.stt, settings.vad)
    await asyncio.to_thread(transcriber.load)
    tools = await asyncio.to_thread(vocabulary_tools, settings.stream, transcriber)

    async def decode(audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
        return await asyncio.to_thread(transcriber.transcribe, audio, options)

    live = live_transcriber(decode, settings, tools)
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []
    if stop_on_signal:
        # Ctrl-C ends capture; what was heard is still finalised before the caller goes on.
        def stop() -> None:
            closing.append(loop.create_task(source.aclose()))

        loop.add_signal_handler(signal.SIGINT, stop)
    try:
        async with source:
            async for event in live.run(source):
                on_event(event)
    finally:
        if stop_on_signal:
            loop.remove_signal_handler(signal.SIGINT)
    return live.stats
