"""Jobs the queue tests enqueue; importable by a separate rqworker process."""

from __future__ import annotations

import asyncio

import telegram
from django.conf import settings

from config.redis import get_redis


def mark_done(key: str) -> str:
    get_redis().set(key, "done")
    return key


def bot_initialize(base_url: str) -> None:
    """What the bot does first: getMe. A rejected token raises ``InvalidToken``, whose
    message quotes the token."""
    bot = telegram.Bot(settings.TELEGRAM_BOT_TOKEN, base_url=base_url)
    asyncio.run(bot.initialize())
