"""Language codes: validating what clients send, and the English names the OpenAI API reports."""

from __future__ import annotations

import re

from tccc.errors import ProtocolError

_NAMES = {
    "en": "english",
    "de": "german",
    "es": "spanish",
    "fr": "french",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "uk": "ukrainian",
    "pl": "polish",
    "ar": "arabic",
    "fa": "persian",
    "ps": "pashto",
    "ur": "urdu",
    "hi": "hindi",
    "zh": "chinese",
    "ja": "japanese",
    "ko": "korean",
    "tr": "turkish",
    "he": "hebrew",
    "sv": "swedish",
    "no": "norwegian",
    "da": "danish",
    "fi": "finnish",
    "ro": "romanian",
    "cs": "czech",
}


def language_name(code: str) -> str:
    """English name of a language code ("en" -> "english"); unknown codes are returned as is."""
    return _NAMES.get(code, code)


_WHISPER_CODES = """af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr
gl gu ha haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr
ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl
tr tt uk ur uz vi yi yo zh yue"""
WHISPER_LANGUAGES = frozenset(_WHISPER_CODES.split())
"""Every language code Whisper knows (faster-whisper's list)."""

_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")
"""A language tag: a code, then optional region or script subtags ("en", "en-US", "zh_Hant")."""


def normalise_language(value: object) -> str | None:
    """The Whisper code of a client's `language` (None when not given).

    A tag with a region is its language ("en-US" -> "en"; Home Assistant sends those).
    Anything else is refused before it reaches the model or a log line (the model's own
    warnings quote it): ProtocolError with code `invalid_language`, whose message never
    repeats the value.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 35 or not _TAG.fullmatch(value):
        raise ProtocolError(
            "language must be a language code such as 'en'", code="invalid_language"
        )
    code = value.replace("_", "-").split("-", 1)[0].lower()
    if code not in WHISPER_LANGUAGES:
        raise ProtocolError(
            "language is not one Whisper knows (a code such as 'en')", code="invalid_language"
        )
    return code
