"""/start, with or without a deep-link payload, and /help."""

from __future__ import annotations

from django.conf import settings
from telegram import Update
from telegram.ext import ContextTypes

from botapp import deeplinks, texts
from botapp.handlers.common import current_user, reply, reply_html
from downloads import texts as download_texts


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    payload = context.args[0] if context.args else ""
    target = deeplinks.resolve(payload) if payload else None
    if target is not None:
        handler, argument = target
        if await handler(update, context, user, argument):
            return
    await send_welcome(update, context, user)


async def send_welcome(update: Update, context: ContextTypes.DEFAULT_TYPE, user) -> None:
    name = texts.safe(update.effective_user.first_name or update.effective_user.username or "")
    await reply(update, user, texts.WELCOME, name=name, bot=context.bot.username)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = await current_user(update)
    if user is None:
        return
    language = user.ui_language
    sites = texts.render(language, download_texts.SUPPORTED_SITES)
    text = texts.render(language, texts.HELP, sites=sites, bot=context.bot.username)
    text += "\n\n" + texts.render(language, texts.HELP_PREMIUM, stars=settings.PREMIUM_STARS)
    await reply_html(update, text)
