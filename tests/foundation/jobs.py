"""Jobs the queue tests enqueue; importable by a separate rqworker process."""

from __future__ import annotations

from config.redis import get_redis


def mark_done(key: str) -> str:
    get_redis().set(key, "done")
    return key
