"""Notice when a platform starts demanding that the server sign in (bot checks).

Each download or probe refused with "sign in to confirm you're not a bot" (or
Instagram's "login required") is recorded per platform in Redis. Once a platform has
refused ``SIGNIN_ALERT_THRESHOLD`` times within ``SIGNIN_ALERT_WINDOW_SECONDS``, the
admin shows a warning on every page, ``/healthz`` lists the platform under
``sign_in_demanded``, and one WARNING is logged: the remedy (a cookies file, a proxy,
a newer yt-dlp) is the operator's. Recording never fails a download: without Redis the
alert is simply not raised.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from redis.exceptions import RedisError

from config.redis import get_redis

log = logging.getLogger(__name__)

_KEY = "alerts:signin:{platform}"


@dataclass(frozen=True)
class SignInDemand:
    platform: str
    count: int  # refusals within the window
    last_at: float  # Unix time of the latest


def signin_demand_record(*, platform: str) -> None:
    """Count one bot-check refusal of ``platform``."""
    if not platform:
        return
    window = settings.SIGNIN_ALERT_WINDOW_SECONDS
    now = time.time()
    key = _KEY.format(platform=platform)
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
        pipe.zremrangebyscore(key, "-inf", now - window)
        pipe.zcard(key)
        pipe.expire(key, int(window))
        count = pipe.execute()[2]
    except RedisError:
        log.warning("could not record a sign-in demand of %s", platform, exc_info=True)
        return
    if count == settings.SIGNIN_ALERT_THRESHOLD:  # once, when the alert starts
        log.warning(
            "%s demands sign-in (bot check) from this server: %d refusals in %d minutes;"
            " configure a cookies file or a proxy for it, or update yt-dlp",
            platform,
            count,
            window // 60,
        )


def signin_demands() -> list[SignInDemand]:
    """Platforms over the alert threshold now, most refusals first."""
    window = settings.SIGNIN_ALERT_WINDOW_SECONDS
    now = time.time()
    platforms = list(settings.ENABLED_PLATFORMS)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for platform in platforms:
            key = _KEY.format(platform=platform)
            pipe.zcount(key, now - window, "+inf")
            pipe.zrange(key, -1, -1, withscores=True)
        answers = pipe.execute()
    except RedisError:
        log.warning("could not read sign-in demands", exc_info=True)
        return []
    demands = []
    for index, platform in enumerate(platforms):
        count, latest = answers[2 * index], answers[2 * index + 1]
        if count >= settings.SIGNIN_ALERT_THRESHOLD:
            demands.append(SignInDemand(platform, count, latest[0][1] if latest else now))
    return sorted(demands, key=lambda demand: -demand.count)
