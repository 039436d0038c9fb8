"""Join live finals into one text that reads like a single decode of the whole stream.

Live transcription cuts speech at pauses and Whisper decodes each utterance on its own, so each
final starts with a capital and often ends with a period or an exclamation mark that the model
only added because its audio stopped there: "And so my fellow Americans. Ask not!" where one
decode of the whole clip writes "And so my fellow Americans ask not". The live transcriber reads
how a pause really joins its two sides from a short decode across it (the tail of the previous
utterance, the pause, the head of the next: `read_boundary`); `join_pair` then rewrites only the
previous final's end punctuation and the next final's first letter. Without that evidence the
rule keeps what Whisper wrote unless the join is plain (a long pause is a sentence break; after
a final with no sentence end a capitalised function word is lowered). Proper nouns, acronyms and
"I" keep their capitals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tccc.events import LiveTranscript, Word
from tccc.stt.agreement import word_key

LONG_PAUSE_S = 3.0
"""A pause at least this long between two finals is a sentence break (no decode across it)."""
MAX_SHIFT_S = 1.5
"""How far from the pause a matching word pair of the boundary decode may lie."""

_SENTENCE_END = frozenset(".!?")
_TRAILING = re.compile(r"[.!?,;:\u2026]+$")
"""End punctuation a join may rewrite (and a live stream therefore holds back)."""
_ABBREVIATION = re.compile(r"(?:\b\w\.){2,}$")
"""U.S., p.m., e.g.: their last period belongs to the word."""
_I_WORDS = frozenset({"i", "i'm", "i'll", "i've", "i'd"})
_FUNCTION_WORDS_TEXT = """
    a an the and but or nor so yet for if then than that this these those there here
    of to in on at by with from into onto over under after before about around through up down
    out off as is are was were be been being am do does did done have has had will would shall
    should can could may might must not no yes it its it's he him his she her they them their we
    us our you your me my what which who whom whose when where why how all any some each every
    both either neither also just still even only very too again now well oh ok okay please
    one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty
    hundred thousand first second third"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())
"""Words Whisper capitalises only because they start a segment (never proper nouns)."""
_DIGIT_WORDS_TEXT = """zero one two three four five six seven eight nine ten
    eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"""
_DIGIT_WORDS = dict(enumerate(_DIGIT_WORDS_TEXT.split()))


def _key(text: str) -> str:
    """Comparison form of a word; a small numeral is its word (a decode writes "2" or "Two")."""
    key = word_key(text)
    return _DIGIT_WORDS.get(int(key), key) if key.isdigit() and len(key) <= 2 else key


@dataclass(frozen=True, slots=True)
class Boundary:
    """How a decode across the pause joined the previous utterance to the next one."""

    punct: str
    """Punctuation it wrote after the previous utterance's last word ("" for none)."""
    next_capital: bool | None
    """Whether it wrote the next utterance's first word with a capital; None when the word it
    heard there is not that word (no reading of its case)."""

    @property
    def sentence_end(self) -> bool:
        """The pause ends a sentence ("..." is a hesitation, not an end)."""
        p = self.punct
        return bool(p) and p[-1] in _SENTENCE_END and not p.endswith("..")


def _trailing_punct(text: str) -> str:
    match = _TRAILING.search(text)
    return match.group(0) if match else ""


def read_boundary(
    words: Sequence[Word], split_s: float, prev_last: str, next_first: str
) -> Boundary | None:
    """Read a boundary decode: the punctuation after `prev_last` and the case of `next_first`.

    `words` are the decode's words (times from the start of its audio), `split_s` the middle of
    the pause in that audio. The pair of words (previous last, next first) nearest the pause is
    looked for by their text; failing that, the words either side of the pause are used when at
    least one of them is the expected word. None when the decode heard neither.
    """
    if len(words) < 2:
        return None
    keys = [_key(w.text) for w in words]
    prev_key, next_key = _key(prev_last), _key(next_first)
    best: tuple[float, int] | None = None
    for i in range(len(words) - 1):
        if keys[i] == prev_key and keys[i + 1] == next_key:
            shift = abs((words[i].end + words[i + 1].start) / 2 - split_s)
            if shift <= MAX_SHIFT_S and (best is None or shift < best[0]):
                best = (shift, i)
    if best is not None:
        i = best[1]
    else:
        before = [j for j, w in enumerate(words) if (w.start + w.end) / 2 < split_s]
        if not before or before[-1] + 1 >= len(words):
            return None
        i = before[-1]
        if keys[i] != prev_key and keys[i + 1] != next_key:
            return None
    nxt = words[i + 1].text
    letter = next((c for c in nxt if c.isalpha()), "")
    # A numeral has no case: it says nothing of how the next word is written.
    capital = letter.isupper() if keys[i + 1] == next_key and letter else None
    return Boundary(_trailing_punct(words[i].text), capital)


def _first_word(text: str) -> tuple[int, str]:
    """Index of the first letter of `text` and the word it starts (as written)."""
    for i, c in enumerate(text):
        if c.isalpha():
            return i, text[i:].split(maxsplit=1)[0]
    return -1, ""


def _keeps_capital(word: str) -> bool:
    """I, I'm; acronyms (TXA, IV, OK) keep their capitals whatever starts them."""
    key = word_key(word)
    letters = [c for c in word if c.isalpha()]
    return key in _I_WORDS or sum(c.isupper() for c in letters) >= 2


def _lower_first(text: str, *, function_words_only: bool) -> str:
    i, word = _first_word(text)
    if i < 0 or not text[i].isupper() or _keeps_capital(word):
        return text
    if function_words_only and word_key(word) not in _FUNCTION_WORDS:
        return text
    return text[:i] + text[i].lower() + text[i + 1 :]


def _upper_first(text: str) -> str:
    i, _ = _first_word(text)
    return text if i < 0 else text[:i] + text[i].upper() + text[i + 1 :]


def _strip_end(text: str) -> str:
    """Text without its trailing end punctuation (an abbreviation keeps its period)."""
    if _ABBREVIATION.search(text):
        return text
    return _TRAILING.sub("", text)


def join_pair(prev: str, nxt: str, *, gap_s: float, boundary: Boundary | None) -> tuple[str, str]:
    """The previous final's and the next final's text as one decode would have joined them.

    Only the end punctuation of `prev` and the first letter of `nxt` change.
    """
    if not prev or not nxt:
        return prev, nxt
    ends_sentence = prev[-1] in _SENTENCE_END
    if boundary is None:
        if gap_s >= LONG_PAUSE_S:
            # A long silence is a sentence break, whatever the model wrote at either side.
            if not ends_sentence:
                prev = _strip_end(prev) + "."
            return prev, _upper_first(nxt)
        if ends_sentence:
            return prev, nxt  # the model ended the sentence and nothing says otherwise
        return prev, _lower_first(nxt, function_words_only=True)
    if boundary.sentence_end:
        if not ends_sentence:
            prev = _strip_end(prev) + boundary.punct[-1]
        return prev, _upper_first(nxt)
    # The sentence goes on: the pause's own punctuation (a comma, or none) replaces the end.
    prev = _strip_end(prev) + boundary.punct
    if boundary.next_capital:
        return prev, nxt  # a proper noun (or I): the model capitalised it mid-sentence
    return prev, _lower_first(nxt, function_words_only=boundary.next_capital is None)


def settled(text: str) -> str:
    """The part of a session's text later finals cannot change (its end punctuation held back).

    A stream of append-only deltas sends only this: the next final may still turn a trailing
    period into a comma.
    """
    return _TRAILING.sub("", text).rstrip()


def _gap_s(last_end: float | None, event: LiveTranscript) -> float:
    if last_end is None:
        return 0.0
    start = event.words[0].start if event.words else event.start
    return max(0.0, start - last_end)


@dataclass
class SessionText:
    """The finals of one live session joined into one text (`join_pair` at every pause)."""

    parts: list[str] = field(default_factory=list)
    """Each non-empty final's text, as joined so far."""
    _last_end: float | None = None

    @property
    def text(self) -> str:
        """All final text so far."""
        return " ".join(self.parts)

    def add(self, event: LiveTranscript, boundary: Boundary | None) -> None:
        """Append a final; `boundary` is how it joins the final before it (if known)."""
        text = event.committed.strip()
        if not text:
            return
        if self.parts:
            gap = _gap_s(self._last_end, event)
            self.parts[-1], text = join_pair(self.parts[-1], text, gap_s=gap, boundary=boundary)
        self.parts.append(text)
        self._last_end = event.words[-1].end if event.words else event.end

    def with_partial(self, event: LiveTranscript, boundary: Boundary | None) -> str:
        """The text so far followed by a partial's committed text, joined the same way."""
        text = event.committed.strip()
        if not text:
            return self.text
        if not self.parts:
            return text
        prev, text = join_pair(
            self.parts[-1], text, gap_s=_gap_s(self._last_end, event), boundary=boundary
        )
        return " ".join([*self.parts[:-1], prev, text])
