"""The main job end to end: the bundled sample narration through `tccc run` (real Whisper)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tccc.store.casualty_log import CasualtyLog


def test_run_on_the_bundled_sample(tmp_path: Path) -> None:
    tccc = Path(sys.executable).with_name("tccc")
    db, out = tmp_path / "c.db", tmp_path / "out"
    proc = subprocess.run(
        [str(tccc), "run", "--db", str(db), "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "TCCC_LOG_LEVEL": "warning"},
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "dd1380.json").read_text())
    (cas,) = doc["casualties"]
    # What tiny.en hears of the espeak-ng sample: the roster, the mechanism, a pulse.
    assert cas["battle_roster"] == "RM4417"
    assert "GSW" in cas["mechanism"]
    assert any(v["pulse"] == 110 for v in cas["vitals"])
    assert cas["march"] and all(isinstance(p["rule"], str) for p in cas["prompts"])
    for name in ("dd1380.pdf", "nine-line.txt", "mist.txt", "fhir.json", "card.txt"):
        assert (out / name).stat().st_size > 0
    # The live view printed each fact under its transcript line.
    assert "+ [1] identity: field=battle_roster, value=RM4417" in proc.stdout
    # Everything shown is in the casualty log, with evidence in a stored transcript.
    log = CasualtyLog(db)
    facts = log.facts(doc["session"]["id"])
    texts = {u.utterance_id: u.text.text for u in log.utterances(doc["session"]["id"])}
    assert facts
    for fact in facts:
        assert texts[fact.evidence.utterance_id][fact.evidence.start : fact.evidence.end] == (
            fact.evidence.text
        )
    log.close()
