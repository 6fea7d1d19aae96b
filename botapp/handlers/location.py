"""/settings -> "Set my time zone": a reply keyboard asks for the location; the shared
location becomes a time zone (found offline) and only the zone is stored.

The coordinates never leave this handler's memory: they are not logged, not put in an
event and not stored."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from telegram import ReplyKeyboardRemove, Update
from telegram.ext import ContextTypes

from botapp import keyboards, texts
from botapp.handlers.common import current_user, reply
from users.services import user_set_timezone_from_location


async def on_timezone_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = await current_user(update)
    await query.answer()
    if user is None:
        return
    markup = keyboards.location_keyboard(user.ui_language)
    await reply(update, user, texts.TIMEZONE_PROMPT, reply_markup=markup)


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = await current_user(update)
    if user is None or message.location is None:
        return
    zone = await sync_to_async(user_set_timezone_from_location)(
        user_id=user.user_id,
        latitude=message.location.latitude,
        longitude=message.location.longitude,
    )
    if zone is None:
        await reply(update, user, texts.TIMEZONE_NOT_FOUND, reply_markup=ReplyKeyboardRemove())
        return
    await reply(update, user, texts.TIMEZONE_SET, reply_markup=ReplyKeyboardRemove(), zone=zone)


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is not None:
        await reply(update, user, texts.TIMEZONE_CANCELLED, reply_markup=ReplyKeyboardRemove())


def cancel_labels(languages: list[tuple[str, str]]) -> list[str]:
    """The cancel button's text in every language (the button sends it as a message)."""
    return [texts.render(code, texts.TIMEZONE_CANCEL_BUTTON) for code, _name in languages]
