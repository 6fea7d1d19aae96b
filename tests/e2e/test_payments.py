"""Premium with Telegram Stars through the real bot and the offline Telegram: buying,
a repeated payment update, checkout refusals, subscriptions, refunds and /paysupport."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ads.models import Payment, PaymentStatus, PremiumInvoice, StarSubscription
from ads.payment_selectors import user_is_paid
from analytics.events import PaymentCompleted, PaymentRefunded
from botapp.handlers import payments as payments_handlers
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA
from tests.e2e.published import published, wait_published, wait_until
from users.models import BotUser

DAYS_30 = dt.timedelta(days=30)


def sent(telegram, user_id: int, method: str = "sendMessage", **kw) -> dict:
    return telegram.wait_for_call(
        method, lambda c: c["payload"].get("chat_id") == user_id, timeout=60, **kw
    )


def ask_premium(telegram, user_id: int) -> tuple[dict, dict]:
    """/premium: the status-and-offer message, then the invoice."""
    telegram.push_private_message(user_id, "/premium")
    return sent(telegram, user_id), sent(telegram, user_id, "sendInvoice", ok=True)


def subscribe_link(offer: dict) -> str:
    button = offer["payload"]["reply_markup"]["inline_keyboard"][0][0]
    return button["url"]


def thanks(telegram, user_id: int) -> str:
    return sent(telegram, user_id, ok=True)["payload"]["text"]


@pytest.fixture
def prices(bot_settings):
    bot_settings.PREMIUM_STARS = 100
    bot_settings.PREMIUM_SUBSCRIPTION_STARS = 90
    return bot_settings


@pytest.fixture
def staff():
    admin = get_user_model().objects.create_superuser("owner", password="pw")
    client = Client()
    client.force_login(admin)
    return client


def test_it_sells_30_days_without_ads_for_stars_and_extends_an_active_period(bot, telegram, prices):
    offer, invoice = ask_premium(telegram, ALICE)
    assert "You don't have premium right now." in offer["payload"]["text"]
    assert invoice["payload"]["currency"] == "XTR"
    assert invoice["payload"]["prices"][0]["amount"] == 100
    assert not invoice["payload"].get("provider_token")

    result = telegram.pay_invoice(ALICE, message_id=invoice["result"]["message_id"])
    assert result["status"] == "paid"
    assert "Premium is active until" in thanks(telegram, ALICE)
    first = Payment.objects.get(telegram_payment_charge_id=result["charge_id"])
    alice = BotUser.objects.get(pk=ALICE)
    assert (first.stars, first.days, first.status) == (100, 30, PaymentStatus.PAID)
    assert alice.is_paid and alice.paid_until == first.paid_at + DAYS_30

    _offer, second_invoice = ask_premium(telegram, ALICE)
    again = telegram.pay_invoice(ALICE, message_id=second_invoice["result"]["message_id"])
    thanks(telegram, ALICE)
    second = Payment.objects.get(telegram_payment_charge_id=again["charge_id"])
    # Paying during an active period adds 30 days to its end, not to today.
    assert second.paid_until == first.paid_until + DAYS_30
    assert BotUser.objects.get(pk=ALICE).paid_until == second.paid_until
    events = wait_until(lambda: published(PaymentCompleted, lambda e: e.user_id == ALICE)[1:])
    events = published(PaymentCompleted, lambda e: e.user_id == ALICE)
    assert [(e.telegram_payment_charge_id, e.stars, e.paid_until) for e in events] == [
        (first.telegram_payment_charge_id, 100, first.paid_until),
        (second.telegram_payment_charge_id, 100, second.paid_until),
    ]


def test_a_payment_telegram_reports_twice_counts_once(bot, telegram, prices, caplog):
    _offer, invoice = ask_premium(telegram, ALICE)
    result = telegram.pay_invoice(ALICE, message_id=invoice["result"]["message_id"])
    thanks(telegram, ALICE)
    paid_until = BotUser.objects.get(pk=ALICE).paid_until

    caplog.set_level(logging.INFO, logger="botapp.handlers.payments")
    telegram.redeliver({"message": result["message"]})
    # The bot has handled the repeat once it says so (it answers nothing).
    assert wait_until(lambda: "reported again: counted once" in caplog.text)

    assert Payment.objects.filter(user_id=ALICE).count() == 1
    assert BotUser.objects.get(pk=ALICE).paid_until == paid_until
    assert len(published(PaymentCompleted, lambda e: e.user_id == ALICE)) == 1
    thanked = [
        c for c in telegram.calls("sendMessage")
        if c["payload"]["chat_id"] == ALICE and "Premium is active" in c["payload"]["text"]
    ]  # fmt: skip
    assert len(thanked) == 1


def test_it_refuses_at_checkout_an_invoice_whose_price_changed(bot, telegram, prices):
    _offer, invoice = ask_premium(telegram, ALICE)
    prices.PREMIUM_STARS = 150
    result = telegram.pay_invoice(ALICE, message_id=invoice["result"]["message_id"])
    assert result["status"] == "refused"
    assert "The price has changed" in result["error_message"]
    answer = telegram.wait_for_call("answerPreCheckoutQuery", ok=True)
    assert answer["payload"]["ok"] is False
    assert not Payment.objects.exists()
    assert not BotUser.objects.get(pk=ALICE).is_paid


def test_it_refuses_an_unknown_invoice_and_one_made_for_someone_else(bot, telegram, prices):
    offer, invoice = ask_premium(telegram, ALICE)
    PremiumInvoice.objects.filter(kind="one_time").delete()  # an invoice we never issued
    unknown = telegram.pay_invoice(ALICE, message_id=invoice["result"]["message_id"])
    assert unknown["status"] == "refused"
    assert "no longer valid" in unknown["error_message"]

    stolen = telegram.pay_invoice(BORIS, link=subscribe_link(offer))  # a forwarded link
    assert stolen["status"] == "refused"
    assert "для кого-то другого" in stolen["error_message"]  # Boris speaks Russian
    assert not Payment.objects.exists()


def test_a_subscription_renews_and_a_cancelled_one_ends_with_its_period(bot, telegram, prices):
    offer, _invoice = ask_premium(telegram, ALICE)
    link = subscribe_link(offer)
    created = telegram.wait_for_call("createInvoiceLink", ok=True)
    assert created["payload"]["subscription_period"] == 2592000
    assert created["payload"]["prices"][0]["amount"] == 90

    first = telegram.pay_invoice(ALICE, link=link)
    assert first["status"] == "paid"
    thanks(telegram, ALICE)
    subscription = StarSubscription.objects.get(user_id=ALICE)
    assert subscription.telegram_payment_charge_id == first["charge_id"]
    period_end = BotUser.objects.get(pk=ALICE).paid_until

    renewal = telegram.renew_subscription(ALICE)
    assert renewal["status"] == "paid"
    assert "subscription was renewed" in thanks(telegram, ALICE)
    renewed = Payment.objects.get(telegram_payment_charge_id=renewal["charge_id"])
    assert renewed.is_recurring and renewed.kind == "subscription"
    assert BotUser.objects.get(pk=ALICE).paid_until == period_end + DAYS_30
    subscription.refresh_from_db()
    assert subscription.expires_at == dt.datetime.fromtimestamp(
        telegram.star_subscriptions(ALICE)[0]["expires"], tz=dt.UTC
    )

    # The user cancels from /premium: no more charges, premium runs to the period's end.
    offer, _invoice = ask_premium(telegram, ALICE)
    assert "renews on" in offer["payload"]["text"]
    telegram.press_button(
        ALICE, f"premium:cancel:{subscription.pk}", message_id=offer["result"]["message_id"]
    )
    cancelled = telegram.wait_for_call("editUserStarSubscription", ok=True)
    assert cancelled["payload"]["is_canceled"] is True
    edit = telegram.wait_for_call("editMessageText", ok=True, timeout=60)
    assert "no more charges" in edit["payload"]["text"]
    assert wait_until(
        lambda: StarSubscription.objects.filter(pk=subscription.pk, status="canceled").exists()
    )
    assert telegram.renew_subscription(ALICE)["status"] == "ended"
    assert Payment.objects.filter(user_id=ALICE).count() == 2
    end = BotUser.objects.get(pk=ALICE).paid_until
    assert end == period_end + DAYS_30
    assert user_is_paid(user_id=ALICE, at=end - dt.timedelta(seconds=1))
    assert not user_is_paid(user_id=ALICE, at=end + dt.timedelta(seconds=1))


def test_a_subscription_cancelled_in_telegram_is_not_renewed(bot, telegram, prices):
    offer, _invoice = ask_premium(telegram, ALICE)
    telegram.pay_invoice(ALICE, link=subscribe_link(offer))
    thanks(telegram, ALICE)
    end = BotUser.objects.get(pk=ALICE).paid_until
    telegram.cancel_subscription(ALICE)
    assert telegram.renew_subscription(ALICE)["status"] == "ended"
    assert Payment.objects.filter(user_id=ALICE).count() == 1
    assert BotUser.objects.get(pk=ALICE).paid_until == end


def test_premium_is_on_exactly_while_the_period_runs(bot, telegram, prices):
    telegram.push_private_message(ALICE, "/start")
    sent(telegram, ALICE)
    BotUser.objects.filter(pk=ALICE).update(paid_until=timezone.now() + dt.timedelta(seconds=3))
    offer, _invoice = ask_premium(telegram, ALICE)
    assert "Premium is active until" in offer["payload"]["text"]
    assert BotUser.objects.get(pk=ALICE).is_paid
    end = BotUser.objects.get(pk=ALICE).paid_until
    time.sleep(max((end - timezone.now()).total_seconds(), 0) + 0.1)
    assert not BotUser.objects.get(pk=ALICE).is_paid
    offer, _invoice = ask_premium(telegram, ALICE)
    assert "You don't have premium right now." in offer["payload"]["text"]


def test_an_admin_refund_returns_the_stars_and_revokes_premium(bot, telegram, prices, staff):
    _offer, invoice = ask_premium(telegram, ALICE)
    result = telegram.pay_invoice(ALICE, message_id=invoice["result"]["message_id"])
    thanks(telegram, ALICE)
    payment = Payment.objects.get(telegram_payment_charge_id=result["charge_id"])

    response = staff.post(
        reverse("admin:ads_payment_changelist"),
        {"action": "refund_selected", "_selected_action": [payment.pk]},
        follow=True,
    )
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Refunded 100 Stars to user 500001" in note for note in notes), notes
    call = telegram.wait_for_call("refundStarPayment", ok=True)
    assert call["payload"]["telegram_payment_charge_id"] == payment.telegram_payment_charge_id
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_by == "owner"
    assert not BotUser.objects.get(pk=ALICE).is_paid
    # Telegram's refunded_payment message reaches the bot, which tells the user once.
    told = sent(telegram, ALICE, ok=True)["payload"]["text"]
    assert "was refunded, and premium ended" in told
    refunds = wait_published(PaymentRefunded, lambda e: e.user_id == ALICE)
    assert [e.telegram_payment_charge_id for e in refunds] == [payment.telegram_payment_charge_id]

    again = staff.post(
        reverse("admin:ads_payment_refund"),
        {"telegram_payment_charge_id": payment.telegram_payment_charge_id},
    )
    assert b"already refunded" in again.content


def test_refunding_an_unknown_charge_gives_the_admin_a_clear_error(bot, telegram, staff):
    form = staff.post(
        reverse("admin:ads_payment_refund"), {"telegram_payment_charge_id": "stxNope"}
    )
    assert form.status_code == 200
    assert b"No payment with the charge id" in form.content
    assert not telegram.calls("refundStarPayment")

    # A payment row Telegram has never heard of: Telegram's refusal reaches the admin.
    now = timezone.now()
    BotUser.objects.create(
        user_id=CARMEN, first_seen_at=now, last_seen_at=now, paid_until=now + DAYS_30
    )
    ghost = Payment.objects.create(
        user_id=CARMEN, kind="one_time", telegram_payment_charge_id="stxGhost", stars=100,
        days=30, paid_at=now, paid_until=now + DAYS_30,
    )  # fmt: skip
    response = staff.post(
        reverse("admin:ads_payment_changelist"),
        {"action": "refund_selected", "_selected_action": [ghost.pk]},
        follow=True,
    )
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(
        "Telegram does not know this charge id" in n and "CHARGE_NOT_FOUND" in n for n in notes
    )
    ghost.refresh_from_db()
    assert ghost.status == PaymentStatus.PAID
    assert BotUser.objects.get(pk=CARMEN).is_paid


def test_paysupport_says_where_to_get_help_in_each_language(bot, telegram, bot_settings):
    bot_settings.PAYMENTS_SUPPORT_CONTACT = "@videobot_support"
    answers = {}
    for user in (ALICE, BORIS, OLENA, CARMEN):
        telegram.push_private_message(user, "/paysupport")
        answers[user] = sent(telegram, user)["payload"]["text"]
    assert "@videobot_support" in answers[ALICE] and str(ALICE) in answers[ALICE]
    assert "Telegram support" in answers[ALICE]
    assert len(set(answers.values())) == 4
    assert all("@videobot_support" in text for text in answers.values())


def test_help_mentions_premium(bot, telegram, prices):
    telegram.push_private_message(ALICE, "/help")
    text = sent(telegram, ALICE)["payload"]["text"]
    assert "/premium" in text and "100 Telegram Stars" in text and "/paysupport" in text


def test_a_slow_check_is_refused_before_telegrams_deadline(bot, telegram, prices, monkeypatch):
    """Telegram cancels a payment whose pre-checkout query waits 10 s: a check stuck
    behind a slow database is answered with a refusal the user can read instead."""

    def stuck(**_kwargs):
        time.sleep(3)

    monkeypatch.setattr(payments_handlers, "CHECKOUT_BUDGET_SECONDS", 0.5)
    monkeypatch.setattr(payments_handlers, "checkout_check", stuck)
    _offer, invoice = ask_premium(telegram, ALICE)
    started = time.monotonic()
    result = telegram.pay_invoice(ALICE, message_id=invoice["result"]["message_id"])
    assert result["status"] == "refused"
    assert "can't be accepted right now" in result["error_message"]
    assert time.monotonic() - started < 3
    assert not Payment.objects.exists()


def test_refunding_a_subscription_payment_also_stops_the_subscription(bot, telegram, prices, staff):
    offer, _invoice = ask_premium(telegram, ALICE)
    first = telegram.pay_invoice(ALICE, link=subscribe_link(offer))
    thanks(telegram, ALICE)
    payment = Payment.objects.get(telegram_payment_charge_id=first["charge_id"])

    staff.post(
        reverse("admin:ads_payment_changelist"),
        {"action": "refund_selected", "_selected_action": [payment.pk]},
    )
    cancel = telegram.wait_for_call("editUserStarSubscription", ok=True)
    assert cancel["payload"]["telegram_payment_charge_id"] == first["charge_id"]
    assert StarSubscription.objects.get(user_id=ALICE).status == "canceled"
    assert not BotUser.objects.get(pk=ALICE).is_paid
    assert telegram.renew_subscription(ALICE)["status"] == "ended"
    assert Payment.objects.filter(user_id=ALICE).count() == 1
