"""/settings and /language in a private chat, and their buttons."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ContextTypes

from botapp import keyboards, texts
from botapp.handlers.common import current_user, reply
from botapp.handlers.groups import group_settings_command
from users.models import BotUser
from users.services import user_set_default_quality, user_set_language, user_set_send_as


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_chat.type != ChatType.PRIVATE:
        await group_settings_command(update, context)
        return
    user = await current_user(update)
    if user is None:
        return
    await reply(
        update,
        user,
        texts.SETTINGS_PROMPT,
        reply_markup=_settings_markup(user),
        **_settings_values(user),
    )


def _settings_values(user: BotUser) -> dict:
    language = user.ui_language
    quality = user.default_quality or texts.render(language, texts.SETTINGS_ASK_EVERY_TIME)
    send_as = texts.SEND_AS_FILE if user.wants_file else texts.SEND_AS_VIDEO
    return {"quality": quality, "send_as": texts.render(language, send_as)}


def _settings_markup(user: BotUser):
    return keyboards.settings_keyboard(user.ui_language, user.default_quality, user.send_as)


async def on_settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = await current_user(update)
    if match := keyboards.SETTINGS_QUALITY_PATTERN.match(query.data):
        quality = "" if match.group(1) == keyboards.ASK_EVERY_TIME else match.group(1)
        await sync_to_async(user_set_default_quality)(user_id=user.user_id, quality=quality)
        user.default_quality = quality
    elif match := keyboards.SETTINGS_SEND_AS_PATTERN.match(query.data):
        await sync_to_async(user_set_send_as)(user_id=user.user_id, send_as=match.group(1))
        user.send_as = match.group(1)
    await query.answer(texts.render(user.ui_language, texts.SETTINGS_SAVED))
    text = texts.render(user.ui_language, texts.SETTINGS_PROMPT, **_settings_values(user))
    await query.edit_message_text(
        text, parse_mode=ParseMode.HTML, reply_markup=_settings_markup(user)
    )


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    await reply(
        update,
        user,
        texts.LANGUAGE_PROMPT,
        reply_markup=keyboards.language_keyboard(settings.LANGUAGES),
    )


async def on_language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    user = await current_user(update)
    code = keyboards.LANGUAGE_PATTERN.match(query.data).group(1)
    if code not in {language for language, _name in settings.LANGUAGES}:
        await query.answer()
        return
    await sync_to_async(user_set_language)(user_id=user.user_id, language=code)
    await query.answer()
    await query.edit_message_text(texts.render(code, texts.LANGUAGE_SET))
