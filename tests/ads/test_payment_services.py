"""The paid tier's rules on PostgreSQL: stacking periods, one row per charge, revoking."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone

from ads.models import Payment, PaymentStatus
from ads.payment_selectors import auser_is_paid, paid_users_filter, user_is_paid
from ads.payment_services import (
    CheckoutRefusal,
    PaymentRefundError,
    PaymentReport,
    checkout_check,
    invoice_create,
    payment_record,
    payment_refund,
    payment_revoke,
)
from users.models import BotUser

DAYS_30 = dt.timedelta(days=30)


@pytest.fixture
def user(db):
    now = timezone.now()
    return BotUser.objects.create(user_id=42, first_seen_at=now, last_seen_at=now)


def report(payload: str, charge: str = "stxA", amount: int = 100, **extra) -> PaymentReport:
    return PaymentReport(
        user_id=42, payload=payload, currency="XTR", total_amount=amount,
        telegram_payment_charge_id=charge, **extra,
    )  # fmt: skip


def test_checkout_accepts_only_the_issued_invoice_at_todays_price(user, settings):
    settings.PREMIUM_STARS = 100
    invoice = invoice_create(user_id=42, kind="one_time")
    ok = {"user_id": 42, "payload": invoice.payload, "currency": "XTR", "total_amount": 100}
    assert checkout_check(**ok) is None
    assert checkout_check(**ok | {"payload": "premium:once:forged"}) == "unknown_invoice"
    assert checkout_check(**ok | {"user_id": 43}) == CheckoutRefusal.OTHER_USER
    assert checkout_check(**ok | {"total_amount": 1}) == CheckoutRefusal.PRICE_CHANGED
    assert checkout_check(**ok | {"currency": "USD"}) == CheckoutRefusal.PRICE_CHANGED
    settings.PREMIUM_STARS = 120
    assert checkout_check(**ok) == CheckoutRefusal.PRICE_CHANGED


def test_a_second_subscription_is_refused_while_one_renews(user, settings):
    first = invoice_create(user_id=42, kind="subscription")
    payment_record(report=report(first.payload, "stxS", amount=first.stars))
    again = {"user_id": 42, "currency": "XTR", "total_amount": first.stars}
    assert checkout_check(payload=first.payload, **again) == CheckoutRefusal.ALREADY_SUBSCRIBED
    other = invoice_create(user_id=42, kind="subscription")  # from an older /premium
    assert checkout_check(payload=other.payload, **again) == CheckoutRefusal.ALREADY_SUBSCRIBED
    once = invoice_create(user_id=42, kind="one_time")  # 30 more days are still for sale
    assert checkout_check(payload=once.payload, **again | {"total_amount": once.stars}) is None


def test_payments_stack_and_a_refund_takes_its_days_off_the_end(user):
    now = timezone.now()
    invoice = invoice_create(user_id=42, kind="one_time")
    first = payment_record(report=report(invoice.payload, "stxA"), now=now).payment
    second = payment_record(report=report(invoice.payload, "stxB"), now=now).payment
    assert second.paid_until == now + 2 * DAYS_30
    assert payment_revoke(charge_id="stxA", by="owner", now=now)
    assert not payment_revoke(charge_id="stxA", by="telegram", now=now)  # once only
    assert BotUser.objects.get(pk=42).paid_until == now + DAYS_30
    assert Payment.objects.get(pk=first.pk).refunded_by == "owner"
    assert user_is_paid(user_id=42, at=now + DAYS_30 - dt.timedelta(seconds=1))
    assert not user_is_paid(user_id=42, at=now + DAYS_30)
    assert BotUser.objects.filter(**paid_users_filter(at=now)).count() == 1


def test_an_expired_period_restarts_from_the_payment(user):
    BotUser.objects.filter(pk=42).update(paid_until=timezone.now() - dt.timedelta(days=3))
    now = timezone.now()
    invoice = invoice_create(user_id=42, kind="one_time")
    payment = payment_record(report=report(invoice.payload), now=now).payment
    assert payment.paid_until == now + DAYS_30


def test_the_same_charge_reported_concurrently_is_stored_once(user, transactional_db):
    invoice = invoice_create(user_id=42, kind="one_time")
    results, barrier = [], threading.Barrier(4)

    def record():
        barrier.wait()
        try:
            results.append(payment_record(report=report(invoice.payload, "stxSame")).created)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert Payment.objects.count() == 1
    paid_until = BotUser.objects.get(pk=42).paid_until
    assert paid_until == Payment.objects.get().paid_until


def test_a_refund_telegram_refuses_changes_nothing(user):
    invoice = invoice_create(user_id=42, kind="one_time")
    payment_record(report=report(invoice.payload, "stxA"))

    def refuse(user_id: int, charge_id: str) -> None:
        raise PaymentRefundError("Telegram did not refund")

    with pytest.raises(PaymentRefundError):
        payment_refund(charge_id="stxA", admin="owner", refund=refuse, cancel_subscription=refuse)
    assert Payment.objects.get().status == PaymentStatus.PAID
    assert BotUser.objects.get(pk=42).is_paid


def is_paid_async(user_id: int) -> bool:
    async def check() -> bool:
        try:
            return await auser_is_paid(user_id=user_id)
        finally:
            await sync_to_async(connections.close_all)()  # the executor thread's connection

    return asyncio.run(check())


def test_the_async_check_reads_the_same_truth(user, transactional_db):
    assert not is_paid_async(42)
    BotUser.objects.filter(pk=42).update(paid_until=timezone.now() + DAYS_30)
    assert is_paid_async(42)
