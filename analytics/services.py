"""Writes of the analytics app that are not the event worker's batches."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

from config.redis import get_redis

from . import counters, selectors
from .partitions import add_months, month_start

_CHUNK = 5_000
_PATTERNS = (
    "user:*:downloads_total",
    "user:*:downloads:day:*",
    "user:*:downloads:month:*",
    "video:*:downloads_total",
)


@dataclasses.dataclass
class RebuildReport:
    checked: int = 0
    missing: int = 0
    corrected: int = 0
    removed: int = 0

    def __str__(self) -> str:
        return (
            f"checked {self.checked} counters: {self.missing} restored, "
            f"{self.corrected} corrected, {self.removed} stale removed"
        )


def _wanted_counters(today: dt.date) -> Iterator[tuple[str, int, int]]:
    """(key, value, ttl) for every counter PostgreSQL implies."""
    for user_id, total in selectors.download_totals_by_user():
        yield counters.user_total_key(user_id), total, 0
    for video_id, total in selectors.download_totals_by_video():
        yield counters.video_total_key(video_id), total, 0
    since = today - dt.timedelta(days=counters.DAY_WINDOW - 1)
    for user_id, day, total in selectors.download_counts_by_user_day(since=since):
        if counters.day_in_window(day.date(), today=today):
            yield counters.user_day_key(user_id, day.date()), total, counters.DAY_TTL
    first_month = add_months(month_start(today), -(counters.MONTH_WINDOW - 1))
    for user_id, month, total in selectors.download_counts_by_user_month(since=first_month):
        if counters.month_in_window(month.date(), today=today):
            yield counters.user_month_key(user_id, month.date()), total, counters.MONTH_TTL


def counters_rebuild(*, today: dt.date | None = None) -> RebuildReport:
    """Make the Redis counters equal to PostgreSQL, changing only what differs.

    Run it with the analytics worker stopped (or expect to run it twice): a download
    counted by the worker while this reads PostgreSQL can be seen by both.
    """
    redis = get_redis()
    today = today or dt.datetime.now(tz=dt.UTC).date()
    report = RebuildReport()
    wanted: set[str] = set()
    chunk: list[tuple[str, int, int]] = []
    for item in _wanted_counters(today):
        wanted.add(item[0])
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            _apply_chunk(redis, chunk, report)
            chunk = []
    _apply_chunk(redis, chunk, report)
    report.removed = _remove_stale(redis, wanted)
    return report


def _apply_chunk(redis, chunk: list[tuple[str, int, int]], report: RebuildReport) -> None:
    if not chunk:
        return
    current = redis.mget([key for key, _value, _ttl in chunk])
    pipe = redis.pipeline(transaction=False)
    for (key, value, ttl), present in zip(chunk, current, strict=True):
        report.checked += 1
        if present is not None and int(present) == value:
            continue
        if present is None:
            report.missing += 1
        else:
            report.corrected += 1
        pipe.set(key, value, ex=ttl or None)
    pipe.execute()


def _remove_stale(redis, wanted: set[str]) -> int:
    """Delete counters PostgreSQL does not back (downloads that were never stored)."""
    stale = []
    for pattern in _PATTERNS:
        for key in redis.scan_iter(match=pattern, count=1000):
            name = key.decode() if isinstance(key, bytes) else key
            if name not in wanted:
                stale.append(name)
    for start in range(0, len(stale), _CHUNK):
        redis.delete(*stale[start : start + _CHUNK])
    return len(stale)
