"""``publish(event)``: one XADD to the event stream, or a durable local spool.

The happy path is one Redis round trip and never touches PostgreSQL. When Redis cannot
be reached the event is appended to a spool file (one JSON line, fsync'd) and the
caller returns at once; the spool is replayed into the stream by a later successful
publish from this host or by the analytics worker. A local file was chosen over writing
to PostgreSQL from the handler because it keeps the handler path free of the database,
and because a replayed event goes through the worker like any other, so the Redis
counters still move exactly once.

After a failure the publisher stops trying Redis for ``_BREAKER_SECONDS`` and spools
directly, so an outage costs the handlers one short timeout, not one per event. It
publishes through ``config.redis.get_fast_redis()`` (short timeouts, no retries) for
the same reason.

The spool is bounded: its files together stay under ``ANALYTICS_SPOOL_MAX_MB``. At the
cap a new event is dropped, not written: the events already spooled (the oldest) are
kept for replay, the bot goes on answering, and the loss is logged as an ERROR with
the running count at most once a minute (``spool_dropped_count()`` has it too). A
disk filled by an outage that outlasts the cap would otherwise stop the cache, the
database and every other process on the host; the cap is sized for hours of traffic.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from pathlib import Path

from django.conf import settings
from redis import Redis
from redis.exceptions import RedisError

from config.redis import get_fast_redis, get_redis

from .events import Event
from .stream import PAYLOAD_FIELD, STREAM

log = logging.getLogger(__name__)

_BREAKER_SECONDS = 5.0
_REPLAY_CHECK_SECONDS = 1.0
_REPLAY_CHUNK = 500
_DROP_LOG_SECONDS = 60.0
SPOOL_FILE = "events.jsonl"
MB = 1024 * 1024

_lock = threading.Lock()
_breaker_open_until = 0.0
_next_replay_check = 0.0
_dropped = 0
_next_drop_log = 0.0


def spool_dir() -> Path:
    configured = getattr(settings, "ANALYTICS_SPOOL_DIR", "")
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "spool"


def breaker_reset() -> None:
    """Try Redis again on the next publish (tests; after fixing the configuration)."""
    global _breaker_open_until
    _breaker_open_until = 0.0


def publish(event: Event) -> None:
    """Hand an event to the pipeline. Never raises for Redis trouble; never blocks long."""
    global _breaker_open_until
    payload = event.to_json()
    if time.monotonic() >= _breaker_open_until:
        try:
            get_fast_redis().xadd(STREAM, {PAYLOAD_FIELD: payload})
        except RedisError as exc:
            _breaker_open_until = time.monotonic() + _BREAKER_SECONDS
            log.warning("event stream unreachable (%s); spooling %s", exc, event.event_id)
        else:
            _maybe_replay()
            return
    spool_append([payload])


def spool_append(payloads: list[str]) -> bool:
    """Append events to the spool; False when the spool is full and they were dropped."""
    directory = spool_dir()
    directory.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in payloads).encode()
    live = directory / SPOOL_FILE
    while True:
        fd = os.open(live, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # A replay may have renamed the file between open and lock; writing into the
            # renamed one could be after it was read, so start over on the new file.
            if live.exists() and os.fstat(fd).st_ino == live.stat().st_ino:
                # Measured under the lock, so concurrent appenders cannot overshoot it.
                if spool_size(directory) + len(data) > spool_limit_bytes():
                    _spool_dropped(len(payloads))
                    return False
                os.write(fd, data)
                os.fsync(fd)
                return True
        finally:
            os.close(fd)


def spool_limit_bytes() -> int:
    return int(float(getattr(settings, "ANALYTICS_SPOOL_MAX_MB", 512)) * MB)


def spool_size(directory: Path | None = None) -> int:
    """Bytes in the spool's files (live and waiting for replay)."""
    total = 0
    for path in (directory or spool_dir()).glob("*.jsonl"):
        with contextlib.suppress(FileNotFoundError):  # replayed and removed meanwhile
            total += path.stat().st_size
    return total


def spool_dropped_count() -> int:
    """Events this process dropped because the spool was full."""
    return _dropped


def _spool_dropped(count: int) -> None:
    global _dropped, _next_drop_log
    _dropped += count
    now = time.monotonic()
    if now >= _next_drop_log:
        _next_drop_log = now + _DROP_LOG_SECONDS
        log.error(
            "event spool full (%s MB, ANALYTICS_SPOOL_MAX_MB): new events are dropped until"
            " Redis is back and the spool replays; %d dropped by this process so far",
            settings.ANALYTICS_SPOOL_MAX_MB,
            _dropped,
        )


def _maybe_replay() -> None:
    """At most once a second, replay a spool this host left behind."""
    global _next_replay_check
    now = time.monotonic()
    if now < _next_replay_check:
        return
    _next_replay_check = now + _REPLAY_CHECK_SECONDS
    if any(spool_dir().glob("*.jsonl")):
        # In the background: a long spool must not hold up the handler that noticed it.
        threading.Thread(target=_replay_quietly, name="analytics-spool-replay", daemon=True).start()


def _replay_quietly() -> None:
    try:
        spool_replay(redis=get_fast_redis())
    except RedisError as exc:
        log.warning("spool replay stopped: %s", exc)


def spool_replay(*, redis: Redis | None = None) -> int:
    """Move spooled events into the stream; returns how many. Safe to run from several
    processes at once: each file is claimed under an exclusive lock, and an event that
    reaches the stream twice is stored once by the worker anyway."""
    redis = redis or get_redis()
    directory = spool_dir()
    if not directory.exists() or not _lock.acquire(blocking=False):
        return 0
    try:
        _spool_rotate(directory)
        return sum(_replay_file(path, redis) for path in sorted(directory.glob("replay-*.jsonl")))
    finally:
        _lock.release()


def _spool_rotate(directory: Path) -> None:
    """Rename the live spool so appends go to a fresh file while this one replays."""
    live = directory / SPOOL_FILE
    if not live.exists():
        return
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if live.exists() and os.fstat(fd).st_ino == live.stat().st_ino:
            live.rename(directory / f"replay-{time.time_ns()}-{os.getpid()}.jsonl")
    finally:
        os.close(fd)


def _replay_file(path: Path, redis: Redis) -> int:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # another process replayed it
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        if not path.exists():
            return 0
        with os.fdopen(os.dup(fd), encoding="utf-8") as file:
            lines = [line.rstrip("\n") for line in file if line.strip()]
        for start in range(0, len(lines), _REPLAY_CHUNK):
            pipe = redis.pipeline(transaction=False)
            for line in lines[start : start + _REPLAY_CHUNK]:
                # A torn last line (a crash mid-append) is passed on as it is: the
                # worker dead-letters it with the reason instead of it vanishing here.
                pipe.xadd(STREAM, {PAYLOAD_FIELD: line})
            pipe.execute()
        path.unlink()
    finally:
        os.close(fd)
    log.info("replayed %d spooled events from %s", len(lines), path.name)
    return len(lines)
