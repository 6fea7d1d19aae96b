"""Reads of the paid tier. ``user_is_paid`` is what decides "no ads"."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.utils import timezone

from users.models import BotUser

from .models import Payment, StarSubscription, SubscriptionStatus


def user_paid_until(*, user_id: int) -> dt.datetime | None:
    return BotUser.objects.filter(pk=user_id).values_list("paid_until", flat=True).first()


def user_is_paid(*, user_id: int, at: dt.datetime | None = None) -> bool:
    """True exactly while a paid period is running (at ``at``, default now)."""
    paid_until = user_paid_until(user_id=user_id)
    return paid_until is not None and paid_until > (at or timezone.now())


async def auser_is_paid(*, user_id: int) -> bool:
    """``user_is_paid`` for async code: one indexed read of the users row."""
    row = await BotUser.objects.filter(pk=user_id).values_list("paid_until", flat=True).afirst()
    return row is not None and row > timezone.now()


def paid_users_filter(*, at: dt.datetime | None = None) -> dict:
    """Keyword arguments that select paid users from a BotUser queryset."""
    return {"paid_until__gt": at or timezone.now()}


@dataclasses.dataclass(frozen=True)
class PremiumStatus:
    paid_until: dt.datetime | None
    subscription: StarSubscription | None  # the user's running subscription, if any

    @property
    def is_paid(self) -> bool:
        return self.paid_until is not None and self.paid_until > timezone.now()

    @property
    def renews(self) -> bool:
        return (
            self.subscription is not None and self.subscription.status == SubscriptionStatus.ACTIVE
        )


def premium_status(*, user_id: int) -> PremiumStatus:
    subscription = (
        StarSubscription.objects.filter(
            user_id=user_id,
            status=SubscriptionStatus.ACTIVE,
            expires_at__gt=timezone.now(),
        )
        .order_by("-expires_at")
        .first()
    )
    return PremiumStatus(paid_until=user_paid_until(user_id=user_id), subscription=subscription)


def subscription_active(*, subscription_id: int, user_id: int) -> StarSubscription | None:
    """The user's subscription if it still renews (what its cancel button may cancel)."""
    return StarSubscription.objects.filter(
        pk=subscription_id, user_id=user_id, status=SubscriptionStatus.ACTIVE
    ).first()


def payment_of_charge(*, charge_id: str) -> Payment | None:
    return Payment.objects.filter(telegram_payment_charge_id=charge_id).first()
