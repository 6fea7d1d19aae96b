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

In the bot's process ``publish`` does not wait for Redis at all: while the bot runs
(``background_start``/``background_stop``, called by ``botapp.runner.serve``) events
go into an in-memory queue that one thread, ``analytics-publisher``, drains in
pipelined batches (one round trip for everything queued meanwhile), spooling a batch
when Redis fails. Each synchronous XADD made the event loop wait for a Redis round
trip, two or three of them per cache hit: that wait, not the bot's own work, was most of
its time at saturation. The queue keeps the order of publishing; it is flushed when the
bot stops; a hard kill of the process loses what was queued (a few milliseconds'
worth), and a backlog over ``BACKGROUND_BACKLOG_MAX`` events (Redis too slow for long)
publishes synchronously again, so memory stays bounded.

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
import queue
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
    payload = event.to_json()
    pending = _background
    if pending is not None and pending.qsize() < BACKGROUND_BACKLOG_MAX:
        pending.put(payload)
        return
    _publish_now([payload])


def _publish_now(payloads: list[str]) -> None:
    """XADD the payloads (one round trip), or spool them while the stream is away."""
    global _breaker_open_until
    if time.monotonic() >= _breaker_open_until:
        try:
            if len(payloads) == 1:
                get_fast_redis().xadd(STREAM, {PAYLOAD_FIELD: payloads[0]})
            else:
                pipe = get_fast_redis().pipeline(transaction=False)
                for payload in payloads:
                    pipe.xadd(STREAM, {PAYLOAD_FIELD: payload})
                pipe.execute()
        except RedisError as exc:
            # Part of a batch may have reached the stream: its events are spooled too and
            # stored once anyway (the worker is idempotent on event ids).
            _breaker_open_until = time.monotonic() + _BREAKER_SECONDS
            log.warning("event stream unreachable (%s); spooling %d events", exc, len(payloads))
        else:
            _maybe_replay()
            return
    spool_append(payloads)


# --- Publishing off the event loop (the bot's process) ---------------------------------

BACKGROUND_BATCH = 500
BACKGROUND_GATHER_SECONDS = 0.005
BACKGROUND_BACKLOG_MAX = 100_000
_background: queue.SimpleQueue | None = None
_background_thread: threading.Thread | None = None
_background_users = 0
_background_lock = threading.Lock()
_STOP = object()


def background_start() -> None:
    """From now on ``publish`` queues and the publisher thread sends. Counted: each
    start needs its ``background_stop`` (several bots may share a test process)."""
    global _background, _background_thread, _background_users
    with _background_lock:
        _background_users += 1
        if _background_thread is not None:
            return
        pending: queue.SimpleQueue = queue.SimpleQueue()
        thread = threading.Thread(
            target=_background_run, args=(pending,), name="analytics-publisher", daemon=True
        )
        _background, _background_thread = pending, thread
        thread.start()


def background_stop(timeout: float = 30.0) -> None:
    """Publish what is queued, then publish synchronously again (the last user's stop)."""
    global _background, _background_thread, _background_users
    with _background_lock:
        _background_users = max(_background_users - 1, 0)
        if _background_users or _background_thread is None:
            return
        pending, thread = _background, _background_thread
        _background = _background_thread = None
    pending.put(_STOP)
    thread.join(timeout)
    # A publish that took the queue just before it was let go put its event after the
    # stop mark: sent here.
    _background_drain(pending)


def background_flush(timeout: float = 10.0) -> bool:
    """Wait until everything queued so far was sent or spooled (tests, shutdown)."""
    pending = _background
    if pending is None:
        return True
    done = threading.Event()
    pending.put(done)
    return done.wait(timeout)


def _background_run(pending: queue.SimpleQueue) -> None:
    while True:
        batch = [pending.get()]
        # Woken by the first event, the thread lets more arrive before sending: a put
        # wakes this thread only when it waits in ``get``, and each wake-up can take the
        # publishing thread's core from it (a busy bot spent 15% of its loop there).
        time.sleep(BACKGROUND_GATHER_SECONDS)
        while len(batch) < BACKGROUND_BATCH:
            try:
                batch.append(pending.get_nowait())
            except queue.Empty:
                break
        payloads = [item for item in batch if isinstance(item, str)]
        if payloads:
            try:
                _publish_now(payloads)
            except Exception:  # a full disk, say: logged, and the thread goes on
                log.exception("the publisher thread lost %d events", len(payloads))
        for item in batch:
            if isinstance(item, threading.Event):
                item.set()
        if _STOP in batch:
            return


def _background_drain(pending: queue.SimpleQueue) -> None:
    payloads = []
    while True:
        try:
            item = pending.get_nowait()
        except queue.Empty:
            break
        if isinstance(item, str):
            payloads.append(item)
        elif isinstance(item, threading.Event):
            item.set()
    if payloads:
        _publish_now(payloads)


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
