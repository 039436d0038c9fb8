"""Suppression of text Whisper invents: on silence, from its prompt, or in repetition loops."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tccc.events import Segment

_WORD = re.compile(r"[a-z0-9']+")

SILENCE_PHRASES = frozenset(
    {
        "you",
        "thank you",
        "thanks for watching",
        "thank you for watching",
        "thank you very much",
        "please subscribe",
        "bye",
        "oh",
        "so",
        "the end",
    }
)
"""What Whisper writes over silence or noise (suppressed only when the decode is unsure)."""


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def compression_ratio(text: str) -> float:
    """Length of the UTF-8 text over its zlib-compressed length (Whisper's loop measure)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def has_repetition_loop(words: Sequence[str], *, min_repeats: int = 3, max_ngram: int = 6) -> bool:
    """True when an n-gram repeats back to back at least `min_repeats` times."""
    for n in range(1, max_ngram + 1):
        # "no, no, no" is real speech; a single word needs one more repeat to count as a loop.
        repeats = min_repeats + 1 if n == 1 else min_repeats
        for i in range(len(words) - n * repeats + 1):
            gram = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == gram for k in range(1, repeats)):
                return True
    return False


def is_prompt_echo(text: str, prompt: str | None, *, min_words: int = 3) -> bool:
    """True when the text is a run of the prompt's words (the decoder read its prompt back)."""
    if not prompt:
        return False
    words = _words(text)
    if len(words) < min_words:
        return False
    joined = " ".join(words)
    return joined in " ".join(_words(prompt))


@dataclass(frozen=True)
class HallucinationFilter:
    """Drops invented segments and counts what it dropped, by reason."""

    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    prompt: str | None = None
    """The decoder prompt (vocabulary); text that merely repeats it is an echo."""
    counts: Counter[str] = field(default_factory=Counter, compare=False)
    """Segments suppressed per reason since this filter was made."""

    def reason(self, segment: Segment) -> str | None:
        """Why the segment should be suppressed, or None to keep it."""
        text = segment.text.strip()
        words = _words(text)
        if not words:
            return "empty"
        unsure = segment.avg_logprob < self.log_prob_threshold
        if segment.no_speech_prob > self.no_speech_threshold and unsure:
            return "no_speech"
        if compression_ratio(text) > self.compression_ratio_threshold:
            return "compression"
        if has_repetition_loop(words):
            return "repetition"
        if is_prompt_echo(text, self.prompt):
            return "prompt_echo"
        if " ".join(words) in SILENCE_PHRASES and (segment.no_speech_prob > 0.3 or unsure):
            return "silence_phrase"
        return None

    def filter(self, segments: Iterable[Segment]) -> tuple[Segment, ...]:
        """Segments worth keeping; the others are counted under their reason."""
        kept: list[Segment] = []
        for segment in segments:
            why = self.reason(segment)
            if why is None:
                kept.append(segment)
            elif why != "empty":
                self.counts[why] += 1
        return tuple(kept)

    @property
    def suppressed(self) -> int:
        """Total segments suppressed."""
        return sum(self.counts.values())
