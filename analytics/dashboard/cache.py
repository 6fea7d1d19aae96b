"""API answers cached in Redis for ``DASHBOARD_CACHE_SECONDS``.

The key holds the rollups' version (``analytics.rollups.VERSION_KEY``), which the event
worker bumps with every batch of new downloads and the rollup job with every refresh
that moved something: an answer is dropped as soon as its rollups move. Redis being
down only costs the cache.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError

from analytics.rollups import VERSION_KEY
from config.redis import get_redis

log = logging.getLogger(__name__)
_PREFIX = "dashboard:answer"


def cached_answer(key: str, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """(answer, True if it came from the cache)."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return compute(), False
    redis = get_redis()
    try:
        version = int(redis.get(VERSION_KEY) or 0)
        full_key = f"{_PREFIX}:{version}:{key}"
        raw = redis.get(full_key)
    except RedisError as exc:
        log.warning("dashboard cache unavailable: %s", exc)
        return compute(), False
    if raw is not None:
        return json.loads(raw), True
    answer = compute()
    try:
        redis.set(full_key, json.dumps(answer, default=str, separators=(",", ":")), ex=seconds)
    except RedisError as exc:
        log.warning("dashboard cache unavailable: %s", exc)
    return answer, False
