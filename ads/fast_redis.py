"""The ads' view of Redis: the project's fast client (``config.redis.get_fast_redis``:
short timeouts, no retries, a breaker), because a delivery must never wait on ads;
PostgreSQL decides while Redis is away."""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from config.redis import BREAKER_SECONDS, FastRedis, fast_redis_breaker_reset, get_fast_redis

log = logging.getLogger(__name__)


def ads_redis() -> FastRedis:
    return get_fast_redis()


def redis_usable() -> bool:
    """False for a few seconds after Redis failed, so each delivery does not wait for a
    timeout of its own."""
    return time.monotonic() >= get_fast_redis().open_until


def redis_failed(error: RedisError) -> None:
    # Any failure (a script error too, not only a timeout) opens the shared breaker.
    get_fast_redis().open_until = time.monotonic() + BREAKER_SECONDS
    log.warning(
        "ads: Redis unavailable (%s); PostgreSQL decides for %.0f s", error, BREAKER_SECONDS
    )


def breaker_reset() -> None:
    fast_redis_breaker_reset()
