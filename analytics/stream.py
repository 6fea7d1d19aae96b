"""Names and housekeeping of the analytics event stream."""

from __future__ import annotations

import logging

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
    # and it can only keep more than asked, never less.
    return redis.xtrim(STREAM, minid=floor, approximate=True)


def _as_str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    millis, seq = entry_id.split("-")
    return int(millis), int(seq)
