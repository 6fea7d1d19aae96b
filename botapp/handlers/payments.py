"""/premium, /paysupport and the Telegram Stars payment flow: pre-checkout, the
successful payment (first or a subscription renewal), refunds, cancelling."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from telegram import LabeledPrice, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from ads.payment_selectors import (
    PremiumStatus,
    payment_of_charge,
    premium_status,
    subscription_active,
)
from ads.payment_services import (
    CURRENCY,
    SUBSCRIPTION_PERIOD_SECONDS,
    CheckoutRefusal,
    PaymentReport,
    checkout_check,
    invoice_link_set,
    payment_record,
    payment_revoke,
    premium_offer_create,
    subscription_mark_canceled,
)
from botapp import keyboards, texts
from botapp.handlers.common import current_user, reply, reply_html

if TYPE_CHECKING:
    from ads.models import PremiumInvoice

log = logging.getLogger(__name__)

# Telegram cancels a payment whose pre-checkout query is not answered within 10 s; a
# check that takes longer than this is answered with a refusal instead of silence.
CHECKOUT_BUDGET_SECONDS = 6.0
RECORD_ATTEMPTS = 3
_REFUSALS = {
    CheckoutRefusal.UNKNOWN_INVOICE: texts.CHECKOUT_UNKNOWN,
    CheckoutRefusal.OTHER_USER: texts.CHECKOUT_OTHER_USER,
    CheckoutRefusal.PRICE_CHANGED: texts.CHECKOUT_PRICE_CHANGED,
    CheckoutRefusal.ALREADY_SUBSCRIBED: texts.CHECKOUT_ALREADY_SUBSCRIBED,
}


async def premium_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    if update.effective_chat.type != "private":
        await reply(update, user, texts.PREMIUM_PRIVATE_ONLY)
        return
    language = user.ui_language
    status = await sync_to_async(premium_status)(user_id=user.user_id)
    offer = await sync_to_async(premium_offer_create)(
        user_id=user.user_id, subscribed=status.renews
    )
    link = None
    if offer.subscription is not None:
        link = await context.bot.create_invoice_link(
            **_invoice_fields(language, offer.subscription, subscription=True),
            subscription_period=SUBSCRIPTION_PERIOD_SECONDS,
        )
        await sync_to_async(invoice_link_set)(invoice_id=offer.subscription.pk, link=link)
    markup = keyboards.premium_keyboard(
        language,
        subscribe_link=link,
        subscription_id=status.subscription.pk if status.renews else None,
    )
    await reply_html(
        update, _status_text(language, status) + "\n\n" + _offer_text(language), markup
    )
    await context.bot.send_invoice(
        chat_id=update.effective_chat.id,
        **_invoice_fields(language, offer.one_time, subscription=False),
    )


def _invoice_fields(language: str, invoice: PremiumInvoice, *, subscription: bool) -> dict:
    title = texts.SUBSCRIPTION_TITLE if subscription else texts.INVOICE_TITLE
    description = texts.SUBSCRIPTION_DESCRIPTION if subscription else texts.INVOICE_DESCRIPTION
    label = texts.render(language, texts.INVOICE_PRICE_LABEL)
    return {
        "title": texts.render(language, title),
        "description": texts.render(language, description),
        "payload": invoice.payload,
        "currency": CURRENCY,
        "prices": [LabeledPrice(label, invoice.stars)],
    }


def _status_text(language: str, status: PremiumStatus) -> str:
    if not status.is_paid:
        return texts.render(language, texts.PREMIUM_NOT_ACTIVE)
    text = texts.render(
        language, texts.PREMIUM_ACTIVE, until=texts.moment(language, status.paid_until)
    )
    if status.renews:
        date = texts.moment(language, status.subscription.expires_at)
        text += " " + texts.render(language, texts.PREMIUM_RENEWS, date=date)
    return text


def _offer_text(language: str) -> str:
    return texts.render(
        language,
        texts.PREMIUM_OFFER,
        stars=settings.PREMIUM_STARS,
        subscription_stars=settings.PREMIUM_SUBSCRIPTION_STARS,
    )


async def on_pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.pre_checkout_query
    user = await current_user(update)
    language = user.ui_language
    check = sync_to_async(checkout_check)(
        user_id=query.from_user.id,
        payload=query.invoice_payload,
        currency=query.currency,
        total_amount=query.total_amount,
    )
    try:
        refusal = await asyncio.wait_for(check, CHECKOUT_BUDGET_SECONDS)
    except Exception:
        log.exception("pre-checkout check failed for user %s", query.from_user.id)
        await query.answer(
            ok=False, error_message=texts.render(language, texts.CHECKOUT_UNAVAILABLE)
        )
        return
    if refusal is None:
        await query.answer(ok=True)
        return
    log.info("pre-checkout refused for user %s: %s", query.from_user.id, refusal)
    await query.answer(ok=False, error_message=texts.render(language, _REFUSALS[refusal]))


async def on_successful_payment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    paid = update.effective_message.successful_payment
    expires = paid.subscription_expiration_date
    report = PaymentReport(
        user_id=user.user_id,
        payload=paid.invoice_payload,
        currency=paid.currency,
        total_amount=paid.total_amount,
        telegram_payment_charge_id=paid.telegram_payment_charge_id,
        provider_payment_charge_id=paid.provider_payment_charge_id or "",
        is_recurring=bool(paid.is_recurring),
        subscription_expiration_date=expires,
    )
    result = await _payment_record(report)
    if not result.created:
        log.info("payment %s reported again: counted once", paid.telegram_payment_charge_id)
        return
    until = texts.moment(user.ui_language, result.payment.paid_until)
    text = texts.PAYMENT_RENEWED if report.is_recurring else texts.PAYMENT_THANKS
    await reply(update, user, text, until=until)


async def _payment_record(report: PaymentReport):
    """The Stars are already charged and Telegram will not send this update again, so a
    database blip is retried before giving up loudly."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            return await sync_to_async(payment_record)(report=report)
        except DatabaseError:
            if attempt == RECORD_ATTEMPTS:
                log.critical(
                    "payment %s of user %s (%s XTR, payload %s) NOT recorded",
                    report.telegram_payment_charge_id,
                    report.user_id,
                    report.total_amount,
                    report.payload,
                )
                raise
            log.warning("recording payment %s failed, retrying", report.telegram_payment_charge_id)
            await asyncio.sleep(attempt)


async def on_refunded_payment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram's note of a refund: made by our admin (already revoked) or elsewhere."""
    user = await current_user(update)
    refunded = update.effective_message.refunded_payment
    charge_id = refunded.telegram_payment_charge_id
    await sync_to_async(payment_revoke)(charge_id=charge_id, by="telegram")
    payment = await sync_to_async(payment_of_charge)(charge_id=charge_id)
    if payment is None:
        log.warning("refund of a charge we never recorded: %s", charge_id)
        return
    status = await sync_to_async(premium_status)(user_id=user.user_id)
    if status.is_paid:
        until = texts.moment(user.ui_language, status.paid_until)
        await reply(
            update, user, texts.PAYMENT_REFUNDED_STILL_ACTIVE, stars=payment.stars, until=until
        )
    else:
        await reply(update, user, texts.PAYMENT_REFUNDED, stars=payment.stars)


async def on_cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = await current_user(update)
    subscription_id = int(keyboards.PREMIUM_CANCEL_PATTERN.match(query.data).group(1))
    subscription = await sync_to_async(subscription_active)(
        subscription_id=subscription_id, user_id=user.user_id
    )
    if subscription is None:
        await query.answer(texts.render(user.ui_language, texts.PREMIUM_CANCEL_GONE))
        return
    try:
        await context.bot.edit_user_star_subscription(
            user.user_id, subscription.telegram_payment_charge_id, is_canceled=True
        )
    except TelegramError:
        log.exception("could not cancel subscription %s", subscription_id)
        await query.answer(texts.render(user.ui_language, texts.CHECKOUT_UNAVAILABLE))
        return
    await sync_to_async(subscription_mark_canceled)(subscription_id=subscription_id)
    status = await sync_to_async(premium_status)(user_id=user.user_id)
    await query.answer()
    until = texts.moment(user.ui_language, status.paid_until or subscription.expires_at)
    await query.edit_message_text(
        texts.render(user.ui_language, texts.PREMIUM_CANCELLED, until=until),
        parse_mode=ParseMode.HTML,
    )


async def paysupport_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    contact = texts.safe(settings.PAYMENTS_SUPPORT_CONTACT)
    await reply(update, user, texts.PAYSUPPORT, contact=contact, user_id=user.user_id)
