"""The ads' Redis client: the server everything else uses, with short timeouts and a
breaker, because a delivery must never wait on ads (PostgreSQL answers meanwhile)."""

from __future__ import annotations

import logging
import threading
import time

from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from config.redis import get_redis

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 0.25
BREAKER_SECONDS = 5.0

_lock = threading.Lock()
_clients: dict[tuple, Redis] = {}
_open_until = 0.0


def ads_redis() -> Redis:
    pool = get_redis().connection_pool
    kwargs = dict(pool.connection_kwargs)
    key = (pool.connection_class, *(kwargs.get(name) for name in ("host", "port", "db", "path")))
    client = _clients.get(key)
    if client is None:
        with _lock:
            kwargs.update(socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)
            kwargs["retry"] = Retry(NoBackoff(), 0)
            pool = ConnectionPool(connection_class=pool.connection_class, **kwargs)
            client = _clients.setdefault(key, Redis(connection_pool=pool))
    return client


def redis_usable() -> bool:
    """False for a few seconds after Redis failed, so each delivery does not wait for a
    timeout of its own."""
    return time.monotonic() >= _open_until


def redis_failed(error: RedisError) -> None:
    global _open_until
    _open_until = time.monotonic() + BREAKER_SECONDS
    log.warning(
        "ads: Redis unavailable (%s); PostgreSQL decides for %.0f s", error, BREAKER_SECONDS
    )


def breaker_reset() -> None:
    global _open_until
    _open_until = 0.0
