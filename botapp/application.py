"""Builds the bot: every handler is registered here and nowhere else."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import translation
from telegram import BotCommand
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from botapp import keyboards, texts
from botapp.handlers.errors import on_error
from botapp.handlers.links import on_format_button, on_private_text, on_quality_button
from botapp.handlers.start import help_command, start
from botapp.telegram_bot import application_builder

log = logging.getLogger(__name__)

COMMANDS = (
    ("start", texts.COMMAND_START),
    ("help", texts.COMMAND_HELP),
    ("stats", texts.COMMAND_STATS),
    ("settings", texts.COMMAND_SETTINGS),
    ("language", texts.COMMAND_LANGUAGE),
    ("dl", texts.COMMAND_DL),
)


def build_application() -> Application:
    application = application_builder().post_init(_post_init).build()
    register_handlers(application)
    return application


def register_handlers(application: Application) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(
        CallbackQueryHandler(on_quality_button, pattern=keyboards.QUALITY_PATTERN)
    )
    application.add_handler(CallbackQueryHandler(on_format_button, pattern=keyboards.FORMAT_PATTERN))
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND,
            on_private_text,
        )
    )
    application.add_error_handler(on_error)


async def _post_init(application: Application) -> None:
    await set_commands(application.bot)


async def set_commands(bot) -> None:
    """The command menu, in each language the bot speaks."""
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            commands = [BotCommand(name, str(description)) for name, description in COMMANDS]
        code = None if language == settings.LANGUAGE_CODE else language
        await bot.set_my_commands(commands, language_code=code)
    log.info("bot @%s: commands registered in %d languages", bot.username, len(settings.LANGUAGES))
