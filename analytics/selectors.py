"""Reads of the analytics tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Count
from django.db.models.functions import TruncDay, TruncMonth

from .models import Download


def download_totals_by_user() -> Iterator[tuple[int, int]]:
    rows = Download.objects.order_by().values_list("user_id").annotate(n=Count("*"))
    return rows.iterator(chunk_size=10_000)


def download_totals_by_video() -> Iterator[tuple[str, int]]:
    rows = Download.objects.order_by().values_list("video_id").annotate(n=Count("*"))
    return rows.iterator(chunk_size=10_000)


def download_counts_by_user_day(*, since: dt.date) -> Iterator[tuple[int, dt.datetime, int]]:
    """(user id, UTC day, downloads) from ``since`` on."""
    start = dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC)
    rows = (
        Download.objects.filter(created_at__gte=start)
        .order_by()
        .annotate(day=TruncDay("created_at", tzinfo=dt.UTC))
        .values_list("user_id", "day")
        .annotate(n=Count("*"))
    )
    return rows.iterator(chunk_size=10_000)


def download_counts_by_user_month(*, since: dt.date) -> Iterator[tuple[int, dt.datetime, int]]:
    """(user id, first of the UTC month, downloads) from the month of ``since`` on."""
    start = dt.datetime(since.year, since.month, 1, tzinfo=dt.UTC)
    rows = (
        Download.objects.filter(created_at__gte=start)
        .order_by()
        .annotate(month=TruncMonth("created_at", tzinfo=dt.UTC))
        .values_list("user_id", "month")
        .annotate(n=Count("*"))
    )
    return rows.iterator(chunk_size=10_000)
