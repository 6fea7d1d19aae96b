"""Telegram Stars in the offline Bot API, driven by the real python-telegram-bot client:
invoices and their limits, the pre-checkout deadline, subscriptions and refunds."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice
from telegram.error import BadRequest, Forbidden

from sandbox.telegram_api import TelegramApiDouble

ALICE, BORIS = 500001, 500002
PERIOD = 2592000


@pytest.fixture
def double():
    double = TelegramApiDouble(pre_checkout_timeout=1.5).start()
    double.push_private_message(ALICE, "/start")  # Alice opened the chat
    yield double
    double.stop()


def run(double: TelegramApiDouble, scenario):
    async def main():
        bot = Bot(double.token, base_url=double.base_url, base_file_url=double.base_file_url)
        async with bot:
            return await scenario(bot)

    return asyncio.run(main())


def invoice(bot: Bot, chat_id: int = ALICE, **overrides):
    fields = {
        "chat_id": chat_id,
        "title": "Premium",
        "description": "30 days without ads",
        "payload": "premium:once:abc",
        "currency": "XTR",
        "prices": [LabeledPrice("30 days", 100)],
    } | overrides
    return bot.send_invoice(**fields)


def link(bot: Bot, **overrides):
    fields = {
        "title": "Premium monthly",
        "description": "No ads, every month",
        "payload": "premium:sub:abc",
        "currency": "XTR",
        "prices": [LabeledPrice("A month", 90)],
        "subscription_period": PERIOD,
    } | overrides
    return bot.create_invoice_link(**fields)


def answer_checkouts(double: TelegramApiDouble, *, ok: bool = True, error: str = "") -> None:
    """A bot in a thread that answers the next pre-checkout query."""

    async def answer(bot: Bot):
        while True:
            for update in await bot.get_updates(timeout=1):
                await bot.get_updates(offset=update.update_id + 1, timeout=0)
                if update.pre_checkout_query:
                    await update.pre_checkout_query.answer(ok=ok, error_message=error or None)
                    return

    threading.Thread(target=run, args=(double, answer), daemon=True).start()


def drain(double: TelegramApiDouble) -> list[dict]:
    async def take(bot: Bot):
        updates = await bot.get_updates(timeout=0)
        if updates:
            await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return [u.to_dict() for u in updates]

    return run(double, take)


def test_an_invoice_is_paid_after_the_bot_confirms_at_checkout(double):
    message = run(double, invoice)
    assert message.invoice.total_amount == 100 and message.invoice.currency == "XTR"
    drain(double)
    answer_checkouts(double)
    result = double.pay_invoice(ALICE, message_id=message.message_id)
    assert result["status"] == "paid"
    paid = result["message"]["successful_payment"]
    assert paid["telegram_payment_charge_id"] == result["charge_id"]
    assert (paid["currency"], paid["total_amount"], paid["invoice_payload"]) == (
        "XTR", 100, "premium:once:abc",
    )  # fmt: skip
    kinds = [next(k for k in u if k != "update_id") for u in drain(double)]
    assert kinds == ["message"]  # the successful_payment, after the (answered) query


def test_no_answer_within_the_deadline_fails_the_payment_and_a_late_answer_is_refused(double):
    message = run(double, invoice)
    drain(double)
    result = double.pay_invoice(ALICE, message_id=message.message_id)
    assert result["status"] == "expired"
    [update] = drain(double)
    query_id = update["pre_checkout_query"]["id"]
    assert update["pre_checkout_query"]["total_amount"] == 100

    async def late(bot: Bot):
        await bot.answer_pre_checkout_query(query_id, ok=True)

    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        run(double, late)
    assert not any("successful_payment" in m for m in double.messages(ALICE))


def test_a_refusal_at_checkout_shows_the_bots_message_and_charges_nothing(double):
    message = run(double, invoice)
    drain(double)
    answer_checkouts(double, ok=False, error="The price has changed")
    result = double.pay_invoice(ALICE, message_id=message.message_id)
    assert result == {"status": "refused", "error_message": "The price has changed",
                      "query_id": result["query_id"]}  # fmt: skip
    assert double.history(ALICE)["notices"][-1]["error_message"] == "The price has changed"
    assert not any("successful_payment" in m for m in double.messages(ALICE))


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"currency": "USD"}, "PAYMENT_PROVIDER_INVALID"),
        ({"provider_token": "123:TEST"}, "PAYMENT_PROVIDER_INVALID"),
        ({"prices": [LabeledPrice("a", 50), LabeledPrice("b", 50)]}, "STARS_INVOICE_INVALID"),
        ({"prices": [LabeledPrice("a", 100_001)]}, "CURRENCY_TOTAL_AMOUNT_INVALID"),
        ({"prices": [LabeledPrice("a", 0)]}, "CURRENCY_TOTAL_AMOUNT_INVALID"),
        ({"title": "x" * 33}, "INVOICE_TITLE_INVALID"),
        ({"description": "x" * 256}, "INVOICE_DESCRIPTION_INVALID"),
        ({"payload": "x" * 129}, "INVOICE_PAYLOAD_INVALID"),
        ({"max_tip_amount": 10}, "tips are not supported"),
        (
            {
                "reply_markup": InlineKeyboardMarkup(
                    [[InlineKeyboardButton("x", url="https://a.b")]]
                )
            },
            "REPLY_MARKUP_BUY_EMPTY",
        ),
    ],
)
def test_invoices_follow_telegrams_rules_for_stars(double, overrides, error):
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        run(double, lambda bot: invoice(bot, **overrides))


def test_an_invoice_to_a_user_who_never_started_the_bot_is_forbidden(double):
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        run(double, lambda bot: invoice(bot, chat_id=BORIS))


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"subscription_period": PERIOD * 2}, "SUBSCRIPTION_PERIOD_INVALID"),
        ({"prices": [LabeledPrice("a", 10_001)]}, "SUBSCRIPTION_AMOUNT_INVALID"),
    ],
)
def test_subscription_links_have_one_period_and_a_price_cap(double, overrides, error):
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        run(double, lambda bot: link(bot, **overrides))


def subscribe(double: TelegramApiDouble) -> dict:
    url = run(double, link)
    assert url.startswith("https://t.me/$")
    drain(double)
    answer_checkouts(double)
    result = double.pay_invoice(ALICE, link=url)
    assert result["status"] == "paid"
    drain(double)
    return result


def test_a_subscription_renews_each_period_until_cancelled(double):
    first = subscribe(double)
    expires = first["message"]["successful_payment"]["subscription_expiration_date"]
    assert first["message"]["successful_payment"]["is_first_recurring"] is True

    renewal = double.renew_subscription(ALICE)
    paid = renewal["message"]["successful_payment"]
    assert paid["is_recurring"] is True and paid["subscription_expiration_date"] == expires + PERIOD
    assert paid["telegram_payment_charge_id"] != first["charge_id"]
    [update] = drain(double)
    assert (
        update["message"]["successful_payment"]["telegram_payment_charge_id"]
        == renewal["charge_id"]
    )

    double.cancel_subscription(ALICE)
    assert double.renew_subscription(ALICE)["status"] == "ended"
    assert drain(double) == []  # the bot hears nothing: the period simply runs out


def test_the_bot_cancels_a_subscription_and_may_re_enable_it(double):
    first = subscribe(double)

    async def cancel(bot: Bot, canceled: bool = True):
        return await bot.edit_user_star_subscription(
            ALICE, first["charge_id"], is_canceled=canceled
        )

    assert run(double, cancel)
    assert double.star_subscriptions(ALICE)[0]["renews"] is False
    assert run(double, lambda bot: cancel(bot, False))
    assert double.renew_subscription(ALICE)["status"] == "paid"

    async def unknown(bot: Bot):
        await bot.edit_user_star_subscription(ALICE, "stxNope", is_canceled=True)

    with pytest.raises(BadRequest, match=r"(?i)CHARGE_NOT_FOUND"):
        run(double, unknown)


def test_a_refund_posts_refunded_payment_and_refuses_unknown_or_repeated_charges(double):
    message = run(double, invoice)
    drain(double)
    answer_checkouts(double)
    charge = double.pay_invoice(ALICE, message_id=message.message_id)["charge_id"]
    drain(double)

    async def refund(bot: Bot, user_id: int = ALICE, charge_id: str = charge):
        return await bot.refund_star_payment(user_id, charge_id)

    assert run(double, refund)
    [update] = drain(double)
    assert update["message"]["refunded_payment"] == {
        "currency": "XTR", "total_amount": 100, "invoice_payload": "premium:once:abc",
        "telegram_payment_charge_id": charge,
    }  # fmt: skip
    with pytest.raises(BadRequest, match=r"(?i)CHARGE_ALREADY_REFUNDED"):
        run(double, refund)
    with pytest.raises(BadRequest, match=r"(?i)CHARGE_NOT_FOUND"):
        run(double, lambda bot: refund(bot, charge_id="stxNope"))
    with pytest.raises(BadRequest, match=r"(?i)CHARGE_NOT_FOUND"):
        run(double, lambda bot: refund(bot, user_id=BORIS))


def test_a_refunded_subscription_is_not_renewed(double):
    first = subscribe(double)
    run(double, lambda bot: bot.refund_star_payment(ALICE, first["charge_id"]))
    assert double.renew_subscription(ALICE)["status"] == "ended"


def test_a_repeated_update_is_delivered_again_with_a_new_id(double):
    update = double.push_private_message(ALICE, "hi")
    again = double.redeliver(update)
    assert again["update_id"] != update["update_id"]
    assert again["message"] == update["message"]


def test_the_chat_page_pays_a_link_and_plays_the_users_part_in_subscriptions(double):
    url = run(double, link)
    drain(double)
    answer_checkouts(double)
    page = f"{double.root_url}/sandbox/api"
    paid = httpx.post(f"{page}/pay", json={"user_id": ALICE, "link": url}, timeout=10).json()
    assert paid["status"] == "paid" and "message" not in paid
    listed = httpx.get(f"{page}/subscriptions", params={"user_id": ALICE}).json()
    assert [s["charge_id"] for s in listed["subscriptions"]] == [paid["charge_id"]]
    renewed = httpx.post(f"{page}/subscription", json={"user_id": ALICE, "action": "renew"})
    assert renewed.json()["status"] == "paid"
    httpx.post(f"{page}/subscription", json={"user_id": ALICE, "action": "cancel"})
    ended = httpx.post(f"{page}/subscription", json={"user_id": ALICE, "action": "renew"})
    assert ended.json()["status"] == "ended"
    again = httpx.post(f"{page}/pay", json={"user_id": BORIS, "link": "https://t.me/$nope"})
    assert again.status_code == 400 and "not valid" in again.json()["error"]
