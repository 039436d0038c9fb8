"""Decision-support prompts and the context in which rule evaluators build them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tccc.analysis.clock import SessionClock
from tccc.analysis.fact_values import dedupe
from tccc.analysis.observations import Observations, Sign
from tccc.analysis.record import Item
from tccc.analysis.rules_file import Rule
from tccc.events import Evidence


@dataclass(frozen=True, slots=True)
class Prompt:
    """One decision-support prompt for one casualty, with the evidence that triggered it."""

    rule: str
    title: str
    text: str
    casualty: str
    triggers: tuple[Evidence, ...]
    """Evidence of the facts that triggered the prompt, in the order they were found."""
    deadline: str | None = None
    """HHMM clock time of the prompt's deadline; None without one or without a clock anchor."""
    deadline_s: float | None = None
    """Session seconds of the deadline."""
    severity: str = "info"
    """info, warning or urgent."""


@dataclass(frozen=True)
class Context:
    """What a rule evaluator reads: one record's observations, the session time and clock."""

    obs: Observations
    now_s: float
    clock: SessionClock

    def when(self, session_s: float) -> str:
        """A session time as HHMM when the clock is anchored, else as session h:mm."""
        clock = self.clock.to_clock(session_s)
        if clock is not None:
            return clock
        minutes = math.floor(session_s / 60 + 1e-9)
        sign = "-" if minutes < 0 else ""
        return f"session {sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"

    def prompt(
        self,
        rule: Rule,
        text: str,
        triggers: Iterable[Evidence | None],
        severity: str = "severity",
        deadline_s: float | None = None,
    ) -> Prompt:
        """A prompt of `rule` for this record (severity names a severity key of the rule)."""
        return Prompt(
            rule=rule.id,
            title=rule.title,
            text=text,
            casualty=self.obs.record.label,
            triggers=dedupe(triggers),
            deadline=None if deadline_s is None else self.clock.to_clock(deadline_s),
            deadline_s=deadline_s,
            severity=rule.level(severity),
        )


def sign_evidence(signs: Iterable[Sign]) -> list[Evidence]:
    """The evidence of every sign, in order."""
    return [e for s in signs for e in s.evidence]


def item_evidence(items: Iterable[Item]) -> list[Evidence]:
    """The evidence of every item, in order."""
    return [e for i in items for e in i.evidence]


Evaluator = Callable[[Context, Rule], list[Prompt]]
"""A rule's evaluator: the prompts one rule raises for one record."""
