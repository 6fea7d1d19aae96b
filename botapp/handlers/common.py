"""Small helpers every handler uses: who is talking, and answering them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from telegram import Update
from telegram.constants import ChatType, ParseMode

from analytics.events import UserSeen
from analytics.publisher import publish
from botapp import texts
from users.models import BotUser
from users.services import (
    user_get_or_create,
    user_mark_unblocked,
    user_recent,
    user_remember,
)

log = logging.getLogger(__name__)


async def current_user(update: Update, *, recent: bool = False) -> BotUser | None:
    """The sender's row (created on first contact); ``UserSeen`` is published. With
    ``recent`` (the deliveries) a row read lately in this process will do
    (``users.services.user_recent``); commands that show the account read PostgreSQL."""
    tg_user = update.effective_user
    if tg_user is None or tg_user.is_bot:
        return None
    user = user_recent(tg_user.id) if recent else None
    if user is None:
        user = await sync_to_async(user_load)(
            user_id=tg_user.id,
            username=tg_user.username or "",
            first_name=tg_user.first_name or "",
            language_code=tg_user.language_code or "",
        )
        user_remember(user)
    if user.is_blocked and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await sync_to_async(user_mark_unblocked)(user_id=user.user_id)
        user.is_blocked = False
    publish_user_seen(tg_user)
    return user


def via_this_bot(update: Update, bot) -> bool:
    """A message a user sent through this bot's inline mode (``via_bot``): the result
    they picked, which Telegram also shows the bot in a private chat or a group. It is a
    delivery already made (a cached video, whose caption links its source) or on its way
    (a placeholder), never a request."""
    message = update.effective_message
    via = message.via_bot if message is not None else None
    return via is not None and via.id == bot.id


# What the delivery policies read of a user, loaded in the same thread hop as the user's
# row whenever that row comes from PostgreSQL (``botapp.application.wire`` registers the
# apps' warmers). A user new to the process then costs one hop, not one per policy: 200
# new users a second each taking three hops through the one thread ``sync_to_async``
# shares made the slowest cache hits wait for hundreds of milliseconds.
_warmers: list[Callable[[BotUser], None]] = []


def user_warmer_register(warm: Callable[[BotUser], None]) -> None:
    if warm not in _warmers:
        _warmers.append(warm)


def user_load(*, user_id: int, username: str, first_name: str, language_code: str) -> BotUser:
    """The user's row (``user_get_or_create``), then each warmer (its failure is logged:
    the policy that needed it reads what it needs itself)."""
    user = user_get_or_create(
        user_id=user_id, username=username, first_name=first_name, language_code=language_code
    )
    for warm in _warmers:
        try:
            warm(user)
        except Exception:
            log.exception("warming %r for user %s failed", warm, user_id)
    return user


def publish_user_seen(tg_user: Any) -> None:
    publish(
        UserSeen(
            user_id=tg_user.id,
            username=tg_user.username or "",
            first_name=tg_user.first_name or "",
            language_code=tg_user.language_code or "",
        )
    )


async def reply(update: Update, user: BotUser, text: Any, reply_markup=None, **values: Any):
    return await reply_html(update, texts.render(user.ui_language, text, **values), reply_markup)


async def reply_html(update: Update, html: str, reply_markup=None):
    """Answer with text already rendered in the user's language."""
    message = update.effective_message
    return await message.reply_text(
        html,
        parse_mode=ParseMode.HTML,
        reply_markup=reply_markup,
        disable_web_page_preview=True,
        do_quote=message.chat.type != ChatType.PRIVATE,
    )
