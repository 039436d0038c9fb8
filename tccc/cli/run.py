"""The main job and its siblings: `tccc run`, `tccc demo`, `tccc analyze`, `tccc report`.

`run` takes audio (a file, the microphone, or the bundled sample) through live transcription,
the analyzer and the casualty log, with a live view of transcripts, facts and prompts, then
writes the hand-off documents. `analyze` prints one report for a file or a text file. `report`
rebuilds any report from the log.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tccc.cli.common import Commands, add_llm_flag, engine_flags, resolve, say
from tccc.cli.transcribe import LiveView, run_view
from tccc.reports.render import FORMATS

if TYPE_CHECKING:
    from tccc.analysis.incident import Incident
    from tccc.audio.sources import AudioSource
    from tccc.config import Settings
    from tccc.events import Fact, LiveTranscript

DEMO_AUDIO = Path(__file__).parents[1] / "data" / "sample_narration.ogg"
"""The bundled sample narration of `tccc demo` (and of `tccc run` without a file)."""


def configure_parser(sub: Commands, common: argparse.ArgumentParser) -> None:
    """`tccc demo`, `tccc run`, `tccc analyze` and `tccc report`."""
    demo = sub.add_parser(
        "demo", parents=[common], help="run the main job on the bundled sample narration"
    )
    engine_flags(demo)
    demo.add_argument("--db", help="casualty log (default: in memory for the demo)")
    demo.add_argument("--out", type=Path, help="folder for the hand-off documents")
    add_llm_flag(demo)

    run = sub.add_parser(
        "run", parents=[common], help="the main job: audio to casualty cards, prompts, reports"
    )
    engine_flags(run)
    run.add_argument("file", nargs="?", type=Path, help="audio file (default: bundled sample)")
    run.add_argument("--mic", action="store_true", help="listen to the microphone")
    run.add_argument("--input", help="input device index or name (with --mic)")
    run.add_argument("--realtime", action="store_true", help="pace a file like a microphone")
    run.add_argument("--text-file", type=Path, help="a text narration (skips speech)")
    run.add_argument("--resume", metavar="SESSION", help="continue a stored session")
    run.add_argument("--db", help="casualty log (default $TCCC_DB or ~/.local/share/tccc)")
    run.add_argument("--out", type=Path, help="folder for the hand-off documents")
    add_llm_flag(run)

    analyze = sub.add_parser(
        "analyze", parents=[common], help="print one report for an audio or text file"
    )
    engine_flags(analyze)
    analyze.add_argument("file", nargs="?", type=Path, help="audio file")
    analyze.add_argument("--text-file", type=Path, help="a text narration (skips speech)")
    analyze.add_argument("--format", default="dd1380-json", choices=FORMATS)
    analyze.add_argument("--db", default=":memory:", help="casualty log (default: memory)")
    add_llm_flag(analyze)

    report = sub.add_parser("report", parents=[common], help="rebuild a report of a stored session")
    report.add_argument("session", nargs="?", help="session id or prefix (default: list them)")
    report.add_argument("--format", default="text", choices=FORMATS)
    report.add_argument("--db", help="casualty log (default $TCCC_DB or ~/.local/share/tccc)")
    report.add_argument(
        "--confirm",
        type=int,
        action="append",
        default=[],
        metavar="FACT",
        help="confirm a language model's suggestion (its fact number) before the report",
    )


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


def analyze_audio(
    incident: Incident, source: AudioSource, settings: Settings, out: TextIO, *, quiet: bool
) -> None:
    """Take audio through live transcription into the incident."""
    view = RunView(out, incident, quiet=quiet)
    asyncio.run(run_view(settings, source, view, stop_on_signal=not quiet))


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the bundled sample narration (what `make demo` runs)."""
    print(f"tccc demo: the bundled sample narration ({DEMO_AUDIO.name})", file=sys.stderr)
    args.file, args.mic, args.text_file, args.resume, args.realtime = None, False, None, None, False
    args.input = None
    if args.db is None:
        args.db = ":memory:"
    return cmd_run(args)


def cmd_run(args: argparse.Namespace) -> int:
    """Audio (or text) through the whole pipeline, then the hand-off documents."""
    from tccc.analysis.incident import Incident
    from tccc.analysis.narration import analyze_text
    from tccc.audio.mic import MicSource
    from tccc.audio.sources import FileSource
    from tccc.llm.job import finish_stage, start_stage, write_handoffs
    from tccc.reports.render import render, write_reports
    from tccc.store.open import default_db, open_log

    settings = resolve(args).settings
    log = open_log(args.db)
    try:
        if args.resume:
            session_id = log.find_session(args.resume)
            if session_id is None:
                print(f"tccc: no single session matches {args.resume!r}", file=sys.stderr)
                return 2
            incident = Incident.resume(log, session_id)
        else:
            source_name = "mic" if args.mic else str(args.text_file or args.file or DEMO_AUDIO.name)
            incident = Incident.new(log, source_name)
        print(f"session {incident.session_id}", file=sys.stderr)
        db = args.db or str(default_db())
        stage = start_stage(settings.llm, args.llm, incident, db, say=say)
        if args.text_file is not None:
            analyze_text(incident, args.text_file.read_text(encoding="utf-8"), settings)
        else:
            source: AudioSource
            if args.mic:
                source = MicSource(device=args.input, capacity_s=settings.stream.ring_buffer_s)
            else:
                path = args.file or DEMO_AUDIO
                if not path.is_file():
                    print(f"tccc: no such file: {path}", file=sys.stderr)
                    return 2
                source = FileSource(
                    path, realtime=args.realtime, capacity_s=settings.stream.ring_buffer_s
                )
            analyze_audio(incident, source, settings, sys.stdout, quiet=False)
        finish_stage(stage, close=False, say=say)
        doc = incident.document()
        print(render(doc, "text"))
        log.end_session(incident.session_id)
        out = args.out or Path("tccc-out") / incident.session_id[:8]
        written = write_reports(doc, out)
        handoff = write_handoffs(stage, doc, out, say=say)
        if stage is not None:
            stage.close()
        written += [handoff] if handoff else []
        print(f"reports: {', '.join(str(p) for p in written)}", file=sys.stderr)
    finally:
        log.close()
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print one report of an audio or text narration."""
    from tccc.analysis.incident import Incident
    from tccc.analysis.narration import analyze_text
    from tccc.audio.sources import FileSource
    from tccc.llm.job import finish_stage, start_stage
    from tccc.reports.render import render
    from tccc.store.open import open_log

    if (args.file is None) == (args.text_file is None):
        print("tccc analyze: give an audio FILE or --text-file", file=sys.stderr)
        return 2
    settings = resolve(args).settings
    log = open_log(args.db)
    try:
        incident = Incident.new(log, "analyze")
        stage = start_stage(settings.llm, args.llm, incident, args.db, say=say)
        if args.text_file is not None:
            analyze_text(incident, args.text_file.read_text(encoding="utf-8"), settings)
        else:
            source = FileSource(args.file, capacity_s=settings.stream.ring_buffer_s)
            analyze_audio(incident, source, settings, sys.stderr, quiet=True)
        finish_stage(stage, say=say)
        print(render(incident.document(), args.format))
    finally:
        log.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild a report of a stored session (or list the sessions)."""
    from tccc.analysis.incident import Incident
    from tccc.reports.render import render
    from tccc.store.open import open_log

    log = open_log(args.db)
    try:
        if args.session is None:
            for s in log.sessions():
                print(f"{s['id']}  {s['source']}  facts={s['facts']}")
            return 0
        session_id = log.find_session(args.session)
        if session_id is None:
            print(f"tccc: no single session matches {args.session!r}", file=sys.stderr)
            return 2
        incident = Incident.resume(log, session_id)
        for fact_id in args.confirm:
            incident.confirm(fact_id)
            print(f"confirmed fact {fact_id}", file=sys.stderr)
        print(render(incident.document(), args.format))
    finally:
        log.close()
    return 0
