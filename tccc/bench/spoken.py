"""How a narration is respelled for a text-to-speech voice: abbreviations said as a medic says them.

Every front end here (espeak-ng, and Piper and Kokoro through espeak-ng's phonemes) reads an
all-caps abbreviation as a word: "IV" becomes "the fourth", "AVPU" becomes "avpoo", "TXA" "tixa".
A medic spells most of them letter by letter (I V, T X A, A V P U, N P A) and says a few as words
(CAT, MIST, MRAP). The rule is general: an all-caps token is spelled unless `SAID_AS` says how it
is spoken. The narration as written stays the reference the export is scored against.
"""

from __future__ import annotations

import re

SAID_AS: dict[str, str] = {
    "CAT": "cat",
    "MIST": "mist",
    "ZMIST": "Z mist",
    "MARCH": "march",
    "MRAP": "em rap",
    "SAM": "Sam",
    "SOFT": "soft",
    "SOFTT": "soft T",
    "JETT": "jet",
    "CROC": "croc",
    "ACE": "ace",
    "NATO": "Nato",
    "OK": "okay",
}
"""Abbreviations said as words, and how to write them so that no front end spells them."""

LETTER_NAMES: dict[str, str] = {"A": "Eh"}
"""Letters a front end reads as a word when they stand alone: espeak-ng reads "A" as the article
(a schwa) even inside "A V P U" or "T-X-A"; "Eh" is its spelling of the letter's name."""

MAX_SPELLED_LETTERS = 5
"""Longest all-caps token spelled out (VBIED, LTOWB); longer ones are words said as such
(MEDEVAC, CASEVAC), which every front end reads acceptably."""

_TOKEN = re.compile(r"\b([A-Z]{2,})(s?)\b")
"""An all-caps token of two or more letters, with an optional plural "s" (IVs, CATs)."""

_LONE_A = re.compile(r"\bA\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"'”’)\]]*)\s*$|[\"“‘(]\s*$")
"""Text before a sentence's first word: nothing, a full stop (and closing quotes), or an opening
quote or bracket."""


def _letter(letter: str) -> str:
    return LETTER_NAMES.get(letter, letter)


def _respell(match: re.Match[str]) -> str:
    word, plural = match.group(1), match.group(2)
    if word in SAID_AS:
        return SAID_AS[word] + plural
    if len(word) > MAX_SPELLED_LETTERS:
        return match.group(0)
    spelled = " ".join(_letter(c) for c in word)
    # "I Vs" would be read "I versus"; "I V's" is the letter's plural.
    return spelled + ("'s" if plural else "")


def _lone_a(text: str) -> str:
    """A capital "A" on its own is the letter (AVPU "A", T-X-A) except where a sentence starts,
    since mid-sentence the article is written "a"."""
    out: list[str] = []
    last = 0
    for match in _LONE_A.finditer(text):
        before = text[: match.start()]
        after = text[match.end() : match.end() + 1]
        if _SENTENCE_START.search(before) and after != "-":
            continue
        out += [text[last : match.start()], _letter("A")]
        last = match.end()
    return "".join(out) + text[last:]


def spoken_form(text: str) -> str:
    """The narration as a voice should read it: abbreviations respelled as a medic says them."""
    return _TOKEN.sub(_respell, _lone_a(text))
