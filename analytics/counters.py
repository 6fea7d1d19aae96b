"""Redis download counters: a fast copy of what PostgreSQL knows.

Keys (UTC dates):

- ``user:{user_id}:downloads_total``
- ``user:{user_id}:downloads:day:{YYYYMMDD}`` (TTL 3 days)
- ``user:{user_id}:downloads:month:{YYYYMM}`` (TTL 2 months)
- ``video:{video_id}:downloads_total``

The event worker moves them only for downloads it newly stored (see
``analytics.worker``); ``python manage.py rebuild_counters`` sets them from PostgreSQL.
A download older than a key's window (a late or replayed event) moves the totals but
not a day or month key that would already have expired, so both paths agree.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import NamedTuple

from config.redis import get_redis

# The event worker adds each event whose download it counted to a set per day of the
# event (``analytics.worker``), so a second copy of the event, delivered again later,
# is not counted twice. A copy arrives within minutes (a spool replayed after a
# timed-out publish) or after a worker outage; a set lives ``COUNTED_TTL`` after its
# last addition. Cost: about 60 bytes of Redis memory per download of those days.
COUNTED_TTL = 4 * 24 * 3600
DAY_TTL = 3 * 24 * 3600
MONTH_TTL = 62 * 24 * 3600
DAY_WINDOW = 3  # days, today included
MONTH_WINDOW = 2  # months, this one included


class CounterIncrement(NamedTuple):
    key: str
    amount: int
    ttl: int  # seconds; 0 keeps the key forever


def user_total_key(user_id: int) -> str:
    return f"user:{user_id}:downloads_total"


def user_day_key(user_id: int, day: dt.date) -> str:
    return f"user:{user_id}:downloads:day:{day:%Y%m%d}"


def user_month_key(user_id: int, day: dt.date) -> str:
    return f"user:{user_id}:downloads:month:{day:%Y%m}"


def video_total_key(video_id: str) -> str:
    return f"video:{video_id}:downloads_total"


@functools.lru_cache(maxsize=64)
def _counted_set_key(day: dt.date) -> str:
    return f"analytics:counted:{day:%Y%m%d}"


def counted_set_key(at: dt.datetime) -> str:
    """The set of the downloads of ``at``'s UTC day counted in Redis (event ids)."""
    return _counted_set_key(at.astimezone(dt.UTC).date())


def _today() -> dt.date:
    return dt.datetime.now(tz=dt.UTC).date()


def day_in_window(day: dt.date, *, today: dt.date) -> bool:
    return today - dt.timedelta(days=DAY_WINDOW - 1) <= day <= today


def month_in_window(day: dt.date, *, today: dt.date) -> bool:
    months_ago = (today.year - day.year) * 12 + today.month - day.month
    return 0 <= months_ago < MONTH_WINDOW


def download_increments(
    *, user_id: int, video_id: str, at: dt.datetime, today: dt.date | None = None
) -> list[CounterIncrement]:
    """The counter changes one newly stored download makes."""
    day_suffix, month_suffix = _period_suffixes(
        at.astimezone(dt.UTC).date(), today=today or _today()
    )
    increments = [
        CounterIncrement(user_total_key(user_id), 1, 0),
        CounterIncrement(video_total_key(video_id), 1, 0),
    ]
    if day_suffix:
        increments.append(CounterIncrement(f"user:{user_id}{day_suffix}", 1, DAY_TTL))
    if month_suffix:
        increments.append(CounterIncrement(f"user:{user_id}{month_suffix}", 1, MONTH_TTL))
    return increments


@functools.lru_cache(maxsize=64)
def _period_suffixes(day: dt.date, *, today: dt.date) -> tuple[str, str]:
    """The day and month key endings for a download on ``day``, empty outside their
    window (the worker asks once per event, so this is cached)."""
    return (
        f":downloads:day:{day:%Y%m%d}" if day_in_window(day, today=today) else "",
        f":downloads:month:{day:%Y%m}" if month_in_window(day, today=today) else "",
    )


def increments_apply(increments: Iterable[CounterIncrement]) -> None:
    pipe = get_redis().pipeline(transaction=False)
    for key, amount, ttl in increments:
        pipe.incrby(key, amount)
        if ttl:
            pipe.expire(key, ttl)
    pipe.execute()


def increment_user_downloads(
    *, user_id: int, amount: int = 1, at: dt.datetime | None = None
) -> None:
    """Count ``amount`` downloads by a user at ``at`` (now): total, day and month keys."""
    at = at or dt.datetime.now(tz=dt.UTC)
    day = at.astimezone(dt.UTC).date()
    today = _today()
    increments = [CounterIncrement(user_total_key(user_id), amount, 0)]
    if day_in_window(day, today=today):
        increments.append(CounterIncrement(user_day_key(user_id, day), amount, DAY_TTL))
    if month_in_window(day, today=today):
        increments.append(CounterIncrement(user_month_key(user_id, day), amount, MONTH_TTL))
    increments_apply(increments)


def increment_video_downloads(*, video_id: str, amount: int = 1) -> None:
    increments_apply([CounterIncrement(video_total_key(video_id), amount, 0)])


def _read(key: str) -> int:
    value = get_redis().get(key)
    return int(value) if value is not None else 0


def get_user_downloads_count(*, user_id: int) -> int:
    return _read(user_total_key(user_id))


def get_user_downloads_today(*, user_id: int, today: dt.date | None = None) -> int:
    return _read(user_day_key(user_id, today or _today()))


def get_user_downloads_month(*, user_id: int, today: dt.date | None = None) -> int:
    return _read(user_month_key(user_id, today or _today()))


def get_video_downloads_count(*, video_id: str) -> int:
    return _read(video_total_key(video_id))
