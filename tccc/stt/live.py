"""Live transcription: endpointing, partial re-decodes with stable commits, and finals.

Audio chunks go in, `LiveTranscript` events come out. The VAD and segmenter find utterances;
while one is in progress its growing audio is decoded every `partial_interval_ms` (stretched
so partial decodes take at most `partial_max_load` of real time on a slow board) and the
words two consecutive decodes agree on are committed (LocalAgreement-2). When the speaker
pauses, the utterance is decoded at once, so when the endpoint is confirmed the final transcript
is usually ready. Partial decodes are greedy; finals use `stream.final_beam_size` (capped by
the runtime when the board is hot), so with a beam wider than 1 the endpoint decodes the
utterance again rather than reuse the greedy pause decode. At the end of the audio (end of
file, audio-stop, disconnect) the open utterance is always finalised: nothing said is dropped.

Each utterance is decoded on its own, so Whisper starts it with a capital and may end the one
before with a period it only wrote because the audio stopped. Right after an utterance's first
event with committed words, a short decode across the pause before it (the previous
utterance's last seconds, the pause, its own first seconds) reads how one decode of both would
join them; `boundary()` gives that reading to whoever joins the finals into one text
(`tccc.stt.join.SessionText`). The event goes out first, so no final waits for that decode.

The model runs through an injected async `decode` function (a worker thread or the server's
transcription service); this module owns the policy and two tasks: a feeder (audio, VAD,
segmenter) and a decoder (one decode at a time, in order, dropping stale partials).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.config import StreamSettings, VadSettings
from tccc.events import AudioChunk, LiveTranscript, NormalisedText, TranscriptResult, Word
from tccc.stt.agreement import LocalAgreement, word_key
from tccc.stt.hallucination import HallucinationFilter
from tccc.stt.join import LONG_PAUSE_S, Boundary, read_boundary
from tccc.stt.segmenter import (
    Segmenter,
    SegmenterOptions,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)
from tccc.stt.transcriber import DecodeOptions
from tccc.stt.vad import SileroStream

_LOGGER = logging.getLogger(__name__)

DecodeFn = Callable[[np.ndarray, DecodeOptions], Awaitable[TranscriptResult]]
"""Transcribes int16 16 kHz audio off the event loop."""
NormaliseFn = Callable[[str], NormalisedText]
"""The vocabulary normaliser."""


class VadStream(Protocol):
    """What the live transcriber needs of a VAD: frame probabilities of fed audio."""

    def feed(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities of the 512-sample frames completed by `audio` (float32)."""


@dataclass
class LiveStats:
    """Counters of one live session."""

    audio_s: float = 0.0
    utterances: int = 0
    partials: int = 0
    finals: int = 0
    decodes: int = 0
    decode_s: float = 0.0
    reused_finals: int = 0
    """Finals taken from a decode that already covered all the speech (no extra decode)."""
    beam_finals: int = 0
    """Finals decoded with a beam wider than 1 (`stream.final_beam_size`)."""
    stale_partials: int = 0
    """Partial decodes skipped because newer audio of the same utterance was queued."""
    gaps_s: float = 0.0
    """Audio missing between chunks (dropped by a full capture buffer), filled with silence."""
    discarded_blips: int = 0
    prompt_fallbacks: int = 0
    """Decodes redone without the vocabulary prompt because it made the decoder loop."""
    tail_decodes: int = 0
    """Extra decodes of speech the decoder skipped at the end of a long utterance."""
    normaliser_errors: int = 0
    """Finals kept with only their raw text because the normaliser raised."""
    boundary_decodes: int = 0
    """Decodes across a pause that read how an utterance joins the one before it."""
    suppressed: Counter[str] = field(default_factory=Counter)


@dataclass
class _Job:
    kind: str  # "partial" or "final"
    utterance_id: int
    start: int
    end: int
    audio: np.ndarray
    speech_end: int = 0


@dataclass
class _UtteranceState:
    id: int
    start: int
    agreement: LocalAgreement = field(default_factory=LocalAgreement)
    requested_end: int = 0  # end of the newest decode asked for
    decoded_end: int = 0  # end of the newest decode finished
    last_words: tuple[Word, ...] = ()
    queued_partial: bool = False
    boundary_read: bool = False  # the join with the utterance before has been decided


@dataclass(frozen=True)
class _Tail:
    """The end of the last utterance that had words, for a decode across the next pause."""

    audio: np.ndarray
    end: int  # session sample index just after `audio`
    last_word: Word


_DONE = object()
_TAIL_GAP_S = 1.0
"""Speech after the last decoded word longer than this was skipped by the decoder."""
_TAIL_DECODES_MAX = 6
"""At most this many tail decodes per final (each must move the end of the words on)."""
_TAIL_OVERLAP_S = 0.2
"""How far before the last decoded word's end a tail decode starts (word times are rough)."""
_PROMPT_FAILURES = frozenset({"repetition", "compression", "prompt_echo"})
_BOUNDARY_SIDE_S = 2.0
"""Audio each side of a pause decoded to read the join: with less, tiny.en misreads more
joins on the shared speech clips (1.5 s); with more it costs more and reads no better (3 s)."""
_BOUNDARIES_KEPT = 64
"""Boundary readings kept for a consumer that lags behind the decoder."""


class LiveTranscriber:
    """Streaming transcription policy for one audio stream (one instance per session)."""

    def __init__(
        self,
        decode: DecodeFn,
        *,
        stream: StreamSettings,
        vad: VadSettings,
        language: str | None = "en",
        prompt: str | None = None,
        normalise: NormaliseFn | None = None,
        partials: bool = True,
        vad_stream: Callable[[], VadStream] = SileroStream,
        interval_scale: Callable[[], float] | None = None,
        join_boundaries: bool = True,
        beam_cap: Callable[[], int | None] | None = None,
    ) -> None:
        self._decode = decode
        self._join_boundaries = join_boundaries
        self.settings = stream
        self._options = SegmenterOptions.from_settings(stream, vad)
        self._language = language
        self._prompt = prompt
        self._normalise = normalise
        self._partials = partials
        self._vad_factory = vad_stream
        self._interval_scale = interval_scale
        self._beam_cap = beam_cap
        self._filter = HallucinationFilter(
            no_speech_threshold=stream.no_speech_threshold,
            log_prob_threshold=stream.log_prob_threshold,
            compression_ratio_threshold=stream.compression_ratio_threshold,
            prompt=prompt,
        )
        self.stats = LiveStats()
        self.stats.suppressed = self._filter.counts
        self._interval = stream.partial_interval_ms * SAMPLE_RATE // 1000
        self._decode_ema_s = 0.0  # smoothed wall time of one decode
        self._jobs: deque[_Job | None] = deque()
        self._job_ready = asyncio.Event()
        self._out: asyncio.Queue[object] = asyncio.Queue()
        self._states: dict[int, _UtteranceState] = {}
        self._source_error: BaseException | None = None
        self._tail: _Tail | None = None
        self._boundaries: dict[int, Boundary | None] = {}
        self._pending_joins: set[int] = set()

    def boundary(self, utterance_id: int) -> Boundary | None:
        """How the utterance joins the one before it, as a decode across the pause read it.

        None for the first utterance, after a long pause, when the decode did not hear the
        words there, or while the reading is still to come (`join_pending`).
        """
        return self._boundaries.get(utterance_id)

    def join_pending(self, utterance_id: int) -> bool:
        """True from the utterance's first event with committed words until its join is read.

        The worker reads it right after sending that event, before any later event, so a
        consumer that sees a later event (or the end of `run`) sees the reading too.
        """
        return utterance_id in self._pending_joins

    async def run(self, chunks: AsyncIterable[AudioChunk]) -> AsyncIterator[LiveTranscript]:
        """Transcribe a stream of chunks; yields partial and final events in order."""
        feeder = asyncio.create_task(self._feed(chunks), name="live:feed")
        worker = asyncio.create_task(self._work(), name="live:decode")
        try:
            while True:
                item = await self._out.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, LiveTranscript)
                yield item
            await feeder
            if self._source_error is not None:
                raise self._source_error
        finally:
            for task in (feeder, worker):
                if not task.done():
                    task.cancel()
            for task in (feeder, worker):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- feeder: audio, VAD, segmenter -------------------------------------------------------

    async def _feed(self, chunks: AsyncIterable[AudioChunk]) -> None:
        vad = self._vad_factory()
        segmenter = Segmenter(self._options)
        buf = np.zeros(0, dtype=np.int16)
        buf_start = 0  # session sample index of buf[0]
        expected = 0
        try:
            async for chunk in chunks:
                samples = chunk.samples
                if chunk.start > expected:
                    # Audio was lost upstream (a full capture buffer): keep session time true.
                    gap = chunk.start - expected
                    self.stats.gaps_s += gap / SAMPLE_RATE
                    samples = np.concatenate([np.zeros(gap, dtype=np.int16), samples])
                expected = chunk.start + chunk.samples.size
                self.stats.audio_s += samples.size / SAMPLE_RATE
                buf = np.concatenate([buf, samples])
                floats = samples.astype(np.float32) / 32768.0
                probs = await asyncio.to_thread(vad.feed, floats)
                for prob in probs:
                    for event in segmenter.process(float(prob)):
                        self._on_event(event, buf, buf_start, segmenter.position)
                self._maybe_partial(buf, buf_start, segmenter)
                keep = min(segmenter.keep_from, buf_start + buf.size)
                if keep > buf_start:
                    buf = buf[keep - buf_start :]
                    buf_start = keep
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            # A client that disconnects mid-stream: what was heard is still finalised below.
            _LOGGER.info("audio source ended early: %s", type(exc).__name__)
        except Exception as exc:
            self._source_error = exc
        finally:
            # The tail: audio not yet scored by the VAD is short (< one frame) and is part of
            # the open utterance, which finish() closes at the very end of the audio.
            end = buf_start + buf.size
            segmenter.position = max(segmenter.position, end)
            for event in segmenter.finish():
                self._on_event(event, buf, buf_start, end)
            self.stats.discarded_blips = segmenter.discarded
            self._push(None)

    def _on_event(
        self,
        event: SpeechStarted | SpeechPaused | SpeechEnded,
        buf: np.ndarray,
        buf_start: int,
        position: int,
    ) -> None:
        if isinstance(event, SpeechStarted):
            utt = event.utterance
            self._states[utt.id] = _UtteranceState(utt.id, utt.start, requested_end=utt.start)
            self.stats.utterances += 1
        elif isinstance(event, SpeechPaused):
            state = self._states.get(event.utterance_id)
            if self._partials and state and state.requested_end < event.speech_end:
                # Decode now: if the pause becomes an endpoint this is already the final.
                self._request_partial(state, buf, buf_start, position)
        else:
            utt = event.utterance
            audio = buf[utt.start - buf_start : utt.end - buf_start].copy()
            # Partials still queued for this utterance are superseded by the final.
            self._jobs = deque(j for j in self._jobs if j is None or j.utterance_id != utt.id)
            state = self._states.get(utt.id)
            if state is not None:
                state.queued_partial = False
            self._push(_Job("final", utt.id, utt.start, utt.end, audio, event.speech_end))

    def _maybe_partial(self, buf: np.ndarray, buf_start: int, segmenter: Segmenter) -> None:
        if not self._partials or not segmenter.in_speech:
            return
        state = self._states.get(max(self._states)) if self._states else None
        if state is None or state.queued_partial:
            return
        if segmenter.position - state.requested_end >= self.partial_interval:
            self._request_partial(state, buf, buf_start, segmenter.position)

    @property
    def partial_interval(self) -> int:
        """Samples between partial decodes: the setting, or longer when decodes are slow."""
        load = self.settings.partial_max_load
        # The runtime stretches the interval when the board is hot (less work per second).
        scale = self._interval_scale() if self._interval_scale is not None else 1.0
        interval = int(self._interval * scale)
        return max(interval, int(self._decode_ema_s / load * SAMPLE_RATE))

    @property
    def final_beam(self) -> int:
        """Beam of the next final decode: the setting, capped by the runtime (a hot board)."""
        beam = self.settings.final_beam_size
        cap = self._beam_cap() if self._beam_cap is not None else None
        return beam if cap is None else max(1, min(beam, cap))

    def _request_partial(
        self, state: _UtteranceState, buf: np.ndarray, buf_start: int, end: int
    ) -> None:
        end = min(end, buf_start + buf.size)
        audio = buf[state.start - buf_start : end - buf_start].copy()
        state.requested_end = end
        state.queued_partial = True
        self._push(_Job("partial", state.id, state.start, end, audio))

    def _push(self, job: _Job | None) -> None:
        self._jobs.append(job)
        self._job_ready.set()

    # -- decoder: one decode at a time, in order ---------------------------------------------

    async def _work(self) -> None:
        try:
            while True:
                while not self._jobs:
                    self._job_ready.clear()
                    await self._job_ready.wait()
                job = self._jobs.popleft()
                if job is None:
                    break
                if job.kind == "partial":
                    await self._partial(job)
                else:
                    await self._final(job)
            self._out.put_nowait(_DONE)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _LOGGER.exception("live transcription failed")
            self._out.put_nowait(exc)

    def _decode_options(self, samples: int, beam: int = 1) -> DecodeOptions:
        # The prompt goes in as hotwords: faster-whisper puts those before every window, and
        # "" (not None) tells the service not to add its own.
        # Temperature 0 only, and at most ~12 tokens per second of audio (fast speech is about
        # 4 words a second): a decode that loops costs one bounded pass instead of the whole
        # temperature-fallback schedule; the hallucination filter drops the result.
        # The beam is always explicit: None would be the engine's `stt.beam_size`, the beam of
        # one-shot requests, which must not widen partial decodes.
        return DecodeOptions(
            language=self._language,
            beam_size=beam,
            hotwords=self._prompt or "",
            word_timestamps=True,
            vad=False,
            temperature=0.0,
            max_new_tokens=min(220, 16 + 12 * samples // SAMPLE_RATE),
        )

    async def _transcribe(self, job: _Job, beam: int = 1) -> tuple[Word, ...]:
        options = self._decode_options(job.audio.size, beam)
        result = await self._decode(job.audio, options)
        self.stats.decodes += 1
        self.stats.decode_s += result.processing_s
        if beam == 1:
            # The smoothed time paces partial decodes, which are greedy: a wide final beam's
            # slower decodes must not make partials rarer.
            self._decode_ema_s = (
                result.processing_s
                if self._decode_ema_s == 0.0
                else 0.7 * self._decode_ema_s + 0.3 * result.processing_s
            )
        if self._prompt and any(
            self._filter.reason(s) in _PROMPT_FAILURES for s in result.segments
        ):
            # The prompt sent the decoder into a loop or an echo: never drop speech for it,
            # decode the same audio again without the prompt.
            self.stats.prompt_fallbacks += 1
            result = await self._decode(job.audio, dataclasses.replace(options, hotwords=""))
            self.stats.decodes += 1
            self.stats.decode_s += result.processing_s
        offset = job.start / SAMPLE_RATE
        words: list[Word] = []
        segments = result.segments
        if self.settings.suppress_hallucinations:
            segments = self._filter.filter(segments)
        for segment in segments:
            seg_words = segment.words or _words_of(segment.text, segment.start, segment.end)
            words.extend(
                replace(w, start=round(w.start + offset, 3), end=round(w.end + offset, 3))
                for w in seg_words
            )
        return tuple(words)

    async def _partial(self, job: _Job) -> None:
        state = self._states.get(job.utterance_id)
        if state is None:
            return
        state.queued_partial = False
        if any(j is not None and j.utterance_id == job.utterance_id for j in self._jobs):
            self.stats.stale_partials += 1
            return
        started = time.perf_counter()
        words = await self._transcribe(job)
        state.decoded_end, state.last_words = job.end, words
        state.agreement.update(words)
        prev = self._join_to_read(state)
        self.stats.partials += 1
        self._out.put_nowait(
            LiveTranscript(
                kind="partial",
                utterance_id=job.utterance_id,
                start=job.start / SAMPLE_RATE,
                end=job.end / SAMPLE_RATE,
                committed=join_words(state.agreement.committed),
                tentative=join_words(state.agreement.tentative),
                words=tuple(state.agreement.committed),
                decode_s=time.perf_counter() - started,
                emitted_at=time.monotonic(),
            )
        )
        if prev is not None:
            await self._read_join(state, job, prev)

    async def _fill_tail(self, job: _Job, words: tuple[Word, ...], beam: int) -> tuple[Word, ...]:
        """Decode again the speech after the last word when the decoder stopped early.

        Whisper sometimes ends a long window before its speech does (tiny.en does on long
        utterances); the rest of what was said must not be lost, so the audio from the last
        decoded word to the end of speech is decoded on its own and its words appended.
        """
        for _ in range(_TAIL_DECODES_MAX):
            if not words:
                break  # nothing heard at all: not a decoder that stopped early
            last = words[-1].end
            if job.speech_end / SAMPLE_RATE - last <= _TAIL_GAP_S:
                break
            start = max(job.start, int((last - _TAIL_OVERLAP_S) * SAMPLE_RATE))
            audio = job.audio[start - job.start :]
            if audio.size < SAMPLE_RATE // 2:
                break
            self.stats.tail_decodes += 1
            tail = await self._transcribe(replace(job, start=start, audio=audio), beam)
            # Words of the overlap that are already there end before `last` (by their middle).
            new = tuple(w for w in tail if (w.start + w.end) / 2 >= last)
            if new and words and word_key(new[0].text) == word_key(words[-1].text):
                new = new[1:]
            if not new or new[-1].end <= last:
                break
            words = words + new
        return words

    async def _final(self, job: _Job) -> None:
        state = self._states.pop(job.utterance_id, None) or _UtteranceState(
            job.utterance_id, job.start
        )
        started = time.perf_counter()
        beam = self.final_beam
        if beam == 1 and state.decoded_end >= job.speech_end > job.start:
            # The last (greedy) decode already heard every speech frame: reuse it.
            words = state.last_words
            self.stats.reused_finals += 1
        else:
            words = await self._transcribe(job, beam)
            if beam > 1:
                self.stats.beam_finals += 1
        words = await self._fill_tail(job, words, beam)
        state.agreement.finish(words)
        prev = self._join_to_read(state)
        committed = state.agreement.committed
        text = join_words(committed)
        if committed:
            keep = min(job.audio.size, int(_BOUNDARY_SIDE_S * SAMPLE_RATE))
            self._tail = _Tail(job.audio[job.audio.size - keep :], job.end, committed[-1])
        self.stats.finals += 1
        self._out.put_nowait(
            LiveTranscript(
                kind="final",
                utterance_id=job.utterance_id,
                start=job.start / SAMPLE_RATE,
                end=job.end / SAMPLE_RATE,
                committed=text,
                words=tuple(committed),
                normalised=self._normalised(text),
                decode_s=time.perf_counter() - started,
                emitted_at=time.monotonic(),
            )
        )
        if prev is not None:
            await self._read_join(state, job, prev)

    def _join_to_read(self, state: _UtteranceState) -> _Tail | None:
        """The previous utterance's end when this utterance's join is to be read now.

        Once per utterance, at its first committed words; the join is then pending until
        `_read_join` has run. None when there is nothing to read: the first utterance, joins
        turned off, or a pause long enough to be a sentence break for the join rule.
        """
        committed = state.agreement.committed
        if state.boundary_read or not committed:
            return None
        state.boundary_read = True
        prev = self._tail
        if not self._join_boundaries or prev is None:
            return None
        if committed[0].start - prev.last_word.end >= LONG_PAUSE_S:
            return None  # silence this long reads as a sentence break without a decode
        self._pending_joins.add(state.id)
        return prev

    async def _read_join(self, state: _UtteranceState, job: _Job, prev: _Tail) -> None:
        """Read how the utterance joins the one before it, from one decode across the pause.

        Decodes the previous utterance's last seconds, the pause (as silence of its length) and
        this utterance's first seconds together, and reads the punctuation the model writes at
        the pause and the case of the first word after it (`read_boundary`). Only the join is
        read: the finals' words stay those of their own decodes.
        """
        try:
            self._boundaries[state.id] = await self._decode_join(state, job, prev)
        finally:
            self._pending_joins.discard(state.id)
        for old in [k for k in self._boundaries if k <= state.id - _BOUNDARIES_KEPT]:
            del self._boundaries[old]

    async def _decode_join(self, state: _UtteranceState, job: _Job, prev: _Tail) -> Boundary | None:
        silence = max(0, min(job.start - prev.end, int(LONG_PAUSE_S * SAMPLE_RATE)))
        pause = np.zeros(silence, dtype=np.int16)
        head = job.audio[: int(_BOUNDARY_SIDE_S * SAMPLE_RATE)]
        audio = np.concatenate([prev.audio, pause, head])
        # Greedy: only the punctuation and case at the pause are read from it.
        result = await self._decode(audio, self._decode_options(audio.size))
        self.stats.decodes += 1
        self.stats.boundary_decodes += 1
        self.stats.decode_s += result.processing_s
        words = [
            w
            for seg in result.segments
            for w in (seg.words or _words_of(seg.text, seg.start, seg.end))
        ]
        split_s = (prev.audio.size + pause.size / 2) / SAMPLE_RATE
        first = state.agreement.committed[0]
        return read_boundary(words, split_s, prev.last_word.text, first.text)

    def _normalised(self, text: str) -> NormalisedText | None:
        """The normaliser's reading of a final, or None when there is none or it failed."""
        if not self._normalise or not text:
            return None
        try:
            return self._normalise(text)
        except Exception as exc:  # a normaliser bug must not lose the words
            # Only the error type: its message could quote the transcript.
            self.stats.normaliser_errors += 1
            _LOGGER.error("normaliser failed (%s); final kept as heard", type(exc).__name__)
            return None


def join_words(words: list[Word] | tuple[Word, ...]) -> str:
    """Text of words as Whisper wrote them: no space before a hyphenated or clitic piece."""
    out: list[str] = []
    for w in words:
        if not w.text:
            continue
        if out and w.text[0] in "-'.,?!%":
            out[-1] += w.text
        else:
            out.append(w.text)
    return " ".join(out)


def _words_of(text: str, start: float, end: float) -> tuple[Word, ...]:
    """Words of a segment decoded without word times, spread evenly over the segment."""
    parts = text.split()
    if not parts:
        return ()
    step = (end - start) / len(parts)
    return tuple(
        Word(start + i * step, start + (i + 1) * step, p, 0.0) for i, p in enumerate(parts)
    )
