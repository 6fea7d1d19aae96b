"""The two Bot API calls the back office makes for payments (refund, cancel a
subscription), from synchronous code such as an admin action.

The bot's own transport lives in botapp, which this app must not import; a refund is a
rare staff action, so a plain python-telegram-bot ``Bot`` per call is enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from django.conf import settings
from telegram import Bot
from telegram.error import TelegramError

from .payment_services import PaymentRefundError

# Telegram's wording for a charge it does not know or has refunded, for the admin.
_EXPLAINED = {
    "CHARGE_NOT_FOUND": "Telegram does not know this charge id",
    "CHARGE_ALREADY_REFUNDED": "Telegram says this charge was already refunded",
}


def _bot() -> Bot:
    root = settings.TELEGRAM_API_URL.rstrip("/") or "https://api.telegram.org"
    return Bot(
        settings.TELEGRAM_BOT_TOKEN, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot"
    )


def _run(call: Callable[[Bot], Awaitable[object]]) -> None:
    async def run() -> None:
        async with _bot() as bot:
            await call(bot)

    try:
        asyncio.run(run())
    except TelegramError as error:
        # The error text is Telegram's; it never contains the token.
        message = str(error.message)
        # python-telegram-bot capitalises the description ("Charge_not_found").
        code = next((code for code in _EXPLAINED if code in message.upper()), None)
        detail = f"{_EXPLAINED[code]} ({code})" if code else message
        raise PaymentRefundError(
            f"Telegram did not refund: {detail}. Nothing was changed."
        ) from None


def star_payment_refund(user_id: int, charge_id: str) -> None:
    _run(lambda bot: bot.refund_star_payment(user_id, charge_id))


def star_subscription_cancel(user_id: int, charge_id: str) -> None:
    _run(lambda bot: bot.edit_user_star_subscription(user_id, charge_id, is_canceled=True))
