"""The one answer a chat gets when it sends faster than the bot can answer it
(``botapp.updates``): only in private chats; a group is not lectured, and an inline
query has no chat to answer in."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode

from botapp import texts
from users.models import BotUser


async def on_flood(update: Update) -> None:
    chat, sender = update.effective_chat, update.effective_user
    if chat is None or chat.type != "private" or sender is None:
        return
    user = await BotUser.objects.filter(user_id=sender.id).afirst()
    if user is None:
        user = BotUser(user_id=sender.id, language_code=sender.language_code or "")
    await update.get_bot().send_message(
        chat.id,
        texts.render(user.ui_language, texts.FLOOD_SLOW_DOWN),
        parse_mode=ParseMode.HTML,
    )
