"""Rollups behind the dashboard, kept exact.

Two kinds, both recomputable from raw rows by ``rollups_rebuild``:

- **Kept by the event worker**, inside the batch that stores the downloads (so in its
  one round trip and its transaction): downloads per UTC hour and platform, per video
  and UTC day, and the UTC hours of each user-day as a bit mask. Counts grow only by
  the downloads the batch newly stored (the INSERT's RETURNING rows, like videos'
  ``total_downloads``) and masks are OR-ed, so a redelivered event changes nothing.
- **Kept by the rollup job** (``rollups_refresh``, run by the analytics worker every
  ``DASHBOARD_ROLLUP_SECONDS`` and by ``rebuild_rollups``): new users per UTC hour, the
  top videos of each UTC day, and per dashboard time zone and local day its active
  users by how long ago they were last active (``LocalDay.users_beyond``). The job
  finds what to redo by comparing the day totals it last reflected with those of the
  hourly rollup, so a late or replayed event is picked up on the next run, at most a
  minute later.

Local days are cut from UTC hours, so every dashboard time zone must have whole-hour
offsets (checked at startup, ``analytics.checks``).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import logging
import zoneinfo
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from config.redis import get_redis

from . import sql
from .counters import CounterIncrement
from .events import DownloadCompleted
from .models import DownloadsHourly, UserDay, VideoDaily

log = logging.getLogger(__name__)

# Bumped whenever a rollup moves; part of every cached dashboard answer's key.
VERSION_KEY = "dashboard:rollups:version"
VERSION_INCREMENT = CounterIncrement(VERSION_KEY, 1, 0)
# Videos kept per UTC day in the top list. Top-N over a range is exact without reading
# the long tail whenever the N-th total beats the sum of the days' thresholds.
TOP_PER_DAY = 100
# A previous active day further back than this counts as none: no range is longer.
GAP_HORIZON_DAYS = 800
_GAP_NONE = GAP_HORIZON_DAYS + 1
_LOCK_KEY = 0x64617368  # pg advisory lock: one rollup job at a time
_ALL_HOURS = (1 << 24) - 1


# --- kept by the event worker ------------------------------------------------------


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_HOUR = dt.timedelta(hours=1)
_UNIX_DAY_ORDINAL = _EPOCH.date().toordinal()


def downloads_rollup_statements(downloads: Sequence[DownloadCompleted]) -> list[sql.Insert]:
    """The rollup upserts for downloads the batch newly stored (rows sorted so that
    concurrent workers lock them in one order)."""
    # Grouped by whole UTC hours and days since the epoch (exact integer arithmetic; a
    # datetime or date is made only per distinct key, not per event).
    hourly: Counter[tuple[int, str]] = Counter()
    videos: Counter[tuple[int, str]] = Counter()
    masks: dict[tuple[int, int], int] = {}
    for event in downloads:
        hour = (event.occurred_at - _EPOCH) // _HOUR
        day = hour // 24
        hourly[(hour, event.platform)] += 1
        videos[(day, event.video_id)] += 1
        key = (event.user_id, day)
        masks[key] = masks.get(key, 0) | (1 << (hour % 24))

    def hour_at(hour: int) -> dt.datetime:
        return _EPOCH + hour * _HOUR

    def date(day: int) -> dt.date:
        return dt.date.fromordinal(_UNIX_DAY_ORDINAL + day)

    return [
        sql.Insert(
            model=DownloadsHourly,
            columns=["hour", "platform", "downloads"],
            rows=[(hour_at(hour), platform, n) for (hour, platform), n in sorted(hourly.items())],
            conflict="(hour, platform) DO UPDATE SET "
            "downloads = dash_downloads_hourly.downloads + excluded.downloads",
        ),
        sql.Insert(
            model=VideoDaily,
            columns=["day", "video_id", "downloads"],
            rows=[(date(day), video, n) for (day, video), n in sorted(videos.items())],
            conflict="(day, video_id) DO UPDATE SET "
            "downloads = dash_video_daily.downloads + excluded.downloads",
        ),
        sql.Insert(
            model=UserDay,
            columns=["user_id", "day", "hours"],
            rows=[(user, date(day), mask) for (user, day), mask in sorted(masks.items())],
            # A row version only when a new hour appears.
            conflict="(user_id, day) DO UPDATE SET hours = dash_user_days.hours | excluded.hours "
            "WHERE (dash_user_days.hours | excluded.hours) <> dash_user_days.hours",
        ),
    ]


# --- kept by the rollup job --------------------------------------------------------


def dashboard_time_zones() -> list[str]:
    return list(dict.fromkeys([settings.DASHBOARD_TIME_ZONE, *settings.DASHBOARD_TIME_ZONES]))


def rollups_version_bump() -> None:
    get_redis().incr(VERSION_KEY)


# Other apps' job rollups (their own tables): called in the job's transaction with its
# cursor, each returns True if it moved anything. Register with ``@rollup_refresher``.
Refresher = Callable[[Any], bool]
_REFRESHERS: list[Refresher] = []


def rollup_refresher(function: Refresher) -> Refresher:
    _REFRESHERS.append(function)
    return function


# Other apps' stream-kept rollups: each recomputes its tables from raw rows inside the
# rebuild's transaction (lock them first, like ``rollups_rebuild``). Register with
# ``@rollup_rebuilder``.
_REBUILDERS: list[Refresher] = []


def rollup_rebuilder(function: Refresher) -> Refresher:
    _REBUILDERS.append(function)
    return function


# Set by a rebuild run outside any transaction: independent passes (one per time zone,
# per kind of activity, per table) may then run side by side, each in a transaction of
# its own (``passes_run``).
_SIDE_BY_SIDE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "rollups_side_by_side", default=False
)
REBUILD_WORKERS = 2  # connections a rebuild's independent passes use at once
_REBUILD_WORK_MEM = "256MB"  # grouping tens of millions of rows in memory, not on disk


def passes_run(cursor, passes: Sequence[Callable[[Any], Any]]) -> list[Any]:
    """Run each pass with a cursor; returns their results in order. In the job they run
    one after another on ``cursor``, in its transaction. In a rebuild over the whole
    history (minutes per pass at 20 million downloads) they run ``REBUILD_WORKERS`` at a
    time, each on a connection of its own in its own transaction, so both cores work.
    That is safe there: no two passes write the same rows (one time zone's, one kind of
    activity's, one table's), each reads only raw rows and the worker's rollups, which
    the rebuild committed before, and a rebuild that fails part way is redone."""
    if not _SIDE_BY_SIDE.get() or len(passes) < 2:
        return [run(cursor) for run in passes]

    def alone(run: Callable[[Any], Any]) -> Any:
        try:
            with transaction.atomic(), connection.cursor() as own:
                own.execute("SELECT set_config('work_mem', %s, true)", [_REBUILD_WORK_MEM])
                return run(own)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=REBUILD_WORKERS) as pool:
        return list(pool.map(alone, passes))


def rollups_refresh(*, force: bool = False, work_mem: str = "") -> bool:
    """Bring the job's rollups up to date with the worker's; True if any moved. Skips
    (returns False) while another process runs it. PostgreSQL only: on SQLite (the
    embedded default) the dashboard is not available."""
    if connection.vendor != "postgresql":
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return False
        if work_mem:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        moved = _new_users_refresh(cursor)
        moved = _utc_days_refresh(cursor) or moved
        zones = [
            functools.partial(_local_days_refresh, tz=tz, force=force)
            for tz in dashboard_time_zones()
        ]
        moved = any(passes_run(cursor, zones)) or moved
        for refresher in _REFRESHERS:
            moved = refresher(cursor) or moved
    if moved:
        rollups_version_bump()
    return moved


def _new_users_refresh(cursor) -> bool:
    # A million users group in a few hundred milliseconds; recounting them all is
    # simpler than following first_seen_at, which a late event can move back.
    cursor.execute(
        """
        WITH fresh AS (
            SELECT date_trunc('hour', first_seen_at, 'UTC') AS hour, count(*) AS users
            FROM users GROUP BY 1
        ), gone AS (
            DELETE FROM dash_new_users_hourly d
            WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.hour = d.hour) RETURNING 1
        ), moved AS (
            INSERT INTO dash_new_users_hourly (hour, users) SELECT hour, users FROM fresh
            ON CONFLICT (hour) DO UPDATE SET users = excluded.users
            WHERE dash_new_users_hourly.users <> excluded.users RETURNING 1
        )
        SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM moved)
        """
    )
    return cursor.fetchone()[0] > 0


def _utc_days_refresh(cursor) -> bool:
    cursor.execute(
        """
        SELECT t.day, t.downloads FROM (
            SELECT (hour AT TIME ZONE 'UTC')::date AS day, sum(downloads) AS downloads
            FROM dash_downloads_hourly GROUP BY 1
        ) t LEFT JOIN dash_utc_days u ON u.day = t.day
        WHERE u.downloads IS DISTINCT FROM t.downloads
        """
    )
    dirty = cursor.fetchall()
    if not dirty:
        return False
    days = [day for day, _ in dirty]
    cursor.execute("DELETE FROM dash_video_day_top WHERE day = ANY(%s)", [days])
    cursor.execute(
        """
        INSERT INTO dash_video_day_top (day, video_id, downloads)
        SELECT day, video_id, downloads FROM (
            SELECT day, video_id, downloads, row_number() OVER (
                PARTITION BY day ORDER BY downloads DESC, video_id) AS rank
            FROM dash_video_daily WHERE day = ANY(%s)
        ) ranked WHERE rank <= %s
        """,
        [days, TOP_PER_DAY],
    )
    cursor.execute(
        """
        INSERT INTO dash_utc_days (day, downloads, top_threshold)
        SELECT d.day, d.downloads, coalesce(t.threshold, 0)
        FROM unnest(%s::date[], %s::bigint[]) AS d(day, downloads)
        LEFT JOIN (
            SELECT day, CASE WHEN count(*) >= %s THEN min(downloads) ELSE 0 END AS threshold
            FROM dash_video_day_top WHERE day = ANY(%s) GROUP BY day
        ) t ON t.day = d.day
        ON CONFLICT (day) DO UPDATE SET downloads = excluded.downloads,
            top_threshold = excluded.top_threshold
        """,
        [days, [n for _, n in dirty], TOP_PER_DAY, days],
    )
    return True


def _local_days_refresh(cursor, tz: str, *, force: bool = False) -> bool:
    """Recompute the active-user histogram of ``tz`` from the first local day whose
    downloads moved to the last one with data (a user's new day changes the gap of
    their next active day, so every later day is redone)."""
    cursor.execute(
        "SELECT (hour AT TIME ZONE %s)::date AS day, sum(downloads) "
        "FROM dash_downloads_hourly GROUP BY 1",
        [tz],
    )
    totals = dict(cursor.fetchall())
    cursor.execute("SELECT day, downloads FROM dash_local_days WHERE tz = %s", [tz])
    known = dict(cursor.fetchall())
    dirty = [day for day in totals.keys() | known.keys() if totals.get(day) != known.get(day)]
    if force and totals:
        dirty.append(min(totals))
    if not dirty:
        return False
    first, last = min(dirty), max([*totals, *dirty])
    by_gap: dict[dt.date, list[int]] = {}
    for day, gap, users in _active_gaps(cursor, tz, first, last):
        by_gap.setdefault(day, [0] * (_GAP_NONE + 1))[gap] += users
    days = [day for day in sorted(totals) if first <= day <= last]
    cursor.execute(
        "DELETE FROM dash_local_days WHERE tz = %s AND day BETWEEN %s AND %s", [tz, first, last]
    )
    # One row per day, arrays as '{...}' literals: unnest cannot take an array of arrays.
    cursor.execute(
        "INSERT INTO dash_local_days (tz, day, downloads, users_beyond) "
        "SELECT %s, d, n, b::integer[] FROM unnest(%s::date[], %s::bigint[], %s::text[]) "
        "AS t(d, n, b)",
        [tz, days, [totals[day] for day in days],
         [_beyond_literal(by_gap.get(day)) for day in days]],
    )  # fmt: skip
    return True


def _beyond_literal(counts: list[int] | None) -> str:
    """users_beyond[k] for k = 0..GAP_HORIZON_DAYS from the day's users by gap."""
    beyond, running = [], 0
    counts = counts or [0] * (_GAP_NONE + 1)
    for k in range(_GAP_NONE, 0, -1):  # running = users with a gap of k or more
        running += counts[k]
        beyond.append(running)
    beyond.reverse()  # beyond[k - 1] = users with gap >= k, i.e. gap > k - 1
    return "{" + ",".join(map(str, beyond)) + "}"


def local_day_start(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant local ``day`` begins in ``tz``."""
    zone = zoneinfo.ZoneInfo(tz)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def local_day_cuts(tz: str, first: dt.date, last: dt.date) -> tuple[list, list, list, list]:
    """For each UTC day that overlaps local days first..last: the UTC hour b at which
    the local date changes (24 if it does not), the local day of its hours before b
    and of its hours from b on."""
    zone = zoneinfo.ZoneInfo(tz)
    start = local_day_start(first, tz).date()
    end = local_day_start(last + dt.timedelta(days=1), tz).date()
    days, bounds, before, after = [], [], [], []
    day = start
    while day <= end:
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        local = [(midnight + dt.timedelta(hours=h)).astimezone(zone).date() for h in range(24)]
        bound = next((h for h in range(1, 24) if local[h] != local[0]), 24)
        days.append(day)
        bounds.append(bound)
        before.append(local[0])
        after.append(local[bound] if bound < 24 else local[0])
        day += dt.timedelta(days=1)
    return days, bounds, before, after


_ACTIVE_GAPS_SQL = """
WITH cut AS (
    SELECT * FROM unnest(%(days)s::date[], %(bounds)s::int[], %(before)s::date[],
                         %(after)s::date[]) AS c(day, b, before_day, after_day)
), local_days AS (
    SELECT ud.user_id, c.before_day AS day
    FROM dash_user_days ud JOIN cut c ON c.day = ud.day
    WHERE ud.hours & ((1 << c.b) - 1) <> 0
    UNION ALL  -- a user-day twice (from two UTC days) shows as a gap of 0 below
    SELECT ud.user_id, c.after_day
    FROM dash_user_days ud JOIN cut c ON c.day = ud.day
    WHERE c.b < 24 AND (ud.hours >> c.b) <> 0
), in_range AS (
    SELECT user_id, day FROM local_days WHERE day BETWEEN %(first)s AND %(last)s
), previous AS (
    -- each user's last active local day before the range: the newest of their UTC
    -- days that has an hour before the range's first instant
    SELECT u.user_id, (
        (p.day + make_interval(hours => 24 - position('1' in p.mask::bit(24)::text)))
        AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day
    FROM (SELECT DISTINCT user_id FROM in_range) u
    CROSS JOIN LATERAL (
        SELECT ud.day, ud.hours & CASE WHEN ud.day = %(a_day)s
            THEN (1 << %(a_hour)s) - 1 ELSE %(all_hours)s END AS mask
        FROM dash_user_days ud
        WHERE ud.user_id = u.user_id AND ud.day <= %(a_day)s
          AND ud.day >= %(a_day)s::date - %(horizon)s
          AND ud.hours & CASE WHEN ud.day = %(a_day)s
              THEN (1 << %(a_hour)s) - 1 ELSE %(all_hours)s END <> 0
        ORDER BY ud.day DESC LIMIT 1
    ) p
), gaps AS (
    SELECT r.day, r.day - coalesce(
        lag(r.day) OVER (PARTITION BY r.user_id ORDER BY r.day), pv.day) AS gap
    FROM in_range r LEFT JOIN previous pv ON pv.user_id = r.user_id
)
SELECT day, CASE WHEN gap IS NULL OR gap > %(horizon)s THEN %(none)s ELSE gap END AS g,
       count(*)
FROM gaps WHERE gap IS DISTINCT FROM 0 GROUP BY 1, 2 ORDER BY 1, 2
"""


# Each user-day's local days in a time zone, from the cut of its UTC day (no time zone
# arithmetic per row): a UTC day's hours fall on at most two local days, that of its
# first and of its last active hour (``fl``, ``ll``), and a user's local days never go
# back from one user-day to the next. In the order of the (user_id, day) index, a user's
# active local days are fl, ll of each user-day in turn, repeats aside.
USER_DAY_ENDS_SQL = """
    SELECT user_id, day,
           CASE WHEN hours & ((1 << b) - 1) <> 0 THEN before_day ELSE after_day END AS fl,
           CASE WHEN b < 24 AND (hours >> b) <> 0 THEN after_day ELSE before_day END AS ll
    FROM (
        SELECT ud.user_id, ud.day, ud.hours,
               (%(bounds)s::int[])[ud.day - %(base)s::date + 1] AS b,
               (%(before)s::date[])[ud.day - %(base)s::date + 1] AS before_day,
               (%(after)s::date[])[ud.day - %(base)s::date + 1] AS after_day
        FROM dash_user_days ud
        WHERE ud.day BETWEEN %(base)s AND %(top)s AND ud.hours <> 0
    ) cut
"""


def user_day_ends_params(tz: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The parameters of ``USER_DAY_ENDS_SQL`` for the UTC days that overlap local days
    first..last of ``tz``."""
    days, bounds, before, after = local_day_cuts(tz, first, last)
    return {"bounds": bounds, "before": before, "after": after, "base": days[0],
            "top": days[-1]}  # fmt: skip


# The active gaps of the whole history at once (a rebuild, a seed): one pass in index
# order, no sort; fl's gap is from the previous user-day's ll, ll's (when another day)
# from fl.
_ACTIVE_GAPS_BULK_SQL = """
WITH ends AS ({ends}), gaps AS (
    SELECT fl, ll, fl - lag(ll) OVER (PARTITION BY user_id ORDER BY day) AS gap FROM ends
)
SELECT a.day, CASE WHEN a.gap IS NULL OR a.gap > %(horizon)s THEN %(none)s ELSE a.gap END,
       count(*)
FROM gaps CROSS JOIN LATERAL (VALUES (fl, gap), (ll, ll - fl)) AS a(day, gap)
WHERE a.gap IS DISTINCT FROM 0 AND a.day BETWEEN %(first)s AND %(last)s
GROUP BY 1, 2 ORDER BY 1, 2
"""


def _active_gaps(cursor, tz: str, first: dt.date, last: dt.date) -> list[tuple]:
    cursor.execute("SELECT min(hour) FROM dash_downloads_hourly")
    earliest = cursor.fetchone()[0]
    if earliest is not None and local_day_start(first, tz) <= earliest:
        # No download before the range: the whole history in one ordered pass.
        cursor.execute(
            _ACTIVE_GAPS_BULK_SQL.format(ends=USER_DAY_ENDS_SQL),
            {**user_day_ends_params(tz, first, last), "first": first, "last": last,
             "horizon": GAP_HORIZON_DAYS, "none": _GAP_NONE},
        )  # fmt: skip
        return cursor.fetchall()
    days, bounds, before, after = local_day_cuts(tz, first, last)
    start = local_day_start(first, tz)
    cursor.execute(
        _ACTIVE_GAPS_SQL,
        {
            "days": days, "bounds": bounds, "before": before, "after": after,
            "first": first, "last": last, "tz": tz, "a_day": start.date(),
            "a_hour": start.hour, "all_hours": _ALL_HOURS, "horizon": GAP_HORIZON_DAYS,
            "none": _GAP_NONE,
        },
    )  # fmt: skip
    return cursor.fetchall()


# --- rebuild -------------------------------------------------------------------------

_REBUILD_STREAM_ROLLUPS = [
    """INSERT INTO dash_downloads_hourly (hour, platform, downloads)
       SELECT date_trunc('hour', created_at, 'UTC'), platform, count(*)
       FROM downloads GROUP BY 1, 2""",
    """INSERT INTO dash_video_daily (day, video_id, downloads)
       SELECT (created_at AT TIME ZONE 'UTC')::date, video_id, count(*)
       FROM downloads GROUP BY 1, 2""",
    """INSERT INTO dash_user_days (user_id, day, hours)
       SELECT user_id, (created_at AT TIME ZONE 'UTC')::date,
              bit_or(1 << extract(hour FROM created_at AT TIME ZONE 'UTC')::int)
       FROM downloads GROUP BY 1, 2""",
]
_STREAM_TABLES = "dash_downloads_hourly, dash_video_daily, dash_user_days"
_JOB_TABLES = "dash_video_day_top, dash_utc_days, dash_new_users_hourly, dash_local_days"


def rollups_rebuild(*, stream_rollups: bool = True) -> None:
    """Recompute every rollup from raw rows, safe while the worker runs: the worker's
    tables are locked first, so a batch either committed before (and is read here) or
    waits and adds its downloads after. ``stream_rollups=False`` keeps this app's
    worker-kept tables as they are (``seed_analytics`` loads them itself)."""
    if connection.vendor != "postgresql":
        return
    # Inside a caller's transaction other connections would not see its rows.
    side_by_side = _SIDE_BY_SIDE.set(not connection.in_atomic_block)
    try:
        _rebuild(stream_rollups=stream_rollups)
    finally:
        _SIDE_BY_SIDE.reset(side_by_side)


def _rebuild(*, stream_rollups: bool) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [_REBUILD_WORK_MEM])
        cursor.execute(f"LOCK TABLE {_STREAM_TABLES} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"TRUNCATE {_JOB_TABLES}")
        if stream_rollups:
            cursor.execute(f"TRUNCATE {_STREAM_TABLES}")
            for statement in _REBUILD_STREAM_ROLLUPS:
                cursor.execute(statement)
        for rebuild in _REBUILDERS:
            rebuild(cursor)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_STREAM_TABLES}")
    rollups_refresh(work_mem=_REBUILD_WORK_MEM)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_JOB_TABLES}")
    rollups_version_bump()
