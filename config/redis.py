"""The Redis connections of the process.

The cache, the counters, the event stream and django-rq all use the ``default`` cache's
location, so in the embedded default they share one in-process stand-in and in
production one Redis server.

Two clients on that server:

- ``get_redis()``: the ordinary client (``REDIS_TIMEOUT``, a few seconds), for workers,
  management commands and anything that may wait;
- ``get_fast_redis()``: for every call made on the bot's event loop, or in the one
  thread its ``sync_to_async`` calls share (the media cache, the rate limiter, event
  publishing, the probe cache, queue positions and enqueueing a request). It waits at
  most ``REDIS_LOOP_TIMEOUT`` (0.3 s by default) for a connection or an answer and never
  retries; after a failure it fails at once for ``BREAKER_SECONDS`` instead of waiting
  again. A stalled Redis therefore costs the bot one short wait, not one per update, and
  every caller falls back to PostgreSQL (or goes on without Redis) on ``RedisError``.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis import get_redis_connection
from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

BREAKER_SECONDS = 5.0

# The clients are thread-safe (a connection pool behind each). Looking one up through
# Django's per-thread cache handler on every call cost a cache hit in the bot a
# twentieth of its time, so each is looked up once and kept until the settings change.
_client: Redis | None = None
_fast_client: FastRedis | None = None
_lock = threading.Lock()


class BreakerOpen(RedisConnectionError):
    """Redis failed a moment ago; not asked again until the breaker closes."""


class FastRedis(Redis):
    """A client that fails fast: short timeouts, no retries, and a circuit breaker."""

    open_until: float = 0.0

    def execute_command(self, *args, **options):
        if time.monotonic() < self.open_until:
            raise BreakerOpen("Redis failed recently; skipped")
        try:
            return super().execute_command(*args, **options)
        except (RedisConnectionError, RedisTimeoutError):
            self.open_until = time.monotonic() + BREAKER_SECONDS
            raise


def get_redis() -> Redis:
    global _client
    client = _client
    if client is None:
        client = _client = get_redis_connection("default")
    return client


def get_fast_redis() -> FastRedis:
    """The client for the bot's event loop (see the module docstring)."""
    global _fast_client
    client = _fast_client
    if client is None:
        with _lock:
            if _fast_client is None:
                _fast_client = _fast_client_make(get_redis())
            client = _fast_client
    return client


def _fast_client_make(ordinary: Redis) -> FastRedis:
    pool = ordinary.connection_pool
    kwargs = dict(pool.connection_kwargs)
    timeout = settings.REDIS_LOOP_TIMEOUT
    kwargs.update(socket_timeout=timeout, socket_connect_timeout=timeout)
    kwargs["retry"] = Retry(NoBackoff(), 0)  # one attempt: the caller has a fallback
    return FastRedis(
        connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )


def fast_redis_breaker_reset() -> None:
    """Ask Redis again on the next call (tests; after an outage was fixed)."""
    if _fast_client is not None:
        _fast_client.open_until = 0.0


@receiver(setting_changed)
def _forget_client(*, setting: str, **kwargs) -> None:
    global _client, _fast_client
    if setting in ("CACHES", "REDIS_LOOP_TIMEOUT"):
        _client = None
        _fast_client = None


def redis_ping() -> bool:
    return bool(get_redis().ping())
