"""Endpointing decisions (pure) on synthetic speech/silence patterns."""

from __future__ import annotations

import dataclasses
import itertools

from tccc.stt.segmenter import (
    Segmenter,
    SegmenterEvent,
    SegmenterOptions,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)

F = 512  # samples per frame (32 ms)
OPTS = SegmenterOptions(
    threshold=0.5,
    min_speech=3 * F,
    end_silence=10 * F,
    pause=4 * F,
    pre_roll=5 * F,
    post_roll=3 * F,
    max_speech=100 * F,
)


def run(
    pattern: str, opts: SegmenterOptions = OPTS, *, finish: bool = True
) -> list[SegmenterEvent]:
    """'s' speech (0.9), '.' silence (0.05), '~' in between (0.4), one frame each."""
    seg = Segmenter(opts)
    events: list[SegmenterEvent] = []
    for c in pattern:
        events.extend(seg.process({"s": 0.9, ".": 0.05, "~": 0.4}[c]))
    if finish:
        events.extend(seg.finish())
    return events


def ended(events: list[SegmenterEvent]) -> list[tuple[int, int, bool]]:
    return [
        (e.utterance.start // F, e.utterance.end // F, e.utterance.forced_cut)
        for e in events
        if isinstance(e, SpeechEnded)
    ]


def test_silence_gives_nothing() -> None:
    assert run("." * 200) == []


def test_one_utterance_with_pre_and_post_roll() -> None:
    events = run("." * 20 + "s" * 30 + "." * 40)
    assert isinstance(events[0], SpeechStarted)
    assert events[0].utterance.start == 15 * F  # 5 frames of pre-roll
    assert ended(events) == [(15, 53, False)]  # 3 frames of post-roll
    end = next(e for e in events if isinstance(e, SpeechEnded))
    assert end.speech_end == 50 * F


def test_endpoint_waits_for_the_configured_silence() -> None:
    # 9 silent frames is under end_silence: still one open utterance, closed only by finish().
    events = run("." * 5 + "s" * 10 + "." * 9, finish=False)
    assert ended(events) == []
    events = run("." * 5 + "s" * 10 + "." * 10, finish=False)
    assert len(ended(events)) == 1


def test_short_pause_does_not_split_but_is_reported() -> None:
    events = run("s" * 20 + "." * 6 + "s" * 20 + "." * 40)
    assert len(ended(events)) == 1
    pauses = [e for e in events if isinstance(e, SpeechPaused)]
    assert len(pauses) == 2  # after 4 quiet frames mid-speech, and again before the endpoint
    assert pauses[0].speech_end == 20 * F


def test_two_utterances_never_overlap() -> None:
    events = run("s" * 20 + "." * 12 + "s" * 20 + "." * 40)
    spans = ended(events)
    assert len(spans) == 2
    assert spans[0][1] <= spans[1][0]


def test_blip_shorter_than_min_speech_is_discarded() -> None:
    seg = Segmenter(OPTS)
    events = [e for c in "." * 10 + "ss" + "." * 30 for e in seg.process(0.9 if c == "s" else 0.0)]
    assert events == []
    assert seg.discarded == 1


def test_hysteresis_keeps_wavering_speech_open() -> None:
    # '~' (0.4) is between the thresholds: it neither starts speech nor counts as silence.
    events = run("s" * 10 + "~" * 30 + "s" * 10 + "." * 40)
    assert len(ended(events)) == 1


def test_forced_cut_at_max_speech_goes_at_the_last_pause_and_tiles() -> None:
    pattern = "s" * 60 + "...." + "s" * 60 + "." * 40  # 124 frames of speech > 100
    spans = ended(run(pattern))
    assert spans[0][2] is True
    assert 60 <= spans[0][1] <= 64  # inside the pause
    assert spans[1][0] == spans[0][1]  # the next piece starts exactly where the cut was
    assert all(e - s <= 101 for s, e, _ in spans)


def test_forced_cut_without_pause_is_a_hard_cut() -> None:
    spans = ended(run("s" * 250 + "." * 40))
    assert [s for s in spans if s[2]]  # at least one forced cut
    for (_, e1, _), (s2, _, _) in itertools.pairwise(spans):
        assert e1 == s2
    assert spans[-1][1] >= 250


def test_finish_keeps_the_tail() -> None:
    # Speech running to the very end of the audio is closed at the end, post-roll clipped.
    spans = ended(run("." * 10 + "s" * 30))
    assert spans == [(5, 40, False)]
    # Even speech too short to have been confirmed is kept at the end of a stream.
    assert ended(run("." * 10 + "ss")) == [(5, 12, False)]


def test_keep_from_honours_pre_roll() -> None:
    seg = Segmenter(OPTS)
    for _ in range(50):
        seg.process(0.0)
    assert seg.keep_from == 45 * F
    seg.process(0.9)
    seg.process(0.0)
    seg.process(0.0)
    # Unconfirmed speech at frame 50 pins the buffer at its pre-roll while silence goes on.
    assert seg.keep_from == 45 * F


SPLIT = dataclasses.replace(
    OPTS, pause=2 * F, max_speech=1000 * F, split_after=40 * F, split_silence=5 * F
)


def test_short_utterance_keeps_the_full_end_silence() -> None:
    # A 6-frame pause inside 30 frames of speech does not end it (the endpoint is 10 frames).
    events = run("s" * 15 + "." * 6 + "s" * 15 + "." * 20, SPLIT)
    assert ended(events) == [(0, 39, False)]


def test_long_utterance_splits_at_a_sentence_break() -> None:
    # After 40 frames of speech, 6 frames of silence (more than split_silence) end it.
    events = run("s" * 45 + "." * 6 + "s" * 20 + "." * 20, SPLIT)
    assert ended(events) == [(0, 48, False), (48, 74, False)]
    # The post-roll of a split never reaches past the silence that ended it.
    starts = [e.utterance.start for e in events if isinstance(e, SpeechStarted)]
    assert starts[1] >= 48 * F


def test_pause_shorter_than_split_silence_does_not_split() -> None:
    events = run("s" * 45 + "." * 4 + "s" * 20 + "." * 20, SPLIT)
    assert ended(events) == [(0, 72, False)]
    # ...but the pause still asks for an early decode.
    assert any(isinstance(e, SpeechPaused) for e in events)


def test_split_options_come_from_settings() -> None:
    from tccc.config import StreamSettings, VadSettings

    opts = SegmenterOptions.from_settings(
        StreamSettings(split_after_ms=6000, split_silence_ms=900, pause_ms=64), VadSettings()
    )
    assert opts.split_after == 6 * 16000
    assert opts.split_silence == opts.end_silence  # never longer than the normal endpoint
    assert opts.pause == 2 * F
