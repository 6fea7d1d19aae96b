"""Writes of the referral program: codes, attribution, activation and the bonus ledger.

Attribution happens on the referred user's first ``/start``; the bonus is paid when
that user completes a first download (``referral_activate``), so an account that never
downloads earns its referrer nothing. Every bonus is a ledger row; a user's bonus is
their sum, and a revocation is a negative row, so nothing is ever rewritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from analytics.events import UserReferred
from analytics.publisher import publish
from config.redis import get_fast_redis
from referrals.models import (
    BonusOutcome,
    BonusReason,
    Referral,
    ReferralBonus,
    Referrer,
    referral_code_generate,
    referral_code_normalize,
)
from referrals.selectors import bonus_key, referral_bonus_amount
from users.models import BotUser

log = logging.getLogger(__name__)

_CODE_ATTEMPTS = 5


def referrer_get_or_create(*, user_id: int) -> Referrer:
    """The user's referral code, made the first time it is needed."""
    referrer = Referrer.objects.filter(pk=user_id).first()
    if referrer is not None:
        return referrer
    for _attempt in range(_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Referrer.objects.create(user_id=user_id, code=referral_code_generate())
        except IntegrityError:  # made meanwhile by a concurrent request, or a code collision
            referrer = Referrer.objects.filter(pk=user_id).first()
            if referrer is not None:
                return referrer
    raise RuntimeError(f"no free referral code after {_CODE_ATTEMPTS} attempts")


def referral_attribute(*, user_id: int, code: str) -> Referral | None:
    """Attribute ``user_id`` (a user on their first contact with the bot, which the
    caller knows) to the owner of ``code``: once, never to themselves. The referral
    row, ``users.referred_by`` and the optional welcome bonus are written in one
    transaction; ``UserReferred`` is published after the commit. None when nothing
    changed (malformed or unknown code, own code, already referred)."""
    normalized = referral_code_normalize(code)
    if normalized is None:
        return None
    referrer_id = Referrer.objects.filter(code=normalized).values_list("user_id", flat=True).first()
    if referrer_id is None or referrer_id == user_id:
        return None
    try:
        referral = _referral_record(user_id=user_id, referrer_id=referrer_id)
    except IntegrityError:  # referred meanwhile through another link: the first one won
        return None
    if referral is not None:
        event = UserReferred(referrer_id=referrer_id, new_user_id=user_id)
        transaction.on_commit(lambda: publish(event))  # at once unless a caller holds one open
    return referral


@transaction.atomic
def _referral_record(*, user_id: int, referrer_id: int) -> Referral | None:
    # The compare-and-set on referred_by locks the user's row: two links followed at
    # once by one user are decided here, the second one finds referred_by set.
    if not BotUser.objects.filter(pk=user_id, referred_by__isnull=True).update(
        referred_by_id=referrer_id
    ):
        return None
    now = timezone.now()
    referral = Referral.objects.create(
        referrer_id=referrer_id, referred_user_id=user_id, created_at=now
    )
    if settings.REFERRAL_WELCOME_BONUS > 0:
        referral_bonus_forget_on_commit(user_id=user_id)
        ReferralBonus.objects.create(
            user_id=user_id,
            amount=settings.REFERRAL_WELCOME_BONUS,
            reason=BonusReason.WELCOME,
            referral=referral,
            created_at=now,
        )
    return referral


@dataclasses.dataclass(frozen=True)
class Activation:
    """What a referred user's first download decided."""

    referral_id: int
    referrer_id: int
    referred_user_id: int
    outcome: BonusOutcome
    amount: int  # ad-free downloads credited to the referrer (0 unless paid)


def referral_activate(*, referred_user_id: int) -> Activation | None:
    """The referred user completed a download: the first one activates their referral
    and pays the referrer, within the caps. Exactly once: the referral row moves from
    pending by compare-and-set under its row lock, and the ledger allows one referral
    bonus per referral. None when there is nothing to activate (not referred, or
    activated before), which is what every later download gets."""
    referral = (
        Referral.objects.filter(referred_user_id=referred_user_id, activated_at__isnull=True)
        .values("pk", "referrer_id")
        .first()
    )
    if referral is None:  # the common case, without a transaction
        return None
    referrer_get_or_create(user_id=referral["referrer_id"])  # an imported referral may lack it
    return _referral_activate(referral_id=referral["pk"])


@transaction.atomic
def _referral_activate(*, referral_id: int) -> Activation | None:
    referral = (
        Referral.objects.select_for_update()
        .filter(pk=referral_id, activated_at__isnull=True)
        .first()
    )
    if referral is None:  # a concurrent first download won
        return None
    # Locking the referrer serialises the cap checks of all their referrals.
    referrer = Referrer.objects.select_for_update().get(pk=referral.referrer_id)
    now = timezone.now()
    outcome = _bonus_outcome(referrer, now)
    amount = referral_bonus_amount(referrer_id=referrer.pk) if outcome == BonusOutcome.PAID else 0
    referral.activated_at, referral.outcome = now, outcome
    referral.save(update_fields=["activated_at", "outcome"])
    if amount:
        referral_bonus_forget_on_commit(user_id=referrer.pk)
        ReferralBonus.objects.create(
            user_id=referrer.pk,
            amount=amount,
            reason=BonusReason.REFERRAL,
            referral=referral,
            created_at=now,
        )
    log.info("referral %s activated: %s (+%d)", referral.pk, outcome, amount)
    return Activation(
        referral_id=referral.pk,
        referrer_id=referrer.pk,
        referred_user_id=referral.referred_user_id,
        outcome=BonusOutcome(outcome),
        amount=amount,
    )


def _bonus_outcome(referrer: Referrer, now: dt.datetime) -> BonusOutcome:
    if referrer.earning_blocked:
        return BonusOutcome.BLOCKED
    paid = ReferralBonus.objects.filter(user_id=referrer.pk, reason=BonusReason.REFERRAL)
    if paid.count() >= settings.REFERRAL_MAX_TOTAL:
        return BonusOutcome.CAPPED_TOTAL
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if paid.filter(created_at__gte=day_start).count() >= settings.REFERRAL_MAX_PER_DAY:
        return BonusOutcome.CAPPED_DAY
    return BonusOutcome.PAID


def referral_bonus_forget_on_commit(*, user_id: int) -> None:
    """The user's ledger changes: drop the Redis copy of their total once it commits."""

    def forget() -> None:
        with contextlib.suppress(RedisError):
            get_fast_redis().delete(bonus_key(user_id))

    transaction.on_commit(forget)


class NotRevocable(ValueError):
    """Only a grant can be revoked, and only with a reason."""


@transaction.atomic
def referral_bonus_revoke(*, bonus_id: int, note: str, by: str = "") -> ReferralBonus:
    """Cancel a grant with a negative ledger row that says why. Revoking twice
    returns the first revocation."""
    if not note.strip():
        raise NotRevocable("a revocation needs a reason")
    grant = ReferralBonus.objects.select_for_update().get(pk=bonus_id)
    if grant.amount <= 0:
        raise NotRevocable("only a grant can be revoked")
    existing = ReferralBonus.objects.filter(revokes=grant).first()
    if existing is not None:
        return existing
    referral_bonus_forget_on_commit(user_id=grant.user_id)
    return ReferralBonus.objects.create(
        user_id=grant.user_id,
        amount=-grant.amount,
        reason=BonusReason.REVOCATION,
        referral_id=grant.referral_id,
        revokes=grant,
        note=note.strip(),
        created_by=by[:150],
        created_at=timezone.now(),
    )


def referrer_earning_block(*, user_id: int, reason: str) -> bool:
    """Stop a referrer from earning (their referrals are still recorded). True when
    the referrer was earning before."""
    referrer_get_or_create(user_id=user_id)
    return bool(
        Referrer.objects.filter(pk=user_id, earning_blocked=False).update(
            earning_blocked=True, earning_blocked_reason=reason, earning_blocked_at=timezone.now()
        )
    )


def referrer_earning_unblock(*, user_id: int) -> bool:
    return bool(
        Referrer.objects.filter(pk=user_id, earning_blocked=True).update(
            earning_blocked=False, earning_blocked_reason="", earning_blocked_at=None
        )
    )
