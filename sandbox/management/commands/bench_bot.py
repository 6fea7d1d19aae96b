"""``python manage.py bench_bot``: the real bot against the offline Telegram API.

Prints three things, with the configured PostgreSQL and Redis (run ``migrate`` first):

- the cache-miss time of a 480p YouTube clip (message -> video in the chat);
- cache-hit latency at a steady rate (``--rate`` messages a second for ``--seconds``,
  by default the 200 a second the bot must sustain): from the update being queued at
  Telegram to the bot's ``sendVideo`` with the cached file_id reaching Telegram, so
  long polling is included;
- cache-hit throughput at saturation: ``--requests`` messages pushed at once, answered
  per second.

Each cache-hit figure is taken twice: for users inside their free quota (no ad) and for
users past it, whose every delivery also chooses an ad (the demo campaign), publishes
``AdShown`` and sends the ad message after the video; for them the time to the ad
message is printed too. The ad path may add at most 1 ms p50. The bot's CPU time per
request (this process: the double runs in its own) compares the two cohorts even on a
busy machine, where latencies mostly measure the wait for a core; the double's CPU per
request is printed beside it, since both share the machine's cores. With ``--experiments``
one A/B experiment of each kind runs (``sandbox/experiments_benchmark.py``); the
cache-hit figures should stay within 10% of a run without.

The Telegram double runs in a child process (limits off) so that it does not share the
GIL with the bot: the figures are the bot's. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict, deque

from django.conf import settings
from django.core.management.base import BaseCommand

from ads.services import demo_campaign_seed
from botapp.runner import BackgroundBot
from config import queues
from config.redis import get_redis
from downloads.models import CachedMedia
from sandbox.experiments_benchmark import experiments_remove, experiments_start
from sandbox.telegram_process import DoubleProcess
from sandbox.videosite import VideoSite
from users.models import BotUser

CACHED_LINKS = (
    "https://www.instagram.com/reel/C0ffeeReel1/",
    "https://www.tiktok.com/@sandbox.user/video/7300000000000000001",
    "https://youtu.be/dQw4w9WgXcQ",
)
# The media keys of CACHED_LINKS: dropped first, since a new double knows no old file_id.
MEDIA_KEYS = ("instagram:C0ffeeReel1", "tiktok:7300000000000000001", "youtube:dQw4w9WgXcQ")
FIRST_USER = 900_000_000
# Users past the quota have counted more downloads than the (raised) free quota.
BENCH_FREE_DOWNLOADS = 1_000_000
PAST_QUOTA_DOWNLOADS = 2 * BENCH_FREE_DOWNLOADS
WAIT_SECONDS = 300


class Command(BaseCommand):
    help = "Benchmarks cache hits and a cache miss through the real bot (limits off)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--requests", type=int, default=2000, help="saturation test size")
        parser.add_argument("--users", type=int, default=200)
        parser.add_argument("--rate", type=float, default=200, help="steady-rate messages/s")
        parser.add_argument("--seconds", type=float, default=10, help="steady-rate duration")
        parser.add_argument(
            "--experiments",
            action="store_true",
            help="with one A/B experiment of each kind running (ad text, free limit, UI)",
        )

    def handle(
        self, *args, requests: int, users: int, rate: float, seconds: float, experiments: bool,
        **options,
    ):  # fmt: skip
        # Forked first, while this process has no other thread.
        telegram = DoubleProcess(rate_limits=False, seed=False).start()
        site = VideoSite().start()
        settings.TELEGRAM_BOT_TOKEN = telegram.token
        settings.TELEGRAM_API_URL = telegram.root_url
        settings.MEDIA_ORIGIN_OVERRIDES = site.origin_overrides()
        settings.TELEGRAM_FLOOD_LIMITS = False
        settings.FREE_DOWNLOADS = BENCH_FREE_DOWNLOADS
        demo = demo_campaign_seed()
        bench_experiments = (
            experiments_start(free_downloads=BENCH_FREE_DOWNLOADS, campaign=demo)
            if experiments
            else None
        )
        ids = prepare_users(telegram, users)
        past = prepare_users(
            telegram, users, first=FIRST_USER + users, downloads=PAST_QUOTA_DOWNLOADS
        )
        workers = queues.start_thread_workers([queues.DOWNLOADS], 1)
        bot = BackgroundBot(poll_timeout=5).start()
        try:
            for media_key in MEDIA_KEYS:
                drop_cached(media_key)
            miss = telegram.run(ask_and_wait, ids[0], CACHED_LINKS[2])
            self.stdout.write(f"cache miss, 480p YouTube clip: {miss * 1000:.0f} ms")
            for link in CACHED_LINKS[:2]:
                telegram.run(ask_and_wait, ids[1], link)
            cohorts = (("inside the free quota", ids, False), ("past it, with ads", past, True))
            medians = []
            for cohort, cohort_ids, with_ads in cohorts:
                latencies, ad_latencies = telegram.run(
                    steady_hits, cohort_ids, rate, seconds, with_ads
                )
                self.stdout.write(
                    f"cache hit latency, users {cohort}, at {rate:g} requests/s for "
                    f"{seconds:g} s ({len(latencies)} requests): {summary(latencies)}"
                )
                if ad_latencies:
                    self.stdout.write(f"  ... to the ad message after it: {summary(ad_latencies)}")
                medians.append(statistics.median(latencies) * 1000)
            self.stdout.write(
                f"the ad path adds {medians[1] - medians[0]:+.1f} ms p50 to a cache hit "
                "(target: at most 1 ms)"
            )
            cpus = []
            for cohort, cohort_ids, _with_ads in cohorts:
                cpu, double_cpu = time.process_time(), telegram.run(process_cpu)
                answered, elapsed = telegram.run(burst_hits, cohort_ids, requests)
                cpu = time.process_time() - cpu
                double_cpu = telegram.run(process_cpu) - double_cpu
                cpus.append(cpu / answered * 1000)
                self.stdout.write(
                    f"cache hit throughput at saturation, users {cohort}: "
                    f"{answered / elapsed:.0f} requests/s ({answered} requests from "
                    f"{len(cohort_ids)} users pushed at once, all answered in {elapsed:.2f} s; "
                    f"the bot's CPU {cpu / answered * 1000:.2f} ms a request, the Telegram "
                    f"double's {double_cpu / answered * 1000:.2f} ms)"
                )
            self.stdout.write(
                f"the ad path adds {cpus[1] - cpus[0]:+.2f} ms of the bot's CPU to a cache hit "
                f"(the ad message is a second Bot API call)"
            )
        finally:
            bot.stop()
            queues.stop_thread_workers(workers)
            telegram.stop()
            site.stop()
            if bench_experiments is not None:
                experiments_remove(bench_experiments)


def summary(seconds: list[float]) -> str:
    ms = sorted(value * 1000 for value in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"


def prepare_users(
    telegram, count: int, *, first: int = FIRST_USER, downloads: int = 0
) -> list[int]:
    ids = [first + n for n in range(count)]
    BotUser.objects.filter(user_id__in=ids).delete()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    BotUser.objects.bulk_create(
        BotUser(user_id=i, first_seen_at=now, last_seen_at=now, default_quality="480p",
                total_downloads=downloads)
        for i in ids
    )  # fmt: skip
    # Counters of an earlier run would put the first cohort past its quota.
    get_redis().delete(
        *(key for i in ids for key in (f"ads:user:{i}:decided", f"user:{i}:downloads_total"))
    )
    telegram.run(add_users, ids)
    return ids


def drop_cached(media_key: str) -> None:

    CachedMedia.objects.filter(media_key=media_key).delete()
    for key in get_redis().scan_iter(f"media:{media_key}:*"):
        get_redis().delete(key)


# --- Run in the double's process (``DoubleProcess.run``) ----------------------------------


def process_cpu(double) -> float:
    """The double process's CPU seconds so far (it shares the machine with the bot)."""
    return time.process_time()


def add_users(double, ids: list[int]) -> None:
    for user_id in ids:
        double.add_user(user_id, f"Bench {user_id}", language_code="en")


def ask_and_wait(double, user_id: int, text: str) -> float:
    """Seconds from the message to the video reaching Telegram."""
    started = time.time()
    double.push_private_message(user_id, text)
    call = double.wait_for_call(
        "sendVideo",
        lambda c: c["payload"].get("chat_id") == user_id,
        timeout=WAIT_SECONDS,
        ok=True,
    )
    return call["time"] - started


def steady_hits(
    double, ids: list[int], rate: float, seconds: float, with_ads: bool
) -> tuple[list[float], list[float]]:
    """Latencies of cached requests arriving at ``rate`` a second, round-robin over users:
    to the video, and to the ad message after it (empty for users inside the quota)."""
    count = int(rate * seconds)
    since = len(double.state.calls)
    pushed: dict[int, deque[float]] = defaultdict(deque)
    start = time.monotonic()
    for n in range(count):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        user_id = ids[n % len(ids)]
        pushed[user_id].append(time.time())
        double.push_private_message(user_id, CACHED_LINKS[n % len(CACHED_LINKS)])
    answers = sent_videos(double, since, count)
    asked = {chat_id: list(times) for chat_id, times in pushed.items()}
    videos = [answered - pushed[chat_id].popleft() for chat_id, answered in answers]
    if not with_ads:
        return videos, []
    ads = sent_calls(double, since, count, is_ad)
    return videos, [answered - asked[chat_id].pop(0) for chat_id, answered in ads]


def burst_hits(double, ids: list[int], count: int) -> tuple[int, float]:
    """(answered, seconds) for ``count`` cached requests pushed at once."""
    since = len(double.state.calls)
    started = time.time()
    with double.state.cond:  # all queued before the bot's next poll sees any
        for n in range(count):
            double.push_private_message(ids[n % len(ids)], CACHED_LINKS[n % len(CACHED_LINKS)])
    answers = sent_videos(double, since, count)
    return len(answers), max(answered for _chat, answered in answers) - started


def is_ad(call: dict) -> bool:
    markup = call["payload"].get("reply_markup")
    return call["method"] == "sendMessage" and "/ads/click/" in str(markup or "")


def is_video(call: dict) -> bool:
    return call["method"] == "sendVideo"


def sent_videos(double, since: int, count: int) -> list[tuple[int, float]]:
    return sent_calls(double, since, count, is_video)


def sent_calls(double, since: int, count: int, match) -> list[tuple[int, float]]:
    """(chat_id, time) of the first ``count`` successful matching calls after ``since``."""
    state = double.state
    found: list[tuple[int, float]] = []
    cursor = since

    def enough() -> bool:
        # Only the calls added since the last look: the log grows by thousands.
        nonlocal cursor
        for call in state.calls[cursor:]:
            if call["ok"] and match(call):
                found.append((call["payload"]["chat_id"], call["time"]))
        cursor = len(state.calls)
        return len(found) >= count

    if not state.wait(enough, WAIT_SECONDS):
        raise TimeoutError(f"{len(found)} of {count} sent within {WAIT_SECONDS} s")
    return found[:count]
