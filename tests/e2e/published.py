"""Reading what the bot published to the analytics stream, and seeding the media cache."""

from __future__ import annotations

import time

from analytics.events import event_from_json
from analytics.stream import PAYLOAD_FIELD, STREAM
from config.redis import get_redis
from downloads.cache import CachedFile, cached_file_store

STORAGE_ID = -1009000000001


def published(event_class, predicate=lambda event: True) -> list:
    entries = get_redis().xrange(STREAM)
    events = [
        event_from_json(fields.get(PAYLOAD_FIELD) or fields[PAYLOAD_FIELD.encode()])
        for _id, fields in entries
    ]
    return [e for e in events if isinstance(e, event_class) and predicate(e)]


def wait_published(event_class, predicate=lambda event: True, timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := published(event_class, predicate):
            return found
        time.sleep(0.2)
    raise TimeoutError(f"no {event_class.__name__} published within {timeout} s")


def wait_until(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise TimeoutError("condition not met")


def seed_cached_video(
    telegram, media_key: str, fmt: str, title: str = "Cached clip", duration: int | None = None
) -> str:
    """A video Telegram already holds and the bot has in its cache; returns its file_id."""
    stored = telegram.store_file(b"\x00\x00\x00\x18ftypmp42" + b"0" * 2048, kind="video")
    cached_file_store(
        CachedFile(
            media_key=media_key, format=fmt, file_id=stored["file_id"], kind="video",
            file_unique_id=stored["file_unique_id"], title=title, duration=duration,
        )
    )  # fmt: skip
    return stored["file_id"]
