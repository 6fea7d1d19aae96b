"""Small helpers every handler uses: who is talking, and answering them."""

from __future__ import annotations

import logging
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
        user = await sync_to_async(user_get_or_create)(
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
