"""How this process reaches Telegram: the cloud Bot API, a local Bot API server, or
the offline sandbox, all through the same python-telegram-bot code."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from telegram.ext import ApplicationBuilder, ExtBot

from botapp.ratelimit import RedisRateLimiter
from botapp.telegram_request import AiohttpRequest
from botapp.updates import ChatFairUpdateProcessor


def api_urls() -> tuple[str, str]:
    """(base_url, base_file_url) as python-telegram-bot expects them."""
    root = settings.TELEGRAM_API_URL.rstrip("/") or "https://api.telegram.org"
    return f"{root}/bot", f"{root}/file/bot"


def token() -> str:
    if not settings.TELEGRAM_BOT_TOKEN:
        raise ImproperlyConfigured(
            "TELEGRAM_BOT_TOKEN is not set. Get one from @BotFather, or run "
            "`python manage.py sandbox` to try the bot offline."
        )
    return settings.TELEGRAM_BOT_TOKEN


def _request(pool: int, read_timeout: float) -> AiohttpRequest:
    return AiohttpRequest(
        connection_pool_size=pool,
        connect_timeout=10,
        read_timeout=read_timeout,
        write_timeout=300,  # uploads of up to 2 GB through a local Bot API server
        pool_timeout=30,
    )


def application_builder() -> ApplicationBuilder:
    base_url, base_file_url = api_urls()
    return (
        ApplicationBuilder()
        .token(token())
        .base_url(base_url)
        .base_file_url(base_file_url)
        .local_mode(settings.TELEGRAM_LOCAL_MODE)
        .rate_limiter(RedisRateLimiter())
        # 16 keep-alive connections carry hundreds of calls a second (uploads of
        # downloads go through make_bot's own pool).
        .request(_request(pool=16, read_timeout=30))
        .get_updates_request(_request(pool=2, read_timeout=60))
        # 128 updates at once, each chat's one at a time (see botapp.updates).
        .concurrent_updates(
            ChatFairUpdateProcessor(
                concurrency=128,
                backlog=settings.CHAT_UPDATES_BACKLOG,
                group_backlog=settings.GROUP_UPDATES_BACKLOG,
            )
        )
    )


def make_bot() -> ExtBot:
    """A bot for code outside the Application (download jobs); initialise before use."""
    base_url, base_file_url = api_urls()
    return ExtBot(
        token(),
        base_url=base_url,
        base_file_url=base_file_url,
        local_mode=settings.TELEGRAM_LOCAL_MODE,
        request=_request(pool=8, read_timeout=120),
        rate_limiter=RedisRateLimiter(),
    )
