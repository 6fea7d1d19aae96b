"""``api_call(bot, method, arguments)``: one Bot API call with JSON-ready arguments, for
the calls every cache hit makes (the cached media, the message after it).

``Bot.do_api_request`` turns each argument into a ``RequestParameter`` (walking nested
values for files and Telegram objects) and fills in defaults before the request is
built; for a cache hit that was a fifth of the bot's CPU. Here the arguments are already
plain JSON values, so they go to the bot's request object as they are, through the
bot's rate limiter like any other call, and Telegram's errors come back as the same
exceptions (``BadRequest``, ``Forbidden``, ``RetryAfter``...). The answer is the raw
result (a dict for a sent message): nothing builds a ``Message`` from it.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Bot, TelegramObject
from telegram.request import RequestData


class JsonArguments(RequestData):
    """A request's arguments that are plain JSON values already (no files)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__([])
        self._values = values

    @property
    def parameters(self) -> dict[str, Any]:
        return self._values

    @property
    def json_parameters(self) -> dict[str, str]:
        return {
            name: value if isinstance(value, str) else json.dumps(value)
            for name, value in self._values.items()
        }

    @property
    def multipart_data(self) -> dict:
        return {}


async def api_call(bot: Bot, method: str, arguments: dict[str, Any]) -> Any:
    """Call ``method`` (camelCase, as the Bot API names it). ``None`` values are left
    out; a Telegram object (a keyboard) is sent as its dict."""
    values = {
        name: value.to_dict() if isinstance(value, TelegramObject) else value
        for name, value in arguments.items()
        if value is not None
    }
    request = JsonArguments(values)
    url = f"{bot.base_url}/{method}"

    async def post() -> Any:
        return await bot.request.post(url=url, request_data=request)

    limiter = getattr(bot, "rate_limiter", None)
    if limiter is None:
        return await post()
    return await limiter.process_request(
        callback=post, args=(), kwargs={}, endpoint=method, data=values, rate_limit_args=None
    )
