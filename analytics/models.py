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
    INLINE_CHOSEN = "inline_chosen", "inline result chosen"


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
    # The media key of a chosen inline result (the funnel joins it to the download).
    video_id = models.CharField(max_length=128, blank=True)
    # A chosen inline result that was the cached video itself (delivered by the pick).
    from_cache = models.BooleanField(default=False)
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


# --- Rollups read by the dashboard (analytics.rollups keeps them; see its docstring) ---


class _Rollup(models.Model):
    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.db_table} #{self.pk}"


class DashboardAccess(_Rollup):
    """No table: carries the permission that opens the dashboard to a staff member."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the analytics dashboard")]


class DownloadsHourly(_Rollup):
    """Downloads per UTC hour and platform; kept by the event worker."""

    hour = models.DateTimeField()
    platform = models.CharField(max_length=16)
    downloads = models.BigIntegerField(default=0)

    class Meta:
        db_table = "dash_downloads_hourly"
        constraints = [
            models.UniqueConstraint(fields=["hour", "platform"], name="dash_hourly_uniq"),
        ]


class VideoDaily(_Rollup):
    """Downloads per video and UTC day; kept by the event worker."""

    day = models.DateField()
    video_id = models.CharField(max_length=128)
    downloads = models.BigIntegerField(default=0)

    class Meta:
        db_table = "dash_video_daily"
        constraints = [
            models.UniqueConstraint(fields=["day", "video_id"], name="dash_video_daily_uniq"),
        ]
        indexes = [models.Index(fields=["video_id", "day"], name="dash_video_daily_video")]


class UserDay(_Rollup):
    """The UTC hours (bit h = hour h) of one UTC day in which a user downloaded; kept by
    the event worker. Bits are OR-ed in, so a redelivered event changes nothing."""

    user_id = models.BigIntegerField()
    day = models.DateField()
    hours = models.IntegerField(default=0)

    class Meta:
        db_table = "dash_user_days"
        constraints = [
            models.UniqueConstraint(fields=["user_id", "day"], name="dash_user_days_uniq"),
        ]
        indexes = [models.Index(fields=["day"], name="dash_user_days_day")]


class VideoDayTop(_Rollup):
    """The most downloaded videos of one UTC day (the top-N structure behind "top
    videos" over long ranges); refreshed by the rollup job."""

    day = models.DateField()
    video_id = models.CharField(max_length=128)
    downloads = models.BigIntegerField()

    class Meta:
        db_table = "dash_video_day_top"
        indexes = [models.Index(fields=["day"], name="dash_video_day_top_day")]


class UtcDay(_Rollup):
    """Per UTC day: the downloads the job's rollups reflect, and the largest count a
    video outside that day's top list can have (0 when the list holds every video)."""

    day = models.DateField(unique=True)
    downloads = models.BigIntegerField()
    top_threshold = models.BigIntegerField()

    class Meta:
        db_table = "dash_utc_days"


class NewUsersHourly(_Rollup):
    """Users by the UTC hour of their first_seen_at; refreshed by the rollup job."""

    hour = models.DateTimeField(unique=True)
    users = models.IntegerField()

    class Meta:
        db_table = "dash_new_users_hourly"


class IntArrayField(models.Field):
    """``integer[]`` on PostgreSQL (text elsewhere: the dashboard is PostgreSQL only, the
    embedded SQLite default only has to migrate)."""

    def db_type(self, connection) -> str:
        return "integer[]" if connection.vendor == "postgresql" else "text"


class LocalDay(_Rollup):
    """Per dashboard time zone and local day, kept by the rollup job: the downloads it
    reflects (a day whose count moved is redone) and its active users by how long ago
    they were last active. ``users_beyond[k + 1]`` (1-based) counts the users active
    that day whose previous active day lies more than k days back (or who have none
    within ``GAP_HORIZON_DAYS``): so ``users_beyond[1]`` is the day's active users, and
    the distinct users active in days s..e are the sum over those days of
    ``users_beyond[day - s + 1]``, each user counted on their first active day of the
    range."""

    tz = models.CharField(max_length=64)
    day = models.DateField()
    downloads = models.BigIntegerField()
    users_beyond = IntArrayField()

    class Meta:
        db_table = "dash_local_days"
        constraints = [models.UniqueConstraint(fields=["tz", "day"], name="dash_local_days_uniq")]


# The insights' rollups live in their own module; imported here so Django finds them.
from analytics.insights.models import *  # noqa: E402, F403
