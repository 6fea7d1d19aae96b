"""The event pipeline benchmark behind ``python manage.py bench_events``.

It empties the analytics tables and the Redis database it is pointed at, so it refuses
any database whose name does not contain "bench", and any host but the loopback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import random
import statistics
import threading
import time
from collections.abc import Callable
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings

from analytics import counters, rollups, sql
from analytics.dashboard.params import Period
from analytics.dashboard.selectors import active_users
from analytics.events import (
    DownloadCompleted,
    DownloadFailed,
    Event,
    InlineQueried,
    UserReferred,
    UserSeen,
    VideoViewClicked,
)
from analytics.models import ClickEvent, Download, FunnelEvent
from analytics.publisher import publish
from analytics.stream import STREAM, group_ensure
from analytics.worker import StepResult, Worker
from config.redis import get_redis

PLATFORMS = ("youtube", "instagram", "tiktok")
REFERRED_BASE = 10_000_000  # referred users get ids of their own, so each is new


class BenchmarkRefused(Exception):
    pass


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost", None, ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def environment_check() -> None:
    db = connection.settings_dict
    redis_host = urlparse(settings.CACHES["default"]["LOCATION"]).hostname
    if "bench" not in db["NAME"]:
        raise BenchmarkRefused(f"database {db['NAME']!r}: its name must contain 'bench'")
    if connection.vendor != "postgresql" or not _is_loopback(db["HOST"]):
        raise BenchmarkRefused("the benchmark runs against PostgreSQL on 127.0.0.1 only")
    if settings.REDIS_EMBEDDED or not _is_loopback(redis_host):
        raise BenchmarkRefused("the benchmark runs against Redis on 127.0.0.1 only")


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE downloads, videos, click_events, funnel_events, referrals, users CASCADE"
        )
    rollups.rollups_rebuild()  # from the now empty tables: every rollup starts at zero
    get_redis().flushdb()
    group_ensure(get_redis())


def synthetic_events(count: int, *, users: int, videos: int, seed: int = 1) -> list[Event]:
    """A plausible mix: mostly downloads, some profile updates, clicks and funnel steps."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
    makers: list[tuple[float, Callable[[int], Event]]] = [
        (0.70, lambda n: _download(rng, users, videos)),
        (0.15, lambda n: UserSeen(user_id=rng.randrange(users), username=f"u{n}",
                                  first_name="Bench", language_code="en")),
        (0.08, lambda n: VideoViewClicked(user_id=rng.randrange(users),
                                          video_id=_video(rng, videos))),
        (0.04, lambda n: InlineQueried(user_id=rng.randrange(users), platform="youtube")),
        (0.02, lambda n: DownloadFailed(user_id=rng.randrange(users), platform="tiktok",
                                        url="https://example.invalid/x", reason="private")),
        (0.01, lambda n: UserReferred(referrer_id=rng.randrange(users),
                                      new_user_id=REFERRED_BASE + n)),
    ]  # fmt: skip
    weights = [weight for weight, _ in makers]
    choices = rng.choices([make for _, make in makers], weights=weights, k=count)
    return [make(number) for number, make in enumerate(choices)]


def _video(rng: random.Random, videos: int) -> str:
    return f"{PLATFORMS[0]}:{rng.randrange(videos):011d}"


def _download(rng: random.Random, users: int, videos: int) -> DownloadCompleted:
    return DownloadCompleted(
        user_id=rng.randrange(users), video_id=_video(rng, videos), platform="youtube",
        source="message", format="720p", from_cache=rng.random() < 0.6,
    )  # fmt: skip


@dataclasses.dataclass
class Figures:
    events: int = 0
    publish_seconds: float = 0.0
    publish_p50_us: float = 0.0
    publish_p99_us: float = 0.0
    ingest_seconds: float = 0.0
    lag_events: int = 0
    lag_published: list[Event] = dataclasses.field(default_factory=list, repr=False)
    lag_p50_ms: float = 0.0
    lag_p99_ms: float = 0.0
    lag_max_ms: float = 0.0
    rollup_statements_seconds: float = 0.0
    checks: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)


def publish_all(events: list[Event], figures: Figures) -> None:
    durations = []
    started = time.perf_counter()
    for event in events:
        before = time.perf_counter_ns()
        publish(event)
        durations.append(time.perf_counter_ns() - before)
    figures.publish_seconds = time.perf_counter() - started
    figures.publish_p50_us = statistics.median(durations) / 1000
    figures.publish_p99_us = _percentile(durations, 0.99) / 1000


def ingest_all(*, batch_size: int, figures: Figures) -> None:
    # As ``run_worker`` (the analytics_worker command) runs it against Redis.
    worker = Worker(consumer="bench-ingest", batch_size=batch_size, block_ms=10, prefetch=True)
    started = time.perf_counter()
    while worker.step().read:
        pass
    worker.finish()
    figures.ingest_seconds = time.perf_counter() - started


def measure_rollup_statements(events: list[Event], *, batch_size: int, figures: Figures) -> None:
    """The worker's share of rollup upkeep: the rollup upserts of each batch's downloads
    (``rollups.downloads_rollup_statements``), run again on their own after the ingest
    (so against rows that exist, as in a steady state) and rolled back. In the worker
    they travel in the batch's one pipeline, so this is their database time plus a
    round trip per batch: an upper bound of what they add to the ingest."""
    elapsed = 0.0
    for start in range(0, len(events), batch_size):
        batch = [e for e in events[start : start + batch_size] if isinstance(e, DownloadCompleted)]
        statements = rollups.downloads_rollup_statements(batch)
        for statement in statements:
            statement.encode()  # the worker does this in its read-ahead thread
        began = time.perf_counter()
        with transaction.atomic():
            sql.run(statements)
            transaction.set_rollback(True)
        elapsed += time.perf_counter() - began
    figures.rollup_statements_seconds = elapsed


def measure_rollup_job(*, heavy: bool) -> float:
    """The rollup job's share: one run of ``rollups_refresh`` (which the worker runs in a
    thread of its own every ``DASHBOARD_ROLLUP_SECONDS``), in seconds.
    ``heavy`` makes the insights' heavier part due (retention, cohorts, geography: in
    production at most every ``DASHBOARD_INSIGHTS_SECONDS``); otherwise the run is the
    light one of most intervals (the reset's rebuild ran the heavy part just before)."""
    began = time.perf_counter()
    with override_settings(DASHBOARD_INSIGHTS_SECONDS=0 if heavy else 10**9):
        rollups.rollups_refresh()
    return time.perf_counter() - began


def measure_lag(*, rate: int, seconds: float, users: int, videos: int, figures: Figures) -> None:
    """Publish at ``rate`` events/s from a thread while a worker ingests; lag is from the
    XADD (the entry id's time) to the acknowledgement after the commit."""
    events = synthetic_events(int(rate * seconds), users=users, videos=videos, seed=2)
    figures.lag_published = events
    done = threading.Event()
    publisher = threading.Thread(target=_paced_publish, args=(events, rate, done), daemon=True)
    worker = Worker(consumer="bench-lag", batch_size=500, block_ms=100, prefetch=True)
    results: list[StepResult] = []
    publisher.start()
    while True:
        result = worker.step()
        results.append(result)
        if done.is_set() and not result.read:
            break
    worker.finish()  # the last acknowledgement; each sets its result's committed_at
    lags: list[float] = []
    for result in results:
        _record_lags(result, lags)
    publisher.join()
    figures.lag_events = len(lags)
    figures.lag_p50_ms = statistics.median(lags)
    figures.lag_p99_ms = _percentile(lags, 0.99)
    figures.lag_max_ms = max(lags)


def _record_lags(result: StepResult, lags: list[float]) -> None:
    for entry_id in result.entry_ids if result.committed_at else ():
        lags.append(result.committed_at * 1000 - int(entry_id.split("-")[0]))


def _paced_publish(events: list[Event], rate: int, done: threading.Event) -> None:
    interval = 1 / rate
    next_at = time.perf_counter()
    for event in events:
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        publish(event)
        next_at += interval
    done.set()


def _percentile(values: list, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def consistency_checks(events: list[Event], users: int, videos: int) -> dict:
    """(expected, found) pairs: PostgreSQL rows and Redis counters against what was sent."""
    downloads = [e for e in events if isinstance(e, DownloadCompleted)]
    clicks = sum(isinstance(e, VideoViewClicked) for e in events)
    funnel = sum(isinstance(e, InlineQueried | DownloadFailed) for e in events)
    redis = get_redis()
    user_keys = [counters.user_total_key(u) for u in range(users)]
    video_keys = [counters.video_total_key(_video_key(v)) for v in range(videos)]
    user_totals = _scalar("SELECT COALESCE(sum(total_downloads), 0) FROM users")
    video_totals = _scalar("SELECT COALESCE(sum(total_downloads), 0) FROM videos")
    hourly_total = _scalar("SELECT COALESCE(sum(downloads), 0) FROM dash_downloads_hourly")
    video_daily_total = _scalar("SELECT COALESCE(sum(downloads), 0) FROM dash_video_daily")
    active_users = _scalar("SELECT count(DISTINCT user_id) FROM downloads")
    # The job's figures (after its last run): every UTC day's total, and the distinct
    # active users over the whole period in the default dashboard zone.
    days_total = _scalar("SELECT COALESCE(sum(downloads), 0) FROM dash_utc_days")
    return {
        "downloads rows": (len(downloads), Download.objects.count()),
        "click_events rows": (clicks, ClickEvent.objects.count()),
        "funnel_events rows": (funnel, FunnelEvent.objects.count()),
        "users.total_downloads sum": (len(downloads), user_totals),
        "videos.total_downloads sum": (len(downloads), video_totals),
        "redis user totals sum": (len(downloads), _sum(redis.mget(user_keys))),
        "redis video totals sum": (len(downloads), _sum(redis.mget(video_keys))),
        "rollup downloads per hour sum": (len(downloads), hourly_total),
        "rollup downloads per video-day sum": (len(downloads), video_daily_total),
        "rollup job's UTC day totals sum": (len(downloads), days_total),
        "rollup active users, whole period": (active_users, _active_users_from_rollups()),
    }


def _scalar(query: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


def _active_users_from_rollups() -> int:
    """Distinct active users of the whole period as the dashboard API counts them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(day), max(day) FROM dash_user_days")
        first, last = cursor.fetchone()
    if first is None:
        return 0
    # A day either side: the default zone's local days may begin before the first UTC day.
    day = dt.timedelta(days=1)
    return active_users(Period(first - day, last + day, settings.DASHBOARD_TIME_ZONE))


def _video_key(number: int) -> str:
    return f"{PLATFORMS[0]}:{number:011d}"


def _sum(values: list) -> int:
    return sum(int(value) for value in values if value is not None)


def stream_length() -> int:
    return get_redis().xlen(STREAM)
