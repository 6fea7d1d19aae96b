"""Writes of the users table (profile fields and last_seen_at are the event writer's)."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from users.models import BotUser, TimezoneSource
from users.timezones import zone_at

log = logging.getLogger(__name__)


def user_get_or_create(
    *, user_id: int, username: str = "", first_name: str = "", language_code: str = ""
) -> BotUser:
    """The user's row, created on first contact. Profile fields and last_seen_at are
    kept current by the analytics worker from ``UserSeen`` events."""
    try:
        return BotUser.objects.get(pk=user_id)
    except BotUser.DoesNotExist:
        pass
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


def user_mark_blocked(*, user_id: int) -> bool:
    """Record that the user blocked the bot; nothing is sent to them until they write."""
    changed = BotUser.objects.filter(pk=user_id, is_blocked=False).update(is_blocked=True)
    if changed:
        log.info("user %s blocked the bot", user_id)
    return bool(changed)


def user_mark_unblocked(*, user_id: int) -> bool:
    return bool(BotUser.objects.filter(pk=user_id, is_blocked=True).update(is_blocked=False))


def user_set_language(*, user_id: int, language: str) -> None:
    BotUser.objects.filter(pk=user_id).update(language=language)


def user_set_default_quality(*, user_id: int, quality: str) -> None:
    BotUser.objects.filter(pk=user_id).update(default_quality=quality)


def user_set_send_as(*, user_id: int, send_as: str) -> None:
    BotUser.objects.filter(pk=user_id).update(send_as=send_as)


def user_set_timezone_from_location(
    *, user_id: int, latitude: float, longitude: float
) -> str | None:
    """Store the time zone of a shared location (never the location itself); returns
    the zone, or None when the point has none."""
    zone = zone_at(latitude=latitude, longitude=longitude)
    if zone is not None:
        BotUser.objects.filter(user_id=user_id).update(
            timezone=zone, timezone_source=TimezoneSource.LOCATION
        )
    return zone
