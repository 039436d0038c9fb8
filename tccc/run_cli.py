"""The main job and its siblings: `tccc run`, `tccc analyze`, `tccc report`.

`run` takes audio (a file, the microphone, or the bundled sample) through live transcription,
the analyzer and the casualty log, with a live view of transcripts, facts and prompts, then
writes the hand-off documents. `analyze` prints one report for a file or a text file. `report`
rebuilds any report from the log.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, TextIO

from tccc.analysis.incident import Incident
from tccc.audio.sources import AudioSource
from tccc.config import Settings
from tccc.events import Fact, LiveTranscript
from tccc.live_cli import LiveView, run_live
from tccc.reports.document import all_tourniquets, suggestion_lines
from tccc.store.casualty_log import CasualtyLog

FORMATS = ("dd1380-json", "text", "nine-line", "mist", "zmist", "fhir")
"""Report formats of `analyze` and `report`."""

DEFAULT_DB = Path("~/.local/share/tccc/casualties.db")
"""Where `tccc run` keeps the casualty log unless --db or TCCC_DB says otherwise."""


def default_db() -> Path:
    """TCCC_DB if set, else the per-user casualty log."""
    env = os.environ.get("TCCC_DB")
    return Path(env).expanduser() if env else DEFAULT_DB.expanduser()


def open_log(path: str | Path | None) -> CasualtyLog:
    """The casualty log at `path` (":memory:" keeps it in memory), creating its folder."""
    if path is None:
        path = default_db()
    if str(path) != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        os.chmod(Path(path).expanduser().parent, 0o700)
        path = Path(path).expanduser()
    return CasualtyLog(path)


def render(doc: dict[str, Any], fmt: str) -> str:
    """One report of an export document, as text."""
    if fmt == "dd1380-json":
        return json.dumps(doc, indent=2, default=str)
    if fmt == "text":
        return card_text(doc)
    if fmt == "nine-line":
        from tccc.reports.nine_line import format_nine_line

        return format_nine_line(doc)
    if fmt in ("mist", "zmist"):
        from tccc.reports.mist import format_mist

        return format_mist(doc, zap=fmt == "zmist")
    if fmt == "fhir":
        from tccc.reports.fhir import fhir_bundle

        return json.dumps(fhir_bundle(doc), indent=2)
    raise ValueError(f"unknown format {fmt!r}")


def card_text(doc: dict[str, Any]) -> str:
    """A compact human-readable card per casualty."""
    lines: list[str] = []
    for cas in doc["casualties"]:
        who = " ".join(str(cas[k]) for k in ("battle_roster", "last_name") if cas.get(k))
        lines.append(f"Casualty {cas['label']}" + (f" ({who})" if who else ""))
        for key in ("evac_category", "allergies", "time_of_injury", "unit"):
            if cas.get(key):
                lines.append(f"  {key.replace('_', ' ')}: {cas[key]}")
        if cas["mechanism"]:
            lines.append(f"  mechanism: {', '.join(cas['mechanism'])}")
        for inj in cas["injuries"]:
            lines.append(f"  injury: {inj['site']}" + (f" ({inj['kind']})" if inj["kind"] else ""))
        for tq in all_tourniquets(cas):
            bits = [tq["limb"] or "limb?", tq["type"] or "", tq["time"] or "time?"]
            lines.append("  tourniquet: " + " ".join(b for b in bits if b))
        for key in ("hemorrhage_dressings", "airway", "breathing", "other_treatments"):
            if cas[key]:
                lines.append(f"  {key.replace('_', ' ')}: {', '.join(cas[key])}")
        for v in cas["vitals"]:
            vals = [f"{k} {v[k]}" for k in ("pulse", "bp", "resp_rate", "spo2", "avpu", "pain")]
            shown = [
                s
                for s, k in zip(
                    vals, ("pulse", "bp", "resp_rate", "spo2", "avpu", "pain"), strict=True
                )
                if v[k] is not None
            ]
            when = f" {v['time']}" if v["time"] else ""
            lines.append(f"  vitals{when}: " + ", ".join(shown))
        for f in cas["fluids"]:
            lines.append(
                "  fluid: "
                + " ".join(str(f[k]) for k in ("name", "volume_ml", "route", "time") if f[k])
            )
        lines += [f"  {line}" for line in suggestion_lines(cas)]
        for m in cas["medications"]:
            lines.append(
                "  med: " + " ".join(str(m[k]) for k in ("name", "dose", "route", "time") if m[k])
            )
        if cas.get("march"):
            lines.append("  MARCH-PAWS: " + ", ".join(f"{k} {v}" for k, v in cas["march"].items()))
        for p in cas.get("prompts", []):
            deadline = f" (by {p['deadline']})" if p.get("deadline") else ""
            lines.append(f"  PROMPT {p['rule']} [{p['severity']}]: {p['text']}{deadline}")
    return "\n".join(lines)


class RunView(LiveView):
    """The live view of `tccc run`: transcript lines, then each new fact under them."""

    def __init__(self, out: TextIO, incident: Incident, *, quiet: bool = False) -> None:
        super().__init__(out)
        self.incident = incident
        self.quiet = quiet
        self.shown: set[tuple[str, str, str | None]] = set()

    def show(self, event: LiveTranscript) -> None:
        """Show an event; a final is analysed and stored before anything is printed."""
        if event.kind != "final":
            if not self.quiet:
                super().show(event)
            return
        facts = self.incident.on_final(event)  # on disk before it is shown
        if self.quiet:
            return
        super().show(event)
        for fact in facts:
            self.out.write(f"    + [{fact.casualty}] {fact.kind}: {_fact_text(fact)}\n")
        for label, prompts in self.incident.prompts().items():
            for p in prompts:
                key = (label, p.rule, p.deadline)
                if key in self.shown:
                    continue
                self.shown.add(key)
                deadline = f" (by {p.deadline})" if p.deadline else ""
                self.out.write(f"    ! [{label}] {p.rule} {p.title}{deadline}\n")
        self.out.flush()


def _fact_text(fact: Fact) -> str:
    return ", ".join(f"{k}={v}" for k, v in fact.data.items() if v not in (None, False, ""))


def analyze_text(incident: Incident, text: str, settings: Settings) -> None:
    """Analyse a text narration: each non-empty paragraph is one utterance."""
    from tccc.stt.normaliser import Normaliser
    from tccc.stt.vocabulary import load_vocabulary

    normaliser = Normaliser(load_vocabulary(settings.stream.vocabulary_path))
    paragraphs = [p.strip() for p in text.replace("\r", "").split("\n\n") if p.strip()]
    for i, para in enumerate(paragraphs):
        line = " ".join(para.split())
        norm = normaliser.normalise(line) if settings.stream.vocabulary else None
        incident.on_final(LiveTranscript("final", i, 0.0, 0.0, line, normalised=norm))


def analyze_audio(
    incident: Incident, source: AudioSource, settings: Settings, out: TextIO, *, quiet: bool
) -> None:
    """Take audio through live transcription into the incident."""
    view = RunView(out, incident, quiet=quiet)
    asyncio.run(run_live(settings, source, view, stop_on_signal=not quiet))


def write_reports(doc: dict[str, Any], folder: Path) -> list[Path]:
    """Every hand-off document of a session into `folder` (created, owner-only)."""
    from tccc.reports.pdf import dd1380_pdf

    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    written: list[Path] = []
    for name, fmt in (
        ("dd1380.json", "dd1380-json"),
        ("card.txt", "text"),
        ("nine-line.txt", "nine-line"),
        ("mist.txt", "mist"),
        ("zmist.txt", "zmist"),
        ("fhir.json", "fhir"),
    ):
        path = folder / name
        path.write_text(render(doc, fmt) + "\n", encoding="utf-8")
        written.append(path)
    pdf = folder / "dd1380.pdf"
    dd1380_pdf(doc, pdf)
    written.append(pdf)
    return written
