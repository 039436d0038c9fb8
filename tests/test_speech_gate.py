"""Speech-aware precision: a fact that rests on words the recogniser was unsure of is kept as an
unconfirmed suggestion, shown as such, and goes on the card only when the medic confirms it."""

from __future__ import annotations

from tccc.analysis.analyzer import MIN_CONFIDENCE, SPEECH_SOURCE, SessionAnalyzer
from tccc.analysis.evidence import UtteranceText
from tccc.analysis.incident import Incident
from tccc.analysis.record import fold
from tccc.events import LiveTranscript, NormalisedText, TextEdit, Word
from tccc.reports.document import suggestion_lines
from tccc.reports.export import export_document
from tccc.store.casualty_log import CasualtyLog
from tccc.stt.normaliser import Normaliser

NORMALISER = Normaliser()


def heard(raw: str, unsure: dict[str, float] | None = None, uid: int = 0) -> UtteranceText:
    """An utterance as live transcription gives it: words with probabilities (0.95 unless the
    word is in `unsure`)."""
    unsure = unsure or {}
    words = tuple(
        Word(0.4 * i, 0.4 * i + 0.3, f" {w}", unsure.get(w.strip(".,").lower(), 0.95))
        for i, w in enumerate(raw.split())
    )
    return UtteranceText(uid, NORMALISER.normalise(raw), words, session_s=words[-1].end)


def test_a_value_heard_with_certainty_is_stated() -> None:
    a = SessionAnalyzer()
    (fact,) = a.analyze(heard("Pulse one twenty."))
    assert (fact.status, fact.source, fact.data["value"]) == ("stated", "rules", 120)
    assert fact.evidence.confidence is not None and fact.evidence.confidence >= MIN_CONFIDENCE


def test_an_unsure_number_makes_the_fact_a_suggestion() -> None:
    a = SessionAnalyzer()
    (fact,) = a.analyze(heard("Pulse one twenty.", {"twenty": 0.02}))
    assert (fact.status, fact.source) == ("suggested", SPEECH_SOURCE)
    assert fact.evidence.confidence is not None and fact.evidence.confidence < MIN_CONFIDENCE
    assert fold(a.facts)["1"].vital_series("pulse") == []


def test_an_unsure_function_word_changes_nothing() -> None:
    a = SessionAnalyzer()
    (fact,) = a.analyze(heard("CAT on the left leg at 1432.", {"the": 0.1, "at": 0.2}))
    assert fact.status == "stated"


def test_an_unsure_limb_holds_the_tourniquet_back() -> None:
    a = SessionAnalyzer()
    facts = a.analyze(heard("CAT on the left leg at 1432.", {"left": 0.03}))
    assert [f.status for f in facts if f.kind == "tourniquet"] == ["suggested"]


def test_a_fuzzy_rewrite_of_low_confidence_is_a_suggestion_even_from_text() -> None:
    raw = "Gave ketamine 50 mg IM."
    norm = NORMALISER.normalise(raw)
    at = norm.text.index("ketamine")
    edit = TextEdit(at, at + 8, at, at + 8, "fuzzy", 0.03)
    utt = UtteranceText(0, NormalisedText(norm.raw, norm.text, (*norm.edits, edit)))
    (fact,) = SessionAnalyzer().analyze(utt)
    assert fact.status == "suggested"


def test_text_input_is_never_gated() -> None:
    facts = SessionAnalyzer().analyze(UtteranceText(0, NORMALISER.normalise("Pulse 120.")))
    assert [f.status for f in facts] == ["stated"]


def test_a_later_certain_statement_states_it() -> None:
    a = SessionAnalyzer()
    a.analyze(heard("Pulse one twenty.", {"twenty": 0.02}, uid=0))
    a.analyze(heard("Pulse one twenty.", uid=1))
    assert fold(a.facts)["1"].vital_series("pulse") == [(None, 120)]


def test_a_suggestion_is_shown_as_such_and_the_medic_can_confirm_it(tmp_path: object) -> None:
    log = CasualtyLog(":memory:")
    incident = Incident.new(log, "test")
    words = tuple(
        Word(0.4 * i, 0.4 * i + 0.3, f" {w}", 0.02 if w.startswith("forty") else 0.9)
        for i, w in enumerate(["TXA", "two", "grams", "IV", "at", "fourteen", "forty."])
    )
    final = LiveTranscript(
        "final",
        0,
        0.0,
        3.0,
        "TXA two grams IV at fourteen forty.",
        words=words,
        normalised=NORMALISER.normalise("TXA two grams IV at fourteen forty."),
    )
    (fact,) = incident.on_final(final)
    card = incident.document()["casualties"][0]
    assert card["medications"] == []
    lines = suggestion_lines(card)
    assert len(lines) == 1 and SPEECH_SOURCE in lines[0] and f"fact {fact.id}" in lines[0]
    incident.confirm(fact.id)
    card = export_document(incident.records())["casualties"][0]
    assert [m["name"] for m in card["medications"]] == ["TXA"]
    # And it survives a resume of the session from the log.
    again = Incident.resume(log, incident.session_id)
    assert [m["name"] for m in again.document()["casualties"][0]["medications"]] == ["TXA"]


def test_a_name_needs_more_certainty_than_a_number() -> None:
    a = SessionAnalyzer()
    facts = a.analyze(heard("Sergeant Okonkwo, pulse one twenty.", {"okonkwo": 0.3, "twenty": 0.3}))
    assert [(f.kind, f.status) for f in facts if f.kind in ("identity", "vital")] == [
        ("identity", "suggested"),
        ("identity", "stated"),
        ("vital", "stated"),
    ]


def test_a_misheard_unit_name_is_held_back() -> None:
    a = SessionAnalyzer()
    facts = a.analyze(heard("Private Moss, Blanco Company.", {"blanco": 0.18}))
    units = [f for f in facts if f.kind == "identity" and f.data["field"] == "unit"]
    assert [(f.data["value"], f.status) for f in units] == [("Blanco Company", "suggested")]
