"""Every text the ads show a user, through Django's gettext."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

AD_LABEL = _("Ad")
# The inline surface has room for one button only: the label goes into it.
AD_INLINE_BUTTON = _("Ad · {button}")


def render(language: str, text: Any, **values: Any) -> str:
    with translation.override(language):
        return str(text).format(**values)
