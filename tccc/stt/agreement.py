"""LocalAgreement-2: commit the words on which consecutive hypotheses agree.

While an utterance is still being spoken its audio is decoded again and again. A word is
committed once two consecutive hypotheses agree on it and on every word before it (as in
whisper_streaming); committed words are never changed afterwards, so a live view can print
them for good. The final decode only decides the words after the committed prefix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tccc.events import Word

_STRIP = re.compile(r"[^\w%/.'-]+|(?<!\d)[.]|[.](?!\d)")


def word_key(text: str) -> str:
    """Comparison form of a word: lower case, surrounding punctuation removed."""
    return _STRIP.sub("", text.lower()).strip("'-")


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class LocalAgreement:
    """Committed-prefix tracker for one utterance."""

    committed: list[Word] = field(default_factory=list)
    """Words that will not change."""
    tentative: list[Word] = field(default_factory=list)
    """Words of the latest hypothesis after the committed prefix."""
    _previous: list[str] = field(default_factory=list)

    def update(self, hypothesis: Sequence[Word]) -> list[Word]:
        """Take a new hypothesis of the whole utterance; return the words newly committed."""
        keys = [word_key(w.text) for w in hypothesis]
        done = len(self.committed)
        # A hypothesis that no longer starts with the committed words cannot extend them.
        if keys[:done] != [word_key(w.text) for w in self.committed]:
            self.tentative = list(hypothesis[self._align(hypothesis) :])
            self._previous = keys
            return []
        agreed = _common_prefix(keys[done:], self._previous[done:])
        new = list(hypothesis[done : done + agreed])
        self.committed.extend(new)
        self.tentative = list(hypothesis[done + agreed :])
        self._previous = keys
        return new

    def finish(self, final: Sequence[Word]) -> list[Word]:
        """Take the final hypothesis; commit and return everything after the committed prefix."""
        rest = list(final[self._align(final) :])
        self.committed.extend(rest)
        self.tentative = []
        return rest

    def _align(self, hypothesis: Sequence[Word]) -> int:
        """Index in `hypothesis` just after the part that corresponds to the committed words."""
        if not self.committed:
            return 0
        keys = [word_key(w.text) for w in hypothesis]
        done = [word_key(w.text) for w in self.committed]
        if keys[: len(done)] == done:
            return len(done)
        # The decoder changed its mind about committed words (they stay as committed): find
        # where the committed text ends in the new hypothesis by aligning the two.
        matcher = difflib.SequenceMatcher(a=done, b=keys, autojunk=False)
        end = 0
        for block in matcher.get_matching_blocks():
            if block.size:
                end = block.b + block.size
        # Words heard where the committed ones already are ("range" committed, "rays" now)
        # are other readings of the same audio, not new speech: skip them too.
        limit = self.committed[-1].end
        while end < len(hypothesis) and (hypothesis[end].start + hypothesis[end].end) / 2 <= limit:
            end += 1
        return end
