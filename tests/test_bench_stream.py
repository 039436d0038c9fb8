"""`tccc bench stream`: metric functions, narration synthesis, and the exchange on a fake server."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import types
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.error import Error
from wyoming.event import async_read_event, async_write_event
from wyoming.info import AsrModel, AsrProgram, Attribution, Info

from tccc.audio import SAMPLE_RATE
from tccc.bench import narrations
from tccc.bench.procstat import descendants, parse_proc_stat, process_cpu_s, server_processes
from tccc.bench.stream import (
    BenchItem,
    Exchange,
    ItemResult,
    Received,
    build_report,
    configure_parser,
    cpu_ratios,
    exchange,
    format_stream_table,
    item_result,
    run_from_args,
)
from tccc.bench.stream_metrics import (
    Recall,
    RecallScorer,
    chunk_bounds,
    find_terms,
    numeric_values,
    percentile,
    project_recall_scorer,
    speech_end_s,
    speech_end_sample,
    summarise,
    term_number_recall,
)
from tccc.errors import TcccError

# --- percentiles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0, 10, 50, 90, 95, 100])
def test_percentile_matches_numpy_linear_interpolation(q: float) -> None:
    values = [0.41, 2.5, 0.12, 0.9, 0.33, 1.7, 0.05]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_one_value_and_of_none() -> None:
    assert percentile([0.7], 95) == 0.7
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarise_skips_missing_values() -> None:
    stats = summarise([1.0, None, 3.0, 2.0])
    assert stats is not None
    assert (stats.p50, stats.mean, stats.n) == (2.0, 2.0, 3)
    assert stats.p95 == pytest.approx(2.9)
    assert summarise([None, None]) is None
    assert summarise([]) is None


# --- speech end ----------------------------------------------------------------------------------


def tone(seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def test_speech_end_ignores_trailing_silence_and_quiet_noise() -> None:
    rng = np.random.default_rng(0)
    # Noise 60 dB below the tone's peak stays under the -45 dB threshold.
    noise = (rng.standard_normal(int(0.5 * SAMPLE_RATE)) * 16).astype(np.int16)
    audio = np.concatenate([tone(1.0), noise])
    assert speech_end_s(audio) == pytest.approx(1.0, abs=0.02)
    assert speech_end_s(np.concatenate([tone(1.0), np.zeros(8000, np.int16)])) == 1.0


def test_speech_end_counts_loud_noise_as_speech() -> None:
    loud = (np.random.default_rng(1).standard_normal(8000) * 3000).astype(np.int16)
    audio = np.concatenate([tone(1.0), loud])
    assert speech_end_s(audio) == pytest.approx(1.5, abs=0.001)


def test_speech_end_of_silence_and_of_nothing_is_none() -> None:
    assert speech_end_s(np.zeros(16000, np.int16)) is None
    assert speech_end_s(np.zeros(0, np.int16)) is None


def test_speech_end_sample_never_passes_the_clip_end() -> None:
    audio = tone(0.505)  # not a whole number of 20 ms frames
    assert speech_end_sample(audio) == audio.size


def test_chunk_bounds_cover_every_sample_once() -> None:
    bounds = chunk_bounds(1000, 640)
    assert bounds == [(0, 640), (640, 1000)]
    assert chunk_bounds(0, 640) == []
    with pytest.raises(ValueError):
        chunk_bounds(10, 0)


# --- server CPU ----------------------------------------------------------------------------------


def test_parse_proc_stat_survives_odd_command_names() -> None:
    fields = ["S", "77"] + ["0"] * 9 + ["250", "50"] + ["0"] * 30
    stat = "4242 (my (odd) server) " + " ".join(fields)
    assert parse_proc_stat(stat, 100) == (77, 3.0)


def test_descendants_walks_the_whole_tree() -> None:
    parents = {10: 1, 11: 10, 12: 11, 13: 10, 20: 1}
    assert sorted(descendants(10, parents)) == [10, 11, 12, 13]
    assert descendants(99, parents) == [99]


def test_cpu_of_a_process_tree_includes_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in server_processes(os.getpid())
        before = process_cpu_s(os.getpid())
        sum(i * i for i in range(2_000_000))  # burn some CPU in this process
        assert process_cpu_s(os.getpid()) > before
    finally:
        child.kill()
        child.wait()


def test_cpu_of_a_missing_process_is_an_error() -> None:
    with pytest.raises(TcccError):
        process_cpu_s(2**22 + 12345)


# --- term and number recall ----------------------------------------------------------------------


def test_numeric_values_forms() -> None:
    text = "BP 90/60, roster RM4417, 2 g TXA at 1432Z, sats 97%, 3.25 inch, 14:32, pulse 110."
    assert numeric_values(text) == {"90/60", "rm4417", "2g", "1432z", "97%", "3.25", "14:32", "110"}
    assert numeric_values("gave 2 grams") == {"2"}
    assert numeric_values("no numbers here") == set()


def test_find_terms_whole_words_any_case() -> None:
    terms = ["TXA", "CAT", "needle decompression", "Needle-D"]
    text = "gave txa, applied a cat; Needle   Decompression done. TXAS and catheter are not terms"
    assert find_terms(text, terms) == {"TXA", "CAT", "needle decompression"}
    assert find_terms("needle-d left", terms) == {"Needle-D"}


def test_recall_counts_terms_and_numbers_of_the_reference() -> None:
    recall = term_number_recall(
        "Gave 2 g TXA at 1445, CAT on the left leg", "gave 2 grams TXA at 1445", ["TXA", "CAT"]
    )
    assert (recall.found, recall.total) == (2, 4)
    assert recall.missed == ("CAT", "2g")
    assert recall.share == 0.5


def test_recall_of_a_reference_without_key_items_has_no_share() -> None:
    assert term_number_recall("all quiet", "all quiet", ["TXA"]) == Recall(0, 0)
    assert Recall(0, 0).share is None


def test_scorer_normalises_reference_always_and_hypothesis_only_with_normaliser() -> None:
    def normalise(text: str) -> str:
        return text.replace("two grams", "2 g").replace("tranexamic acid", "TXA")

    scorer = RecallScorer(normalise, ("TXA",))
    with_norm, raw = scorer.score("two grams tranexamic acid", "two grams tranexamic acid")
    assert (with_norm.found, with_norm.total) == (2, 2)
    assert (raw.found, raw.total) == (0, 2)


# --- per-item results and reports ----------------------------------------------------------------


def streamed_exchange() -> Exchange:
    events = (
        Received(10.6, "transcript-start"),
        Received(10.8, "transcript-chunk", "gave two"),
        Received(12.1, "transcript-chunk", " grams"),
        Received(13.4, "transcript", "gave two grams"),
        Received(13.45, "transcript-stop"),
    )
    return Exchange(
        first_audio_sent=10.0, last_speech_sent=12.5, audio_stop_sent=13.0, events=events
    )


def test_item_result_times_from_the_right_moments() -> None:
    item = BenchItem("narrations", "x@en-us", "gave two grams", tone(3.0))
    result = item_result(item, "stream", streamed_exchange(), server_cpu_s=0.6, scorer=None)
    assert result.final_after_stop_s == pytest.approx(0.4)
    assert result.final_after_speech_s == pytest.approx(0.9)
    assert result.first_partial_s == pytest.approx(0.8)
    assert result.transcript_start_s == pytest.approx(0.6)
    assert result.transcript_stop_after_stop_s == pytest.approx(0.45)
    assert (result.chunks, result.partials_before_stop) == (2, 2)
    assert (result.errors, result.ref_words) == (0, 3)
    assert result.recall_normalised is None


def test_item_result_without_a_transcript_is_an_error() -> None:
    ex = Exchange(1.0, None, 2.0, (Received(2.5, "transcript-stop"),))
    item = BenchItem("speech", "a.wav", "hello", tone(1.0))
    with pytest.raises(TcccError):
        item_result(item, "stream", ex, server_cpu_s=None, scorer=None)


def result(mode: str, cpu: float | None, latency: float, data: str = "speech") -> ItemResult:
    return ItemResult(
        data=data,
        name="a.wav",
        mode=mode,
        audio_s=2.0,
        speech_end_s=1.8,
        send_s=2.0,
        final_after_stop_s=latency,
        final_after_speech_s=latency + 0.2,
        first_partial_s=None,
        partials_before_stop=0,
        chunks=0,
        transcript_start_s=None,
        transcript_stop_after_stop_s=None,
        server_cpu_s=cpu,
        ref_words=10,
        errors=1,
        recall_normalised=(3, 4),
        recall_raw=(1, 4),
        missed=[],
        hypothesis="",
    )


SERVER = {"program": "fake", "version": "1.0", "model": "tiny.en", "streaming": False}


def test_reports_aggregate_and_compare_streaming_with_oneshot_cpu() -> None:
    stream = build_report(
        [result("stream", 0.4, 0.5), result("stream", 0.6, 0.7)],
        label="t",
        server=SERVER,
        data="speech",
        mode="stream",
        chunk_ms=40,
        peak_rss=None,
    )
    oneshot = build_report(
        [result("oneshot", 0.2, 0.3), result("oneshot", 0.3, 0.3)],
        label="t",
        server=SERVER,
        data="speech",
        mode="oneshot",
        chunk_ms=40,
        peak_rss=None,
    )
    assert stream.cpu_per_audio_s == 0.25
    assert stream.wer == 0.1
    assert (stream.recall_normalised, stream.recall_raw, stream.recall_items) == (0.75, 0.25, 8)
    assert stream.final_after_stop is not None and stream.final_after_stop.mean == 0.6
    assert stream.first_partial is None
    assert cpu_ratios([stream, oneshot]) == {"speech": 2.0}
    table = format_stream_table([stream, oneshot])
    assert "streaming / one-shot (speech): 2.00x" in table
    assert "0.600 / 0.690 / 0.600" in table


def test_cpu_is_unknown_when_any_item_lacks_it() -> None:
    report = build_report(
        [result("stream", None, 0.5), result("stream", 0.6, 0.7)],
        label="t",
        server=SERVER,
        data="speech",
        mode="stream",
        chunk_ms=40,
        peak_rss=None,
    )
    assert report.cpu_per_audio_s is None
    assert cpu_ratios([report]) == {}


# --- the exchange, against fake Wyoming servers on loopback --------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def with_server(handler: Handler, body: Callable[[str], Awaitable[Exchange]]) -> Exchange:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await body(f"tcp://127.0.0.1:{port}")
    finally:
        server.close()
        await server.wait_closed()


def streaming_handler(partial_after_s: float) -> Handler:
    """A server that sends a partial once `partial_after_s` of audio has arrived."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = 0.0
        sent_partial = False
        while (event := await async_read_event(reader)) is not None:
            if event.type == "audio-chunk":
                received += len(event.payload or b"") / 2 / SAMPLE_RATE
                if received >= partial_after_s and not sent_partial:
                    await async_write_event(TranscriptStart().event(), writer)
                    await async_write_event(TranscriptChunk("hello").event(), writer)
                    sent_partial = True
            elif event.type == "audio-stop":
                await async_write_event(TranscriptChunk(" world").event(), writer)
                await async_write_event(Transcript("hello world").event(), writer)
                await async_write_event(TranscriptStop().event(), writer)
                break
        writer.close()

    return handle


async def batch_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server that answers only after audio-stop, with one transcript and no stream events."""
    while (event := await async_read_event(reader)) is not None:
        if event.type == "audio-stop":
            await asyncio.sleep(0.1)
            await async_write_event(Transcript("hello world").event(), writer)
    writer.close()


async def error_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server that refuses the audio."""
    while (event := await async_read_event(reader)) is not None:
        if event.type == "audio-start":
            await async_write_event(Error(text="nope", code="bad").event(), writer)
            break
    writer.close()


def test_exchange_times_partials_while_audio_is_still_arriving() -> None:
    audio = tone(0.6)
    ex = asyncio.run(
        with_server(
            streaming_handler(0.2),
            lambda uri: exchange(uri, audio, chunk_ms=20, speech_end=speech_end_sample(audio)),
        )
    )
    # Paced at real time: the 0.6 s clip takes about 0.58 s from the first chunk to audio-stop,
    # never less; the upper bound only guards sanity (a loaded machine runs late).
    assert 0.5 <= ex.audio_stop_sent - ex.first_audio_sent < 2.0
    chunks = ex.chunk_times
    assert len(chunks) == 2
    assert chunks[0] < ex.audio_stop_sent < chunks[1]
    assert 0.1 <= chunks[0] - ex.first_audio_sent < ex.audio_stop_sent - ex.first_audio_sent
    assert ex.final_text == "hello world"
    assert [e.type for e in ex.events][-1] == "transcript-stop"
    times = [e.at for e in ex.events]
    assert times == sorted(times)
    assert ex.last_speech_sent is not None
    assert ex.first_audio_sent <= ex.last_speech_sent <= ex.audio_stop_sent


def test_exchange_with_a_batch_server_and_oneshot_pacing() -> None:
    audio = tone(2.0)
    ex = asyncio.run(
        with_server(batch_handler, lambda uri: exchange(uri, audio, chunk_ms=40, paced=False))
    )
    assert ex.audio_stop_sent - ex.first_audio_sent < 0.5  # unpaced: much faster than 2 s
    assert ex.chunk_times == []
    final = ex.first("transcript")
    assert final is not None and final.at - ex.audio_stop_sent >= 0.09
    assert ex.final_text == "hello world"


def test_exchange_raises_the_servers_error() -> None:
    with pytest.raises(TcccError, match="nope"):
        asyncio.run(with_server(error_handler, lambda uri: exchange(uri, tone(0.5), chunk_ms=20)))


def test_exchange_with_no_server_is_a_clear_error() -> None:
    async def closed_port() -> str:
        server = await asyncio.start_server(batch_handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        return f"tcp://127.0.0.1:{port}"

    uri = asyncio.run(closed_port())
    with pytest.raises(TcccError, match="cannot connect"):
        asyncio.run(exchange(uri, tone(0.1)))


# --- narration synthesis -------------------------------------------------------------------------

needs_espeak = pytest.mark.skipif(
    narrations.find_espeak() is None, reason="espeak-ng is not installed"
)


@needs_espeak
def test_synthesis_writes_16k_mono_wav_once_per_text_and_voice(tmp_path: Path) -> None:
    text = "Tourniquet on the left leg at fourteen thirty."
    first = narrations.synthesise(text, "en-us", tmp_path)
    with wave.open(str(first)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2)
        seconds = wav.getnframes() / SAMPLE_RATE
    assert 1.0 < seconds < 8.0
    mtime = first.stat().st_mtime_ns
    assert narrations.synthesise(text, "en-us", tmp_path) == first
    assert first.stat().st_mtime_ns == mtime  # served from the cache
    other = narrations.synthesise(text, narrations.DEFAULT_VOICES[1], tmp_path)
    assert other != first
    assert other.read_bytes() != first.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, other.name])


@needs_espeak
def test_unknown_voice_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TcccError, match="espeak-ng failed"):
        narrations.synthesise("hello", "xx-no-such-voice", tmp_path)
    assert not any(tmp_path.glob("*.wav"))


@needs_espeak
def test_synthesise_cases_interleaves_voices_and_honours_limit(tmp_path: Path) -> None:
    cases = [narrations.NarrationCase("a", "one"), narrations.NarrationCase("b", "two")]
    spoken = narrations.synthesise_cases(cases, ("en-us", "en-gb"), tmp_path, limit=3)
    assert [s.name for s in spoken] == ["a@en-us", "a@en-gb", "b@en-us"]
    assert all(s.path.is_file() for s in spoken)


def test_cache_key_depends_on_text_and_voice() -> None:
    key = narrations.cache_key("hello", "en-us")
    assert key == narrations.cache_key("hello", "en-us")
    assert key != narrations.cache_key("hello", "en-gb")
    assert key != narrations.cache_key("hello.", "en-us")


def test_cache_key_depends_on_the_delivery() -> None:
    slow = narrations.Delivery(rate_wpm=120, word_gap_ms=60)
    assert narrations.cache_key("hello", "en-us", slow) != narrations.cache_key("hello", "en-us")
    assert narrations.Delivery().espeak_args() == ["-s", "140", "-g", "5"]


def test_spoken_form_spells_out_abbreviations_espeak_reads_as_words() -> None:
    # The general rule and its table are tested in test_bench_voices.py.
    text = "Two grams TXA slow IV push, ketamine IM. Ivy stays."
    assert narrations.spoken_form(text) == (
        "Two grams T X Eh slow I V push, ketamine I M. Ivy stays."
    )


@needs_espeak
def test_slower_delivery_makes_longer_audio(tmp_path: Path) -> None:
    text = "Tourniquet on the left leg at fourteen thirty."
    fast = narrations.synthesise(text, "en-us", tmp_path, delivery=narrations.Delivery(175, 0))
    slow = narrations.synthesise(text, "en-us", tmp_path, delivery=narrations.Delivery(120, 80))
    with wave.open(str(fast)) as a, wave.open(str(slow)) as b:
        assert b.getnframes() > 1.3 * a.getnframes()


def test_load_cases_reads_the_dev_narrations() -> None:
    path = narrations.default_narrations_path()
    if not path.is_file():
        pytest.skip(f"no dev narrations at {path}")
    cases = narrations.load_cases(path)
    assert len(cases) >= 1
    assert all(c.id and c.text for c in cases)


# --- recall on the project's normaliser interface ------------------------------------------------


def test_project_scorer_uses_the_normaliser_and_vocabulary_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @dataclass(frozen=True)
    class Term:
        canonical: str

    @dataclass(frozen=True)
    class Vocabulary:
        terms: tuple[Term, ...]

    @dataclass(frozen=True)
    class Normalised:
        text: str

    class Normaliser:
        def __init__(self, vocabulary: Vocabulary) -> None:
            self.vocabulary = vocabulary

        def normalise(self, text: str) -> Normalised:
            return Normalised(text.replace("tranexamic acid", "TXA"))

    vocabulary_mod = types.ModuleType("tccc.stt.vocabulary")
    vocabulary_mod.load_vocabulary = lambda: Vocabulary((Term("TXA"), Term("CAT")))  # type: ignore[attr-defined]
    normaliser_mod = types.ModuleType("tccc.stt.normaliser")
    normaliser_mod.Normaliser = Normaliser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tccc.stt.vocabulary", vocabulary_mod)
    monkeypatch.setitem(sys.modules, "tccc.stt.normaliser", normaliser_mod)
    scorer = project_recall_scorer()
    assert scorer is not None
    assert scorer.terms == ("TXA", "CAT")
    with_norm, raw = scorer.score("gave tranexamic acid", "gave tranexamic acid")
    assert (with_norm.found, raw.found, raw.total) == (1, 0, 1)


# --- the whole run, against a fake server in this process ----------------------------------------


async def describing_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers describe with info, and audio with a transcript after audio-stop."""
    while (event := await async_read_event(reader)) is not None:
        if event.type == "describe":
            program = AsrProgram(
                name="fake-asr",
                description="test",
                attribution=Attribution(name="t", url="http://localhost"),
                installed=True,
                version="0.1",
                models=[
                    AsrModel(
                        name="fake-model",
                        description="test",
                        attribution=Attribution(name="t", url="http://localhost"),
                        installed=True,
                        languages=["en"],
                        version="0.1",
                    )
                ],
            )
            await async_write_event(Info(asr=[program]).event(), writer)
        elif event.type == "audio-stop":
            await async_write_event(Transcript("hello world").event(), writer)
    writer.close()


def test_run_from_args_on_a_fake_server_writes_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    speech_dir = tmp_path / "speech"
    speech_dir.mkdir()
    with wave.open(str(speech_dir / "a.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(tone(0.3).tobytes())
    (speech_dir / "manifest.tsv").write_text(
        "file\treference_transcript\na.wav\thello world\n", encoding="utf-8"
    )

    async def main() -> int:
        server = await asyncio.start_server(describing_handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        parser = argparse.ArgumentParser()
        configure_parser(parser)
        args = parser.parse_args(
            [
                "--uri",
                f"tcp://127.0.0.1:{port}",
                "--server-pid",
                str(os.getpid()),
                "--data",
                "speech",
                "--speech-dir",
                str(speech_dir),
                "--chunk-ms",
                "20",
                "--json",
                str(tmp_path / "report.json"),
            ]
        )
        try:
            # run_from_args owns its event loop; run it beside this one, as the CLI would.
            return await asyncio.to_thread(run_from_args, args)
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(main()) == 0
    table = capsys.readouterr().out
    assert "fake-asr 0.1" in table and "stream 20 ms" in table and "oneshot" in table
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    modes = [r["mode"] for r in report["reports"]]
    assert modes == ["stream", "oneshot"]
    stream = report["reports"][0]
    assert stream["wer"] == 0.0 and stream["items"] == 1
    # CPU is counted in clock ticks (10 ms), so a fake server's one-shot cost may round to 0 and
    # leave no ratio; that it is measured at all is what this checks.
    assert all(r["cpu_per_audio_s"] is not None for r in report["reports"])
    assert set(report["cpu_ratio_stream_over_oneshot"]) <= {"speech"}


def test_chunk_ms_outside_20_to_100_is_refused() -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    assert parser.parse_args([]).chunk_ms == 40
    with pytest.raises(SystemExit):
        parser.parse_args(["--chunk-ms", "10"])
