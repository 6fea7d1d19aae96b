"""``python manage.py bench_bot``: the real bot against the offline Telegram API.

Prints the cache-miss time of a 480p YouTube clip, then cache-hit latency (an update
handed to the bot -> its sendVideo with the file_id reaching Telegram) and throughput
for many users asking for cached videos at once. Uses the configured PostgreSQL and
Redis; run ``migrate`` first. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from botapp.models import BotUser

CACHED_LINKS = (
    "https://www.instagram.com/reel/C0ffeeReel1/",
    "https://www.tiktok.com/@sandbox.user/video/7300000000000000001",
    "https://youtu.be/dQw4w9WgXcQ",
)
FIRST_USER = 900_000_000


class Command(BaseCommand):
    help = "Benchmarks cache hits and a cache miss through the real bot (limits off)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--requests", type=int, default=2000)
        parser.add_argument("--users", type=int, default=200)

    def handle(self, *args, requests: int, users: int, **options) -> None:
        from botapp.runner import BackgroundBot
        from botapp.sandbox.telegram_api import TelegramApiDouble
        from botapp.sandbox.videosite import VideoSite
        from config import queues

        site = VideoSite().start()
        telegram = TelegramApiDouble(rate_limits=False, seed=False).start()
        settings.TELEGRAM_BOT_TOKEN = telegram.token
        settings.TELEGRAM_API_URL = telegram.root_url
        settings.MEDIA_ORIGIN_OVERRIDES = site.origin_overrides()
        settings.TELEGRAM_FLOOD_LIMITS = False
        ids = prepare_users(telegram, users)
        workers = queues.start_thread_workers([queues.DOWNLOADS], 1)
        bot = BackgroundBot(poll_timeout=5).start()
        try:
            self.report("cache miss, 480p YouTube clip", [measure_miss(telegram, ids)])
            warm_cache(telegram, ids)
            latencies, elapsed = measure_hits(telegram, ids, requests)
            self.report("cache hit latency", latencies)
            self.stdout.write(
                f"cache hit throughput: {len(latencies) / elapsed:.0f} requests/s "
                f"({len(latencies)} requests from {len(ids)} users in {elapsed:.2f} s)"
            )
        finally:
            bot.stop()
            queues.stop_thread_workers(workers)
            telegram.stop()
            site.stop()

    def report(self, label: str, seconds: list[float]) -> None:
        ms = sorted(value * 1000 for value in seconds)
        if len(ms) == 1:
            self.stdout.write(f"{label}: {ms[0]:.0f} ms")
            return
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        self.stdout.write(
            f"{label}: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"
        )


def prepare_users(telegram, count: int) -> list[int]:
    ids = [FIRST_USER + n for n in range(count)]
    BotUser.objects.filter(user_id__in=ids).delete()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    BotUser.objects.bulk_create(
        BotUser(user_id=i, first_seen_at=now, last_seen_at=now, default_quality="480p")
        for i in ids
    )
    for user_id in ids:
        telegram.add_user(user_id, f"Bench {user_id}", language_code="en")
    return ids


def _sent_video(telegram, chat_id: int, timeout: float = 300) -> dict:
    return telegram.wait_for_call(
        "sendVideo", lambda c: c["payload"].get("chat_id") == chat_id, timeout=timeout, ok=True
    )


def measure_miss(telegram, ids: list[int]) -> float:
    from botapp.models import CachedMedia

    CachedMedia.objects.filter(media_key="youtube:dQw4w9WgXcQ").delete()
    from config.redis import get_redis

    for key in get_redis().scan_iter("media:youtube:dQw4w9WgXcQ:*"):
        get_redis().delete(key)
    started = time.time()
    telegram.push_private_message(ids[0], CACHED_LINKS[2])
    return _sent_video(telegram, ids[0])["time"] - started


def warm_cache(telegram, ids: list[int]) -> None:
    for link in CACHED_LINKS[:2]:
        telegram.push_private_message(ids[1], link)
        _sent_video(telegram, ids[1])


def measure_hits(telegram, ids: list[int], requests: int) -> tuple[list[float], float]:
    already = len(telegram.calls("sendVideo"))
    pushed: dict[int, list[float]] = {}
    started = time.time()
    for n in range(requests):
        user_id = ids[n % len(ids)]
        pushed.setdefault(user_id, []).append(time.time())
        telegram.push_private_message(user_id, CACHED_LINKS[n % len(CACHED_LINKS)])
    # Poll rarely: reading the call log holds the double's lock.
    deadline = time.time() + 300
    while time.time() < deadline:
        calls = telegram.calls("sendVideo")[already:]
        if len(calls) >= requests:
            break
        time.sleep(0.5)
    sent: dict[int, list[float]] = {}
    for call in calls:
        if call["ok"]:
            sent.setdefault(call["payload"]["chat_id"], []).append(call["time"])
    latencies = [
        answered - asked
        for user_id, asks in pushed.items()
        for asked, answered in zip(asks, sorted(sent.get(user_id, [])), strict=False)
    ]
    return latencies, max(t for times in sent.values() for t in times) - started
