"""The media cache: (media key, format) -> a Telegram file_id.

A video sent as a file is another file_id: Telegram refuses a video's file_id in
sendDocument and a document's in sendVideo. So a document upload of a video format
has its own slot (``cache_slot``, e.g. ``720p-file``); audio is always sent as audio.

PostgreSQL holds the truth; Redis holds a copy so a cache hit costs one Redis GET, and
each process keeps the files it found or stored in the last ``RECENT_SECONDS`` so that
a popular video costs the bot no round trip at all (a blocking call on the event loop: a busy bot
spent a quarter of its loop waiting on that GET). A file_id can be re-sent forever with
no download and no size limit; one that Telegram rejects is dropped (here, in Redis and
in PostgreSQL) and the media fetched again; another process may try the dropped one
until its own copy expires, and is refused the same way. Redis is asked through the
fast client (``config.redis.get_fast_redis``): a hung Redis costs a hit one short wait,
then PostgreSQL answers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass

from asgiref.sync import sync_to_async
from redis.exceptions import RedisError

from analytics.vocabulary import MediaKind
from config.redis import get_fast_redis
from downloads.models import AUDIO_FORMATS, FILE_SLOT_SUFFIX, CachedMedia

log = logging.getLogger(__name__)

REDIS_TTL = 30 * 24 * 3600  # a copy; PostgreSQL refills it on a miss
RECENT_SECONDS = 30.0  # the process's own copy of a file it found or stored
_RECENT_MAX = 10_000


@dataclass(frozen=True)
class CachedFile:
    media_key: str
    format: str
    file_id: str
    kind: str = MediaKind.VIDEO
    file_unique_id: str = ""
    size: int | None = None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    title: str = ""


def cache_slot(fmt: str, *, as_file: bool) -> str:
    """The format the cache keys a file by: ``fmt``, or its slot of a video sent as a file."""
    if as_file and fmt not in AUDIO_FORMATS:
        return f"{fmt}{FILE_SLOT_SUFFIX}"
    return fmt


def _fits(item: CachedFile, slot: str) -> bool:
    """A video slot never answers with a document, nor a file slot with a video (rows
    written before the slots were split, and their Redis copies, are a miss)."""
    if item.kind == MediaKind.AUDIO:
        return True
    return (item.kind == MediaKind.DOCUMENT) == slot.endswith(FILE_SLOT_SUFFIX)


def _key(media_key: str, fmt: str) -> str:
    return f"media:{media_key}:{fmt}"


def _from_row(row: CachedMedia) -> CachedFile:
    return CachedFile(
        media_key=row.media_key,
        format=row.format,
        file_id=row.file_id,
        kind=row.kind,
        file_unique_id=row.file_unique_id,
        size=row.size,
        duration=row.duration,
        width=row.width,
        height=row.height,
        title=row.title,
    )


def _redis_get(media_key: str, fmt: str) -> CachedFile | bool | None:
    """The Redis copy; False when Redis does not know (or cannot be reached)."""
    try:
        raw = get_fast_redis().get(_key(media_key, fmt))
    except RedisError:
        log.warning("media cache: Redis unavailable, reading PostgreSQL")
        return False
    return CachedFile(**json.loads(raw)) if raw else False


def _redis_put(item: CachedFile) -> None:
    try:
        get_fast_redis().set(
            _key(item.media_key, item.format), json.dumps(asdict(item)), ex=REDIS_TTL
        )
    except RedisError:
        log.warning("media cache: Redis unavailable, copy not written")


def cached_file_get(*, media_key: str, fmt: str) -> CachedFile | None:
    """The file stored under the slot ``fmt`` (see ``cache_slot``)."""
    hit = _redis_get(media_key, fmt)
    if hit is not False:
        return hit if _fits(hit, fmt) else None
    row = CachedMedia.objects.filter(media_key=media_key, format=fmt).first()
    if row is None:
        return None
    item = _from_row(row)
    if not _fits(item, fmt):
        return None
    _redis_put(item)
    return item


async def acached_file_get(*, media_key: str, fmt: str) -> CachedFile | None:
    """The hot path of a cache hit: the process's recent copy, else Redis, else
    PostgreSQL."""
    key = _key(media_key, fmt)
    entry = _recent.get(key)
    if entry is not None and time.monotonic() - entry[0] <= RECENT_SECONDS:
        return entry[1]
    hit = _redis_get(media_key, fmt)
    if hit is not False:
        if not _fits(hit, fmt):
            return None
        _remember(hit)
        return hit
    item = await sync_to_async(cached_file_get)(media_key=media_key, fmt=fmt)
    if item is not None:
        _remember(item)
    return item


_recent: dict[str, tuple[float, CachedFile]] = {}
_recent_lock = threading.Lock()


def _remember(item: CachedFile) -> None:
    if not _fits(item, item.format):
        return
    with _recent_lock:
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[_key(item.media_key, item.format)] = (time.monotonic(), item)


def _forget(media_key: str, fmt: str) -> None:
    with _recent_lock:
        _recent.pop(_key(media_key, fmt), None)


def recent_files_forget() -> None:
    """Forget the process's copies (a bot starting; tests reusing media keys)."""
    with _recent_lock:
        _recent.clear()


def cached_file_store(item: CachedFile) -> None:
    CachedMedia.objects.update_or_create(
        media_key=item.media_key,
        format=item.format,
        defaults={
            "file_id": item.file_id,
            "file_unique_id": item.file_unique_id,
            "kind": item.kind,
            "size": item.size,
            "duration": item.duration,
            "width": item.width,
            "height": item.height,
            "title": item.title[:512],
        },
    )
    _redis_put(item)
    _remember(item)


def cached_file_drop(*, media_key: str, fmt: str, file_id: str) -> None:
    """Forget a file_id Telegram rejected (only that one: a newer upload may exist)."""
    CachedMedia.objects.filter(media_key=media_key, format=fmt, file_id=file_id).delete()
    _forget(media_key, fmt)
    try:
        get_fast_redis().delete(_key(media_key, fmt))
    except RedisError:
        log.warning("media cache: Redis unavailable, stale copy may linger until it expires")
    log.info("media cache: dropped rejected file_id for %s [%s]", media_key, fmt)


def cached_formats(*, media_key: str) -> dict[str, CachedFile]:
    """Every file of the media, by slot (a video sent as a file under ``<format>-file``)."""
    rows = CachedMedia.objects.filter(media_key=media_key)
    return {row.format: _from_row(row) for row in rows}
