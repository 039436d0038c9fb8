"""Endpointing for live audio: pure decisions over per-frame speech probabilities.

The segmenter sees one VAD frame at a time and says when an utterance starts (with pre-roll),
when the speaker pauses (a chance to decode early), and when the utterance ends (after
`end_silence_ms` of silence, with post-roll; after only `split_silence_ms` once the utterance is
longer than `split_after_ms`, so long talk splits at sentence breaks) or is cut at the maximum
speech duration. It knows
nothing of audio samples or models, so every decision is tested with synthetic patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

from tccc.audio import SAMPLE_RATE
from tccc.config import StreamSettings, VadSettings
from tccc.events import Utterance
from tccc.stt.vad import FRAME_SAMPLES

_CUT_PAUSE_MS = 96
"""A pause at least this long inside over-long speech is where a forced cut goes."""
_HYSTERESIS = 0.15
"""Speech ends only below `threshold - 0.15`, so a wavering probability does not flap."""


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """An utterance began; `utterance.end` is provisional (the current position)."""

    utterance: Utterance


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    """The speaker has been silent for a short while: speech so far ends at `speech_end`."""

    utterance_id: int
    speech_end: int


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """An utterance is complete; its audio is `utterance.start:utterance.end`."""

    utterance: Utterance
    speech_end: int
    """End of the last speech frame (before post-roll)."""


SegmenterEvent = SpeechStarted | SpeechPaused | SpeechEnded


@dataclass(frozen=True)
class SegmenterOptions:
    """Endpointing parameters in samples, derived from the stream and VAD settings."""

    threshold: float = 0.5
    min_speech: int = 4000
    end_silence: int = 8000
    pause: int = 1536
    split_after: int = 8 * SAMPLE_RATE
    split_silence: int = 4000
    pre_roll: int = 4800
    post_roll: int = 3200
    max_speech: int = 30 * SAMPLE_RATE
    frame: int = FRAME_SAMPLES

    @classmethod
    def from_settings(cls, stream: StreamSettings, vad: VadSettings) -> SegmenterOptions:
        """Convert millisecond settings to samples."""
        ms = SAMPLE_RATE // 1000
        end_silence = stream.end_silence_ms * ms
        return cls(
            threshold=vad.threshold,
            min_speech=vad.min_speech_ms * ms,
            end_silence=end_silence,
            pause=max(FRAME_SAMPLES, stream.pause_ms * ms),
            split_after=stream.split_after_ms * ms,
            split_silence=min(stream.split_silence_ms * ms, end_silence),
            pre_roll=stream.pre_roll_ms * ms,
            # Post-roll is audio after speech, so it cannot exceed the silence we waited for.
            post_roll=min(stream.post_roll_ms * ms, end_silence),
            max_speech=int(vad.max_speech_s * SAMPLE_RATE),
        )


class Segmenter:
    """Turns a sequence of frame speech probabilities into utterance events (pure logic)."""

    def __init__(self, options: SegmenterOptions) -> None:
        self.options = options
        self.position = 0
        """Samples seen so far (the end of the last frame)."""
        self.discarded = 0
        """Speech blips shorter than `min_speech` that never became utterances."""
        self._next_id = 0
        self._floor = 0  # an utterance never starts before the previous one ended
        self._candidate: int | None = None  # first speech frame of unconfirmed speech
        self._speech_frames = 0
        self._utterance: Utterance | None = None
        self._last_speech_end = 0
        self._silence_start: int | None = None
        self._paused = False
        self._last_pause: tuple[int, int] | None = None  # (silence start, speech resumes)

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open."""
        return self._utterance is not None

    @property
    def keep_from(self) -> int:
        """Earliest sample a consumer must still keep to honour the pre-roll."""
        if self._utterance is not None:
            return self._utterance.start
        start = self._candidate if self._candidate is not None else self.position
        return max(self._floor, start - self.options.pre_roll)

    def process(self, prob: float) -> list[SegmenterEvent]:
        """Consume the next frame's speech probability."""
        opts = self.options
        frame_start = self.position
        self.position += opts.frame
        events: list[SegmenterEvent] = []
        speech = prob >= opts.threshold
        silence = prob < max(opts.threshold - _HYSTERESIS, 0.01)

        if speech:
            if (
                self._silence_start is not None
                and self._utterance is not None
                and frame_start - self._silence_start >= _CUT_PAUSE_MS * SAMPLE_RATE // 1000
            ):
                self._last_pause = (self._silence_start, frame_start)
            self._silence_start = None
            self._paused = False
            self._last_speech_end = self.position
            if self._utterance is None:
                if self._candidate is None:
                    self._candidate, self._speech_frames = frame_start, 0
                self._speech_frames += 1
                if self._speech_frames * opts.frame >= opts.min_speech:
                    events.append(self._start())
        elif (
            silence
            and self._silence_start is None
            and (self._utterance is not None or self._candidate is not None)
        ):
            self._silence_start = frame_start

        if self._silence_start is not None:
            quiet = self.position - self._silence_start
            if self._utterance is None and self._candidate is not None:
                if quiet >= opts.end_silence:
                    self.discarded += 1
                    self._candidate, self._silence_start = None, None
            elif self._utterance is not None:
                limit = self._end_silence()
                if quiet >= limit:
                    post_roll = min(opts.post_roll, limit)
                    events.append(self._end(self._last_speech_end + post_roll, False))
                elif quiet >= opts.pause and not self._paused:
                    self._paused = True
                    events.append(SpeechPaused(self._utterance.id, self._last_speech_end))

        if self._utterance is not None and self.position - self._utterance.start > opts.max_speech:
            events.extend(self._cut())
        return events

    def finish(self) -> list[SegmenterEvent]:
        """End of audio: close the open utterance (or promote unconfirmed speech) at the end."""
        if self._utterance is None and self._candidate is not None:
            # Short speech at the very end is kept: the tail of a stream is never dropped.
            self._start()
        if self._utterance is None:
            return []
        end = min(self.position, self._last_speech_end + self.options.post_roll)
        return [self._end(max(end, self._last_speech_end), False)]

    def _end_silence(self) -> int:
        """Silence that ends the open utterance: shorter once it has run long."""
        assert self._utterance is not None
        if self._last_speech_end - self._utterance.start >= self.options.split_after:
            return self.options.split_silence
        return self.options.end_silence

    def _start(self) -> SpeechStarted:
        assert self._candidate is not None
        start = max(self._floor, self._candidate - self.options.pre_roll)
        self._utterance = Utterance(self._next_id, start, self.position)
        self._next_id += 1
        self._candidate = None
        self._last_pause = None
        return SpeechStarted(self._utterance)

    def _end(self, end: int, forced: bool) -> SpeechEnded:
        assert self._utterance is not None
        end = min(end, self.position)
        done = Utterance(self._utterance.id, self._utterance.start, end, forced)
        speech_end = min(self._last_speech_end, end)
        self._floor = end
        self._utterance = None
        self._silence_start = None
        self._paused = False
        return SpeechEnded(done, speech_end)

    def _cut(self) -> list[SegmenterEvent]:
        """Cut over-long speech at its last pause (or here, if it had none) and go on."""
        assert self._utterance is not None
        if self._last_pause is not None:
            pause_start, resume = self._last_pause
            cut = (pause_start + resume) // 2
        else:
            cut = self.position
        ended = self._end(cut, True)
        # The speech after the cut continues at once as a new utterance, with no pre-roll:
        # the cut point is inside continuous speech and both pieces must tile the audio.
        self._utterance = Utterance(self._next_id, cut, self.position)
        self._next_id += 1
        self._last_pause = None
        self._last_speech_end = self.position
        return [ended, SpeechStarted(self._utterance)]
