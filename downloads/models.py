from __future__ import annotations

from django.db import models

from analytics.vocabulary import DownloadSource, Format, MediaKind, Platform

AUDIO_FORMATS = frozenset({Format.AUDIO, Format.AUDIO_MP3})
FILE_SLOT_SUFFIX = "-file"
# A video sent as a file is another file_id than the same video sent as a video.
CACHE_SLOTS = [
    *Format.choices,
    *(
        (f"{value}{FILE_SLOT_SUFFIX}", f"{label}, sent as a file")
        for value, label in Format.choices
        if value not in AUDIO_FORMATS
    ),
]


class CachedMedia(models.Model):
    """A video or audio Telegram already holds: (media key, slot) -> file_id. The slot
    is the format, or ``<format>-file`` for a video sent as a file (a document)."""

    media_key = models.CharField(max_length=128)
    format = models.CharField(max_length=32, choices=CACHE_SLOTS)
    file_id = models.CharField(max_length=255)
    file_unique_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, choices=MediaKind.choices, default=MediaKind.VIDEO)
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

    user = models.ForeignKey("users.BotUser", on_delete=models.CASCADE, related_name="requests")
    chat_id = models.BigIntegerField(null=True, blank=True)
    reply_to_message_id = models.BigIntegerField(null=True, blank=True)
    progress_message_id = models.BigIntegerField(null=True, blank=True)
    inline_message_id = models.CharField(max_length=255, blank=True)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    media_key = models.CharField(max_length=128, db_index=True)
    url = models.URLField(max_length=2048)
    format = models.CharField(max_length=32, blank=True, choices=Format.choices)
    source = models.CharField(max_length=16, choices=DownloadSource.choices)
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
        constraints = [
            # One request per picked inline placeholder, however often Telegram reports
            # the pick (``download_request_create``).
            models.UniqueConstraint(
                fields=["inline_message_id"],
                condition=~models.Q(inline_message_id=""),
                name="requests_inline_message",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.media_key} [{self.format or '?'}] {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (RequestStatus.DONE, RequestStatus.FAILED)


class InlinePick(models.Model):
    """The first report of a picked cached inline result (``inline.cached_pick_publish``):
    its download event carries this time however often Telegram reports the pick.
    Rows older than ``inline.PICK_TTL`` are dropped as new picks come in."""

    inline_message_id = models.CharField(max_length=255, primary_key=True)
    picked_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "inline_picks"

    def __str__(self) -> str:
        return f"{self.inline_message_id} at {self.picked_at:%Y-%m-%d %H:%M:%S}"
