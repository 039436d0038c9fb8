"""TCCC decision support: prompts from a casualty record, with the numbers in tccc_rules.toml.

`evaluate(record, now_s, clock)` is a pure function: the same record, session time and clock
give the same prompts, so a replayed session prompts at the same moments. Every guideline
number, word list and prompt text comes from the versioned rules file
(`tccc/data/tccc_rules.toml`, or another file through `rules_file.load_rules(path)`); the
logic that decides which rule applies is in `rules_march` and `rules_paws`. Clinical content
must be reviewed by a qualified TCCC instructor or medical officer (`Rules.review_note`).
"""

from __future__ import annotations

from tccc.analysis import rules_march, rules_paws
from tccc.analysis.clock import SessionClock
from tccc.analysis.observations import observe
from tccc.analysis.prompts import Context, Evaluator, Prompt
from tccc.analysis.record import CasualtyRecord
from tccc.analysis.rules_file import Rules

_EVALUATORS: dict[str, Evaluator] = {**rules_march.EVALUATORS, **rules_paws.EVALUATORS}


def evaluate(
    record: CasualtyRecord,
    now_s: float,
    clock: SessionClock,
    rules: Rules | None = None,
    scene: CasualtyRecord | None = None,
) -> list[Prompt]:
    """The prompts for one casualty at session time `now_s`, in rule order (pure function).

    `clock` places spoken times on the session timeline (`SessionClock.from_facts` over the
    session's facts); `rules` defaults to the bundled rules file; `scene` is the record of
    facts about the whole incident (the analyzer's "*" label), whose mechanisms and time of
    injury apply to this casualty. The scene record is not a casualty: do not evaluate it.
    """
    ctx = Context(observe(record, rules, scene), now_s, clock)
    prompts: list[Prompt] = []
    for rule in ctx.obs.rules.rules:
        if rule.enabled:
            prompts.extend(_EVALUATORS[rule.id](ctx, rule))
    return prompts
