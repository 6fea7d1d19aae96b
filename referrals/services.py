"""Writes of the referral part: who brought whom."""

from __future__ import annotations

import logging

from analytics.events import UserReferred
from analytics.publisher import publish
from referrals.models import Referral
from users.models import BotUser

log = logging.getLogger(__name__)


def referral_attribute(*, user_id: int, code: str) -> bool:
    """Attribute ``user_id`` to the owner of ``code``: once per user, never to themselves.

    Publishes ``UserReferred``; the analytics worker writes the ``referrals`` row
    idempotently (a second referral of the same user is ignored there too).
    """
    referrer_id = (
        BotUser.objects.filter(referral_code=code).values_list("user_id", flat=True).first()
    )
    if referrer_id is None or referrer_id == user_id:
        return False
    if Referral.objects.filter(referred_user_id=user_id).exists():
        return False
    if BotUser.objects.filter(pk=user_id, referred_by__isnull=False).exists():
        return False
    publish(UserReferred(referrer_id=referrer_id, new_user_id=user_id))
    return True
