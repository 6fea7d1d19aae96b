"""Keeps every process that talks to Telegram under the Bot API's flood limits.

The bot process and each download worker send messages to the same chats, so the
limits are counted in Redis, shared by all of them: a sliding window per private chat,
per group and overall (Telegram's published figures: about one message a second per
private chat with short bursts, 20 a minute per group, 30 a second overall; see
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). A
request over a limit waits
for its turn instead of failing; a 429 that slips through anyway (another bot on the
same token, a stricter server) is waited out and retried.

Telegram counts a message when it arrives, not when we decided to send it, and a busy
process or an upload can put a second or more between the two. So a slot is taken
before the request and stamped again when the answer comes back: the window then holds
each message at a time no earlier than Telegram's, and frees it no sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from config.redis import get_fast_redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float


# Slightly under Telegram's figures, so that a clock skew never tips us over.
PRIVATE_CHAT = Window(limit=3, seconds=3.0)
GROUP_CHAT = Window(limit=19, seconds=60.0)
OVERALL = Window(limit=28, seconds=1.0)

# Methods that put something into a chat. Reads, answers to callback/inline queries and
# chat actions are not counted by Telegram's flood control the same way.
COUNTED_METHODS = {
    "sendMessage",
    "sendVideo",
    "sendAudio",
    "sendDocument",
    "sendPhoto",
    "sendAnimation",
    "sendMediaGroup",
    "sendVoice",
    "copyMessage",
    "forwardMessage",
    "editMessageText",
    "editMessageMedia",
    "editMessageCaption",
    "editMessageReplyMarkup",
}

# Returns 0 when a slot was taken, else the milliseconds to wait for one.
_SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(oldest[2]) + window - now))
"""

# Moves a taken slot to the time the request was answered (re-adds it if it expired
# while the request was in flight: Telegram counts it from its arrival).
_RESTAMP = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
"""


def window_for(chat_id: int) -> Window:
    return GROUP_CHAT if chat_id < 0 else PRIVATE_CHAT


class RedisRateLimiter(BaseRateLimiter[int]):
    """A PTB rate limiter whose counters live in Redis and are shared across processes."""

    def __init__(self, *, max_retries: int = 5, max_wait: float = 120.0) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait
        self._script = None
        self._restamp_script = None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        slots: list[tuple[str, Window, str]] = []
        chat_id = _chat_id(data)
        if endpoint in COUNTED_METHODS and settings.TELEGRAM_FLOOD_LIMITS:
            windows = [("tg:rl:all", OVERALL)]
            if chat_id is not None:
                windows.append((f"tg:rl:chat:{chat_id}", window_for(chat_id)))
            for key, window in windows:
                slots.append((key, window, await self._take_slot(key, window)))
        try:
            return await self._send(callback, args, kwargs, endpoint, rate_limit_args)
        finally:
            self._restamp(slots)

    async def _send(self, callback, args, kwargs, endpoint: str, rate_limit_args: int | None):
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        for attempt in range(retries + 1):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                wait = exc.retry_after
                seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
                log.warning("Telegram asked to wait %.1f s before %s", seconds, endpoint)
                await asyncio.sleep(seconds + 0.1)
        raise AssertionError("unreachable")

    async def _take_slot(self, key: str, window: Window) -> str:
        """Waits for a free slot in ``key``'s window; returns the slot's member name."""
        deadline = time.monotonic() + self.max_wait
        member = uuid.uuid4().hex
        while time.monotonic() < deadline:
            try:
                wait_ms = self._try(key, window, member)
            except RedisError:
                # Without Redis there is nothing shared to count against; Telegram's
                # own 429 and the retry above still protect us.
                log.warning("rate limiter: Redis unavailable, sending unthrottled")
                return member
            if wait_ms == 0:
                return member
            await asyncio.sleep(wait_ms / 1000)
        log.warning("rate limiter: waited %.0f s for %s, sending anyway", self.max_wait, key)
        return member

    def _try(self, key: str, window: Window, member: str) -> int:
        if self._script is None:
            self._script = get_fast_redis().register_script(_SLIDING_WINDOW)
        now_ms = int(time.time() * 1000)
        args = [now_ms, int(window.seconds * 1000), window.limit, member]
        return int(self._script(keys=[key], args=args))

    def _restamp(self, slots: list[tuple[str, Window, str]]) -> None:
        if not slots:
            return
        try:
            if self._restamp_script is None:
                self._restamp_script = get_fast_redis().register_script(_RESTAMP)
            now_ms = int(time.time() * 1000)
            for key, window, member in slots:
                args = [now_ms, int(window.seconds * 1000), member]
                self._restamp_script(keys=[key], args=args)
        except RedisError:
            log.warning("rate limiter: Redis unavailable, slot not re-stamped")


def _chat_id(data: dict[str, Any]) -> int | None:
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return int(data["chat_id"])
    return None
