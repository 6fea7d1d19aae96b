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


class ErrorCategory(models.TextChoices):
    """Why a download failed, in terms a user understands (``DownloadFailed.reason``)."""

    UNSUPPORTED = "unsupported", _("unsupported link")
    PRIVATE = "private", _("private video")
    REMOVED = "removed", _("removed video")
    SIGN_IN_REQUIRED = "sign_in_required", _("sign-in or age check required")
    # The platform asks the server itself to sign in ("confirm you're not a bot"): no
    # video of it can be fetched until the operator acts (cookies, proxy, yt-dlp).
    BOT_CHECK = "bot_check", _("the site demands a sign-in from the server (bot check)")
    REGION_BLOCKED = "region_blocked", _("not available in this region")
    LIVE_STREAM = "live_stream", _("live stream")
    TOO_LARGE = "too_large", _("file too large")
    TOO_LONG = "too_long", _("longer than the longest video fetched")
    RATE_LIMITED = "rate_limited", _("the site refuses requests for now")
    TIMEOUT = "timeout", _("took too long")
    INTERNAL = "internal", _("internal error")


class Format(models.TextChoices):
    """The format/quality of a fetch; the key of a cached file next to its media key."""

    P360 = "360p", "360p"
    P480 = "480p", "480p"
    P720 = "720p", "720p"
    P1080 = "1080p", "1080p"
    AUDIO = "audio", "audio only (M4A)"
    AUDIO_MP3 = "mp3", "audio only (MP3)"
    BEST = "best", "best that fits"
