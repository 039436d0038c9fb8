"""Typed, frozen values that cross stage boundaries (see DESIGN.md, data flow)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """16 kHz mono int16 audio with its place in the session.

    `start` is the index of the first sample since the session began, so session time is
    `start / 16000`; `captured_at` is the `time.monotonic()` reading when the chunk was captured
    or received, used to measure latency.
    """

    samples: np.ndarray
    start: int
    captured_at: float = 0.0

    @property
    def end(self) -> int:
        """Index one past the last sample."""
        return self.start + int(self.samples.size)

    @property
    def start_s(self) -> float:
        """Session time of the first sample, in seconds."""
        return self.start / 16000

    @property
    def end_s(self) -> float:
        """Session time just after the last sample, in seconds."""
        return self.end / 16000


@dataclass(frozen=True, slots=True)
class TextEdit:
    """One normaliser change: `raw[raw_start:raw_end]` became `text[start:end]`."""

    raw_start: int
    raw_end: int
    start: int
    end: int
    rule: str
    """Name of the rule that made the change (numbers, phonetic, unit, acronym, term, ...)."""
    confidence: float = 1.0
    """1.0 for exact rules; below 1 for fuzzy matches of mis-heard terms."""


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """Recognised text and its normalised form, with the edits that link the two."""

    raw: str
    text: str
    edits: tuple[TextEdit, ...] = ()

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Character span in `raw` that produced `text[start:end]`."""
        offset = 0
        raw_start: int | None = None
        raw_end: int | None = None
        for edit in self.edits:
            if raw_start is None and start < edit.start:
                raw_start = start + offset
            if raw_start is None and start < edit.end:
                raw_start = edit.raw_start
            if end <= edit.start:
                raw_end = end + offset
                break
            if end <= edit.end:
                raw_end = edit.raw_end
                break
            offset = edit.raw_end - edit.end
        if raw_start is None:
            raw_start = start + offset
        if raw_end is None:
            raw_end = end + offset
        return raw_start, max(raw_start, raw_end)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One stretch of speech found by the segmenter, in session samples at 16 kHz."""

    id: int
    start: int
    end: int
    forced_cut: bool = False
    """True when the utterance was cut at the maximum speech duration, not at a pause."""


@dataclass(frozen=True, slots=True)
class LiveTranscript:
    """A partial or final transcript of one utterance of a live session.

    `committed` text never changes in later events of the same utterance (LocalAgreement);
    `tentative` may. Word times are seconds since the session began.
    """

    kind: str
    """partial or final."""
    utterance_id: int
    start: float
    end: float
    committed: str
    tentative: str = ""
    words: tuple[Word, ...] = ()
    normalised: NormalisedText | None = None
    """Set on final transcripts: the vocabulary normaliser's output for `committed`."""
    decode_s: float = 0.0
    """Seconds the decode behind this event took."""
    emitted_at: float = 0.0
    """`time.monotonic()` when the event was produced."""

    @property
    def text(self) -> str:
        """Committed and tentative text together."""
        return f"{self.committed} {self.tentative}".strip()


Scalar = str | int | float | bool | None
"""A value a fact field may hold (JSON-serialisable)."""

FACT_KINDS = (
    "casualty",  # a casualty was named or switched to: data {label, roster?, name?}
    "identity",  # data {field: last_name|first_name|rank|battle_roster|unit|allergies|..., value}
    "evac",  # data {category: Urgent|Priority|Routine}
    "time_of_injury",  # data {time: HHMM}
    "mechanism",  # data {value: Artillery|Blunt|...|Other, word}
    "injury",  # data {site, kind}
    "tourniquet",  # data {limb, type, time, category, high_and_tight}
    "tourniquet_change",  # data {action: converted|removed|type, limb?, time, type?}
    "dressing",  # data {value: Hemostatic|Pressure|Other, product?}
    "airway",  # data {value: Intact|NPA|CRIC|ET-Tube|SGA}
    "breathing",  # data {value: O2|Needle-D|Chest-Tube|Chest-Seal, side?, vented?, time?}
    "vitals_time",  # a new column of vital signs starts: data {time: HHMM | None}
    "vital",  # data {sign: pulse|bp|resp_rate|spo2|avpu|pain|gcs|pupils, value, location?}
    "access",  # vascular access: data {route: IV|IO, site?, gauge?}
    "finding",  # an observation that is not a vital sign: data {value, side?}
    "fluid",  # data {name, volume_ml?, units?, route?, rate_ml_h?, time?}
    "medication",  # data {category, name, dose?, route?, time?}
    "treatment",  # data {value: Combat-Pill-Pack|Eye-Shield-R|Eye-Shield-L|Splint|...}
    "burn",  # data {tbsa: percent}
    "retract",  # "scratch that": data {fact: id of the fact withdrawn}
    "conflict",  # a model's proposal that contradicts a stated fact: data {fact, kind, proposed}
    "confirm",  # the medic confirmed a model's suggestion: data {fact: its id}
)
"""Kinds of casualty facts; the comment after each names its data fields."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a fact was said: the utterance, the span of its normalised text, the audio range."""

    utterance_id: int
    start: int
    """Character span `[start, end)` in the utterance's normalised text."""
    end: int
    text: str
    """The normalised text of the span."""
    raw: str
    """The recognised (raw) text the span came from."""
    audio_start: float | None = None
    """Seconds since the session began; None when the text did not come from audio."""
    audio_end: float | None = None
    confidence: float | None = None
    """How sure the recogniser was of the words that carry the fact (0..1): the lowest word
    probability of its content words, and the confidence of a normaliser rewrite inside it
    (a fuzzy drug name); None when nothing in it was uncertain or it came from text."""


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing the medic said about a casualty, with the evidence for it."""

    id: int
    """Sequence number within the session (facts are applied in this order)."""
    kind: str
    """One of FACT_KINDS."""
    casualty: str
    """Label of the casualty it belongs to ("1", "2", or a roster number)."""
    data: dict[str, Scalar]
    evidence: Evidence
    replaces: int | None = None
    """A correction ("correction", "make that"): the id of the fact this one replaces."""
    status: str = "stated"
    """stated; suggested (a language model's, or resting on words the recogniser was unsure
    of) until the medic confirms it; rejected (a model's proposal that contradicted the card)."""
    source: str = "rules"
    session_s: float = 0.0
    """Session time when the fact was stated (the end of its utterance)."""
