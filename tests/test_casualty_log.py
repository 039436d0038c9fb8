"""The casualty log: facts on disk before they are acknowledged, resume, and kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tccc.analysis.incident import Incident
from tccc.analysis.record import fold
from tccc.events import LiveTranscript, Word
from tccc.store.casualty_log import CasualtyLog
from tccc.stt.normaliser import Normaliser

NARRATION = [
    "Casualty one, battle roster Romeo Mike four four one seven, gunshot wound to the right thigh.",
    "CAT tourniquet on the right thigh at fourteen thirty-two.",
    "Radial pulse one ten, sats ninety-seven.",
    "Correction, pulse is one twenty.",
    "Casualty two, roster Delta Kilo two two zero nine, frag wound to the left forearm.",
    "Pressure dressing on the left forearm.",
    "Back to casualty one, gave two grams TXA IV at fourteen forty-five.",
]


def final(i: int, text: str, normaliser: Normaliser) -> LiveTranscript:
    """A final transcript with word times, as live transcription makes them."""
    words = tuple(
        Word(i * 10 + k * 0.4, i * 10 + k * 0.4 + 0.3, w, 0.9) for k, w in enumerate(text.split())
    )
    return LiveTranscript(
        "final",
        i,
        i * 10.0,
        i * 10.0 + len(words) * 0.4,
        text,
        words=words,
        normalised=normaliser.normalise(text),
    )


def test_facts_round_trip_through_the_log(tmp_path: Path) -> None:
    normaliser = Normaliser()
    log = CasualtyLog(tmp_path / "c.db")
    incident = Incident.new(log, "test")
    for i, text in enumerate(NARRATION):
        incident.on_final(final(i, text, normaliser))
    stored = log.facts(incident.session_id)
    assert stored == incident.analyzer.facts
    # The same records come back from disk as from memory, corrections included.
    assert incident.document() == Incident.resume(log, incident.session_id).document()
    records = fold(stored)
    assert records["1"].vital_series("pulse") == [(None, 120)]
    pulses = [f.data["value"] for f in records["1"].facts if f.data.get("sign") == "pulse"]
    assert pulses == [110, 120]  # the history keeps the corrected value
    assert [m.data["name"] for m in records["1"].of_kind("medication")] == ["TXA"]
    assert records["2"].identity["battle_roster"] == "DK2209"
    log.close()


def test_every_fact_has_evidence_in_the_stored_transcript(tmp_path: Path) -> None:
    normaliser = Normaliser()
    log = CasualtyLog(tmp_path / "c.db")
    incident = Incident.new(log, "test")
    for i, text in enumerate(NARRATION):
        incident.on_final(final(i, text, normaliser))
    utterances = {u.utterance_id: u for u in log.utterances(incident.session_id)}
    for fact in log.facts(incident.session_id):
        utt = utterances[fact.evidence.utterance_id]
        ev = fact.evidence
        assert utt.text.text[ev.start : ev.end] == ev.text
        assert ev.raw and ev.raw in utt.text.raw
        assert ev.audio_start is not None and ev.audio_end is not None
        first, last = utt.words[0].start, utt.words[-1].end
        assert first <= ev.audio_start <= ev.audio_end <= last


def test_resume_continues_the_session(tmp_path: Path) -> None:
    normaliser = Normaliser()
    path = tmp_path / "c.db"
    log = CasualtyLog(path)
    incident = Incident.new(log, "test")
    for i, text in enumerate(NARRATION[:5]):
        incident.on_final(final(i, text, normaliser))
    log.close()

    log = CasualtyLog(path)
    resumed = Incident.resume(log, incident.session_id)
    # The medic was talking about casualty two; a new utterance continues with them.
    facts = resumed.on_final(final(0, "Pulse eighty four, resp rate sixteen.", normaliser))
    assert {f.casualty for f in facts} == {"2"}
    ids = [f.id for f in log.facts(incident.session_id)]
    assert ids == sorted(set(ids))  # ids continue, never reused
    transcripts = log.session(incident.session_id)["transcripts"]  # type: ignore[index]
    assert [t["utterance_id"] for t in transcripts] == list(range(6))
    assert transcripts[-1]["start"] >= transcripts[-2]["end"]  # session time continues
    log.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from tccc.analysis.incident import Incident
    from tccc.events import LiveTranscript
    from tccc.store.casualty_log import CasualtyLog
    from tccc.stt.normaliser import Normaliser

    normaliser = Normaliser()
    log = CasualtyLog(sys.argv[1])
    incident = Incident.new(log, "crash")
    print("SESSION", incident.session_id, flush=True)
    lines = sys.stdin.read().splitlines()
    i = 0
    while True:  # keep stating facts until killed
        text = lines[i % len(lines)]
        t = LiveTranscript("final", i, i, i + 1, text, normalised=normaliser.normalise(text))
        facts = incident.on_final(t)
        print("ACK", *[f.id for f in facts], flush=True)
        i += 1
    """
)


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n".join(NARRATION))
    proc.stdin.close()
    session = proc.stdout.readline().split()[1]
    acknowledged: list[int] = []
    for _ in range(40):
        acknowledged += [int(x) for x in proc.stdout.readline().split()[1:]]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    log = CasualtyLog(path)
    stored = {f.id for f in log.facts(session)}
    assert acknowledged and set(acknowledged) <= stored
    # And what is on disk still folds into records.
    assert fold(log.facts(session))["1"].identity["battle_roster"] == "RM4417"
    log.close()


def test_run_text_then_report_rebuilds_the_export(tmp_path: Path) -> None:
    tccc = Path(sys.executable).with_name("tccc")
    narration = tmp_path / "n.txt"
    narration.write_text("\n\n".join(NARRATION), encoding="utf-8")
    db = tmp_path / "c.db"
    out = tmp_path / "out"
    env = {**os.environ, "TCCC_LOG_LEVEL": "warning"}
    run = subprocess.run(
        [str(tccc), "run", "--text-file", str(narration), "--db", str(db), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    exported = json.loads((out / "dd1380.json").read_text())
    assert {c["label"] for c in exported["casualties"]} == {"1", "2"}
    assert (out / "dd1380.pdf").read_bytes().startswith(b"%PDF")
    session = exported["session"]["id"]
    report = subprocess.run(
        [str(tccc), "report", session[:8], "--db", str(db), "--format", "dd1380-json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout) == exported
