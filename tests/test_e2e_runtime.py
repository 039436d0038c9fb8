"""End-to-end edge runtime: components unloaded and reloaded under `tccc serve` while a client
streams, gradual start-up, the runtime API and its metrics.

Real server process with the real tiny.en and SmolLM2 models, a real WebSocket client streaming
the bundled narration, httpx for the operator's calls.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import wave
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest
import websockets

from tccc.audio.decode import decode_audio
from tccc.bench.stt import edit_distance
from tccc.store.casualty_log import CasualtyLog

if TYPE_CHECKING:
    from conftest import Server, ServerFactory

pytestmark = pytest.mark.e2e

LONG_TIMEOUT_S = 600
"""pytest's limit for the tests that start a server and stream the narration (300 s by default):
on a slow, loaded machine the language model alone may take minutes to catch up."""
KILL_AT_S = 28.0
"""Where the kill -9 test stops the narration: in the pause after the tourniquet sentence (it
ends at 26.6 s, the next starts at 28.2 s), so the facts checked were all said in full."""


def narration() -> np.ndarray:
    """The bundled sample narration (54 s, several utterances), 16 kHz int16."""
    data = resources.files("tccc").joinpath("data/sample_narration.ogg").read_bytes()
    return decode_audio(data)


def wav_of(samples: np.ndarray) -> bytes:
    """16 kHz mono 16-bit WAV bytes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def llm_server(server_factory: ServerFactory) -> Server:
    """A server with the language-model stage on live sessions."""
    return server_factory("--llm")


async def stream(
    server: Server,
    samples: np.ndarray,
    at: dict[float, list[tuple[str, str]]] | None = None,
) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Stream `samples` over /v1/stream at 5x real time; at each fraction of the audio in `at`,
    POST the operator calls given (component, load|unload). Returns the session id, the events
    and the answers to the calls."""
    uri = f"ws://{server.host}:{server.port}/v1/stream"
    received: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    pending = sorted((at or {}).items())
    step = 3200
    async with (
        websockets.connect(uri) as ws,
        httpx.AsyncClient(base_url=server.base_url, timeout=120) as http,
    ):
        hello = json.loads(await ws.recv())

        async def reader() -> None:
            async for message in ws:
                received.append(json.loads(message))

        task = asyncio.create_task(reader())
        for i in range(0, samples.size, step):
            while pending and i >= pending[0][0] * samples.size:
                for name, verb in pending.pop(0)[1]:
                    if verb == "state":  # where the component stands now, by the runtime
                        found = (await http.get("/v1/runtime")).json()["components"]
                        answers.append(next(c for c in found if c["name"] == name))
                        continue
                    r = await http.post(f"/v1/runtime/components/{name}/{verb}")
                    assert r.status_code == 200, r.text
                    answers.append(r.json())
                    # A one-shot request meanwhile is told to come back, never half-served.
                    if name == "speech" and verb == "unload":
                        clip = wav_of(samples[: 16000 * 2])
                        busy = await http.post(
                            "/v1/audio/transcriptions", files={"file": ("a.wav", clip)}
                        )
                        assert busy.status_code == 503, busy.text
                        assert busy.headers["retry-after"]
            await ws.send(samples[i : i + step].tobytes())
            await asyncio.sleep(0.04)
        await ws.send(json.dumps({"type": "stop"}))
        await asyncio.wait_for(task, 240)
    return hello["id"], received, answers


def finals(events: list[dict[str, Any]]) -> list[str]:
    """The text of every final, in order."""
    return [e["text"] for e in events if e["type"] == "final"]


@pytest.mark.timeout(LONG_TIMEOUT_S)
def test_unload_and_reload_while_streaming_loses_no_utterance(llm_server: Server) -> None:
    """Speech and language models go away and come back mid-stream: every utterance is still
    transcribed, stored and analysed, as in an undisturbed run of the same audio."""
    samples = narration()
    _sid, calm, _ = asyncio.run(stream(llm_server, samples))
    baseline = finals(calm)
    assert len(baseline) >= 5, baseline

    schedule = {
        0.25: [("speech", "unload")],
        0.35: [("speech", "load"), ("llm", "unload")],
        0.65: [("llm", "state")],  # an operator's unload holds: the runtime does not undo it
        0.7: [("llm", "load")],
    }
    sid, events, answers = asyncio.run(stream(llm_server, samples, schedule))
    states = [a["state"] for a in answers]
    assert states == ["unloaded", "loaded", "unloaded", "unloaded", "loaded"], answers
    disturbed = finals(events)
    assert len(disturbed) == len(baseline), (baseline, disturbed)
    # Decoding is deterministic per utterance, so the words are those of the calm run, give or
    # take what a different partial timing changes at the edges of a final.
    ref, hyp = " ".join(baseline).split(), " ".join(disturbed).split()
    assert edit_distance(ref, hyp) <= 0.1 * len(ref), (baseline, disturbed)
    assert events[-1]["type"] == "done"

    # Every final is in the session log, and the casualty record was built from them.
    with httpx.Client(base_url=llm_server.base_url, timeout=30) as http:
        deadline = time.monotonic() + 180  # the model catches up after the last transcript
        while "llm" not in ((session := http.get(f"/v1/sessions/{sid}").json())["stats"] or {}):
            assert time.monotonic() < deadline, session["stats"]
            time.sleep(0.5)
        assert len(session["transcripts"]) == len(disturbed)
        record = http.get(f"/v1/sessions/{sid}/record").json()
        runtime = http.get("/v1/runtime").json()
    casualty = record["casualties"][0]
    assert casualty["tourniquets"], casualty
    assert casualty["medications"], casualty
    llm = session["stats"]["llm"]
    assert llm["submitted"] == len(disturbed)
    assert llm["done"] + llm["skipped"] + llm["dropped"] + llm["failed"] == llm["submitted"]
    assert llm["done"] >= 1, llm  # the model worked before and after its absence

    components = {c["name"]: c for c in runtime["components"]}
    assert components["speech"]["unloads"] >= 1 and components["speech"]["loads"] >= 2
    assert components["llm"]["unloads"] >= 1 and components["llm"]["loads"] >= 2
    assert components["llm"]["state"] == "loaded" and components["speech"]["state"] == "loaded"
    assert components["llm"]["freed_mb"] is not None
    operator = [e for e in runtime["events"] if e["reason"] == "operator"]
    assert {e["action"] for e in operator} >= {"speech", "llm"}


def test_gradual_start_and_runtime_api(llm_server: Server) -> None:
    """Speech loads first, then the language model; both are measured and exported."""
    with httpx.Client(base_url=llm_server.base_url, timeout=30) as http:
        runtime = http.get("/v1/runtime").json()
        metrics = http.get("/metrics").text
    loads = [e["action"] for e in runtime["events"] if e["result"].startswith("loaded")]
    assert loads.index("speech") < loads.index("llm")
    log = llm_server.log_text()
    assert log.index("speech model tiny.en ready") < log.index("runtime: llm (")
    components = {c["name"]: c for c in runtime["components"]}
    assert components["llm"]["measured_mb"] > 50  # SmolLM2's weights and context
    assert runtime["telemetry"]["process_rss_mb"] > 100
    assert runtime["monitoring"]["samples"] >= 1
    assert 'tccc_runtime_component_loaded{component="llm"} 1.0' in metrics
    assert "tccc_runtime_sample_seconds_count" in metrics


def test_component_calls_are_checked(llm_server: Server) -> None:
    """Unknown components are 404; the VAD, shared by every stream, cannot be unloaded."""
    with httpx.Client(base_url=llm_server.base_url, timeout=30) as http:
        assert http.post("/v1/runtime/components/nope/unload").status_code == 404
        assert http.post("/v1/runtime/components/vad/unload").status_code == 409
        assert http.post("/v1/runtime/components/llm/explode").status_code == 422


@pytest.mark.timeout(LONG_TIMEOUT_S)
def test_heat_read_from_the_board_degrades_the_real_server(
    server_factory: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A thermal zone climbing towards its trip point, read by the server's own thermal reader:
    work is reduced, then new streams are refused (a clear, retryable refusal); the server
    keeps serving what it had."""
    from tccc.bench.soak import write_zone

    root = tmp_path_factory.mktemp("hot-board")
    write_zone(root, 50.0)
    server = server_factory(
        "--no-llm",
        env={"TCCC_RUNTIME_SYSFS_ROOT": str(root), "TCCC_RUNTIME_INTERVAL_S": "0.2"},
    )

    def state() -> dict[str, Any]:
        return dict(httpx.get(f"{server.base_url}/v1/runtime", timeout=10).json())

    temp = 50.0
    deadline = time.monotonic() + 60
    while state()["state"]["heat_step"] < 2:
        assert time.monotonic() < deadline, state()
        temp = min(84.0, temp + 2.0)  # a steep climb: the trend acts before the trip point
        write_zone(root, temp)
        time.sleep(0.25)
    snapshot = state()
    assert snapshot["state"]["beam_size"] == 1 and snapshot["state"]["partial_scale"] == 2.0
    assert not snapshot["state"]["accepting_streams"]
    assert snapshot["telemetry"]["throttle_c"] == 85.0
    actions = [e["action"] for e in snapshot["events"]]
    assert actions.index("reduce_work") < actions.index("refuse_new_streams")

    async def refused() -> tuple[int | None, dict[str, Any]]:
        uri = f"ws://{server.host}:{server.port}/v1/stream"
        async with websockets.connect(uri) as ws:
            message = json.loads(await ws.recv())
            await ws.wait_closed()
        return ws.close_code, message

    code, message = asyncio.run(refused())
    assert code == 1013 and message["code"] == "server_busy", (code, message)
    assert "too hot" in message["message"]
    # One-shot transcription still works on the hot board.
    r = httpx.post(
        f"{server.base_url}/v1/audio/transcriptions",
        files={"file": ("a.wav", wav_of(narration()[: 16000 * 3]))},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["text"].strip()


@pytest.mark.timeout(LONG_TIMEOUT_S)
def test_server_casualty_records_survive_kill_9(tmp_path: Path) -> None:
    """A live session's transcripts and facts are on disk as they are acknowledged: after
    `kill -9` the casualty log holds every final the client received, with its facts."""
    from conftest import start_server

    db = tmp_path / "casualties.db"
    server = start_server(tmp_path, "--no-llm", env={"TCCC_DB": str(db)})
    try:
        sid, events, _ = asyncio.run(stream(server, narration()[: int(16000 * KILL_AT_S)]))
    finally:
        server.process.kill()
        server.process.wait()
    received = finals(events)
    assert received
    log = CasualtyLog(db)
    session = log.session(sid)
    assert session is not None
    assert [t["text"] for t in session["transcripts"]] == received
    kinds = {f.kind for f in log.facts(sid)}
    assert {"tourniquet", "injury"} <= kinds, kinds
