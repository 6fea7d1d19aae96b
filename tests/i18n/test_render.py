"""``config.i18n.render``: each lazy text in the asked language, its translation kept."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ads.texts import AD_INLINE_BUTTON, AD_LABEL
from config import i18n
from downloads.texts import QUALITY_AUDIO


def test_each_language_gets_its_own_translation_whatever_is_active():
    with translation.override("uk"):  # the active language plays no part
        assert i18n.render("ru", QUALITY_AUDIO) == "Только звук"
        assert i18n.render("es", QUALITY_AUDIO) == "Solo audio"
        assert i18n.render("ru", AD_LABEL) == "Реклама"
        assert i18n.render("en", QUALITY_AUDIO) == "Audio only"
    assert i18n.render("uk", QUALITY_AUDIO) == "Лише звук"
    assert i18n.render("ru", QUALITY_AUDIO) == "Только звук"  # from the cache, still right


def test_placeholders_are_filled_and_plain_strings_pass_through():
    assert i18n.render("en", AD_INLINE_BUTTON, button="Buy") == "Ad · Buy"
    assert i18n.render("ru", "{n} and {{braces}}", n=3) == "3 and {braces}"


def test_a_lazy_text_made_on_the_fly_is_never_mistaken_for_another(monkeypatch):
    monkeypatch.setattr(i18n, "_CACHE_MAX", 4)
    for n in range(50):  # ids of dead objects get reused; the kept text tells them apart
        assert i18n.render("en", _(f"text {n}")) == f"text {n}"
    assert len(i18n._translations) <= 4
