"""Every text the ads show a user, through Django's gettext."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.i18n import render as render  # the apps' texts modules share it

AD_LABEL = _("Ad")
# The inline surface has room for one button only: the label goes into it.
AD_INLINE_BUTTON = _("Ad · {button}")
