"""Joining live finals: the join rule on constructed finals, then real speech through Whisper.

A live session cuts speech at pauses and decodes each utterance on its own; its joined text must
read like one decode of the whole clip: no sentence end and no capital at a cut where one decode
writes none, and proper nouns and "I" keep their capitals.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tccc.config import Settings
from tccc.events import AudioChunk, LiveTranscript, TranscriptResult, Word
from tccc.stt.agreement import word_key
from tccc.stt.join import (
    LONG_PAUSE_S,
    Boundary,
    SessionText,
    join_pair,
    read_boundary,
    settled,
)
from tccc.stt.live import LiveTranscriber
from tccc.stt.transcriber import DecodeOptions

if TYPE_CHECKING:
    from conftest import SpeechData

    from tccc.stt.whisper_backend import FasterWhisperTranscriber

CONTINUES = Boundary("", next_capital=False)
COMMA = Boundary(",", next_capital=False)

# -- the join rule ------------------------------------------------------------------------------


def test_a_cut_mid_sentence_loses_its_period_and_capital() -> None:
    # jfk.flac as the live transcriber cut it; one decode writes "Americans ask not".
    assert join_pair("And so my fellow Americans.", "Ask not!", gap_s=0.9, boundary=CONTINUES) == (
        "And so my fellow Americans",
        "ask not!",
    )
    # An exclamation added at a pause becomes the comma one decode writes there.
    assert join_pair("Ask not!", "What your country can do", gap_s=0.9, boundary=COMMA) == (
        "Ask not,",
        "what your country can do",
    )


def test_proper_nouns_i_and_acronyms_keep_their_capitals() -> None:
    # The decode across the pause wrote "Montreal" with a capital mid-sentence: a proper noun.
    montreal = Boundary("", next_capital=True)
    assert join_pair("This one.", "Montreal is going", gap_s=1.2, boundary=montreal) == (
        "This one",
        "Montreal is going",
    )
    # "I" and acronyms stay, whatever the reading of the case says.
    assert second("the bleeding stopped and.", "I packed it", CONTINUES) == "I packed it"
    assert second("He was given.", "I'm not sure", CONTINUES) == "I'm not sure"
    assert second("Then we gave.", "TXA at 1400", CONTINUES) == "TXA at 1400"
    # Without a reading, only a function word is lowered after an unfinished sentence.
    assert second("Evacuated to", "Bagram this morning", None) == "Bagram this morning"
    assert second("Tourniquet on the left leg", "And the right arm", None) == "and the right arm"


def second(prev: str, nxt: str, boundary: Boundary | None) -> str:
    """The next final's text after a join across a short pause."""
    return join_pair(prev, nxt, gap_s=0.5, boundary=boundary)[1]


def test_a_real_sentence_boundary_is_kept() -> None:
    end = Boundary(".", next_capital=True)
    pair = ("Tourniquet applied.", "The patient is stable.")
    assert join_pair(*pair, gap_s=0.6, boundary=end) == pair
    # The model wrote no end at the cut, the decode across the pause does: it is added.
    assert join_pair("Tourniquet applied", "the patient is stable", gap_s=0.6, boundary=end) == (
        "Tourniquet applied.",
        "The patient is stable",
    )
    # A long pause is a sentence break even without a reading.
    assert join_pair(
        "Tourniquet applied", "The patient is stable", gap_s=LONG_PAUSE_S + 1, boundary=None
    ) == ("Tourniquet applied.", "The patient is stable")
    assert join_pair(
        "Tourniquet applied,", "the patient is stable", gap_s=LONG_PAUSE_S, boundary=None
    ) == ("Tourniquet applied.", "The patient is stable")
    # Without evidence a sentence the model ended stays ended.
    assert join_pair(*pair, gap_s=0.6, boundary=None) == pair


def test_questions() -> None:
    question = Boundary("?", next_capital=True)
    assert join_pair("Is he breathing?", "Yes, he is.", gap_s=0.7, boundary=question) == (
        "Is he breathing?",
        "Yes, he is.",
    )
    # A question mark the model put at a pause inside the question goes like a period.
    assert join_pair("Where is the bleeding?", "Coming from?", gap_s=0.4, boundary=CONTINUES) == (
        "Where is the bleeding",
        "coming from?",
    )
    # A sentence the model ended keeps its own mark; one it left open gets the decode's.
    assert join_pair("Can you hear me.", "Squeeze my hand.", gap_s=0.7, boundary=question) == (
        "Can you hear me.",
        "Squeeze my hand.",
    )
    assert join_pair("Can you hear me", "squeeze my hand.", gap_s=0.7, boundary=question) == (
        "Can you hear me?",
        "Squeeze my hand.",
    )


def test_a_hesitation_and_an_abbreviation_are_not_sentence_ends() -> None:
    trailing = Boundary("...", next_capital=False)
    assert not trailing.sentence_end
    assert join_pair("But.", "Montreal", gap_s=1.0, boundary=Boundary("...", True)) == (
        "But...",
        "Montreal",
    )
    assert join_pair("Flown back to the U.S.", "And then", gap_s=0.5, boundary=CONTINUES) == (
        "Flown back to the U.S.",
        "and then",
    )


def _words(spec: str, start: float = 0.0, step: float = 0.3) -> list[Word]:
    return [
        Word(start + i * step, start + (i + 1) * step, t, 0.9) for i, t in enumerate(spec.split())
    ]


def test_read_boundary_finds_the_pair_at_the_pause() -> None:
    # "...Americans | ask not": the pause is at 1.2 s of the decoded audio.
    words = _words("my fellow Americans") + _words("ask not", start=1.4)
    assert read_boundary(words, 1.2, "Americans.", "Ask") == Boundary("", False)
    words = _words("to be forced,") + _words("very bad", start=1.4)
    assert read_boundary(words, 1.2, "forced.", "Very") == Boundary(",", False)
    words = _words("dripping blood.") + _words("The ache", start=1.4)
    assert read_boundary(words, 1.2, "blood.", "The") == Boundary(".", True)


def test_read_boundary_matches_numerals_and_rejects_other_words() -> None:
    # One final says "One." the decode across the pause "1," (no case to read from a digit).
    assert read_boundary(_words("1,") + _words("2.", 1.0), 0.6, "One.", "Two.") == Boundary(
        ",", None
    )
    # The decode heard other words at the pause: no reading.
    assert read_boundary(_words("the end.") + _words("So", 1.0), 0.8, "country", "Ask") is None
    # One side matches: the punctuation is read, the case only if it is the same word.
    assert read_boundary(_words("country.") + _words("So", 1.0), 0.6, "country", "Ask") == (
        Boundary(".", None)
    )
    # A matching pair far from the pause is not this boundary.
    far = _words("Americans ask") + _words("not what", start=4.0)
    assert read_boundary(far, 4.0, "Americans", "Ask") is None
    assert read_boundary(far, 4.0, "ask", "not") == Boundary("", False)
    assert read_boundary([], 1.0, "a", "b") is None


def _final(uid: int, text: str, start: float) -> LiveTranscript:
    words = tuple(_words(text, start=start))
    return LiveTranscript("final", uid, start, words[-1].end if words else start, text, words=words)


def test_session_text_joins_and_settled_text_only_grows() -> None:
    finals = [
        (_final(0, "And so my fellow Americans.", 0.0), None),
        (_final(1, "Ask not!", 3.0), CONTINUES),
        (_final(2, "What your country can do for you.", 5.0), COMMA),
        (_final(3, "", 8.0), None),  # a suppressed final adds nothing
        (_final(4, "Then the medic arrived.", 20.0), None),  # long pause: a new sentence
    ]
    session = SessionText()
    streamed = ""
    for event, boundary in finals:
        first = event.words[:1]
        partial = LiveTranscript(
            "partial",
            event.utterance_id,
            event.start,
            event.end,
            first[0].text if first else "",
            words=first,
        )
        shown = settled(session.with_partial(partial, boundary))
        assert shown.startswith(streamed), (shown, streamed)
        streamed = shown
        session.add(event, boundary)
        shown = settled(session.text)
        assert shown.startswith(streamed), (shown, streamed)
        streamed = shown
    assert session.text == (
        "And so my fellow Americans ask not, what your country can do for you. "
        "Then the medic arrived."
    )
    assert session.text.startswith(streamed)
    assert settled("Ask not!") == "Ask not" and settled("") == ""


# -- real speech through the live transcriber -------------------------------------------------

JFK = "jfk.flac"
CUT_CLIPS = [
    JFK,  # three pauses inside one sentence
    "mfa_surround.flac",  # pauses mid-sentence, a proper noun after one, a sentence end
    "ls_1272-141231-0002.flac",  # a sentence end at one pause, a comma at the other
]
SENTENCE_END = ".!?"


@pytest.fixture(scope="module")
def whisper() -> FasterWhisperTranscriber:
    from tccc.stt.whisper_backend import FasterWhisperTranscriber

    s = Settings()
    t = FasterWhisperTranscriber(s.stt, s.vad)
    t.load()
    return t


def stream_clip(
    whisper: FasterWhisperTranscriber, samples: np.ndarray, step: int = 1600
) -> tuple[list[LiveTranscript], SessionText, LiveTranscriber]:
    """Stream a clip in 100 ms chunks as a Wyoming client does; the finals and their join."""

    async def decode(audio: np.ndarray, options: DecodeOptions) -> TranscriptResult:
        return await asyncio.to_thread(whisper.transcribe, audio, options)

    async def source() -> AsyncIterator[AudioChunk]:
        for i in range(0, samples.size, step):
            yield AudioChunk(samples[i : i + step], i)
            await asyncio.sleep(0.01)  # decodes interleave with the audio as they would live

    s = Settings()
    live = LiveTranscriber(decode, stream=s.stream, vad=s.vad)
    joined = SessionText()

    async def go() -> list[LiveTranscript]:
        return [e async for e in live.run(source()) if e.kind == "final"]

    finals = asyncio.run(go())
    for final in finals:  # every join has been read once the run is over
        assert not live.join_pending(final.utterance_id)
        joined.add(final, live.boundary(final.utterance_id))
    return finals, joined, live


def one_shot(whisper: FasterWhisperTranscriber, samples: np.ndarray) -> str:
    """One decode of the whole clip with the options the live transcriber decodes with."""
    options = DecodeOptions(vad=False, word_timestamps=True, temperature=0.0, hotwords="")
    return whisper.transcribe(samples, options).text


def cut_mismatches(parts: list[str], reference: str) -> tuple[int, list[str]]:
    """Cut points between `parts` whose punctuation or case differs from `reference`'s.

    Each cut (last word of a part, first word of the next) is found in the reference by aligning
    the words; at it the two must agree on whether a sentence ends there and on whether the
    next word has a capital. Returns how many cuts were compared and the disagreements.
    """
    words = " ".join(parts).split()
    ref = reference.split()
    matcher = difflib.SequenceMatcher(
        a=[word_key(w) for w in words], b=[word_key(w) for w in ref], autojunk=False
    )
    to_ref = {
        block.a + k: block.b + k
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    }
    cuts, n = 0, 0
    bad: list[str] = []
    for part in parts[:-1]:
        n += len(part.split())
        j = n - 1
        if j not in to_ref or to_ref[j] + 1 >= len(ref):
            continue
        i = to_ref[j]
        cuts += 1
        ours, theirs = words[j][-1] in SENTENCE_END, ref[i][-1] in SENTENCE_END
        nxt_ours, nxt_ref = words[j + 1], ref[i + 1]
        if ours != theirs or nxt_ours[0].isupper() != nxt_ref[0].isupper():
            bad.append(f"{words[j]} {nxt_ours} (one decode: {ref[i]} {nxt_ref})")
    return cuts, bad


@pytest.mark.parametrize("clip", CUT_CLIPS)
def test_streamed_text_reads_like_one_decode_at_the_cuts(
    whisper: FasterWhisperTranscriber, speech: SpeechData, clip: str
) -> None:
    samples = speech.pcm(clip)
    finals, joined, live = stream_clip(whisper, samples)
    texts = [f.committed for f in finals if f.committed]
    assert len(texts) >= 2, f"{clip} was not cut at a pause: {texts}"
    reference = one_shot(whisper, samples)
    cuts, bad = cut_mismatches(joined.parts, reference)
    assert cuts == len(texts) - 1, f"cuts not found in {reference!r}: {joined.text!r}"
    assert not bad, f"{joined.text!r} differs from one decode {reference!r} at {bad}"
    # The join changes punctuation and case only, never the words.
    assert [word_key(w) for w in joined.text.split()] == [
        word_key(w) for w in " ".join(texts).split()
    ]
    # One decode across each pause, no more.
    assert live.stats.boundary_decodes <= len(texts) - 1
    speech.assert_transcript(clip, joined.text)
    if clip == JFK:
        # The example: no sentence end or capital inside the one sentence JFK says.
        assert_one_sentence(joined.text)


def assert_one_sentence(text: str) -> None:
    """jfk.flac's text: no sentence end inside, no capital but "And" and "Americans"."""
    inside = text.split()[:-1]
    assert not [w for w in inside if w[-1] in SENTENCE_END], text
    # The proper noun keeps its capital.
    assert {w.strip(",") for w in inside[1:] if w[0].isupper()} <= {"Americans"}, text


# -- the Wyoming handler, in process ------------------------------------------------------------


def test_wyoming_transcript_and_chunks_join_like_one_decode(
    whisper: FasterWhisperTranscriber, speech: SpeechData
) -> None:
    """jfk.flac paced in 100 ms audio-chunk events: the transcript event reads as one sentence,
    and the transcript-chunk deltas add up to it exactly."""
    from wyoming.asr import Transcribe, Transcript, TranscriptChunk
    from wyoming.audio import AudioChunk as WyChunk
    from wyoming.audio import AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    from tccc.server.metrics import ServerMetrics
    from tccc.server.service import TranscriptionService
    from tccc.server.wyoming_handler import MAX_HEADER_BYTES, WyomingContext, WyomingHandler
    from tccc.store.transcripts import TranscriptLog

    samples = speech.pcm(JFK)
    settings = Settings()

    async def go() -> tuple[str, str]:
        service = TranscriptionService(
            whisper, num_workers=1, queue_size=2, metrics=ServerMetrics(), stream=settings.stream
        )
        await service.load()
        ctx = WyomingContext(service, settings, TranscriptLog())

        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await WyomingHandler(reader, writer, ctx).run()

        server = await asyncio.start_server(connected, "127.0.0.1", 0, limit=MAX_HEADER_BYTES)
        port = server.sockets[0].getsockname()[1]
        chunks: list[str] = []
        try:
            async with AsyncTcpClient("127.0.0.1", port) as wy:
                await wy.write_event(Transcribe(language="en").event())
                await wy.write_event(AudioStart(rate=16000, width=2, channels=1).event())
                for i in range(0, samples.size, 1600):
                    part = samples[i : i + 1600].tobytes()
                    await wy.write_event(
                        WyChunk(rate=16000, width=2, channels=1, audio=part).event()
                    )
                    await asyncio.sleep(0.01)
                await wy.write_event(AudioStop().event())
                while (event := await asyncio.wait_for(wy.read_event(), 60)) is not None:
                    if TranscriptChunk.is_type(event.type):
                        chunks.append(TranscriptChunk.from_event(event).text)
                    elif Transcript.is_type(event.type):
                        return Transcript.from_event(event).text, "".join(chunks)
                raise AssertionError("no transcript event")
        finally:
            server.close()
            await ctx.tasks.cancel_all(wait_s=5.0)
            service.shutdown()

    text, streamed = asyncio.run(go())
    assert streamed == text
    assert_one_sentence(text)
    speech.assert_transcript(JFK, text, max_wer=0.15)
