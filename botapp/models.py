from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

REFERRAL_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def referral_code_generate() -> str:
    # 10 characters of a 31-letter alphabet: collisions are negligible, and the unique
    # constraint catches the rest.
    return "".join(secrets.choice(REFERRAL_CODE_ALPHABET) for _ in range(10))


class Platform(models.TextChoices):
    YOUTUBE = "youtube", "YouTube"
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"


class SendAs(models.TextChoices):
    VIDEO = "video", _("video")
    FILE = "file", _("file")


class BotUser(models.Model):
    """A Telegram user who has talked to the bot."""

    user_id = models.BigIntegerField(primary_key=True, help_text="Telegram user id")
    username = models.CharField(max_length=64, blank=True)
    first_name = models.CharField(max_length=128, blank=True)
    language_code = models.CharField(max_length=16, blank=True, help_text="As Telegram reports it")
    language = models.CharField(
        max_length=8, blank=True, help_text="Chosen with /language; overrides language_code"
    )
    first_seen_at = models.DateTimeField(db_index=True)
    last_seen_at = models.DateTimeField(db_index=True)
    total_downloads = models.PositiveIntegerField(default=0)
    # Premium (no ads) lasts until this moment; ``is_paid`` is derived from it, so it
    # can never outlive the period. Written only by ads.payment_services.
    paid_until = models.DateTimeField(null=True, blank=True, db_index=True)
    is_blocked = models.BooleanField(default=False, help_text="The user blocked the bot")
    referral_code = models.CharField(max_length=32, unique=True, default=referral_code_generate)
    referred_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_users",
    )
    default_quality = models.CharField(max_length=16, blank=True)
    send_as = models.CharField(max_length=8, choices=SendAs.choices, default=SendAs.VIDEO)

    class Meta:
        db_table = "users"
        verbose_name = "bot user"
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        if self.username:
            return f"@{self.username}"
        return f"{self.first_name or 'user'} ({self.user_id})"

    @property
    def is_paid(self) -> bool:
        """True exactly while a paid period is running."""
        return self.paid_until is not None and self.paid_until > timezone.now()

    @property
    def ui_language(self) -> str:
        """The language the bot speaks to this user."""
        supported = {code for code, _name in settings.LANGUAGES}
        for candidate in (self.language, (self.language_code or "").split("-")[0].lower()):
            if candidate in supported:
                return candidate
        return "en"


class CachedMedia(models.Model):
    """A video or audio Telegram already holds: (media key, format) -> file_id."""

    media_key = models.CharField(max_length=128)
    format = models.CharField(max_length=32)
    file_id = models.CharField(max_length=255)
    file_unique_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, default="video", help_text="video, audio or document")
    size = models.BigIntegerField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "media_cache"
        verbose_name_plural = "cached media"
        constraints = [
            models.UniqueConstraint(fields=["media_key", "format"], name="media_cache_key_format"),
        ]

    def __str__(self) -> str:
        return f"{self.media_key} [{self.format}]"


class GroupChat(models.Model):
    """A group or supergroup the bot has been added to."""

    chat_id = models.BigIntegerField(primary_key=True)
    title = models.CharField(max_length=255, blank=True)
    auto_download = models.BooleanField(default=True)
    is_member = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "group_chats"

    def __str__(self) -> str:
        return self.title or str(self.chat_id)


class RequestStatus(models.TextChoices):
    CHOOSING = "choosing", "waiting for a quality choice"
    QUEUED = "queued", "queued"
    WAITING_SHARED = "waiting_shared", "waiting for the same media"
    RUNNING = "running", "running"
    DONE = "done", "delivered"
    FAILED = "failed", "failed"


class DownloadRequest(models.Model):
    """One user's request for one piece of media, from the link to the delivered file.

    Statuses move by compare-and-set (``filter(status=old).update(status=new)``), so a
    retried job or a competing worker can never deliver twice.
    """

    user = models.ForeignKey(BotUser, on_delete=models.CASCADE, related_name="requests")
    chat_id = models.BigIntegerField(null=True, blank=True)
    reply_to_message_id = models.BigIntegerField(null=True, blank=True)
    progress_message_id = models.BigIntegerField(null=True, blank=True)
    inline_message_id = models.CharField(max_length=255, blank=True)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    media_key = models.CharField(max_length=128, db_index=True)
    url = models.URLField(max_length=2048)
    format = models.CharField(max_length=32, blank=True)
    source = models.CharField(max_length=16)
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.QUEUED
    )
    error = models.CharField(max_length=32, blank=True)
    job_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "download_requests"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["media_key", "format", "status"], name="requests_media_status"),
            models.Index(fields=["user", "status"], name="requests_user_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.media_key} [{self.format or '?'}] {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (RequestStatus.DONE, RequestStatus.FAILED)
