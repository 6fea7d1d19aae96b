"""The catalogues against the source: every text of the bot is translated in each
language the bot speaks, and a translated text really differs from English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.functional import Promise

from analytics.vocabulary import SendAs
from botapp import texts
from downloads import texts as download_texts
from downloads.media import errors
from referrals import texts as referral_texts

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
_LINE = re.compile(r'^(msgctxt|msgid|msgstr) (".*")$')


def catalogue(language: str) -> dict[tuple[str | None, str], tuple[str, bool]]:
    """(context, msgid) -> (msgstr, fuzzy), read from the .po file."""
    path = Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po"
    entries, current, key, fuzzy = {}, {}, None, False

    def close():
        if current.get("msgid"):
            entries[(current.get("msgctxt"), current["msgid"])] = (current.get("msgstr", ""), fuzzy)

    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _LINE.match(line):
            if match.group(1) != "msgstr" and "msgstr" in current:
                close()
                current, fuzzy = {}, False
            key = match.group(1)
            current[key] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and key:
            current[key] += ast.literal_eval(line)
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
    close()
    return entries


def source_messages() -> set[tuple[str | None, str]]:
    """Every lazy text the bot defines (texts, error labels, model choices)."""
    found = set()
    lazy = [
        v
        for module in (texts, download_texts, referral_texts)
        for v in vars(module).values()
        if isinstance(v, Promise)
    ]
    lazy += [label for _value, label in (*errors.ErrorCategory.choices, *SendAs.choices)]
    for value in lazy:
        args = value._args
        if len(args) == 2:  # pgettext: (context, message)
            found.add((args[0], args[1]))
        else:
            found.add((None, args[0]))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_translates_every_message_of_the_source(language):
    entries = catalogue(language)
    assert len(source_messages()) > 60
    missing = [m for m in source_messages() if not entries.get(m, ("", False))[0]]
    fuzzy = [m for m, (_text, is_fuzzy) in entries.items() if is_fuzzy]
    empty = [m for m, (text, _fuzzy) in entries.items() if not text]
    assert not missing, f"untranslated in {language}: {missing}"
    assert not fuzzy and not empty


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_keeps_the_placeholders_of_each_message(language):
    for (_context, msgid), (msgstr, _fuzzy) in catalogue(language).items():
        assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", msgstr)), msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_renders_a_different_text_than_english(language):
    english = texts.render("en", texts.HELP, sites="", bot="b", links=5)
    assert texts.render(language, texts.HELP, sites="", bot="b", links=5) != english
    assert texts.render(language, texts.LANGUAGE_SET) != texts.render("en", texts.LANGUAGE_SET)
