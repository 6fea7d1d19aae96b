"""PaymentCompleted / PaymentRefunded through the event stream into payment_events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ads.models import PaymentEvent
from analytics.events import PaymentCompleted, PaymentRefunded, event_from_json
from analytics.publisher import publish
from tests.analytics.conftest import drain
from users.models import BotUser

pytestmark = pytest.mark.django_db(transaction=True)


def completed(**extra) -> PaymentCompleted:
    fields = {
        "user_id": 7, "telegram_payment_charge_id": "stx1", "stars": 100, "kind": "one_time",
        "days": 30, "paid_until": timezone.now() + dt.timedelta(days=30),
    } | extra  # fmt: skip
    return PaymentCompleted(**fields)


def test_it_round_trips_payment_events_through_json():
    event = completed(is_recurring=True)
    assert event_from_json(event.to_json()) == event
    refund = PaymentRefunded(
        user_id=7, telegram_payment_charge_id="stx1", stars=100, kind="subscription"
    )
    assert event_from_json(refund.to_json()) == refund


def test_the_worker_stores_payments_and_refunds_once():
    paid = completed()
    publish(paid)
    publish(paid)  # published twice (spooled and sent, say): stored once
    refund = PaymentRefunded(
        user_id=7, telegram_payment_charge_id="stx1", stars=100, kind="one_time"
    )
    publish(refund)
    drain()
    publish(refund)  # redelivered after it was stored
    drain()

    rows = list(PaymentEvent.objects.order_by("created_at").values_list("kind", "stars"))
    assert rows == [("completed", 100), ("refunded", -100)]
    assert sum(PaymentEvent.objects.values_list("stars", flat=True)) == 0  # net revenue
    assert BotUser.objects.filter(pk=7).exists()  # the payer is a known user
