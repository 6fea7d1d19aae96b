"""Texts in a user's language: ``render(language, text, **values)``.

Every message the bot sends goes through here (captions, buttons, ads), each cache hit
several times. Switching Django's active translation for every text (what
``translation.override`` does) was a tenth of a cache hit's CPU, so each lazy text's
translation is looked up once per language and kept; the catalogues do not change while
the process runs. The texts are module constants, so the cache stays small; it is
emptied if something makes lazy texts on the fly.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.functional import Promise

_CACHE_MAX = 20_000
# (language, id of the lazy text) -> (the lazy text, its translation). The text itself is
# kept so that its id cannot be reused by another object while the entry lives.
_translations: dict[tuple[str, int], tuple[Promise, str]] = {}


def translated(language: str, text: Any) -> str:
    """``text`` in ``language`` (a plain string is returned as it is)."""
    if not isinstance(text, Promise):
        return str(text)
    key = (language, id(text))
    entry = _translations.get(key)
    if entry is None or entry[0] is not text:
        with translation.override(language):
            entry = (text, str(text))
        if len(_translations) >= _CACHE_MAX:
            _translations.clear()
        _translations[key] = entry
    return entry[1]


def render(language: str, text: Any, **values: Any) -> str:
    """``text`` in ``language`` with its ``{name}`` placeholders filled."""
    return translated(language, text).format(**values)
