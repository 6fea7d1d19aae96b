"""The bot process's own copy of the files it found or stored: a popular video is sent
again without a Redis round trip, and a rejected file_id is forgotten at once."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from redis.exceptions import ConnectionError as RedisConnectionError

from downloads import cache
from downloads.cache import (
    CachedFile,
    acached_file_get,
    cached_file_drop,
    cached_file_store,
    recent_files_forget,
)

KEY = "youtube:dQw4w9WgXcQ"
VIDEO = CachedFile(media_key=KEY, format="720p", file_id="V1", kind="video")

pytestmark = pytest.mark.django_db


def _get(fmt: str = "720p") -> CachedFile | None:
    return async_to_sync(acached_file_get)(media_key=KEY, fmt=fmt)


class _NoRedis:
    """Stands in for the fast client and counts what was asked of it."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            self.calls += 1
            raise RedisConnectionError("asked")

        return refuse


@pytest.fixture
def no_redis(monkeypatch):
    client = _NoRedis()
    monkeypatch.setattr(cache, "get_fast_redis", lambda: client)
    return client


def test_a_stored_file_is_sent_again_without_asking_redis(no_redis):
    cached_file_store(VIDEO)
    assert no_redis.calls == 1  # the store's own copy to Redis
    assert _get() == VIDEO
    assert _get() == VIDEO
    assert no_redis.calls == 1


def test_a_file_found_in_redis_is_kept_for_the_next_hit(monkeypatch):
    cached_file_store(VIDEO)
    recent_files_forget()  # as another process that only finds it in Redis
    assert _get() == VIDEO
    client = _NoRedis()
    monkeypatch.setattr(cache, "get_fast_redis", lambda: client)
    assert _get() == VIDEO
    assert client.calls == 0


def test_the_copy_expires(monkeypatch):
    cached_file_store(VIDEO)
    newer = CachedFile(media_key=KEY, format="720p", file_id="V2", kind="video")
    cache._redis_put(newer)  # another process uploaded it again meanwhile
    assert _get().file_id == "V1"
    monkeypatch.setattr(cache, "RECENT_SECONDS", 0.0)
    assert _get().file_id == "V2"


def test_a_rejected_file_id_is_forgotten_at_once(no_redis):
    cached_file_store(VIDEO)
    cached_file_drop(media_key=KEY, fmt="720p", file_id="V1")
    assert _get() is None  # neither here, nor in Redis (down), nor in PostgreSQL


def test_a_file_of_the_wrong_kind_for_its_slot_is_not_kept():
    document = CachedFile(media_key=KEY, format="720p", file_id="D", kind="document")
    cached_file_store(document)
    assert _get() is None
