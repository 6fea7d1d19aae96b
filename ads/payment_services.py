"""Writes of the paid tier: invoices, the pre-checkout decision, payments, refunds and
subscriptions, in Telegram Stars (XTR).

One payment buys ``PREMIUM_DAYS`` days without ads; periods stack, so a payment during
an active period extends it and a refund takes its days back off the end. The user's
``paid_until`` is the only thing the rest of the bot reads (``BotUser.is_paid`` is
derived from it). A payment Telegram reports twice is stored and counted once: its
``telegram_payment_charge_id`` is unique and the user's row is locked while it is
recorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.events import PaymentCompleted, PaymentRefunded
from analytics.publisher import publish
from users.models import BotUser

from .models import (
    Payment,
    PaymentStatus,
    PremiumInvoice,
    PremiumKind,
    StarSubscription,
    SubscriptionStatus,
)
from .services import paid_status_forget

log = logging.getLogger(__name__)

CURRENCY = "XTR"
PREMIUM_DAYS = 30
# Telegram's only subscription period: 30 days, in seconds.
SUBSCRIPTION_PERIOD_SECONDS = 30 * 24 * 3600
_PAYLOAD_PREFIX = {PremiumKind.ONE_TIME: "premium:once:", PremiumKind.SUBSCRIPTION: "premium:sub:"}


def premium_price(*, kind: str) -> int:
    """Today's price in Stars of one period of ``kind``."""
    if kind == PremiumKind.SUBSCRIPTION:
        return settings.PREMIUM_SUBSCRIPTION_STARS
    return settings.PREMIUM_STARS


def invoice_create(*, user_id: int, kind: str) -> PremiumInvoice:
    """A new invoice at today's price; its payload is random, so it cannot be guessed."""
    return PremiumInvoice.objects.create(
        user_id=user_id,
        kind=kind,
        payload=_PAYLOAD_PREFIX[PremiumKind(kind)] + secrets.token_urlsafe(18),
        stars=premium_price(kind=kind),
        days=PREMIUM_DAYS,
    )


@dataclasses.dataclass(frozen=True)
class PremiumOffer:
    """What /premium shows: the one-off invoice, and a subscription invoice unless the
    user already has a subscription that renews."""

    one_time: PremiumInvoice
    subscription: PremiumInvoice | None


@transaction.atomic
def premium_offer_create(*, user_id: int, subscribed: bool) -> PremiumOffer:
    one_time = invoice_create(user_id=user_id, kind=PremiumKind.ONE_TIME)
    subscription = (
        None if subscribed else invoice_create(user_id=user_id, kind=PremiumKind.SUBSCRIPTION)
    )
    return PremiumOffer(one_time=one_time, subscription=subscription)


def invoice_link_set(*, invoice_id: int, link: str) -> None:
    PremiumInvoice.objects.filter(pk=invoice_id).update(link=link)


class CheckoutRefusal(enum.StrEnum):
    """Why a pre-checkout query is refused (the handler shows the matching text)."""

    UNKNOWN_INVOICE = "unknown_invoice"
    OTHER_USER = "other_user"
    PRICE_CHANGED = "price_changed"
    ALREADY_SUBSCRIBED = "already_subscribed"


def checkout_check(
    *, user_id: int, payload: str, currency: str, total_amount: int
) -> CheckoutRefusal | None:
    """None if the payment may go ahead. Called while Telegram waits (10 s at most), so
    it is two indexed reads."""
    invoice = PremiumInvoice.objects.filter(payload=payload).first()
    if invoice is None:
        return CheckoutRefusal.UNKNOWN_INVOICE
    if invoice.user_id != user_id:
        return CheckoutRefusal.OTHER_USER
    price_now = premium_price(kind=invoice.kind)
    if currency != CURRENCY or total_amount != invoice.stars or invoice.stars != price_now:
        return CheckoutRefusal.PRICE_CHANGED
    if invoice.kind == PremiumKind.SUBSCRIPTION and _subscribed(user_id=user_id, invoice=invoice):
        return CheckoutRefusal.ALREADY_SUBSCRIBED
    return None


def _subscribed(*, user_id: int, invoice: PremiumInvoice) -> bool:
    """This link was subscribed before, or the user has a subscription that still renews
    (an old /premium message must not start a second one)."""
    running = StarSubscription.objects.filter(
        user_id=user_id, status=SubscriptionStatus.ACTIVE, expires_at__gt=timezone.now()
    )
    return StarSubscription.objects.filter(invoice=invoice).exists() or running.exists()


@dataclasses.dataclass(frozen=True)
class PaymentReport:
    """A ``successful_payment`` as Telegram reported it."""

    user_id: int
    payload: str
    currency: str
    total_amount: int
    telegram_payment_charge_id: str
    provider_payment_charge_id: str = ""
    is_recurring: bool = False
    subscription_expiration_date: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    created: bool  # False: this charge had been recorded before (a repeated update)


@transaction.atomic
def payment_record(*, report: PaymentReport, now: dt.datetime | None = None) -> PaymentResult:
    """Store a payment once and extend the user's paid period by the days it bought."""
    now = now or timezone.now()
    user = BotUser.objects.select_for_update().get(pk=report.user_id)
    # The user's row lock serialises two copies of one update; the unique constraint
    # is the last word should anything else insert the same charge.
    existing = Payment.objects.filter(
        telegram_payment_charge_id=report.telegram_payment_charge_id
    ).first()
    if existing is not None:
        return PaymentResult(existing, created=False)
    invoice = PremiumInvoice.objects.filter(payload=report.payload).first()
    kind = invoice.kind if invoice else _kind_of_payload(report.payload)
    days = invoice.days if invoice else PREMIUM_DAYS
    user.paid_until = max(now, user.paid_until or now) + dt.timedelta(days=days)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                user_id=user.pk,
                invoice=invoice,
                kind=kind,
                telegram_payment_charge_id=report.telegram_payment_charge_id,
                provider_payment_charge_id=report.provider_payment_charge_id,
                currency=report.currency,
                stars=report.total_amount,
                days=days,
                is_recurring=report.is_recurring,
                subscription_expires_at=report.subscription_expiration_date,
                paid_at=now,
                paid_until=user.paid_until,
            )
    except IntegrityError:
        existing = Payment.objects.get(telegram_payment_charge_id=report.telegram_payment_charge_id)
        return PaymentResult(existing, created=False)
    BotUser.objects.filter(pk=user.pk).update(paid_until=user.paid_until)
    transaction.on_commit(lambda: paid_status_forget(user_id=user.pk))  # ads stop at once
    if invoice is not None and kind == PremiumKind.SUBSCRIPTION:
        _subscription_extend(invoice=invoice, report=report, now=now)
    event = PaymentCompleted(
        user_id=user.pk,
        telegram_payment_charge_id=payment.telegram_payment_charge_id,
        stars=payment.stars,
        kind=kind,
        days=days,
        is_recurring=report.is_recurring,
        paid_until=user.paid_until,
        occurred_at=now,
    )
    transaction.on_commit(lambda: publish(event))
    return PaymentResult(payment, created=True)


def _kind_of_payload(payload: str) -> str:
    if payload.startswith(_PAYLOAD_PREFIX[PremiumKind.SUBSCRIPTION]):
        return PremiumKind.SUBSCRIPTION
    return PremiumKind.ONE_TIME


def _subscription_extend(*, invoice: PremiumInvoice, report: PaymentReport, now: dt.datetime):
    expires_at = report.subscription_expiration_date or now + dt.timedelta(
        seconds=SUBSCRIPTION_PERIOD_SECONDS
    )
    subscription = StarSubscription.objects.filter(invoice=invoice).first()
    if subscription is None:
        StarSubscription.objects.create(
            user_id=report.user_id,
            invoice=invoice,
            telegram_payment_charge_id=report.telegram_payment_charge_id,
            expires_at=expires_at,
            started_at=now,
        )
    elif expires_at > subscription.expires_at:
        StarSubscription.objects.filter(pk=subscription.pk).update(expires_at=expires_at)


class PaymentRefundError(Exception):
    """A refund that cannot be made; the text is for the admin."""


# Calls Telegram's refundStarPayment(user_id, charge_id); raises PaymentRefundError.
StarRefund = Callable[[int, str], None]
# Calls editUserStarSubscription(user_id, first charge id, is_canceled=True).
SubscriptionCancel = Callable[[int, str], None]


def payment_refund(
    *,
    charge_id: str,
    admin: str,
    refund: StarRefund,
    cancel_subscription: SubscriptionCancel,
) -> Payment:
    """An admin's refund: Telegram returns the Stars, then the days are taken back.

    The user's row stays locked from the check to the revocation, so Telegram's
    ``refunded_payment`` message, which the bot may receive before this returns, finds
    the payment already refunded by the admin. A refunded subscription payment also
    cancels the subscription, so the user is not charged again for what was revoked.
    """
    charge_id = charge_id.strip()
    with transaction.atomic():
        payment = Payment.objects.filter(telegram_payment_charge_id=charge_id).first()
        if payment is None:
            raise PaymentRefundError(
                f"No payment with the charge id {charge_id!r} is recorded; nothing was "
                "refunded. Copy the id from the payment's row (users see it in their receipt)."
            )
        BotUser.objects.select_for_update().filter(pk=payment.user_id).first()
        payment.refresh_from_db()
        if payment.status == PaymentStatus.REFUNDED:
            raise PaymentRefundError(f"The payment {charge_id!r} was already refunded.")
        refund(payment.user_id, payment.telegram_payment_charge_id)
        subscription = _subscription_of(payment)
        if subscription is not None and subscription.status == SubscriptionStatus.ACTIVE:
            try:
                cancel_subscription(payment.user_id, subscription.telegram_payment_charge_id)
            except PaymentRefundError:
                # The Stars are back with the user already; the refund must be recorded.
                log.warning("refunded %s but could not cancel its subscription", charge_id)
        payment_revoke(charge_id=charge_id, by=admin)
    payment.refresh_from_db()
    return payment


def _subscription_of(payment: Payment) -> StarSubscription | None:
    if payment.kind != PremiumKind.SUBSCRIPTION or payment.invoice_id is None:
        return None
    return StarSubscription.objects.filter(invoice_id=payment.invoice_id).first()


@transaction.atomic
def payment_revoke(*, charge_id: str, by: str, now: dt.datetime | None = None) -> bool:
    """Mark a payment refunded and take its days off the user's paid period. Only the
    first call for a charge does anything (the admin's refund, then Telegram's
    ``refunded_payment`` message for the same charge)."""
    now = now or timezone.now()
    payment = Payment.objects.filter(telegram_payment_charge_id=charge_id).first()
    if payment is None:
        return False
    user = BotUser.objects.select_for_update().get(pk=payment.user_id)
    changed = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PAID).update(
        status=PaymentStatus.REFUNDED, refunded_at=now, refunded_by=by[:150]
    )
    if not changed:
        return False
    if user.paid_until is not None:
        user.paid_until -= dt.timedelta(days=payment.days)
        BotUser.objects.filter(pk=user.pk).update(paid_until=user.paid_until)
        transaction.on_commit(lambda: paid_status_forget(user_id=user.pk))
    subscription = _subscription_of(payment)
    if subscription is not None:
        subscription_mark_canceled(subscription_id=subscription.pk, now=now)
    event = PaymentRefunded(
        user_id=user.pk,
        telegram_payment_charge_id=charge_id,
        stars=payment.stars,
        kind=payment.kind,
        paid_until=user.paid_until,
        occurred_at=now,
    )
    transaction.on_commit(lambda: publish(event))
    return True


def subscription_mark_canceled(*, subscription_id: int, now: dt.datetime | None = None) -> bool:
    """The subscription will not renew; the period paid for runs to its end."""
    return bool(
        StarSubscription.objects.filter(
            pk=subscription_id, status=SubscriptionStatus.ACTIVE
        ).update(status=SubscriptionStatus.CANCELED, canceled_at=now or timezone.now())
    )
