"""The one Redis connection of the process.

The cache, the counters, the event stream and django-rq all use the ``default`` cache's
location, so in the embedded default they share one in-process stand-in and in
production one Redis server.
"""

from __future__ import annotations

from django_redis import get_redis_connection
from redis import Redis


def get_redis() -> Redis:
    return get_redis_connection("default")


def redis_ping() -> bool:
    return bool(get_redis().ping())
