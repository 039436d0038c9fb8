"""The medic's questions to the casualty and the casualty's answers ("What's your name?
Alvarez.", "Pain, 0 to 10? Six.", "Any allergies? Doxycycline, I break out."): what a sentence
asks, and the shapes an answer takes."""

from __future__ import annotations

import re

QUESTIONS = (
    ("name", re.compile(r"\bwhat(?:'s|\s+is)\s+your\s+(?:last\s+)?name\b", re.I)),
    ("last4", re.compile(r"\b(?:what(?:'s|\s+is|\s+are)\s+)?your\s+last\s+(?:4|four)\b", re.I)),
    # "Pain, 0 to 10?", "How bad is the pain?", "What's your pain?", "Rate your pain for me."
    (
        "pain",
        re.compile(
            r"\bpain\W+(?:from\s+)?0\s+(?:to|-|through)\s+10\b|\bhow\s+bad\s+is\s+(?:the|your)\s+pain"
            r"|\bwhat(?:'s|\s+is)\s+your\s+pain\b|\brate\s+your\s+pain\b",
            re.I,
        ),
    ),
    ("allergies", re.compile(r"\bany\s+allergies\b|\ballergic\s+to\s+anything\b", re.I)),
    # "Pain?" asked alone ("Pain? He says nine.")
    ("pain", re.compile(r"^\W*pain\W*$", re.I)),
    ("site", re.compile(r"\bwhere\s+(?:are\s+you|were\s+you|did\s+you\s+get)\s+hit\b", re.I)),
)
"""What a question asks for (name, last4, pain, allergies, site) and how it is asked."""
# Answers of the casualty: a pain score, an allergen or "none", where the wound is.
ANSWER_PAIN = re.compile(
    r"\W*(?:(?:he|she)\s+says\s+)?(?:(?:it's|a|about|like|maybe)\s+)*(\d{1,2})\W*", re.I
)
"""A pain score said as the answer ("Six.", "Like a nine.", "He says nine.")."""
ANSWER_PAIN_AGAIN = re.compile(
    r"\W*(?:no|nah|wait|actually|sorry)\b[\s,]+(?:(?:honestly|really|more\s+like|it's|make\s+it|a)"
    r"[\s,]+)*(\d{1,2})\b",
    re.I,
)
"""A pain answer taken back ("No, honestly, it's a seven.")."""
ANSWER_NONE = re.compile(r"\W*(?:no|none|nope|nothing|negative|nah)\b.*", re.I)
"""No allergies ("No.", "Nope, nothing.")."""
ANSWER_ALLERGEN = re.compile(r"\W*([A-Za-z][a-z-]{3,})(?=\s*(?:[,.!]|$))")
"""The allergen said first in the answer ("Doxycycline, I break out in a rash.")."""
ANSWER_NAME = re.compile(r"\W*(?:it's\s+|i'm\s+)?([A-Z][a-z][a-z'’-]+)\W*")
"""A name said as the answer ("Alvarez.", "It's Alvarez.")."""
ANSWER_LAST4 = re.compile(r"\W*(?:it's\s+)?(\d{4})\W*", re.I)
"""The last four said as the answer ("2916.")."""


NOT_ANSWERS = frozenset({"yeah", "yes", "okay", "alright", "sure", "dunno", "maybe", "what"})
"""Words that open an answer without naming an allergen."""


def question(text: str) -> str | None:
    """What a sentence asks the casualty for ("name", "last4"), if it asks."""
    for what, pattern in QUESTIONS:
        if pattern.search(text):
            return what
    return None
