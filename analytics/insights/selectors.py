"""Reads of the insights' rollups, one function per API answer: a few range scans over
the ``dash_ins_*`` tables and ``dash_downloads_hourly``, never over raw events."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from analytics.dashboard.params import Period, today_in
from analytics.dashboard.selectors import fetch_rows, local_day_bounds

from .rollups import RETENTION_DAYS

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR_COLUMNS = [{"key": f"h{h:02d}", "title": f"{h:02d}"} for h in range(24)]
SOURCES = ("location", "activity", "language", "unknown")


def _percent(part: float, whole: float) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


# --- hours -----------------------------------------------------------------------------


def _heatmap(cells: dict[tuple[int, int], int]) -> list[dict[str, Any]]:
    rows = []
    for weekday in range(1, 8):
        row: dict[str, Any] = {"weekday": WEEKDAYS[weekday - 1]}
        for hour in range(24):
            row[f"h{hour:02d}"] = cells.get((weekday, hour), 0)
        row["total"] = sum(cells.get((weekday, hour), 0) for hour in range(24))
        rows.append(row)
    return rows


def hours(period: Period) -> dict[str, Any]:
    """Downloads by hour and weekday x hour: in the viewer's time zone (all downloads)
    and in each user's own local time (users whose zone is known)."""
    bounds = [period.utc_start, period.utc_end]
    viewer = {
        (int(weekday), int(hour)): int(n)
        for weekday, hour, n in fetch_rows(
            "SELECT extract(isodow FROM hour AT TIME ZONE %s), "
            "extract(hour FROM hour AT TIME ZONE %s), sum(downloads) "
            "FROM dash_downloads_hourly WHERE hour >= %s AND hour < %s GROUP BY 1, 2",
            [period.tz, period.tz, *bounds],
        )
    }
    own = {
        (weekday, hour): int(n)
        for weekday, hour, n in fetch_rows(
            "SELECT weekday, local_hour, sum(downloads) FROM dash_ins_local_hours "
            "WHERE hour >= %s AND hour < %s GROUP BY 1, 2",
            bounds,
        )
    }
    downloads, known = sum(viewer.values()), sum(own.values())
    by_hour = []
    for hour in range(24):
        by_hour.append({
            "hour": f"{hour:02d}",
            "downloads": sum(viewer.get((w, hour), 0) for w in range(1, 8)),
            "own_time_downloads": sum(own.get((w, hour), 0) for w in range(1, 8)),
        })  # fmt: skip
    return {
        "downloads": downloads,
        "own_time_downloads": known,
        "own_time_share_percent": _percent(known, downloads),
        "hours": by_hour,
        "heatmap": _heatmap(viewer),
        "heatmap_columns": HOUR_COLUMNS,
        "own_heatmap": _heatmap(own),
        "own_heatmap_columns": HOUR_COLUMNS,
    }


# --- geography -----------------------------------------------------------------------


def _offset_label(minutes: int | None) -> str:
    if minutes is None:
        return "unknown"
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def geo(period: Period, limit: int) -> dict[str, Any]:
    """Users first seen up to the period's last day (UTC day of first sight) by area and
    UTC offset, with the source of each: a shared location's zone, an offset inferred
    from the hours of activity, the region of the language code."""
    rows = fetch_rows(
        "SELECT area, utc_offset, source, sum(users) FROM dash_ins_geo_days "
        "WHERE day <= %s GROUP BY 1, 2, 3",
        [period.end],
    )
    total = sum(int(n) for *_, n in rows)
    sources: dict[str, int] = dict.fromkeys(SOURCES, 0)
    areas: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SOURCES, 0))
    offsets: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SOURCES, 0))
    for area, offset, source, n in rows:
        sources[source] += int(n)
        areas[area][source] += int(n)
        offsets[offset if source in ("location", "activity") else None][source] += int(n)

    def listed(groups: dict, label: str, key_of) -> list[dict[str, Any]]:
        out = []
        for key, by_source in groups.items():
            users = sum(by_source.values())
            out.append({label: key_of(key), "users": users,
                        "share_percent": _percent(users, total), **by_source})  # fmt: skip
        return out

    area_rows = sorted(listed(areas, "area", str), key=lambda r: (-r["users"], r["area"]))
    ordered = dict(sorted(offsets.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
    offset_rows = listed(ordered, "utc_offset", _offset_label)
    return {
        "users": total,
        "sources": [
            {"source": source, "users": n, "share_percent": _percent(n, total)}
            for source, n in sources.items()
        ],
        "areas": area_rows[:limit],
        "offsets": offset_rows,
    }


# --- conversion ----------------------------------------------------------------------


def conversion(period: Period, window: int) -> dict[str, Any]:
    """Clicks ("Watch video" buttons, v_ deep links) in the period followed by a download
    of the same video by the same user within ``window`` hours."""
    bounds = [period.utc_start, period.utc_end]
    rows = fetch_rows(
        "SELECT click_type, platform, sum(clicks), "
        "coalesce(sum(clicks) FILTER (WHERE delay_hours <= %s), 0) "
        "FROM dash_ins_conversions WHERE hour >= %s AND hour < %s GROUP BY 1, 2",
        [window, *bounds],
    )
    per_day = fetch_rows(
        "SELECT width_bucket(hour, %s::timestamptz[]), sum(clicks), "
        "coalesce(sum(clicks) FILTER (WHERE delay_hours <= %s), 0) "
        "FROM dash_ins_conversions WHERE hour >= %s AND hour < %s GROUP BY 1",
        [local_day_bounds(period), window, *bounds],
    )
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_platform: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for click_type, platform, clicks, converted in rows:
        for group, key in ((by_source, click_type), (by_platform, platform or "unknown")):
            group[key][0] += int(clicks)
            group[key][1] += int(converted)
    clicks = sum(c for c, _ in by_source.values())
    converted = sum(v for _, v in by_source.values())
    days = {period.start + dt.timedelta(days=b - 1): (int(c), int(v)) for b, c, v in per_day}

    def listed(group: dict, label: str) -> list[dict[str, Any]]:
        return [{label: key, "clicks": c, "converted": v, "rate_percent": _percent(v, c)}
                for key, (c, v) in sorted(group.items())]  # fmt: skip

    # Clicks of the last ``window`` hours may still convert: say so rather than show a dip.
    pending_from = timezone.now() - dt.timedelta(hours=window)
    return {
        "window_hours": window,
        "clicks": clicks,
        "converted": converted,
        "rate_percent": _percent(converted, clicks),
        "incomplete": period.utc_end > pending_from,
        "by_source": listed(by_source, "source"),
        "by_platform": listed(by_platform, "platform"),
        "days": [
            {"date": day.isoformat(), "clicks": days.get(day, (0, 0))[0],
             "converted": days.get(day, (0, 0))[1],
             "rate_percent": _percent(days.get(day, (0, 0))[1], days.get(day, (0, 0))[0]),
             "incomplete": local_day_end(day, period) > pending_from}
            for day in period.dates()
        ],
    }  # fmt: skip


def local_day_end(day: dt.date, period: Period) -> dt.datetime:
    return Period(day, day, period.tz).utc_end


# --- retention -----------------------------------------------------------------------


def retention(period: Period, mode: str, activity: str) -> dict[str, Any]:
    """Users first seen in the period (local days of ``tz``): the share active on day N
    after it ("on" that day, or "after": on it or any later day). A cohort day whose day
    N has not fully elapsed is left out of day N and counted as pending."""
    today = today_in(period.tz)
    sizes = dict(fetch_rows(
        "SELECT day, users FROM dash_ins_cohort_sizes WHERE tz = %s AND day BETWEEN %s AND %s",
        [period.tz, period.start, period.end],
    ))  # fmt: skip
    active: dict[tuple[dt.date, int], int] = {}
    if mode == "on":
        rows = fetch_rows(
            "SELECT cohort, day - cohort, users FROM dash_ins_cohort_days "
            "WHERE tz = %s AND activity = %s AND cohort BETWEEN %s AND %s "
            "AND day - cohort = ANY(%s)",
            [period.tz, activity, period.start, period.end, list(RETENTION_DAYS)],
        )
    else:
        rows = fetch_rows(
            "SELECT cohort_day, day_n, users_after FROM dash_ins_retention "
            "WHERE tz = %s AND activity = %s AND cohort_day BETWEEN %s AND %s",
            [period.tz, activity, period.start, period.end],
        )
    for cohort_day, day_n, users in rows:
        active[(cohort_day, day_n)] = users
    summary, cohorts = [], []
    for n in RETENTION_DAYS:
        done = [day for day in sizes if day + dt.timedelta(days=n) < today]
        users = sum(sizes[day] for day in done)
        returned = sum(active.get((day, n), 0) for day in done)
        pending = sum(sizes[day] for day in sizes if day not in done)
        summary.append({
            "day": f"day {n}", "users": users, "active": returned,
            "share_percent": _percent(returned, users), "pending_users": pending,
            "incomplete": pending > 0,
        })  # fmt: skip
    for day in sorted(sizes):
        row: dict[str, Any] = {"cohort": day.isoformat(), "users": sizes[day]}
        for n in RETENTION_DAYS:
            elapsed = day + dt.timedelta(days=n) < today
            row[f"d{n}"] = _percent(active.get((day, n), 0), sizes[day]) if elapsed else None
            row[f"d{n}_users"] = active.get((day, n), 0)
            row[f"d{n}_incomplete"] = not elapsed
        cohorts.append(row)
    columns = [{"key": "users", "title": "Users"}] + [
        {"key": f"d{n}", "title": f"Day {n} %"} for n in RETENTION_DAYS
    ]
    return {
        "mode": mode,
        "activity": activity,
        "users": sum(sizes.values()),
        "days": summary,
        "cohorts": cohorts,
        "cohorts_columns": columns,
    }


# --- cohorts -------------------------------------------------------------------------


def _grain_start(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _grain_add(start: dt.date, grain: str, offset: int) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(weeks=offset)
    month = start.month - 1 + offset
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


def _grain_offset(cohort: dt.date, period: dt.date, grain: str) -> int:
    if grain == "week":
        return (period - cohort).days // 7
    return (period.year - cohort.year) * 12 + period.month - cohort.month


def cohorts(period: Period, grain: str, activity: str) -> dict[str, Any]:
    """First-seen weeks (ISO, Monday) or months touching the period, in ``tz``: the users
    active in each later week / month, as counts and shares of the cohort. A cell whose
    week / month has not fully elapsed is marked incomplete."""
    today = today_in(period.tz)
    first = _grain_start(period.start, grain)
    last = _grain_start(period.end, grain)
    sizes: dict[dt.date, int] = defaultdict(int)
    for day, users in fetch_rows(
        "SELECT day, users FROM dash_ins_cohort_sizes WHERE tz = %s AND day >= %s AND day < %s",
        [period.tz, first, _grain_add(last, grain, 1)],
    ):
        sizes[_grain_start(day, grain)] += users
    column = "first_in_week" if grain == "week" else "first_in_month"
    cells: dict[tuple[dt.date, int], int] = defaultdict(int)
    for cohort, activity_period, users in fetch_rows(
        f"SELECT date_trunc(%s, cohort)::date, date_trunc(%s, day)::date, sum({column}) "  # noqa: S608
        "FROM dash_ins_cohort_days WHERE tz = %s AND activity = %s AND cohort >= %s "
        "AND cohort < %s GROUP BY 1, 2",
        [grain, grain, period.tz, activity, first, _grain_add(last, grain, 1)],
    ):
        cells[(cohort, _grain_offset(cohort, activity_period, grain))] += int(users)
    starts = []
    cohort = first
    while cohort <= last:
        starts.append(cohort)
        cohort = _grain_add(cohort, grain, 1)
    width = 0
    while _grain_add(first, grain, width) <= today and width < len(starts) + 60:
        width += 1
    rows = []
    for cohort in starts:
        size = sizes.get(cohort, 0)
        row: dict[str, Any] = {"cohort": cohort.isoformat(), "users": size}
        for offset in range(width):
            begins = _grain_add(cohort, grain, offset)
            if begins > today:
                row[f"p{offset}"] = None  # not begun: the triangle's empty corner
                continue
            users = cells.get((cohort, offset), 0)
            row[f"p{offset}"] = _percent(users, size)
            row[f"p{offset}_users"] = users
            row[f"p{offset}_incomplete"] = _grain_add(cohort, grain, offset + 1) > today
        rows.append(row)
    name = "Week" if grain == "week" else "Month"
    columns = [{"key": "users", "title": "Users"}] + [
        {"key": f"p{offset}", "title": f"{name} {offset} %"} for offset in range(width)
    ]
    return {"grain": grain, "activity": activity, "cohorts": rows, "cohorts_columns": columns}


# --- funnel --------------------------------------------------------------------------

# Each user's first journey of the period is the one in it whose previous journey came
# before it: no sort per user. Users' very first journeys come from their counts per
# day and month (``JourneyFirstsDay``, ``JourneyFirstsMonth``: ``_FIRSTS_SQL``) for the
# period's whole UTC days, and from the journeys themselves (``_FUNNEL_SQL``) for the
# hours before the first and after the last (the edges); the others (a previous journey
# before the period) always from the journeys. Each journey counts twice: by the seconds
# to its step (kind 0; null: no step in the window) and by the seconds from the step to
# the download (kind 1; -1: a download without a step; null: none in the window). The
# medians come from those counts (a few thousand groups rather than a sort of every
# user's values).
_FUNNEL_SQL = """
SELECT GROUPING(chosen), platform, language, coalesce(chosen, downloaded), count(*)
FROM (
    SELECT platform, language,
           CASE WHEN chosen_after <= %(window)s THEN chosen_after END AS chosen,
           CASE WHEN downloaded_after <= %(window)s
                THEN coalesce(downloaded_after - chosen_after, -1) END AS downloaded
    FROM (
        SELECT platform, language, chosen_after, downloaded_after FROM dash_ins_journeys
        WHERE started_at >= %(start)s AND started_at < %(edge_start)s
          AND previous_started_at IS NULL
        UNION ALL
        SELECT platform, language, chosen_after, downloaded_after FROM dash_ins_journeys
        WHERE started_at >= %(edge_end)s AND started_at < %(end)s
          AND previous_started_at IS NULL
        UNION ALL
        SELECT platform, language, chosen_after, downloaded_after FROM dash_ins_journeys
        WHERE started_at >= %(start)s AND started_at < %(end)s
          AND previous_started_at < %(start)s
    ) firsts_of_period
) j
GROUP BY GROUPING SETS ((platform, language, chosen), (platform, language, downloaded))
"""
_FIRSTS_SQL = """
SELECT kind, platform, language,
       CASE WHEN kind = 0 THEN CASE WHEN seconds <= %(window)s THEN seconds END
            WHEN hours <= %(hours)s THEN seconds END,
       sum(users)
FROM (
    SELECT kind, platform, language, seconds, hours, users FROM dash_ins_journey_firsts
    WHERE (day >= %(first_day)s AND day < %(first_month)s)
       OR (day >= %(after_month)s AND day < %(after_day)s)
    UNION ALL
    SELECT kind, platform, language, seconds, hours, users
    FROM dash_ins_journey_firsts_months
    WHERE month >= %(first_month)s AND month < %(after_month)s
) firsts
GROUP BY 1, 2, 3, 4
"""


def _whole_days(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The UTC midnights that bound the period's whole UTC days (equal: none)."""
    midnight = period.utc_start.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight if midnight == period.utc_start else midnight + dt.timedelta(days=1)
    last = period.utc_end.replace(hour=0, minute=0, second=0, microsecond=0)
    return (first, last) if first < last else (period.utc_end, period.utc_end)


def _whole_months(first: dt.date, after: dt.date) -> tuple[dt.date, dt.date]:
    """The first days that bound the whole UTC months of days first..after - 1 (equal:
    none; then both are ``after``)."""
    start = (
        first if first.day == 1 else (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    )
    end = after.replace(day=1)
    return (start, end) if start < end else (after, after)


def _median(counts: Counter[int]) -> float | None:
    """The median of values given with their counts (the mean of the two middle values
    when their number is even, as ``percentile_cont(0.5)``)."""
    total = sum(counts.values())
    if not total:
        return None
    middle, seen, low = (total - 1) / 2, 0, None
    for value in sorted(counts):
        seen += counts[value]
        if low is None and seen > math.floor(middle):
            low = value
        if seen > math.ceil(middle):
            return (low + value) / 2
    return float(low)


def funnel(period: Period, window: int) -> dict[str, Any]:
    """Users whose first inline query of the period was followed, in order and within
    ``window`` hours of it, by a chosen result or "Watch video" click, then by a
    download of that video."""
    seconds = window * 3600
    first, last = _whole_days(period)
    with transaction.atomic(), connection.cursor() as cursor:
        # Hashed in memory (a few thousand groups), not sorted on disk.
        cursor.execute("SET LOCAL work_mem = '32MB'")
        cursor.execute(
            _FUNNEL_SQL,
            {"start": period.utc_start, "end": period.utc_end, "window": seconds,
             "edge_start": first, "edge_end": last},
        )  # fmt: skip
        rows = cursor.fetchall()
        if first < last:
            first_month, after_month = _whole_months(first.date(), last.date())
            cursor.execute(
                _FIRSTS_SQL,
                {"window": seconds, "hours": window, "first_day": first.date(),
                 "after_day": last.date(), "first_month": first_month,
                 "after_month": after_month},
            )  # fmt: skip
            rows += cursor.fetchall()
    # Per group (everyone, each platform, each language): users, seconds to the step
    # (users who took it in the window), seconds from the step to the download (users
    # who downloaded in it).
    queried: Counter[tuple] = Counter()
    downloaded: Counter[tuple] = Counter()
    to_chosen: dict[tuple, Counter[int]] = defaultdict(Counter)
    to_download: dict[tuple, Counter[int]] = defaultdict(Counter)
    for kind, platform, language, value, n in rows:
        groups, n = ((), ("platform", platform), ("language", language)), int(n)
        for group in groups:
            if kind == 0:
                queried[group] += n
                if value is not None:
                    to_chosen[group][value] += n
            elif value is not None:
                downloaded[group] += n
                if value >= 0:
                    to_download[group][value] += n

    def group_figures(group: tuple) -> dict[str, Any]:
        chosen = to_chosen.get(group, Counter())
        return figures(queried[group], sum(chosen.values()), downloaded[group],
                       _median(chosen), _median(to_download.get(group, Counter())))  # fmt: skip

    def figures(queried, chosen, downloaded, to_chosen, to_download) -> dict[str, Any]:
        return {
            "queried": queried, "chosen": chosen, "downloaded": downloaded,
            "chosen_percent": _percent(chosen, queried),
            "downloaded_of_chosen_percent": _percent(downloaded, chosen),
            "overall_percent": _percent(downloaded, queried),
            "median_seconds_to_chosen": None if to_chosen is None else round(to_chosen),
            "median_seconds_to_download": None if to_download is None else round(to_download),
        }  # fmt: skip

    overall = group_figures(())
    by_platform = [
        {"platform": group[1] or "unknown", **group_figures(group)}
        for group in sorted(g for g in queried if g and g[0] == "platform")
    ]
    by_language = [
        {"language": group[1] or "unknown", **group_figures(group)}
        for group in sorted(g for g in queried if g and g[0] == "language")
    ]
    steps = [
        {"step": "inline query", "users": overall["queried"], "step_percent": None,
         "overall_percent": 100.0 if overall["queried"] else None, "median_seconds": None},
        {"step": "chosen result or Watch click", "users": overall["chosen"],
         "step_percent": overall["chosen_percent"],
         "overall_percent": overall["chosen_percent"],
         "median_seconds": overall["median_seconds_to_chosen"]},
        {"step": "download", "users": overall["downloaded"],
         "step_percent": overall["downloaded_of_chosen_percent"],
         "overall_percent": overall["overall_percent"],
         "median_seconds": overall["median_seconds_to_download"]},
    ]  # fmt: skip
    return {
        "window_hours": window,
        "incomplete": period.utc_end > timezone.now() - dt.timedelta(hours=window),
        **overall,
        "steps": steps,
        "by_platform": sorted(by_platform, key=lambda r: r["platform"]),
        "by_language": sorted(by_language, key=lambda r: r["language"]),
    }
