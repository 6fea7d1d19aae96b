"""Fair update processing: one chat cannot take the bot away from everyone else.

python-telegram-bot runs up to N updates at once and holds one of the N slots while a
handler waits, including while it waits for its chat's send slot (Telegram lets a bot
send about one message a second to a chat). So one user forwarding 200 messages filled
every slot with handlers waiting on that one chat, and nobody else was answered for a
minute. Here each chat has its own line: its updates run one at a time, in order, and
take a shared slot only when their turn comes, so a flooding chat holds at most one.
Past ``backlog`` waiting updates a private chat's further updates are dropped, and the
chat gets one polite answer per flood (``on_overflow``). A group's updates come from
many people, none of whom should lose theirs to another's burst, so its bound is
``group_backlog``, far higher: the group's send limit paces it anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

# The base class takes its semaphore before an update reaches its line; that bound is
# only a guard against unbounded growth here, the real one is ``concurrency``.
_ACCEPTED_MAX = 1_000_000


@dataclass
class _ChatLine:
    lock: asyncio.Lock
    waiting: int = 0  # updates of the chat accepted and not finished
    told: bool = False  # the chat got its "slow down" answer during this flood


class ChatFairUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        *,
        concurrency: int,
        backlog: int,
        group_backlog: int,
        on_overflow: Callable[[Update], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(_ACCEPTED_MAX)
        self.concurrency = concurrency
        self.backlog = backlog
        self.group_backlog = group_backlog
        self.on_overflow = on_overflow
        self._slots: asyncio.Semaphore | None = None
        self._lines: dict[int, _ChatLine] = {}
        self._answers: set[asyncio.Task] = set()

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    async def shutdown(self) -> None:
        for task in list(self._answers):
            with contextlib.suppress(Exception):
                await task

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._slots is None:  # used before initialize(): the loop is running now
            self._slots = asyncio.Semaphore(self.concurrency)
        key = chat_key(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _ChatLine(asyncio.Lock())
        if line.waiting >= (self.group_backlog if key < 0 else self.backlog):
            _close(coroutine)
            self._overflow(key, line, update)
            return
        line.waiting += 1
        try:
            async with line.lock, self._slots:
                await coroutine
        finally:
            line.waiting -= 1
            if line.waiting == 0:
                del self._lines[key]  # the flood, if any, is over

    def _overflow(self, key: int, line: _ChatLine, update: object) -> None:
        if line.told or self.on_overflow is None or not isinstance(update, Update):
            return
        line.told = True
        log.warning("chat %s sends faster than it can be answered: updates dropped", key)
        task = asyncio.get_running_loop().create_task(self._answer(update))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _answer(self, update: Update) -> None:
        assert self.on_overflow is not None
        try:
            await self.on_overflow(update)
        except Exception:
            log.warning("the slow-down answer could not be sent", exc_info=True)

    def waiting(self, key: int) -> int:
        """Updates of a chat accepted and not finished (tests, diagnostics)."""
        line = self._lines.get(key)
        return line.waiting if line else 0


def chat_key(update: object) -> int | None:
    """The line an update waits in: its chat, else its sender (inline queries)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


def _close(coroutine: Awaitable[Any]) -> None:
    # A dropped update's handler coroutine was created but will never run.
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
