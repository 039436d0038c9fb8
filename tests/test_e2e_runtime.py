"""End-to-end edge runtime: components unloaded and reloaded under `tccc serve` while a client
streams, gradual start-up, the runtime API and its metrics.

Real server process with the real tiny.en and SmolLM2 models, a real WebSocket client streaming
the bundled narration, httpx for the operator's calls.
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest
import websockets

from tccc.audio.decode import decode_audio
from tccc.bench.stt import edit_distance

if TYPE_CHECKING:
    from conftest import Server, ServerFactory

pytestmark = pytest.mark.e2e


def narration() -> np.ndarray:
    """The bundled sample narration (54 s, several utterances), 16 kHz int16."""
    data = resources.files("tccc").joinpath("data/sample_narration.ogg").read_bytes()
    return decode_audio(data)


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
                    r = await http.post(f"/v1/runtime/components/{name}/{verb}")
                    assert r.status_code == 200, r.text
                    answers.append(r.json())
                    # A one-shot request meanwhile is told to come back, never half-served.
                    if name == "speech" and verb == "unload":
                        tiny = np.zeros(1600, dtype=np.int16).tobytes()
                        busy = await http.post(
                            "/v1/audio/transcriptions",
                            files={"file": ("a.raw", tiny)},
                        )
                        assert busy.status_code in (400, 503), busy.text
            await ws.send(samples[i : i + step].tobytes())
            await asyncio.sleep(0.04)
        await ws.send(json.dumps({"type": "stop"}))
        await asyncio.wait_for(task, 240)
    return hello["id"], received, answers


def finals(events: list[dict[str, Any]]) -> list[str]:
    """The text of every final, in order."""
    return [e["text"] for e in events if e["type"] == "final"]


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
        0.7: [("llm", "load")],
    }
    sid, events, answers = asyncio.run(stream(llm_server, samples, schedule))
    assert [a["state"] for a in answers] == ["unloaded", "loaded", "unloaded", "loaded"]
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
    assert log.index("speech model tiny.en ready") < log.index("runtime: llm (start-up): loaded")
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
