"""faster-whisper (CTranslate2) backend of the Transcriber interface."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from typing import Any

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.audio.decode import to_float32
from tccc.config import SttSettings, VadSettings
from tccc.errors import ModelError, TranscriptionError
from tccc.events import Segment, TranscriptResult, Word
from tccc.stt.models import ModelCache, ResolvedModel, resolve_model
from tccc.stt.transcriber import DecodeOptions, ProgressCallback, Transcriber
from tccc.stt.vad import SileroVad, SpanTimeMap, concat_spans

_LOGGER = logging.getLogger(__name__)

_DEFAULT_CACHE = ModelCache()
"""Process-wide cache: every Transcriber with the same model and options shares one copy."""


def resolve_device(device: str) -> tuple[str, int]:
    """Map auto/cpu/cuda/cuda:N to a CTranslate2 (device, index) pair."""
    if device == "auto":
        import ctranslate2

        return ("cuda", 0) if ctranslate2.get_cuda_device_count() > 0 else ("cpu", 0)
    if device.startswith("cuda:"):
        return "cuda", int(device[5:])
    return device, 0


def resolve_compute_type(compute_type: str, device: str) -> str:
    """auto means int8 on the CPU and float16 on CUDA."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


class FasterWhisperTranscriber(Transcriber):
    """Whisper through faster-whisper, with Silero VAD run by tccc's own span logic."""

    def __init__(
        self,
        stt: SttSettings,
        vad: VadSettings,
        *,
        cache: ModelCache | None = None,
    ) -> None:
        if importlib.util.find_spec("faster_whisper") is None:
            raise ModelError("the faster-whisper backend needs the faster-whisper package")
        self.stt = stt
        self.vad_settings = vad
        self._cache = cache or _DEFAULT_CACHE
        self._resolved: ResolvedModel | None = None
        self._key: tuple[Any, ...] | None = None
        self._vad: SileroVad | None = None
        self._lock = threading.Lock()
        self.device, self.device_index = resolve_device(stt.device)
        self.compute_type = resolve_compute_type(stt.compute_type, self.device)

    @property
    def model_name(self) -> str:
        """Model name as configured (a name, or the directory name of a path)."""
        return self._resolved.name if self._resolved else self.stt.model

    @property
    def model_path(self) -> str | None:
        """Directory the model was loaded from, once resolved."""
        return str(self._resolved.path) if self._resolved else None

    @property
    def languages(self) -> list[str]:
        """English only for .en models, otherwise every Whisper language."""
        if self.model_name.endswith(".en"):
            return ["en"]
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        return list(_LANGUAGE_CODES)

    @property
    def is_loaded(self) -> bool:
        """True while the model is in the cache."""
        return self._key is not None and self._key in self._cache.loaded()

    @property
    def load_seconds(self) -> float:
        """Seconds the last load took (0 if not loaded)."""
        return self._cache.load_seconds.get(self._key, 0.0) if self._key else 0.0

    def load(self) -> None:
        """Resolve and load the model, and the VAD if enabled."""
        self._model()
        if self.vad_settings.enabled and self._vad is None:
            self._vad = SileroVad()

    def unload(self) -> None:
        """Drop the model from the cache."""
        with self._lock:
            if self._key is not None:
                self._cache.unload(self._key)

    def count_tokens(self, text: str) -> int:
        """Whisper tokens in `text`, as the decoder will see it in its prompt."""
        tokenizer = self._model().hf_tokenizer
        return len(tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)

    def _model(self) -> Any:
        with self._lock:
            if self._resolved is None:
                self._resolved = resolve_model(
                    self.stt.model,
                    models_dir=self.stt.models_dir,
                    allow_download=self.stt.allow_download,
                )
            threads = self.stt.cpu_threads or (os.cpu_count() or 1)
            self._key = (
                "faster-whisper",
                str(self._resolved.path),
                self.device,
                self.device_index,
                self.compute_type,
                threads,
                self.stt.num_workers,
            )
            path = str(self._resolved.path)

        def load() -> Any:
            from faster_whisper import WhisperModel

            try:
                return WhisperModel(
                    path,
                    device=self.device,
                    device_index=self.device_index,
                    compute_type=self.compute_type,
                    cpu_threads=threads,
                    num_workers=self.stt.num_workers,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                _LOGGER.exception("loading %s failed", path)
                raise ModelError(
                    f"could not load model {self.model_name!r} on {self.device} "
                    f"with {self.compute_type}: {exc}"
                ) from exc

        return self._cache.get(self._key, load)

    def transcribe(
        self,
        audio: np.ndarray,
        options: DecodeOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> TranscriptResult:
        """Transcribe int16 16 kHz mono samples (VAD first, then Whisper on the speech)."""
        opts = options or DecodeOptions()
        started = time.perf_counter()
        model = self._model()
        duration = audio.size / SAMPLE_RATE
        language = opts.language or self.stt.language
        samples = to_float32(audio)
        use_vad = self.vad_settings.enabled if opts.vad is None else opts.vad
        time_map: SpanTimeMap | None = None
        if use_vad and samples.size:
            if self._vad is None:
                self._vad = SileroVad()
            spans = self._vad.spans(samples, self.vad_settings)
            time_map = SpanTimeMap(tuple(spans))
            samples = concat_spans(samples, spans)
        speech_s = samples.size / SAMPLE_RATE
        if samples.size < SAMPLE_RATE // 100:  # under 10 ms: nothing a decoder could use
            return TranscriptResult(
                text="",
                language=language or "en",
                language_probability=0.0,
                duration=duration,
                model=self.model_name,
                processing_s=time.perf_counter() - started,
                speech_s=speech_s,
            )
        prompt = " ".join(p for p in (self.stt.initial_prompt, opts.initial_prompt) if p) or None
        hotwords = " ".join(h for h in (self.stt.hotwords, opts.hotwords) if h) or None
        word_ts = self.stt.word_timestamps if opts.word_timestamps is None else opts.word_timestamps
        kwargs: dict[str, Any] = {
            "language": language,
            "task": opts.task,
            "beam_size": opts.beam_size or self.stt.beam_size,
            "initial_prompt": prompt,
            "hotwords": hotwords,
            "word_timestamps": word_ts,
            "vad_filter": False,
            "condition_on_previous_text": False,
        }
        if opts.temperature is not None:
            kwargs["temperature"] = opts.temperature
        if opts.max_new_tokens is not None:
            kwargs["max_new_tokens"] = opts.max_new_tokens
        try:
            segments_iter, info = model.transcribe(samples, **kwargs)
            # The result is a lazy generator that decodes while iterated: materialise it here,
            # in the caller's (worker) thread.
            segments = []
            for raw in segments_iter:
                segments.append(self._segment(raw, time_map))
                if progress is not None:
                    progress(segments[-1].end)
        except (RuntimeError, ValueError) as exc:
            _LOGGER.exception("transcription failed")
            raise TranscriptionError("speech-to-text inference failed") from exc
        text = " ".join(s.text for s in segments if s.text).strip()
        return TranscriptResult(
            text=text,
            language=info.language,
            language_probability=float(info.language_probability),
            duration=duration,
            segments=tuple(segments),
            model=self.model_name,
            processing_s=time.perf_counter() - started,
            speech_s=speech_s,
        )

    @staticmethod
    def _segment(raw: Any, time_map: SpanTimeMap | None) -> Segment:
        def t(x: float, is_end: bool = False) -> float:
            return time_map.original_time(x, is_end=is_end) if time_map else round(float(x), 3)

        words = tuple(
            Word(
                start=t(w.start),
                end=t(w.end, True),
                text=w.word.strip(),
                probability=round(float(w.probability), 4),
            )
            for w in (raw.words or ())
        )
        return Segment(
            id=int(raw.id),
            start=t(raw.start),
            end=t(raw.end, True),
            text=raw.text.strip(),
            avg_logprob=float(raw.avg_logprob),
            no_speech_prob=float(raw.no_speech_prob),
            compression_ratio=float(raw.compression_ratio),
            temperature=float(raw.temperature or 0.0),
            tokens=tuple(int(x) for x in raw.tokens),
            words=words,
        )
