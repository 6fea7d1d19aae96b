"""The dashboard's numbers recounted from raw rows, the slow and obvious way."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count

from analytics.models import Download
from analytics.rollups import local_day_start
from users.models import BotUser


def bounds(start: dt.date, end: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    return local_day_start(start, tz), local_day_start(end + dt.timedelta(days=1), tz)


def downloads_in(start: dt.date, end: dt.date, tz: str):
    low, high = bounds(start, end, tz)
    return Download.objects.filter(created_at__gte=low, created_at__lt=high)


def totals(start: dt.date, end: dt.date, tz: str) -> dict:
    low, high = bounds(start, end, tz)
    rows = downloads_in(start, end, tz)
    by_platform = {p: rows.filter(platform=p).count() for p in ("youtube", "instagram", "tiktok")}
    return {
        "users_total": BotUser.objects.filter(first_seen_at__lt=high).count(),
        "users_new": BotUser.objects.filter(first_seen_at__gte=low, first_seen_at__lt=high).count(),
        "downloads": rows.count(),
        "active_users": rows.values("user_id").distinct().count(),
        "by_platform": by_platform,
    }


def daily(start: dt.date, end: dt.date, tz: str) -> list[dict]:
    days = []
    day = start
    while day <= end:
        low, high = bounds(day, day, tz)
        new_users = BotUser.objects.filter(first_seen_at__gte=low, first_seen_at__lt=high)
        days.append(
            {
                "date": day.isoformat(),
                "downloads": downloads_in(day, day, tz).count(),
                "active_users": _distinct_users(day, day, tz),
                "new_users": new_users.count(),
                "wau": _distinct_users(day - dt.timedelta(days=6), day, tz),
                "mau": _distinct_users(day - dt.timedelta(days=29), day, tz),
            }
        )
        day += dt.timedelta(days=1)
    return days


def _distinct_users(start: dt.date, end: dt.date, tz: str) -> int:
    return downloads_in(start, end, tz).values("user_id").distinct().count()


def top_videos(start: dt.date, end: dt.date, tz: str, limit: int) -> list[tuple[str, int]]:
    rows = downloads_in(start, end, tz).values("video_id").annotate(n=Count("*"))
    ranked = sorted(((row["video_id"], row["n"]) for row in rows), key=lambda r: (-r[1], r[0]))
    return ranked[:limit]
