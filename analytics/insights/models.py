"""The insights' rollups (tables ``dash_ins_*``), kept by the rollup job
(``analytics.insights.rollups``) and recomputable from raw rows by ``rebuild_rollups``."""

from __future__ import annotations

from django.db import models


class _Rollup(models.Model):
    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.db_table} #{self.pk}"


__all__ = [
    "CohortDay",
    "CohortSize",
    "Conversion",
    "GeoDay",
    "InsightDay",
    "InsightState",
    "Journey",
    "JourneyFirstsDay",
    "JourneyFirstsMonth",
    "LocalHour",
    "Retention",
]


class InsightState(_Rollup):
    """What each insights refresh last reflected: a fingerprint of its sources, a cursor
    (the highest raw id it has read) and when it ran."""

    name = models.CharField(max_length=32, primary_key=True)
    fingerprint = models.TextField(blank=True)
    cursor = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "dash_ins_state"


class InsightDay(_Rollup):
    """Per UTC day: the downloads ``LocalHour`` reflects (a day whose count moved is redone)."""

    day = models.DateField(primary_key=True)
    downloads = models.BigIntegerField()

    class Meta:
        db_table = "dash_ins_days"


class LocalHour(_Rollup):
    """Downloads by users whose own time zone is known (shared location), per UTC hour,
    by the weekday (ISO, 1 = Monday) and hour in the user's local time."""

    hour = models.DateTimeField()
    weekday = models.SmallIntegerField()
    local_hour = models.SmallIntegerField()
    downloads = models.BigIntegerField()

    class Meta:
        db_table = "dash_ins_local_hours"
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "weekday", "local_hour"], name="dash_ins_local_hours_uniq"
            )
        ]


class GeoDay(_Rollup):
    """Users by the UTC day they were first seen, their area (an IANA zone from a shared
    location, or the region of their language), their UTC offset in minutes (the zone's,
    or inferred from their hours of activity; null when unknown) and the best source."""

    day = models.DateField()
    area = models.CharField(max_length=64)
    utc_offset = models.SmallIntegerField(null=True)
    source = models.CharField(max_length=16)
    users = models.IntegerField()

    class Meta:
        db_table = "dash_ins_geo_days"
        indexes = [models.Index(fields=["day"], name="dash_ins_geo_days_day")]


class Conversion(_Rollup):
    """Clicks per UTC hour, click type and platform, by the hours until the same user
    downloaded the same video (``delay_hours`` = ceil(seconds / 3600); ``NEVER`` when not
    within ``MAX_WINDOW_HOURS``)."""

    NEVER = 32767
    hour = models.DateTimeField()
    click_type = models.CharField(max_length=16)
    platform = models.CharField(max_length=16)
    delay_hours = models.SmallIntegerField()
    clicks = models.IntegerField()

    class Meta:
        db_table = "dash_ins_conversions"
        indexes = [models.Index(fields=["hour"], name="dash_ins_conversions_hour")]


_FIGURES = ["previous_started_at", "platform", "language", "chosen_after", "downloaded_after"]


class Journey(_Rollup):
    """A user's first inline query of one UTC hour and what followed: seconds to the
    first chosen result or "Watch video" click, and from the query to a download of
    that video (null: none within ``MAX_WINDOW_HOURS``)."""

    user_id = models.BigIntegerField()
    started_at = models.DateTimeField()
    platform = models.CharField(max_length=16, blank=True)
    language = models.CharField(max_length=8, blank=True)
    chosen_after = models.IntegerField(null=True)
    downloaded_after = models.IntegerField(null=True)
    # The user's journey before this one (null: none): this is their first of a period
    # starting after it, with no sort per user on a request.
    previous_started_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "dash_ins_journeys"
        # Covering: a period's first journeys are read from the indexes alone, each
        # user's very first from the partial one (most of them over a long period), the
        # others from the period's journeys or those whose previous one came before it.
        indexes = [
            models.Index(fields=["started_at"], include=_FIGURES, name="dash_ins_journeys_period"),
            models.Index(
                fields=["started_at"], include=_FIGURES, name="dash_ins_journeys_firsts",
                condition=models.Q(previous_started_at__isnull=True),
            ),
            models.Index(
                fields=["previous_started_at", "started_at"], include=_FIGURES,
                name="dash_ins_journeys_previous",
            ),
        ]  # fmt: skip
        constraints = [
            models.UniqueConstraint(fields=["user_id", "started_at"], name="dash_ins_journeys_uniq")
        ]


_FIRSTS_COUNTS = ["kind", "platform", "language", "seconds", "hours", "users"]


class _JourneyFirsts(_Rollup):
    """Counts of users' very first journeys (``previous_started_at`` null), by what the
    funnel groups them by, so that a long period's funnel adds up a few rows per day or
    month instead of reading one journey per user (its medians come from these counts
    of seconds). ``kind`` STEP: by ``seconds`` = ``chosen_after`` (null: no step);
    ``kind`` DOWNLOAD: by ``seconds`` = seconds from the step to the download (-1: a
    download without a step) and ``hours`` = the download's hours after the query,
    rounded up (a window of W hours holds it when ``hours`` <= W); both null: none."""

    STEP = 0
    DOWNLOAD = 1

    kind = models.SmallIntegerField()
    platform = models.CharField(max_length=16, blank=True)
    language = models.CharField(max_length=8, blank=True)
    seconds = models.IntegerField(null=True)
    hours = models.IntegerField(null=True)
    users = models.IntegerField()

    class Meta:
        abstract = True


class JourneyFirstsDay(_JourneyFirsts):
    """The first journeys of one UTC day."""

    day = models.DateField()

    class Meta:
        db_table = "dash_ins_journey_firsts"
        indexes = [
            models.Index(fields=["day"], include=_FIRSTS_COUNTS, name="dash_ins_journey_firsts_day")
        ]


class JourneyFirstsMonth(_JourneyFirsts):
    """``JourneyFirstsDay`` added up per UTC month (``month``: its first day), for the
    whole months of a long period."""

    month = models.DateField()

    class Meta:
        db_table = "dash_ins_journey_firsts_months"
        indexes = [
            models.Index(
                fields=["month"], include=_FIRSTS_COUNTS, name="dash_ins_journey_firsts_month"
            )
        ]


class CohortDay(_Rollup):
    """Per time zone, kind of activity and local day: the users first seen on local day
    ``cohort`` who were active that day (retention "on day N" reads day = cohort + N),
    and how many of them were not active before in that ISO week / month (summed over a
    week's / month's days: the distinct users of a cohort active in it)."""

    tz = models.CharField(max_length=64)
    activity = models.CharField(max_length=16)
    day = models.DateField()
    cohort = models.DateField()
    users = models.IntegerField()
    first_in_week = models.IntegerField()
    first_in_month = models.IntegerField()

    class Meta:
        db_table = "dash_ins_cohort_days"
        indexes = [
            models.Index(fields=["tz", "activity", "cohort"], name="dash_ins_cohort_days_key"),
            models.Index(fields=["tz", "activity", "day"], name="dash_ins_cohort_days_day"),
        ]


class Retention(_Rollup):
    """Per time zone, kind of activity and first-seen local day: the users whose last
    active local day is N or more days after it (N in ``RETENTION_DAYS``): retention
    "on or after day N"."""

    tz = models.CharField(max_length=64)
    activity = models.CharField(max_length=16)
    cohort_day = models.DateField()
    day_n = models.SmallIntegerField()
    users_after = models.IntegerField()

    class Meta:
        db_table = "dash_ins_retention"
        indexes = [models.Index(fields=["tz", "activity", "cohort_day"], name="dash_ins_ret")]


class CohortSize(_Rollup):
    """Users first seen per local day of a dashboard time zone."""

    tz = models.CharField(max_length=64)
    day = models.DateField()
    users = models.IntegerField()

    class Meta:
        db_table = "dash_ins_cohort_sizes"
        constraints = [models.UniqueConstraint(fields=["tz", "day"], name="dash_ins_sizes_uniq")]
