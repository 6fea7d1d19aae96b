"""The one Redis connection of the process.

The cache, the counters, the event stream and django-rq all use the ``default`` cache's
location, so in the embedded default they share one in-process stand-in and in
production one Redis server.
"""

from __future__ import annotations

from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis import get_redis_connection
from redis import Redis

# The client is thread-safe (a connection pool behind it). Looking it up through
# Django's per-thread cache handler on every call cost a cache hit in the bot a
# twentieth of its time, so it is looked up once and kept until the settings change.
_client: Redis | None = None


def get_redis() -> Redis:
    global _client
    client = _client
    if client is None:
        client = _client = get_redis_connection("default")
    return client


@receiver(setting_changed)
def _forget_client(*, setting: str, **kwargs) -> None:
    global _client
    if setting == "CACHES":
        _client = None


def redis_ping() -> bool:
    return bool(get_redis().ping())
