"""Reads of the rollups for the dashboard: one function per API answer, each a few
index range scans over rollup tables, never over raw events."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection

from .params import Period

PLATFORMS = ("youtube", "instagram", "tiktok")


def _rows(sql: str, params: list | dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _one(sql: str, params: list | dict) -> Any:
    return _rows(sql, params)[0][0]


def downloads_by_platform(period: Period) -> dict[str, int]:
    counts = dict.fromkeys(PLATFORMS, 0)
    rows = _rows(
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
    """Distinct users with a download in the period: each counted on their first
    active day in it, the one whose previous active day lies before the start."""
    return int(
        _one(
            "SELECT coalesce(sum(users), 0) FROM dash_active_gaps "
            "WHERE tz = %s AND day BETWEEN %s AND %s AND gap > day - %s::date",
            [period.tz, period.start, period.end, period.start],
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


def _by_local_day(table: str, column: str, period: Period) -> dict[dt.date, int]:
    rows = _rows(
        f"SELECT (hour AT TIME ZONE %s)::date, sum({column}) FROM {table} "  # noqa: S608
        "WHERE hour >= %s AND hour < %s GROUP BY 1",
        [period.tz, period.utc_start, period.utc_end],
    )
    return {day: int(n) for day, n in rows}


def _first_days(period: Period, lookback: int) -> dict[dt.date, list[int]]:
    """Per day from ``lookback - 1`` days before the start: users active that day by
    their gap (capped at ``lookback``: any longer gap counts the same)."""
    rows = _rows(
        "SELECT day, least(gap, %s), sum(users) FROM dash_active_gaps "
        "WHERE tz = %s AND day BETWEEN %s AND %s GROUP BY 1, 2",
        [lookback, period.tz, period.start - dt.timedelta(days=lookback - 1), period.end],
    )
    by_day: dict[dt.date, list[int]] = defaultdict(lambda: [0] * (lookback + 1))
    for day, gap, users in rows:
        by_day[day][gap] += int(users)
    return by_day


def _window_active(by_day: dict, day: dt.date, length: int) -> int:
    """Distinct users active in the ``length`` days ending ``day``."""
    total = 0
    for back in range(length):
        counts = by_day.get(day - dt.timedelta(days=back))
        if counts:
            # first active day of the window iff the gap reaches before its start
            total += sum(counts[length - back :])
    return total


def daily(period: Period) -> dict[str, Any]:
    downloads = _by_local_day("dash_downloads_hourly", "downloads", period)
    new_users = _by_local_day("dash_new_users_hourly", "users", period)
    by_day = _first_days(period, 30)
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
    rows = _rows(
        "SELECT (hour AT TIME ZONE %s)::date, platform, sum(downloads) "
        "FROM dash_downloads_hourly WHERE hour >= %s AND hour < %s GROUP BY 1, 2",
        [period.tz, period.utc_start, period.utc_end],
    )
    per_day: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PLATFORMS, 0))
    for day, platform, downloads in rows:
        per_day[day][platform] = int(downloads)
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


def referrals(period: Period, limit: int) -> dict[str, Any]:
    """Invitations that arrived in the period: how many, how many of the invited have
    downloaded since (activated), per day, and the referrers who brought the most."""
    bounds = [period.utc_start, period.utc_end]
    invited, activated = _rows(
        "SELECT count(*), count(*) FILTER (WHERE u.total_downloads > 0) "
        "FROM referrals r LEFT JOIN users u ON u.user_id = r.referred_user_id "
        "WHERE r.created_at >= %s AND r.created_at < %s",
        bounds,
    )[0]
    per_day = dict(
        _rows(
            "SELECT (created_at AT TIME ZONE %s)::date, count(*) FROM referrals "
            "WHERE created_at >= %s AND created_at < %s GROUP BY 1",
            [period.tz, *bounds],
        )
    )
    top = _rows(
        "SELECT r.referrer_id, coalesce(u.username, ''), coalesce(u.first_name, ''), count(*), "
        "count(*) FILTER (WHERE invited.total_downloads > 0) "
        "FROM referrals r LEFT JOIN users u ON u.user_id = r.referrer_id "
        "LEFT JOIN users invited ON invited.user_id = r.referred_user_id "
        "WHERE r.created_at >= %s AND r.created_at < %s "
        "GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1 LIMIT %s",
        [*bounds, limit],
    )
    return {
        "invited": invited,
        "activated": activated,
        "days": [
            {"date": day.isoformat(), "invited": per_day.get(day, 0)} for day in period.dates()
        ],
        "top_referrers": [
            {
                "user_id": user_id,
                "name": f"@{username}" if username else first_name or str(user_id),
                "invited": n,
                "activated": active,
            }
            for user_id, username, first_name, n, active in top
        ],
        "summary": [
            {"metric": "Invited", "value": invited},
            {"metric": "Activated (downloaded since)", "value": activated},
        ],
    }
