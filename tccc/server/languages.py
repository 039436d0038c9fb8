"""Whisper language codes to the English names the OpenAI API reports."""

from __future__ import annotations

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
