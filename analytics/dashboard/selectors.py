"""Reads of the rollups for the dashboard: one function per API answer, each a few
index range scans over rollup tables, never over raw events."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection

from analytics.rollups import local_day_start

from .params import Period

PLATFORMS = ("youtube", "instagram", "tiktok")


def fetch_rows(sql: str, params: list | dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _one(sql: str, params: list | dict) -> Any:
    return fetch_rows(sql, params)[0][0]


def downloads_by_platform(period: Period) -> dict[str, int]:
    counts = dict.fromkeys(PLATFORMS, 0)
    rows = fetch_rows(
        "SELECT platform, sum(downloads) FROM dash_downloads_hourly "
        "WHERE hour >= %s AND hour < %s GROUP BY platform",
        [period.utc_start, period.utc_end],
    )
    for platform, downloads in rows:
        counts[platform] = int(downloads)
    return counts


def users_new(period: Period) -> int:
    return int(
        _one(
            "SELECT coalesce(sum(users), 0) FROM dash_new_users_hourly "
            "WHERE hour >= %s AND hour < %s",
            [period.utc_start, period.utc_end],
        )
    )


def users_total(period: Period) -> int:
    """Users known by the end of the period."""
    return int(
        _one(
            "SELECT coalesce(sum(users), 0) FROM dash_new_users_hourly WHERE hour < %s",
            [period.utc_end],
        )
    )


def active_users(period: Period) -> int:
    """Distinct users with a download in the period (``LocalDay.users_beyond``)."""
    return int(
        _one(
            "SELECT coalesce(sum(users_beyond[day - %s::date + 1]), 0) FROM dash_local_days "
            "WHERE tz = %s AND day BETWEEN %s AND %s",
            [period.start, period.tz, period.start, period.end],
        )
    )


def period_totals(period: Period) -> dict[str, Any]:
    by_platform = downloads_by_platform(period)
    return {
        "users_total": users_total(period),
        "users_new": users_new(period),
        "downloads": sum(by_platform.values()),
        "active_users": active_users(period),
        "by_platform": by_platform,
    }


def _change(current: int, previous: int) -> float | None:
    """Relative change in percent; None when there is nothing to compare with."""
    if not previous:
        return None
    return round((current - previous) * 100 / previous, 1)


def overview(period: Period) -> dict[str, Any]:
    answer = period_totals(period)
    previous = period_totals(period.previous())
    answer["previous"] = {key: previous[key] for key in ("users_total", "users_new",
                                                         "downloads", "active_users")}  # fmt: skip
    answer["change_percent"] = {key: _change(answer[key], value)
                                for key, value in answer["previous"].items()}  # fmt: skip
    return answer


def local_day_bounds(period: Period) -> list[dt.datetime]:
    """The UTC instants at which the period's local days begin, and its end: for
    ``width_bucket(hour, bounds)``, which puts an hour in its local day by binary search
    (a time zone conversion per row cost more than the rest of the query)."""
    return [local_day_start(day, period.tz) for day in period.dates()] + [period.utc_end]


def _by_local_day(table: str, column: str, period: Period) -> dict[dt.date, int]:
    rows = fetch_rows(
        f"SELECT width_bucket(hour, %s::timestamptz[]), sum({column}) FROM {table} "  # noqa: S608
        "WHERE hour >= %s AND hour < %s GROUP BY 1",
        [local_day_bounds(period), period.utc_start, period.utc_end],
    )
    return {period.start + dt.timedelta(days=bucket - 1): int(n) for bucket, n in rows}


def _recent_absence(period: Period, lookback: int) -> dict[dt.date, list[int]]:
    """Per day from ``lookback - 1`` days before the start: ``users_beyond[1..lookback]``."""
    rows = fetch_rows(
        "SELECT day, users_beyond[1:%s] FROM dash_local_days "
        "WHERE tz = %s AND day BETWEEN %s AND %s",
        [lookback, period.tz, period.start - dt.timedelta(days=lookback - 1), period.end],
    )
    return dict(rows)


def _window_active(by_day: dict, day: dt.date, length: int) -> int:
    """Distinct users active in the ``length`` days ending ``day``: on each day of the
    window, those whose previous active day lies before the window."""
    total = 0
    for back in range(length):
        beyond = by_day.get(day - dt.timedelta(days=back))
        if beyond:
            total += beyond[length - 1 - back]  # previous day more than that far back
    return total


def daily(period: Period) -> dict[str, Any]:
    downloads = _by_local_day("dash_downloads_hourly", "downloads", period)
    new_users = _by_local_day("dash_new_users_hourly", "users", period)
    by_day = _recent_absence(period, 30)
    days = []
    for day in period.dates():
        days.append({
            "date": day.isoformat(),
            "downloads": downloads.get(day, 0),
            "active_users": _window_active(by_day, day, 1),
            "new_users": new_users.get(day, 0),
            "wau": _window_active(by_day, day, 7),
            "mau": _window_active(by_day, day, 30),
        })  # fmt: skip
    return {"days": days}


def platforms(period: Period) -> dict[str, Any]:
    """Downloads per platform: totals with shares, and per local day."""
    totals = downloads_by_platform(period)
    overall = sum(totals.values())
    rows = fetch_rows(
        "SELECT width_bucket(hour, %s::timestamptz[]), platform, sum(downloads) "
        "FROM dash_downloads_hourly WHERE hour >= %s AND hour < %s GROUP BY 1, 2",
        [local_day_bounds(period), period.utc_start, period.utc_end],
    )
    per_day: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PLATFORMS, 0))
    for bucket, platform, downloads in rows:
        per_day[period.start + dt.timedelta(days=bucket - 1)][platform] = int(downloads)
    return {
        "platforms": [
            {
                "platform": platform,
                "downloads": totals[platform],
                "share_percent": round(totals[platform] * 100 / overall, 1) if overall else 0.0,
            }
            for platform in PLATFORMS
        ],
        "days": [{"date": day.isoformat(), **per_day[day]} for day in period.dates()],
    }
