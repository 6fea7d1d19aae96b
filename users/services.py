"""Writes of the users table (profile fields and last_seen_at are the event writer's)."""

from __future__ import annotations

import copy
import logging
import threading
import time

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from users.models import BotUser, TimezoneSource
from users.timezones import zone_at

log = logging.getLogger(__name__)


def user_get_or_create(
    *, user_id: int, username: str = "", first_name: str = "", language_code: str = ""
) -> BotUser:
    """The user's row, created on first contact. Profile fields and last_seen_at are
    kept current by the analytics worker from ``UserSeen`` events."""
    user = user_row(user_id)
    if user is not None:
        return user
    now = timezone.now()
    try:
        with transaction.atomic():
            user = BotUser.objects.create(
                user_id=user_id,
                username=username[:64],
                first_name=first_name[:128],
                language_code=language_code[:16],
                first_seen_at=now,
                last_seen_at=now,
            )
    except IntegrityError:  # created meanwhile by a concurrent update or the worker
        return BotUser.objects.get(pk=user_id)
    user.first_contact = True
    return user


# --- The rows of users seen lately, in this process's memory ---------------------------
#
# Every message with a link used to cost a thread hop and a query for the sender's row,
# the largest part of a cache hit's CPU after Telegram's own calls. A delivery reads the
# row from here instead when it was read less than ``RECENT_SECONDS`` ago: what it needs
# of it (the language, quality and send-as settings, the blocked flag) changes through
# this module's services, which forget the copy, and commands that show the user's
# account (premium, stats, settings) always read PostgreSQL.

RECENT_SECONDS = 30.0
_RECENT_MAX = 100_000  # about 2 KB each; simply emptied when full
_recent: dict[int, tuple[float, BotUser]] = {}
_recent_lock = threading.Lock()


def user_recent(user_id: int) -> BotUser | None:
    """A copy of the user's row if it was read lately, else None (no I/O)."""
    entry = _recent.get(user_id)
    if entry is None or time.monotonic() - entry[0] > RECENT_SECONDS:
        return None
    return copy.copy(entry[1])


def user_remember(user: BotUser) -> None:
    kept = copy.copy(user)
    kept.first_contact = False  # only the update that created the row is the first
    with _recent_lock:
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[user.user_id] = (time.monotonic(), kept)


def user_forget(user_id: int) -> None:
    with _recent_lock:
        _recent.pop(user_id, None)


def users_forget_all() -> None:
    """Forget every remembered row (a bot starting; tests reusing user ids)."""
    with _recent_lock:
        _recent.clear()


_TABLE = connection.ops.quote_name(BotUser._meta.db_table)
_PK = connection.ops.quote_name(BotUser._meta.pk.column)
_ROW_SQL = f"SELECT * FROM {_TABLE} WHERE {_PK} = %s"  # noqa: S608 (the model's own names)


def user_row(user_id: int) -> BotUser | None:
    """``BotUser.objects.filter(pk=...).first()`` as a raw query: it is read for every
    user new to the bot's process, and building the ORM query cost more than running it."""
    return next(iter(BotUser.objects.raw(_ROW_SQL, [user_id])), None)


def user_mark_blocked(*, user_id: int) -> bool:
    """Record that the user blocked the bot; nothing is sent to them until they write."""
    user_forget(user_id)
    changed = BotUser.objects.filter(pk=user_id, is_blocked=False).update(is_blocked=True)
    if changed:
        log.info("user %s blocked the bot", user_id)
    return bool(changed)


def user_mark_unblocked(*, user_id: int) -> bool:
    user_forget(user_id)
    return bool(BotUser.objects.filter(pk=user_id, is_blocked=True).update(is_blocked=False))


def user_set_language(*, user_id: int, language: str) -> None:
    user_forget(user_id)
    BotUser.objects.filter(pk=user_id).update(language=language)


def user_set_default_quality(*, user_id: int, quality: str) -> None:
    user_forget(user_id)
    BotUser.objects.filter(pk=user_id).update(default_quality=quality)


def user_set_send_as(*, user_id: int, send_as: str) -> None:
    user_forget(user_id)
    BotUser.objects.filter(pk=user_id).update(send_as=send_as)


def user_set_timezone_from_location(
    *, user_id: int, latitude: float, longitude: float
) -> str | None:
    """Store the time zone of a shared location (never the location itself); returns
    the zone, or None when the point has none."""
    zone = zone_at(latitude=latitude, longitude=longitude)
    if zone is not None:
        user_forget(user_id)
        BotUser.objects.filter(user_id=user_id).update(
            timezone=zone, timezone_source=TimezoneSource.LOCATION
        )
    return zone
