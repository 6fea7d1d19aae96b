"""The Telegram bot a download job talks through, handed over by the interface.

``downloads`` never imports ``botapp``: the bot (its transport, rate limiter, token) is
built there, and ``botapp`` registers the factory at startup (``BotappConfig.ready``),
in the bot process and in every rq worker alike.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BotFactory = Callable[[], AbstractAsyncContextManager[Any]]

_factory: BotFactory | None = None


def bot_factory_register(factory: BotFactory) -> None:
    global _factory
    _factory = factory


def bot_open() -> AbstractAsyncContextManager[Any]:
    """``async with bot_open() as bot``: an initialised bot for one job."""
    if _factory is None:
        raise ImproperlyConfigured("no bot factory registered (is botapp installed?)")
    return _factory()
