"""Typed, frozen values that cross stage boundaries (see DESIGN.md, data flow)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with times in seconds from the start of the audio."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    """One decoded segment of speech."""

    id: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float
    tokens: tuple[int, ...] = ()
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class TranscriptResult:
    """The whole transcript of one piece of audio."""

    text: str
    language: str
    language_probability: float
    duration: float
    segments: tuple[Segment, ...] = field(default_factory=tuple)
    model: str = ""
    processing_s: float = 0.0
    speech_s: float = 0.0

    @property
    def words(self) -> tuple[Word, ...]:
        """All words of all segments, in order."""
        return tuple(w for s in self.segments for w in s.words)

    @property
    def real_time_factor(self) -> float:
        """Processing time divided by audio duration (lower is faster)."""
        return self.processing_s / self.duration if self.duration > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SpeechSpan:
    """A stretch of audio judged to be speech, in samples at 16 kHz."""

    start: int
    end: int
