"""What ``/healthz`` and the worker report about the event pipeline.

Neither finding makes the service unhealthy (a restart would not help): dead letters
need a person to read them, and Redis persistence is a deployment setting.
"""

from __future__ import annotations

import logging

from django.conf import settings
from redis.exceptions import RedisError

from config.redis import get_redis

from .stream import DEAD_RECENT_SECONDS, DEAD_STREAM, dead_letters_count, redis_persistence_warnings

log = logging.getLogger(__name__)


def pipeline_health() -> tuple[dict[str, int], list[str]]:
    """(figures, warnings) for ``/healthz``; empty when Redis cannot be asked."""
    redis = get_redis()
    try:
        total, recent = dead_letters_count(redis)
        warnings = persistence_warnings()
    except RedisError:
        log.warning("healthz: analytics check failed", exc_info=True)
        return {}, []
    if recent:
        hours = DEAD_RECENT_SECONDS // 3600
        warnings.append(
            f"{recent} analytics events dead-lettered in the last {hours} h "
            f"({total} in all): read {DEAD_STREAM} for the reasons"
        )
    return {"dead_letters": total}, warnings


def persistence_warnings() -> list[str]:
    """Redis persistence problems, where the deployment asks for the check
    (``REDIS_PERSISTENCE_CHECK``, on in production; the embedded stand-in has none)."""
    if settings.REDIS_EMBEDDED or not settings.REDIS_PERSISTENCE_CHECK:
        return []
    try:
        return redis_persistence_warnings(get_redis())
    except RedisError as exc:
        # A managed Redis may refuse INFO; say so once rather than guess.
        return [f"Redis persistence could not be checked: {exc}"]
