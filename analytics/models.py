from __future__ import annotations

from django.db import models

from analytics.vocabulary import ClickType, DownloadSource, Platform


class Video(models.Model):
    """A piece of media, by its media key (``youtube:dQw4w9WgXcQ``)."""

    video_id = models.CharField(max_length=128, primary_key=True)
    platform = models.CharField(max_length=16, choices=Platform.choices, db_index=True)
    title = models.CharField(max_length=512, blank=True)
    url = models.URLField(max_length=2048, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="seconds")
    first_seen_at = models.DateTimeField(db_index=True)
    # Not indexed: every batch bumps it for hundreds of videos, and an indexed column
    # makes each of those updates write every index of the table (no HOT update).
    total_downloads = models.PositiveIntegerField(default=0)
    last_download_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "videos"
        ordering = ["-total_downloads"]

    def __str__(self) -> str:
        return self.title or self.video_id


class Download(models.Model):
    """One delivered video. History: rows are written by the event worker only.

    On PostgreSQL the table is partitioned by month of ``created_at`` (migration 0002),
    its real primary key is (id, created_at) and ``id`` comes from a sequence, so it
    stays unique in practice. A unique index on ``event_id`` alone cannot exist on a
    partitioned table; (event_id, created_at) is unique instead. That is enough for
    idempotency because ``created_at`` is the event's own ``occurred_at``: a redelivered
    event carries the same pair. Two rows with one event_id and different times are
    therefore not refused by the database, only by the writer never producing them.
    """

    # Event tables carry no database-level foreign keys: the event worker writes users,
    # videos and downloads in one batch, and history must survive a deleted user.
    user = models.ForeignKey(
        "users.BotUser", on_delete=models.DO_NOTHING, db_constraint=False, related_name="downloads"
    )
    video = models.ForeignKey(
        Video, on_delete=models.DO_NOTHING, db_constraint=False, related_name="downloads"
    )
    platform = models.CharField(max_length=16, choices=Platform.choices)
    source = models.CharField(max_length=16, choices=DownloadSource.choices)
    format = models.CharField(max_length=32, blank=True)
    from_cache = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    event_id = models.UUIDField()

    class Meta:
        db_table = "downloads"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "created_at"], name="downloads_event_created_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="downloads_user_created"),
            models.Index(fields=["video", "created_at"], name="downloads_video_created"),
            models.Index(fields=["created_at"], name="downloads_created"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.video_id}"


class ClickEvent(models.Model):
    """A press of a "Watch video" button or an arrival through a video deep link."""

    user = models.ForeignKey(
        "users.BotUser", on_delete=models.DO_NOTHING, db_constraint=False, related_name="clicks"
    )
    event_type = models.CharField(max_length=16, choices=ClickType.choices)
    video = models.ForeignKey(
        Video,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="clicks",
    )
    created_at = models.DateTimeField()
    event_id = models.UUIDField(unique=True)

    class Meta:
        db_table = "click_events"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"], name="clicks_user_created"),
            models.Index(fields=["video", "created_at"], name="clicks_video_created"),
            models.Index(fields=["created_at"], name="clicks_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.user_id}"


class FunnelStep(models.TextChoices):
    INLINE_QUERY = "inline_query", "inline query"
    DOWNLOAD_FAILED = "download_failed", "download failed"


class FunnelEvent(models.Model):
    """A step of the funnel that is not a download: inline queries and failures."""

    event_id = models.UUIDField(unique=True)
    step = models.CharField(max_length=24, choices=FunnelStep.choices)
    user = models.ForeignKey(
        "users.BotUser",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="funnel_events",
    )
    platform = models.CharField(max_length=16, blank=True)
    url = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "funnel_events"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["step", "created_at"], name="funnel_step_created"),
            models.Index(fields=["user", "created_at"], name="funnel_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.step} by {self.user_id}"
