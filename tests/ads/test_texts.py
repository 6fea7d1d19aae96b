"""The ads' texts are translated in every language the bot speaks."""

from __future__ import annotations

import pytest
from django.utils.functional import Promise

from ads import texts
from tests.i18n.test_catalogues import LANGUAGES, catalogue


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_translates_every_ads_text(language):
    entries = catalogue(language)
    lazy = [v for v in vars(texts).values() if isinstance(v, Promise)]
    assert len(lazy) >= 2
    for message in lazy:
        assert entries.get((None, message._args[0]), ("", False))[0], message._args[0]
        assert texts.render(language, message, button="x") != texts.render(
            "en", message, button="x"
        )
