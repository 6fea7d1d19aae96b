"""The one place an unexpected error ends up: logged with context, answered politely."""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from botapp.handlers.common import current_user
from downloads import texts
from downloads.delivery import is_blocked_by_user
from users.services import user_mark_blocked

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if not isinstance(update, Update):
        log.error("error outside an update: %r", error, exc_info=error)
        return
    user_id = update.effective_user.id if update.effective_user else None
    if is_blocked_by_user(error) and user_id:
        await sync_to_async(user_mark_blocked)(user_id=user_id)
        return
    if isinstance(error, Forbidden):  # kicked from a group, chat deactivated: cannot heal
        log.info(
            "forbidden in chat %s: %s", update.effective_chat and update.effective_chat.id, error
        )
        return
    log.error(
        "update %s from user %s in chat %s failed",
        update.update_id,
        user_id,
        update.effective_chat.id if update.effective_chat else None,
        exc_info=error,
    )
    await _apologise(update)


async def _apologise(update: Update) -> None:
    try:
        if update.callback_query:
            await update.callback_query.answer()
        message = update.effective_message
        if message is None:
            return
        user = await current_user(update)
        language = user.ui_language if user else "en"
        await message.reply_text(
            texts.render(language, texts.ERROR_INTERNAL), parse_mode=ParseMode.HTML
        )
    except Exception:  # the apology must never raise out of the error handler
        log.warning("could not tell the user about the error", exc_info=True)
