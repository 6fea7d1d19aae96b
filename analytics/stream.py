"""Names and housekeeping of the analytics event stream."""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

STREAM = "events:analytics"
DEAD_STREAM = "events:analytics:dead"
GROUP = "analytics"
PAYLOAD_FIELD = "e"
# Dead letters are for a person to read and replay; a bounded stream keeps a flood of
# bad events from filling Redis.
DEAD_MAXLEN = 100_000


def group_ensure(redis: Redis) -> None:
    """Create the consumer group (and the stream) if missing; from the first entry, so
    events published before any worker ever ran are still read."""
    try:
        redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _next_id(entry_id: str) -> str:
    millis, seq = entry_id.split("-")
    return f"{millis}-{int(seq) + 1}"


def acknowledged_below(redis: Redis) -> str | None:
    """The lowest entry id that some group may still need: everything below it has been
    delivered and acknowledged by every group."""
    floor = None
    for group in redis.xinfo_groups(STREAM):
        pending = redis.xpending(STREAM, group["name"])
        if pending["pending"]:
            candidate = _as_str(pending["min"])
        else:
            candidate = _next_id(_as_str(group["last-delivered-id"]))
        if floor is None or _id_key(candidate) < _id_key(floor):
            floor = candidate
    return floor


def stream_trim(redis: Redis) -> int:
    """Drop entries every group has acknowledged. Never drops a pending or unread one:
    publishing uses no MAXLEN for exactly that reason."""
    try:
        floor = acknowledged_below(redis)
    except ResponseError:  # no stream yet
        return 0
    if floor is None:
        return 0
    # Approximate trimming only removes whole radix-tree nodes below the floor: cheap,
    # and it can only keep more than asked, never less. Redis caps an approximate trim
    # at 100 nodes (10,000 entries) by default, which above 1,000 events/s with a trim
    # every 10 s let the stream grow without bound; LIMIT 0 lifts the cap (freeing whole
    # nodes is cheap, a few milliseconds per million entries).
    return redis.xtrim(STREAM, minid=floor, approximate=True, limit=0)


def _as_str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    millis, seq = entry_id.split("-")
    return int(millis), int(seq)


# --- health ------------------------------------------------------------------------

DEAD_RECENT_SECONDS = 24 * 3600
_DEAD_RECENT_CAP = 10_000  # counting further would make /healthz itself slow


def dead_letters_count(redis: Redis) -> tuple[int, int]:
    """(all, dead-lettered in the last ``DEAD_RECENT_SECONDS``, counted up to a cap).
    A dead letter's entry id is the time it was written, so the recent ones are one
    range read."""
    total = redis.xlen(DEAD_STREAM)
    if not total:
        return 0, 0
    since_ms = int((time.time() - DEAD_RECENT_SECONDS) * 1000)
    recent = redis.xrange(DEAD_STREAM, min=f"{since_ms}-0", max="+", count=_DEAD_RECENT_CAP)
    return total, len(recent)


def redis_persistence_warnings(redis: Redis) -> list[str]:
    """What is wrong with this Redis for holding the event stream in production.

    Events not yet stored in PostgreSQL exist only in the stream: Redis must write
    them to its append-only file (``appendonly yes``; an RDB snapshot alone loses the
    minutes since the last one), and must never evict keys to make room
    (``maxmemory-policy noeviction``: when full, writes fail, publishers spool to disk,
    nothing already accepted is lost)."""
    warnings = []
    persistence = redis.info("persistence")
    if not int(persistence.get("aof_enabled", 0)):
        warnings.append(
            "Redis runs without appendonly: events not yet stored in PostgreSQL are lost "
            "if Redis restarts (set appendonly yes)"
        )
    policy = _as_str(redis.info("memory").get("maxmemory_policy", "noeviction"))
    if policy != "noeviction":
        warnings.append(
            f"Redis maxmemory-policy is {policy}: it may evict the event stream "
            "(set maxmemory-policy noeviction)"
        )
    return warnings
