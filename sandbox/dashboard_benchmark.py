"""``bench_dashboard``: every registered API endpoint over 1, 30 and 365 days in two
time zones, through the whole Django stack (middleware, token check, JSON), with the
answer cache off so that every call computes."""

from __future__ import annotations

import datetime as dt
import secrets
import statistics
import time
from collections import defaultdict

from django.db import connection
from django.test import Client, override_settings

from analytics.dashboard.api import ENDPOINTS

RANGES = (1, 30, 365)


def latest_day() -> dt.date:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(hour) FROM dash_downloads_hourly")
        latest = cursor.fetchone()[0]
    return (latest or dt.datetime.now(tz=dt.UTC)).date()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def bench_run(*, time_zones: tuple[str, ...], repeat: int, end: dt.date | None = None) -> dict:
    """Per endpoint and per range: the milliseconds of every call."""
    end = end or latest_day()
    token = secrets.token_urlsafe(24)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    timings: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    with override_settings(DASHBOARD_API_TOKEN=token, DASHBOARD_CACHE_SECONDS=0):
        for _ in range(repeat):
            for name in ENDPOINTS:
                for days in RANGES:
                    for tz in time_zones:
                        start = end - dt.timedelta(days=days - 1)
                        began = time.perf_counter()
                        response = client.get(
                            f"/dashboard/api/{name}", {"start": start, "end": end, "tz": tz}
                        )
                        elapsed = (time.perf_counter() - began) * 1000
                        if response.status_code != 200:
                            raise RuntimeError(
                                f"{name}: HTTP {response.status_code}: {response.content[:200]!r}"
                            )
                        timings[name][days].append(elapsed)
    return timings


def bench_table(timings: dict) -> list[str]:
    lines = [f"{'endpoint':<14}{'range':>7}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}"]
    for name, by_range in timings.items():
        every: list[float] = []
        for days, values in by_range.items():
            every += values
            lines.append(
                f"{name:<14}{days:>6}d{len(values):>7}"
                f"{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}"
            )
        lines.append(
            f"{name:<14}{'all':>7}{len(every):>7}"
            f"{statistics.median(every):>9.1f}{percentile(every, 0.95):>9.1f}"
        )
    return lines
