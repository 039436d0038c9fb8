"""The pure parts of `tccc bench screens`: which utterance stands behind each card value, and
when a stream second was sent (the full run is in test_cli_commands)."""

from __future__ import annotations

from test_ui_units import sample_facts

from tccc.bench.screens import (
    DashboardCost,
    NarrationRun,
    ScreensReport,
    SentClock,
    format_report,
    value_utterances,
)
from tccc.server.card_view import card_view


def test_every_value_on_the_cards_names_its_fact_and_utterance() -> None:
    facts = sample_facts()
    view = card_view(facts, now_s=30.0)
    found = dict(value_utterances(view))
    # Every fact that puts a value on the card (the tourniquet too, though unconfirmed).
    expected = {f.id: f.evidence.utterance_id for f in facts}
    assert found == expected


def test_sent_clock_finds_the_frame_that_carried_a_second() -> None:
    clock = SentClock()
    assert clock.at(0.05) is None
    clock.sent(0.1)
    clock.sent(0.2)
    first, second = clock.times
    assert clock.at(0.0) == first and clock.at(0.1) == first
    assert clock.at(0.15) == second and clock.at(0.2) == second
    assert clock.at(0.25) is None  # not sent yet: no latency is made up


def test_report_quotes_percentiles_and_the_cost_over_idle() -> None:
    runs = [NarrationRun(card_ms={0: 500.0, 1: 700.0}, final_ms={0: 480.0, 1: 690.0})]
    costs = [DashboardCost(0, 30.0, 2.0, 0, None), DashboardCost(5, 30.0, 12.0, 150, 1.1)]
    text = format_report(ScreensReport(runs, costs, clip_s=54.0))
    assert "p50 600 ms" in text and "over 2 utterances" in text
    assert "dashboard cost with 5 open: 2.00 ms of server CPU per second per dashboard" in text
