"""The project's shared words: every app, the events and the tables use these values.

Dependency-free on purpose (only Django's ``TextChoices``, no models, no other app): the
event contract (``analytics.events``) validates against them, and ``users``,
``referrals``, ``downloads`` and ``botapp`` all import them from here, so a value is
spelled in exactly one place.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    YOUTUBE = "youtube", "YouTube"
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"


class DownloadSource(models.TextChoices):
    """Where a request came from."""

    MESSAGE = "message", "private message"
    INLINE = "inline", "inline mode"
    DEEP_LINK = "deep_link", "deep link"
    GROUP = "group", "group chat"


class ChatKind(models.TextChoices):
    """Where a delivery lands."""

    PRIVATE = "private", "private chat"
    GROUP = "group", "group chat"
    INLINE = "inline", "inline message"


class SendAs(models.TextChoices):
    VIDEO = "video", _("video")
    FILE = "file", _("file")


class MediaKind(models.TextChoices):
    """What Telegram holds for a file_id."""

    VIDEO = "video", "video"
    AUDIO = "audio", "audio"
    DOCUMENT = "document", "document"


class ClickType(models.TextChoices):
    BUTTON_CLICK = "button_click", "button click"
    DEEP_LINK = "deep_link", "deep link"
