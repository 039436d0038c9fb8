"""End-to-end tests of the HTTP API: a real `tccc serve` process, real clips, real clients."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import httpx
import numpy as np
import pytest
from openai import OpenAI

if TYPE_CHECKING:
    from conftest import Server, ServerFactory, SpeechData

pytestmark = pytest.mark.e2e

JFK = "jfk.flac"
LIBRISPEECH = ("ls_1089-134686-0000.flac", "ls_1272-141231-0002.flac")
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


def post_file(
    server: Server,
    route: str,
    field: str,
    name: str,
    content: bytes,
    *,
    data: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    """POST one multipart upload to the server."""
    return httpx.post(
        f"{server.base_url}{route}",
        files={field: (name, content, content_type)},
        data=data,
        params=params,
        headers=server.headers,
        timeout=TIMEOUT,
    )


def assert_segments(segments: list[dict[str, Any]], duration: float) -> None:
    """Segment times are ordered, non-overlapping and inside [0, duration]."""
    assert segments, "no segments"
    previous_end = 0.0
    for seg in segments:
        start, end = float(seg["start"]), float(seg["end"])
        assert 0.0 <= start <= end <= duration + 0.05, f"segment outside [0, {duration}]: {seg}"
        assert start >= previous_end - 0.01, f"segments overlap or go back in time: {segments}"
        previous_end = end
        assert seg["text"].strip(), f"empty segment text: {seg}"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the documented JSON error with this status and code."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    error = body["error"]
    assert error["code"] == code, body
    assert isinstance(error["message"], str) and error["message"], body
    assert set(error) >= {"message", "type", "code", "param"}, body
    return dict(error)


CLOCK = r"(\d{2}):(\d{2}):(\d{2})[.,](\d{3})"


def cue_times(text: str) -> list[tuple[float, float]]:
    """(start, end) of every `a --> b` cue line of an SRT or WebVTT document."""
    times = []
    for match in re.finditer(rf"^{CLOCK} --> {CLOCK}$", text, flags=re.MULTILINE):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
        times.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000))
    return times


def assert_monotonic_cues(times: list[tuple[float, float]], duration: float) -> None:
    """Cue times go forward and stay inside the audio."""
    assert times, "no cues"
    previous = 0.0
    for start, end in times:
        assert previous - 0.001 <= start <= end <= duration + 0.05, times
        previous = end


# --- the seed's command and the three transcription APIs ---------------------------------------


def test_seed_curl_command(server: Server, speech: SpeechData) -> None:
    """The seed's exact `curl -F audio=@jfk.flac -F language=en` works and returns the fields."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    path = speech.path(JFK)
    proc = subprocess.run(
        [
            curl,
            "-s",
            "-X",
            "POST",
            f"{server.base_url}/api/asr",
            "-F",
            f"audio=@{path}",
            "-F",
            "language=en",
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    body = json.loads(proc.stdout)
    assert set(body) >= {"text", "language", "duration", "segments"}, body
    assert body["language"] == "en"
    assert body["duration"] == pytest.approx(11.0, abs=0.1)
    speech.assert_transcript(JFK, body["text"], max_wer=0.15)
    assert_segments(body["segments"], body["duration"])
    joined = " ".join(s["text"].strip() for s in body["segments"])
    assert speech.wer(JFK, joined) <= 0.15, "segments do not add up to the transcript"


@pytest.mark.parametrize("name", LIBRISPEECH)
def test_api_asr_librispeech(server: Server, speech: SpeechData, name: str) -> None:
    """LibriSpeech clips through /api/asr come back close to their references."""
    response = post_file(server, "/api/asr", "audio", name, speech.path(name).read_bytes())
    assert response.status_code == 200, response.text
    body = response.json()
    speech.assert_transcript(name, body["text"], max_wer=0.3)
    assert_segments(body["segments"], body["duration"])


def test_asr_json_and_txt(server: Server, speech: SpeechData) -> None:
    """whisper-asr-webservice /asr: output=json has text+segments+language, txt is the text."""
    audio = speech.path(JFK).read_bytes()
    response = post_file(
        server, "/asr", "audio_file", JFK, audio, params={"output": "json", "language": "en"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["language"] == "en"
    speech.assert_transcript(JFK, body["text"], max_wer=0.15)
    assert_segments(body["segments"], 11.0)

    response = post_file(server, "/asr", "audio_file", JFK, audio, params={"output": "txt"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.strip() == body["text"].strip()


@pytest.mark.parametrize("output", ["srt", "vtt"])
def test_asr_subtitles(server: Server, speech: SpeechData, output: str) -> None:
    """/asr output=srt|vtt are well-formed subtitles with forward-moving times and the words."""
    name = LIBRISPEECH[1]
    response = post_file(
        server,
        "/asr",
        "audio_file",
        name,
        speech.path(name).read_bytes(),
        params={"output": output},
    )
    assert response.status_code == 200, response.text
    text = response.text
    times = cue_times(text)
    assert_monotonic_cues(times, 13.4)
    if output == "vtt":
        assert response.headers["content-type"].startswith("text/vtt")
        assert text.startswith("WEBVTT\n\n"), text[:40]
        assert "," not in "".join(re.findall(rf"{CLOCK} --> {CLOCK}", text)[0])
    else:
        blocks = [b for b in text.strip().split("\n\n") if b.strip()]
        assert len(blocks) == len(times)
        for index, block in enumerate(blocks, start=1):
            lines = block.splitlines()
            assert lines[0] == str(index), block
            assert re.fullmatch(rf"{CLOCK} --> {CLOCK}", lines[1]), block
            assert ", " not in lines[1] and "," in lines[1], block
            assert lines[2].strip(), block
    cue_lines = [
        line
        for line in text.splitlines()
        if line.strip() and "-->" not in line and not line.isdigit() and line != "WEBVTT"
    ]
    speech.assert_transcript(name, " ".join(cue_lines), max_wer=0.3)


def test_asr_raw_pcm(server: Server, speech: SpeechData) -> None:
    """/asr?encode=false takes the body as raw s16le 16 kHz mono."""
    raw = speech.pcm(JFK).astype("<i2").tobytes()
    response = post_file(
        server, "/asr", "audio_file", "jfk.raw", raw, params={"encode": "false", "output": "json"}
    )
    assert response.status_code == 200, response.text
    speech.assert_transcript(JFK, response.json()["text"], max_wer=0.15)
    odd = post_file(server, "/asr", "audio_file", "odd.raw", raw[:-1], params={"encode": "false"})
    assert_error(odd, 400, "invalid_audio")


def test_openai_client(server: Server, speech: SpeechData) -> None:
    """The official openai client: json, verbose_json with word+segment times, and text."""
    client = OpenAI(base_url=f"{server.base_url}/v1", api_key="x", timeout=120.0, max_retries=0)
    with speech.path(JFK).open("rb") as fh:
        plain = client.audio.transcriptions.create(model="whisper-1", file=fh)
    speech.assert_transcript(JFK, plain.text, max_wer=0.15)

    with speech.path(JFK).open("rb") as fh:
        verbose = client.audio.transcriptions.create(
            model="whisper-1",
            file=fh,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    speech.assert_transcript(JFK, verbose.text, max_wer=0.15)
    assert verbose.duration == pytest.approx(11.0, abs=0.1)
    assert verbose.language == "english"
    words = verbose.words or []
    assert len(words) >= 15, words
    starts = [w.start for w in words]
    assert starts == sorted(starts), f"word start times go backwards: {starts}"
    assert all(0.0 <= w.start <= w.end <= verbose.duration + 0.05 for w in words), words
    speech.assert_transcript(JFK, " ".join(w.word for w in words), max_wer=0.15)
    segments = [s.model_dump() for s in verbose.segments or []]
    assert_segments(segments, verbose.duration)

    with speech.path(JFK).open("rb") as fh:
        text = client.audio.transcriptions.create(
            model="whisper-1", file=fh, response_format="text"
        )
    assert isinstance(text, str)
    speech.assert_transcript(JFK, text, max_wer=0.15)


def test_openai_subtitle_formats(server: Server, speech: SpeechData) -> None:
    """/v1/audio/transcriptions with response_format=srt and vtt."""
    audio = speech.path(JFK).read_bytes()
    for fmt in ("srt", "vtt"):
        response = post_file(
            server,
            "/v1/audio/transcriptions",
            "file",
            JFK,
            audio,
            data={"model": "whisper-1", "response_format": fmt},
        )
        assert response.status_code == 200, response.text
        assert_monotonic_cues(cue_times(response.text), 11.0)
        assert response.text.startswith("WEBVTT") == (fmt == "vtt")


# --- containers and sample rates ---------------------------------------------------------------

CONTAINERS = [
    # (suffix, container format, codec, codec sample rate)
    ("flac", "flac", "flac", 16000),
    ("ogg", "ogg", "libopus", 48000),
    ("mp3", "mp3", "libmp3lame", 44100),
    ("m4a", "ipod", "aac", 44100),
]


def encode_clip(samples: np.ndarray, path: Path, fmt: str, codec: str, rate: int) -> None:
    """Encode 16 kHz mono int16 samples into a container with PyAV (skips if it cannot)."""
    try:
        av.codec.Codec(codec, "w")
    except Exception as exc:  # PyAV raises different errors for unknown encoders across versions
        pytest.skip(f"PyAV has no {codec} encoder: {exc}")
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize(
    ("suffix", "fmt", "codec", "rate"), CONTAINERS, ids=[c[0] for c in CONTAINERS]
)
def test_audio_containers(
    server: Server, speech: SpeechData, tmp_path: Path, suffix: str, fmt: str, codec: str, rate: int
) -> None:
    """The clip re-encoded as flac, ogg/opus, mp3 and m4a/aac still transcribes correctly."""
    path = tmp_path / f"jfk.{suffix}"
    encode_clip(speech.pcm(JFK), path, fmt, codec, rate)
    response = post_file(server, "/api/asr", "audio", path.name, path.read_bytes())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["duration"] == pytest.approx(11.0, abs=0.2)
    speech.assert_transcript(JFK, body["text"], max_wer=0.2)


@pytest.mark.parametrize(
    ("rate", "channels"), [(8000, 1), (44100, 2)], ids=["8k-mono", "44k1-stereo"]
)
def test_wav_sample_rates(server: Server, speech: SpeechData, rate: int, channels: int) -> None:
    """WAVs at 8 kHz mono and 44.1 kHz stereo are converted to 16 kHz mono before decoding."""
    wav = speech.wav(JFK, rate=rate, channels=channels)
    response = post_file(server, "/api/asr", "audio", f"jfk-{rate}.wav", wav)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["duration"] == pytest.approx(11.0, abs=0.1)
    speech.assert_transcript(JFK, body["text"], max_wer=0.2)


# --- bad uploads --------------------------------------------------------------------------------

MARKER = b"CASUALTY-ALPHA-7-SECRET"


def test_random_bytes_are_invalid_audio(server: Server) -> None:
    """Random bytes: 400 invalid_audio, and neither the reply nor the log echoes the upload."""
    junk = MARKER + np.random.default_rng(7).bytes(4096) + MARKER
    for route, field in (
        ("/api/asr", "audio"),
        ("/asr", "audio_file"),
        ("/v1/audio/transcriptions", "file"),
    ):
        response = post_file(server, route, field, "junk.wav", junk)
        error = assert_error(response, 400, "invalid_audio")
        assert MARKER.decode() not in response.text
        assert "\\x" not in error["message"] and len(error["message"]) < 300, error
    assert MARKER.decode() not in server.log_text()


def test_empty_upload_is_rejected(server: Server) -> None:
    """A 0-byte upload is a 400, not a crash or an empty transcript."""
    response = post_file(server, "/api/asr", "audio", "empty.wav", b"")
    assert_error(response, 400, "invalid_audio")


def test_text_file_is_rejected(server: Server) -> None:
    """A text file is a 400 invalid_audio whose message does not quote the text."""
    text = b"Patient: " + MARKER + b"\nTourniquet applied 14:02, left thigh.\n" * 20
    response = post_file(server, "/api/asr", "audio", "notes.txt", text, content_type="text/plain")
    assert_error(response, 400, "invalid_audio")
    assert MARKER.decode() not in response.text and "Tourniquet" not in response.text


def test_zero_sample_wav_is_empty_transcript(server: Server, speech: SpeechData) -> None:
    """A valid WAV with no samples gives 200 and empty text on every route."""
    empty = speech.encode_wav(np.zeros(0, dtype=np.int16), 16000, 1)
    response = post_file(server, "/api/asr", "audio", "empty.wav", empty)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "" and body["segments"] == [] and body["duration"] == 0
    response = post_file(server, "/v1/audio/transcriptions", "file", "empty.wav", empty)
    assert response.status_code == 200, response.text
    assert response.json() == {"text": ""}


def test_upload_over_limit_is_413(locked_server: Server) -> None:
    """Over --max-upload-mb: 413 both with Content-Length and chunked, and the server lives on."""
    small = locked_server  # --max-upload-mb 1
    big = os.urandom(2 * 1024 * 1024)
    response = post_file(small, "/api/asr", "audio", "big.wav", big)
    assert_error(response, 413, "upload_too_large")

    # The same multipart body sent chunked (no Content-Length): the limit applies while reading.
    multipart = httpx.Request("POST", small.base_url, files={"audio_file": ("big.wav", big)})
    body = multipart.read()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]

    chunked = httpx.post(
        f"{small.base_url}/asr",
        content=chunks(),
        headers={**small.headers, "Content-Type": multipart.headers["content-type"]},
        timeout=TIMEOUT,
    )
    assert "content-length" not in chunked.request.headers
    assert_error(chunked, 413, "upload_too_large")
    assert httpx.get(f"{small.base_url}/healthz", timeout=10).status_code == 200
    assert small.alive()


def test_audio_over_duration_limit_is_413(locked_server: Server, speech: SpeechData) -> None:
    """Audio longer than server.max_audio_s (5 s here) is refused, encoded or raw."""
    name = "ls_1089-134686-0000.flac"  # 10.4 s, well under the 1 MB upload limit
    response = post_file(locked_server, "/api/asr", "audio", name, speech.path(name).read_bytes())
    assert_error(response, 413, "audio_too_large")
    raw = speech.pcm(name).astype("<i2").tobytes()
    response = post_file(
        locked_server, "/asr", "audio_file", "long.raw", raw, params={"encode": "false"}
    )
    assert_error(response, 413, "audio_too_large")


# --- auth and exposure --------------------------------------------------------------------------


def test_token_required(locked_server: Server, speech: SpeechData) -> None:
    """With --api-token every route but /healthz and /readyz needs the bearer token."""
    locked = locked_server
    url = locked.base_url
    for path in ("/v1/models", "/metrics"):
        response = httpx.get(f"{url}{path}", timeout=10)
        assert response.status_code == 401, f"{path} without a token: {response.status_code}"
    bad = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert_error(bad, 401, "unauthorized")
    assert bad.headers.get("www-authenticate", "").lower().startswith("bearer")
    short = "ls_1089-134691-0000.flac"  # under this server's 1 MB upload limit
    no_token = httpx.post(
        f"{url}/api/asr", files={"audio": (short, speech.path(short).read_bytes())}, timeout=TIMEOUT
    )
    assert_error(no_token, 401, "unauthorized")
    with_token = post_file(locked, "/api/asr", "audio", short, speech.path(short).read_bytes())
    assert with_token.status_code == 200, with_token.text
    speech.assert_transcript(short, with_token.json()["text"], max_wer=0.25)
    good = httpx.get(f"{url}/v1/models", headers=locked.headers, timeout=10)
    assert good.status_code == 200 and good.json()["data"][0]["id"] == "tiny.en"
    for path in ("/healthz", "/readyz"):
        assert httpx.get(f"{url}{path}", timeout=10).status_code == 200, path


def test_non_loopback_without_token_refuses(server_factory: ServerFactory, tmp_path: Path) -> None:
    """`serve --host 0.0.0.0` without a token exits non-zero naming the token; --insecure starts."""
    f = server_factory
    port = f.free_port()
    try:
        proc = subprocess.run(
            f.command("--host", "0.0.0.0", "--port", str(port)),
            cwd=f.cwd,
            env=f.env(),
            capture_output=True,
            text=True,
            timeout=30,
            preexec_fn=f.die_with_parent(),
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"serve --host 0.0.0.0 without a token kept running: {exc.stderr!r}")
    assert proc.returncode != 0, proc.stderr
    assert "token" in proc.stderr.lower(), proc.stderr

    log = tmp_path / "insecure.log"
    with log.open("wb") as fh:
        insecure = subprocess.Popen(
            f.command("--host", "0.0.0.0", "--port", str(port), "--insecure"),
            cwd=f.cwd,
            env=f.env(),
            stdout=fh,
            stderr=subprocess.STDOUT,
            preexec_fn=f.die_with_parent(),
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert insecure.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"--insecure never answered:\n{log.read_text()}"
            time.sleep(0.1)
    finally:
        insecure.terminate()
        insecure.wait(timeout=20)


# --- load, metrics, privacy ---------------------------------------------------------------------


def test_busy_server_answers_503(server_factory: ServerFactory, speech: SpeechData) -> None:
    """One worker, no queue: concurrent requests get 200 or 503+Retry-After, never anything else."""
    busy = server_factory("--num-workers", "1", "--queue-size", "0")
    long_clip = speech.encode_wav(np.concatenate([speech.pcm(JFK)] * 3), 16000, 1)

    async def one(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            f"{busy.base_url}/api/asr", files={"audio": ("long.wav", long_clip)}, timeout=TIMEOUT
        )

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient() as client:
            return await asyncio.gather(*(one(client) for _ in range(4)))

    responses = asyncio.run(burst())
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses and 503 in statuses, statuses
    for response in responses:
        if response.status_code == 503:
            assert_error(response, 503, "server_busy")
            assert int(response.headers["retry-after"]) > 0
        else:
            three = " ".join([speech.reference(JFK)] * 3)
            assert speech.text_wer(three, response.json()["text"]) < 0.2
    after = post_file(busy, "/api/asr", "audio", JFK, speech.path(JFK).read_bytes())
    assert after.status_code == 200, after.text
    speech.assert_transcript(JFK, after.json()["text"], max_wer=0.15)
    metrics = httpx.get(f"{busy.base_url}/metrics", timeout=10).text
    assert metric_value(metrics, "tccc_rejected_total") >= statuses.count(503)


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` in Prometheus text."""
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.fullmatch(rf"{re.escape(name)}(\{{(.*)\}})?\s+(\S+)", line)
        if match is None:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
            found = True
    assert found, f"no {name} {labels} in metrics"
    return total


def test_metrics_and_models(server: Server, speech: SpeechData) -> None:
    """/metrics counts /api/asr requests and audio seconds; /v1/models lists tiny.en."""
    before = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    response = post_file(server, "/api/asr", "audio", JFK, speech.path(JFK).read_bytes())
    assert response.status_code == 200
    after = httpx.get(f"{server.base_url}/metrics", timeout=10)
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    ok = metric_value(text, "tccc_requests_total", route="/api/asr", status="200")
    assert ok >= 1
    if "tccc_requests_total" in before and 'route="/api/asr",status="200"' in before:
        assert ok == metric_value(before, "tccc_requests_total", route="/api/asr", status="200") + 1
    assert metric_value(text, "tccc_audio_seconds_total") >= 11.0
    assert metric_value(text, "tccc_model_loaded") == 1
    models = httpx.get(f"{server.base_url}/v1/models", timeout=10)
    assert models.status_code == 200
    body = models.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["tiny.en"]


def test_log_does_not_contain_transcripts(server: Server, speech: SpeechData) -> None:
    """At the default INFO level the server log holds no transcript text (runs last here)."""
    response = post_file(server, "/api/asr", "audio", JFK, speech.path(JFK).read_bytes())
    assert "fellow Americans" in response.json()["text"]
    log = server.log_text().lower()
    for phrase in ("fellow americans", "your country", "turnips", "mutton", "spectators"):
        assert phrase not in log, f"the server log contains transcript text {phrase!r}"
    assert "speech model tiny.en ready" in log, "unexpected log: is the server logging at all?"


# --- auth: the generated API docs -----------------------------------------------------------------


def test_token_covers_api_docs(locked_server: Server) -> None:
    """The generated API docs are routes too: with a token they are locked (or disabled)."""
    for path in ("/openapi.json", "/docs", "/redoc"):
        response = httpx.get(f"{locked_server.base_url}{path}", timeout=10)
        assert response.status_code in (401, 404), f"{path} without a token: {response.status_code}"
