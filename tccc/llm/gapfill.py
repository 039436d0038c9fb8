"""Grounded gap-filling: after the rules, the model is asked for DD 1380 facts in the utterance.

The answer is constrained to `SCHEMA` (a grammar, temperature 0). Each proposal must pass the
grounding check; one that passes and that the rules did not state becomes a `suggested` fact
(source: the model's name). One that contradicts a stated fact never overrides it: it is kept
as a `conflict` event and counted. Rejections are counted by reason.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tccc.analysis.evidence import UtteranceText
from tccc.analysis.lexicon import Lexicon, load_lexicon
from tccc.events import Fact, Scalar
from tccc.llm.cache import LlmCache, cached_chat
from tccc.llm.grounding import KINDS, Grounded, Rejected, ground
from tccc.llm.model import LanguageModel, Options

MAX_PROPOSALS = 6

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": MAX_PROPOSALS,
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "value": {"type": "string"},
                    "quote": {"type": "string"},
                },
                "required": ["kind", "value", "quote"],
            },
        }
    },
    "required": ["facts"],
}

SYSTEM = (
    "You read what a combat medic said and list the casualty-card facts it states, as JSON. "
    "Kinds: pulse, bp, resp_rate, spo2, pain, avpu, medication, tourniquet, evac, mechanism. "
    "value: as said. quote: the exact words it came from. No fact the words do not state."
)
# Two worked examples as earlier turns: a small model copies the shape of an answer far more
# reliably than it follows a description of one.
EXAMPLES = (
    ("Pulse 96, sats 98 on room air.",
     '{"facts": [{"kind": "pulse", "value": "96", "quote": "Pulse 96"}, '
     '{"kind": "spo2", "value": "98", "quote": "sats 98"}]}'),
    ("Packed the wound and he is talking.", '{"facts": []}'),
)  # fmt: skip
_ITEM = re.compile(
    r'\{\s*"kind"\s*:\s*"([^"]*)"\s*,\s*"value"\s*:\s*"([^"]*)"\s*,\s*"quote"\s*:\s*"([^"]*)"\s*\}'
)


@dataclass
class GapStats:
    """What the stage did with the model's proposals."""

    calls: int = 0
    proposals: int = 0
    suggested: int = 0
    already_stated: int = 0
    conflicts: int = 0
    bad_json: int = 0
    truncated: int = 0
    errors: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


@dataclass
class GapFiller:
    """Asks a model for the facts of an utterance and keeps those that are grounded."""

    model: LanguageModel
    cache: LlmCache = field(default_factory=LlmCache)
    lexicon: Lexicon = field(default_factory=load_lexicon)
    max_tokens: int = 192
    stats: GapStats = field(default_factory=GapStats)

    def messages(self, utt: UtteranceText) -> list[dict[str, str]]:
        """The chat for one utterance: the instructions, then its normalised text."""
        chat = [{"role": "system", "content": SYSTEM}]
        for said, answer in EXAMPLES:
            chat += [{"role": "user", "content": said}, {"role": "assistant", "content": answer}]
        return [*chat, {"role": "user", "content": utt.text.text}]

    def propose(self, utt: UtteranceText) -> list[Any]:
        """The model's proposals for one utterance (empty if its answer is not the schema)."""
        options = Options(max_tokens=self.max_tokens, temperature=0.0, schema=SCHEMA)
        answer = cached_chat(self.model, self.cache, self.messages(utt), options)
        self.stats.calls += 1
        try:
            facts = json.loads(answer.text).get("facts")
        except (ValueError, AttributeError):
            # Cut off at the token cap (a small model repeats itself): the whole items before
            # the cut are still well-formed, since the grammar fixes their shape.
            self.stats.truncated += 1
            facts = [{"kind": k, "value": v, "quote": q} for k, v, q in _ITEM.findall(answer.text)]
        if not isinstance(facts, list):
            self.stats.bad_json += 1
            return []
        unique = list({json.dumps(f, sort_keys=True): f for f in facts}.values())
        return unique[:MAX_PROPOSALS]

    def suggest(
        self, utt: UtteranceText, stated: list[Fact], casualty: str
    ) -> list[tuple[str, dict[str, Scalar], Grounded]]:
        """Grounded proposals the rules did not state: (kind, data, span) to append as facts.

        `stated` are the rule facts of the session so far; conflicts come back with kind
        "conflict" (data names the stated fact), to be logged, never applied.
        """
        out: list[tuple[str, dict[str, Scalar], Grounded]] = []
        for proposal in self.propose(utt):
            self.stats.proposals += 1
            checked = ground(proposal, utt, self.lexicon)
            if isinstance(checked, Rejected):
                self.stats.rejected[checked.reason] += 1
                continue
            same = _stated_alike(checked, stated, casualty, utt.utterance_id)
            if same is None:
                self.stats.suggested += 1
                out.append((checked.kind, checked.data, checked))
            elif _agrees(checked, same):
                self.stats.already_stated += 1
            else:
                self.stats.conflicts += 1
                conflict: dict[str, Scalar] = {
                    "fact": same.id,
                    "kind": checked.kind,
                    "proposed": json.dumps(checked.data, sort_keys=True),
                }
                out.append(("conflict", conflict, checked))
        return out


def _key(kind: str, data: dict[str, Scalar]) -> tuple[str, Scalar]:
    """What two facts must share to be about the same thing (a sign, a drug, a limb...)."""
    if kind == "vital":
        return kind, data.get("sign")
    if kind == "medication":
        return kind, data.get("name")
    if kind == "tourniquet":
        return kind, data.get("limb")
    return kind, None


def _stated_alike(
    checked: Grounded, stated: list[Fact], casualty: str, utterance_id: int
) -> Fact | None:
    """The rule fact of this utterance about the same thing, or any with the same value."""
    key = _key(checked.kind, checked.data)
    for fact in reversed(stated):
        if fact.casualty != casualty or fact.status != "stated":
            continue
        if _key(fact.kind, fact.data) != key:
            continue
        if fact.evidence.utterance_id == utterance_id or _agrees(checked, fact):
            return fact
    return None


def _agrees(checked: Grounded, fact: Fact) -> bool:
    """Whether the proposal says what the stated fact says (on the fields it gives)."""
    return all(fact.data.get(k) == v for k, v in checked.data.items() if v is not None)
