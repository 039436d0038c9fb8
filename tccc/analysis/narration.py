"""Narrations into an incident: a text narration paragraph by paragraph, or live events."""

from __future__ import annotations

from collections.abc import Callable

from tccc.analysis.incident import Incident
from tccc.config import Settings
from tccc.events import LiveTranscript


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


def analyze_finals(incident: Incident) -> Callable[[LiveTranscript], None]:
    """A live-event callback that analyses and stores each final transcript (not partials)."""

    def on_event(event: LiveTranscript) -> None:
        if event.kind == "final":
            incident.on_final(event)

    return on_event
