"""The screens' server side without a model: cards, corrections, feeds, dashboard samples,
routes (pages, assets, sessions, confirm, correct, reports) and the vendored chart code."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tccc.analysis.incident import Incident
from tccc.config import RuntimeSettings, Settings
from tccc.errors import TcccError
from tccc.events import Evidence, Fact, LiveTranscript, Scalar, Word
from tccc.server import session_feed
from tccc.server.card_view import card_view
from tccc.server.dashboard_stream import (
    CoreLoadReader,
    DashboardSampler,
    parse_per_core,
    percentile,
)
from tccc.server.metrics import ServerMetrics
from tccc.server.service import TranscriptionService
from tccc.server.session_feed import KEPT_SESSIONS, SessionFeeds, resumed_incident
from tccc.server.session_routes import coerce_like
from tccc.server.ui_errors import UiError
from tccc.server.ui_routes import SECURITY_HEADERS, is_public, load_assets, register_ui
from tccc.store.casualty_log import CasualtyLog

REPO = Path(__file__).resolve().parents[1]
UI = REPO / "tccc" / "server" / "ui"
VENDORED = {
    "uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
    "uPlot.LICENSE": "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
}


def _fact(
    fid: int,
    kind: str,
    data: dict[str, Scalar],
    *,
    utterance: int,
    status: str = "stated",
    source: str = "rules",
    session_s: float = 10.0,
    text: str = "words",
) -> Fact:
    return Fact(
        id=fid,
        kind=kind,
        casualty="1",
        data=data,
        evidence=Evidence(utterance, 0, len(text), text, text, 1.0, 2.0, 0.3),
        status=status,
        source=source,
        session_s=session_s,
    )


def sample_facts() -> list[Fact]:
    """What the sample narration gives in the live path: the tourniquet heard unsurely."""
    return [
        _fact(1, "identity", {"field": "last_name", "value": "Walker"}, utterance=0),
        _fact(2, "time_of_injury", {"time": "1410"}, utterance=1, session_s=18.0),
        _fact(3, "injury", {"site": "left thigh", "kind": "GSW"}, utterance=1, session_s=18.0),
        _fact(
            4,
            "tourniquet",
            {"limb": "L Leg", "type": "CAT", "time": "1412", "category": "Extremity"},
            utterance=2,
            status="suggested",
            source="unsure hearing",
            session_s=26.0,
            text="CAT tourniquet on the left thigh at 1412",
        ),
        _fact(5, "vital", {"sign": "pulse", "value": 110, "location": "radial"}, utterance=3),
    ]


def _log_with(facts: list[Fact]) -> tuple[CasualtyLog, str]:
    log = CasualtyLog(":memory:")
    session = log.new_session("test")
    log.add_facts(session, facts)
    return log, session


# -- cards ------------------------------------------------------------------------------------


def _rows(view: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    card = view["casualties"][0]
    return [r for s in card["sections"] if s["kind"] == kind for r in s["rows"]]


def test_a_suggestion_is_on_the_card_unconfirmed_and_raises_no_prompt() -> None:
    view = card_view(sample_facts(), now_s=30.0)
    (tq,) = _rows(view, "tourniquet")
    assert tq["text"] == "L Leg · CAT · 1412"
    assert tq["unconfirmed"] is True and tq["fact"] == 4
    assert tq["evidence"][0]["text"] == "CAT tourniquet on the left thigh at 1412"
    assert tq["edit"] == {"limb": "L Leg", "type": "CAT", "time": "1412"}
    rules = {p["rule"] for p in view["casualties"][0]["prompts"]}
    assert "M2" not in rules
    assert view["casualties"][0]["suggestions"][0]["fact"] == 4


def test_confirm_then_correct_move_the_m2_deadline() -> None:
    log, session = _log_with(sample_facts())
    incident = resumed_incident(log, session)
    incident.confirm(4)
    view = card_view(log.facts(session), now_s=30.0)
    (m2,) = [p for p in view["casualties"][0]["prompts"] if p["rule"] == "M2"]
    assert m2["deadline"] == "1612"
    assert m2["deadline_s"] == pytest.approx(26.0 + 7200.0)
    correction = resumed_incident(log, session).correct(4, {"time": "1415"})
    assert correction.replaces == 4 and correction.source == "medic"
    assert correction.data["limb"] == "L Leg"  # fields not given are kept
    view = card_view(log.facts(session), now_s=30.0)
    (tq,) = _rows(view, "tourniquet")
    assert tq["text"] == "L Leg · CAT · 1415" and tq["corrected"] and tq["fact"] == correction.id
    (m2,) = [p for p in view["casualties"][0]["prompts"] if p["rule"] == "M2"]
    assert m2["deadline"] == "1615"


def test_correcting_a_suggestion_confirms_it_in_the_same_write() -> None:
    log, session = _log_with(sample_facts())
    incident = resumed_incident(log, session)
    correction = incident.correct(4, {"limb": "R Leg"})
    facts = log.facts(session)
    confirm = next(f for f in facts if f.kind == "confirm")
    assert confirm.data == {"fact": 4} and confirm.source == "medic"
    assert correction.id == confirm.id + 1 and correction.status == "stated"
    # Nothing was overwritten: the suggestion is still in the log as it was said.
    assert next(f for f in facts if f.id == 4).data["limb"] == "L Leg"
    (tq,) = _rows(card_view(facts, now_s=30.0), "tourniquet")
    assert tq["text"].startswith("R Leg") and not tq["unconfirmed"]


def test_correct_refuses_what_holds_no_value() -> None:
    log, session = _log_with(sample_facts())
    incident = resumed_incident(log, session)
    confirm = incident.confirm(4)
    for fact_id in (999, confirm.id):
        with pytest.raises(TcccError) as err:
            incident.correct(fact_id, {"value": 1})
        assert err.value.code == "not_correctable"
    with pytest.raises(TcccError):
        incident.correct(5, {})
    before = len(log.facts(session))
    with pytest.raises(TcccError):
        incident.correct(5, {"value": [1, 2]})  # type: ignore[dict-item]
    assert len(log.facts(session)) == before


def test_vitals_grid_names_each_cell_fact() -> None:
    view = card_view(sample_facts(), now_s=30.0)
    vitals = view["casualties"][0]["vitals"]
    assert [s["key"] for s in vitals["signs"]] == ["pulse"]
    cell = vitals["columns"][0]["cells"]["pulse"]
    assert cell["text"] == "110 radial" and cell["fact"] == 5 and cell["edit"] == {"value": 110}


def test_coerce_like_reads_typed_text_as_the_old_type() -> None:
    assert coerce_like(110, "112") == 112
    assert coerce_like(96.5, "97") == 97.0
    assert coerce_like("1412", "1415") == "1415"
    assert coerce_like("x", "  ") is None
    assert coerce_like(True, "no") is False
    with pytest.raises(UiError):
        coerce_like(110, "fast")


# -- the feed hub ----------------------------------------------------------------------------


@pytest.fixture
def no_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Feeds neither poll the log nor beat: what they send after their first state was woken."""
    monkeypatch.setattr(session_feed, "POLL_S", 3600.0)
    monkeypatch.setattr(session_feed, "IDLE_POLL_S", 3600.0)
    monkeypatch.setattr(session_feed, "HEARTBEAT_S", 3600.0)


@pytest.mark.usefixtures("no_polling")
def test_feed_sends_state_then_wakes_on_a_change() -> None:
    log, session = _log_with(sample_facts())
    feeds = SessionFeeds(log)

    async def scenario() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        stop = asyncio.Event()
        subscribed = asyncio.Event()
        stream = feeds.feed(session, stop.is_set)

        async def read() -> None:
            async for event in stream:
                got.append(event)
                subscribed.set()  # the feed sends its first state once it is subscribed
                if len([e for e in got if e["type"] == "state"]) == 2:
                    stop.set()
                    return

        reader = asyncio.create_task(read())
        await asyncio.wait_for(subscribed.wait(), 10)
        await asyncio.to_thread(resumed_incident(log, session).confirm, 4)
        feeds.changed(session)
        # Woken, not polled: without the wake the feed would not read the log for an hour.
        await asyncio.wait_for(reader, 10)
        await stream.aclose()
        return got

    events = asyncio.run(scenario())
    states = [e for e in events if e["type"] == "state"]
    assert states[0]["facts"] == 5 and states[1]["facts"] == 6
    assert states[1]["session"]["live"] is True
    assert feeds.subscribers() == 0


def test_a_live_session_is_timed_from_speech_end_to_card() -> None:
    log = CasualtyLog(":memory:")
    session = log.new_session("websocket")
    feeds = SessionFeeds(log)
    feeds.opened(session, "websocket", None)
    for _ in range(20):  # two seconds of audio, 100 ms a push
        feeds.audio(session, 1600)
    final = LiveTranscript(
        kind="final",
        utterance_id=0,
        start=0.2,
        end=1.9,
        committed="pulse 110",
        words=(Word("pulse", 0.2, 0.8, 0.9), Word("110", 0.9, 1.5, 0.9)),
        emitted_at=time.monotonic(),
    )
    feeds.event(session, final, n_facts=1)
    (timing,) = feeds.timings
    assert timing.speech_end <= timing.final <= timing.facts
    stages = timing.stages_ms()
    assert stages["card_ms"] is None and stages["total_ms"] is not None
    assert feeds.is_live_here(session) and feeds.live_ids() == [session]
    feeds.closed(session)
    assert not feeds.is_live_here(session)


@pytest.mark.usefixtures("no_polling")
def test_partials_reach_the_feed_without_reading_the_log() -> None:
    log, session = _log_with(sample_facts())
    feeds = SessionFeeds(log)
    reads = 0
    read = feeds._read

    def counting(session_id: str) -> dict[str, Any] | None:
        nonlocal reads
        reads += 1
        return read(session_id)

    feeds._read = counting  # type: ignore[method-assign]
    partial = LiveTranscript(kind="partial", utterance_id=3, start=0.0, end=1.0, committed="pul")

    async def scenario() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        stop = asyncio.Event()
        subscribed = asyncio.Event()
        stream = feeds.feed(session, stop.is_set)

        async def read_events() -> None:
            async for event in stream:
                got.append(event)
                subscribed.set()  # the feed sends its first state once it is subscribed
                if event["type"] == "partial" and event["committed"] == "pulse 11":
                    stop.set()
                    return

        reader = asyncio.create_task(read_events())
        await asyncio.wait_for(subscribed.wait(), 10)
        for text in ("pul", "pulse", "pulse 11"):
            feeds.event(session, replace(partial, committed=text))
            await asyncio.sleep(0.05)
        await asyncio.wait_for(reader, 10)
        await stream.aclose()
        return got

    events = asyncio.run(scenario())
    assert [e["committed"] for e in events if e["type"] == "partial"] == [
        "pul",
        "pulse",
        "pulse 11",
    ]
    assert reads == 1  # the state once; partials change nothing in the log


def test_ended_sessions_are_forgotten_oldest_first_live_ones_never() -> None:
    feeds = SessionFeeds(CasualtyLog(":memory:"))
    feeds.opened("live", "wyoming", None)
    for n in range(KEPT_SESSIONS + 5):
        feeds.opened(f"s{n}", "websocket", None)
        feeds.closed(f"s{n}")
    feeds.opened("last", "websocket", None)
    assert feeds.is_live_here("live") and feeds.is_live_here("last")
    assert feeds.incident("s0") is None and "s0" not in feeds._live
    assert len(feeds._live) == KEPT_SESSIONS


# -- the dashboard sampler ---------------------------------------------------------------------


def test_parse_per_core_and_percentile() -> None:
    text = "cpu 10 0 10 80 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0\nintr 1\n"
    cores = parse_per_core(text)
    assert [c.busy for c in cores] == [10, 10] and [c.total for c in cores] == [50, 50]
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)


def test_core_reader_needs_two_readings(tmp_path: Path) -> None:
    stat = tmp_path / "proc" / "stat"
    stat.parent.mkdir()
    stat.write_text("cpu0 5 0 5 40 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0\n")
    reader = CoreLoadReader(tmp_path)
    shares, why = reader.read()
    assert shares is None and "two" in (why or "")
    stat.write_text("cpu0 15 0 5 50 0 0 0 0\ncpu1 5 0 5 60 0 0 0 0\n")
    shares, why = reader.read()
    assert why is None and shares == [pytest.approx(0.5), pytest.approx(0.0)]
    assert CoreLoadReader(tmp_path / "nowhere").read()[0] is None


class _NoModel:
    """Stands in for the speech model: the screens' routes never decode."""

    model_name = "none"


def _service() -> TranscriptionService:
    return TranscriptionService(
        _NoModel(),  # type: ignore[arg-type]
        num_workers=1,
        queue_size=1,
        metrics=ServerMetrics(),
    )


def test_a_value_that_cannot_be_read_is_null_with_its_reason(tmp_path: Path) -> None:
    # An empty tree: no thermal zones, power rails or GPU load node.
    settings = Settings(runtime=RuntimeSettings(sysfs_root=str(tmp_path)))
    feeds = SessionFeeds(CasualtyLog(":memory:"))
    sampler = DashboardSampler(settings, _service(), None, feeds)
    sample = sampler.take()
    assert sample["thermal"]["zones"] == [] and sample["thermal"]["reason"]
    assert sample["power"]["rails"] == [] and "INA3221" in sample["power"]["reason"]
    assert sample["power"]["battery_h"] is None and sample["power"]["battery_reason"]
    assert sample["gpu"]["share"] is None and sample["gpu"]["reason"]
    assert sample["latency"]["p50_ms"] is None and sample["latency"]["reason"]
    assert sample["rtf"]["value"] is None and sample["rtf"]["reason"]
    assert sample["memory"]["rss_mb"] > 0
    assert sample["memory"]["budget_mb"] is None and sample["memory"]["budget_reason"]
    json.dumps(sample)  # plain data


def test_jetson_tree_fills_the_heat_and_power_charts() -> None:
    tree = REPO / "tests" / "fixtures" / "jetson" / "orin-nano"
    settings = Settings(runtime=RuntimeSettings(sysfs_root=str(tree)))
    sampler = DashboardSampler(settings, _service(), None, SessionFeeds(CasualtyLog(":memory:")))
    sample = sampler.take()
    assert {z["name"] for z in sample["thermal"]["zones"]} >= {"cpu-thermal", "gpu-thermal"}
    assert {"kind": "passive", "temp_c": 99.0} in sample["thermal"]["trips"]
    assert sample["thermal"]["offline"]  # the CV sensors read -256 °C: offline, not a value
    rails = {r["name"]: r["w"] for r in sample["power"]["rails"]}
    assert rails["VDD_IN"] == pytest.approx(5.056 * 1.25, abs=0.01)
    assert sample["gpu"]["share"] is not None


# -- routes in process --------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[tuple[TestClient, CasualtyLog, SessionFeeds, str]]:
    log, session = _log_with(sample_facts())
    log.end_session(session, {})
    feeds = SessionFeeds(log)
    app = FastAPI()
    register_ui(app, service=_service(), settings=Settings(), log=log, runtime=None, feeds=feeds)
    with TestClient(app) as test_client:
        yield test_client, log, feeds, session


def test_pages_and_assets_are_static_with_a_strict_policy(
    client: tuple[TestClient, CasualtyLog, SessionFeeds, str],
) -> None:
    http, *_ = client
    for path in ("/", "/dashboard", "/ui/medic.js", "/ui/vendor/uPlot.iife.min.js"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert is_public(path)
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value
    assert "connect-src 'self'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert http.get("/ui/medic.js").headers["content-type"].startswith("text/javascript")
    missing = http.get("/ui/../http_app.py")
    assert missing.status_code == 404
    assert http.get("/ui/nothing.js").json()["error"]["code"] == "not_found"
    assert not is_public("/v1/sessions") and not is_public("/dashboards")


def test_sessions_feed_confirm_correct_and_reports(
    client: tuple[TestClient, CasualtyLog, SessionFeeds, str],
) -> None:
    http, log, _feeds, session = client
    listed = http.get("/v1/sessions").json()["sessions"]
    assert listed[0]["id"] == session and listed[0]["live"] is False
    state = http.get(f"/v1/sessions/{session}/feed").json()
    assert state["type"] == "state" and state["casualties"][0]["label"] == "1"
    assert http.get(f"/v1/sessions/{session}/feed").headers["cache-control"] == "no-store"

    confirmed = http.post(f"/v1/sessions/{session}/facts/4/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["fact"]["kind"] == "confirm"
    again = http.post(f"/v1/sessions/{session}/facts/4/confirm")  # a double tap
    assert again.status_code == 200 and again.json()["already"] is True
    stated = http.post(f"/v1/sessions/{session}/facts/1/confirm")
    assert stated.status_code == 409 and stated.json()["error"]["code"] == "not_suggested"

    corrected = http.post(
        f"/v1/sessions/{session}/facts/5/correct", json={"data": {"value": "112"}}
    )
    assert corrected.status_code == 200, corrected.text
    fact = corrected.json()["fact"]
    assert fact["data"]["value"] == 112 and fact["replaces"] == 5 and fact["source"] == "medic"
    bad = http.post(f"/v1/sessions/{session}/facts/5/correct", json={"data": {"value": "x"}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_value"
    missing = http.post(f"/v1/sessions/{session}/facts/77/correct", json={"data": {"value": 1}})
    assert missing.json()["error"]["code"] == "no_fact"
    kinds = [f.kind for f in log.facts(session)]
    assert kinds.count("confirm") == 1 and len(kinds) == 7

    pdf = http.get(f"/v1/sessions/{session}/report/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    assert pdf.headers["cache-control"] == "no-store"
    fhir = http.get(f"/v1/sessions/{session}/report/fhir").json()
    assert fhir["resourceType"] == "Bundle"
    nine = http.get(f"/v1/sessions/{session}/report/nine-line").text
    assert "LINE 1" in nine.upper()
    assert "MIST" in http.get(f"/v1/sessions/{session}/report/mist").text.upper()
    assert http.get(f"/v1/sessions/{session}/report/exe").status_code == 422

    unknown = http.get("/v1/sessions/abc123/feed")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "no_session"
    assert http.get("/v1/sessions/NOT-HEX/feed").status_code == 422


ADVERSARIAL_CORRECTIONS: list[tuple[int, dict[str, Any], int]] = [
    # (fact, fields, expected status): anything a hurried medic or a hostile client may send.
    (4, {"time": "14:15"}, 200),  # read as 1415
    (4, {"time": 1416}, 200),
    (4, {"time": "2599"}, 422),
    (4, {"time": 99999}, 422),
    (4, {"time": "soon"}, 422),
    (4, {"time": True}, 422),
    (4, {"limb": "L Arm"}, 200),
    (4, {"limb": 7}, 200),  # words on the card: kept as typed, as words
    (4, {"limb": "x" * 81}, 422),
    (4, {"category": "Junctional"}, 422),  # not a field the card lets the medic correct
    (5, {"sign": "bp"}, 422),
    (5, {"value": True}, 422),
    (5, {"value": 1e308}, 200),
    (5, {"value": "-5"}, 200),
    (5, {"value": "lots"}, 422),
    (5, {"__proto__": 1}, 422),
    (3, {"site": ""}, 200),  # clears it
    (2, {"time": ""}, 200),
]


def test_hand_corrections_of_any_shape_are_stored_sound_or_refused(
    client: tuple[TestClient, CasualtyLog, SessionFeeds, str],
) -> None:
    http, log, _feeds, session = client
    for fact_id, fields, status in ADVERSARIAL_CORRECTIONS:
        before = len(log.facts(session))
        # Correct the value standing now (a correction replaces the last one).
        chain = {f.replaces: f.id for f in log.facts(session) if f.replaces is not None}
        current = fact_id
        while current in chain:
            current = chain[current]
        response = http.post(
            f"/v1/sessions/{session}/facts/{current}/correct", json={"data": fields}
        )
        assert response.status_code == status, (fields, response.text)
        if status != 200:
            body = response.json()["error"]
            assert body["code"] in ("bad_value", "bad_field")
            assert "soon" not in body["message"] and "lots" not in body["message"]
            assert len(log.facts(session)) == before  # nothing stored
        # Whatever was stored, every report and the card still come out.
        for name in ("pdf", "fhir", "nine-line", "mist", "zmist", "dd1380-json", "text"):
            report = http.get(f"/v1/sessions/{session}/report/{name}")
            assert report.status_code == 200, (fields, name, report.text[:200])
        assert http.get(f"/v1/sessions/{session}/feed").status_code == 200
    stored = {f.id: f for f in log.facts(session)}
    times = [f.data["time"] for f in stored.values() if f.kind == "tourniquet"]
    assert "1415" in times and "1416" in times
    assert all(t is None or (len(t) == 4 and t.isdigit()) for t in times)


def test_a_session_another_process_is_writing_cannot_be_edited() -> None:
    log, session = _log_with(sample_facts())  # not ended, not this process's
    app = FastAPI()
    register_ui(
        app,
        service=_service(),
        settings=Settings(),
        log=log,
        runtime=None,
        feeds=SessionFeeds(log),
    )
    with TestClient(app) as http:
        response = http.post(f"/v1/sessions/{session}/facts/4/confirm")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_busy"


def test_edits_of_a_live_session_go_through_its_own_analysis() -> None:
    log, session = _log_with(sample_facts())
    feeds = SessionFeeds(log)
    incident = Incident.resume(log, session)
    feeds.opened(session, "websocket", incident)
    app = FastAPI()
    register_ui(app, service=_service(), settings=Settings(), log=log, runtime=None, feeds=feeds)
    with TestClient(app) as http:
        assert http.post(f"/v1/sessions/{session}/facts/4/confirm").status_code == 200
    # The live analysis knows the new fact, so its next id does not collide with it.
    assert incident.analyzer.next_id == 7
    assert [f.kind for f in incident.stated_facts()][-1] == "confirm"


def test_dashboard_json_and_openapi(
    client: tuple[TestClient, CasualtyLog, SessionFeeds, str],
) -> None:
    http, *_ = client
    sample = http.get("/v1/dashboard/stream").json()
    assert sample["type"] == "sample" and "latency" in sample and "cost" in sample
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/",
        "/dashboard",
        "/ui/{name}",
        "/v1/sessions",
        "/v1/sessions/{session_id}/feed",
        "/v1/sessions/{session_id}/facts/{fact_id}/confirm",
        "/v1/sessions/{session_id}/facts/{fact_id}/correct",
        "/v1/sessions/{session_id}/report/{name}",
        "/v1/dashboard/stream",
    ):
        assert path in paths, path
    feed = paths["/v1/sessions/{session_id}/feed"]["get"]["responses"]
    assert "text/event-stream" in feed["200"]["content"]
    assert feed["404"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")


# -- the assets ---------------------------------------------------------------------------------


def test_vendored_chart_code_is_the_pinned_release_with_its_licence() -> None:
    for name, digest in VENDORED.items():
        data = (UI / "vendor" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert (
        (UI / "vendor" / "uPlot.iife.min.js")
        .read_bytes()
        .startswith(b"/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    )
    assert "MIT License" in (UI / "vendor" / "uPlot.LICENSE").read_text()
    assert "1.6.32" in (UI / "vendor" / "README.md").read_text()


def test_own_assets_name_no_outside_address() -> None:
    outside = re.compile(r"\b(?:https?:)?//(?!/)[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
    for path in UI.glob("*.*"):
        text = path.read_text(encoding="utf-8")
        assert not outside.search(text), (path.name, outside.search(text))
        assert "style=" not in text or path.suffix != ".html", path.name  # the CSP refuses it


def test_package_data_ships_every_asset() -> None:
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["tccc"]
    package = REPO / "tccc"
    shipped = {p for g in globs for p in package.glob(g)}
    for path in UI.rglob("*"):
        if path.is_file():
            assert path in shipped, f"{path.relative_to(REPO)} is not in package-data"
    assert set(load_assets()) >= {"index.html", "dashboard.html", "vendor/uPlot.iife.min.js"}
