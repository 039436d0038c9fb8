"""The live command line: `tccc transcribe --live`, `tccc devices`, `tccc listen` errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import SpeechData

REPO = Path(__file__).resolve().parent.parent


def tccc(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the real command line."""
    return subprocess.run(
        [sys.executable, "-m", "tccc", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_transcribe_live_prints_final_lines_and_counts(speech: SpeechData) -> None:
    done = tccc("transcribe", "--live", str(speech.path("ls_1089-134686-0000.flac")))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line]
    assert lines and all(line.startswith("[00:") for line in lines)
    text = " ".join(line.split("] ", 1)[1] for line in lines)
    speech.assert_transcript("ls_1089-134686-0000.flac", text)
    stats = json.loads(done.stderr.strip().splitlines()[-1].removeprefix("tccc: "))
    assert stats["finals"] == len(lines) and stats["dropped_s"] == 0.0


def test_transcribe_live_events_are_json(speech: SpeechData) -> None:
    done = tccc("transcribe", "--live", "--events", str(speech.path("ls_1089-134691-0001.flac")))
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["type"] == "final"
    assert {"text", "normalised", "words", "edits"} <= set(events[-1])


def test_transcribe_live_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not audio" * 10)
    done = tccc("transcribe", "--live", str(bad))
    assert done.returncode != 0
    assert "notes.wav" in done.stderr and "Traceback" not in done.stderr


def test_listen_with_a_missing_device_is_a_clear_error() -> None:
    done = tccc("listen", "--input", "no-such-microphone-xyz", timeout=60)
    assert done.returncode != 0
    assert "tccc devices" in done.stderr or "PortAudio" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [("devices",)])
def test_devices_never_crashes(args: tuple[str, ...]) -> None:
    done = tccc(*args, timeout=60)
    assert done.returncode in (0, 1)
    assert "Traceback" not in done.stderr
    if done.returncode == 1:
        assert done.stderr.startswith("tccc:")
