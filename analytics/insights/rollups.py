"""The insights' rollups, kept by the rollup job (``analytics.rollups.rollups_refresh``
calls ``insights_refresh`` in its transaction, under its lock).

Every run (incremental, a day's worth of rows at most):

- the UTC days whose download total moved since the last run (``dash_ins_days`` against
  ``dash_utc_days``) are redone for downloads in users' own local time (users whose
  zone is known), and remembered, with the UTC days of clicks / funnel events stored
  since (an id cursor), for the retention rows;
- conversions and inline journeys of the clicks / inline queries stored since the last
  run: their UTC hours are regrouped.

When the sources moved and ``DASHBOARD_INSIGHTS_SECONDS`` have passed since the last
time:

- per dashboard time zone and kind of activity, the cohort-day rows (``CohortDay``) of
  the local days overlapping the remembered UTC days: users of each first-seen day
  active that day, and of them those not active before in that week / month (a lookup
  of each such user's previous active day through the (user, day) indexes);
- cohort sizes and retention "on or after day N" (from each user's last active moment:
  one pass over users and over each user's newest user-day);
- geography per first-seen UTC day, area, UTC offset and source;
- conversions and journeys of the last ``MAX_WINDOW_HOURS`` + 1 day again (a download
  that came after its click was regrouped).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.conf import settings
from django.utils import timezone

from analytics.rollups import (
    USER_DAY_ENDS_SQL,
    dashboard_time_zones,
    local_day_start,
    passes_run,
    rollup_rebuilder,
    rollup_refresher,
    user_day_ends_params,
)

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
    "dash_ins_conversions, dash_ins_journeys, dash_ins_journey_firsts, "
    "dash_ins_journey_firsts_months, dash_ins_retention, dash_ins_cohort_sizes, "
    "dash_ins_cohort_days"
)


@rollup_refresher
def insights_refresh(cursor) -> bool:
    dirty = _dirty_download_days(cursor)
    _local_hours_refresh(cursor, dirty)
    event_days = sorted(
        set(_new_days(cursor, "click_events")) | set(_new_days(cursor, "funnel_events"))
    )
    _pending_add(cursor, sorted(set(dirty) | set(event_days)))
    heavy = _heavy_due(cursor)
    since = timezone.now() - dt.timedelta(hours=MAX_WINDOW_HOURS + 24) if heavy else None
    # Each writes tables of its own from raw rows: in a rebuild, side by side.
    passes = [
        functools.partial(_conversions_refresh, since=since),
        functools.partial(_journeys_refresh, since=since),
    ]
    if heavy:
        passes.append(_geo_refresh)
    moved = any(passes_run(cursor, passes))
    if heavy:
        _retention_heavy(cursor)
    return moved or heavy or bool(dirty) or bool(event_days)


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


def _dirty_download_days(cursor) -> list[dt.date]:
    """UTC days whose downloads moved since the insights last reflected them (marked
    reflected at once: the caller redoes them in this transaction)."""
    cursor.execute(
        "SELECT u.day, u.downloads FROM dash_utc_days u "
        "LEFT JOIN dash_ins_days d ON d.day = u.day "
        "WHERE d.downloads IS DISTINCT FROM u.downloads ORDER BY u.day"
    )
    dirty = cursor.fetchall()
    if dirty:
        cursor.execute(
            "INSERT INTO dash_ins_days (day, downloads) "
            "SELECT * FROM unnest(%s::date[], %s::bigint[]) "
            "ON CONFLICT (day) DO UPDATE SET downloads = excluded.downloads",
            [[day for day, _ in dirty], [n for _, n in dirty]],
        )
    return [day for day, _ in dirty]


def _new_days(cursor, table: str) -> list[dt.date]:
    """UTC days of the rows stored in ``table`` since the last run (an id cursor)."""
    _, position, _ = _state(cursor, f"days:{table}")
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608
    top = cursor.fetchone()[0]
    if top == position:
        return []
    cursor.execute(
        f"SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM {table} "  # noqa: S608
        "WHERE id > %s AND id <= %s",
        [position, top],
    )
    days = [row[0] for row in cursor.fetchall()]
    _state_save(cursor, f"days:{table}", position=top)
    return days


def _local_hours_refresh(cursor, days: list[dt.date]) -> None:
    # One statement per run of consecutive days: a rebuild groups the whole table once
    # (a hash join with the users of a known zone) rather than a day at a time.
    for run in _runs(days):
        start = dt.datetime.combine(run[0], dt.time(), tzinfo=dt.UTC)
        bounds = [start, start + dt.timedelta(days=(run[-1] - run[0]).days + 1)]
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


# --- conversions and journeys --------------------------------------------------------


def _dirty_hours(cursor, table: str, where: str, name: str, since) -> tuple[list, int]:
    """The UTC hours holding rows stored since the cursor (or after ``since``), and the
    new cursor."""
    _, position, _ = _state(cursor, name)
    # The highest id of the whole table (its primary key index answers at once).
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608
    top = cursor.fetchone()[0]
    cursor.execute(
        f"SELECT DISTINCT date_trunc('hour', created_at, 'UTC') FROM {table} "  # noqa: S608
        f"WHERE {where} AND ((id > %s AND id <= %s) OR created_at >= %s) ORDER BY 1",
        [position, top, since or dt.datetime.max.replace(tzinfo=dt.UTC)],
    )
    return [row[0] for row in cursor.fetchall()], top


# From this many hours on (a rebuild), journeys come from one ordered pass (below).
BULK_HOURS = 24 * 14
# The first download of the clicked video by the same user within the longest window,
# click by click through the downloads' (user_id, created_at) index. (One join of all
# clicks with all downloads was planned as a merge join sorting 20 million rows: slower.)
_CONVERSIONS_SQL = """
INSERT INTO dash_ins_conversions (hour, click_type, platform, delay_hours, clicks)
SELECT date_trunc('hour', c.created_at, 'UTC'), c.event_type,
       coalesce(split_part(c.video_id, ':', 1), ''),
       coalesce(ceil(extract(epoch FROM d.at - c.created_at) / 3600)::int, %(never)s), count(*)
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
"""


def _conversions_refresh(cursor, since) -> bool:
    hours, top = _dirty_hours(cursor, "click_events", "true", "conversions", since)
    if hours:
        cursor.execute("DELETE FROM dash_ins_conversions WHERE hour = ANY(%s)", [hours])
        cursor.execute(
            _CONVERSIONS_SQL,
            {"never": Conversion.NEVER, "window": MAX_WINDOW_HOURS, "hours": hours,
             "low": hours[0], "high": hours[-1] + dt.timedelta(hours=1)},
        )  # fmt: skip
    _state_save(cursor, "conversions", position=top)
    return bool(hours)


# A journey per user and UTC hour of inline queries: its first query, the first chosen
# result or "Watch video" click after it, and the first download of that video after
# that, within the longest window. Query by query through the users' indexes, or, for
# many hours at once (a rebuild), from one ordered pass over the users' queries and
# steps (a query's next step is the one numbered after the steps before it) and a hash
# join with the downloads.
_JOURNEYS_SQL = """
WITH q AS (
    SELECT DISTINCT ON (user_id, date_trunc('hour', created_at, 'UTC'))
           user_id, created_at, platform
    FROM funnel_events
    WHERE step = 'inline_query' AND created_at >= %(low)s AND created_at < %(high)s
      AND date_trunc('hour', created_at, 'UTC') = ANY(%(hours)s)
    ORDER BY user_id, date_trunc('hour', created_at, 'UTC'), created_at
){ctes}
INSERT INTO dash_ins_journeys (user_id, started_at, platform, language, chosen_after,
                               downloaded_after)
SELECT q.user_id, q.created_at,
       coalesce(nullif(q.platform, ''), split_part(s.video_id, ':', 1), ''),
       left(coalesce(nullif(u.language, ''), lower(split_part(u.language_code, '-', 1)), ''), 8),
       extract(epoch FROM s.at - q.created_at)::int,
       CASE WHEN s.from_cache THEN extract(epoch FROM s.at - q.created_at)::int
            ELSE extract(epoch FROM dl.at - q.created_at)::int END
FROM q
LEFT JOIN users u ON u.user_id = q.user_id
{joins}
"""
_JOURNEY_LOOKUPS = """
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
"""
_JOURNEY_ORDERED_CTES = """
, events AS (
    SELECT user_id, created_at AS at, 0 AS kind, ''::text AS video_id, false AS from_cache
    FROM q
    UNION ALL
    SELECT user_id, created_at, 1, video_id, from_cache FROM funnel_events
    WHERE step = 'inline_chosen' AND created_at >= %(low)s AND created_at < %(reach)s
    UNION ALL
    SELECT user_id, created_at, 1, video_id, false FROM click_events
    WHERE event_type = 'button_click' AND created_at >= %(low)s AND created_at < %(reach)s
), ordered AS (
    -- a query sorts before a step of the same instant (which follows it)
    SELECT user_id, at, kind, video_id, from_cache,
           count(*) FILTER (WHERE kind = 1) OVER (PARTITION BY user_id ORDER BY at, kind
                                                  ROWS UNBOUNDED PRECEDING) AS steps
    FROM events
), s AS (
    SELECT o.user_id, o.at AS qat, t.at, t.video_id, t.from_cache
    FROM ordered o JOIN ordered t
      ON t.user_id = o.user_id AND t.kind = 1 AND t.steps = o.steps + 1
    WHERE o.kind = 0 AND t.at <= o.at + make_interval(hours => %(window)s)
), dl AS (
    SELECT s.user_id, s.qat, min(d.created_at) AS at
    FROM s JOIN downloads d ON d.user_id = s.user_id AND d.video_id = s.video_id
     AND d.created_at >= s.at AND d.created_at <= s.qat + make_interval(hours => %(window)s)
    WHERE d.created_at >= %(low)s AND d.created_at < %(reach)s
    GROUP BY 1, 2
)"""
_JOURNEY_ORDERED_JOINS = """
LEFT JOIN s ON s.user_id = q.user_id AND s.qat = q.created_at
LEFT JOIN dl ON dl.user_id = q.user_id AND dl.qat = q.created_at
"""


def _journeys_refresh(cursor, since) -> bool:
    hours, top = _dirty_hours(cursor, "funnel_events", "step = 'inline_query'", "journeys", since)
    if hours:
        high = hours[-1] + dt.timedelta(hours=1)
        bounds = [hours, hours[0], high]
        cursor.execute("DELETE FROM dash_ins_journeys WHERE date_trunc('hour', started_at, "
                       "'UTC') = ANY(%s) AND started_at >= %s AND started_at < %s "
                       "RETURNING user_id", bounds)  # fmt: skip
        users = {row[0] for row in cursor.fetchall()}
        bulk = len(hours) > BULK_HOURS
        if bulk:
            sql = _JOURNEYS_SQL.format(ctes=_JOURNEY_ORDERED_CTES, joins=_JOURNEY_ORDERED_JOINS)
        else:
            sql = _JOURNEYS_SQL.format(ctes="", joins=_JOURNEY_LOOKUPS)
        cursor.execute(
            sql,
            {"window": MAX_WINDOW_HOURS, "hours": hours, "low": hours[0], "high": high,
             "reach": high + dt.timedelta(hours=MAX_WINDOW_HOURS)},
        )  # fmt: skip
        relinked = _journeys_link(cursor, None if bulk else users, bounds)
        _journey_firsts_refresh(cursor, None if bulk else {h.date() for h in hours} | relinked)
    _state_save(cursor, "journeys", position=top)
    return bool(hours)


def _journeys_link(cursor, users: set[int] | None, bounds: list) -> set[dt.date]:
    """Each journey's ``previous_started_at``, for the users whose journeys were redone
    (those of the hours just deleted and inserted), or every user (``users`` None).
    Returns the UTC days of the journeys whose previous one changed (none for every
    user: the caller recounts every day then, and a rebuild changes most rows)."""
    if users is None:
        scope, params, returning = "", [], ""
    else:
        cursor.execute(
            "SELECT DISTINCT user_id FROM dash_ins_journeys WHERE date_trunc('hour', "
            "started_at, 'UTC') = ANY(%s) AND started_at >= %s AND started_at < %s",
            bounds,
        )
        users |= {row[0] for row in cursor.fetchall()}
        scope, params = "WHERE user_id = ANY(%s)", [sorted(users)]
        returning = "RETURNING (j.started_at AT TIME ZONE 'UTC')::date"
    cursor.execute(
        f"""
        UPDATE dash_ins_journeys j SET previous_started_at = p.previous
        FROM (SELECT id, lag(started_at) OVER (PARTITION BY user_id ORDER BY started_at)
                         AS previous
              FROM dash_ins_journeys {scope}) p
        WHERE p.id = j.id AND j.previous_started_at IS DISTINCT FROM p.previous
        {returning}
        """,  # noqa: S608
        params,
    )
    return {row[0] for row in cursor.fetchall()} if returning else set()


# The users' very first journeys counted per UTC day (``JourneyFirstsDay``): the funnel
# of a long period reads these rows for its whole UTC days. A day is recounted when a
# journey of it was redone or its previous one changed (a late, earlier journey).
_JOURNEY_FIRSTS_SQL = """
INSERT INTO dash_ins_journey_firsts (day, kind, platform, language, seconds, hours, users)
SELECT day, GROUPING(chosen_after), platform, language,
       CASE WHEN GROUPING(chosen_after) = 0 THEN chosen_after ELSE after_step END,
       hours, count(*)
FROM (
    SELECT (started_at AT TIME ZONE 'UTC')::date AS day, platform, language, chosen_after,
           CASE WHEN downloaded_after IS NOT NULL
                THEN coalesce(downloaded_after - chosen_after, -1) END AS after_step,
           ceil(downloaded_after / 3600.0)::int AS hours
    FROM dash_ins_journeys
    WHERE previous_started_at IS NULL {where}
) j
GROUP BY GROUPING SETS ((day, platform, language, chosen_after),
                        (day, platform, language, after_step, hours))
"""


_JOURNEY_FIRSTS_MONTHS_SQL = """
INSERT INTO dash_ins_journey_firsts_months (month, kind, platform, language, seconds, hours,
                                            users)
SELECT date_trunc('month', day)::date, kind, platform, language, seconds, hours, sum(users)
FROM dash_ins_journey_firsts {where}
GROUP BY 1, 2, 3, 4, 5, 6
"""


def _journey_firsts_refresh(cursor, days: set[dt.date] | None) -> None:
    """Recount the first journeys of these UTC days and their months, or of every day
    (``days`` None)."""
    if days is None:
        cursor.execute("DELETE FROM dash_ins_journey_firsts")
        cursor.execute(_JOURNEY_FIRSTS_SQL.format(where=""))
        cursor.execute("DELETE FROM dash_ins_journey_firsts_months")
        cursor.execute(_JOURNEY_FIRSTS_MONTHS_SQL.format(where=""))
        return
    if not days:
        return
    ordered = sorted(days)
    cursor.execute("DELETE FROM dash_ins_journey_firsts WHERE day = ANY(%s)", [ordered])
    low = dt.datetime.combine(ordered[0], dt.time(), tzinfo=dt.UTC)
    high = dt.datetime.combine(ordered[-1] + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    cursor.execute(
        _JOURNEY_FIRSTS_SQL.format(
            where="AND started_at >= %(low)s AND started_at < %(high)s "
            "AND (started_at AT TIME ZONE 'UTC')::date = ANY(%(days)s)"
        ),
        {"low": low, "high": high, "days": ordered},
    )
    months = sorted({day.replace(day=1) for day in ordered})
    cursor.execute("DELETE FROM dash_ins_journey_firsts_months WHERE month = ANY(%s)", [months])
    cursor.execute(
        _JOURNEY_FIRSTS_MONTHS_SQL.format(
            where="WHERE date_trunc('month', day)::date = ANY(%(months)s)"
        ),
        {"months": months},
    )


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

# The local days (in tz) of users' activity in UTC days first..last: a user-day's local
# days are those of its first and of its last UTC hour (a UTC day spans at most two
# local days, and its hours' local dates never go back); "any" adds clicks and funnel
# events (inline queries, chosen results, failures) from first_at to last_at.
_ACTIVE_SQL = """
SELECT user_id, ((day + make_interval(hours => position('1' in
           reverse(hours::bit(24)::text)) - 1))
           AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS d
FROM dash_user_days WHERE hours <> 0 AND day BETWEEN %(first)s AND %(last)s
UNION ALL
SELECT user_id, ((day + make_interval(hours => 24 - position('1' in hours::bit(24)::text)))
           AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date
FROM dash_user_days WHERE hours <> 0 AND day BETWEEN %(first)s AND %(last)s
"""
# The local days of the users' other events (button clicks, the inline funnel).
_EVENT_DAYS_SQL = """
SELECT user_id, (created_at AT TIME ZONE %(tz)s)::date FROM click_events
WHERE created_at >= %(first_at)s AND created_at < %(last_at)s
UNION ALL
SELECT user_id, (created_at AT TIME ZONE %(tz)s)::date FROM funnel_events
WHERE created_at >= %(first_at)s AND created_at < %(last_at)s
"""
_ACTIVE_ANY_SQL = _ACTIVE_SQL + "UNION ALL" + _EVENT_DAYS_SQL
# The previous active local day of a user active on local day d (at most 32 days back),
# through the indexes on (user_id, day) / (user_id, created_at).
_PREVIOUS_SQL = """
SELECT ((ud.day + make_interval(hours => position('1' in
           reverse(ud.hours::bit(24)::text)) - 1))
           AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS d
FROM dash_user_days ud
WHERE ud.user_id = a.user_id AND ud.hours <> 0 AND ud.day BETWEEN a.d - 33 AND a.d
UNION ALL
SELECT ((ud.day + make_interval(hours => 24 - position('1' in ud.hours::bit(24)::text)))
           AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date
FROM dash_user_days ud
WHERE ud.user_id = a.user_id AND ud.hours <> 0 AND ud.day BETWEEN a.d - 33 AND a.d
"""
_PREVIOUS_ANY_SQL = (
    _PREVIOUS_SQL
    + """
UNION ALL
SELECT (c.created_at AT TIME ZONE %(tz)s)::date FROM click_events c
WHERE c.user_id = a.user_id AND c.created_at >= ((a.d - 33)::timestamp AT TIME ZONE %(tz)s)
  AND c.created_at < (a.d::timestamp AT TIME ZONE %(tz)s)
UNION ALL
SELECT (f.created_at AT TIME ZONE %(tz)s)::date FROM funnel_events f
WHERE f.user_id = a.user_id AND f.created_at >= ((a.d - 33)::timestamp AT TIME ZONE %(tz)s)
  AND f.created_at < (a.d::timestamp AT TIME ZONE %(tz)s)
"""
)
_COHORT_DAYS_SQL = """
INSERT INTO dash_ins_cohort_days (tz, activity, day, cohort, users, first_in_week,
                                  first_in_month)
SELECT %(tz)s, %(activity)s, a.d, (u.first_seen_at AT TIME ZONE %(tz)s)::date, count(*),
       count(*) FILTER (WHERE p.last IS NULL OR p.last < date_trunc('week', a.d)::date),
       count(*) FILTER (WHERE p.last IS NULL OR p.last < date_trunc('month', a.d)::date)
FROM (SELECT DISTINCT user_id, d FROM ({active}) t WHERE d = ANY(%(days)s)) a
JOIN users u ON u.user_id = a.user_id
CROSS JOIN LATERAL (SELECT max(x.d) AS last FROM ({previous}) x WHERE x.d < a.d) p
WHERE (u.first_seen_at AT TIME ZONE %(tz)s)::date <= a.d
GROUP BY 3, 4
"""
# The same for many days at once (a rebuild, a late batch): the previous active day from
# one ordered pass over the users' active days from 33 days before the first. By
# downloads, the pass follows the user-days' (user_id, day) index, no sort; a user-day
# gives the local days of its first and last active hour (``USER_DAY_ENDS_SQL``).
_COHORT_DAYS_BULK_SELECT = """
WITH u AS MATERIALIZED (  -- hashed once: a lookup per active day cost twice the pass
    SELECT user_id, (first_seen_at AT TIME ZONE %(tz)s)::date AS c FROM users
)
INSERT INTO dash_ins_cohort_days (tz, activity, day, cohort, users, first_in_week,
                                  first_in_month)
SELECT %(tz)s, %(activity)s, a.d, u.c, count(*),
       count(*) FILTER (WHERE previous IS NULL OR previous < date_trunc('week', a.d)::date),
       count(*) FILTER (WHERE previous IS NULL OR previous < date_trunc('month', a.d)::date)
FROM ({active}) a
JOIN u ON u.user_id = a.user_id
WHERE a.d BETWEEN %(days_first)s AND %(days_last)s AND u.c <= a.d
GROUP BY 3, 4
"""
_BULK_DOWNLOADS_SQL = """
SELECT e.user_id, v.d, v.previous
FROM (SELECT user_id, fl, ll, lag(ll) OVER (PARTITION BY user_id ORDER BY day) AS prev_ll
      FROM ({ends}) ends) e
CROSS JOIN LATERAL (VALUES (e.fl, e.prev_ll), (e.ll, e.fl)) AS v(d, previous)
WHERE v.previous IS DISTINCT FROM v.d
"""
# A user's day that shows up more than once (a download and a click that day) is kept
# once, its first copy: the others' previous day is the day itself. One sort, where a
# DISTINCT first cost a hash aggregate of the same rows as well (at 20 million
# downloads, 33 million rows: 52 s a pass against 33 s).
_BULK_ANY_SQL = """
SELECT user_id, d, previous FROM (
    SELECT user_id, d, lag(d) OVER (PARTITION BY user_id ORDER BY d) AS previous
    FROM (
        SELECT e.user_id, v.d FROM ({ends}) e CROSS JOIN LATERAL (VALUES (e.fl), (e.ll)) v(d)
        UNION ALL
        {events}
    ) t
) a WHERE previous IS DISTINCT FROM d
"""
BULK_DAYS = 4  # from this many consecutive days on, one ordered pass beats the lookups

# Each user's last active moment (UTC): by downloads (the newest user-day's last hour),
# or by any event (also the newest click and funnel event).
_LAST_SQL = """
CREATE TEMP TABLE ins_last_downloads ON COMMIT DROP AS
SELECT DISTINCT ON (user_id) user_id,
       (day + make_interval(hours => 24 - position('1' in hours::bit(24)::text)))
           AT TIME ZONE 'UTC' AS at
FROM dash_user_days WHERE hours <> 0 ORDER BY user_id DESC, day DESC;
CREATE TEMP TABLE ins_last_any ON COMMIT DROP AS
SELECT user_id, max(at) AS at FROM (
    SELECT user_id, at FROM ins_last_downloads
    UNION ALL SELECT user_id, max(created_at) FROM click_events GROUP BY 1
    UNION ALL SELECT user_id, max(created_at) FROM funnel_events GROUP BY 1
) t GROUP BY 1;
"""
_AFTER_SQL = """
INSERT INTO dash_ins_retention (tz, activity, cohort_day, day_n, users_after)
SELECT %(tz)s, %(activity)s, c, n.n, count(*) FILTER (WHERE last - c >= n.n)
FROM (
    SELECT (u.first_seen_at AT TIME ZONE %(tz)s)::date AS c,
           (l.at AT TIME ZONE %(tz)s)::date AS last
    FROM ins_last_{activity} l JOIN users u ON u.user_id = l.user_id
) p CROSS JOIN unnest(%(days)s::int[]) AS n(n)
GROUP BY 3, 4
"""


def _local_dates(tz: str, utc_days: list[dt.date]) -> list[dt.date]:
    """The local days of ``tz`` that overlap the UTC days."""
    zone = zoneinfo.ZoneInfo(tz)
    dates = set()
    for day in utc_days:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        dates.add(start.astimezone(zone).date())
        dates.add((start + dt.timedelta(hours=23, minutes=59)).astimezone(zone).date())
    return sorted(dates)


def _range(tz: str, dates: list[dt.date]) -> dict:
    """The UTC days and instants to read for the local days first..last."""
    first_at = local_day_start(dates[0], tz)
    last_at = local_day_start(dates[-1] + dt.timedelta(days=1), tz)
    return {"tz": tz, "first": first_at.date(), "last": last_at.date(),
            "first_at": first_at, "last_at": last_at}  # fmt: skip


def _cohort_days_refresh(cursor, tz: str, activity: str, dates: list[dt.date]) -> None:
    """Recount the cohort-day rows of these local days (consecutive runs of them)."""
    for run in _runs(dates):
        cursor.execute(
            "DELETE FROM dash_ins_cohort_days WHERE tz = %s AND activity = %s "
            "AND day BETWEEN %s AND %s",
            [tz, activity, run[0], run[-1]],
        )
        active, previous = (
            (_ACTIVE_SQL, _PREVIOUS_SQL)
            if activity == "downloads"
            else (_ACTIVE_ANY_SQL, _PREVIOUS_ANY_SQL)
        )
        if len(run) >= BULK_DAYS:
            reach = [run[0] - dt.timedelta(days=33), run[-1]]
            # By any event: the local days of the user-days' ends and of the events.
            if activity == "downloads":
                active = _BULK_DOWNLOADS_SQL.format(ends=USER_DAY_ENDS_SQL)
            else:
                active = _BULK_ANY_SQL.format(ends=USER_DAY_ENDS_SQL, events=_EVENT_DAYS_SQL)
            cursor.execute(
                _COHORT_DAYS_BULK_SELECT.format(active=active),
                {**_range(tz, reach), **user_day_ends_params(tz, *reach),
                 "activity": activity, "days_first": run[0], "days_last": run[-1]},
            )  # fmt: skip
        else:
            cursor.execute(
                _COHORT_DAYS_SQL.format(active=active, previous=previous),
                {**_range(tz, run), "activity": activity, "days": run},
            )


def _runs(dates: list[dt.date]) -> list[list[dt.date]]:
    runs: list[list[dt.date]] = []
    for day in sorted(dates):
        if runs and (day - runs[-1][-1]).days <= 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _with_rest_of_month(dates: list[dt.date], tz: str) -> list[dt.date]:
    """The days and every later day of their week and month up to today: a new active
    day changes whether the user's later days that week / month were their first."""
    today = dt.datetime.now(tz=zoneinfo.ZoneInfo(tz)).date()
    every = set(dates)
    for day in dates:
        month_end = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        week_end = day + dt.timedelta(days=7 - day.weekday())
        following = day + dt.timedelta(days=1)
        while following < max(month_end, week_end) and following <= today:
            every.add(following)
            following += dt.timedelta(days=1)
    return sorted(every)


def _pending_add(cursor, days: list[dt.date]) -> None:
    """Remember UTC days whose activity moved until the next heavy run redoes them."""
    if days:
        pending = _pending(cursor) | set(days)
        text = ",".join(sorted(day.isoformat() for day in pending))
        _state_save(cursor, "pending", fingerprint=text)


def _pending(cursor) -> set[dt.date]:
    text, _, _ = _state(cursor, "pending")
    return {dt.date.fromisoformat(part) for part in text.split(",") if part}


def _retention_heavy(cursor) -> None:
    """The cohort-day rows of the local days whose activity moved since the last time,
    cohort sizes, and retention "on or after" from each user's last active moment."""
    pending = sorted(_pending(cursor))
    passes = []
    for tz in dashboard_time_zones():
        dates = _with_rest_of_month(_local_dates(tz, pending), tz)
        for activity in ACTIVITIES:
            if dates:
                passes.append(
                    functools.partial(_cohort_days_refresh, tz=tz, activity=activity, dates=dates)
                )
    passes_run(cursor, passes)
    _state_save(cursor, "pending", fingerprint="")
    cursor.execute("DELETE FROM dash_ins_cohort_sizes")
    cursor.execute("DELETE FROM dash_ins_retention")
    cursor.execute(_LAST_SQL)
    for tz in dashboard_time_zones():
        cursor.execute(
            "INSERT INTO dash_ins_cohort_sizes (tz, day, users) "
            "SELECT %s, (first_seen_at AT TIME ZONE %s)::date, count(*) FROM users GROUP BY 2",
            [tz, tz],
        )
        for activity in ACTIVITIES:
            cursor.execute(
                _AFTER_SQL.format(activity=activity),
                {"tz": tz, "activity": activity, "days": list(RETENTION_DAYS)},
            )
    cursor.execute("DROP TABLE ins_last_downloads, ins_last_any")
