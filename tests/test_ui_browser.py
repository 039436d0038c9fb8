"""The medic's page and the operator's dashboard in a real browser against a real `tccc serve`.

Debian's chromium driven by Playwright, its microphone a WAV of the bundled sample narration
(`--use-file-for-fake-audio-capture`). One narration is spoken into the page, at real-time
pace, while a second page attaches to the session and the dashboard watches; the tests then
check the card, the prompts, confirm and correct through the page (and in the casualty log),
the dashboard's charts, that nothing was asked of any other host, and that a dropped server
is reconnected to and resynced. A server with an API token checks the token is asked for
once and sent. Screenshots are kept under the test's tmp dir and copied to /tmp/ui-shots/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import httpx
import numpy as np
import pytest
from conftest import READY_TIMEOUT_S, REPO_ROOT, Server, free_port, serve_command, server_env

from tccc.analysis.clock import live_facts
from tccc.analysis.record import confirmed_ids
from tccc.store.casualty_log import CasualtyLog
from tccc.subprocesses import die_with_parent

if TYPE_CHECKING:
    from conftest import ServerFactory
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/ui-shots")
SAMPLE = REPO_ROOT / "tccc" / "data" / "sample_narration.ogg"
JETSON_TREE = REPO_ROOT / "tests" / "fixtures" / "jetson" / "orin-nano"
WAV_RATE = 48000
LEAD_S, TAIL_S = 1.0, 3.0
"""Silence before and after the narration in the microphone's WAV."""
LAST_UTTERANCE_S = 45.0
"""The last paragraph of the narration starts after this (sample_narration.txt)."""
CHARTS = ("chart-latency", "chart-memory", "chart-cpu-gpu", "chart-temperature", "chart-power")
TOKEN = "ui-secret-token"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def needs_chromium() -> None:
    """Skip (with the reason) where Debian's chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium (make test does, as root)")


def microphone_wav(folder: Path) -> Path:
    """The sample narration as a 16-bit 48 kHz WAV, with silence around it."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=WAV_RATE)
    parts: list[np.ndarray] = []
    with av.open(str(SAMPLE)) as container:
        for frame in container.decode(audio=0):
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
    parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    silence = [np.zeros(int(s * WAV_RATE), np.int16) for s in (LEAD_S, TAIL_S)]
    pcm = np.concatenate([silence[0], *parts, silence[1]]).astype("<i2")
    path = folder / "narration.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WAV_RATE)
        out.writeframes(pcm.tobytes())
    return path


@dataclass
class Restartable:
    """A `tccc serve` on a fixed port and casualty log, so it can be stopped and started."""

    folder: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    server: Server | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:port"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        """The casualty log the server writes."""
        return Path(self.env["TCCC_DB"])

    def start(self) -> Server:
        """Start it and wait for /readyz."""
        self.starts += 1
        log_path = self.folder / f"ui-server-{self.port}-{self.starts}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                serve_command("--host", "127.0.0.1", "--port", str(self.port)),
                cwd=REPO_ROOT,
                env=server_env(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),
            )
        self.server = Server("127.0.0.1", self.port, log_path, process)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.server.alive():
                pytest.fail(f"tccc serve exited early:\n{self.server.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2.0).status_code == 200:
                    return self.server
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.server.stop()
        pytest.fail(f"tccc serve was not ready:\n{self.server.log_tail()}")

    def stop(self) -> int:
        """SIGTERM; the exit status (0 or -15 is clean)."""
        assert self.server is not None
        return self.server.stop()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restartable]:
    """The server the browser talks to: the recorded Orin Nano tree stands in for the board's
    sysfs (so temperatures and power rails have values), with a 100 Wh battery."""
    needs_chromium()
    folder = tmp_path_factory.mktemp("ui-server")
    env = {
        "TCCC_DB": str(folder / "casualties.db"),
        "TCCC_RUNTIME_SYSFS_ROOT": str(JETSON_TREE),
        "TCCC_RUNTIME_BATTERY_WH": "100",
    }
    server = Restartable(folder, env)
    server.start()
    yield server
    status = server.stop()
    log = server.server.log_text() if server.server else ""
    assert status in (0, -15), f"unclean exit {status}:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Page, str], Path]:
    """Takes a full-page screenshot into the test's tmp dir and copies it to /tmp/ui-shots/."""
    folder = tmp_path_factory.mktemp("ui-shots")
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top, where it belongs
        page.screenshot(path=str(path), full_page=True)
        shutil.copy(path, SHOTS / path.name)
        return path

    return shot


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile and the narration as its microphone (played once)."""
    needs_chromium()
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("chromium")
    wav = microphone_wav(folder)
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(folder / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=args,
            viewport={"width": 1280, "height": 900},
        )
        browser.set_default_timeout(15000)
        yield browser
        browser.close()


def wait_for(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    seen: Callable[[], object] | None = None,
) -> None:
    """Poll `condition` until true (fail with `what`, and what `seen` says, after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    detail = f" (saw {seen()!r})" if seen is not None else ""
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")


def hold(page: Page, target: Locator, ms: int = 1600) -> None:
    """Press and hold (the hold-to-confirm buttons)."""
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


def final_starts(page: Page) -> list[float]:
    """Start times (s) of the final transcript lines on the page."""
    starts = []
    for text in page.locator("#transcript .line.final .t").all_inner_texts():
        minutes, seconds = text.strip().split(":")
        starts.append(int(minutes) * 60 + int(seconds))
    return starts


def card_values(page: Page) -> list[str]:
    """Every value on the casualty cards, as shown."""
    return [
        " ".join(t.split())
        for t in page.locator("[data-testid=casualty-card] [data-testid=value]").all_inner_texts()
    ]


@dataclass
class Narration:
    """The narration spoken into the page, and what the pages saw."""

    base_url: str
    page: Page
    attached: Page
    dashboard: Page
    session_id: str
    requests: list[str]
    sockets: list[str]
    errors: list[str]
    metrics: dict[str, list[dict[str, float]]]


@pytest.fixture(scope="module")
def narration(
    ui_server: Restartable, context: BrowserContext, shots: Callable[[Page, str], Path]
) -> Narration:
    """Speak the sample narration into the medic's page (real time, about a minute)."""
    base = ui_server.base_url
    requests: list[str] = []
    sockets: list[str] = []
    errors: list[str] = []
    context.on("request", lambda r: requests.append(r.url))

    def watch(page: Page) -> Page:
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    dashboard = watch(context.new_page())
    dashboard.goto(f"{base}/dashboard")
    page = watch(context.new_page())
    page.goto(f"{base}/")
    page.get_by_test_id("start-session").click()
    wait_for(lambda: "Recording" in page.get_by_test_id("status").inner_text(), 15, "recording")
    wait_for(lambda: len(final_starts(page)) >= 3, 60, "three final transcripts")
    session_id = page.evaluate("window.tccc.session")
    # Another device attaches to the running session from the session list.
    attached = watch(context.new_page())
    attached.goto(f"{base}/")
    attached.get_by_test_id("attach").click()
    attached.locator(f"[data-testid=session-row][data-session='{session_id}']").click()
    page.bring_to_front()  # the medic's own screen is the one in front
    shots(page, "medic-recording")
    wait_for(
        lambda: any(s >= LAST_UTTERANCE_S for s in final_starts(page)),
        75,
        "the last utterance's final transcript",
    )
    page.wait_for_timeout(1500)
    hold(page, page.get_by_test_id("stop-session"))
    status = page.get_by_test_id("status")
    wait_for(lambda: "Ended" in status.inner_text(), 30, "the end", lambda: status.inner_text())
    metrics = page.evaluate("window.tccc.metrics")
    return Narration(
        base, page, attached, dashboard, session_id, requests, sockets, errors, metrics
    )


def correct_through_page(page: Page, value: Locator, fields: dict[str, str]) -> None:
    """Open a value's evidence, then its correction, type the fields and save."""
    value.click()
    dialog = page.get_by_test_id("evidence-dialog")
    dialog.get_by_test_id("evidence-correct").click()
    form = page.get_by_test_id("correct-dialog")
    for key, text in fields.items():
        form.get_by_test_id(f"correct-{key}").fill(text)
    form.get_by_test_id("correct-save").click()


def log_facts(ui_server: Restartable, session_id: str) -> list[Any]:
    """The session's facts as the server's casualty log holds them."""
    log = CasualtyLog(ui_server.db)
    try:
        return log.facts(session_id)
    finally:
        log.close()


def tourniquets(page: Page) -> Locator:
    """The tourniquets' values on the first card."""
    card = page.get_by_test_id("casualty-card").first
    return card.locator("[data-testid=value][data-kind=tourniquet]")


def tourniquet(page: Page) -> Locator:
    """The CAT tourniquet's value on the first card."""
    return tourniquets(page).filter(has_text="CAT")


def unconfirmed_suggestions(ui_server: Restartable, session_id: str) -> dict[int, str]:
    """The session's suggestions (values heard unsurely, or a model's) still in force and not
    confirmed, as the casualty log holds them: {fact id: kind}."""
    facts = log_facts(ui_server, session_id)
    confirmed = confirmed_ids(facts)
    return {
        f.id: f.kind for f in live_facts(facts) if f.status == "suggested" and f.id not in confirmed
    }


def fact_ids(items: Locator) -> list[int]:
    """The fact ids (data-fact) of the elements `items` finds now."""
    found = items.evaluate_all("els => els.map((e) => e.dataset.fact || '')")
    return [int(f) for f in found if f]


# -- the tests, in the order a medic would go --------------------------------------------------


def test_card_shows_the_left_leg_cat_and_its_m2_clock(
    narration: Narration, ui_server: Restartable, shots: Callable[[Page, str], Path]
) -> None:
    page = narration.page
    assert not narration.errors, narration.errors
    assert page.get_by_test_id("casualty-card").count() == 1
    assert page.get_by_test_id("transcript").inner_text().strip()
    tq = tourniquet(page)
    heard = page.get_by_test_id("transcript").inner_text()
    if tq.count() == 0:
        tq = tourniquets(page)  # heard as a tourniquet of no type ("C-I-T"): corrected below
    assert tq.count() == 1, (card_values(page), heard)
    shots(page, "medic-after-narration")
    fact_id = int(tq.get_attribute("data-fact") or 0)
    action = None
    # tiny.en, streaming in real time on a busy machine, often hears "left thigh" as "left,
    # high" (no limb), now and then loses the time ("at 14, 12", or a pause that ends the
    # utterance before the time) or hears "CAT" as "C-I-T" (no type): the medic puts in what
    # is missing by hand (a correction, which also accepts a tourniquet heard unsurely).
    wanted = (("limb", "L Leg"), ("type", "CAT"), ("time", "1412"))
    missing = {k: v for k, v in wanted if v not in tq.inner_text()}
    if missing:
        correct_through_page(page, tq, missing)
        action = "correct"
    elif "unconfirmed" in (tq.get_attribute("class") or ""):
        page.locator(f"[data-testid=confirm][data-fact='{fact_id}']").click()
        action = "confirm"

    def complete() -> bool:
        """The card shows the CAT with every field wanted (after the correction, if any)."""
        cat = tourniquet(page)
        return cat.count() == 1 and all(v in cat.inner_text() for _, v in wanted)

    wait_for(complete, 10, "the left-leg CAT at 1412", lambda: card_values(page))
    m2 = page.get_by_test_id("prompt").filter(has_text="M2")
    wait_for(lambda: m2.count() == 1, 10, "the M2 prompt")
    text = m2.inner_text()
    assert "M2" in text and "by 1612" in text, text
    assert re.search(r"\d:\d\d:\d\d left", text), text  # the live countdown
    shots(page, "medic-m2-prompt")
    # The other device shows the same card and prompt, from the same feed.
    attached_m2 = narration.attached.get_by_test_id("prompt").filter(has_text="M2")
    wait_for(lambda: attached_m2.count() == 1, 10, "the M2 prompt on the attached page")
    assert "by 1612" in attached_m2.inner_text()
    # The log holds what the page did, as the medic's events.
    facts = log_facts(ui_server, narration.session_id)
    if action == "confirm":
        confirms = [f for f in facts if f.kind == "confirm" and f.data["fact"] == fact_id]
        assert len(confirms) == 1 and confirms[0].source == "medic", facts
    elif action == "correct":
        fixed = [f for f in facts if f.replaces == fact_id and f.source == "medic"]
        assert len(fixed) == 1 and fixed[0].data["limb"] == "L Leg", facts
        assert fixed[0].data["time"] == "1412" and fixed[0].kind == "tourniquet"
        assert fixed[0].data["type"] == "CAT", fixed[0]


def test_confirm_and_correct_through_the_page_are_events_in_the_log(
    narration: Narration, ui_server: Restartable, shots: Callable[[Page, str], Path]
) -> None:
    page = narration.page
    buttons = page.get_by_test_id("confirm")
    unsure = page.locator("[data-testid=casualty-card] [data-testid=value].unconfirmed")
    # What live speech heard unsurely is a suggestion in the log, and only that is offered to
    # confirm on the card: some runs none, some several (the tourniquet may have been
    # confirmed above). Confirm buttons sit by the values; a vital is confirmed from its words.
    suggested: dict[int, str] = {}

    def in_step() -> bool:
        suggested.clear()
        suggested.update(unconfirmed_suggestions(ui_server, narration.session_id))
        offered = set(fact_ids(buttons)) | set(fact_ids(unsure))
        return offered <= suggested.keys() and bool(offered) == bool(suggested)

    wait_for(
        in_step,
        10,
        "the card to offer to confirm what the log holds as suggestions",
        lambda: (suggested, fact_ids(buttons), fact_ids(unsure), card_values(page)),
    )
    confirmed = None
    if suggested:
        if on_buttons := fact_ids(buttons):
            confirmed = on_buttons[0]
            page.locator(f"[data-testid=confirm][data-fact='{confirmed}']").click()
        else:
            confirmed = fact_ids(unsure)[0]
            value = f"[data-testid=casualty-card] [data-testid=value][data-fact='{confirmed}']"
            page.locator(value).first.click()
            page.get_by_test_id("evidence-dialog").get_by_test_id("evidence-confirm").click()
        wait_for(
            lambda: confirmed not in fact_ids(buttons) + fact_ids(unsure),
            10,
            "the confirmed value to be offered no more",
        )
    vital = (
        page.locator("[data-testid=casualty-card] [data-testid=value][data-kind=vital]")
        .filter(has_text=re.compile(r"^\s*\d+"))
        .first
    )
    old_fact = int(vital.get_attribute("data-fact") or 0)
    old_value = int(re.match(r"\s*(\d+)", vital.inner_text()).group(1))  # type: ignore[union-attr]
    new_value = old_value + 3
    correct_through_page(page, vital, {"value": str(new_value)})
    corrected = page.locator(
        "[data-testid=casualty-card] [data-testid=value][data-kind=vital].corrected"
    )
    wait_for(lambda: corrected.count() >= 1, 10, "the corrected reading")
    assert str(new_value) in corrected.first.inner_text()
    shots(page, "medic-corrected")

    facts = log_facts(ui_server, narration.session_id)
    if confirmed is not None:
        confirms = [f for f in facts if f.kind == "confirm" and f.data["fact"] == confirmed]
        assert len(confirms) == 1 and confirms[0].source == "medic", facts
    correction = [f for f in facts if f.replaces == old_fact and f.source == "medic"]
    assert len(correction) == 1 and correction[0].data["value"] == new_value
    # Never an overwrite: the value as heard is still in the log.
    original = next(f for f in facts if f.id == old_fact)
    assert original.data["value"] == old_value
    # The hand-off documents come down through the page, with the token if there is one.
    with page.expect_download() as download:
        page.get_by_test_id("download-pdf").click()
    assert download.value.suggested_filename.endswith("dd1380.pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download() as download:
        page.get_by_test_id("download-mist").click()
    assert str(new_value) in Path(download.value.path()).read_text()


def test_attached_page_shows_the_same_session(narration: Narration) -> None:
    page, attached = narration.page, narration.attached
    wait_for(lambda: card_values(attached) == card_values(page), 10, "the same card")
    assert attached.get_by_test_id("transcript").inner_text().strip()
    assert attached.evaluate("window.tccc.session") == narration.session_id


def test_latency_from_end_of_speech_to_card(narration: Narration) -> None:
    cards = sorted(m["ms"] for m in narration.metrics["card"])
    finals = sorted(m["ms"] for m in narration.metrics["final"])
    assert len(cards) >= 2, narration.metrics  # facts are said in all six sentences
    p50, p95 = float(np.percentile(cards, 50)), float(np.percentile(cards, 95))
    result = {
        "card_ms": cards,
        "card_p50_ms": round(p50),
        "card_p95_ms": round(p95),
        "final_ms": finals,
        "final_p50_ms": round(float(np.percentile(finals, 50))),
        "final_p95_ms": round(float(np.percentile(finals, 95))),
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "latency.json").write_text(json.dumps(result, indent=2))
    print(f"end of speech -> card: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(cards)}")
    # Only a sanity bound (a card at all, within a minute): `tccc bench screens` measures it.
    assert p95 < 60000, result


def test_dashboard_charts_receive_data(
    narration: Narration, shots: Callable[[Page, str], Path]
) -> None:
    dash = narration.dashboard
    dash.wait_for_timeout(1500)
    for chart in CHARTS:
        box = dash.get_by_test_id(chart)
        assert int(box.get_attribute("data-points") or 0) > 0, chart
        assert box.locator("canvas").count() >= 1, chart
    assert dash.get_by_test_id("pipeline-utterance").count() >= 3
    assert "Live" in dash.get_by_test_id("status").inner_text()
    # What this machine cannot read is n/a with a reason, never a number.
    cpu = dash.get_by_test_id("chart-cpu-gpu").inner_text()
    assert "GPU" in cpu
    shots(dash, "dashboard")
    dash.click("#theme")
    shots(dash, "dashboard-night")
    dash.click("#theme")


def test_pages_make_no_outside_request(narration: Narration) -> None:
    base = narration.base_url
    ws_base = base.replace("http://", "ws://")
    outside = [u for u in narration.requests if not u.startswith((base, "data:", "blob:"))]
    assert not outside, outside
    assert narration.sockets and all(u.startswith(ws_base) for u in narration.sockets)
    assert any("/ui/vendor/uPlot.iife.min.js" in u for u in narration.requests)


def test_tap_targets_and_night_theme(
    narration: Narration, shots: Callable[[Page, str], Path]
) -> None:
    page = narration.page
    small = []
    for button in page.locator("button:visible").all():
        box = button.bounding_box()
        if box and (box["height"] < 44 or box["width"] < 44):
            small.append((button.inner_text(), box))
    assert not small, small
    start = page.get_by_test_id("start-session").bounding_box()
    assert start is not None and start["height"] >= 56
    page.click("#theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "night"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    assert background == "rgb(0, 0, 0)"
    red, green, blue = (int(x) for x in re.findall(r"\d+", text)[:3])
    assert red > 200 and green < 80 and blue < 80, text  # red only: night vision kept
    shots(page, "medic-night")
    page.click("#theme")
    shots(page, "medic-dark")


def test_a_dropped_server_is_reconnected_and_resynced(
    narration: Narration, ui_server: Restartable, shots: Callable[[Page, str], Path]
) -> None:
    page = narration.page
    before = card_values(page)
    prompts = page.get_by_test_id("prompt").all_inner_texts()
    feeds_before = sum("/feed" in u for u in narration.requests)
    # The server goes away with the pages watching: it must still stop cleanly (the push
    # streams end), and the pages must say they are reconnecting.
    status = ui_server.stop()
    assert status in (0, -15), ui_server.server.log_tail() if ui_server.server else status
    wait_for(
        lambda: "Reconnecting" in page.get_by_test_id("status").inner_text(), 15, "reconnecting"
    )
    assert "Reconnecting" in narration.dashboard.get_by_test_id("status").inner_text()
    shots(page, "medic-reconnecting")
    ui_server.start()
    wait_for(lambda: "Ended" in page.get_by_test_id("status").inner_text(), 20, "resync")
    assert sum("/feed" in u for u in narration.requests) > feeds_before
    assert card_values(page) == before  # from the casualty log: nothing lost
    assert page.get_by_test_id("prompt").all_inner_texts() == prompts  # the clock is stopped
    wait_for(
        lambda: narration.dashboard.get_by_test_id("status").inner_text() == "Live",
        20,
        "the dashboard back",
    )
    # A reload (a phone that slept) attaches to the same session again from the tab's memory.
    page.reload()
    wait_for(lambda: card_values(page) == before, 15, "the card after a reload")


def test_token_is_asked_once_kept_for_the_tab_and_sent(
    server_factory: ServerFactory, context: BrowserContext
) -> None:
    server = server_factory(token=TOKEN)
    base = server.base_url
    # Without the token: the pages and assets (no patient data), nothing else.
    for path in ("/", "/dashboard", "/ui/medic.js", "/ui/vendor/uPlot.iife.min.js"):
        assert httpx.get(base + path).status_code == 200, path
    for path in ("/v1/sessions", "/v1/dashboard/stream", "/v1/sessions/abc/feed"):
        response = httpx.get(base + path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"
    page = context.new_page()
    page.goto(f"{base}/")
    dialog = page.locator("#token-dialog")
    wait_for(dialog.is_visible, 10, "the token dialog")
    page.locator("#token-input").fill(TOKEN)
    page.get_by_test_id("token-submit").click()
    wait_for(lambda: not dialog.is_visible(), 10, "the dialog to close")
    assert page.evaluate("sessionStorage.getItem('tccc.token')") == TOKEN
    # Recording sends it on the WebSocket; a session appears behind the token.
    page.get_by_test_id("start-session").click()
    wait_for(lambda: "Recording" in page.get_by_test_id("status").inner_text(), 15, "recording")
    page.wait_for_timeout(2500)
    hold(page, page.get_by_test_id("stop-session"))
    wait_for(lambda: not page.evaluate("window.tccc.recording"), 30, "the recording to stop")
    sessions = httpx.get(f"{base}/v1/sessions", headers=server.headers).json()["sessions"]
    assert sessions and sessions[0]["id"] == page.evaluate("window.tccc.session")
    # Once per tab: the dashboard in the same tab does not ask again, and its stream works.
    page.goto(f"{base}/dashboard")
    wait_for(
        lambda: page.get_by_test_id("status").inner_text() == "Live", 15, "the dashboard stream"
    )
    assert not page.locator("#token-dialog").is_visible()
    page.close()
