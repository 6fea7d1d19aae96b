"""The insights' rollups, kept by the rollup job (``analytics.rollups.rollups_refresh``
calls ``insights_refresh`` in its transaction, under its lock).

Every run (cheap, incremental):

- downloads in users' own local time: the UTC days whose download total moved since
  the last run are regrouped from ``downloads`` (users with a zone from a shared
  location only);
- conversions and inline journeys of clicks / inline queries stored since the last run
  (a cursor on the raw tables' ids): their UTC hours are regrouped.

When the sources moved and ``DASHBOARD_INSIGHTS_SECONDS`` have passed since the last
time (heavy, full recompute; a few seconds at a million users):

- geography per first-seen UTC day, area, UTC offset and source;
- retention (day N, "on that day" and "on or after") and cohort cells (week, month) per
  dashboard time zone and kind of activity;
- conversions and journeys of the last ``MAX_WINDOW_HOURS`` + 1 day again (a download
  that came after its click was regrouped).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from analytics.rollups import dashboard_time_zones, rollup_rebuilder, rollup_refresher

from .models import Conversion

MAX_WINDOW_HOURS = 168  # the longest conversion window the API accepts (a week)
RETENTION_DAYS = (1, 7, 14, 30)
ACTIVITIES = ("downloads", "any")
GRAINS = ("week", "month")
# Offsets are inferred from at least this many active (day, hour)s, concentrated enough
# (mean resultant length) for a peak to exist, in the last INFER_DAYS days of data.
INFER_MIN_HOURS = 3
INFER_MIN_CONCENTRATION = 0.3
INFER_DAYS = 60
# The mean local hour of a day's activity (downloads peak in the evening, hardly any
# at night): a user's mean UTC hour minus this is their inferred offset.
MEAN_LOCAL_HOUR = 16

_INSIGHT_TABLES = (
    "dash_ins_state, dash_ins_days, dash_ins_local_hours, dash_ins_geo_days, "
    "dash_ins_conversions, dash_ins_journeys, dash_ins_retention, dash_ins_cohort_sizes, "
    "dash_ins_cohorts"
)


@rollup_refresher
def insights_refresh(cursor) -> bool:
    moved = _local_hours_refresh(cursor)
    heavy = _heavy_due(cursor)
    since = timezone.now() - dt.timedelta(hours=MAX_WINDOW_HOURS + 24) if heavy else None
    moved = _conversions_refresh(cursor, since) or moved
    moved = _journeys_refresh(cursor, since) or moved
    if heavy:
        _geo_refresh(cursor)
        for tz in dashboard_time_zones():
            _retention_refresh(cursor, tz)
        moved = True
    return moved


@rollup_rebuilder
def insights_rebuild(cursor) -> bool:
    cursor.execute(f"TRUNCATE {_INSIGHT_TABLES}")
    return True


# --- state ---------------------------------------------------------------------------


def _state(cursor, name: str) -> tuple[str, int, dt.datetime | None]:
    cursor.execute(
        "SELECT fingerprint, cursor, refreshed_at FROM dash_ins_state WHERE name = %s", [name]
    )
    row = cursor.fetchone()
    return row if row else ("", 0, None)


def _state_save(cursor, name: str, *, fingerprint: str = "", position: int = 0) -> None:
    cursor.execute(
        "INSERT INTO dash_ins_state (name, fingerprint, cursor, refreshed_at) "
        "VALUES (%s, %s, %s, now()) ON CONFLICT (name) DO UPDATE SET "
        "fingerprint = excluded.fingerprint, cursor = excluded.cursor, "
        "refreshed_at = excluded.refreshed_at",
        [name, fingerprint, position],
    )


def _heavy_due(cursor) -> bool:
    cursor.execute(
        "SELECT concat_ws(':', (SELECT count(*) FROM users), "
        "(SELECT count(*) FROM users WHERE timezone <> ''), "
        "(SELECT coalesce(sum(downloads), 0) FROM dash_utc_days), "
        "(SELECT coalesce(max(id), 0) FROM click_events), "
        "(SELECT coalesce(max(id), 0) FROM funnel_events))"
    )
    fingerprint = cursor.fetchone()[0]
    known, _, refreshed_at = _state(cursor, "heavy")
    if fingerprint == known:
        return False
    interval = dt.timedelta(seconds=settings.DASHBOARD_INSIGHTS_SECONDS)
    if refreshed_at is not None and timezone.now() - refreshed_at < interval:
        return False
    _state_save(cursor, "heavy", fingerprint=fingerprint)
    return True


# --- downloads in users' own local time ------------------------------------------------


def _local_hours_refresh(cursor) -> bool:
    cursor.execute(
        "SELECT u.day, u.downloads FROM dash_utc_days u "
        "LEFT JOIN dash_ins_days d ON d.day = u.day "
        "WHERE d.downloads IS DISTINCT FROM u.downloads ORDER BY u.day"
    )
    dirty = cursor.fetchall()
    for day, downloads in dirty:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        bounds = [start, start + dt.timedelta(days=1)]
        cursor.execute("DELETE FROM dash_ins_local_hours WHERE hour >= %s AND hour < %s", bounds)
        cursor.execute(
            """
            INSERT INTO dash_ins_local_hours (hour, weekday, local_hour, downloads)
            SELECT date_trunc('hour', d.created_at, 'UTC'),
                   extract(isodow FROM d.created_at AT TIME ZONE u.timezone)::int,
                   extract(hour FROM d.created_at AT TIME ZONE u.timezone)::int, count(*)
            FROM downloads d JOIN users u ON u.user_id = d.user_id
            WHERE u.timezone <> '' AND d.created_at >= %s AND d.created_at < %s
            GROUP BY 1, 2, 3
            """,
            bounds,
        )
        cursor.execute(
            "INSERT INTO dash_ins_days (day, downloads) VALUES (%s, %s) "
            "ON CONFLICT (day) DO UPDATE SET downloads = excluded.downloads",
            [day, downloads],
        )
    return bool(dirty)


# --- conversions and journeys --------------------------------------------------------


def _dirty_hours(cursor, table: str, where: str, name: str, since) -> tuple[list, int]:
    """The UTC hours holding rows stored since the cursor (or after ``since``), and the
    new cursor."""
    _, position, _ = _state(cursor, name)
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table} WHERE {where}")  # noqa: S608
    top = cursor.fetchone()[0]
    cursor.execute(
        f"SELECT DISTINCT date_trunc('hour', created_at, 'UTC') FROM {table} "  # noqa: S608
        f"WHERE {where} AND ((id > %s AND id <= %s) OR created_at >= %s) ORDER BY 1",
        [position, top, since or dt.datetime.max.replace(tzinfo=dt.UTC)],
    )
    return [row[0] for row in cursor.fetchall()], top


def _conversions_refresh(cursor, since) -> bool:
    hours, top = _dirty_hours(cursor, "click_events", "true", "conversions", since)
    if hours:
        cursor.execute("DELETE FROM dash_ins_conversions WHERE hour = ANY(%s)", [hours])
        cursor.execute(
            """
            INSERT INTO dash_ins_conversions (hour, click_type, platform, delay_hours, clicks)
            SELECT date_trunc('hour', c.created_at, 'UTC'), c.event_type,
                   coalesce(split_part(c.video_id, ':', 1), ''),
                   coalesce(ceil(extract(epoch FROM d.at - c.created_at) / 3600)::int, %(never)s),
                   count(*)
            FROM click_events c
            LEFT JOIN LATERAL (
                SELECT min(created_at) AS at FROM downloads d
                WHERE d.user_id = c.user_id AND d.video_id = c.video_id
                  AND d.created_at >= c.created_at
                  AND d.created_at <= c.created_at + make_interval(hours => %(window)s)
            ) d ON true
            WHERE c.created_at >= %(low)s AND c.created_at < %(high)s
              AND date_trunc('hour', c.created_at, 'UTC') = ANY(%(hours)s)
            GROUP BY 1, 2, 3, 4
            """,
            {"never": Conversion.NEVER, "window": MAX_WINDOW_HOURS, "hours": hours,
             "low": hours[0], "high": hours[-1] + dt.timedelta(hours=1)},
        )  # fmt: skip
    _state_save(cursor, "conversions", position=top)
    return bool(hours)


def _journeys_refresh(cursor, since) -> bool:
    hours, top = _dirty_hours(cursor, "funnel_events", "step = 'inline_query'", "journeys", since)
    if hours:
        cursor.execute("DELETE FROM dash_ins_journeys WHERE date_trunc('hour', started_at, "
                       "'UTC') = ANY(%s) AND started_at >= %s AND started_at < %s",
                       [hours, hours[0], hours[-1] + dt.timedelta(hours=1)])  # fmt: skip
        cursor.execute(
            """
            WITH q AS (
                SELECT DISTINCT ON (user_id, date_trunc('hour', created_at, 'UTC'))
                       user_id, created_at, platform
                FROM funnel_events
                WHERE step = 'inline_query' AND created_at >= %(low)s
                  AND created_at < %(high)s
                  AND date_trunc('hour', created_at, 'UTC') = ANY(%(hours)s)
                ORDER BY user_id, date_trunc('hour', created_at, 'UTC'), created_at
            )
            INSERT INTO dash_ins_journeys (user_id, started_at, platform, language,
                                           chosen_after, downloaded_after)
            SELECT q.user_id, q.created_at,
                   coalesce(nullif(q.platform, ''), split_part(s.video_id, ':', 1), ''),
                   left(coalesce(nullif(u.language, ''),
                                 lower(split_part(u.language_code, '-', 1)), ''), 8),
                   extract(epoch FROM s.at - q.created_at)::int,
                   CASE WHEN s.from_cache THEN extract(epoch FROM s.at - q.created_at)::int
                        ELSE extract(epoch FROM dl.at - q.created_at)::int END
            FROM q
            LEFT JOIN users u ON u.user_id = q.user_id
            LEFT JOIN LATERAL (
                SELECT * FROM (
                    SELECT f.created_at AS at, f.video_id, f.from_cache FROM funnel_events f
                    WHERE f.user_id = q.user_id AND f.step = 'inline_chosen'
                      AND f.created_at >= q.created_at
                      AND f.created_at <= q.created_at + make_interval(hours => %(window)s)
                    UNION ALL
                    SELECT c.created_at, c.video_id, false FROM click_events c
                    WHERE c.user_id = q.user_id AND c.event_type = 'button_click'
                      AND c.created_at >= q.created_at
                      AND c.created_at <= q.created_at + make_interval(hours => %(window)s)
                ) steps ORDER BY at LIMIT 1
            ) s ON true
            LEFT JOIN LATERAL (
                SELECT min(d.created_at) AS at FROM downloads d
                WHERE d.user_id = q.user_id AND d.video_id = s.video_id
                  AND d.created_at >= s.at
                  AND d.created_at <= q.created_at + make_interval(hours => %(window)s)
            ) dl ON true
            """,
            {"window": MAX_WINDOW_HOURS, "hours": hours, "low": hours[0],
             "high": hours[-1] + dt.timedelta(hours=1)},
        )  # fmt: skip
    _state_save(cursor, "journeys", position=top)
    return bool(hours)


# --- geography -----------------------------------------------------------------------

# The coarse region a language code points at (Telegram's language_code, else the
# chosen UI language): a language is not a country, hence "-speaking".
REGION_SQL = """
CASE lower(split_part(coalesce(nullif(u.language_code, ''), u.language), '-', 1))
    WHEN 'ru' THEN 'Russian-speaking' WHEN 'uk' THEN 'Ukrainian-speaking'
    WHEN 'es' THEN 'Spanish-speaking' WHEN 'en' THEN 'English-speaking'
    WHEN '' THEN 'Unknown' ELSE 'Other languages' END
"""


def _geo_refresh(cursor) -> None:
    cursor.execute("SELECT max(day) FROM dash_user_days")
    latest = cursor.fetchone()[0] or timezone.now().date()
    cursor.execute("DELETE FROM dash_ins_geo_days")
    cursor.execute(
        f"""
        WITH act AS (
            SELECT ud.user_id, sum(cos(2 * pi() * h / 24)) AS c,
                   sum(sin(2 * pi() * h / 24)) AS s, count(*) AS n
            FROM dash_user_days ud CROSS JOIN generate_series(0, 23) h
            WHERE ud.day > %(since)s AND ud.hours & (1 << h) <> 0
            GROUP BY 1
        ), inferred AS (
            SELECT user_id, 60 * (((round(%(mean)s - (degrees(atan2(s, c)) / 15))::int
                                   + 12) %% 24 + 24) %% 24 - 12) AS offset_minutes
            FROM act
            WHERE n >= %(min_hours)s AND sqrt(c * c + s * s) / n >= %(concentration)s
        )
        INSERT INTO dash_ins_geo_days (day, area, utc_offset, source, users)
        SELECT (u.first_seen_at AT TIME ZONE 'UTC')::date,
               CASE WHEN u.timezone <> '' THEN u.timezone ELSE {REGION_SQL} END,
               CASE WHEN u.timezone <> '' THEN (extract(epoch FROM
                        (now() AT TIME ZONE u.timezone) - (now() AT TIME ZONE 'UTC')) / 60)::int
                    ELSE i.offset_minutes END,
               CASE WHEN u.timezone <> '' THEN 'location'
                    WHEN i.offset_minutes IS NOT NULL THEN 'activity'
                    WHEN {REGION_SQL} <> 'Unknown' THEN 'language' ELSE 'unknown' END,
               count(*)
        FROM users u LEFT JOIN inferred i ON i.user_id = u.user_id
        GROUP BY 1, 2, 3, 4
        """,  # noqa: S608
        {"since": latest - dt.timedelta(days=INFER_DAYS), "mean": MEAN_LOCAL_HOUR,
         "min_hours": INFER_MIN_HOURS, "concentration": INFER_MIN_CONCENTRATION},
    )  # fmt: skip


# --- retention and cohorts -----------------------------------------------------------

# A user-day's local days in tz: those of its first and of its last UTC hour (a UTC day
# spans at most two local days, and its hours' local dates never go back).
_LOCAL_DAYS_SQL = """
CREATE TEMP TABLE ins_act_downloads ON COMMIT DROP AS
SELECT DISTINCT user_id, d FROM (
    SELECT user_id, ((day + make_interval(hours => position('1' in
               reverse(hours::bit(24)::text)) - 1))
               AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS d
    FROM dash_user_days WHERE hours <> 0
    UNION ALL
    SELECT user_id, ((day + make_interval(hours => 24 - position('1' in
               hours::bit(24)::text))) AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date
    FROM dash_user_days WHERE hours <> 0
) t
"""
_ANY_SQL = """
CREATE TEMP TABLE ins_act_any ON COMMIT DROP AS
SELECT user_id, d FROM ins_act_downloads
UNION
SELECT user_id, (created_at AT TIME ZONE %(tz)s)::date FROM click_events
UNION
SELECT user_id, (created_at AT TIME ZONE %(tz)s)::date FROM funnel_events
"""
_COHORT_SQL = """
CREATE TEMP TABLE ins_cohort ON COMMIT DROP AS
SELECT user_id, (first_seen_at AT TIME ZONE %(tz)s)::date AS c FROM users
"""
_RETENTION_SQL = """
INSERT INTO dash_ins_retention (tz, activity, cohort_day, day_n, users_on, users_after)
SELECT %(tz)s, %(activity)s, p.c, n.n,
       count(*) FILTER (WHERE n.n = ANY(p.days)), count(*) FILTER (WHERE p.last >= n.n)
FROM (
    SELECT a.user_id, k.c, max(a.d - k.c) AS last,
           array_agg(a.d - k.c) FILTER (WHERE a.d - k.c = ANY(%(days)s)) AS days
    FROM {table} a JOIN ins_cohort k ON k.user_id = a.user_id
    WHERE a.d > k.c GROUP BY 1, 2
) p CROSS JOIN unnest(%(days)s::int[]) AS n(n)
GROUP BY 3, 4
"""
_COHORT_CELLS_SQL = """
INSERT INTO dash_ins_cohorts (tz, activity, grain, cohort, "offset", users)
SELECT %(tz)s, %(activity)s, %(grain)s, cohort, "offset", count(*) FROM (
    SELECT DISTINCT a.user_id, date_trunc(%(grain)s, k.c)::date AS cohort,
        CASE WHEN %(grain)s = 'week'
             THEN (date_trunc('week', a.d)::date - date_trunc('week', k.c)::date) / 7
             ELSE (extract(year FROM a.d)::int - extract(year FROM k.c)::int) * 12
                  + extract(month FROM a.d)::int - extract(month FROM k.c)::int END AS "offset"
    FROM {table} a JOIN ins_cohort k ON k.user_id = a.user_id
    WHERE a.d >= k.c
) t GROUP BY 4, 5
"""


def _retention_refresh(cursor, tz: str) -> None:
    cursor.execute("DELETE FROM dash_ins_retention WHERE tz = %s", [tz])
    cursor.execute("DELETE FROM dash_ins_cohorts WHERE tz = %s", [tz])
    cursor.execute("DELETE FROM dash_ins_cohort_sizes WHERE tz = %s", [tz])
    cursor.execute(
        "INSERT INTO dash_ins_cohort_sizes (tz, day, users) "
        "SELECT %s, (first_seen_at AT TIME ZONE %s)::date, count(*) FROM users GROUP BY 2",
        [tz, tz],
    )
    cursor.execute(_LOCAL_DAYS_SQL, {"tz": tz})
    cursor.execute(_ANY_SQL, {"tz": tz})
    cursor.execute(_COHORT_SQL, {"tz": tz})
    for activity in ACTIVITIES:
        table = f"ins_act_{activity}"
        params = {"tz": tz, "activity": activity, "days": list(RETENTION_DAYS)}
        cursor.execute(_RETENTION_SQL.format(table=table), params)
        for grain in GRAINS:
            cursor.execute(_COHORT_CELLS_SQL.format(table=table), {**params, "grain": grain})
    cursor.execute("DROP TABLE ins_act_downloads, ins_act_any, ins_cohort")
